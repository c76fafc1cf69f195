"""Finding a construct by its path below a scope, for the passes that annotate one resource."""

from __future__ import annotations

from constructs import IConstruct


def find_path(scope: IConstruct, path: str, *, what: str) -> IConstruct:
    """The construct at ``path`` ("A/B/Resource") below ``scope``. A missing one is a
    LookupError naming ``what`` points at it (a nag suppression, a checkov skip), so an entry
    left behind by a refactor fails synth instead of silently annotating nothing."""
    node = scope
    for part in path.split("/"):
        child = node.node.try_find_child(part)
        if child is None:
            raise LookupError(
                f"{what} for {scope.node.path}/{path}: no such construct; "
                f"remove or update the {what.split()[-1]}"
            )
        node = child
    return node

"""Finding constructs below a stack, for the passes that annotate its resources (helper log
groups, nag suppressions, checkov skips).

Every question asked of a construct is a round trip to the jsii kernel (the Node.js process
that holds the real constructs), and those round trips are most of what the passes cost, so
they share one walk of each stack's tree: its CloudFormation resources, its top-level children
by id, and every path already looked up.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

# An L1 class's CloudFormation type, read once per class: every instance has the same one.
_TYPE_OF_CLASS: dict[type, str] = {}


def find_path(scope: IConstruct, path: str, *, what: str) -> IConstruct:
    """The construct at ``path`` ("A/B/Resource") below ``scope``. A missing one is a
    LookupError naming ``what`` points at it (a nag suppression, a checkov skip), so an entry
    left behind by a refactor fails synth instead of silently annotating nothing."""
    node = scope
    for part in path.split("/"):
        child = node.node.try_find_child(part)
        if child is None:
            raise _missing(scope, path, what)
        node = child
    return node


def _missing(scope: IConstruct, path: str, what: str) -> LookupError:
    return LookupError(
        f"{what} for {scope.node.path}/{path}: no such construct; "
        f"remove or update the {what.split()[-1]}"
    )


def resource_type(resource: cdk.CfnResource) -> str:
    """``resource.cfn_resource_type``, asked of the kernel only for a class that does not
    declare it (the generic CfnResource that custom resources and CDK's helpers use)."""
    kind = _TYPE_OF_CLASS.get(type(resource))
    if kind is None:
        declared = getattr(type(resource), "CFN_RESOURCE_TYPE_NAME", None)
        if not isinstance(declared, str):
            return resource.cfn_resource_type
        kind = _TYPE_OF_CLASS[type(resource)] = declared
    return kind


class StackTree:
    """One walk of a stack's construct tree, taken after its constructs are built and shared
    by the passes that annotate it."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        # The construct id, not stack_name: inside a Stage the name carries the stage's.
        self.id = stack.node.id
        self.resources: list[cdk.CfnResource] = [
            node for node in stack.node.find_all() if isinstance(node, cdk.CfnResource)
        ]
        self.children: dict[str, IConstruct] = {
            child.node.id: child for child in stack.node.children
        }
        self._found: dict[str, IConstruct] = {}

    def find(self, path: str, *, what: str) -> IConstruct:
        """``find_path(stack, path, what=what)``, each prefix looked up once per stack."""
        parts = path.split("/")
        node: IConstruct | None = None
        for depth, part in enumerate(parts, start=1):
            prefix = "/".join(parts[:depth])
            found = self._found.get(prefix)
            if found is None:
                found = self.children.get(part) if node is None else node.node.try_find_child(part)
                if found is None:
                    raise _missing(self.stack, path, what)
                self._found[prefix] = found
            node = found
        assert node is not None  # a path has at least one part
        return node

    def helper_resources(self, marker: str) -> list[cdk.CfnResource]:
        """The resources below each top-level child whose id contains ``marker``: CDK's and
        cdk-ecr-deployment's singletons carry a hash in their id, not a fixed name. Walked
        when asked, so resources the passes added (their log groups) are included."""
        return [
            node
            for child_id, child in self.children.items()
            if marker in child_id
            for node in child.node.find_all()
            if isinstance(node, cdk.CfnResource)
        ]

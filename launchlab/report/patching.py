"""What each launch type's owner patches, how often it changed in the last 12 months, and what
AWS patches for them: the counts from launchlab/report/patch_cadence.yaml (written by
``python -m launchlab.report.cadence`` from public git histories), matched to what the templates
and the Dockerfiles pin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from launchlab.files import read_yaml
from launchlab.report import cadence

DEFAULT_CADENCE = cadence.DEFAULT_OUT
# What AWS keeps current for you, and the page that says so.
ECS_MI_PATCHING = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-instances-patching.html"
)
LAMBDA_RUNTIME_PATCHING = (
    "https://docs.aws.amazon.com/lambda/latest/dg/runtime-management-shared.html"
)
FARGATE_PATCHING = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-fargate.html"
)


@dataclass(frozen=True)
class Patch:
    """One thing the owner keeps current."""

    what: str  # "ECS-optimized AMI (al2023)", "base image node:24-bookworm-slim"
    per_year: int | None  # releases in the 12 months counted; None when not counted
    basis: str  # where the count comes from, with its repository, commit and window
    how: str  # how a patch is applied in this project
    lower_bound: bool = False


@dataclass(frozen=True)
class Patching:
    yours: tuple[Patch, ...]
    aws: str  # what AWS patches for you, with the page that says so

    @property
    def per_year(self) -> int | None:
        counts = [p.per_year for p in self.yours]
        if any(c is None for c in counts):
            return None
        return sum(c for c in counts if c is not None)

    @property
    def lower_bound(self) -> bool:
        return any(p.lower_bound for p in self.yours)

    def basis(self) -> str:
        if not self.yours:
            return f"nothing of yours below the code: {self.aws}"
        return "; ".join(f"{p.what}: {p.basis}; {p.how}" for p in self.yours) + (
            f"; AWS patches {self.aws}"
        )

    def as_json(self) -> dict[str, Any]:
        total = self.per_year
        return {
            "low": total,
            "high": total,
            "value": total,
            "unit": "releases per year",
            "lower_bound": self.lower_bound,
            "basis": self.basis(),
            "yours": [
                {
                    "what": p.what,
                    "per_year": p.per_year,
                    "basis": p.basis,
                    "how": p.how,
                    "lower_bound": p.lower_bound,
                }
                for p in self.yours
            ],
            "aws": self.aws,
        }


@cache
def _load(path: Path) -> Mapping[str, Any]:
    document = read_yaml(path, "the patch cadence")
    return document if isinstance(document, dict) else {}


def load_cadence(path: Path = DEFAULT_CADENCE) -> Mapping[str, Any]:
    return _load(path)


def _counted(entry: Mapping[str, Any]) -> str:
    parts = []
    for count in entry.get("counts", []):
        start, end = count["window"]
        parts.append(
            f"{count['count']} {count['what']} {start}..{end} ({count['repository']} "
            f"{count['branch']}@{str(count['commit'])[:12]})"
        )
    return ", ".join(parts)


def image_patch(document: Mapping[str, Any], app: str, how: str) -> Patch:
    """The base image ``app`` (node-app, python-app, python-app-lambda) builds on."""
    ref = cadence.pinned_images().get(app)
    images: Mapping[str, Any] = document.get("images") or {}
    key = cadence.image_line_key(ref, images) if ref else None
    if key is None:
        return Patch(
            f"base image {ref or app}",
            None,
            "not counted: run `make patch-cadence` to count its release line",
            how,
        )
    entry = images[key]
    lower = "lower bound" in str(entry.get("combined", ""))
    basis = f"{entry['per_year']} a year ({entry.get('combined', '')}): {_counted(entry)}"
    return Patch(f"base image {key}", int(entry["per_year"]), basis, how, lower_bound=lower)


def ami_patch(document: Mapping[str, Any], parameter: str | None, how: str) -> Patch:
    family = cadence.ami_family(parameter or "")
    entry = (document.get("amis") or {}).get(f"ecs-optimized-ami:{family}")
    if entry is None:
        return Patch(
            f"the AMI ({parameter or 'a literal image id'})",
            None,
            "not counted: run `make patch-cadence`",
            how,
        )
    return Patch(
        f"ECS-optimized AMI ({family})",
        int(entry["per_year"]),
        f"{entry['per_year']} releases: {_counted(entry)}",
        how,
    )

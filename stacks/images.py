"""What a launch type asks the registry for (an ImageRequest: a sample app, built for a CPU
architecture) and what it gets back to run (an ImageRef: a repository and an immutable tag).

Shared by the registry stack, which builds and copies the images, and every stack that runs
one; kept apart from both so that no stack module imports another.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ecr as ecr

from stacks.workloads import SampleApp


@dataclass(frozen=True)
class ImageRequest:
    """One image a launch type runs: which workload, built for which CPU architecture."""

    workload: SampleApp
    architecture: str  # "x86_64" or "arm64"
    lambda_image: bool = False


@dataclass(frozen=True)
class ImageRef:
    """Where a service finds its image: a repository of this stack and an immutable tag."""

    repository: ecr.IRepository
    tag: str

"""Run the pinned CDK CLI for deploy and destroy, with its output going straight to the user."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from launchlab.assembly import ROOT, cdk_environment, pinned_cdk
from launchlab.errors import LaunchlabError

# Tests only: points `up` and `down` at a stand-in executable, since no real AWS is reachable.
CDK_OVERRIDE_ENV = "LAUNCHLAB_CDK"


def cdk_executable() -> str:
    return os.environ.get(CDK_OVERRIDE_ENV) or str(pinned_cdk())


def run_cdk(args: Sequence[str], *, region: str, what: str, next_step: str) -> None:
    """Run ``cdk <args>`` in ``region`` from the project root; a non-zero exit is one line
    naming what to do next."""
    command = [cdk_executable(), *args]
    # The region the boto3 side checked, whatever the environment or profile would pick.
    env = cdk_environment(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    except OSError as error:
        raise LaunchlabError(f"cannot run {command[0]}: {error.strerror}") from None
    if result.returncode != 0:
        raise LaunchlabError(f"{what} failed (exit {result.returncode}): {next_step}")


def outputs_file(outdir: Path) -> Path:
    return outdir / "outputs.json"

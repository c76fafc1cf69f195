"""The Python app as a .zip for a managed Lambda runtime, built at synth with no network and no
Docker: Lambda Managed Instances runs the managed runtimes, so its function is a .zip, not the
container image the other launch types run.

The app's own files, plus each dependency pinned in services/python-app/requirements.txt (but
the HTTP server, whose place Lambda's runtime takes) copied from the distribution installed in
the virtual environment, which must be exactly the pinned version. Every one is pure Python, so
the same .zip serves x86_64 and arm64.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from stacks.workloads import LAMBDA_WORKLOAD

APP_PACKAGE = "launchlab_app"
REQUIREMENTS = LAMBDA_WORKLOAD.directory / "requirements.txt"
# The HTTP server the container images run; Lambda's runtime takes its place.
SERVER_ONLY = frozenset({"uvicorn", "click", "h11"})
_INSTALL_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)")


def python_app_code(runtime: lambda_.Runtime) -> tuple[lambda_.Code, str]:
    """The Python app and its runtime dependencies as a .zip asset, and a version label.

    Built at synth without a network or Docker: the app's own files, plus each dependency in
    ``services/python-app/requirements.txt`` (but the HTTP server) copied from the
    distribution installed here, which must have exactly the pinned version. Every one is pure
    Python, so the same .zip serves x86_64 and arm64. The label is a hash of what goes in.
    """
    pins = runtime_pins()
    _check_installed(pins)
    digest = hashlib.sha256()
    for name, version in sorted(pins.items()):
        digest.update(f"{name}=={version}\n".encode())
    for path in _app_files():
        digest.update(path.relative_to(LAMBDA_WORKLOAD.directory).as_posix().encode())
        digest.update(path.read_bytes())
    code = lambda_.Code.from_asset(
        str(LAMBDA_WORKLOAD.directory),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        bundling=cdk.BundlingOptions(
            # Never pulled: the local bundler below always succeeds.
            image=runtime.bundling_image,
            local=_InstalledDistributions(pins),
        ),
    )
    return code, f"zip-{digest.hexdigest()}"


def runtime_pins() -> dict[str, str]:
    """name -> pinned version of the app's runtime dependencies, less the HTTP server."""
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match and _normalise(match.group(1)) not in SERVER_ONLY:
            pins[_normalise(match.group(1))] = match.group(2)
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _check_installed(pins: dict[str, str]) -> None:
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            raise RuntimeError(
                f"Lambda Managed Instances .zip: {name}=={version} is pinned in "
                f"{REQUIREMENTS.name} but {installed or 'nothing'} is installed; run `make setup`"
            )


def _app_files() -> Iterator[Path]:
    root = LAMBDA_WORKLOAD.directory / APP_PACKAGE
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path


@jsii.implements(cdk.ILocalBundling)
class _InstalledDistributions:
    """Copies the app and its installed dependencies into the asset directory."""

    def __init__(self, pins: dict[str, str]) -> None:
        self._pins = pins

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: Any) -> bool:
        out = Path(output_dir)
        for path in _app_files():
            _copy(path, out / path.relative_to(LAMBDA_WORKLOAD.directory))
        for name in sorted(self._pins):
            distribution = importlib.metadata.distribution(name)
            for file in distribution.files or ():
                parts = Path(file).parts
                # Console scripts live outside site-packages; bytecode is per interpreter;
                # the installer's records name this machine's paths and tools.
                if (
                    ".." in parts
                    or "__pycache__" in parts
                    or file.suffix == ".pyc"
                    or (parts[0].endswith(".dist-info") and parts[-1] in _INSTALL_RECORDS)
                ):
                    continue
                _copy(Path(str(distribution.locate_file(file))), out / file)
        return True


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)

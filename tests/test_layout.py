"""The layout a reader of one launch type relies on: its stack module holds its stack, and what
several stacks share lives in neutral modules (stacks/constructs/, stacks/images.py, ...), so
no stack module imports another and nothing shared imports a stack module."""

from __future__ import annotations

import ast
from pathlib import Path

from stacks import launch_types
from tests.conftest import ROOT

STACKS = ROOT / "stacks"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _stack_modules() -> set[str]:
    return {f"stacks.{path.stem}" for path in STACKS.glob("*_stack.py")}


def test_no_stack_module_imports_another_and_nothing_shared_imports_one() -> None:
    stack_modules = _stack_modules()
    # Every launch type's stack module is one of them (the registry names them).
    assert {spec.stack_module for spec in launch_types.REGISTRY} <= stack_modules
    offenders = {}
    for path in sorted(STACKS.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if module == "stacks.launchlab_app":  # the one place the stacks are wired together
            continue
        imported = _imports(path) & (stack_modules - {module})
        if imported:
            offenders[module] = sorted(imported)
    assert offenders == {}


def test_each_stack_module_opens_with_what_it_builds() -> None:
    """The module docstring says what the stack builds and why its settings are what they are,
    with AWS's documentation linked where a setting is AWS's behaviour, never a blog."""
    for path in sorted(STACKS.glob("*_stack.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert len(docstring.splitlines()) >= 8, path.name
        links = [word for word in docstring.split() if "://" in word]
        assert all("amazon.com" in link or "github.com" in link for link in links), path.name

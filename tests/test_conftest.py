"""tests/conftest.py's own hooks, run by a pytest of their own on a test file made here."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT

CYCLES = """
class Finalized:
    def __init__(self, name):
        self.name, self.me = name, self  # a cycle: only the garbage collector frees it

    def __del__(self):
        raise RuntimeError(f"finalizer of the cycle {self.name} ran")


Finalized("left as garbage by collection")
alive = Finalized("dropped by a test")
kept = Finalized("alive at exit")


def test_drops_it():
    global alive
    del alive
"""


def test_frozen_objects_hide_no_finalizer_from_pytest_and_are_left_at_exit(tmp_path: Path) -> None:
    # gc.freeze at the end of collection must not hide from pytest a cycle that was garbage
    # by then, nor one that became garbage during the tests.
    (tmp_path / "test_cycles.py").write_text(textwrap.dedent(CYCLES))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert "1 passed" in run.stdout, output
    assert "the cycle left as garbage by collection ran" in output, output
    assert "the cycle dropped by a test ran" in output, output
    # Frozen again at exit: the interpreter's teardown leaves what is still alive to the OS
    # (the slow part of an xdist worker's exit), so this cycle's finalizer never runs.
    assert "the cycle alive at exit ran" not in output, output

"""Imported at start-up by every Python process whose PYTHONPATH holds this directory: the
top-level modules named in LAUNCHLAB_TEST_BLOCKED_MODULES fail to import, as if their
distributions were not installed. tests/test_demo.py runs `launchlab demo` so, with every
module that only requirements-dev.txt installs blocked: what `make demo` installs must suffice.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

BLOCKED = frozenset(filter(None, os.environ.get("LAUNCHLAB_TEST_BLOCKED_MODULES", "").split(",")))


class _NotInstalled:
    """A finder ahead of every other: a blocked module is not found, whoever asks."""

    @staticmethod
    def find_spec(
        name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(
                f"No module named {name!r} (requirements-dev.txt only)", name=name
            )
        return None


if BLOCKED:
    sys.meta_path.insert(0, _NotInstalled())  # type: ignore[arg-type]

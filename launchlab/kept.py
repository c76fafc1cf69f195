"""What a checker printed, kept under a digest of everything its output depends on (its
version, its arguments, the bytes it read), so a second look at the same inputs reads the
output back instead of running the checker again: cfn-lint here, checkov in the tests.

Callers keep the checker's raw output, never a verdict drawn from it, and draw the verdict
again on every look: a change to how output is read takes effect on kept output too.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

# Where kept output goes, for every checker and every assembly (a CI cache, say); unset, each
# caller keeps it beside what it judged.
CACHE_DIR_ENV = "LAUNCHLAB_CACHE_DIR"
# What a directory keeps, the most recently used first: a test session writes some 15 entries,
# cfn-lint's of well under 1 kB each and checkov's of 1.6 MB (25 MB of JSON, compressed).
KEEP_NEWEST = 64
KEEP_BYTES = 32 * 2**20
_SUFFIX = ".kept.json.gz"
_ENTRY = re.compile(rf"[0-9a-f]{{64}}{re.escape(_SUFFIX)}")
# A half-written entry (see keep) whose writer was killed before renaming it. A live writer
# finishes within seconds (checkov's 1.6 MB takes well under one), so one this old is
# abandoned.
_PARTIAL_SUFFIX = ".partial"
_PARTIAL = re.compile(rf"\.[0-9a-f]{{64}}\..+{re.escape(_PARTIAL_SUFFIX)}")
ABANDONED_AFTER_S = 3600


def directory(default: Path) -> Path:
    """``LAUNCHLAB_CACHE_DIR`` if set, else ``default``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or default)


def key(*parts: str | bytes) -> str:
    """A digest of ``parts``, each length-prefixed: no two different lists share one."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def read(place: Path, digest: str) -> Any:
    """What was kept under ``digest`` in ``place``, or None (nothing, or unreadable)."""
    entry = place / f"{digest}{_SUFFIX}"
    try:
        value = json.loads(gzip.decompress(entry.read_bytes()))
    # gzip's truncated stream is an EOFError, a corrupt one a zlib.error (neither an OSError)
    except (OSError, ValueError, EOFError, zlib.error):
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # used: the last to go when the directory is trimmed
    return value


def keep(place: Path, digest: str, value: Any) -> None:
    """Keep ``value`` (JSON) under ``digest``: written whole, then renamed into place, so a
    reader sees it all or not at all. A place that cannot be written keeps nothing."""
    try:
        place.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=place, prefix=f".{digest}.", suffix=_PARTIAL_SUFFIX)
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(gzip.compress(json.dumps(value).encode(), compresslevel=6, mtime=0))
        os.replace(partial, place / f"{digest}{_SUFFIX}")
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        return
    _trim(place)


def _trim(place: Path) -> None:
    """Only the most recently used entries stay, at most KEEP_NEWEST of them and KEEP_BYTES
    together (the newest always stays), and no abandoned half-written one; nothing else in
    ``place`` is touched."""
    entries: list[tuple[float, int, Path]] = []
    abandoned_before = time.time() - ABANDONED_AFTER_S
    with contextlib.suppress(OSError):
        for entry in place.iterdir():
            if _ENTRY.fullmatch(entry.name):
                with contextlib.suppress(OSError):  # another process trimmed it first
                    status = entry.stat()
                    entries.append((status.st_mtime, status.st_size, entry))
            elif _PARTIAL.fullmatch(entry.name):
                with contextlib.suppress(OSError):
                    if entry.stat().st_mtime < abandoned_before:
                        entry.unlink()
    total = 0
    for count, (_, size, entry) in enumerate(sorted(entries, reverse=True)):
        total += size
        if count and (count >= KEEP_NEWEST or total > KEEP_BYTES):
            with contextlib.suppress(OSError):
                entry.unlink()

"""The store that keeps cfn-lint's and checkov's output between runs (launchlab.kept); what
each keeps and when it lints again is in tests/test_checks.py."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from launchlab import kept


def test_key_tells_apart_parts_that_join_to_the_same_bytes() -> None:
    assert kept.key("ab", "c") != kept.key("a", "bc")
    assert kept.key("a", b"b") == kept.key(b"a", "b")
    assert kept.key() != kept.key("")


def test_what_is_kept_is_read_back_and_a_torn_or_missing_entry_is_none(tmp_path: Path) -> None:
    place = tmp_path / "a" / "b"  # made on the first keep
    digest = kept.key("x")
    assert kept.read(place, digest) is None
    kept.keep(place, digest, [2, ["line"], ""])
    assert kept.read(place, digest) == [2, ["line"], ""]
    assert [entry.name for entry in place.iterdir()] == [f"{digest}.kept.json.gz"]
    (place / f"{digest}.kept.json.gz").write_bytes(b"\x1f\x8b\x08")  # cut off mid-write
    assert kept.read(place, digest) is None
    # A whole header, then a deflate block of the reserved type 3: corrupt, not cut off.
    corrupt = gzip.compress(b"[]", mtime=0)
    (place / f"{digest}.kept.json.gz").write_bytes(corrupt[:10] + b"\x07" + corrupt[11:])
    assert kept.read(place, digest) is None


def test_directory_is_the_environment_s_else_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(kept.CACHE_DIR_ENV, str(tmp_path / "ci-cache"))
    assert kept.directory(tmp_path / "beside") == tmp_path / "ci-cache"
    monkeypatch.setenv(kept.CACHE_DIR_ENV, "")
    assert kept.directory(tmp_path / "beside") == tmp_path / "beside"


def test_only_the_most_recently_used_entries_stay_and_nothing_else_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept, "KEEP_NEWEST", 2)
    (tmp_path / "notes.json.gz").write_text("someone else's")
    first, second, third = (kept.key(name) for name in ("first", "second", "third"))
    kept.keep(tmp_path, first, 1)
    kept.keep(tmp_path, second, 2)
    for age, digest in ((200, first), (100, second)):
        os.utime(tmp_path / f"{digest}.kept.json.gz", (1e9 - age, 1e9 - age))
    assert kept.read(tmp_path, first) == 1  # used now: the newest
    kept.keep(tmp_path, third, 3)
    assert (kept.read(tmp_path, first), kept.read(tmp_path, second)) == (1, None)
    assert kept.read(tmp_path, third) == 3
    assert (tmp_path / "notes.json.gz").read_text() == "someone else's"


def test_entries_stay_within_the_byte_bound_but_the_newest_always_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = kept.key("small"), kept.key("large")
    kept.keep(tmp_path, small, "s")
    size = (tmp_path / f"{small}.kept.json.gz").stat().st_size
    os.utime(tmp_path / f"{small}.kept.json.gz", (1e9, 1e9))
    monkeypatch.setattr(kept, "KEEP_BYTES", size + 1)
    kept.keep(tmp_path, large, os.urandom(64).hex())  # alone over the bound: kept all the same
    assert kept.read(tmp_path, small) is None
    assert kept.read(tmp_path, large) is not None


def test_a_half_written_entry_whose_writer_was_killed_goes_once_abandoned(
    tmp_path: Path,
) -> None:
    digest = kept.key("x")
    abandoned = tmp_path / f".{digest}.k1ll3d.partial"  # as keep names it (mkstemp)
    writing = tmp_path / f".{digest}.wr1t1ng.partial"
    # As old, but not keep's: someone else's, whatever they look like.
    others = [tmp_path / name for name in ("notes.partial", f".{digest}.k1ll3d.partial.bak")]
    for partial in (abandoned, writing, *others):
        partial.write_bytes(b"\x1f\x8b")
    hour_ago = time.time() - kept.ABANDONED_AFTER_S - 1
    for old in (abandoned, *others):
        os.utime(old, (hour_ago, hour_ago))
    kept.keep(tmp_path, kept.key("y"), "y")
    assert not abandoned.exists()
    assert writing.exists()  # another writer may still be at it
    assert all(other.exists() for other in others)
    assert kept.read(tmp_path, kept.key("y")) == "y"


def test_a_write_that_fails_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kept.os, "replace", full)
    kept.keep(tmp_path, kept.key("x"), "value")
    assert list(tmp_path.iterdir()) == []


def test_entries_that_fill_the_byte_bound_exactly_all_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    older, newer = kept.key("older"), kept.key("newer")
    kept.keep(tmp_path, older, "o")
    os.utime(tmp_path / f"{older}.kept.json.gz", (1e9, 1e9))
    size = (tmp_path / f"{older}.kept.json.gz").stat().st_size
    monkeypatch.setattr(kept, "KEEP_BYTES", 2 * size)  # "n" compresses to the same size as "o"
    kept.keep(tmp_path, newer, "n")
    assert (kept.read(tmp_path, older), kept.read(tmp_path, newer)) == ("o", "n")


def test_a_store_that_refuses_housekeeping_still_reads_and_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file system that will not set times or remove files (another process's, say):
    # reading and keeping go on, whatever the housekeeping could not do.
    digest = kept.key("x")
    kept.keep(tmp_path, digest, "value")

    def refused(*_: object, **__: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(kept.os, "utime", refused)
    assert kept.read(tmp_path, digest) == "value"
    monkeypatch.setattr(kept, "KEEP_NEWEST", 1)
    monkeypatch.setattr(Path, "unlink", refused)
    kept.keep(tmp_path, kept.key("y"), "another")  # trimming the older entry is refused
    assert kept.read(tmp_path, kept.key("y")) == "another"
    monkeypatch.setattr(kept.os, "replace", refused)
    monkeypatch.setattr(kept.os, "unlink", refused)
    kept.keep(tmp_path, kept.key("z"), "lost")  # neither kept nor cleaned up: no error either
    assert kept.read(tmp_path, kept.key("z")) is None

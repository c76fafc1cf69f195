"""What a newcomer waits for: this checkout's HEAD cloned into a new directory, then `make setup`
(the install: .venv, the editable launchlab, the pinned CDK CLI) and `make demo` timed apart;
with --test, `make test` twice after them (the first installs the test tools, the second is
warm). Each line gives the 1-minute load average before and after, since other work on the
machine moves these figures.

    .venv/bin/python bench/fresh_clone.py [--test] [--no-pip-cache] [--keep]

Run it from a committed HEAD: the clone has what git has, not the work tree's edits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _timed(label: str, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> bool:
    before = _load()
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    print(
        f"{label:<34} {seconds:7.1f} s  exit {done.returncode}  load {before} -> {_load()}"
        f"  (log: {log})",
        flush=True,
    )
    return done.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--test", action="store_true", help="also `make test`, first and warm")
    parser.add_argument("--no-pip-cache", action="store_true", help="PIP_NO_CACHE_DIR=1")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args()

    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    where = Path(tempfile.mkdtemp(prefix="launchlab-clone-"))
    clone = where / "launchlab"
    # The environment a newcomer's shell has, not this one's venv.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    if args.no_pip_cache:
        env["PIP_NO_CACHE_DIR"] = "1"
    print(f"{head} cloned into {clone}; pip cache {'off' if args.no_pip_cache else 'on'}")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", head], cwd=clone, check=True)
    steps = [("make setup (the install)", ["make", "setup"]), ("make demo", ["make", "demo"])]
    if args.test:
        steps += [("make test (first)", ["make", "test"]), ("make test (warm)", ["make", "test"])]
    ok = True
    for number, (label, command) in enumerate(steps):
        ok = _timed(label, command, clone, env, where / f"{number}-{command[1]}.log") and ok
        if not ok:
            break
    if not args.keep:
        shutil.rmtree(clone)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

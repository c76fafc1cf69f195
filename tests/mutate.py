"""`make mutate`: mutation testing (mutmut, configured in pyproject.toml) of the cost model,
`down`, the checks wiring and the config; prints the score per module and every survivor.

Two passes, because of where the code runs:

1. The toolkit (launchlab/...): its mutants cannot change a synthesized app, so every test
   session reads one synth kept in mutants/.synth (tests/conftest.py SYNTH_CACHE).
2. stacks/...: each mutant's session synthesizes again. mutmut credits a function to the tests
   that ran it, and a function that runs inside the session's one synth is credited to the
   first test that asked for it only; so every stacks/ function is also given the tests that
   read the whole synthesized app (the snapshots and the nag exact-set checks).

Not part of `make test`. Figures and the survivors' explanations: BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from stacks import names  # noqa: E402

MUTANTS = ROOT / "mutants"
MUTMUT = str(Path(sys.executable).parent / "mutmut")
CHILDREN = os.environ.get("MUTATE_CHILDREN", "2")
CONFIG_TESTS = "tests/test_config.py::"
# The tests that read the whole synthesized app, default and variant.
SYNTH_READERS = [
    *(f"tests/test_snapshots.py::test_stack_snapshot[{s}]" for s in names.DEFAULT_STACKS),
    *(f"tests/test_snapshots.py::test_variant_stack_snapshot[{s}]" for s in names.DEFAULT_STACKS),
    "tests/test_checks.py::test_nag_acknowledges_exactly_what_it_suppressed[synth]",
    "tests/test_checks.py::test_nag_acknowledges_exactly_what_it_suppressed[variant]",
    "tests/test_checks.py::test_cdk_nag_reports_no_unsuppressed_finding[synth]",
    "tests/test_checks.py::test_cdk_nag_reports_no_unsuppressed_finding[variant]",
]


def mutmut(*args: str, env: dict[str, str] | None = None) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [MUTMUT, *args], cwd=ROOT, env={**os.environ, **(env or {})}, check=False,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"mutmut {' '.join(args)}: exit {result.returncode}, {time.monotonic() - started:.0f} s")


def credit_synth_readers() -> None:
    """The nag and checkov passes run only inside a synth: give them every test that reads
    the synthesized app. The config has tests of its own (tests/test_config.py), which run in
    milliseconds; a synth per config mutant (~700 of them) would take an hour."""
    stats_path = MUTANTS / "mutmut-stats.json"
    stats = json.loads(stats_path.read_text())
    by_function = stats["tests_by_mangled_function_name"]
    for function, tests in by_function.items():
        if function.startswith(("stacks.nag_suppressions.", "stacks.checkov_skips.")):
            by_function[function] = sorted({*tests, *SYNTH_READERS})
        elif function.startswith("stacks.config."):
            by_function[function] = sorted(t for t in tests if t.startswith(CONFIG_TESTS))
    stats_path.write_text(json.dumps(stats, indent=4))


def scores() -> dict[str, Counter[str]]:
    """Each mutated module's mutants by status (mutmut's names), from its .meta file."""
    status = {0: "survived", 1: "killed", 3: "killed", 33: "no tests", 34: "skipped"}
    found: dict[str, Counter[str]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found[module] = Counter(
            status.get(code, "timeout" if code in (-24, 24, 152, 255, 36) else f"exit {code}")
            for code in codes.values()
        )
    return found


def survivors() -> list[str]:
    names = []
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        names += [name for name, code in codes.items() if code not in (1, 3)]
    return names


def main(patterns: list[str]) -> int:
    """``patterns``: mutmut names to run (e.g. ``launchlab.report.cost*``); default all."""
    started = time.monotonic()
    toolkit = [p for p in patterns if p.startswith("launchlab")] if patterns else ["launchlab.*"]
    infrastructure = [p for p in patterns if p.startswith("stacks")] if patterns else ["stacks.*"]
    if toolkit:
        synth_cache = str(MUTANTS / ".synth")
        mutmut("run", "--max-children", CHILDREN, *toolkit,
               env={"LAUNCHLAB_TEST_SYNTH_CACHE": synth_cache})  # fmt: skip
    if infrastructure:
        if not (MUTANTS / "mutmut-stats.json").exists():
            print("mutate: stacks/ patterns need a full run first: make mutate", file=sys.stderr)
            return 2
        credit_synth_readers()
        mutmut("run", "--max-children", CHILDREN, *infrastructure)
    print(f"\nmutation score per module ({time.monotonic() - started:.0f} s in all)")
    for module, counts in scores().items():
        total = sum(counts.values())
        detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"  {module}: {counts['killed'] / total:.0%} killed of {total} ({detail})")
    left = survivors()
    print(f"\n{len(left)} not killed (`.venv/bin/mutmut show NAME` prints the change):")
    for name in left:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

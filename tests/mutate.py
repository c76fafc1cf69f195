"""`make mutate`: mutation testing (mutmut, configured in pyproject.toml) of the cost model,
`down`, the checks wiring and the config; prints the score per module and every survivor.

Its budget is 30 minutes for some 3,700 mutants on 2 cores, so well under a second of a
worker per mutant, and everything here serves that:

- One `mutmut run` (in a child process: that process must import nothing of the project
  before mutmut puts mutants/ first on the path). After mutmut's stats run, which records the
  tests that called each function, `choose_tests` keeps per function only the tests that call
  it directly and quickly (FAST_TESTS): a stacks/ function also runs inside the session's one
  synth, which mutmut credits to whichever test asked for the synth first.
- The toolkit's tests read one synth kept in mutants/.synth (tests/conftest.py SYNTH_CACHE):
  no toolkit mutant can change a synthesized app. The nag and checkov passes are tested on
  small stacks of their own (test_checks.py), the config by test_config.py: no mutant
  synthesizes the app.
- One moto server for the whole run, started here (tests/moto_server.py MOTO_URL); each `down`
  test has an account of its own on it, so the two workers never see each other's resources.
- Each mutant's pytest is forked from a server that collected the tests once. After that
  collection the server makes the boto3 clients the `down` tests use (tests/moto_server.py
  prime_clients) and freezes the garbage collector's view of what is loaded (gc.freeze), so a
  forked session neither rebuilds clients nor walks the whole heap at its end.

Not part of `make test`. Figures: BENCHMARKS.md.
"""

from __future__ import annotations

import fnmatch
import gc
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
CHILDREN = os.environ.get("MUTATE_CHILDREN", "2")

# Per mutated module, the tests that may run for its mutants: those that call its functions
# directly and take well under a second. A test of the whole app (a snapshot, the report CLI,
# a deploy to moto) would also kill mutants, but at seconds each.
FAST_TESTS: dict[str, tuple[str, ...]] = {
    "launchlab.report.cost.": ("tests/test_report.py::*",),
    "launchlab.aws.down.": ("tests/test_aws_down_scan.py::*",),
    # Not the lint of the session's synth: its output is kept in the session's cache directory
    # (LAUNCHLAB_CACHE_DIR), which every session shares, where one mutant's output would be
    # read by the next. The tests below keep theirs in a directory of their own.
    "launchlab.checks.": (
        "tests/test_checks.py::test_nag_verdict_*",
        "tests/test_checks.py::test_cfn_lint_verdict_*",
        "tests/test_checks.py::test_cfn_lint_that_cannot_run_says_so",
        "tests/test_checks.py::test_cfn_lint_stopped_by_a_signal_*",
        "tests/test_checks.py::test_cfn_lint_is_linted_again_*",
        "tests/test_checks.py::test_cfn_lint_counts_findings_*",
    ),
    # The store the checkers' output is kept in: its own tests, and the checks tests above
    # (each keeps its output in a directory of its own).
    "launchlab.kept.": (
        "tests/test_kept.py::*",
        "tests/test_checks.py::test_cfn_lint_verdict_*",
        "tests/test_checks.py::test_cfn_lint_is_linted_again_*",
    ),
    "stacks.nag_suppressions.": ("tests/test_checks.py::test_nag_suppressions_*",),
    "stacks.checkov_skips.": (
        "tests/test_checks.py::test_checkov_skips_*",
        "tests/test_checks.py::test_a_suppression_or_skip_for_a_missing_construct_fails_by_name",
    ),
    "stacks.config.": ("tests/test_config.py::*",),
}


def choose_tests(by_function: dict[str, Any]) -> None:
    """Keep, per mutated function, only the tests FAST_TESTS allows for its module."""
    for function in by_function:
        allowed = next(
            (patterns for prefix, patterns in FAST_TESTS.items() if function.startswith(prefix)),
            (),
        )
        by_function[function] = {
            test
            for test in by_function[function]
            if any(fnmatch.fnmatchcase(test, pattern) for pattern in allowed)
        }


def run_mutmut(args: list[str]) -> None:
    """`mutmut run ARGS` with choose_tests after the stats run and a primed, frozen fork
    server. mutmut 3.8.1's own functions are wrapped (it is pinned): it has no hook for either."""
    import mutmut.__main__ as mutmut_main
    from mutmut.runners.harness import PytestRunner
    from mutmut.state import state
    from mutmut.stats import save_stats

    started = time.monotonic()
    collect = mutmut_main.collect_or_load_stats

    def collect_then_choose(*positional: Any, **keywords: Any) -> None:
        collect(*positional, **keywords)
        choose_tests(state().tests_by_mangled_function_name)
        save_stats()
        print(f"\nmutate: stats ready after {time.monotonic() - started:.0f} s", flush=True)

    warm_up = PytestRunner.warm_up

    def warm_up_then_freeze(self: PytestRunner) -> None:
        warm_up(self)
        moto = sys.modules.get("tests.moto_server")
        if moto is not None:
            moto.prime_clients()
        gc.freeze()

    run_tests = PytestRunner.run_tests

    def run_quick_tests_first(self: PytestRunner, *, mutant_name: str | None, tests: Any) -> int:
        # pytest runs them in this order and stops at the first failure (-x).
        duration = state().duration_by_test
        quick_first = sorted(tests, key=lambda test: (duration.get(test, 0.0), test))
        return run_tests(self, mutant_name=mutant_name, tests=quick_first)

    mutmut_main.collect_or_load_stats = collect_then_choose  # type: ignore[assignment]
    PytestRunner.warm_up = warm_up_then_freeze  # type: ignore[method-assign]
    PytestRunner.run_tests = run_quick_tests_first  # type: ignore[method-assign]
    mutmut_main.cli.main(["run", *args], standalone_mode=False)


def scores() -> dict[str, Counter[str]]:
    """Each mutated module's mutants by status (mutmut's names), from its .meta file."""
    status: dict[int | None, str] = {
        0: "survived", 1: "killed", 3: "killed", 33: "no tests", 34: "skipped", None: "not run"
    }  # fmt: skip
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
        names += [name for name, code in codes.items() if code not in (1, 3, None)]
    return names


def _wait_for(url: str) -> None:
    import httpx

    for _ in range(300):
        try:
            httpx.get(f"{url}/moto-api/data.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"no moto server at {url}")


def main(patterns: list[str]) -> int:
    """``patterns``: mutmut names to run again (e.g. ``launchlab.report.cost*``) after a full
    run; default all."""
    from launchlab.processes import free_port
    from tests.moto_server import MOTO_URLS, claim_file

    started = time.monotonic()
    MUTANTS.mkdir(exist_ok=True)
    ports = [free_port() for _ in range(int(CHILDREN))]
    server = str(Path(sys.executable).parent / "moto_server")
    moto = [
        subprocess.Popen(
            [server, "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    for url in urls:
        claim_file(url).unlink(missing_ok=True)
    env = {
        **os.environ,
        "LAUNCHLAB_TEST_SYNTH_CACHE": str(MUTANTS / ".synth"),
        MOTO_URLS: ",".join(urls),
    }
    try:
        for url in urls:
            _wait_for(url)
        with (MUTANTS / "mutmut-run.log").open("w") as log:
            result = subprocess.run(
                [sys.executable, __file__, "--run-mutmut", "--max-children", CHILDREN, *patterns],
                cwd=ROOT, env=env, check=False, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
    finally:
        for server in moto:
            server.terminate()
            server.wait()
    print(f"mutmut run: exit {result.returncode}")
    print(f"\nmutation score per module ({time.monotonic() - started:.0f} s in all)")
    for module, counts in scores().items():
        total = sum(counts.values())
        detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"  {module}: {counts['killed'] / total:.1%} killed of {total} ({detail})")
    print(f"(the mutmut run's own output: {MUTANTS / 'mutmut-run.log'})")
    left = survivors()
    print(f"\n{len(left)} not killed (`.venv/bin/mutmut show NAME` prints the change):")
    for name in left:
        print(f"  {name}")
    return result.returncode


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run-mutmut"]:
        # No project import before mutmut's: stacks/ and launchlab/ must come from mutants/.
        sys.path.remove(str(Path(__file__).resolve().parent))
        run_mutmut(sys.argv[2:])
        sys.exit(0)
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))

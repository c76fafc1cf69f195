"""`make mutate`: mutation testing (mutmut, configured in pyproject.toml) of the modules where a
wrong line costs a user money or data: the cost model and its rules, the inventory, the verdict
and break-even search, the config's validation, `down`'s scan and delete paths, the deploy
preflight, the delete waiters' handler and the network reachability check. Prints the score
per module and every mutant not killed.

Its budget is 30 minutes on 2 cores for some 12,000 mutants, so about a tenth of a second of a
worker per mutant, and everything here serves that:

- mypy first. mypy (strict, as `make lint` runs it) rejects about four mutants in nine
  before any test runs; it runs beside the stats run (CaughtByMypy).
- A coverage map instead of the suite. mutmut's stats run records, per function, the tests
  that called it; here a test is also credited with what its fixtures called (mutmut credits a
  fixture's calls only to the first test that set it up), and each test's whole time (setup,
  call and teardown) is recorded. `choose_tests` then keeps per function the tests that call it
  and take under QUICK_S; a mutant runs those, quickest first, and stops at the first failure.
- No pytest start per mutant. The fork server builds one pytest session and collects the tests
  once (`LiveSession`); each mutant's child, forked from it, runs its chosen tests through
  pytest's own run protocol (fixtures, setup, teardown, reports) and exits 1 at the first
  failing report. The session's synthesized apps are loaded in the fork server before any fork.
- One synth for the whole run. The app is synthesized into mutants/.synth before the stats run
  (tests/conftest.py SYNTH_CACHE) and every test session reads it from there: the toolkit's
  mutants cannot change it, and no test is credited with what the synth ran (a mutant of
  stacks/config.py is killed by tests that call the config directly, never by a cached synth).
- One moto server per worker for the whole run, started here (tests/moto_server.py MOTO_URLS);
  each scan test has an account of its own on it. After collecting, the fork server makes the
  boto3 clients those tests use (prime_clients) and freezes the garbage collector's view of
  what is loaded (gc.freeze), so a child neither rebuilds clients nor walks the whole heap.

Not part of `make test`. Figures: BENCHMARKS.md.
"""

from __future__ import annotations

import ast
import gc
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
CHILDREN = os.environ.get("MUTATE_CHILDREN", "2")

# A test that takes longer, run alone as a mutant runs it (its fixtures set up from nothing),
# runs for no mutant: it repeats, more slowly, what a quicker test of the same function
# asserts, or it runs what no mutant here can change (a CLI in a subprocess, a synth). Those
# the stats run saw take CANDIDATE_S or more (with mutmut's call recording) are not timed.
QUICK_S = float(os.environ.get("MUTATE_QUICK_S", "1.5"))
CANDIDATE_S = 3 * QUICK_S
# A mutant runs the quickest of its tests, up to this many seconds of them (alone): what
# survives them would survive the rest too, as a rule, and costs the sum of their times.
BUDGET_S = float(os.environ.get("MUTATE_BUDGET_S", "3.0"))

# Tests that never run for a mutant whatever their speed, and why.
NEVER: dict[str, str] = {}

# mutmut's exit codes, by what they mean here.
KILLED = {1: "killed", 3: "killed", 37: "killed by mypy"}
TIMEOUT = {-24, 24, 152, 255, 36}
STATUS: dict[int | None, str] = {0: "survived", 33: "no tests", 34: "skipped", None: "not run"}


def status_of(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    return STATUS.get(code, f"exit {code}")


# ---- the coverage map ------------------------------------------------------------------------


def is_synth(fixturedef: Any) -> bool:
    """A session fixture of tests/conftest.py that gives a synthesized app."""
    annotations = getattr(fixturedef.func, "__annotations__", {})
    return fixturedef.scope == "session" and annotations.get("return") == "Synthesized"


def set_up_synths(session: Any) -> None:
    """Set up, once and before any test, every synthesized app the collected tests use: under
    SYNTH_CACHE each is read from mutants/.synth (or built there once). Each is set up as pytest
    sets up a session fixture for its first test, on the session node."""
    from _pytest.compat import NOTSET
    from _pytest.fixtures import SubRequest, TopRequest
    from _pytest.scope import Scope

    session._setupstate.setup(session)  # the session node, to hold the fixtures' finalizers
    done: set[str] = set()
    for item in session.items:
        info = getattr(item, "_fixtureinfo", None)
        for name in item.fixturenames if info else ():
            defs = info.name2fixturedefs.get(name, ())
            if name in done or not defs or not is_synth(defs[-1]):
                continue
            request = SubRequest(
                TopRequest(item, _ispytest=True), Scope.Session, NOTSET, 0, defs[-1], _ispytest=True
            )
            defs[-1].execute(request=request)
            done.add(name)


def coverage_map() -> object:
    """A pytest plugin for mutmut's stats run: credits each test with what its fixtures called
    and records each test's whole time. (Made here: the process that runs mutmut imports no
    pytest.)"""
    import pytest
    from mutmut.state import state

    class CoverageMap:
        def __init__(self) -> None:
            self.by_fixture: dict[Any, set[str]] = {}
            self.started: dict[str, float] = {}

        def pytest_collection_finish(self, session: pytest.Session) -> None:
            set_up_synths(session)
            self.by_fixture.clear()  # what the synths ran belongs to no test
            state()._stats.clear()

        @pytest.hookimpl(wrapper=True)
        def pytest_fixture_setup(self, fixturedef: Any) -> Iterator[object]:
            outer = state()._stats
            state()._stats = set()
            try:
                return (yield)
            finally:
                own = state()._stats
                self.by_fixture[fixturedef] = own
                state()._stats = outer | own

        def pytest_runtest_logstart(self, nodeid: str) -> None:
            self.started[nodeid] = time.perf_counter()

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_teardown(self, item: pytest.Item) -> None:
            info = item._fixtureinfo  # type: ignore[attr-defined]
            for name in item.fixturenames:  # type: ignore[attr-defined]
                for fixturedef in info.name2fixturedefs.get(name, ()):
                    state()._stats |= self.by_fixture.get(fixturedef, set())

        def pytest_runtest_logfinish(self, nodeid: str) -> None:
            state().duration_by_test[nodeid] = time.perf_counter() - self.started.pop(nodeid)

    return CoverageMap()


def choose_tests(by_function: dict[str, Any], duration: dict[str, float]) -> None:
    """Keep, per mutated function, the tests that call it and may be quick (CANDIDATE_S,
    NEVER); time_each_test_alone keeps the quick ones."""
    for function, tests in by_function.items():
        by_function[function] = {
            test
            for test in tests
            if duration.get(test, CANDIDATE_S) < CANDIDATE_S and test not in NEVER
        }


# ---- one collected session, a child per mutant ---------------------------------------------


class LiveSession:
    """A pytest session that collected every test once, in the fork server; a child forked
    from it runs a mutant's tests through pytest's run protocol."""

    current: LiveSession | None = None

    def __init__(self, args: list[str]) -> None:
        from _pytest.config import _prepareconfig
        from _pytest.main import Session

        config = _prepareconfig(args)
        config._do_configure()
        self.session = Session.from_config(config)
        config.hook.pytest_sessionstart(session=self.session)
        config.hook.pytest_collection(session=self.session)
        self.items = {item.nodeid: item for item in self.session.items}
        set_up_synths(self.session)

    def run(self, tests: list[str]) -> int:
        """1 at the first failing report (a mutant killed), 0 when every test passed."""
        from _pytest.runner import runtestprotocol

        items = [self.items[test] for test in tests if test in self.items]
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else None
            reports = runtestprotocol(item, log=False, nextitem=following)
            if any(report.failed for report in reports):
                self.session._setupstate.teardown_exact(None)  # nothing left running
                return 1
        return 0


def run_mutmut(args: list[str]) -> None:
    """`mutmut run ARGS` with the coverage map in the stats run, mypy beside it, and a live,
    primed session in the fork server whose tests are timed alone before any mutant. mutmut
    3.8.1's own functions are wrapped (it is pinned): it has no hook for any of these."""
    import mutmut.__main__ as mutmut_main
    from mutmut.configuration import config
    from mutmut.runners.harness import PytestRunner
    from mutmut.state import state
    from mutmut.stats import save_stats
    from mutmut.workers.isolation import ForkServerRunner

    started = time.monotonic()

    def say(text: str) -> None:
        print(f"\nmutate: {text} ({time.monotonic() - started:.0f} s)", flush=True)

    def type_check_beside_the_stats() -> dict[str, Any]:
        return CaughtByMypy()

    collect = mutmut_main.collect_or_load_stats

    def collect_then_choose(*positional: Any, **keywords: Any) -> None:
        collect(*positional, **keywords)
        choose_tests(state().tests_by_mangled_function_name, state().duration_by_test)
        save_stats()
        say("stats ready")

    execute_pytest = PytestRunner.execute_pytest

    def execute_with_coverage_map(self: PytestRunner, params: list[str], **keywords: Any) -> int:
        if "plugins" in keywords:  # the stats run
            keywords["plugins"] = [*keywords["plugins"], coverage_map()]
        return execute_pytest(self, params, **keywords)

    def start_live_session(self: PytestRunner) -> None:
        os.chdir(MUTANTS)
        try:
            LiveSession.current = LiveSession(
                [
                    "--rootdir=.",
                    "--tb=native",
                    "-q",
                    "--capture=sys",
                    *config().pytest_add_cli_args,
                    *config().pytest_add_cli_args_test_selection,
                ]
            )
        finally:
            os.chdir(ROOT)
        moto = sys.modules.get("tests.moto_server")
        if moto is not None:
            moto.prime_clients()
        ready_for_moto_in_each_child()
        gc.freeze()

    run_tests = PytestRunner.run_tests

    def run_in_live_session(self: PytestRunner, *, mutant_name: str | None, tests: Any) -> int:
        live = LiveSession.current
        if live is None or mutant_name is None:  # the forced failure
            return run_tests(self, mutant_name=mutant_name, tests=tests)
        os.chdir(MUTANTS)  # this child's own; it exits after
        # The tests' tmp_path directories, this child's own and removed when it is done: in
        # one session pytest keeps every one (a test that copies a synth leaves 50 MB), and
        # thousands of mutants filled the disk. A child killed for a timeout leaves its own
        # under mutants/tmp, which the next `make mutate` removes.
        factory = live.session.config._tmp_path_factory
        factory._basetemp = Path(tempfile.mkdtemp(prefix="child-", dir=CHILD_TMP))
        began = time.perf_counter()
        try:
            code = live.run(list(tests))
        finally:
            shutil.rmtree(factory._basetemp, ignore_errors=True)
        took = time.perf_counter() - began
        if mutant_name.startswith(ALONE):
            line, where = [tests[0], code, took], TIMES
        else:
            line, where = [mutant_name, code, took], MUTANT_TIMES
        with where.open("a") as times:  # one short line per write: appends do not interleave
            times.write(json.dumps(line) + "\n")
        return code

    startup = ForkServerRunner.startup

    def startup_then_time_each_test(self: ForkServerRunner) -> None:
        startup(self)
        time_each_test_alone(self)
        say("each chosen test timed alone")

    mutmut_main.filter_mutants_with_type_checker = type_check_beside_the_stats
    mutmut_main.collect_or_load_stats = collect_then_choose  # type: ignore[assignment]
    # The stats run ran every test of the selection on this code and had to pass, and each
    # chosen test runs once more alone before the mutants (time_each_test_alone).
    ForkServerRunner.run_clean_tests = lambda self, tests: 0  # type: ignore[method-assign]
    ForkServerRunner.startup = startup_then_time_each_test  # type: ignore[method-assign]
    PytestRunner.execute_pytest = execute_with_coverage_map  # type: ignore[method-assign]
    PytestRunner.warm_up = start_live_session  # type: ignore[method-assign]
    PytestRunner.run_tests = run_in_live_session  # type: ignore[method-assign]
    mutmut_main.cli.main(["run", *args], standalone_mode=False)


ALONE = "alone:"  # the name of a test's run with no mutant, to time it
TIMES = MUTANTS / "test-times.jsonl"
MUTANT_TIMES = MUTANTS / "mutant-times.jsonl"
CHILD_TMP = MUTANTS / "tmp"


def ready_for_moto_in_each_child() -> None:
    """What the tests that start moto in their own process (tests/moto_server.py moto_server)
    would otherwise do in every child: import moto's backends (seconds). And a server thread,
    moto's or a test's, that stops within 20 ms: socketserver looks for a shutdown twice a
    second by default, and a child pays that at every server's end."""
    import socketserver

    import moto.backends
    from moto.moto_server.werkzeug_app import create_backend_app

    for service in MOTO_SERVICES:
        moto.backends.get_backend(service)  # type: ignore[call-overload]
        create_backend_app(service)
    serve_forever = socketserver.BaseServer.serve_forever

    def serve_forever_stopping_soon(self: Any, poll_interval: float = 0.5) -> None:
        serve_forever(self, poll_interval=0.02)

    socketserver.BaseServer.serve_forever = serve_forever_stopping_soon  # type: ignore[method-assign]


MOTO_SERVICES = (
    "acm", "autoscaling", "cloudformation", "cloudwatch", "ec2", "ecr", "ecs", "elbv2", "iam",
    "lambda", "logs", "resourcegroupstaggingapi", "service-quotas", "sts",
)  # fmt: skip
CAUGHT = MUTANTS / "caught-by-mypy.json"


def time_each_test_alone(runner: Any) -> None:
    """Run each chosen test once, alone, in a child of the live session, with no mutant: what
    it costs a mutant (its fixtures set up from nothing), and whether it passes alone. A test
    that fails alone, or takes QUICK_S or more, runs for no mutant; the others run quickest
    first."""
    from mutmut.state import state
    from mutmut.stats import save_stats

    by_function = state().tests_by_mangled_function_name
    tests = sorted(set().union(*by_function.values()))
    TIMES.unlink(missing_ok=True)
    failed = []
    for test in tests:
        while not runner.has_capacity():
            result = runner.wait_for_result()
            if result.exit_code != 0:
                failed.append(result.mutant_name.removeprefix(ALONE))
        runner.submit(f"{ALONE}{test}", [test], 600, 1.0)
    while runner.pending_count():
        result = runner.wait_for_result()
        if result.exit_code != 0:
            failed.append(result.mutant_name.removeprefix(ALONE))
    seconds = {}
    for line in TIMES.read_text().splitlines():
        test, code, took = json.loads(line)
        seconds[test] = took if code == 0 else float("inf")
    for test in failed:
        seconds[test] = float("inf")
        print(f"mutate: {test} fails when run alone: it runs for no mutant", flush=True)
    state().duration_by_test.update(seconds)
    for function, chosen in by_function.items():
        quick = sorted(
            (test for test in chosen if seconds.get(test, float("inf")) < QUICK_S),
            key=lambda test: (seconds[test], test),
        )
        spent = itertools.accumulate(seconds[test] for test in quick)
        kept = [test for test, total in zip(quick, spent, strict=True) if total <= BUDGET_S]
        by_function[function] = kept or quick[:1]  # type: ignore[assignment]
    save_stats()


class CaughtByMypy(dict[str, Any]):
    """The mutants mypy (`make lint`, strict) rejects: mypy runs in a subprocess beside the stats
    run, and is waited for when a mutant first asks. Each error is the mutant whose function
    holds its line (mutmut's own mapping parses every mutated file with libcst: minutes)."""

    def __init__(self) -> None:
        from mutmut.configuration import config

        super().__init__()
        self.mypy: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-m", *config().type_check_command], cwd=MUTANTS, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    def _wait(self) -> None:
        if self.mypy is None:
            return
        from mutmut.mutation.file_mutation import FailedTypeCheckMutant, MutatedMethodLocation
        from mutmut.type_checking import TypeCheckingError
        from mutmut.utils.format_utils import get_mutant_name

        out, _ = self.mypy.communicate()
        self.mypy = None
        errors: dict[str, list[dict[str, Any]]] = {}
        for line in filter(str.strip, out.splitlines()):
            error = json.loads(line)
            if error["severity"] == "error":
                errors.setdefault(error["file"], []).append(error)
        for path, found in errors.items():
            spans = [
                (node.lineno, node.end_lineno or node.lineno, node.name)
                for node in ast.walk(ast.parse((MUTANTS / path).read_text()))
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and "__mutmut_" in node.name
            ]
            for error in found:
                where = [span for span in spans if span[0] <= error["line"] <= span[1]]
                if not where:
                    print(f"mutate: mypy on unmutated code: {path}:{error['line']}", flush=True)
                    continue
                start, end, function = where[0]
                name = get_mutant_name(Path(path), function)
                self[name] = FailedTypeCheckMutant(
                    method_location=MutatedMethodLocation(Path(path), function, start, end),
                    name=name,
                    error=TypeCheckingError(Path(path), error["line"], error["message"]),
                )
        CAUGHT.write_text(json.dumps(sorted(self)))
        print(f"\nmutate: mypy rejects {len(self)} mutants", flush=True)

    def get(self, key: str, default: Any = None) -> Any:
        self._wait()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._wait()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self._wait()
        return super().__iter__()

    def __len__(self) -> int:
        self._wait()
        return super().__len__()


# ---- the scores --------------------------------------------------------------------------------


def exit_codes() -> dict[str, dict[str, int | None]]:
    """Each mutated module's mutants and their exit codes, from its .meta file; a mutant that
    mypy rejects counts as caught by mypy even where no test calls its function."""
    caught = set(json.loads(CAUGHT.read_text())) if CAUGHT.exists() else set()
    found = {}
    for top in ("launchlab", "stacks"):
        for meta in sorted((MUTANTS / top).rglob("*.py.meta")):
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            found[str(meta.relative_to(MUTANTS)).removesuffix(".meta")] = {
                name: 37 if name in caught else code for name, code in codes.items()
            }
    return found


def scores() -> dict[str, Counter[str]]:
    return {
        module: Counter(status_of(code) for code in codes.values())
        for module, codes in exit_codes().items()
    }


def survivors() -> list[str]:
    return [
        name
        for codes in exit_codes().values()
        for name, code in codes.items()
        if status_of(code) not in ("killed", "timeout", "not run")
    ]


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
    CHILD_TMP.mkdir(parents=True, exist_ok=True)
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
        for server in moto:
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    print(f"mutmut run: exit {result.returncode}")
    print(f"\nmutation score per module ({time.monotonic() - started:.0f} s in all)")
    for module, counts in scores().items():
        total = sum(counts.values())
        if not total:
            continue
        detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"  {module}: {counts['killed'] / total:.1%} killed of {total} ({detail})")
    print(f"(the mutmut run's own output: {MUTANTS / 'mutmut-run.log'})")
    left = survivors()
    print(f"\n{len(left)} not killed (`.venv/bin/python -m mutmut show NAME` prints the change):")
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

"""The CLI under generated input (hypothesis): every subcommand, argument lists drawn from its
own flags and from junk, and generated files for its file options. Each run ends with exit 0 or
2, an error is one ``launchlab: ...`` line, never a traceback, and nothing it started (a
process, a listening socket) is left.

Kept cheap on purpose: runs reuse the session's synth through --cdk-out (none may synthesize:
-c is drawn malformed only), a demo argument list that parses (which would run the whole demo,
tests/test_demo.py does that) is not run, and the AWS commands meet a closed port on 127.0.0.1
with dummy credentials, so nothing is deployed or sent anywhere."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from launchlab import cli
from launchlab.report.prices import DEFAULT_TABLE
from launchlab.report.profile import TrafficProfile
from tests.conftest import Synthesized

COMMANDS = ("demo", "report", "up", "verify", "bench", "drill", "down")
# Options whose value names a file or directory: drawn from the generated ones below.
FILE_OPTIONS = {"--profile", "--prices", "--bench", "--drill"}
# Examples per command: a report that prices draws a chart (about a second), an AWS command
# waits out botocore's retries against the closed port (a second or two).
EXAMPLES = {"demo": 30, "report": 15, "up": 4, "verify": 4, "bench": 6, "drill": 4, "down": 4}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns


def _options(command: str) -> dict[str, argparse.Action]:
    parser = cli.build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    return {flag: action for action in sub._actions for flag in action.option_strings}


NUMBERS = (
    st.sampled_from(
        [
            "0",
            "-5",
            "nan",
            "inf",
            "-inf",
            "1e9",
            "1e308",
            "0.5",
            "1",
            "3",
            "100001",
            "abc",
            "",
            "1_0",
        ]
    )
    | st.integers(-(10**12), 10**12).map(str)
    | st.floats().map(str)
)
JUNK = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | JUNK
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JUNK, inner, max_size=4),
        max_leaves=12,
    )  # fmt: skip


FIELDS = [name for name in TrafficProfile.__dataclass_fields__]
FILE_CONTENTS = st.one_of(
    st.binary(max_size=64),
    JUNK.map(str.encode),
    _json_values().map(lambda v: json.dumps(v).encode()),
    _json_values().map(lambda v: yaml.safe_dump(v).encode()),
    st.integers(900, 3000).map(lambda depth: ("[" * depth + "]" * depth).encode()),
    # A traffic profile's shape with generated values.
    st.dictionaries(st.sampled_from(FIELDS), _json_values(), max_size=4).map(
        lambda v: yaml.safe_dump(v).encode()
    ),
    # A bench result's schema with generated figures.
    st.dictionaries(JUNK, _json_values(), max_size=3).map(
        lambda v: json.dumps({**v, "schema": "launchlab-bench"}).encode()
    ),
)
MANIFESTS = st.one_of(
    _json_values().map(json.dumps),
    st.just("[]"),
    st.just('{"artifacts": {"LaunchlabNetwork": {"type": "aws:cloudformation:stack"}}}'),
)


@st.composite
def argument_lists(draw: st.DrawFn, command: str, files: dict[str, Path]) -> list[str]:
    """Flags of ``command`` (and some it does not have) with values of every kind."""
    options = _options(command)
    argv: list[str] = [command]
    # Each file option half the time, a generated file or app half of those.
    generated = [files["generated file"], files["generated app"]]
    paths = st.sampled_from(generated) | st.sampled_from(sorted(files.values()))
    for flag in sorted(set(options) & (FILE_OPTIONS | {"--cdk-out"})):
        if draw(st.booleans()):
            argv += [flag, str(draw(paths))]
    for _ in range(draw(st.integers(0, 4))):
        flag = draw(st.sampled_from(sorted(options)) | st.sampled_from(["--nope", "-x", "--"]))
        argv.append(flag)
        action = options.get(flag)
        if action is None or action.nargs == 0:
            continue
        if flag in FILE_OPTIONS or flag == "--cdk-out":
            argv.append(str(draw(paths)))
        elif flag == "--out":  # written to: never the session's synth
            argv.append(str(draw(st.sampled_from(sorted(set(files.values()) - {files["synth"]})))))
        elif flag in ("-c", "--context"):
            # Malformed only: a well-formed override would synthesize (tests/test_config*.py).
            argv.append(draw(JUNK.filter(lambda text: "=" not in text)))
        elif draw(st.booleans()):
            argv.append(draw(NUMBERS))
        else:
            argv.append(draw(JUNK))
    return argv


@contextlib.contextmanager
def _isolated(tmp: Path, aws_port: int) -> Iterator[None]:
    """Run in ``tmp`` (relative paths land there), AWS at a closed port, no real credentials."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{aws_port}",
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing", AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_CONFIG_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true", COLUMNS="100",
    )  # fmt: skip
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "LAUNCHLAB_CDK", "LAUNCHLAB_DOCKER"):
        os.environ.pop(key, None)
    os.chdir(tmp)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _listening_inodes() -> set[str]:
    """Socket inodes of this process that listen on TCP (state 0A in /proc/net/tcp*)."""
    ours = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                ours.add(target[8:-1])
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                listening.add(fields[9])
    return ours & listening


def _children() -> list[int]:
    me, found = str(os.getpid()), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, synth: Synthesized) -> dict[str, Path]:
    """Paths an option may be given: the session's synth, a copy of the price table, and (per
    example) generated files and a generated cloud assembly."""
    base = tmp_path_factory.mktemp("cli-fuzz")
    prices = base / "prices.yaml"
    shutil.copy(DEFAULT_TABLE, prices)
    return {
        "synth": synth.outdir,
        "prices": prices,
        "generated file": base / "generated.yaml",
        "generated app": base / "generated-app",
        "missing": base / "missing" / "nothing.yaml",
        "a file where a directory belongs": prices,
    }


def _run(argv: list[str], tmp: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        _isolated(tmp, _closed_port()),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:  # --help
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _check(argv: list[str], files: dict[str, Path], data: st.DataObject) -> None:
    files["generated file"].write_bytes(data.draw(FILE_CONTENTS, label="file"))
    app = files["generated app"]
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir()
    (app / "manifest.json").write_text(data.draw(MANIFESTS, label="manifest"))
    listening_before, children_before = _listening_inodes(), set(_children())
    code, out, err = _run(argv, app.parent)
    assert code in (0, 2), (argv, code, out, err)
    assert "Traceback" not in out + err, (argv, err)
    if code == 2:
        assert err.startswith("launchlab: ") and err.count("\n") == 1, (argv, err)
    # (The session's synth may have left jsii's Node.js running in this worker: not ours.)
    assert set(_children()) <= children_before, f"{argv} left a process"
    assert _listening_inodes() <= listening_before, f"{argv} left a listening socket"


def _with_defaults(argv: list[str], files: dict[str, Path]) -> list[str]:
    """Never the project's own cdk.out, price table or reports/: these come first, so a drawn
    value wins."""
    command, *rest = argv
    defaults = {
        "demo": ["--cdk-out", str(files["synth"]), "--reuse", "--out", str(files["missing"])],
        "report": ["--cdk-out", str(files["synth"]), "--prices", str(files["prices"]),
                   "--out", str(files["generated app"])],
        "up": ["--cdk-out", str(files["synth"])],
        "bench": ["--out", str(files["missing"])],
        "drill": ["--out", str(files["missing"])],
    }.get(command, [])  # fmt: skip
    return [command, *defaults, *rest]


def _whole_demo(argv: list[str], files: dict[str, Path]) -> bool:
    """Whether ``argv`` would run the demo's every step: it parses, and its cloud assembly is
    not a generated one (which the demo refuses at once), so it would synthesize or start the
    workloads."""
    try:
        args = cli.build_parser().parse_args(argv)
    except (cli._BadFlag, SystemExit):  # SystemExit: --help, which the run prints
        return False
    return Path(args.cdk_out) != files["generated app"]


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_the_cli_under_generated_input(command: str, files: dict[str, Path]) -> None:
    @settings(
        max_examples=EXAMPLES[command], deadline=None, database=None,
        phases=[Phase.explicit, Phase.generate],  # a failure prints its argv; no slow shrink
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )  # fmt: skip
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        argv = _with_defaults(data.draw(argument_lists(command, files), label="argv"), files)
        if command == "demo" and _whole_demo(argv, files):
            reject()  # tests/test_demo.py runs it; here its refusals and its files' errors
        _check(argv, files, data)

    run()

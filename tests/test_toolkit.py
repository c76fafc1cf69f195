"""The toolkit reads what was synthesized: the templates, never a second copy of the settings."""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from launchlab import assembly, checks, summary
from launchlab.cli import build_parser, main
from launchlab.errors import LaunchlabError
from stacks import launch_types, names
from tests import moto_server as fixtures
from tests.conftest import ROOT, Synthesized, ctrl_c_as_in_a_terminal

local_apps = fixtures.local_apps  # the three real apps on 127.0.0.1, once per worker


def test_load_reads_every_stack(synth: Synthesized) -> None:
    app = assembly.load(synth.outdir)
    assert set(app.templates) == set(names.DEFAULT_STACKS)
    assert len(app.resources(names.REGISTRY_STACK, "AWS::ECR::Repository")) == 2


def test_load_rejects_a_foreign_cdk_out(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(
        json.dumps({"artifacts": {"Other": {"type": "aws:cloudformation:stack"}}})
    )
    with pytest.raises(LaunchlabError, match=r"is not a launchlab app .*LaunchlabNetwork"):
        assembly.load(tmp_path)


def test_load_says_what_to_do_when_nothing_was_synthesized(tmp_path: Path) -> None:
    with pytest.raises(LaunchlabError, match=r"run `\.venv/bin/npx cdk synth -o .*` first"):
        assembly.load(tmp_path / "cdk.out")


def test_stale_when_a_source_is_newer(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    source = root / "stacks" / "a.py"
    source.write_text("x = 1\n")
    outdir = root / "cdk.out"
    assert assembly.is_stale(outdir, root)
    outdir.mkdir()
    manifest = outdir / "manifest.json"
    manifest.write_text("{}")
    os.utime(source, (1_000_000, 1_000_000))
    assert not assembly.is_stale(outdir, root)
    os.utime(source, None)
    os.utime(manifest, (1_000_000, 1_000_000))
    assert assembly.is_stale(outdir, root)


def test_overrides_do_not_outlive_the_run_that_asked_for_them(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "stacks" / "a.py").write_text("x = 1\n")
    outdir = root / "cdk.out"
    outdir.mkdir()
    (outdir / "manifest.json").write_text("{}")
    assert not assembly.is_stale(outdir, root)
    (outdir / assembly.CONTEXT_STAMP).write_text('{"fargateCpu": "1024"}')
    assert assembly.synthesized_with(outdir) == {"fargateCpu": "1024"}
    # Built with -c: a plain run must synthesize again rather than price the override.
    assert assembly.is_stale(outdir, root)
    (outdir / assembly.CONTEXT_STAMP).write_text("{}")
    assert not assembly.is_stale(outdir, root)


def test_summary_follows_the_templates(synth: Synthesized, variant: Synthesized) -> None:
    default = {s.stack_name: s for s in summary.summarise(assembly.load(synth.outdir))}
    changed = {s.stack_name: s for s in summary.summarise(assembly.load(variant.outdir))}
    assert "instances t3.small" in default[names.ECS_EC2_STACK].highlights
    assert "instances t4g.small" in changed[names.ECS_EC2_STACK].highlights
    assert "task 256 cpu / 512 MiB x86_64" in default[names.FARGATE_STACK].highlights
    assert "task 1024 cpu / 2048 MiB arm64" in changed[names.FARGATE_STACK].highlights
    assert "Function URL" in default[names.LAMBDA_STACK].highlights
    assert "HTTP API" in changed[names.LAMBDA_STACK].highlights
    assert default[names.LAMBDA_STACK].launch_type == "lambda"
    assert default[names.NETWORK_STACK].resource_count == len(
        synth.template(names.NETWORK_STACK)["Resources"]
    )


def test_cdk_nag_verdict_on_the_real_app(synth: Synthesized) -> None:
    # The cfn-lint verdict on the same app: tests/test_checks.py::test_cfn_lint_reports_no_error.
    nag = checks.cdk_nag(synth.outdir)
    assert nag.passed and nag.detail.startswith("AwsSolutions: 0 unsuppressed")


def test_check_verdicts_fail_on_a_broken_template(synth: Synthesized, tmp_path: Path) -> None:
    shutil.copytree(synth.outdir, tmp_path / "out")
    broken = tmp_path / "out" / f"{names.LAMBDA_STACK}.template.json"
    for other in (tmp_path / "out").glob("*.template.json"):
        if other != broken:
            other.unlink()  # one template is enough to see the verdict fail, and lints faster
    template = json.loads(broken.read_text())
    template["Resources"]["Broken"] = {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}
    broken.write_text(json.dumps(template))
    lint = checks.cfn_lint(tmp_path / "out")
    assert not lint.passed and "0 errors" not in lint.detail
    (tmp_path / "out" / "validation-report.json").unlink()
    assert not checks.cdk_nag(tmp_path / "out").passed


def test_cli_bad_context_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "-c", "no-equals-sign"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "launchlab: -c takes key=value, got 'no-equals-sign'"


def test_a_corrupt_or_incomplete_cdk_out_is_one_line(
    synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(synth.outdir, tmp_path / "out")
    (tmp_path / "out" / f"{names.FARGATE_STACK}.template.json").unlink()
    with pytest.raises(LaunchlabError, match=r"LaunchlabFargate.template.json is missing"):
        assembly.load(tmp_path / "out")
    (tmp_path / "out" / "manifest.json").write_text("{not json")
    assert main(["report", "--cdk-out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("launchlab: ") and "manifest.json is not valid JSON" in err
    assert "Traceback" not in err


def test_an_unwritable_output_path_is_one_line(
    synth: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--cdk-out", str(synth.outdir), "--out", "/proc/launchlab"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("launchlab: cannot use /proc/launchlab: ")
    assert err.count("\n") == 1


INTERRUPTED_MID_CONSTRUCTION = """
import sys, warnings
from launchlab import cli

class HalfMade:
    def __del__(self):
        raise AttributeError("half-made object collected at exit")

async def never_awaited():
    pass

def handler(args, console):
    global leftovers
    leftovers = [HalfMade(), never_awaited()]
    raise KeyboardInterrupt

parser = cli.build_parser()
cli.build_parser = lambda: parser
parser.set_defaults(handler=handler)
for action in parser._subparsers._group_actions[0].choices.values():
    action.set_defaults(handler=handler)
sys.exit(cli.main(["demo"]))
"""


def test_ctrl_c_anywhere_ends_in_one_line() -> None:
    """Ctrl-C can land inside a constructor (asyncio.run's loop, once, in CI); what half-made
    objects print when collected at exit must not follow the one line."""
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_MID_CONSTRUCTION],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 130
    assert result.stderr == "launchlab: interrupted\n"


# httpx can turn a task's cancellation into a transport error and carry on (encode/httpx#2381);
# in CI a Ctrl-C once left `launchlab demo` loading for minutes. This client does exactly that,
# swallowing every cancellation, so only run_load's own Ctrl-C flag can stop the load.
LOAD_INTERRUPTED = """
import asyncio, os, signal, sys, threading, time
import httpx
from launchlab.load import run_load

real_get = httpx.AsyncClient.get

async def get_that_swallows_cancellation(self, *args, **kwargs):
    try:
        return await real_get(self, *args, **kwargs)
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()
        raise httpx.ConnectError("cancelled") from None

httpx.AsyncClient.get = get_that_swallows_cancellation
threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
started = time.monotonic()
try:
    run_load(sys.argv[1], requests=100000, concurrency=4, seconds=120)
    print("finished the load")
except KeyboardInterrupt:
    restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print(f"interrupted after {time.monotonic() - started:.1f} s, handler restored {restored}")
"""


def test_ctrl_c_stops_the_load_even_when_httpx_swallows_the_cancellation(
    local_apps: dict[str, str],
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_INTERRUPTED, local_apps[names.FARGATE_STACK]],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )  # fmt: skip
    words = result.stdout.split()
    assert words[:2] == ["interrupted", "after"], result.stdout + result.stderr
    assert float(words[2]) < 3
    assert result.stdout.strip().endswith("handler restored True")


# ---- every hint works as printed; bad flags and files are one line -----------------------

PROGRAMS_THE_USER_INSTALLS = {"aws", "docker"}  # the messages say to install or set them up


def _toolkit_messages() -> list[tuple[str, str]]:
    """(where, text) of every string literal in launchlab/ but docstrings; an f-string's
    fields read as {}."""
    found = []
    for path in sorted((ROOT / "launchlab").rglob("*.py")):
        tree = ast.parse(path.read_text())
        skipped = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }  # docstrings, and below the pieces of f-strings (read whole)
        skipped |= {
            id(value)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for value in node.values
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
                text = "".join(str(part) for part in parts)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in skipped:
                    continue
                text = node.value
            else:
                continue
            found.append((f"{path.relative_to(ROOT)}:{node.lineno}", text))
    return found


def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_every_backticked_command_in_a_message_works_as_printed() -> None:
    commands = {
        (where, command)
        for where, text in _toolkit_messages()
        for command in re.findall(r"`([^`]+)`", text)
    }
    assert len(commands) > 20  # the extraction finds the hints at all
    parser = build_parser()
    for where, command in sorted(commands):
        program, *args = command.replace("{}", "x").split()
        if program == ".venv/bin/launchlab":
            assert os.access(ROOT / program, os.X_OK), f"{where}: {program} is not installed"
            if args != ["--help"]:
                parser.parse_args(args)  # a subcommand and flags that exist
        elif program == ".venv/bin/npx":
            assert os.access(ROOT / program, os.X_OK), f"{where}: {program} is not installed"
            assert args[0] == "cdk" and (ROOT / "node_modules" / ".bin" / "cdk").exists()
        elif program == "make":
            assert args[0] in _make_targets(), f"{where}: no `make {args[0]}`"
        else:
            assert program in PROGRAMS_THE_USER_INSTALLS, f"{where}: `{command}` is not ours"


def test_the_console_script_runs_this_project(tmp_path: Path) -> None:
    """.venv/bin/launchlab (the editable install `make setup` makes) and python -m launchlab
    are the same command."""
    for command in (
        [str(ROOT / ".venv" / "bin" / "launchlab")],
        [sys.executable, "-m", "launchlab"],
    ):
        result = subprocess.run(
            [*command, "demo", "--seconds", "0"], cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stderr == (
            "launchlab: argument --seconds: '0' is not a number of seconds in (0, 300]\n"
        )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--requests", "0"], "argument --requests: 0 is not in 1..100000"),
        (["demo", "--concurrency", "257"], "argument --concurrency: 257 is not in 1..256"),
        (["demo", "--seconds", "-5"], "argument --seconds: '-5' is not a number of seconds"),
        (["demo", "--seconds", "nan"], "argument --seconds: 'nan' is not a number of seconds"),
        (["demo", "--seconds", "1e9"], "argument --seconds: '1e9' is not a number of seconds"),
        (["bench", "--requests", "abc"], "argument --requests: invalid int value: 'abc'"),
        (["report", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        ([], "choose a command: demo, up, verify, bench, drill, down, report"),
    ],
)
def test_a_bad_flag_is_one_line_before_anything_starts(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if argv[:1] == ["demo"]:
        argv = [*argv, "--cdk-out", str(tmp_path / "cdk.out"), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"launchlab: {message}") and captured.err.count("\n") == 1
    assert captured.out == ""
    assert not (tmp_path / "cdk.out").exists() and not (tmp_path / "out").exists()


def test_every_command_and_flag_says_what_it_does() -> None:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        assert command.description, f"`launchlab {name} --help` has no description"
        for action in command._actions:
            assert action.help, f"launchlab {name} {action.option_strings}: no help"
    demo_help = commands.choices["demo"].format_help()
    assert "0 < S <= 300" in demo_help and "1..100000" in demo_help
    # The report prices every launch type in the registry, opt-in ones too: its help says so.
    report_help = " ".join(commands.choices["report"].format_help().split())
    for spec in launch_types.REGISTRY:
        assert spec.label in report_help, f"`launchlab report --help` leaves out {spec.label}"


# Each costs 0.03-0.3 s to import (`python -X importtime`). Users start the CLI for every
# command and the tests start it dozens of times, so parsing flags must not import them: only
# the command that runs does. rich too, for --help (a bad flag loads it to print its one line).
HEAVY_MODULES = ("boto3", "botocore", "httpx", "numpy", "matplotlib", "yaml", "asyncio")
START_THE_CLI = """
import contextlib, io, json, sys
from launchlab.cli import main

heavy = set(json.loads(sys.argv[1]))
runs = []
for argv in json.loads(sys.argv[2]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
    loaded = sorted(heavy & {name.partition(".")[0] for name in sys.modules})
    runs.append({"code": code, "out": out.getvalue(), "err": err.getvalue(), "heavy": loaded})
print(json.dumps(runs))
"""


def test_help_and_a_bad_flag_import_nothing_heavy() -> None:
    """A fresh interpreter, as a user's shell starts it: --help, every command's --help and a
    bad flag each leave boto3, botocore, httpx, numpy, matplotlib, PyYAML and asyncio
    unimported, and the helps rich too (one process: what one run loads, the next has)."""
    (commands,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    others = [[name, "--help"] for name in commands.choices if name != "up"]
    helps = [["--help"], ["up", "--help"], *others]
    argvs = [*helps, ["demo", "--requests", "0"]]
    result = subprocess.run(
        [sys.executable, "-c", START_THE_CLI, json.dumps([*HEAVY_MODULES, "rich"]),
         json.dumps(argvs)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    *runs, bad_flag = json.loads(result.stdout)
    top, up = runs[:2]
    for argv, run in zip(helps, runs, strict=True):
        assert (run["code"], run["heavy"]) == (0, []), f"launchlab {' '.join(argv)}: {run}"
    assert bad_flag["heavy"] == ["rich"]
    # The real help, not a stub: argparse's wrapping depends on the terminal, words do not.
    words = " ".join(top["out"].split())
    assert top["code"] == 0 and words.startswith("usage: launchlab [-h] COMMAND ...")
    assert (
        "up deploy every stack (cdk deploy --all), then print the endpoints and the idle cost "
        "an hour" in words
    )
    assert "report what each launch type costs a month and demands of you" in words
    words = " ".join(up["out"].split())
    assert up["code"] == 0 and words.startswith("usage: launchlab up [-h] [--cdk-out DIR]")
    # The description is a sentence: "Deploy ...", not "Cdk deploy ...".
    assert "Deploy every stack (cdk deploy --all), then print" in words
    assert "--cdk-out DIR where to synthesize the app to before deploying" in words
    assert (bad_flag["code"], bad_flag["out"]) == (2, "")
    assert bad_flag["err"] == "launchlab: argument --requests: 0 is not in 1..100000\n"


@pytest.mark.parametrize("command", ["up", "verify", "bench", "down"])
def test_an_aws_profile_that_does_not_exist_is_one_line(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """botocore refuses an AWS_PROFILE it cannot find (ProfileNotFound) while the command
    opens its session, before any request: each AWS command's handler turns that into one
    line and exit 2, not a traceback."""
    for key, value in fixtures.aws_env("http://127.0.0.1:9").items():  # nothing leaves here
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_PROFILE", "launchlab-no-such-profile")
    monkeypatch.setenv("LAUNCHLAB_CDK", str(fixtures.write_fake_cdk(tmp_path)[0]))
    assert main([command]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "launchlab: no AWS profile named 'launchlab-no-such-profile' (AWS_PROFILE): set "
        "AWS_PROFILE to one in ~/.aws/config, or create it with `aws configure --profile "
        "launchlab-no-such-profile`\n"
    )
    assert "Traceback" not in captured.out + captured.err


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("flag", ["--profile", "--prices"])
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x8c\xff binary", "is not text (UTF-8): byte 0x8c at offset 1"),
        (DEEP.encode(), "nests too deeply"),
    ],
)
def test_a_junk_file_is_one_line(
    flag: str, content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(content)
    assert (
        main(["report", flag, str(junk), "--cdk-out", str(tmp_path), "--out", str(tmp_path)]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"launchlab: {junk} {message}") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("[]", "manifest.json is not a synthesized app's manifest (list where an object belongs)"),
        ('{"artifacts": 5}', "manifest.json is not a synthesized app's manifest (int where"),
        (DEEP, "manifest.json is not valid JSON (nested too deeply)"),
    ],
)
def test_a_malformed_manifest_is_one_line(
    manifest: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifest.json").write_text(manifest)
    assert main(["report", "--cdk-out", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"launchlab: {tmp_path}/{message}") and err.count("\n") == 1
    assert f"run `.venv/bin/npx cdk synth -o {tmp_path}` again" in err


@pytest.mark.slow
def test_a_synth_that_fails_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not the CDK CLI's last line ("Subprocess exited with error 1"): the app's exception."""
    code = main(["report", "-c", "ec2InstanceType=zz.huge", "--cdk-out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("launchlab: cdk synth with -c ec2InstanceType=zz.huge failed: ")
    assert "Malformed instance type identifier" in err and "Subprocess exited" not in err


def test_polling_checking_and_loading_a_workload_build_one_tls_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx builds a TLS context per client (certifi's bundle, about 30 ms of CPU each), and
    # wait_ready used to poll a starting workload every 50 ms with a new client per poll.
    import http.server
    import ssl
    import threading

    from launchlab import load, processes, tls, verify

    answered: list[int] = []

    class StartsAfterFivePolls(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answered.append(200 if len(answered) >= 5 else 503)
            self.send_response(answered[-1])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        made.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    tls.context.cache_clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StartsAfterFivePolls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        processes.wait_ready(f"{url}/health", [], seconds=30)
        assert answered == [503] * 5 + [200]
        verify.verify_endpoint("stand-in", url, expected_launch_type="ecs-ec2")
        load.run_load(url, requests=4, concurrency=2, seconds=10)
        assert len(answered) > 6 + 4  # every check and every request reached the server
    finally:
        server.shutdown()
        server.server_close()
        tls.context.cache_clear()
    assert len(made) == 1

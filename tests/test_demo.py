"""`make demo`'s job end to end: the real CLI, the real synth, the real workloads on loopback."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from launchlab import assembly, local
from launchlab.cli import main as cli_main
from launchlab.verify import EndpointReport, verify_endpoint
from tests.conftest import ROOT, Synthesized, ctrl_c_as_in_a_terminal
from tests.test_requirements import runtime_only_environment

SCHEMA = ROOT / "launchlab" / "report" / "schema.json"
# A time in the ops figures: "0.3-2.5 s", "13-100s", "2-4.6m", "80 ms".
DURATION = re.compile(r"\d[\d.,]*(?:-\d[\d.,]*)?\s?(?:ms|s|m|min)\b")
PORT_LINE = re.compile(r"\[2/6\] (?P<label>.+?) on http://127\.0\.0\.1:(?P<port>\d+)")


def _without_durations(line: str) -> str:
    """``line`` with each duration a ``#`` and the columns' padding and rules collapsed (a
    table's columns are as wide as their widest figure)."""
    return re.sub(r"─+", "─", " ".join(DURATION.sub("#", line).split()))


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _as_in_a_terminal() -> None:
    """preexec_fn: the default action for every stop signal, whatever this test process
    inherited (see ctrl_c_as_in_a_terminal), and a process group of its own, as a terminal's
    foreground job has: a signal to the group reaches only the demo."""
    ctrl_c_as_in_a_terminal()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    os.setpgid(0, 0)


def _demo(
    tmp_path: Path, *extra: str, cdk_out: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    # PYTHONFAULTHANDLER: a demo that hangs is sent SIGABRT and prints every thread's stack.
    # No COLUMNS, no terminal: the output is a log's, as in CI.
    env = {**(env or os.environ), "TERM": "dumb", "PYTHONFAULTHANDLER": "1"}
    env.pop("COLUMNS", None)
    cdk_out = cdk_out or tmp_path / "cdk.out"
    return subprocess.Popen(
        [sys.executable, "-m", "launchlab", "demo", "--cdk-out", str(cdk_out),
         "--out", str(tmp_path / "reports"), *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_as_in_a_terminal,
    )  # fmt: skip


@pytest.mark.slow
def test_demo_runs_every_step_and_leaves_nothing_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --reuse with nothing to reuse: the real synth runs. With only what `make demo` installs:
    # every module that requirements-dev.txt alone brings in fails to import.
    process = _demo(
        tmp_path, "--requests", "60", "--concurrency", "4", "--reuse",
        env=runtime_only_environment(),
    )  # fmt: skip
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    assert f"[1/6] synthesized 5 stacks into {tmp_path / 'cdk.out'}" in output
    for step in range(1, 7):
        assert f"[{step}/6]" in output, output
    assert "cdk-nag: AwsSolutions: 0 unsuppressed" in output
    assert "cfn-lint: 5 templates: 0 errors" in output
    # ECS on EC2's group and Fargate's service, in two subnets each (launchlab.reachability).
    assert "network: 2 workload placements: each subnet has a way out ok" in output
    ports = {m["label"]: int(m["port"]) for m in PORT_LINE.finditer(output)}
    assert set(ports) == {
        "ECS on EC2 (node-app)",
        "ECS on Fargate (python-app)",
        "Lambda (python-app)",
    }
    assert all(_refused(port) for port in ports.values()), "a workload is still listening"
    assert "exit codes ecs-ec2 0, fargate 0, lambda 0" in output
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    # Projected costs for all three, and the local figures beside them, labelled as local.
    assert [lt["launch_type"] for lt in report["launch_types"]] == ["ecs-ec2", "fargate", "lambda"]
    assert all(lt["monthly_usd"] > 0 for lt in report["launch_types"])
    assert report["measured"]["measured_where"].startswith("locally (127.0.0.1")
    markdown = (tmp_path / "reports" / "report.md").read_text()
    assert "## Measured locally (127.0.0.1 on this machine, not AWS)" in markdown
    assert "| ecs-ec2 | ECS on EC2 (node-app) | 60 |" in markdown
    # The modelled timelines in the report's ops table take the apps' start measured here, as
    # local; the table itself is printed once, on the report screen.
    assert "measured locally (the stand-ins' start on 127.0.0.1" in output
    assert output.count("scale +1") == 1, output
    ops = {o["launch_type"]: o for o in report["ops"]}
    (init,) = [s for s in ops["lambda"]["cold_start_ms"]["steps"] if "init" in s["what"]]
    assert init["basis"].startswith("measured locally (the stand-ins' start")
    assert 0 < init["low"] <= init["high"] < 60_000
    (start,) = [s for s in ops["fargate"]["deploy_s"]["steps"] if s["what"] == "the app starts"]
    assert start["basis"].startswith("measured locally")
    # It ends with the verdict screen `launchlab report` prints for the same templates (all
    # but the line saying which files that command wrote), each line whole in a log. The demo's
    # ops figures take the stand-ins' start times measured here for the modelled app start, so
    # durations may differ; every other word and figure is the same.
    monkeypatch.delenv("COLUMNS", raising=False)
    capsys.readouterr()
    cli_main(["report", "--cdk-out", str(tmp_path / "cdk.out"), "--out", str(tmp_path / "r")])
    *screen, wrote = capsys.readouterr().out.splitlines()
    assert wrote.startswith("wrote report.md")
    assert screen[2] == "Verdict" and len(screen) > 10
    tail = output.splitlines()[-len(screen) :]
    assert [_without_durations(line) for line in tail] == [_without_durations(x) for x in screen]
    assert report["verdict"]["summary"] in output.splitlines()
    written = ", ".join(str(tmp_path / "reports" / name) for name in report["files"].values())
    assert f"[5/6] report written: {written}, " in output
    # The figures the report prints and the file beside it: each the load this demo ran.
    figures = json.loads((tmp_path / "reports" / "local-figures.json").read_text())
    for measured in (report["measured"], figures):
        assert {name: load["label"] for name, load in measured["launch_types"].items()} == {
            "ecs-ec2": "ECS on EC2 (node-app)",
            "fargate": "ECS on Fargate (python-app)",
            "lambda": "Lambda (python-app)",
        }
        for load in measured["launch_types"].values():
            assert (load["requested"], load["completed"], load["errors"]) == (60, 60, 0)
            assert 0 < load["p50_ms"] <= load["p99_ms"]
        assert sorted(measured["verified"]) == sorted(ports)
        assert all(measured["verified"].values())


def _children(pid: int) -> dict[int, str]:
    """pid -> start time (clock ticks since boot) of each child of ``pid``, from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[1]) == pid:  # fields[0] is the state, [1] the parent, [19] start time
            found[int(stat.parent.name)] = fields[19]
    return found


def _still_running(children: dict[int, str]) -> list[int]:
    """Those of ``children`` still alive (a zombie has exited; a reused pid is someone else)."""
    alive = []
    for pid, started in children.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and fields[19] == started:
            alive.append(pid)
    return alive


# name: (signals, to the process group?, when: after the last line naming the step, exit code,
# last line). Ctrl-C lands in the load step (its workers wind down first); the others at once.
STOPS = {
    # Ctrl-C in a terminal: SIGINT to its foreground process group.
    "ctrl-c": ((signal.SIGINT,), True, "[3/6] Lambda", 130, "launchlab: interrupted"),
    # Ctrl-C twice, 0.05-0.2 s apart: the second lands while the first one's cleanup runs.
    "double ctrl-c": (
        (signal.SIGINT, signal.SIGINT), True, "[3/6] Lambda", 130, "launchlab: interrupted"
    ),
    # `kill PID`, or a CI runner cancelling the job.
    "sigterm": ((signal.SIGTERM,), False, "[2/6] Lambda", 143, "launchlab: stopped by SIGTERM"),
    # The terminal closed: SIGHUP to the whole process group.
    "sighup": ((signal.SIGHUP,), True, "[2/6] Lambda", 129, "launchlab: stopped by SIGHUP"),
    # Nothing of the demo runs after this one: the kernel stops its children (parent-death).
    "sigkill": ((signal.SIGKILL,), False, "[2/6] Lambda", -9, ""),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("stop", list(STOPS))
def test_whatever_stops_the_demo_stops_every_workload(
    tmp_path: Path, synth: Synthesized, stop: str
) -> None:
    signals, to_group, when, exit_code, last_line = STOPS[stop]
    # A long load step, so the signal lands while all three are running; the session's synth
    # is up to date, so --reuse skips straight to the checks and the workloads.
    process = _demo(
        tmp_path, "--requests", "100000", "--concurrency", "2", "--seconds", "120", "--reuse",
        cdk_out=synth.outdir,
    )  # fmt: skip
    assert process.stdout is not None
    ports: list[int] = []
    reused = False
    deadline = time.monotonic() + 120
    for line in process.stdout:
        reused = reused or f"[1/6] reused the 5 stacks in {synth.outdir}" in line
        match = PORT_LINE.search(line)
        if match:
            ports.append(int(match["port"]))
        if when in line or time.monotonic() > deadline:
            break
    assert len(ports) == 3
    assert reused
    children = _children(process.pid)
    assert len(children) == 3, children  # the three workloads, nothing else
    delay = random.uniform(0.05, 0.2)
    for number, signum in enumerate(signals):
        if number:
            time.sleep(delay)
        if to_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # the faulthandler's stacks say where it hangs
        stacks, _ = process.communicate(timeout=30)
        raise AssertionError(f"no exit 60 s after {stop}; its threads:\n{stacks}") from None
    if signals == (signal.SIGKILL,):  # they get SIGTERM as the demo dies and drain as usual
        give_up = time.monotonic() + 20
        while _still_running(children) and time.monotonic() < give_up:
            time.sleep(0.1)
    # Otherwise at once: the demo waited for its workloads, so none may be left for a moment.
    assert _still_running(children) == [], f"a workload outlived the demo ({delay=:.2f} s)"
    assert all(_refused(port) for port in ports), "a workload is still listening"
    assert process.returncode == exit_code, output
    if last_line:
        assert output.strip().splitlines()[-1] == last_line
    assert "Traceback" not in output


def test_workloads_come_from_the_dockerfiles_and_templates(variant: Synthesized) -> None:
    found = {w.launch_type: w for w in local.workloads_from(assembly.load(variant.outdir))}
    # The variant swaps the apps: python on EC2, node on Fargate.
    assert found["ecs-ec2"].app == "python-app"
    assert found["ecs-ec2"].command[1:] == ("-m", "launchlab_app")
    assert found["fargate"].app == "node-app"
    assert found["fargate"].command[1:] == ("src/server.js",)
    assert found["fargate"].env["NODE_ENV"] == "production"
    assert "PATH" not in found["ecs-ec2"].env
    shim = found["lambda"]
    assert shim.command[1:] == ("-m", "launchlab_app.function_url_shim")
    assert shim.env["_HANDLER"] == "launchlab_app.lambda_handler.handler"
    assert shim.label == "Lambda (python-app)"


def test_a_dockerfile_without_exec_form_cmd_is_refused(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nCMD node server.js\n")
    with pytest.raises(local.LaunchlabError, match="exec form"):
        local.image_command(dockerfile)


def _fake_docker(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "docker-calls.jsonl"
    script = tmp_path / "docker"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {ROOT / "tests/fakes/docker.py"} "$@"\n')
    script.chmod(0o755)
    return script, log


def test_docker_mode_without_an_engine_fails_in_one_line_before_synth(tmp_path: Path) -> None:
    docker, log = _fake_docker(tmp_path)
    env = {**os.environ, "LAUNCHLAB_DOCKER": str(docker), "FAKE_DOCKER_LOG": str(log)}
    env["FAKE_DOCKER_NO_ENGINE"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "launchlab", "demo", "--docker",
         "--cdk-out", str(tmp_path / "cdk.out"), "--out", str(tmp_path / "reports")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "launchlab: --docker needs a running Docker engine (Cannot connect to the Docker "
        "daemon. Is it running?): start Docker, or run `.venv/bin/launchlab demo` without --docker"
    )
    assert not (tmp_path / "cdk.out").exists()


def test_docker_mode_runs_the_images_read_only_behind_loopback(
    tmp_path: Path, synth: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker, log = _fake_docker(tmp_path)
    monkeypatch.setenv("LAUNCHLAB_DOCKER", str(docker))
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    workloads = local.in_docker(
        local.workloads_from(assembly.load(synth.outdir)), tmp_path / "logs"
    )
    with local.running_workloads(workloads, tmp_path / "logs") as started:
        for running in started:
            report = verify(running)
            assert report.passed, report.failures()
    assert [r.exit_code for r in started] == [0, 0, 0]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    builds = [c for c in calls if c[0] == "build"]
    assert [c[2] for c in builds] == ["Dockerfile", "Dockerfile", "Dockerfile.lambda"]
    runs = [c for c in calls if c[0] == "run"]
    assert len(runs) == 3
    for run in runs:
        assert {"--read-only", "--rm"} <= set(run)
        assert run[run.index("--tmpfs") + 1] == "/tmp"
        assert run[run.index("--user") + 1] == "10001:10001"
        assert re.fullmatch(r"127\.0\.0\.1:\d+:8080", run[run.index("--publish") + 1])
    # Every container is removed afterwards, even one whose client had to be killed.
    removed = {c[2] for c in calls if c[:2] == ["rm", "--force"]}
    assert removed == {run[run.index("--name") + 1] for run in runs}
    lambda_run = next(r for r in started if r.workload.launch_type == "lambda")
    assert lambda_run.workload.command[1:] == ("-m", "launchlab_app.function_url_shim")


def verify(running: local.Running) -> EndpointReport:
    return verify_endpoint(
        running.workload.label,
        running.url,
        expected_launch_type=running.workload.reported_launch_type,
    )


# Two children that each take a second to exit after SIGTERM; a second Ctrl-C lands while the
# first of them drains. The cleanup must go on (and hurry: what is left is killed at once).
SECOND_CTRL_C = """
import sys, time
from pathlib import Path
from launchlab import processes

slow = "import signal, time; signal.signal(signal.SIGTERM, lambda *a: (time.sleep(1), exit(0)));"
slow += "print('ready', flush=True); time.sleep(60)"
children = []
with processes.stop_signals():
    try:
        for i in range(2):
            log = Path(sys.argv[1]) / f"{i}.log"
            children.append(processes.spawn([sys.executable, "-c", slow], cwd=None, env=None,
                                            stdout=log))
        logs = [Path(sys.argv[1]) / f"{i}.log" for i in range(2)]
        while not all(log.read_text() for log in logs):  # their SIGTERM handlers are in place
            time.sleep(0.05)
        print(*(child.pid for child in children), flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            processes.stop(child)
        print("stopped", *(child.returncode for child in children), flush=True)
"""


def test_a_second_ctrl_c_hurries_the_cleanup_instead_of_cutting_it_short(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SECOND_CTRL_C, str(tmp_path)], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=_as_in_a_terminal,
    )  # fmt: skip
    assert process.stdout is not None
    pids = [int(pid) for pid in process.stdout.readline().split()]
    assert len(pids) == 2
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)  # the first child is draining now: SIGTERM was sent, it exits in 1 s
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    # Both stopped by the cleanup, neither waited for: killed at once after the second Ctrl-C.
    assert output.strip().splitlines()[-1] == "stopped -9 -9", output
    assert process.returncode == 0

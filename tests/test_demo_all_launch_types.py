"""The demo's stand-ins for every launch type (`launchlab demo -c launchTypes=all`): the real
app synthesized with all six, each workload started on loopback as the demo starts it, verified
with the demo's contract checks, put under a short load and stopped with SIGTERM."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from launchlab import assembly, local
from launchlab.verify import verify_endpoint
from stacks import launch_types
from tests.conftest import ROOT, Synthesized

# The load step in a process of its own: asyncio.run would leave this worker's main thread
# without an event loop, and a later test in the same worker (Mangum's) needs one.
LOAD = (
    "import json, sys; from launchlab.load import run_load; "
    "print(json.dumps(run_load(sys.argv[1], requests=40, concurrency=4, seconds=10).as_dict()))"
)


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_every_launch_type_gets_its_stand_in(all_synth: Synthesized) -> None:
    workloads = local.workloads_from(assembly.load(all_synth.outdir))
    assert [w.label for w in workloads] == [
        "ECS on EC2 (node-app)",
        "ECS on Fargate (python-app)",
        "Lambda (python-app)",
        "ECS Managed Instances (python-app)",
        "ECS Express Mode (python-app)",
        "Lambda Managed Instances (python-app)",
    ]
    by_key = {w.launch_type: w for w in workloads}
    # ECS images run their CMD; a function's handler runs behind the Function URL shim: the
    # container image's CMD for Lambda, the .zip's handler from the template for LMI, which
    # also gets the variable Lambda sets only on managed instances.
    shim = ("-m", "launchlab_app.function_url_shim")
    assert by_key["express"].command[1:] == ("-m", "launchlab_app")
    assert by_key["ecs-managed-instances"].command[1:] == ("-m", "launchlab_app")
    assert by_key["lambda"].command[1:] == shim
    assert by_key["lambda-managed-instances"].command[1:] == shim
    lmi = by_key["lambda-managed-instances"].env
    assert lmi["_HANDLER"] == "launchlab_app.lambda_handler.handler"
    assert lmi[local.LAMBDA_MANAGED_INSTANCES_VARIABLE] == "16"
    assert local.LAMBDA_MANAGED_INSTANCES_VARIABLE not in by_key["lambda"].env
    assert {w.launch_type: w.reported_launch_type for w in workloads} == {
        "ecs-ec2": "local",
        "fargate": "local",
        "lambda": "lambda",
        "ecs-managed-instances": "local",
        "express": "local",
        "lambda-managed-instances": "lambda-managed-instances",
    }


@pytest.mark.slow
def test_six_stand_ins_are_verified_loaded_and_stopped(
    all_synth: Synthesized, tmp_path: Path
) -> None:
    workloads = local.workloads_from(assembly.load(all_synth.outdir))
    assert {w.launch_type for w in workloads} == set(launch_types.KEYS)
    with local.running_workloads(workloads, tmp_path / "logs") as started:
        assert len(started) == 6
        for running in started:
            report = verify_endpoint(
                running.workload.label,
                running.url,
                expected_launch_type=running.workload.reported_launch_type,
            )
            assert report.passed, (running.workload.label, report.failures())
            answer = subprocess.run(
                [sys.executable, "-c", LOAD, running.url],
                cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            load = json.loads(answer.stdout)
            assert (load["completed"], load["errors"]) == (40, 0), running.workload.label
    for running in started:
        assert running.exit_code == 0, running.workload.label
        assert _refused(running.port), running.workload.label

"""Session fixtures: the real app, synthesized once per test session (and once more with every
non-default option turned on), read back as CloudFormation templates."""

from __future__ import annotations

import atexit
import fcntl
import gc
import json
import os
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from stacks.toolchain import use_project_node

use_project_node()  # before aws_cdk loads jsii

from launchlab import assembly, kept  # noqa: E402
from stacks import launch_types  # noqa: E402

# `make test` draws the same hypothesis examples every run, so CI is repeatable;
# HYPOTHESIS_PROFILE=explore draws new ones each run (and keeps failures in .hypothesis/).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = ROOT / "cdk.json"
HASH_64 = re.compile(r"[0-9a-f]{64}")
SYNTH_CACHE = "LAUNCHLAB_TEST_SYNTH_CACHE"  # a directory that keeps the session synths

# Every option away from its default at once: one more synth covers every branch of the stacks.
VARIANT_CONTEXT: dict[str, Any] = {
    "owner": "platform-team",
    "natGateways": "1",
    "certificateArn": (
        "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"
    ),
    "containerInsights": "true",
    "imageTag": "v1.2.3",
    "scalingMetric": "requests",
    "scalingTarget": "500",
    "ec2App": "python",
    "ec2InstanceType": "t4g.small",
    "fargateApp": "node",
    "fargateCpu": "1024",
    "fargateMemory": "2048",
    "fargateArchitecture": "arm64",
    # Half the tasks and instances above the on-demand first one on Spot: a capacity provider
    # strategy with a base, a mixed-instances group with Spot draining and rebalancing.
    "fargateSpotShare": "50",
    "ec2SpotShare": "50",
    "lambdaArchitecture": "arm64",
    "lambdaMemory": "1024",
    "lambdaTimeoutSeconds": "20",
    "lambdaReservedConcurrency": "5",
    "lambdaFrontDoor": "http-api",
}


# The opt-in launch types (registry entries not deployed by default), as -c launchTypes=...
OPT_IN = tuple(spec for spec in launch_types.REGISTRY if not spec.default)
OPT_IN_STACKS = tuple(spec.stack_id for spec in OPT_IN)
OPT_IN_KEYS = ",".join(spec.key for spec in OPT_IN)
# Away from the defaults: x86 and burstable capacity, HTTPS, NAT, Container Insights,
# request-count scaling.
OPT_IN_VARIANT: dict[str, Any] = {
    "natGateways": "1",
    "containerInsights": "true",
    "certificateArn": (
        "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-1111-2222-3333-444455556666"
    ),
    "scalingMetric": "requests",
    "scalingTarget": "500",
    "ecsMiApp": "node",
    "ecsMiInstanceType": "t3.small",
    "lmiInstanceType": "m6i.large",
    "lmiMemoryPerVcpu": "4",
}


# The team lead's case (docs/report.md): 1 vCPU / 2 GB everywhere, -c launchTypes=all, two
# zones; ECS on EC2 and ECS Managed Instances each on the smallest type of its default family
# that holds the task (t3.medium, t4g.medium: one task each), room for the peak's three.
TEAM_LEAD_CONTEXT: dict[str, Any] = {
    "launchTypes": "all",
    "availability": "multi-az",
    "ec2InstanceType": "t3.medium",
    "ec2MaxInstances": "4",
    "ecsMiInstanceType": "t4g.medium",
    "ec2TaskCpu": "1024",
    "ec2TaskMemory": "2048",
    "ecsMiTaskCpu": "1024",
    "ecsMiTaskMemory": "2048",
    "fargateCpu": "1024",
    "fargateMemory": "2048",
    "expressCpu": "1024",
    "expressMemory": "2048",
    "lambdaMemory": "2048",
}


def pytest_configure(config: pytest.Config) -> None:
    """What cfn-lint and checkov printed is kept between sessions by the content they read
    (launchlab.kept), in pytest's cache directory: a warm run lints only what changed, and
    `pytest --cache-clear` (or a clean checkout, as CI has) lints everything. Set in the
    environment, so that every xdist worker and `launchlab demo` subprocess keeps it there too."""
    cache = getattr(config, "cache", None)
    name = "launchlab-verdicts"
    where = cache.mkdir(name) if cache else ROOT / ".pytest_cache" / "d" / name
    os.environ[kept.CACHE_DIR_ENV] = str(where)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (a synth, a CLI run, a scan: seconds each) run first. Under
    xdist's worksteal the quick ones then fill in around them, and no worker is left running a
    long test alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable sort


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (aws_cdk's, moto's, hypothesis's and schemathesis's modules:
    about 250,000 objects in a worker) lives until the process ends. Out of the garbage
    collector's sight (gc.freeze), the full collections during the tests stop walking it."""
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Back in sight for pytest's last collection (after this hook): a cycle frozen there,
    garbage already or dropped by a test, is finalized, and what its finalizer raises or
    warns is still reported.

    Frozen again at exit, once pytest is done (atexit runs after it returns): the interpreter's
    own teardown then skips what only the garbage collector could free (every cycle: modules'
    globals, classes, pytest's session), leaving its memory to the OS, rather than walk and
    free it object by object, which took each xdist worker 3-4 s and the run as long (xdist
    waits for its slowest worker to exit). Python never promised to finalize what is alive at
    exit (the data model's note on __del__); what it costs is a file left open where only a
    cycle reaches it (a module's globals): its buffer is never written. Every write here
    closes its file."""
    gc.unfreeze()
    atexit.unregister(gc.freeze)  # once, however many sessions this process runs
    atexit.register(gc.freeze)


def ctrl_c_as_in_a_terminal() -> None:
    """preexec_fn for a child that is sent Ctrl-C: SIGINT's default action, whatever this test
    process inherited (a background job of a non-interactive shell, e.g. `make test &`, starts
    with SIGINT ignored, and so would every child it starts)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context (config defaults and feature flags) with ``overrides`` on top."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return {**context, **overrides}


class Synthesized:
    """A synthesized cloud assembly: its directory and each stack's template."""

    def __init__(self, outdir: Path, templates: dict[str, dict[str, Any]]) -> None:
        self.outdir = outdir
        self.templates = templates

    def template(self, stack_name: str) -> dict[str, Any]:
        return self.templates[stack_name]

    def resources(self, stack_name: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[stack_name]["Resources"].items()
            if resource["Type"] == resource_type
        }

    def only(self, stack_name: str, resource_type: str) -> dict[str, Any]:
        found = list(self.resources(stack_name, resource_type).values())
        assert len(found) == 1, f"{stack_name}: expected one {resource_type}, found {len(found)}"
        return found[0]


def _synthesize(
    outdir: Path, context: dict[str, Any], *, builtin_validation: bool = False
) -> Synthesized:
    # Imported here: a test session that synthesizes nothing never starts jsii's Node.js.
    from stacks.launchlab_app import create_app

    app, stacks = create_app(
        context=context, outdir=str(outdir), builtin_validation=builtin_validation
    )
    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    assert sorted(templates) == sorted(stack.stack_name for stack in stacks.all())
    return Synthesized(outdir, templates)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app as `cdk synth` builds it from cdk.json's defaults, plus CDK's built-in
    CloudFormation validation (off in the app itself for speed; see create_app)."""
    return _shared(tmp_path_factory, "cdk.out", cdk_context(), builtin_validation=True)


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with every non-default option set (see VARIANT_CONTEXT)."""
    return _shared(tmp_path_factory, "cdk.out.variant", cdk_context(**VARIANT_CONTEXT))


@pytest.fixture(scope="session")
def opt_in_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with only the opt-in launch types, at cdk.json's defaults."""
    return _shared(tmp_path_factory, "cdk.out.opt-in", cdk_context(launchTypes=OPT_IN_KEYS))


@pytest.fixture(scope="session")
def opt_in_variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The opt-in launch types away from their defaults (see OPT_IN_VARIANT)."""
    return _shared(
        tmp_path_factory,
        "cdk.out.opt-in-variant",
        cdk_context(**OPT_IN_VARIANT, launchTypes=OPT_IN_KEYS),
    )


@pytest.fixture(scope="session")
def all_synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """All six launch types side by side (-c launchTypes=all), at cdk.json's defaults."""
    return _shared(tmp_path_factory, "cdk.out.all", cdk_context(launchTypes="all"))


# Lambda Managed Instances alone (the launch type that runs in private subnets) with each
# egress other than cdk.json's NAT instance.
EGRESS_VARIANTS = {
    kind: {"launchTypes": "lambda-managed-instances", "egress": kind}
    for kind in ("nat-gateway", "endpoints")
}


@pytest.fixture(scope="session")
def egress_nat_gateway(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = cdk_context(**EGRESS_VARIANTS["nat-gateway"])
    return _shared(tmp_path_factory, "cdk.out.egress-nat-gateway", context)


@pytest.fixture(scope="session")
def egress_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = cdk_context(**EGRESS_VARIANTS["endpoints"])
    return _shared(tmp_path_factory, "cdk.out.egress-endpoints", context)


@pytest.fixture(scope="session")
def team_lead(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The six launch types as the team lead's case configures them (TEAM_LEAD_CONTEXT)."""
    return _shared(tmp_path_factory, "cdk.out.team-lead", cdk_context(**TEAM_LEAD_CONTEXT))


def _shared(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    context: dict[str, Any],
    *,
    builtin_validation: bool = False,
    synthesize: Callable[[Path, dict[str, Any]], Synthesized] | None = None,
) -> Synthesized:
    """Synthesized once per test run, even with xdist: the first worker to get here builds
    it into a directory all workers share (the session's base temp's parent), the others wait
    for it under a file lock and read the templates back. ``synthesize`` builds another app
    than launchlab's own into that directory."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base temp sits in the run's own directory; without it the
    # base temp is the run's directory (its parent is shared by every run: not that).
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    # `make mutate` runs a pytest session per mutant; for mutants of code the synth does not
    # run (the toolkit), every session reads one synth kept here instead of making its own.
    if os.environ.get(SYNTH_CACHE):
        shared = Path(os.environ[SYNTH_CACHE])
        shared.mkdir(parents=True, exist_ok=True)
    outdir = shared / name
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (outdir / "manifest.json").exists() and synthesize is not None:
            return Synthesized(
                outdir,
                {
                    path.name.removesuffix(".template.json"): json.loads(path.read_text())
                    for path in outdir.glob("*.template.json")
                },
            )
        if (outdir / "manifest.json").exists():
            return Synthesized(outdir, dict(assembly.load(outdir).templates))
        if synthesize is not None:
            return synthesize(outdir, context)
        return _synthesize(outdir, context, builtin_validation=builtin_validation)


def normalise(value: Any) -> Any:
    """Replace every 64-hex asset hash so service code edits do not churn the snapshots."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        return HASH_64.sub("<asset-hash>", value)
    return value


def walk(value: Any) -> Iterator[Any]:
    """Every nested value of a template fragment, depth first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)

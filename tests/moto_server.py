"""moto in server mode on 127.0.0.1, and the synthesized app deployed into it.

What moto 5.2.5's CloudFormation does with our templates, resource type by type, is pinned in
test_aws_deploy_verify.py; this module only removes what cannot run here, and says why next to it.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import functools
import io
import itertools
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session
import httpx
import pytest
import yaml
from moto.server import ThreadedMotoServer

from launchlab.aws.costs import hourly_prices
from launchlab.aws.sandbox import Sandbox
from launchlab.local import start_stand_in
from launchlab.processes import free_port
from stacks import launch_types, names

if TYPE_CHECKING:
    from tests.conftest import Synthesized

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
DEPLOY_ORDER = names.DEFAULT_STACKS  # network, registry, then the three that import from them

# Custom resources run their provider Lambda in Docker under moto (none here), and
# AWS::Lambda::Url has no CloudFormation model in moto: an output that reads its FunctionUrl
# makes create_stack answer HTTP 500. Everything else in the templates is left in.
REMOVED_TYPES_PREFIX = "Custom::"
REMOVED_TYPES = {"AWS::Lambda::Url"}


class MotoServer:
    def __init__(self) -> None:
        deletes_stacks_as_aws_does()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()


def _imports_of(template: Any) -> Iterable[str]:
    """The export names a template reads with Fn::ImportValue."""
    if isinstance(template, dict):
        name = template.get("Fn::ImportValue")
        if isinstance(name, str):
            yield name
        for value in template.values():
            yield from _imports_of(value)
    elif isinstance(template, list):
        for value in template:
            yield from _imports_of(value)


# Stack name -> what keeps its deletion from completing in this process's moto (a reason), or
# None once nothing does: how a test gives a stand-in stack the stuck deletion AWS reports for
# the real one (ECS on EC2's group held by its lifecycle hook, say), which moto cannot make.
STUCK: dict[str, Callable[[], str | None]] = {}


@functools.cache
def deletes_stacks_as_aws_does() -> None:
    """moto 5.2.5's CloudFormation, in this process, where it departs from AWS on the paths
    `launchlab down` takes (every moto server of this module runs in this process):

    - DeleteStack of a stack whose resource moto cannot delete (a VPC with a subnet made
      outside the stack) answered the resource's error (DependencyViolation) and lost the stack:
      it was in neither DescribeStacks nor ListStacks, its exports stayed. On AWS "once the call
      completes successfully, stack deletion starts" (CloudFormation API reference,
      DeleteStack), and a stack whose resource cannot go ends DELETE_FAILED, still listed, with
      the resource's error in its events. Here the stack stays, DELETE_FAILED, the error in a
      DELETE_FAILED event.
    - DeleteStack of a stack whose export another stack imports: moto deleted it and its
      exports. AWS refuses, "Export <name> cannot be deleted as it is in use by <stack>".
    - ListImports: not implemented (HTTP 500). Here it names the stacks whose templates read
      the export with Fn::ImportValue, or answers AWS's ValidationError "Export '<name>' is
      not imported by any stack." when none does.
    - A stack named in STUCK fails to delete while its callable gives a reason, as above.
    """
    from moto.cloudformation import exceptions, models, responses
    from moto.core.responses import ActionResult

    def importers(backend: Any, export_name: str) -> list[str]:
        return sorted(
            stack.name
            for stack in backend.stacks.values()
            if export_name in set(_imports_of(stack.template_dict))
        )

    delete = models.CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        stack = next(
            (s for s in self.stacks.values() if name_or_stack_id in (s.name, s.stack_id)), None
        )
        if stack is None:
            delete(self, name_or_stack_id)
            return
        for export in stack.exports:
            users = [name for name in importers(self, export.name) if name != stack.name]
            if users:
                raise exceptions.ValidationError(
                    message=f"Export {export.name} cannot be deleted as it is in use by {users[0]}"
                )
        stuck = STUCK.get(stack.name)
        reason = stuck() if stuck else None
        if reason is not None:
            stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
        try:
            if reason is None:
                delete(self, stack.stack_id)
        except Exception as error:  # what moto's resource deletion raised, as AWS reports it
            self.stacks[stack.stack_id] = stack
            reason = str(getattr(error, "message", "") or error)
        if reason is not None:
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)

    def list_imports(self: Any) -> ActionResult:
        name = self._get_param("ExportName")
        found = importers(self.cloudformation_backend, name)
        if not found:
            raise exceptions.ValidationError(
                message=f"Export '{name}' is not imported by any stack."
            )
        return ActionResult({"Imports": found})

    models.CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
    setattr(responses.CloudFormationResponse, "list_imports", list_imports)  # noqa: B010


def aws_env(moto_url: str, region: str = REGION) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        # No credential or config file of the machine's user may leak into a test.
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@dataclass
class Deployed:
    stacks: dict[str, dict[str, str]]  # stack -> outputs
    removed: dict[str, list[str]] = field(default_factory=dict)  # stack -> "LogicalId (Type)"


def prepare(
    template: Mapping[str, Any], endpoint_url: str | None
) -> tuple[dict[str, Any], list[str]]:
    """The template moto can create: unsupported resources out (with every DependsOn on them),
    and EndpointUrl pointing at an app on 127.0.0.1 instead of an ALB or URL nobody can reach."""
    prepared = copy.deepcopy(dict(template))
    resources: dict[str, Any] = prepared["Resources"]
    gone = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"].startswith(REMOVED_TYPES_PREFIX) or resource["Type"] in REMOVED_TYPES
    ]
    removed = [f"{logical_id} ({resources[logical_id]['Type']})" for logical_id in gone]
    for logical_id in gone:
        del resources[logical_id]
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list):
            resource["DependsOn"] = [d for d in depends if d not in gone]
        elif depends in gone:
            del resource["DependsOn"]
    # The services leave DesiredCount to their scalable target's MinCapacity (CloudFormation
    # starts a new service at 1, then the target holds it at its floor). moto skips
    # AWS::ApplicationAutoScaling::* and would start it at 0, so write the floor in.
    floors = [
        resource["Properties"]["MinCapacity"]
        for resource in resources.values()
        if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    ]
    for resource in resources.values():
        if resource["Type"] == "AWS::ECS::Service" and floors:
            resource["Properties"].setdefault("DesiredCount", floors[0])
    if endpoint_url is not None:
        prepared["Outputs"]["EndpointUrl"]["Value"] = endpoint_url
    return prepared, removed


def stage_file_assets(outdir: Path) -> None:
    """Upload the zipped file assets (custom resource handlers) where `cdk deploy` would."""
    s3 = boto3.client("s3")
    account = boto3.client("sts").get_caller_identity()["Account"]
    bucket = f"cdk-hnb659fds-assets-{account}-{REGION}"
    s3.create_bucket(Bucket=bucket)
    for manifest in outdir.glob("*.assets.json"):
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            source = outdir / asset["source"]["path"]
            if asset["source"].get("packaging") != "zip" or not source.is_dir():
                continue
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for file in sorted(source.rglob("*")):
                    if file.is_file():
                        archive.write(file, file.relative_to(source))
            for destination in asset["destinations"].values():
                s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=buffer.getvalue())


class _JsonFirst:
    """PyYAML as moto's CloudFormation sees it, except that a template that is JSON is read
    as JSON: moto tries YAML first, with PyYAML's pure-Python loader, and JSON only when that
    fails. Ours are JSON (cdk synth writes JSON), which json reads in a small fraction of the
    time, into the same values (JSON is YAML too)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(yaml, name)

    @staticmethod
    def load(stream: Any, Loader: Any) -> Any:
        if isinstance(stream, str) and stream.lstrip().startswith("{"):
            with contextlib.suppress(ValueError):
                return json.loads(stream)
        return yaml.load(stream, Loader=Loader)


@functools.cache
def read_templates_as_json() -> None:
    """From now on moto's CloudFormation in this process reads JSON templates with json (see
    _JsonFirst); deploy_app, where the synthesized templates go, turns it on."""
    from moto.cloudformation import models, responses

    for module in (models, responses):
        setattr(module, "yaml", _JsonFirst())  # noqa: B010 (moto's own module, not ours)


def deploy_app(
    templates: Mapping[str, Mapping[str, Any]],
    outdir: Path,
    endpoint_urls: Mapping[str, str],
    only: Iterable[str] = DEPLOY_ORDER,
    replace: Mapping[str, str] | None = None,
) -> Deployed:
    """create_stack for each template in moto, in dependency order; every stack must complete."""
    read_templates_as_json()
    boto3.client("ssm").put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String"
    )
    stage_file_assets(outdir)
    cloudformation = boto3.client("cloudformation")
    deployed = Deployed(stacks={})
    for name in only:
        body, removed = prepare(templates[name], endpoint_urls.get(name))
        text = json.dumps(body)
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=text,
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", (name, stack)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        deployed.stacks[name] = outputs
        deployed.removed[name] = removed
    return deployed


# ---- stand-ins of every stack, for `launchlab down` ------------------------------------------
#
# moto cannot create the opt-in launch types' resources (Express services, capacity providers),
# so `down` is rehearsed on stand-ins: each stack of the registry under its real name and tags,
# importing exactly the exports its synthesized template imports, from stand-ins of the network
# (a tagged VPC and subnet) and registry that export them.


def real_imports(*apps: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """stack -> the export names its synthesized template imports, over every app given."""
    found: dict[str, set[str]] = {}
    for templates in apps:
        for name, template in templates.items():
            found.setdefault(name, set()).update(_imports_of(template))
    return {name: sorted(imports) for name, imports in found.items()}


def stand_in_templates(imports: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
    """A template per stack in ``imports``, network and registry first (deploy order)."""
    exported = {name for names_ in imports.values() for name in names_}
    network = sorted(e for e in exported if e.startswith(f"{names.NETWORK_STACK}:"))
    registry = sorted(e for e in exported if e.startswith(f"{names.REGISTRY_STACK}:"))
    tags = [{"Key": names.TAG_PROJECT, "Value": names.PROJECT}]
    templates: dict[str, dict[str, Any]] = {
        names.NETWORK_STACK: {
            "Resources": {
                "Vpc": {"Type": "AWS::EC2::VPC",
                        "Properties": {"CidrBlock": "10.0.0.0/16", "Tags": tags}},
                "Subnet": {"Type": "AWS::EC2::Subnet",
                           "Properties": {"CidrBlock": "10.0.1.0/24", "VpcId": {"Ref": "Vpc"},
                                          "AvailabilityZone": f"{REGION}a"}},
            },
            "Outputs": {
                f"Out{n}": {"Value": {"Ref": "Subnet" if "Subnet" in export else "Vpc"},
                            "Export": {"Name": export}}
                for n, export in enumerate(network)
            },
        },
        names.REGISTRY_STACK: {
            "Resources": {"Repositories": {"Type": "AWS::SSM::Parameter", "Properties": {
                "Name": "/launchlab-stand-in/registry", "Type": "String", "Value": "ecr"}}},
            "Outputs": {
                f"Out{n}": {"Value": f"arn:aws:ecr:{REGION}:123456789012:repository/x{n}",
                            "Export": {"Name": export}}
                for n, export in enumerate(registry)
            },
        },
    }  # fmt: skip
    for stack, imported in imports.items():
        if stack in names.SHARED_STACKS:
            continue
        resources: dict[str, Any] = {}
        for n, export in enumerate(imported):
            resources[f"Reads{n}"] = {"Type": "AWS::SSM::Parameter", "Properties": {
                "Name": f"/launchlab-stand-in/{stack}/{n}", "Type": "String",
                "Value": {"Fn::ImportValue": export}}}  # fmt: skip
        resources["Handle"] = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
        templates[stack] = {"Resources": resources}
    return templates


def deploy_stand_ins(
    templates: Mapping[str, Mapping[str, Any]], cloudformation: Any | None = None
) -> dict[str, str]:
    """create_stack for each stand-in, with the tags the app gives its stacks; name -> id."""
    cloudformation = cloudformation or boto3.client("cloudformation")
    ids = {}
    for name, template in templates.items():
        spec = launch_types.BY_STACK.get(name)
        tags = [
            {"Key": names.TAG_PROJECT, "Value": names.PROJECT},
            {"Key": names.TAG_LAUNCH_TYPE, "Value": spec.key if spec else names.LAUNCH_TYPE_SHARED},
        ]
        answer = cloudformation.create_stack(
            StackName=name, TemplateBody=json.dumps(template), Tags=tags
        )
        ids[name] = str(answer["StackId"])
    return ids


FAKE_CDK = '''#!{python}
"""A stand-in for the CDK CLI: records its arguments, writes an outputs file when asked."""
import json, os, sys
with open({record!r}) if os.path.exists({record!r}) else open(os.devnull) as done:
    call = len(done.readlines())
with open({record!r}, "a") as record:
    record.write(json.dumps({{"args": sys.argv[1:], "region": os.environ.get("AWS_REGION")}}))
    record.write("\\n")
args = sys.argv[1:]
if "--outputs-file" in args and os.environ.get("FAKE_CDK_OUTPUTS"):
    with open(args[args.index("--outputs-file") + 1], "w") as out:
        out.write(os.environ["FAKE_CDK_OUTPUTS"])
print("fake cdk " + " ".join(args))
# FAKE_CDK_EXIT: one exit code for every call, or one per call ("1,0": fail, then succeed).
codes = os.environ.get("FAKE_CDK_EXIT", "0").split(",")
sys.exit(int(codes[min(call, len(codes) - 1)]))
'''


def write_fake_cdk(directory: Path) -> tuple[Path, Path]:
    """An executable `cdk` for LAUNCHLAB_CDK, and the file each call's arguments go to."""
    record = directory / "cdk-calls.jsonl"
    script = directory / "cdk"
    script.write_text(FAKE_CDK.format(python=sys.executable, record=str(record)))
    script.chmod(0o755)
    return script, record


def calls(record: Path) -> list[list[str]]:
    """The arguments of each call to the fake cdk."""
    return [call["args"] for call in _records(record)]


def call_regions(record: Path) -> list[str | None]:
    """The AWS_REGION each call to the fake cdk ran with."""
    return [call["region"] for call in _records(record)]


def _records(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


# ---- fixtures (imported by the test_aws_* modules) ---------------------------------------


@pytest.fixture(scope="session")
def moto_server() -> Iterable[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A clean moto account of this test's own, and an environment where boto3 can reach
    nothing else. A new account rather than a reset: moto keeps accounts apart, and a reset
    would wipe what this process built once for many tests (deployed_app, the down world)."""
    _accounts_made[0] += 1
    if _accounts_made[0] > RESET_AFTER:
        moto_server.reset()  # memory; what is built once checks for itself and builds again
        _accounts_made[0] = 1
    use_env(monkeypatch, moto_server.url, new_account_id())
    return moto_server


_accounts_made = [0]


def use_env(monkeypatch: pytest.MonkeyPatch, url: str, account_id: str) -> None:
    """Every boto3 client made from now on in this test, the toolkit's too, acts in
    ``account_id`` on the moto server at ``url``."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "LAUNCHLAB_CDK"):
        monkeypatch.delenv(key, raising=False)
    for key, value in aws_env(url).items():
        monkeypatch.setenv(key, value)
    # moto's in-process server (ThreadedMotoServer) reads this for every request, before the
    # credentials; the CLI's own sessions cannot carry ACCOUNT_HEADER.
    monkeypatch.setenv("MOTO_ACCOUNT_ID", account_id)
    # ECS services created from now on report this many running tasks (moto's knob).
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    # No catalogue of public AMIs: moto loads it into every region's EC2 on first use in each
    # account (about 1.5 s of CPU a test); a test that needs an image registers one.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps at 80 columns when not on a terminal
    # Each command opens a boto3 session of its own, which parses every service model it uses
    # again (EC2's alone is 0.6 s of CPU); in tests they share one loader and parse it once.
    monkeypatch.setattr(botocore.session, "create_loader", _shared_loader)


def current_account() -> str:
    """The account the running test acts in (see use_env)."""
    return os.environ["MOTO_ACCOUNT_ID"]


class _PathsOnce(list[str]):
    """boto3 appends its data directory to the loader of every session it opens."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader(search_path_string)
    loader._search_paths = _PathsOnce(loader.search_paths)
    return loader


def an_image(architecture: str = "x86_64") -> str:
    """An AMI to launch instances from, registered in the current moto account and region."""
    ec2 = boto3.client("ec2")
    image = ec2.register_image(
        Name=f"launchlab-test-{architecture}", Architecture=architecture,
        RootDeviceName="/dev/xvda",
    )  # fmt: skip
    return str(image["ImageId"])


def start_apps(log_dir: Path) -> dict[str, Any]:
    """The three workloads on 127.0.0.1, each told (as ECS and Lambda tell it) where it runs."""
    return {
        names.ECS_EC2_STACK: start_stand_in("node", log_dir, AWS_EXECUTION_ENV="AWS_ECS_EC2"),
        names.FARGATE_STACK: start_stand_in("python", log_dir, AWS_EXECUTION_ENV="AWS_ECS_FARGATE"),
        names.LAMBDA_STACK: start_stand_in("lambda", log_dir),
    }


@pytest.fixture(scope="session")
def local_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterable[dict[str, str]]:
    servers = start_apps(tmp_path_factory.mktemp("apps"))
    yield {stack: server.url for stack, server in servers.items()}
    for server in servers.values():
        server.stop()


# ---- the default app deployed once per process, for the tests that only read it ------------
#
# A deploy is about 1 s of CPU; verify, bench, the CloudWatch read and down's scan only read
# what it made, so they share one (a test that changes what is deployed, or needs it made
# differently, deploys its own under `aws`). Each lives in an account of its own, which no
# other test acts in; a test that reads it acts in that account (use_env).

# Stands for an endpoint that is down: nothing listens on the discard port.
DOWN_URL = "http://127.0.0.1:9"


@dataclass
class _Shared:
    account: str
    deployed: Deployed | None = None


_shared_deployments: dict[tuple[str, tuple[tuple[str, str], ...]], _Shared] = {}


def use_shared_deployment(
    monkeypatch: pytest.MonkeyPatch,
    moto_server: MotoServer,
    synth: Synthesized,
    endpoint_urls: Mapping[str, str],
) -> Deployed:
    """The default app with these endpoint URLs, deployed once per process; the calling test
    acts in its account from now on and must only read it."""
    key = (str(synth.outdir), tuple(sorted(endpoint_urls.items())))
    shared = _shared_deployments.setdefault(key, _Shared(new_account_id()))
    use_env(monkeypatch, moto_server.url, shared.account)
    # The aws fixture resets moto now and then (RESET_AFTER), which takes this with it.
    present = {s["StackName"] for s in boto3.client("cloudformation").describe_stacks()["Stacks"]}
    if shared.deployed is None or not set(shared.deployed.stacks) <= present:
        shared.deployed = deploy_app(synth.templates, synth.outdir, endpoint_urls)
    return shared.deployed


@pytest.fixture
def deployed_app(
    moto_server: MotoServer,
    synth: Synthesized,
    local_apps: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Deployed:
    """The default app deployed in moto, each endpoint URL leading to its workload on
    127.0.0.1 (local_apps); shared: read it, never change it."""
    return use_shared_deployment(monkeypatch, moto_server, synth, local_apps)


@pytest.fixture
def miswired_app(
    moto_server: MotoServer,
    synth: Synthesized,
    local_apps: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Deployed:
    """The default app deployed in moto with Fargate's URL leading to the EC2 workload (the
    wrong launch type) and Lambda's to nothing (DOWN_URL); shared: read it, never change it."""
    urls = {
        names.ECS_EC2_STACK: local_apps[names.ECS_EC2_STACK],
        names.FARGATE_STACK: local_apps[names.ECS_EC2_STACK],
        names.LAMBDA_STACK: DOWN_URL,
    }
    return use_shared_deployment(monkeypatch, moto_server, synth, urls)


# ---- one account per test on a long-lived server (the fast `down` tests, `make mutate`) ------
#
# `make mutate` runs a pytest session per mutant, two at a time, some 1,600 of them for
# launchlab/aws/down.py: starting moto and building boto3 clients in each would cost more than
# the tests. So tests/mutate.py starts moto servers (processes of their own, one per worker)
# for the whole run and names them in MOTO_URLS; a session claims one that no other session
# holds. Each test gets an account of its own on it (moto keeps every account apart; the
# account is named in a header of each request), so no test sees another's leftovers and none
# needs a reset; a server is reset once RESET_AFTER accounts have filled it. The clients are
# made once per process (tests/mutate.py makes them in its fork server: prime_clients).

MOTO_URLS = "LAUNCHLAB_TEST_MOTO_URLS"  # comma-separated, set by tests/mutate.py
ACCOUNT_HEADER = "x-moto-account-id"  # moto 5's per-request account (moto/core/responses.py)
RESET_AFTER = 200  # accounts; each holds some MiB of the server's memory once EC2 is asked
# What `launchlab down` and its tests ask.
DOWN_SERVICES = (
    "acm", "autoscaling", "cloudformation", "cloudwatch", "ec2", "ecr", "ecs", "elbv2", "logs",
    "resourcegroupstaggingapi", "sts",
)  # fmt: skip

# What the tests answer with a Stubber besides those (offline_client).
STUBBED_SERVICES = ("iam", "service-quotas")

_account = [ACCOUNT]  # the account of the test running in this process
_ids = itertools.count(1)
_shared_session: list[boto3.Session] = []


def _session() -> boto3.Session:
    """One boto3 session per process: it loads each service's model once for all tests."""
    if not _shared_session:
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )

        def name_the_account(request: Any, **_: Any) -> None:
            request.headers[ACCOUNT_HEADER] = _account[0]

        session.events.register("before-sign", name_the_account)
        _shared_session.append(session)
    return _shared_session[0]


_clients: dict[tuple[str, str, str], Any] = {}


def account_client(service: str, region: str, url: str) -> Any:
    """A client of the moto server at ``url`` that acts in the current test's account."""
    key = (service, region, url)
    if key not in _clients:
        _clients[key] = _session().client(service, region_name=region, endpoint_url=url)
    return _clients[key]


def offline_client(service: str, region: str = REGION) -> Any:
    """A client for a botocore Stubber to answer (it never reaches a server: the Stubber
    answers before a request is signed), made from the shared session: every service model
    is parsed once per process (EC2's alone is 0.4 s), not once per test."""
    return _session().client(service, region_name=region)


class OfflineSandbox(Sandbox):
    """A sandbox whose clients are the given ones, by service name: offline_client()s a
    Stubber answers, or fakes."""

    def __init__(self, clients: Mapping[str, Any]) -> None:
        super().__init__(session=boto3.Session(region_name=REGION), region=REGION)
        object.__setattr__(self, "clients", clients)

    def client(self, service: str) -> Any:
        return self.__dict__["clients"][service]


def prime_clients() -> None:
    """Make every client the `down` tests use, for each server `make mutate` started, and
    parse the models of those the Stubber tests use."""
    for url in filter(None, os.environ.get(MOTO_URLS, "").split(",")):
        for service in DOWN_SERVICES:
            account_client(service, REGION, url)
    for service in STUBBED_SERVICES:
        offline_client(service)
    hourly_prices(REGION)  # the price table, read once


@dataclass(frozen=True)
class MotoSandbox(Sandbox):
    """launchlab's Sandbox whose clients are the shared ones of this process."""

    url: str = ""

    def client(self, service: str) -> Any:
        return account_client(service, self.region, self.url)


class PartlyStubbed(Sandbox):
    """A sandbox whose clients are ``moto``'s but for the services in ``stubbed`` (clients a
    botocore Stubber answers, for what moto cannot do)."""

    def __init__(self, moto: Sandbox, stubbed: Mapping[str, Any]) -> None:
        super().__init__(session=moto.session, region=moto.region)
        object.__setattr__(self, "moto", moto)
        object.__setattr__(self, "stubbed", dict(stubbed))

    def client(self, service: str) -> Any:
        stubbed: dict[str, Any] = self.__dict__["stubbed"]
        return stubbed[service] if service in stubbed else self.__dict__["moto"].client(service)


@dataclass(frozen=True)
class Account:
    """A fresh moto account: nothing in it but what moto makes for every account."""

    id: str
    url: str

    def client(self, service: str, region: str = REGION) -> Any:
        return account_client(service, region, self.url)

    def sandbox(self, region: str = REGION) -> MotoSandbox:
        return MotoSandbox(_session(), region, self.url)


@dataclass
class Claim:
    """A moto server this session alone uses, and what earlier sessions left in it for later
    ones (``worlds``: resources built once and only read, by name)."""

    url: str
    worlds: dict[str, Any] = field(default_factory=dict)


def claim_file(url: str) -> Path:
    """Where the sessions of one `make mutate` run lock the server at ``url`` and note what
    it holds; tests/mutate.py removes it before the server starts (a port may come again)."""
    return Path(tempfile.gettempdir()) / f"launchlab-moto-{url.rsplit(':', 1)[1]}.json"


@pytest.fixture(scope="session")
def moto_claim() -> Iterable[Claim]:
    """One of MOTO_URLS that no other session holds, or a server of this session's own."""
    urls = list(filter(None, os.environ.get(MOTO_URLS, "").split(",")))
    if not urls:
        server = MotoServer()
        server.start()
        yield Claim(server.url)
        server.stop()
        return
    while True:
        for url in urls:
            lock = claim_file(url).open("a+")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            lock.seek(0)
            state = json.loads(lock.read() or '{"used": 0, "worlds": {}}')
            if state["used"] >= RESET_AFTER:
                httpx.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()
                state = {"used": 0, "worlds": {}}
            claim = Claim(url, state["worlds"])
            made = next(_ids)
            yield claim
            lock.seek(0)
            lock.truncate()
            json.dump({"used": state["used"] + next(_ids) - made, "worlds": claim.worlds}, lock)
            lock.close()
            return
        time.sleep(0.01)


@pytest.fixture
def moto_account(moto_claim: Claim) -> Account:
    """A new account on this session's server, named in every request of the shared clients."""
    return use_account(new_account_id(), moto_claim.url)


def new_account_id() -> str:
    return f"{os.getpid():07d}{next(_ids) % 10**5:05d}"  # 12 digits, as AWS's


def use_account(account_id: str, url: str) -> Account:
    """From now on the shared clients act in ``account_id``."""
    _account[0] = account_id
    return Account(account_id, url)

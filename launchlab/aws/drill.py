"""`launchlab drill`: the ops timelines measured on a deployed launchlab, written as
reports/drill.json for `launchlab report --drill` to show beside the modelled ones.

Per deployed launch type, in this order:

1. cold start: after ``--idle`` seconds without a request from here, the first request's time
   (and whether the app says a new process served it);
2. deploy: the image the service runs, tagged anew in its ECR repository (the same image, a new
   tag), rolled out: the time until the service is steady on it again;
3. scale-out: a bounded step of load (the bounds of `launchlab bench`), and the time until the
   service runs more tasks than before, watched for at most ``--wait`` seconds;
4. rollback: a revision whose app listens on another port than the one its health checks probe
   (what a bad image does to a service: tasks that never pass), and the time until the
   deployment circuit breaker has put the service back on the good one.

Whatever happens, on the way out the service is put back on the task definition (the function
on the image and configuration, the alias on the version) it ran when the drill began, also when
a stop signal (Ctrl-C, SIGTERM, SIGHUP) ends it; the revisions, tags and versions the drill made
are removed. Lambda has no automatic rollback: the drill times the redeploy of the good image
that a user would make. ECS Express Mode is measured for cold start and scale-out only (its
canary deploys are not driven by the drill).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from launchlab.aws.bench_deployed import BenchSettings
from launchlab.aws.deployed import Endpoint, endpoints
from launchlab.aws.sandbox import Sandbox, aws_errors
from launchlab.errors import LaunchlabError
from launchlab.limits import DRILL_MAX_IDLE_SECONDS, DRILL_MAX_WAIT_SECONDS
from launchlab.load import run_load
from launchlab.report.measured import DRILL_SCHEMA

SCHEMA = DRILL_SCHEMA
SCHEMA_VERSION = 1
STEPS = ("cold_start", "deploy", "scale_out", "rollback")
# The failing revision's app listens here; its port mapping and health checks stay on 8080.
WRONG_PORT = "8081"
# Registered keys of a task definition that register_task_definition takes back.
_TASK_DEFINITION_KEYS = (
    "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
    "volumes", "placementConstraints", "requiresCompatibilities", "cpu", "memory",
    "runtimePlatform", "ephemeralStorage", "pidMode", "ipcMode", "proxyConfiguration",
)  # fmt: skip


@dataclass(frozen=True)
class DrillSettings:
    load: BenchSettings
    idle_seconds: float = 0.0
    wait_seconds: float = 900.0
    poll_seconds: float = 5.0
    only: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.idle_seconds <= DRILL_MAX_IDLE_SECONDS:
            raise LaunchlabError(
                f"--idle {self.idle_seconds:g} is outside 0..{DRILL_MAX_IDLE_SECONDS}"
            )
        if not 0 < self.wait_seconds <= DRILL_MAX_WAIT_SECONDS:
            raise LaunchlabError(
                f"--wait {self.wait_seconds:g} is outside 1..{DRILL_MAX_WAIT_SECONDS}"
            )
        if not 0 < self.poll_seconds <= 60:
            raise LaunchlabError(f"--poll {self.poll_seconds:g} is outside (0, 60]")


@dataclass
class Measured:
    """One launch type's drill: each step's figure, or why there is none."""

    launch_type: str
    stack: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    restored: list[str] = field(default_factory=list)

    def record(self, step: str, value: float | None, note: str, unit: str = "s") -> None:
        self.steps[step] = {"value": None if value is None else round(value, 3), "unit": unit,
                            "note": note}  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "steps": self.steps, "restored": self.restored}


def drill(sandbox: Sandbox, settings: DrillSettings, out: Path, console: Console) -> int:
    found = endpoints(sandbox, settings.only or None)
    results: dict[str, Measured] = {}
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        for endpoint in found:
            measured = Measured(endpoint.launch_type, endpoint.stack)
            results[endpoint.launch_type] = measured
            console.print(f"[bold]{endpoint.stack}[/] ({endpoint.launch_type}) {endpoint.url}")
            _drill_one(sandbox, endpoint, settings, measured, console)
    finally:
        # Also when interrupted: what was measured so far is written, marked as partial.
        complete = len(results) == len(found) and all(
            len(m.steps) == len(STEPS) for m in results.values()
        )
        _write(out, sandbox.region, started, settings, results, complete)
        console.print(f"wrote {out}", highlight=False)
    _print(console, results)
    return 0


def _drill_one(
    sandbox: Sandbox,
    endpoint: Endpoint,
    settings: DrillSettings,
    measured: Measured,
    console: Console,
) -> None:
    if endpoint.function and endpoint.launch_type == "lambda-managed-instances":
        runner: _Drill = _ManagedFunctionDrill(sandbox, endpoint, settings, measured, console)
    elif endpoint.function:
        runner = _FunctionDrill(sandbox, endpoint, settings, measured, console)
    elif endpoint.launch_type == "express":
        runner = _ExpressDrill(sandbox, endpoint, settings, measured, console)
    else:
        runner = _ServiceDrill(sandbox, endpoint, settings, measured, console)
    with runner.restoring():
        runner.run()


# ---- what every launch type's drill shares ----------------------------------------------------


class _Drill:
    def __init__(
        self,
        sandbox: Sandbox,
        endpoint: Endpoint,
        settings: DrillSettings,
        measured: Measured,
        console: Console,
    ) -> None:
        self.sandbox = sandbox
        self.endpoint = endpoint
        self.settings = settings
        self.measured = measured
        self.console = console
        self.tag = "drill-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self.tags: list[tuple[str, str]] = []  # (repository, tag) the drill put in ECR

    def say(self, text: str) -> None:
        self.console.print(f"  {text}", highlight=False, markup=False)

    def run(self) -> None:
        raise NotImplementedError

    @contextmanager
    def restoring(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.restore()

    def restore(self) -> None:
        raise NotImplementedError

    def wait(
        self, what: str, done: Callable[[], str | None], seconds: float | None = None
    ) -> tuple[float | None, str]:
        """Poll ``done`` (a note when done, else None) until it answers or time runs out:
        (seconds taken or None, note)."""
        limit = seconds if seconds is not None else self.settings.wait_seconds
        self.say(f"waiting for {what} (at most {limit:g} s)")
        start = time.monotonic()
        while True:
            with aws_errors(self.sandbox.region):
                note = done()
            elapsed = time.monotonic() - start
            if note is not None:
                return elapsed, note
            if elapsed >= limit:
                return None, f"not within {limit:g} s"
            time.sleep(min(self.settings.poll_seconds, max(limit - elapsed, 0.01)))

    def cold_start(self) -> None:
        import httpx

        from launchlab import tls

        if self.settings.idle_seconds:
            self.say(f"idle for {self.settings.idle_seconds:g} s before the first request")
            time.sleep(self.settings.idle_seconds)
        started = time.perf_counter()
        try:
            with httpx.Client(timeout=30, verify=tls.context()) as client:
                response = client.get(self.endpoint.url.rstrip("/") + "/")
        except httpx.HTTPError as error:
            self.measured.record("cold_start", None, f"no answer: {type(error).__name__}", "ms")
            return
        ms = (time.perf_counter() - started) * 1000
        cold = b'"cold":true' in response.content.replace(b" ", b"")
        note = f"HTTP {response.status_code} after {self.settings.idle_seconds:g} s idle; " + (
            "a new process served it" if cold else "a running process served it"
        )
        self.measured.record("cold_start", ms, note, "ms")
        self.say(f"first request after idle: {ms:.0f} ms ({note})")

    def load(self, watch: Callable[[], str | None] | None) -> None:
        """The bounded load step; ``watch`` (polled beside it, then until --wait) says when the
        new capacity serves."""
        load = self.settings.load
        seen: list[tuple[float, str]] = []
        stop = threading.Event()
        start = time.monotonic()

        def poll() -> None:
            while not stop.is_set() and watch is not None:
                try:
                    note = watch()
                except Exception:
                    note = None
                if note is not None:
                    seen.append((time.monotonic() - start, note))
                    return
                stop.wait(self.settings.poll_seconds)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            result = run_load(
                self.endpoint.url, requests=load.requests, concurrency=load.concurrency,
                seconds=load.seconds, path=load.path,
            )  # fmt: skip
        finally:
            stop.set()
            poller.join(timeout=self.settings.poll_seconds + 30)
        summary = (
            f"{result.completed} requests in {result.seconds:g} s, {result.errors} errors, "
            f"p99 {result.p99_ms:g} ms, {result.cold_responses} served cold"
        )
        if watch is None:
            self.measured.record(
                "scale_out", result.max_ms / 1000,
                f"the slowest response under load (a new environment's start): {summary}",
            )  # fmt: skip
            return
        if not seen:
            remaining = max(self.settings.wait_seconds - (time.monotonic() - start), 0.01)
            taken, note = self.wait("new capacity", watch, remaining)
            if taken is not None:
                seen.append((time.monotonic() - start, note))
        if seen:
            self.measured.record("scale_out", seen[0][0], f"{seen[0][1]}; load: {summary}")
        else:
            self.measured.record(
                "scale_out", None,
                f"no scale-out within {self.settings.wait_seconds:g} s: the load ({summary}) "
                "did not cross the scaling target",
            )  # fmt: skip

    def retag(self, image: str) -> str:
        """The same image under the drill's tag in its ECR repository; its new URI."""
        repository, tag = _split_image(image)
        ecr = self.sandbox.client("ecr")
        with aws_errors(self.sandbox.region):
            found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
            if not found.get("images"):
                raise LaunchlabError(
                    f"{image} is not in ECR: deploy with `.venv/bin/launchlab up` first"
                )
            manifest = found["images"][0]
            extra = {}
            if manifest.get("imageManifestMediaType"):
                extra["imageManifestMediaType"] = manifest["imageManifestMediaType"]
            ecr.put_image(
                repositoryName=repository, imageManifest=manifest["imageManifest"],
                imageTag=self.tag, **extra,
            )  # fmt: skip
        self.tags.append((repository, self.tag))
        return f"{image.rsplit(':', 1)[0]}:{self.tag}"

    def untag(self) -> None:
        ecr = self.sandbox.client("ecr")
        for repository, tag in self.tags:
            with aws_errors(self.sandbox.region):
                ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageTag": tag}])
        self.tags.clear()


def _split_image(image: str) -> tuple[str, str]:
    """('launchlab/python-app', 'cdk-abc') of '123.dkr.ecr.us-east-1.amazonaws.com/...:cdk-abc'."""
    path, _, tag = image.rpartition(":")
    if "/" not in path or "@" in image:
        raise LaunchlabError(f"cannot retag {image}: not an ECR image URI with a tag")
    return path.split("/", 1)[1], tag


# ---- ECS services: ECS on EC2, Fargate, ECS Managed Instances ---------------------------------


class _ServiceDrill(_Drill):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.ecs = sandbox_client(self.sandbox, "ecs")
        self.cluster = str(self.endpoint.cluster)
        self.service = str(self.endpoint.service)
        first = self.describe()
        self.good = str(first["taskDefinition"])
        self.registered: list[str] = []

    def describe(self) -> Mapping[str, Any]:
        with aws_errors(self.sandbox.region):
            found = self.ecs.describe_services(cluster=self.cluster, services=[self.service])
        services = found.get("services") or []
        if not services:
            raise LaunchlabError(
                f"service {self.service} is not in cluster {self.cluster}: run "
                "`.venv/bin/launchlab verify`"
            )
        return services[0]  # type: ignore[no-any-return]

    def steady_on(self, task_definition: str) -> Callable[[], str | None]:
        def check() -> str | None:
            service = self.describe()
            deployments = service.get("deployments") or []
            primary = [d for d in deployments if d.get("status") == "PRIMARY"]
            if (
                service.get("taskDefinition") == task_definition
                and len(deployments) == 1
                and primary
                and primary[0].get("rolloutState") == "COMPLETED"
                and service.get("runningCount") == service.get("desiredCount")
            ):
                return (
                    f"steady: {service.get('runningCount')} tasks on {_revision(task_definition)}"
                )
            return None

        return check

    def register(self, change: Callable[[dict[str, Any]], None]) -> str:
        """A new revision of the good task definition, its app container changed by ``change``."""
        with aws_errors(self.sandbox.region):
            found = self.ecs.describe_task_definition(taskDefinition=self.good, include=["TAGS"])
            definition = found["taskDefinition"]
            kwargs = {k: definition[k] for k in _TASK_DEFINITION_KEYS if definition.get(k)}
            containers = kwargs["containerDefinitions"]
            app = next((c for c in containers if c.get("essential", True)), containers[0])
            change(app)
            if found.get("tags"):
                kwargs["tags"] = found["tags"]
            arn = self.ecs.register_task_definition(**kwargs)["taskDefinition"]["taskDefinitionArn"]
        self.registered.append(str(arn))
        return str(arn)

    def update(self, task_definition: str) -> None:
        with aws_errors(self.sandbox.region):
            self.ecs.update_service(
                cluster=self.cluster, service=self.service, taskDefinition=task_definition
            )

    def run(self) -> None:
        self.cold_start()
        # Deploy: the same image under a new tag.
        retagged: dict[str, str] = {}

        def new_tag(app: dict[str, Any]) -> None:
            retagged["image"] = app["image"] = self.retag(app["image"])

        new = self.register(new_tag)
        self.say(f"deploying {retagged['image']} ({_revision(new)})")
        self.update(new)
        taken, note = self.wait("the deployment to be steady", self.steady_on(new))
        self.measured.record("deploy", taken, note)
        self.say(f"deploy: {note}" + (f" after {taken:.0f} s" if taken is not None else ""))
        # Scale-out: more tasks running than before the load.
        before = int(self.describe().get("runningCount") or 0)

        def more_tasks() -> str | None:
            running = int(self.describe().get("runningCount") or 0)
            return f"{running} tasks running (was {before})" if running > before else None

        self.load(more_tasks)
        self.say(f"scale-out: {self.measured.steps['scale_out']['note']}")
        # Rollback: a revision whose app listens where no health check looks.
        good = self.describe().get("taskDefinition")

        def wrong_port(app: dict[str, Any]) -> None:
            variables = [e for e in app.get("environment", []) if e.get("name") != "PORT"]
            app["environment"] = [*variables, {"name": "PORT", "value": WRONG_PORT}]

        bad = self.register(wrong_port)
        self.say(f"deploying {_revision(bad)}, whose app fails its health checks")
        self.update(bad)
        taken, note = self.wait("the circuit breaker to roll back", self.steady_on(str(good)))
        self.measured.record(
            "rollback", taken,
            f"back on {_revision(str(good))}: {note}" if taken is not None else
            f"the service did not return to {_revision(str(good))}: {note}",
        )  # fmt: skip
        self.say(f"rollback: {self.measured.steps['rollback']['note']}")

    def restore(self) -> None:
        try:
            current = self.describe().get("taskDefinition")
            if current != self.good:
                self.update(self.good)
                self.measured.restored.append(f"{self.service} back on {_revision(self.good)}")
                self.say(f"restored {self.service} to {_revision(self.good)}")
        finally:
            with aws_errors(self.sandbox.region):
                for arn in self.registered:
                    self.ecs.deregister_task_definition(taskDefinition=arn)
            self.registered.clear()
            self.untag()


def _revision(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def sandbox_client(sandbox: Sandbox, service: str) -> Any:
    with aws_errors(sandbox.region):
        return sandbox.client(service)


class _ExpressDrill(_ServiceDrill):
    """Cold start and scale-out only: an Express service's canary deploys are driven by
    UpdateExpressGatewayService, which the drill does not use."""

    def run(self) -> None:
        self.cold_start()
        reason = "not driven by the drill for ECS Express Mode (its canary deploy is ECS's own)"
        self.measured.record("deploy", None, reason)
        before = int(self.describe().get("runningCount") or 0)

        def more_tasks() -> str | None:
            running = int(self.describe().get("runningCount") or 0)
            return f"{running} tasks running (was {before})" if running > before else None

        self.load(more_tasks)
        self.measured.record("rollback", None, reason)

    def restore(self) -> None:
        self.untag()


# ---- Lambda -------------------------------------------------------------------------------------


class _FunctionDrill(_Drill):
    """A container-image function: the image retagged and deployed; a configuration whose
    handler does not exist as the bad deploy, rolled back by redeploying (Lambda has no
    automatic rollback)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.aws_lambda = sandbox_client(self.sandbox, "lambda")
        self.name = str(self.endpoint.function)
        with aws_errors(self.sandbox.region):
            found = self.aws_lambda.get_function(FunctionName=self.name)
        self.image = str(found["Code"]["ImageUri"])
        self.image_config = (found["Configuration"].get("ImageConfigResponse") or {}).get(
            "ImageConfig"
        ) or {}

    def updated(self) -> str | None:
        config = self.aws_lambda.get_function_configuration(FunctionName=self.name)
        status = config.get("LastUpdateStatus")
        if status == "Failed":
            return f"the update failed: {config.get('LastUpdateStatusReason')}"
        return "LastUpdateStatus Successful" if status == "Successful" else None

    def answers(self, ok: bool) -> Callable[[], str | None]:
        import httpx

        from launchlab import tls

        def check() -> str | None:
            try:
                with httpx.Client(timeout=10, verify=tls.context()) as client:
                    status = client.get(self.endpoint.url.rstrip("/") + "/").status_code
            except httpx.HTTPError as error:
                return None if ok else f"the endpoint fails ({type(error).__name__})"
            if ok and status == 200:
                return "the endpoint answers 200"
            if not ok and status >= 500:
                return f"the endpoint answers {status}"
            return None

        return check

    def run(self) -> None:
        self.cold_start()
        new = self.retag(self.image)
        self.say(f"deploying {new}")
        start = time.monotonic()
        with aws_errors(self.sandbox.region):
            self.aws_lambda.update_function_code(FunctionName=self.name, ImageUri=new)
        taken, note = self.wait("the function's update", self.updated)
        if taken is not None:
            more, note = self.wait("the endpoint", self.answers(ok=True))
            taken = None if more is None else time.monotonic() - start
        self.measured.record("deploy", taken, note)
        self.load(None)
        # A bad deploy: a handler that does not exist; then the redeploy a user would make.
        with aws_errors(self.sandbox.region):
            self.aws_lambda.update_function_configuration(
                FunctionName=self.name, ImageConfig={"Command": ["launchlab_drill.missing"]}
            )
        self.wait("the bad configuration", self.updated)
        _, failed_note = self.wait(
            "requests to fail", self.answers(ok=False), min(60.0, self.settings.wait_seconds)
        )
        start = time.monotonic()
        self.put_back()
        taken, note = self.wait("the function's update", self.updated)
        if taken is not None:
            more, note = self.wait("the endpoint", self.answers(ok=True))
            taken = None if more is None else time.monotonic() - start
        self.measured.record(
            "rollback", taken,
            f"redeployed by the drill (Lambda has no automatic rollback): {note}; the bad "
            f"configuration: {failed_note}",
        )  # fmt: skip

    def put_back(self) -> None:
        with aws_errors(self.sandbox.region):
            self.aws_lambda.update_function_configuration(
                FunctionName=self.name, ImageConfig=self.image_config
            )
            self.wait("the configuration", self.updated, 120)
            self.aws_lambda.update_function_code(FunctionName=self.name, ImageUri=self.image)

    def restore(self) -> None:
        try:
            with aws_errors(self.sandbox.region):
                found = self.aws_lambda.get_function(FunctionName=self.name)
            config = (found["Configuration"].get("ImageConfigResponse") or {}).get("ImageConfig")
            if found["Code"].get("ImageUri") != self.image or (config or {}) != self.image_config:
                self.put_back()
                self.measured.restored.append(f"{self.name} back on {self.image}")
                self.say(f"restored {self.name} to {self.image}")
        finally:
            self.untag()


class _ManagedFunctionDrill(_Drill):
    """Lambda Managed Instances: a new version behind the alias `live`; a version whose
    handler does not exist never becomes ACTIVE, and the alias stays."""

    ALIAS = "live"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.aws_lambda = sandbox_client(self.sandbox, "lambda")
        self.name = str(self.endpoint.function)
        with aws_errors(self.sandbox.region):
            self.alias_version = str(
                self.aws_lambda.get_alias(FunctionName=self.name, Name=self.ALIAS)[
                    "FunctionVersion"
                ]
            )
            config = self.aws_lambda.get_function_configuration(FunctionName=self.name)
        self.handler = str(config.get("Handler"))
        self.variables = dict((config.get("Environment") or {}).get("Variables") or {})
        self.published: list[str] = []

    def configure(self, **kwargs: Any) -> None:
        with aws_errors(self.sandbox.region):
            self.aws_lambda.update_function_configuration(FunctionName=self.name, **kwargs)
        self.wait("the configuration", self.updated, 120)

    def updated(self) -> str | None:
        config = self.aws_lambda.get_function_configuration(FunctionName=self.name)
        return "updated" if config.get("LastUpdateStatus") in ("Successful", "Failed") else None

    def publish(self) -> str:
        with aws_errors(self.sandbox.region):
            version = str(self.aws_lambda.publish_version(FunctionName=self.name)["Version"])
        self.published.append(version)
        return version

    def version_state(self, version: str) -> Callable[[], str | None]:
        def check() -> str | None:
            config = self.aws_lambda.get_function_configuration(
                FunctionName=self.name, Qualifier=version
            )
            state = config.get("State")
            return f"version {version} {state}" if state in ("Active", "Failed") else None

        return check

    def run(self) -> None:
        self.cold_start()
        start = time.monotonic()
        self.configure(Environment={"Variables": {**self.variables, "LAUNCHLAB_DRILL": self.tag}})
        version = self.publish()
        taken, note = self.wait("the new version", self.version_state(version))
        if taken is not None and note.endswith("Active"):
            with aws_errors(self.sandbox.region):
                self.aws_lambda.update_alias(
                    FunctionName=self.name, Name=self.ALIAS, FunctionVersion=version
                )
            taken = time.monotonic() - start
            note += f"; alias {self.ALIAS} moved to it"
        self.measured.record("deploy", taken, note)
        self.load(None)
        start = time.monotonic()
        self.configure(Handler="launchlab_drill.missing")
        bad = self.publish()
        taken, note = self.wait("the bad version", self.version_state(bad))
        self.measured.record(
            "rollback",
            time.monotonic() - start if taken is not None else None,
            f"{note}; alias {self.ALIAS} stays on the version before it",
        )

    def restore(self) -> None:
        with aws_errors(self.sandbox.region):
            alias = self.aws_lambda.get_alias(FunctionName=self.name, Name=self.ALIAS)
            if str(alias["FunctionVersion"]) != self.alias_version:
                self.aws_lambda.update_alias(
                    FunctionName=self.name, Name=self.ALIAS, FunctionVersion=self.alias_version
                )
                self.measured.restored.append(f"alias {self.ALIAS} back on {self.alias_version}")
            config = self.aws_lambda.get_function_configuration(FunctionName=self.name)
            variables = (config.get("Environment") or {}).get("Variables") or {}
            if config.get("Handler") != self.handler or variables != self.variables:
                self.aws_lambda.update_function_configuration(
                    FunctionName=self.name,
                    Handler=self.handler,
                    Environment={"Variables": self.variables},
                )
                self.measured.restored.append(f"{self.name} configuration back")
            # A published version keeps its minimum environments (and instances) running.
            for version in self.published:
                if version != self.alias_version:
                    self.aws_lambda.delete_function(FunctionName=self.name, Qualifier=version)
        self.published.clear()


# ---- the file and the table -----------------------------------------------------------------


def _write(
    out: Path,
    region: str,
    started: str,
    settings: DrillSettings,
    results: Mapping[str, Measured],
    complete: bool,
) -> None:
    document = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "measured_at": started,
        "region": region,
        "complete": complete,
        "settings": {
            "requests": settings.load.requests,
            "concurrency": settings.load.concurrency,
            "seconds": settings.load.seconds,
            "idle_seconds": settings.idle_seconds,
            "wait_seconds": settings.wait_seconds,
        },
        "launch_types": {key: m.as_dict() for key, m in results.items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")


def _print(console: Console, results: Mapping[str, Measured]) -> None:
    table = Table(title="launchlab drill: measured on AWS")
    for column in ("launch type", *STEPS):
        table.add_column(column)
    for key, measured in results.items():
        cells = []
        for step in STEPS:
            found = measured.steps.get(step)
            if not found or found["value"] is None:
                cells.append("-")
            else:
                cells.append(f"{found['value']:.0f} {found['unit']}")
        table.add_row(key, *cells)
    console.print(table)

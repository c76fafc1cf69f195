"""Read the synthesized app (cdk.out): the templates every toolkit command derives its facts from.

The toolkit never keeps a second copy of the settings. It synthesizes with the pinned CDK CLI
when cdk.out is missing or older than the app's sources, then reads the templates back.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchlab import processes
from launchlab.errors import LaunchlabError
from stacks import launch_types, names

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTDIR = ROOT / "cdk.out"
# What a synth reads: a change to any of these makes cdk.out stale.
_SOURCES = ("app.py", "cdk.json", "stacks", "services")
_IGNORED_PARTS = {"__pycache__", "node_modules", ".pytest_cache"}


@dataclass(frozen=True)
class Assembly:
    """The templates of one synthesized launchlab app, by stack name."""

    outdir: Path
    templates: Mapping[str, Mapping[str, Any]]

    @property
    def launch_types(self) -> tuple[str, ...]:
        """The keys of the launch types this app deploys, in registry order."""
        return tuple(spec.key for spec in launch_types.REGISTRY if spec.stack_id in self.templates)

    @property
    def stack_names(self) -> tuple[str, ...]:
        """The shared stacks, then each launch type's: the order every table lists them in."""
        return (
            *names.SHARED_STACKS,
            *(launch_types.spec(key).stack_id for key in self.launch_types),
        )

    def resources(self, stack_name: str, resource_type: str) -> list[Mapping[str, Any]]:
        template = self.templates[stack_name]
        return [r for r in template["Resources"].values() if r["Type"] == resource_type]


def parse_context(pairs: Iterable[str]) -> dict[str, str]:
    """``-c key=value`` arguments as a dict for :func:`synthesize`."""
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise LaunchlabError(f"-c takes key=value, got {pair!r}")
        context[key] = value
    return context


def newest_source_mtime(root: Path = ROOT) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = root / name
        files: Iterable[Path] = path.rglob("*") if path.is_dir() else [path]
        for file in files:
            if file.is_file() and not _IGNORED_PARTS.intersection(file.parts):
                newest = max(newest, file.stat().st_mtime)
    return newest


# Written beside the templates by synthesize(): the -c overrides they were built with.
CONTEXT_STAMP = "launchlab-context.json"


def synthesized_with(outdir: Path) -> dict[str, str]:
    """The -c overrides the toolkit synthesized ``outdir`` with ({} for cdk.json's config)."""
    try:
        found = json.loads((outdir / CONTEXT_STAMP).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def is_stale(outdir: Path, root: Path = ROOT) -> bool:
    """Missing, older than the app's sources, or built with overrides nobody asked for now."""
    manifest = outdir / "manifest.json"
    return (
        not manifest.exists()
        or manifest.stat().st_mtime < newest_source_mtime(root)
        or bool(synthesized_with(outdir))
    )


def pinned_cdk() -> Path:
    """The CDK CLI package.json pins, installed by `make setup`."""
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        raise LaunchlabError("the CDK CLI is not installed: run `make setup` first")
    return cdk


def cdk_environment(**extra: str) -> dict[str, str]:
    """The environment for the CDK CLI: the venv's Node.js first on PATH, as the Makefile
    puts it (jsii refuses an older Node), plus ``extra``."""
    venv_bin = ROOT / ".venv" / "bin"
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }


def context_args(context: Mapping[str, str] | None) -> list[str]:
    """``-c key=value`` arguments for the CDK CLI."""
    args = []
    for key, value in (context or {}).items():
        args += ["-c", f"{key}={value}"]
    return args


def synthesize(outdir: Path = DEFAULT_OUTDIR, context: Mapping[str, str] | None = None) -> None:
    """Run the pinned CDK CLI's synth, passing ``context`` as ``-c key=value``."""
    args = [str(pinned_cdk()), "synth", "--quiet", "--no-notices", "-o", str(outdir)]
    args += context_args(context)
    result = processes.run(args, cwd=ROOT, env=cdk_environment())
    if result.returncode != 0:
        given = f" with {' '.join(context_args(context))}" if context else ""
        raise LaunchlabError(f"cdk synth{given} failed: {synth_failure(result.stderr)}")
    record_context(outdir, context)


def record_context(outdir: Path, context: Mapping[str, str] | None) -> None:
    """Note beside the templates the -c overrides they were synthesized with: a later run
    without -c must not price these overrides as if they were the config."""
    (outdir / CONTEXT_STAMP).write_text(json.dumps(dict(context or {}), sort_keys=True) + "\n")


# The last line of a Python traceback: `RuntimeError: MalformedInstanceTypeIdentifier: ...`.
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:Error|Exception)): (?P<cause>.+)$")


def synth_failure(stderr: str) -> str:
    """The line of a failed synth's output that says why: the app's own ``launchlab: ...``
    message, else the exception that ended it (not the CLI's "Subprocess exited with error 1"
    after it), else its last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("launchlab: "):
            return line.removeprefix("launchlab: ")
    for line in reversed(lines):
        match = _EXCEPTION_LINE.match(line)
        if match:
            return match["cause"]
    return lines[-1] if lines else "no output"


def synth_command(outdir: Path) -> str:
    """The command that synthesizes this project into ``outdir``, as a hint prints it."""
    where = "" if outdir.resolve() == DEFAULT_OUTDIR else f" -o {outdir}"
    return f"`.venv/bin/npx cdk synth{where}`"


def _malformed(path: Path, what: str, found: Any, belongs: str) -> LaunchlabError:
    return LaunchlabError(
        f"{path} is not a synthesized app's {what} ({type(found).__name__} where {belongs} "
        f"belongs): run {synth_command(path.parent)} again"
    )


def _mapping(value: Any, path: Path, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(path, what, value, "an object")
    return value


def load(outdir: Path = DEFAULT_OUTDIR) -> Assembly:
    """Read every launchlab stack's template from ``outdir``; a foreign cdk.out is an error."""
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise LaunchlabError(
            f"{outdir} holds no synthesized app: run {synth_command(outdir)} first"
        )
    manifest = _mapping(_read_json(manifest_path), manifest_path, "manifest")
    artifacts = _mapping(manifest.get("artifacts", {}), manifest_path, "manifest")
    stacks = {
        artifact_id: artifact
        for artifact_id, artifact in artifacts.items()
        if _mapping(artifact, manifest_path, "manifest").get("type") == "aws:cloudformation:stack"
    }
    missing = [name for name in names.SHARED_STACKS if name not in stacks]
    selected = [spec.stack_id for spec in launch_types.REGISTRY if spec.stack_id in stacks]
    if missing or not selected:
        absent = ", ".join(missing) if missing else "of any launch type"
        raise LaunchlabError(
            f"{outdir} is not a launchlab app (no stack {absent}): "
            f"synthesize this project with {synth_command(outdir)} or pass --cdk-out"
        )
    templates = {}
    for name in (*names.SHARED_STACKS, *selected):
        template_file = _mapping(stacks[name].get("properties"), manifest_path, "manifest").get(
            "templateFile"
        )
        if not isinstance(template_file, str) or not template_file:
            raise _malformed(manifest_path, "manifest", template_file, "a file name")
        path = outdir / template_file
        template = _mapping(_read_json(path), path, "template")
        resources = _mapping(template.get("Resources"), path, "template")
        for resource in resources.values():
            resource_type = _mapping(resource, path, "template").get("Type")
            if not isinstance(resource_type, str):
                raise _malformed(path, "template", resource_type, "a resource type")
        templates[name] = template
    return Assembly(outdir=outdir, templates=templates)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise LaunchlabError(
            f"{path} is missing: the synthesized app is incomplete, "
            f"run {synth_command(path.parent)} again"
        ) from None
    except OSError as error:
        raise LaunchlabError(f"cannot read {path}: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        detail = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise LaunchlabError(
            f"{path} is not valid JSON ({detail}): run {synth_command(path.parent)} again"
        ) from None


def ensure(outdir: Path = DEFAULT_OUTDIR, context: Mapping[str, str] | None = None) -> Assembly:
    """The current app's templates: synthesized first when stale, missing, or given context."""
    if context or is_stale(outdir):
        synthesize(outdir, context)
    return load(outdir)

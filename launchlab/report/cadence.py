"""Patch cadence: how often what each launch type's owner keeps current changed in the last 12
months, counted from public release histories in git, and written, with the repository, commit
and date each count comes from, to launchlab/report/patch_cadence.yaml (which the report reads).

    .venv/bin/python -m launchlab.report.cadence            # clones what it needs (network)
    .venv/bin/python -m launchlab.report.cadence --git-dir docker-library/official-images=PATH

What is counted, for what the project's Dockerfiles and stacks pin:

- the ECS-optimized AMI: releases in aws/amazon-ecs-ami's CHANGELOG.md (``## YYYYMMDD``
  headings) whose version line names the AMI family the stack resolves (al2023);
- a Docker official image (node, python): merged changes, in docker-library/official-images,
  of the library entry for the pinned line (``24-bookworm-slim``: new Node.js 24 builds) and of
  its Debian parent (``bookworm-slim`` rebuilds), counted as the distinct days either changed;
- the Lambda Python base image: aws/aws-lambda-base-images keeps one commit per runtime
  branch (each release replaces the last), so its history cannot be counted; its parts are:
  Amazon Linux 2023 container releases and CPython point releases of the pinned line, both from
  docker-library/official-images: a lower bound, and labelled as one.

The window is the 12 months (365 days) up to the newest commit of the branch read, so a count
says what it covers even when the clone is old. Nothing fetched is kept in the project: only
the counts, dates and commits.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from stacks.workloads import LAMBDA_WORKLOAD, WORKLOADS

DEFAULT_OUT = Path(__file__).resolve().parent / "patch_cadence.yaml"
WINDOW_DAYS = 365
ECS_AMI_REPO = "aws/amazon-ecs-ami"
OFFICIAL_IMAGES_REPO = "docker-library/official-images"
LAMBDA_IMAGES_REPO = "aws/aws-lambda-base-images"
BRANCHES = {ECS_AMI_REPO: "main", OFFICIAL_IMAGES_REPO: "master"}
# The AMI family of each ECS-optimized AMI parameter the stacks may resolve.
AMI_FAMILIES = {"amazon-linux-2023": "al2023", "amazon-linux-2": "al2"}
_VERSION = re.compile(r"^(\d+(?:\.\d+)*)(.*)$")
_CHANGELOG_RELEASE = re.compile(r"^## (\d{8})\s*$")


class Git:
    """Read-only questions to one git directory (a bare clone or a mirror)."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} in {self.git_dir}: {done.stderr.strip()}")
        return done.stdout

    def tip(self, branch: str) -> tuple[str, date]:
        sha, when = self.run("log", "-1", "--format=%H %cI", branch).split()
        return sha, _day(when)

    def show(self, commit: str, path: str) -> str:
        try:
            return self.run("show", f"{commit}:{path}")
        except RuntimeError:
            return ""  # the file did not exist at that commit

    def changes(self, branch: str, path: str, since: date, until: date) -> list[tuple[str, date]]:
        """(commit, day) of each commit on the branch's first-parent line that touched
        ``path`` in [since, until], oldest first: one per merged change."""
        out = self.run(
            "log", "--first-parent", "--reverse", "--format=%H %cI",
            f"--since={since.isoformat()}T00:00:00Z", f"--until={until.isoformat()}T23:59:59Z",
            branch, "--", path,
        )  # fmt: skip
        return [(sha, _day(when)) for sha, when in (line.split() for line in out.splitlines())]


def _day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(UTC).date()


@dataclass(frozen=True)
class Count:
    """One release history counted: what, where from, over which window, and when it changed."""

    what: str
    repository: str
    branch: str
    commit: str  # the branch tip read
    commit_date: date
    window: tuple[date, date]
    days: tuple[date, ...]
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "repository": self.repository,
            "branch": self.branch,
            "commit": self.commit,
            "commit_date": self.commit_date.isoformat(),
            "window": [d.isoformat() for d in self.window],
            "count": len(self.days),
            "dates": [d.isoformat() for d in self.days],
            "method": self.method,
        }


def _window(git: Git, branch: str) -> tuple[str, date, date, date]:
    sha, tip = git.tip(branch)
    return sha, tip, tip - timedelta(days=WINDOW_DAYS), tip


def count_ami_releases(git: Git, family: str, branch: str = "main") -> Count:
    """Releases in CHANGELOG.md at the branch tip within the window whose version line names
    ``family`` (al2023: "- al2, al2023 ami version: ..." or "- al2023 ami version: ...")."""
    sha, tip, since, until = _window(git, branch)
    days = []
    release: date | None = None
    for line in git.show(sha, "CHANGELOG.md").splitlines():
        heading = _CHANGELOG_RELEASE.match(line.strip())
        if heading:
            release = datetime.strptime(heading.group(1), "%Y%m%d").date()
            continue
        text = line.strip().lower()
        if release is not None and "ami version" in text:
            families = re.split(r"[\s,]+", text.split("ami version")[0].lstrip("- "))
            if family in families and since <= release <= until:
                days.append(release)
            release = None  # one version line per release
    return Count(
        what=f"ECS-optimized AMI releases ({family})",
        repository=ECS_AMI_REPO,
        branch=branch,
        commit=sha,
        commit_date=tip,
        window=(since, until),
        days=tuple(sorted(set(days))),
        method=f"'## YYYYMMDD' releases in CHANGELOG.md whose 'ami version' line names {family}",
    )


def stanza(library: str, tag: str) -> str:
    """The entry of an official-images library file that lists ``tag`` among its Tags."""
    for block in re.split(r"\n\s*\n", library):
        for line in block.splitlines():
            if line.startswith("Tags:") and tag in [t.strip() for t in line[5:].split(",")]:
                return block.strip()
    return ""


def line_tag(library: str, line: str) -> str:
    """A tag of the release line ``line`` ('3.13' -> '3.13-trixie'): any entry of the line
    changes its version with each upstream point release."""
    for tags in re.findall(r"^Tags:(.*)$", library, flags=re.MULTILINE):
        for tag in (str(t).strip() for t in str(tags).split(",")):
            if tag == line or tag.startswith(f"{line}-"):
                return tag
    raise RuntimeError(f"no tag of the {line} line in the library file")


def full_version(entry: str) -> str:
    """The longest plain version among an entry's tags ('3.13.15' of '3.13.15-slim-bookworm,
    3.13-slim-bookworm'): what changes with each upstream point release."""
    versions = []
    for line in entry.splitlines():
        if line.startswith("Tags:"):
            for tag in (t.strip() for t in line[5:].split(",")):
                match = _VERSION.match(tag)
                if match:
                    versions.append(match.group(1))
    return max(versions, key=lambda v: (v.count("."), v), default="")


def count_library_changes(
    git: Git, library: str, tag: str, *, versions_only: bool = False, branch: str = "master"
) -> Count:
    """Merged changes of the ``library/<library>`` entry that carries ``tag``: each is a new
    image build (``versions_only``: only those that changed its version, an upstream release)."""
    sha, tip, since, until = _window(git, branch)
    path = f"library/{library}"
    days = []
    for commit, day in git.changes(branch, path, since, until):
        after = stanza(git.show(commit, path), tag)
        before = stanza(git.show(f"{commit}^1", path), tag)
        changed = full_version(after) != full_version(before) if versions_only else after != before
        if after and changed:
            days.append(day)
    what = (
        f"{library} {tag} releases (version changes)"
        if versions_only
        else f"{library}:{tag} image builds"
    )
    return Count(
        what=what,
        repository=OFFICIAL_IMAGES_REPO,
        branch=branch,
        commit=sha,
        commit_date=tip,
        window=(since, until),
        days=tuple(sorted(set(days))),
        method=(
            f"first-parent commits changing the version of the {path} entry tagged {tag}"
            if versions_only
            else f"first-parent commits changing the {path} entry tagged {tag}"
        ),
    )


# ---- what the project pins -------------------------------------------------------------------


def pinned_image(dockerfile: Path) -> str:
    """The base image a Dockerfile builds on: the default of the ARG its FROM names."""
    text = dockerfile.read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    match = re.search(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"{dockerfile}: no FROM line")
    image = match.group(1)
    variable = re.fullmatch(r"\$\{?(\w+)\}?", image)
    return args[variable.group(1)] if variable else image


def pinned_images() -> dict[str, str]:
    """app (node-app, python-app, python-app-lambda) -> the base image its Dockerfile pins."""
    found = {app.name: pinned_image(app.directory / app.dockerfile) for app in WORKLOADS.values()}
    found[f"{LAMBDA_WORKLOAD.name}-lambda"] = pinned_image(
        LAMBDA_WORKLOAD.directory / LAMBDA_WORKLOAD.dockerfile
    )
    return found


def split_image(ref: str) -> tuple[str, str, str]:
    """('docker', 'node', '24.11.1-bookworm-slim') for a Docker official image (on Docker Hub
    or its public.ecr.aws/docker/library mirror); ('lambda', 'python', '3.13.2025...') for an
    AWS Lambda base image."""
    name, _, tag = ref.rpartition(":")
    if name.startswith("public.ecr.aws/lambda/"):
        return "lambda", name.rsplit("/", 1)[1], tag
    return "docker", name.rsplit("/", 1)[-1], tag


def line_candidates(tag: str) -> list[str]:
    """The release lines a pinned tag belongs to, most specific first: '24.11.1-bookworm-slim'
    -> ['24.11.1-bookworm-slim', '24.11-bookworm-slim', '24-bookworm-slim']."""
    match = _VERSION.match(tag)
    if not match:
        return [tag]
    parts, suffix = match.group(1).split("."), match.group(2)
    return [".".join(parts[:n]) + suffix for n in range(len(parts), 0, -1)]


def debian_parent(tag: str) -> str | None:
    """The Debian image a Docker official image variant builds on: 'bookworm-slim' for
    '...-bookworm-slim' and '...-slim-bookworm', 'bookworm' for '...-bookworm'."""
    words = set(tag.split("-"))
    for codename in ("bookworm", "trixie", "bullseye"):
        if codename in words:
            return f"{codename}-slim" if "slim" in words else codename
    return None


def ami_family(parameter: str) -> str | None:
    for marker, family in AMI_FAMILIES.items():
        if f"/{marker}/" in parameter or parameter.endswith(f"/{marker}"):
            return family
    return None


def image_line_key(ref: str, known: Iterable[str]) -> str | None:
    """The key in patch_cadence.yaml of the release line ``ref`` belongs to, if counted."""
    kind, name, tag = split_image(ref)
    known = set(known)
    prefix = "lambda/" if kind == "lambda" else ""
    for candidate in line_candidates(tag):
        if f"{prefix}{name}:{candidate}" in known:
            return f"{prefix}{name}:{candidate}"
    return None


# ---- the whole refresh -----------------------------------------------------------------------


def counts_for_image(git: Git, ref: str) -> tuple[str, list[Count], str]:
    """The line key, its counts and how they combine, for one pinned base image."""
    kind, name, tag = split_image(ref)
    tip_sha = git.tip("master")[0]
    if kind == "lambda":
        line = line_candidates(tag)[-2] if len(line_candidates(tag)) > 1 else tag  # '3.13'
        counts = [
            count_library_changes(git, "amazonlinux", "2023"),
            count_library_changes(
                git, "python", line_tag(git.show(tip_sha, "library/python"), line),
                versions_only=True,
            ),
        ]  # fmt: skip
        note = (
            f"lower bound: {LAMBDA_IMAGES_REPO} keeps one commit per runtime branch, so the "
            "Lambda base image's own releases cannot be counted from git; counted are the "
            "Amazon Linux 2023 container releases and CPython point releases it is built from"
        )
        return f"lambda/{name}:{line}", counts, note
    library = git.show(tip_sha, f"library/{name}")
    found = next((c for c in line_candidates(tag)[1:] if stanza(library, c)), None)
    if found is None:
        raise RuntimeError(f"{ref}: no line of {tag} in library/{name} at {tip_sha[:12]}")
    counts = [count_library_changes(git, name, found)]
    parent = debian_parent(tag)
    if parent:
        counts.append(count_library_changes(git, "debian", parent))
    return f"{name}:{found}", counts, "distinct days on which the image or its Debian base changed"


def refresh(git_dirs: Mapping[str, Path], today: date) -> dict[str, Any]:
    """The whole patch_cadence.yaml document, from git directories of the repositories."""
    official = Git(git_dirs[OFFICIAL_IMAGES_REPO])
    ecs_ami = Git(git_dirs[ECS_AMI_REPO])
    images: dict[str, Any] = {}
    pins = pinned_images()
    for app, ref in sorted(pins.items()):
        key, counts, note = counts_for_image(official, ref)
        days = sorted({d for c in counts for d in c.days})
        images.setdefault(key, {
            "per_year": len(days),
            "combined": note,
            "pinned_by": [],
            "counts": [c.as_dict() for c in counts],
        })["pinned_by"].append(f"{app}: {ref}")  # fmt: skip
    amis = {}
    for family in ("al2023",):
        count = count_ami_releases(ecs_ami, family, BRANCHES[ECS_AMI_REPO])
        amis[f"ecs-optimized-ami:{family}"] = {
            "per_year": len(count.days),
            "counts": [count.as_dict()],
        }
    return {
        "schema_version": 1,
        "refreshed": today.isoformat(),
        "window_days": WINDOW_DAYS,
        "images": images,
        "amis": amis,
    }


HEADER = """\
# Patch cadence: releases per 12 months of what each launch type's owner keeps current,
# counted from public git histories by launchlab/report/cadence.py (do not edit by hand;
# `make patch-cadence` refreshes it).
# Each count names its repository, branch, the commit read and the 365-day window it covers.
"""


def write(document: Mapping[str, Any], out: Path) -> None:
    import yaml

    out.write_text(HEADER + yaml.safe_dump(dict(document), sort_keys=False, width=100))


def _clone(repo: str, into: Path) -> Path:
    target = into / repo.replace("/", "+")
    if not target.exists():
        subprocess.run(
            ["git", "clone", "--bare", "--filter=blob:none", "--single-branch",
             "--branch", BRANCHES[repo], f"https://github.com/{repo}.git", str(target)],
            check=True,
        )  # fmt: skip
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m launchlab.report.cadence",
        description="Count the releases of what each launch type's owner patches (git).",
    )
    parser.add_argument(
        "--git-dir", action="append", default=[], metavar="OWNER/NAME=PATH",
        help=f"use this git directory for {OFFICIAL_IMAGES_REPO} or {ECS_AMI_REPO} "
        "instead of cloning it",
    )  # fmt: skip
    parser.add_argument("--out", default=str(DEFAULT_OUT), metavar="FILE")
    args = parser.parse_args(argv)
    given = dict(pair.split("=", 1) for pair in args.git_dir)
    with tempfile.TemporaryDirectory(prefix="launchlab-cadence-") as scratch:
        dirs = {
            repo: Path(given[repo]) if repo in given else _clone(repo, Path(scratch))
            for repo in (OFFICIAL_IMAGES_REPO, ECS_AMI_REPO)
        }
        document = refresh(dirs, datetime.now(UTC).date())
    write(document, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

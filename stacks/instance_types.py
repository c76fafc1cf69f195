"""EC2 instance-type facts (stacks/instance_types.yaml): vCPUs, memory, architecture and, for
burstable types, the CPU baseline per vCPU, each with the AWS page it comes from.

Both halves of the project read these facts: the config checks that a task fits its instance
at synth, and the cost report joins them with each region's prices (launchlab/prices/aws.yaml,
prices only). They live here, beside the launch-type registry, because the infrastructure must
not read the toolkit's files while the toolkit already reads ``stacks/``. Like the registry,
this module imports nothing heavy (no aws_cdk).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

FACTS_FILE = Path(__file__).resolve().with_name("instance_types.yaml")
# How messages name the file: the path a reader of the repository would open.
FACTS_NAME = "stacks/instance_types.yaml"
ARCHITECTURES = ("x86_64", "arm64")


class InstanceFactsError(ValueError):
    """The facts file is malformed; the message names the file and the instance type."""


@dataclass(frozen=True)
class InstanceFacts:
    name: str
    vcpu: int
    memory_gib: Decimal
    architecture: str  # one of ARCHITECTURES
    # Burstable types only: the CPU share per vCPU, averaged over 24 h, that the instance's
    # earned credits pay for; None for fixed-performance types.
    baseline_per_vcpu: Decimal | None
    source: str
    date: str
    # Network interfaces the type takes (the primary one included), and the branch interfaces
    # a trunk ENI carries (0: no trunking); None where the file does not say.
    network_interfaces: int | None = None
    trunk_branch_interfaces: int | None = None

    def awsvpc_tasks(self, *, trunking: bool) -> int | None:
        """How many awsvpc tasks (one network interface each) the instance holds: a trunk's
        branch interfaces when ``trunking`` and the type supports it, else the interfaces left
        beside the primary one; None when the file does not say."""
        if self.network_interfaces is None:
            return None
        if trunking and self.trunk_branch_interfaces:
            return self.trunk_branch_interfaces
        return self.network_interfaces - 1


@functools.cache
def load(path: Path = FACTS_FILE) -> Mapping[str, InstanceFacts]:
    """instance type -> its facts, read and checked once per process."""
    import yaml  # here, not above: `launchlab --help` imports this module and never reads YAML

    # libyaml's loader where PyYAML was built with it: every synth reads this file, and the
    # pure-Python loader takes several times as long for the same result.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    name = FACTS_NAME if path == FACTS_FILE else str(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except (OSError, yaml.YAMLError) as error:
        raise InstanceFactsError(f"cannot read {name}: {str(error).splitlines()[0]}") from None
    if not isinstance(raw, dict) or raw.get("schema_version") != 1:
        raise InstanceFactsError(f"{name} is not an instance-type table (schema_version 1)")
    types = raw.get("instance_types")
    if not isinstance(types, dict) or not types:
        raise InstanceFactsError(f"{name} lists no instance_types")
    return {str(key): _facts(name, str(key), entry) for key, entry in types.items()}


def _facts(file: str, name: str, entry: Any) -> InstanceFacts:
    def fail(problem: str) -> InstanceFactsError:
        return InstanceFactsError(f"{file}: instance type {name!r} {problem}")

    if not isinstance(entry, dict):
        raise fail("is not a mapping of its facts")
    missing = [
        key for key in ("vcpu", "memory_gib", "architecture", "source", "date") if key not in entry
    ]
    if missing:
        raise fail(f"lacks {', '.join(missing)}")
    vcpu = entry["vcpu"]
    if not isinstance(vcpu, int) or isinstance(vcpu, bool) or vcpu < 1:
        raise fail(f"has vcpu {vcpu!r}; allowed: a whole number, 1 or more")
    if entry["architecture"] not in ARCHITECTURES:
        raise fail(
            f"has architecture {entry['architecture']!r}; allowed: {', '.join(ARCHITECTURES)}"
        )
    baseline = None
    if "baseline_per_vcpu" in entry:
        baseline = _number(entry["baseline_per_vcpu"], fail, "baseline_per_vcpu")
        if baseline > 1 or "baseline_source" not in entry:
            raise fail("needs baseline_per_vcpu of at most 1 and its baseline_source")
    network = {}
    for key in ("network_interfaces", "trunk_branch_interfaces"):
        value = entry.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise fail(f"has {key} {value!r}; allowed: a whole number, 0 or more")
        network[key] = value
    if network and "network_source" not in entry:
        raise fail("needs network_source beside network_interfaces")
    return InstanceFacts(
        name=name,
        vcpu=vcpu,
        memory_gib=_number(entry["memory_gib"], fail, "memory_gib"),
        architecture=str(entry["architecture"]),
        baseline_per_vcpu=baseline,
        source=str(entry["source"]),
        date=str(entry["date"]),
        **network,
    )


def _number(value: Any, fail: Callable[[str], InstanceFactsError], key: str) -> Decimal:
    try:
        # str(): YAML's 0.10 arrives as the float 0.1; its repr is the exact decimal written.
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if isinstance(value, bool) or not number.is_finite() or number <= 0:
        raise fail(f"has {key} {value!r}; allowed: a number above 0")
    return number

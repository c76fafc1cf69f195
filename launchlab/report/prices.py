"""The price table shipped with the project (launchlab/prices/aws.yaml), read and checked, and
joined with the instance-type facts (stacks/instance_types.yaml: vCPUs, memory, architecture,
burstable baseline), which the price table does not repeat: it holds prices only.

Money is ``Decimal`` throughout: AWS rounds half up to the cent, and binary floats would turn
an idle ALB's $16.425 into $16.42.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from launchlab.errors import LaunchlabError
from launchlab.files import read_yaml
from stacks import instance_types

DEFAULT_TABLE = Path(__file__).resolve().parent.parent / "prices" / "aws.yaml"
# AWS prices a month as 730 hours (24 x 365 / 12): e.g. the examples on
# https://aws.amazon.com/fargate/pricing/ and https://aws.amazon.com/elasticloadbalancing/pricing/.
# Every monthly figure in the toolkit is built on this one number.
HOURS_PER_MONTH = Decimal(730)
# --refresh-prices updates the prices a region's entry has (and builds a region the table
# lacks), so for a key or instance type that is missing it only helps once the entry exists.
REFRESH_HINT = (
    "add it to launchlab/prices/aws.yaml (an instance type's vcpu, memory_gib and architecture "
    f"go in {instance_types.FACTS_NAME}); `.venv/bin/launchlab report --refresh-prices` then "
    "keeps it current"
)
# What an instance type is, kept once in the facts file, never beside its price.
FACT_KEYS = frozenset(
    {"vcpu", "memory_gib", "architecture", "baseline_per_vcpu", "network_interfaces"}
)
# What a price is: published (or the Price List API's), an estimate where AWS publishes no
# figure (its entry's `note` says how it was made), or a Spot market price read on its `date`.
BASES = ("list", "estimate", "market")


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # cumulative monthly quantity where this tier ends; None: no end
    usd: Decimal


@dataclass(frozen=True)
class Price:
    key: str
    usd: Decimal  # per ``per`` units
    unit: str
    per: Decimal
    source: str
    date: str
    tiers: tuple[Tier, ...] = ()
    basis: str = "list"  # one of BASES
    note: str = ""

    @property
    def estimated(self) -> bool:
        return self.basis == "estimate"

    @property
    def unit_usd(self) -> Decimal:
        return self.usd / self.per

    def cost(self, quantity: Decimal) -> Decimal:
        """What ``quantity`` units cost in one month, walking the tiers when there are any."""
        if quantity <= 0:
            return Decimal(0)
        if not self.tiers:
            return quantity * self.unit_usd
        total, start = Decimal(0), Decimal(0)
        for tier in self.tiers:
            end = quantity if tier.up_to is None else min(quantity, tier.up_to)
            if end > start:
                total += (end - start) * tier.usd / self.per
            if tier.up_to is None or quantity <= tier.up_to:
                break
            start = tier.up_to
        return total


@dataclass(frozen=True)
class InstanceType:
    """A priced instance type: its hourly price joined with its facts."""

    name: str
    hourly: Price
    vcpu: int
    memory_gib: Decimal
    architecture: str
    baseline_per_vcpu: Decimal | None  # burstable types only
    facts: instance_types.InstanceFacts | None = None


@dataclass(frozen=True)
class FreeTier:
    lambda_requests: Decimal
    lambda_gb_seconds: Decimal
    dto_internet_gb: Decimal
    source: str
    cloudwatch_alarms: Decimal = Decimal(0)


@dataclass(frozen=True)
class RegionPrices:
    region: str
    location: str
    prices: Mapping[str, Price]
    instances: Mapping[str, InstanceType]
    free_tier: FreeTier
    hours_per_month: Decimal = HOURS_PER_MONTH
    # Where the prices come from, shown beside every figure (a fallback region says so).
    source: str = ""

    def __getitem__(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise LaunchlabError(
                f"the price table has no price {key!r} for {self.region}: {REFRESH_HINT}"
            ) from None

    def per_hour(self, key: str) -> Decimal:
        """USD per unit-hour: a monthly price (…_month) spread over the month's hours."""
        usd = self[key].unit_usd
        return usd / self.hours_per_month if key.endswith("_month") else usd

    def instance_per_hour(self, name: str) -> Decimal | None:
        """USD per hour of an instance type, None when the table has no price for it."""
        found = self.instances.get(name)
        return None if found is None else found.hourly.unit_usd

    def committed(self, price: Price, plan: str, family: str) -> Price | None:
        """``price`` under the commitment ``plan`` (compute-sp-1y, ...): the committed rate the
        table holds for that very price (``commitment.<plan>.<price key>``, from the Savings
        Plans API), else the share ``commitment.<plan>.<family>`` saves (ec2, fargate, lambda),
        an estimate; None when the table has neither."""
        exact = self.prices.get(f"commitment.{plan}.{price.key}")
        if exact is not None:
            return exact
        share = self.prices.get(f"commitment.{plan}.{family}")
        if share is None:
            return None
        factor = 1 - share.usd / share.per
        return Price(
            key=share.key,
            usd=price.usd * factor,
            unit=price.unit,
            per=price.per,
            source=share.source,
            date=share.date,
            tiers=tuple(Tier(t.up_to, t.usd * factor) for t in price.tiers),
            basis=share.basis if share.basis != "list" else price.basis,
            note=share.note,
        )

    def spot(self, name: str) -> Price | None:
        """The Spot market price of an instance type the table read (``ec2_spot.<type>``,
        written by `--refresh-prices` from the Spot price history), or None."""
        return self.prices.get(f"ec2_spot.{name}")

    def instance(self, name: str) -> InstanceType:
        try:
            return self.instances[name]
        except KeyError:
            known = ", ".join(sorted(self.instances))
            raise LaunchlabError(
                f"no price for EC2 instance type {name!r} in {self.region} (known: {known}); "
                f"{REFRESH_HINT}"
            ) from None


@dataclass(frozen=True)
class PriceTable:
    path: Path
    raw: Mapping[str, Any]
    retrieved: str

    @property
    def regions(self) -> list[str]:
        return sorted(self.raw["regions"])

    def region(self, region: str) -> RegionPrices:
        regions = self.raw["regions"]
        if region not in regions:
            raise LaunchlabError(
                f"no prices for region {region!r} in {self.path.name} "
                f"(known: {', '.join(self.regions)}); `.venv/bin/launchlab report --refresh-prices "
                f"--region {region}` fetches them from the AWS Price List API"
            )
        data = regions[region]
        free = self.raw["free_tier"]
        return RegionPrices(
            region=region,
            location=str(data["location"]),
            source=f"{self.path.name}, retrieved {self.retrieved}",
            prices={key: _price(key, entry) for key, entry in data["prices"].items()},
            instances={
                name: self._instance(region, name, entry)
                for name, entry in data["ec2_instances"].items()
            },
            free_tier=FreeTier(
                lambda_requests=_decimal(free["lambda_requests"], "free_tier.lambda_requests"),
                lambda_gb_seconds=_decimal(
                    free["lambda_gb_seconds"], "free_tier.lambda_gb_seconds"
                ),
                dto_internet_gb=_decimal(free["dto_internet_gb"], "free_tier.dto_internet_gb"),
                source=str(free["source"]),
                cloudwatch_alarms=_decimal(
                    free.get("cloudwatch_alarms", 0), "free_tier.cloudwatch_alarms"
                ),
            ),
        )

    def _instance(self, region: str, name: str, entry: Mapping[str, Any]) -> InstanceType:
        table = "launchlab/prices/aws.yaml" if self.path == DEFAULT_TABLE else str(self.path)
        stale = sorted(FACT_KEYS & set(entry))
        if stale:
            raise LaunchlabError(
                f"{table}: ec2_instances {name} ({region}) carries {', '.join(stale)}; an "
                f"instance type's facts live in {instance_types.FACTS_NAME}: remove them here"
            )
        try:
            facts = instance_types.load().get(name)
        except instance_types.InstanceFactsError as error:
            raise LaunchlabError(str(error)) from None
        if facts is None:
            raise LaunchlabError(
                f"{table} prices EC2 instance type {name!r} ({region}) but "
                f"{instance_types.FACTS_NAME} does not list it: add it there with its vcpu, "
                "memory_gib, architecture, source and date"
            )
        return InstanceType(
            name=name,
            hourly=_price(f"ec2.{name}", entry),
            vcpu=facts.vcpu,
            memory_gib=facts.memory_gib,
            architecture=facts.architecture,
            baseline_per_vcpu=facts.baseline_per_vcpu,
            facts=facts,
        )


def load_table(path: Path = DEFAULT_TABLE) -> PriceTable:
    raw = read_yaml(path, "the price table")
    if not isinstance(raw, dict) or raw.get("schema_version") != 1 or "regions" not in raw:
        raise LaunchlabError(f"{path} is not a launchlab price table (schema_version 1)")
    table = PriceTable(path=path, raw=raw, retrieved=str(raw.get("retrieved", "?")))
    for region in table.regions:
        table.region(region)  # fail on a malformed entry now, not halfway through a report
    return table


def _decimal(value: Any, what: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise LaunchlabError(f"price table: {what} is not a number: {value!r}") from None
    if not result.is_finite() or result < 0:
        raise LaunchlabError(f"price table: {what} must be a non-negative number: {value!r}")
    return result


def _price(key: str, entry: Mapping[str, Any]) -> Price:
    missing = [field for field in ("usd", "unit", "source", "date") if field not in entry]
    if missing:
        raise LaunchlabError(f"price table: {key} lacks {', '.join(missing)}")
    basis = str(entry.get("basis", "list"))
    if basis not in BASES:
        raise LaunchlabError(f"price table: {key} has basis {basis!r}; allowed: {', '.join(BASES)}")
    return Price(
        key=key,
        usd=_decimal(entry["usd"], key),
        unit=str(entry["unit"]),
        per=_decimal(entry.get("per", 1), f"{key}.per"),
        source=str(entry["source"]),
        date=str(entry["date"]),
        tiers=tuple(
            Tier(
                up_to=None if tier["up_to"] is None else _decimal(tier["up_to"], f"{key}.up_to"),
                usd=_decimal(tier["usd"], f"{key}.tiers"),
            )
            for tier in entry.get("tiers", [])
        ),
        basis=basis,
        note=" ".join(str(entry.get("note", entry.get("basis_note", ""))).split()),
    )

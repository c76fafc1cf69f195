"""``--refresh-prices``: re-read the table's prices from the AWS Price List Query API, and
build a complete entry for a region the table lacks.

Each price key maps to one product query (service code, usage type, attributes). A key the API
does not answer keeps its old value and is reported, so a refresh never loses a price. A new
region is built in the shape of one the table has (its price keys, units and instance types):
every price key must be answered; an instance type the region does not offer is left out. The
Query API is served from us-east-1 (also eu-central-1 and ap-south-1) whatever region is priced.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from launchlab.errors import LaunchlabError

PRICE_LIST_REGION = "us-east-1"
API_SOURCE = "https://api.pricing.us-east-1.amazonaws.com (Price List Query API, GetProducts)"


# Commercial regions: two letters, a direction, a number (us-west-2, ap-southeast-4). China
# (cn-) and GovCloud (us-gov-) are priced by other partitions' Price List endpoints.
COMMERCIAL_REGION = re.compile(r"^(?!cn-)(?!us-gov-)[a-z]{2}-[a-z]+-[0-9]$")
# The region a new entry copies its shape from (keys, units, instance types) when it has it.
TEMPLATE_REGION = "us-east-1"
# Prices that are the same in every region, copied into a new region's entry with their source:
# LMI's management fee is a share (15 %) of the EC2 on-demand price, whatever the region; the
# estimated ECS Managed Instances fee and the estimated Savings Plans discounts are shares too.
REGION_INDEPENDENT = frozenset(
    {"lambda_managed_instances.management_fee", "ecs_managed_instances.management_fee_estimate"}
)
SHARE_UNIT = "share of the on-demand rate saved"
# Per instance type, where AWS publishes it: the ECS Managed Instances management fee, read from
# the AmazonECS offer's usage type `<region prefix>-ECS-Managed-Instances:<type>-management-hours`
# (as AWS's price list names it, e.g. APN1-ECS-Managed-Instances:<type>-management-hours).
MI_FEE_PREFIX = "ecs_managed_instances.management_hour."
SAVINGS_PLANS_SOURCE = (
    "https://savingsplans.amazonaws.com (Savings Plans API, DescribeSavingsPlansOfferingRates)"
)
SPOT_SOURCE = "EC2 DescribeSpotPriceHistory (Linux/UNIX), the highest current price of the zones"
# --commitment plans -> the term in seconds the Savings Plans API gives them.
PLAN_SECONDS = {"compute-sp-1y": 31_536_000, "compute-sp-3y": 94_608_000}
# Savings Plans usage types (without their region prefix) -> the on-demand price key they rate.
SAVINGS_PLAN_USAGE = {
    "Fargate-vCPU-Hours:perCPU": "fargate.vcpu_hour.x86_64",
    "Fargate-GB-Hours": "fargate.gb_hour.x86_64",
    "Fargate-ARM-vCPU-Hours:perCPU": "fargate.vcpu_hour.arm64",
    "Fargate-ARM-GB-Hours": "fargate.gb_hour.arm64",
    "Lambda-GB-Second": "lambda.duration.x86_64",
    "Lambda-GB-Second-ARM": "lambda.duration.arm64",
}


def _region_independent(key: str, entry: Mapping[str, Any]) -> bool:
    return key in REGION_INDEPENDENT or entry.get("unit") == SHARE_UNIT


def _per_type(key: str) -> bool:
    """A price only some instance types have, fetched per type (never required)."""
    return (
        key.startswith(MI_FEE_PREFIX)
        or key.startswith("ec2_spot.")
        or (key.startswith("commitment.") and key.count(".") > 2)
    )


@dataclass(frozen=True)
class Query:
    service_code: str
    usage_suffix: str | None  # the usage type without its region prefix (USE1-, EU-, ...)
    attributes: Mapping[str, str]
    # Data transfer products name their source region in fromRegionCode, not regionCode.
    region_field: str = "regionCode"


def _queries(prices: Mapping[str, Any]) -> dict[str, Query]:
    queries = {
        "lambda.requests": Query("AWSLambda", "Request", {}),
        # Lambda Managed Instances bill requests at Lambda's request rate
        # (https://aws.amazon.com/lambda/pricing/: $0.20 per million in us-east-1, as Lambda).
        "lambda_managed_instances.requests": Query("AWSLambda", "Request", {}),
        "lambda.duration.x86_64": Query("AWSLambda", "Lambda-GB-Second", {}),
        "lambda.duration.arm64": Query("AWSLambda", "Lambda-GB-Second-ARM", {}),
        "fargate.vcpu_hour.x86_64": Query("AmazonECS", "Fargate-vCPU-Hours:perCPU", {}),
        "fargate.gb_hour.x86_64": Query("AmazonECS", "Fargate-GB-Hours", {}),
        "fargate.vcpu_hour.arm64": Query("AmazonECS", "Fargate-ARM-vCPU-Hours:perCPU", {}),
        "fargate.gb_hour.arm64": Query("AmazonECS", "Fargate-ARM-GB-Hours", {}),
        "fargate_spot.vcpu_hour.x86_64": Query(
            "AmazonECS", "SpotUsage-Fargate-vCPU-Hours:perCPU", {}
        ),
        "fargate_spot.gb_hour.x86_64": Query("AmazonECS", "SpotUsage-Fargate-GB-Hours", {}),
        "fargate_spot.vcpu_hour.arm64": Query(
            "AmazonECS", "SpotUsage-Fargate-ARM-vCPU-Hours:perCPU", {}
        ),
        "fargate_spot.gb_hour.arm64": Query("AmazonECS", "SpotUsage-Fargate-ARM-GB-Hours", {}),
        "fargate.ephemeral_gb_hour": Query("AmazonECS", "Fargate-EphemeralStorage-GB-Hours", {}),
        "ebs.gp3.gb_month": Query("AmazonEC2", "EBS:VolumeUsage.gp3", {}),
        "elb.alb_hour": Query(
            "AWSELB", "LoadBalancerUsage", {"productFamily": "Load Balancer-Application"}
        ),
        "elb.alb_lcu_hour": Query(
            "AWSELB", "LCUUsage", {"productFamily": "Load Balancer-Application"}
        ),
        "vpc.public_ipv4_hour": Query("AmazonVPC", "PublicIPv4:InUseAddress", {}),
        # Standard-resolution alarms, per alarm-month.
        "cloudwatch.alarm_month": Query("AmazonCloudWatch", "CW:AlarmMonitorUsage", {}),
        # Unlimited-mode surplus credits: one rate for T3/T3a, one for T4g (per vCPU-hour).
        "ec2.cpu_credits.x86_64": Query("AmazonEC2", "CPUCredits:t3", {}),
        "ec2.cpu_credits.arm64": Query("AmazonEC2", "CPUCredits:t4g", {}),
        "vpc.nat_hour": Query("AmazonEC2", "NatGateway-Hours", {}),
        "vpc.nat_gb": Query("AmazonEC2", "NatGateway-Bytes", {}),
        "vpc.interface_endpoint_hour": Query("AmazonVPC", "VpcEndpoint-Hours", {}),
        "vpc.interface_endpoint_gb": Query("AmazonVPC", "VpcEndpoint-Bytes", {}),
        "logs.ingest_gb": Query("AmazonCloudWatch", "DataProcessing-Bytes", {}),
        "logs.storage_gb_month": Query("AmazonCloudWatch", "TimedStorage-ByteHrs", {}),
        "ecr.storage_gb_month": Query("AmazonECR", "TimedStorage-ByteHrs", {}),
        "apigw.http_api_requests": Query("AmazonApiGateway", "ApiGatewayHttpRequest", {}),
        "dto.internet_gb": Query(
            "AWSDataTransfer",
            "DataTransfer-Out-Bytes",
            {"transferType": "AWS Outbound"},
            region_field="fromRegionCode",
        ),
    }
    return {key: query for key, query in queries.items() if key in prices}


def _fee_query(instance_type: str) -> Query:
    return Query("AmazonECS", f"ECS-Managed-Instances:{instance_type}-management-hours", {})


def _instance_query(instance_type: str) -> Query:
    return Query(
        "AmazonEC2",
        None,
        {
            "instanceType": instance_type,
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
            "licenseModel": "No License required",
        },
    )


@dataclass(frozen=True)
class RefreshResult:
    path: Path
    refreshed: list[str]
    kept: list[str]
    added: list[str] = field(default_factory=list)  # regions built whole
    left_out: list[str] = field(default_factory=list)  # instance types a new region lacks
    # What could not be read, and why (the Savings Plans rates or Spot prices need their own
    # permissions: savingsplans:DescribeSavingsPlansOfferingRates, ec2:DescribeSpotPriceHistory).
    skipped: list[str] = field(default_factory=list)


def default_client() -> Any:
    """A Price List client; AWS_ENDPOINT_URL (e.g. a local stand-in) is honoured by boto3."""
    return boto3.client(
        "pricing",
        region_name=PRICE_LIST_REGION,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )


def check_region(region: str) -> str:
    if not COMMERCIAL_REGION.match(region):
        raise LaunchlabError(
            f"--region must be a commercial AWS region such as us-west-2 or eu-central-1, "
            f"got {region!r}"
        )
    return region


def build_region(
    client: Any, region: str, template: Mapping[str, Any], date: str
) -> tuple[dict[str, Any], list[str]]:
    """A complete price-table entry for ``region`` in the shape of ``template`` (another
    region's entry), and the instance types left out because the region does not offer them."""
    check_region(region)
    entry: dict[str, Any] = {"location": region, "prices": {}, "ec2_instances": {}}
    queries = _queries(template["prices"])
    independent = {k for k, v in template["prices"].items() if _region_independent(k, v)}
    for key in independent:
        entry["prices"][key] = copy.deepcopy(template["prices"][key])
    unanswered = sorted(
        key for key in set(template["prices"]) - set(queries) - independent if not _per_type(key)
    )
    for key, query in queries.items():
        found = _on_demand(client, region, query)
        if found is None:
            unanswered.append(key)
            continue
        dimensions, attributes = found
        entry["location"] = attributes.get("location", entry["location"])
        entry["prices"][key] = _new_entry(template["prices"][key], dimensions, query, date)
    if unanswered:
        raise LaunchlabError(
            f"the AWS Price List API has no price for {', '.join(sorted(unanswered))} in "
            f"{region}: cannot build a complete entry for it"
        )
    left_out = []
    for name, shape in template["ec2_instances"].items():
        found = _on_demand(client, region, _instance_query(name))
        if found is None:
            left_out.append(name)
            continue
        # Prices only: vCPU, memory and architecture are the instance type's, the same in every
        # region, and stacks/instance_types.yaml holds them; the report joins the two.
        entry["ec2_instances"][name] = _new_entry(shape, found[0], _instance_query(name), date)
        fee = _on_demand(client, region, _fee_query(name))
        if fee is not None:
            entry["prices"][MI_FEE_PREFIX + name] = _new_entry(
                {"unit": "instance-hour"}, fee[0], _fee_query(name), date
            )
    return entry, left_out


def _new_entry(
    shape: Mapping[str, Any],
    dimensions: list[Mapping[str, Any]],
    query: Query,
    date: str,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"unit": shape["unit"]}
    if "per" in shape:
        entry["per"] = shape["per"]
    _apply(entry, dimensions)
    entry["source"] = API_SOURCE
    entry["date"] = date
    entry["fetched_from"] = f"{API_SOURCE}: {query.service_code}"
    return entry


def savings_plans_client() -> Any:
    """A Savings Plans client (a global API, served from us-east-1)."""
    return boto3.client("savingsplans", region_name=PRICE_LIST_REGION)


def ec2_client(region: str) -> Any:
    return boto3.client("ec2", region_name=region)


def committed_rates(
    client: Any, region: str, data: Mapping[str, Any], date: str
) -> dict[str, dict[str, Any]]:
    """``commitment.<plan>.<price key>`` entries for ``region``: the no-upfront Compute
    Savings Plans rates of the table's EC2 instance types, Fargate and Lambda duration."""
    found: dict[str, dict[str, Any]] = {}
    plans = {seconds: plan for plan, seconds in PLAN_SECONDS.items()}
    token: str | None = None
    while True:
        request: dict[str, Any] = {
            "savingsPlanTypes": ["Compute"],
            "savingsPlanPaymentOptions": ["No Upfront"],
            "products": ["EC2", "Fargate", "Lambda"],
            "filters": [{"name": "region", "values": [region]}],
        }
        if token:
            request["nextToken"] = token
        try:
            page = client.describe_savings_plans_offering_rates(**request)
        except (ClientError, BotoCoreError) as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise LaunchlabError(f"the Savings Plans API failed: {first_line}") from None
        for result in page.get("searchResults", []):
            plan = plans.get(int(result.get("savingsPlanOffering", {}).get("durationSeconds", 0)))
            properties = {p.get("name"): p.get("value") for p in result.get("properties", [])}
            usage = _without_region(str(result.get("usageType", "")))
            key = SAVINGS_PLAN_USAGE.get(usage)
            linux = properties.get("productDescription", "Linux/UNIX") == "Linux/UNIX"
            shared = properties.get("tenancy", "shared").lower() == "shared"
            if usage.startswith("BoxUsage:") and linux and shared:
                name = usage.removeprefix("BoxUsage:")
                key = f"ec2.{name}" if name in data["ec2_instances"] else None
            if plan is None or key is None:
                continue
            shape = data["ec2_instances"].get(key.removeprefix("ec2.")) or data["prices"].get(key)
            if shape is None:
                continue
            entry: dict[str, Any] = {"unit": shape["unit"]}
            if "per" in shape:
                entry["per"] = shape["per"]
            per = Decimal(str(shape.get("per", 1)))
            entry["usd"] = _plain(Decimal(str(result["rate"])) * per)
            entry["source"] = SAVINGS_PLANS_SOURCE
            entry["date"] = date
            found[f"commitment.{plan}.{key}"] = entry
        token = page.get("nextToken")
        if not token:
            return found


def spot_prices(client: Any, data: Mapping[str, Any], date: str) -> dict[str, dict[str, Any]]:
    """``ec2_spot.<type>`` entries: each instance type's current Spot price (the highest of the
    region's zones, so it errs high), a market price read today."""
    names = list(data["ec2_instances"])
    latest: dict[tuple[str, str], tuple[str, Decimal]] = {}
    try:
        paginator = client.get_paginator("describe_spot_price_history")
        for page in paginator.paginate(
            InstanceTypes=names,
            ProductDescriptions=["Linux/UNIX"],
            StartTime=dt.datetime.now(dt.UTC),
        ):
            for item in page.get("SpotPriceHistory", []):
                where = (str(item["InstanceType"]), str(item.get("AvailabilityZone", "")))
                when = str(item.get("Timestamp", ""))
                if where not in latest or when > latest[where][0]:
                    latest[where] = (when, Decimal(str(item["SpotPrice"])))
    except (ClientError, BotoCoreError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LaunchlabError(f"the EC2 Spot price history failed: {first_line}") from None
    highest: dict[str, Decimal] = {}
    for (name, _), (_, price) in latest.items():
        highest[name] = max(price, highest.get(name, Decimal(0)))
    return {
        f"ec2_spot.{name}": {
            "usd": _plain(price),
            "unit": "instance-hour",
            "basis": "market",
            "source": SPOT_SOURCE,
            "date": date,
        }
        for name, price in sorted(highest.items())
    }


def refresh_table(
    source: Path,
    destination: Path,
    client_factory: Callable[[], Any] = default_client,
    today: dt.date | None = None,
    add_region: str | None = None,
    savings_plans_factory: Callable[[], Any] | None = None,
    ec2_factory: Callable[[str], Any] | None = None,
) -> RefreshResult:
    """Refresh ``source`` into ``destination``. With ``savings_plans_factory`` the Compute
    Savings Plans rates are read too, and with ``ec2_factory`` (a client per region) the Spot
    prices; without them those entries keep their values."""
    raw = yaml.safe_load(source.read_text())
    updated = copy.deepcopy(raw)
    date = (today or dt.date.today()).isoformat()
    client = client_factory()
    refreshed: list[str] = []
    kept: list[str] = []
    added: list[str] = []
    left_out: list[str] = []
    skipped: list[str] = []
    regions = updated["regions"]
    if add_region is not None and add_region not in regions:
        template = regions.get(TEMPLATE_REGION) or next(iter(regions.values()))
        regions[add_region], left_out = build_region(client, add_region, template, date)
        added.append(add_region)
    for region, data in regions.items():
        if region in added:
            continue
        jobs: list[tuple[str, dict[str, Any], Query]] = [
            (key, data["prices"][key], query) for key, query in _queries(data["prices"]).items()
        ]
        jobs += [
            (f"ec2.{name}", entry, _instance_query(name))
            for name, entry in data["ec2_instances"].items()
        ]
        for key, entry, query in jobs:
            found = _on_demand(client, region, query)
            if found is None:
                kept.append(f"{region}/{key}")
                continue
            _apply(entry, found[0])
            entry["date"] = date
            entry["fetched_from"] = f"{API_SOURCE}: {query.service_code}"
            refreshed.append(f"{region}/{key}")
        for name in data["ec2_instances"]:
            key = MI_FEE_PREFIX + name
            fee = _on_demand(client, region, _fee_query(name))
            if fee is None:
                if key in data["prices"]:
                    kept.append(f"{region}/{key}")
                continue
            data["prices"][key] = _new_entry(
                {"unit": "instance-hour"}, fee[0], _fee_query(name), date
            )
            refreshed.append(f"{region}/{key}")
        extra: dict[str, dict[str, Any]] = {}
        try:
            if savings_plans_factory is not None:
                extra.update(committed_rates(savings_plans_factory(), region, data, date))
        except LaunchlabError as error:
            skipped.append(f"{region} Savings Plans rates ({error})")
        try:
            if ec2_factory is not None:
                extra.update(spot_prices(ec2_factory(region), data, date))
        except LaunchlabError as error:
            skipped.append(f"{region} Spot prices ({error})")
        data["prices"].update(extra)
        refreshed.extend(f"{region}/{key}" for key in extra)
    updated["retrieved"] = date
    destination.write_text(yaml.safe_dump(updated, sort_keys=False, width=100))
    return RefreshResult(destination, refreshed, kept, added, left_out, skipped)


def _filters(region: str, query: Query) -> list[dict[str, str]]:
    filters = [{"Type": "TERM_MATCH", "Field": query.region_field, "Value": region}]
    if query.usage_suffix:
        filters.append({"Type": "CONTAINS", "Field": "usagetype", "Value": query.usage_suffix})
    filters += [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in query.attributes.items()
    ]
    return filters


def _products(client: Any, region: str, query: Query) -> Iterator[Mapping[str, Any]]:
    paginator = client.get_paginator("get_products")
    try:
        for page in paginator.paginate(
            ServiceCode=query.service_code,
            Filters=_filters(region, query),
            FormatVersion="aws_v1",
        ):
            for item in page.get("PriceList", []):
                yield json.loads(item) if isinstance(item, str) else item
    except (ClientError, BotoCoreError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise LaunchlabError(f"the AWS Price List API failed: {first_line}") from None


def _without_region(usage_type: str) -> str:
    """A usage type without its region prefix (USE1-, EU-, APN1-), if it has one."""
    prefix, _, rest = usage_type.partition("-")
    return rest if rest and prefix.isalnum() and prefix.isupper() else usage_type


def _usage_matches(usage_type: str, suffix: str) -> bool:
    """The usage type is the suffix, with at most a region prefix (USE1-, EU-, APN1-, ...):
    CONTAINS "Fargate-GB-Hours" must not pick "USE1-SpotUsage-Fargate-GB-Hours"."""
    if usage_type == suffix:
        return True
    prefix, _, rest = usage_type.partition("-")
    return rest == suffix and prefix.isalnum() and prefix.isupper()


def _on_demand(
    client: Any, region: str, query: Query
) -> tuple[list[Mapping[str, Any]], Mapping[str, Any]] | None:
    """The first matching product's on-demand price dimensions (by range) and its attributes."""
    for product in _products(client, region, query):
        attributes = product.get("product", {}).get("attributes", {})
        usage = str(attributes.get("usagetype", ""))
        if query.usage_suffix and not _usage_matches(usage, query.usage_suffix):
            continue
        dimensions = [
            dimension
            for term in product.get("terms", {}).get("OnDemand", {}).values()
            for dimension in term.get("priceDimensions", {}).values()
        ]
        if dimensions:
            ordered = sorted(dimensions, key=lambda d: Decimal(str(d.get("beginRange", "0"))))
            # A first tier at $0 is a free allowance (data out): the model applies the free
            # tier itself (free_tier in the table), so it is not priced twice.
            while len(ordered) > 1 and Decimal(ordered[0]["pricePerUnit"]["USD"]) == 0:
                ordered = ordered[1:]
            return ordered, attributes
    return None


def _apply(entry: dict[str, Any], dimensions: list[Mapping[str, Any]]) -> None:
    per = Decimal(str(entry.get("per", 1)))

    def usd(dimension: Mapping[str, Any]) -> str:
        return _plain(Decimal(dimension["pricePerUnit"]["USD"]) * per)

    entry["usd"] = usd(dimensions[0])
    if len(dimensions) > 1 or "tiers" in entry:
        entry["tiers"] = [
            {
                "up_to": None
                if str(d.get("endRange", "Inf")) == "Inf"
                else int(Decimal(str(d["endRange"]))),
                "usd": usd(d),
            }
            for d in dimensions
        ]


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"

"""``--refresh-prices``: re-read the table's prices from the AWS Price List Query API.

Each price key maps to one product query (service code, usage type, attributes). A key the API
does not answer keeps its old value and is reported, so a refresh never loses a price. The
Query API is served from us-east-1 (also eu-central-1 and ap-south-1) whatever region is priced.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Query:
    service_code: str
    usage_suffix: str | None  # the usage type without its region prefix (USE1-, EU-, ...)
    attributes: Mapping[str, str]


def _queries(prices: Mapping[str, Any]) -> dict[str, Query]:
    queries = {
        "lambda.requests": Query("AWSLambda", "Request", {}),
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
        "ebs.gp3.gb_month": Query("AmazonEC2", "EBS:VolumeUsage.gp3", {}),
        "elb.alb_hour": Query(
            "AWSELB", "LoadBalancerUsage", {"productFamily": "Load Balancer-Application"}
        ),
        "elb.alb_lcu_hour": Query(
            "AWSELB", "LCUUsage", {"productFamily": "Load Balancer-Application"}
        ),
        "vpc.public_ipv4_hour": Query("AmazonVPC", "PublicIPv4:InUseAddress", {}),
        "vpc.nat_hour": Query("AmazonEC2", "NatGateway-Hours", {}),
        "vpc.nat_gb": Query("AmazonEC2", "NatGateway-Bytes", {}),
        "vpc.interface_endpoint_hour": Query("AmazonVPC", "VpcEndpoint-Hours", {}),
        "logs.ingest_gb": Query("AmazonCloudWatch", "DataProcessing-Bytes", {}),
        "logs.storage_gb_month": Query("AmazonCloudWatch", "TimedStorage-ByteHrs", {}),
        "ecr.storage_gb_month": Query("AmazonECR", "TimedStorage-ByteHrs", {}),
        "apigw.http_api_requests": Query("AmazonApiGateway", "ApiGatewayHttpRequest", {}),
    }
    return {key: query for key, query in queries.items() if key in prices}


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


def default_client() -> Any:
    """A Price List client; AWS_ENDPOINT_URL (e.g. a local stand-in) is honoured by boto3."""
    return boto3.client(
        "pricing",
        region_name=PRICE_LIST_REGION,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )


def refresh_table(
    source: Path,
    destination: Path,
    client_factory: Callable[[], Any] = default_client,
    today: dt.date | None = None,
) -> RefreshResult:
    raw = yaml.safe_load(source.read_text())
    updated = copy.deepcopy(raw)
    date = (today or dt.date.today()).isoformat()
    client = client_factory()
    refreshed: list[str] = []
    kept: list[str] = []
    for region, data in updated["regions"].items():
        jobs: list[tuple[str, dict[str, Any], Query]] = [
            (key, data["prices"][key], query) for key, query in _queries(data["prices"]).items()
        ]
        jobs += [
            (f"ec2.{name}", entry, _instance_query(name))
            for name, entry in data["ec2_instances"].items()
        ]
        for key, entry, query in jobs:
            dimensions = _on_demand_dimensions(client, region, query)
            if not dimensions:
                kept.append(f"{region}/{key}")
                continue
            _apply(entry, dimensions)
            entry["date"] = date
            entry["fetched_from"] = f"{API_SOURCE}: {query.service_code}"
            refreshed.append(f"{region}/{key}")
    updated["retrieved"] = date
    destination.write_text(yaml.safe_dump(updated, sort_keys=False, width=100))
    return RefreshResult(destination, refreshed, kept)


def _filters(region: str, query: Query) -> list[dict[str, str]]:
    filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
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


def _usage_matches(usage_type: str, suffix: str) -> bool:
    """The usage type is the suffix, with at most a region prefix (USE1-, EU-, APN1-, ...):
    CONTAINS "Fargate-GB-Hours" must not pick "USE1-SpotUsage-Fargate-GB-Hours"."""
    if usage_type == suffix:
        return True
    prefix, _, rest = usage_type.partition("-")
    return rest == suffix and prefix.isalnum() and prefix.isupper()


def _on_demand_dimensions(client: Any, region: str, query: Query) -> list[Mapping[str, Any]]:
    for product in _products(client, region, query):
        usage = str(product.get("product", {}).get("attributes", {}).get("usagetype", ""))
        if query.usage_suffix and not _usage_matches(usage, query.usage_suffix):
            continue
        dimensions = [
            dimension
            for term in product.get("terms", {}).get("OnDemand", {}).values()
            for dimension in term.get("priceDimensions", {}).values()
        ]
        if dimensions:
            return sorted(dimensions, key=lambda d: Decimal(str(d.get("beginRange", "0"))))
    return []


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

"""Prices for any commercial region: `report --refresh-prices --region R` builds R's entry from
the AWS Price List Query API, and `launchlab up` prices a region the table lacks the same way.

moto does not implement the Price List API (tests/test_report.py shows it failing), so a small
GetProducts server on 127.0.0.1 stands in for it: a catalogue in the API's aws_v1 format,
filtered as the API filters (TERM_MATCH, CONTAINS), answering a real boto3 client over HTTP.
Its prices are the us-east-1 table's times 1.1, so a value that came from it is recognisable.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from launchlab.aws import costs
from launchlab.cli import main
from launchlab.report import refresh
from launchlab.report.cost import Assumptions
from launchlab.report.model import build_report
from launchlab.report.prices import DEFAULT_TABLE, load_table
from launchlab.report.profile import PRESETS
from tests.test_verdict import inventory_of

REGION = "us-west-2"
LOCATION = "US West (Oregon)"
FACTOR = Decimal("1.1")
NOT_OFFERED = "m7i.large"  # left out of the catalogue: the new entry must leave it out too


def _product(service: str, attributes: Mapping[str, str], dims: list[dict[str, str]]) -> str:
    sku = f"SKU{abs(hash((service, tuple(sorted(attributes.items()))))) % 10**8}"
    dimensions = {
        f"{sku}.T.{i}": {"unit": "x", "beginRange": d["begin"], "endRange": d["end"],
                         "pricePerUnit": {"USD": d["usd"]}, "description": ""}
        for i, d in enumerate(dims)
    }  # fmt: skip
    return json.dumps(
        {
            "product": {"sku": sku, "attributes": {**attributes, "servicecode": service}},
            "serviceCode": service,
            "terms": {"OnDemand": {f"{sku}.T": {"priceDimensions": dimensions}}},
        }
    )


def _dims(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    """The table entry's price per unit (tiers included) times FACTOR, as API dimensions."""
    per = Decimal(str(entry.get("per", 1)))
    tiers = entry.get("tiers") or [{"up_to": None, "usd": entry["usd"]}]
    out, begin = [], "0"
    for tier in tiers:
        end = "Inf" if tier["up_to"] is None else str(tier["up_to"])
        usd = Decimal(str(tier["usd"])) / per * FACTOR
        out.append({"begin": begin, "end": end, "usd": format(usd.normalize(), "f")})
        begin = end
    return out


def catalogue(region: str) -> list[tuple[str, dict[str, str], str]]:
    """(service code, attributes, product JSON) for every query a new region's entry makes."""
    template = yaml.safe_load(DEFAULT_TABLE.read_text())["regions"]["us-east-1"]
    products = []
    for key, query in refresh._queries(template["prices"]).items():
        assert query.usage_suffix is not None
        attributes = {
            query.region_field: region,
            "location": LOCATION,
            "usagetype": f"USW2-{query.usage_suffix}",
            **query.attributes,
        }
        dims = _dims(template["prices"][key])
        if key == "dto.internet_gb":  # the API lists the free 100 GB as a $0 first tier
            dims = [{"begin": "0", "end": "100", "usd": "0"}, *dims]
            dims[1]["begin"] = "100"
        products.append(
            (query.service_code, attributes, _product(query.service_code, attributes, dims))
        )
    # A decoy the on-demand Fargate query must skip: CONTAINS "Fargate-GB-Hours" matches it.
    decoy = {"regionCode": region, "usagetype": "USW2-Fargate-GB-Hours-SpotDiscount"}
    nine = [{"begin": "0", "end": "Inf", "usd": "9"}]
    products.insert(0, ("AmazonECS", decoy, _product("AmazonECS", decoy, nine)))
    for name, entry in template["ec2_instances"].items():
        if name == NOT_OFFERED:
            continue
        attributes = {**refresh._instance_query(name).attributes, "regionCode": region,
                      "location": LOCATION, "usagetype": f"USW2-BoxUsage:{name}"}  # fmt: skip
        products.append(("AmazonEC2", attributes, _product("AmazonEC2", attributes, _dims(entry))))
    return products


class PriceListHandler(BaseHTTPRequestHandler):
    products: ClassVar[list[tuple[str, dict[str, str], str]]] = []
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.headers["X-Amz-Target"] == "AWSPriceListService.GetProducts"
        type(self).requests.append(body)

        def matches(service: str, attributes: Mapping[str, str]) -> bool:
            if service != body["ServiceCode"]:
                return False
            for f in body.get("Filters", []):
                value = attributes.get(f["Field"], "")
                if f["Type"] == "TERM_MATCH" and value != f["Value"]:
                    return False
                if f["Type"] == "CONTAINS" and f["Value"] not in value:
                    return False
            return True

        found = [doc for service, attrs, doc in self.products if matches(service, attrs)]
        payload = json.dumps({"FormatVersion": "aws_v1", "PriceList": found}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def price_list(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[PriceListHandler]]:
    PriceListHandler.products = catalogue(REGION)
    PriceListHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PriceListHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    costs.priced_table.cache_clear()
    try:
        yield PriceListHandler
    finally:
        costs.priced_table.cache_clear()
        server.shutdown()
        server.server_close()
        thread.join()


def test_refresh_prices_builds_a_complete_entry_for_a_new_region(
    synth: Any,
    tmp_path: Path,
    price_list: type[PriceListHandler],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    prices = tmp_path / "aws.yaml"
    prices.write_text(DEFAULT_TABLE.read_text())
    args = ["report", "--cdk-out", str(synth.outdir), "--prices", str(prices), "--region", REGION]
    assert main([*args, "--out", str(tmp_path / "r")]) == 2
    assert f"--refresh-prices --region {REGION}" in capsys.readouterr().err
    assert not price_list.requests
    assert main([*args, "--refresh-prices", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert f"added {REGION} to {prices}" in out and f"not offered there: {NOT_OFFERED}" in out

    table = load_table(prices)
    east, west = table.region("us-east-1"), table.region(REGION)
    assert west.location == LOCATION
    # Complete: every key the report can need (a fee AWS published for one type in us-east-1
    # only comes per type, where the API has it).
    published = {k for k in east.prices if k.startswith(refresh.MI_FEE_PREFIX)}
    assert set(west.prices) == set(east.prices) - published
    assert set(west.instances) == set(east.instances) - {NOT_OFFERED}
    for key, price in west.prices.items():
        if key in refresh.REGION_INDEPENDENT or price.unit == refresh.SHARE_UNIT:
            assert price == east[key]  # copied, with its source and date
            continue
        assert price.date and price.source.startswith("https://api.pricing.")
        expected = [t.usd * FACTOR for t in east[key].tiers] or [east[key].usd * FACTOR]
        got = [t.usd for t in price.tiers] or [price.usd]
        assert got == expected, key  # the API's price (not the decoy, no $0 free tier)
    t3 = west.instance("t3.small")
    assert t3.hourly.usd == east.instance("t3.small").hourly.usd * FACTOR
    assert (t3.vcpu, t3.memory_gib, t3.architecture) == (2, Decimal(2), "x86_64")
    # The report prices the new region: each launch type costs more than in us-east-1.
    document = json.loads((tmp_path / "r" / "report.json").read_text())
    assert document["region"] == REGION
    inventory = inventory_of(synth)
    profile = PRESETS["steady-small-business"]
    there = build_report("x", inventory, table, REGION, profile, Assumptions())
    here = build_report("x", inventory, table, "us-east-1", profile, Assumptions())
    for lt, found in there.estimates.items():
        assert found.total > here.estimates[lt].total


@pytest.mark.parametrize("region", ["mars-1", "cn-north-1", "us-gov-west-1"])
def test_refresh_prices_refuses_what_is_not_a_commercial_region(
    synth: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], region: str
) -> None:
    code = main(
        ["report", "--cdk-out", str(synth.outdir), "--refresh-prices", "--region", region,
         "--prices", str(tmp_path / "none.yaml"), "--out", str(tmp_path)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--region must be a commercial AWS region" in err
    assert len(err.strip().splitlines()) == 1


def test_up_prices_a_region_the_table_lacks_from_the_price_list(
    price_list: type[PriceListHandler],
) -> None:
    prices = costs.hourly_prices(REGION)
    assert prices.region == REGION
    assert "us-west-2 priced from the AWS Price List Query API" in prices.source
    east = load_table().region("us-east-1")
    assert prices["elb.alb_hour"].usd == east["elb.alb_hour"].usd * FACTOR
    assert price_list.requests  # it asked


def test_up_falls_back_to_us_east_1_when_the_price_list_has_nothing(
    price_list: type[PriceListHandler],
) -> None:
    price_list.products = []
    prices = costs.hourly_prices("ap-southeast-4")
    assert "us-east-1 prices: the table has none for ap-southeast-4" in prices.source
    assert prices["elb.alb_hour"].usd == load_table().region("us-east-1")["elb.alb_hour"].usd

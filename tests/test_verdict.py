"""The report's verdict: cheapest, runner-up, bands and flip points, each recomputed here from
the cost model (``cost.estimate``) at the points the verdict summarizes, and the one-screen
terminal output that shows it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from launchlab.assembly import Assembly
from launchlab.cli import main
from launchlab.report import breakeven, render
from launchlab.report.cost import Assumptions, cents, estimate
from launchlab.report.inventory import Inventory, Network, read_inventory
from launchlab.report.model import Report, build_report, to_json
from launchlab.report.prices import DEFAULT_TABLE, load_table
from launchlab.report.profile import PRESETS, TrafficProfile
from launchlab.report.verdict import Sensitivity
from stacks import launch_types
from tests.conftest import Synthesized

SCHEMA = json.loads((DEFAULT_TABLE.parent.parent / "report" / "schema.json").read_text())
REGION = "us-east-1"
SMALL_BUSINESS = PRESETS["steady-small-business"]


def inventory_of(app: Synthesized) -> Inventory:
    return read_inventory(Assembly(outdir=app.outdir, templates=app.templates))


def totals(
    inventory: Inventory, profile: TrafficProfile, assumptions: Assumptions
) -> dict[str, Decimal]:
    prices = load_table().region(REGION)
    return {
        lt: estimate(inventory, lt, prices, profile, assumptions).total
        for lt in inventory.launch_types
    }


def cheapest(costs: dict[str, Decimal]) -> str:
    return min(costs, key=lambda lt: costs[lt])


@pytest.fixture(scope="module")
def inventory(synth: Synthesized) -> Inventory:
    return inventory_of(synth)


@pytest.fixture(scope="module")
def small_business(inventory: Inventory) -> Report:
    return build_report("x", inventory, load_table(), REGION, SMALL_BUSINESS, Assumptions())


def test_the_verdict_names_the_cheapest_and_the_runner_up(
    inventory: Inventory, small_business: Report
) -> None:
    costs = totals(inventory, SMALL_BUSINESS, Assumptions())
    order = sorted(costs, key=lambda lt: costs[lt])
    verdict = small_business.verdict
    assert (verdict.cheapest, verdict.runner_up) == (order[0], order[1])
    assert verdict.requests_per_month == 20_000_000
    document = to_json(small_business)["verdict"]
    assert document["cheapest_monthly_usd"] == float(cents(costs[order[0]]))
    assert document["runner_up_monthly_usd"] == float(cents(costs[order[1]]))
    # The sentence the issue asked for, with the figures of the line items.
    gap = cents(costs[order[1]]) - cents(costs[order[0]])
    best, runner = (launch_types.label(lt) for lt in order[:2])
    assert document["summary"].startswith(
        f"At 20M requests a month {best} is cheapest (${cents(costs[order[0]])}/month) until about "
    )
    assert (
        f"the runner-up, {runner}, costs ${cents(costs[order[1]])} (${gap} more)"
        in (document["summary"])
    )


@pytest.mark.parametrize("capacity", [None, 50.0])
def test_bands_are_where_each_launch_type_really_is_cheapest(
    inventory: Inventory, capacity: float | None
) -> None:
    assumptions = Assumptions(task_capacity_rps=capacity)
    report = build_report("x", inventory, load_table(), REGION, SMALL_BUSINESS, assumptions)
    bands = report.verdict.bands

    def at(requests: float) -> dict[str, Decimal]:
        return totals(inventory, SMALL_BUSINESS.with_requests(requests), assumptions)

    assert len(bands) >= 2  # the default templates do change winner within the range
    assert bands[0].low == breakeven.RANGE[0] and bands[-1].high == breakeven.RANGE[1]
    for left, right in itertools.pairwise(bands):
        assert left.high == right.low and left.cheapest != right.cheapest
        edge = left.high
        below, above = at(edge * (1 - 1e-9)), at(edge * (1 + 1e-9))
        assert cheapest(below) == left.cheapest and cheapest(above) == right.cheapest
        # At the edge the two totals are within one step of each other: a cent where the
        # curves cross, the size of the step where a task or instance is added.
        gap = abs(above[left.cheapest] - above[right.cheapest])
        jump = max(abs(above[lt] - below[lt]) for lt in (left.cheapest, right.cheapest))
        if left.ends_by == "cross":
            assert gap <= Decimal("0.02") and jump <= Decimal("0.01")
        else:
            assert left.ends_by == "step" and jump > Decimal("1") and gap <= jump
    for band in bands:
        # Sample points strictly inside the band: its launch type is the cheapest at each.
        ratio = band.high / band.low
        for share in (0.01, 0.2, 0.5, 0.8, 0.99):
            requests = band.low * ratio**share
            costs = at(requests)
            assert costs[band.cheapest] == min(costs.values()), (band, requests, costs)


def test_step_functions_make_bands_not_flipping_pairs(small_business: Report) -> None:
    """At 20M requests Lambda wins until about 54M, then ECS on EC2 (the issue's example); the
    instance count steps hand it back to Lambda for a while before ECS on EC2 wins for good."""
    bands = [(b.cheapest, b.ends_by) for b in small_business.verdict.bands]
    assert bands == [
        ("lambda", "cross"),
        ("ecs-ec2", "step"),
        ("lambda", "cross"),
        ("ecs-ec2", None),
    ]
    edges = [b.high for b in small_business.verdict.bands[:-1]]
    assert 53e6 < edges[0] < 55e6 and 58e6 < edges[1] < 60e6 and 75e6 < edges[2] < 77e6
    summary = render.verdict_blocks(small_business)[0][0]
    assert "Lambda is cheapest ($41.09/month) until about 53.9M, then ECS on EC2" in summary


def _check_flip(
    s: Sensitivity, here: str, cost_at: Callable[[float], dict[str, Decimal]], whole: bool
) -> None:
    for flip, direction in ((s.below, -1), (s.above, 1)):
        if flip is None:
            # No flip that way: the verdict holds at sample points out to the range's end.
            end = s.low if direction < 0 else s.high
            for share in (0.25, 0.5, 0.75, 1.0):
                value = s.value * (end / s.value) ** share
                assert cheapest(cost_at(value)) == here, (s.assumption, value)
            continue
        assert flip.cheapest != here
        assert cheapest(cost_at(flip.value)) == flip.cheapest
        # Just short of the flip the verdict still holds, and all the way from the value used.
        short = flip.value - direction if whole else flip.value * (1 - direction * 1e-6)
        assert cheapest(cost_at(short)) == here, (s.assumption, short)
        for share in (0.2, 0.5, 0.8):
            value = s.value * (short / s.value) ** share
            assert cheapest(cost_at(value)) == here, (s.assumption, value)


def _flip_costs(
    inventory: Inventory, profile: TrafficProfile
) -> dict[str, Callable[[float], dict[str, Decimal]]]:
    """Each searched assumption set to a value, everything else as the report had it."""

    lambda_unit = inventory.launch_types["lambda"]
    assert lambda_unit.function is not None
    configured = lambda_unit.function.memory_mb

    def with_memory(mb: float) -> dict[str, Decimal]:
        """Lambda at ``mb``: its CPU (1 vCPU at 1,769 MB, no more used) runs the CPU quarter
        of each request proportionally faster or slower; the other launch types as they are."""
        function = dataclasses.replace(lambda_unit.function, memory_mb=round(mb))  # type: ignore[arg-type]
        cpu_ms = profile.avg_duration_ms * Assumptions().cpu_share
        duration = profile.avg_duration_ms - cpu_ms + cpu_ms * min(configured, 1769) / min(mb, 1769)
        found = totals(inventory, profile, Assumptions())
        found["lambda"] = estimate(
            only_lambda(dataclasses.replace(lambda_unit, function=function)),
            "lambda",
            load_table().region(REGION),
            dataclasses.replace(profile, avg_duration_ms=duration),
            Assumptions(),
        ).total
        return found

    return {
        "cpu_share": lambda v: totals(inventory, profile, Assumptions(cpu_share=v)),
        "avg_duration_ms": lambda v: totals(
            inventory, dataclasses.replace(profile, avg_duration_ms=v), Assumptions()
        ),
        "lambda_memory_mb": with_memory,
    }


def only_lambda(unit: Any) -> Inventory:
    return Inventory(Network(0, 0, 0, 0), (), (), 0, {"lambda": unit})


def test_flips_below_and_above_at_high_traffic(inventory: Inventory) -> None:
    """At 100M requests ECS on EC2 wins; a shorter request or a smaller Lambda hands it to
    Lambda, a larger CPU share (more tasks) to another launch type."""
    profile = SMALL_BUSINESS.with_requests(100_000_000)
    report = build_report("x", inventory, load_table(), REGION, profile, Assumptions())
    here = report.verdict.cheapest
    assert here == "ecs-ec2"
    costs = _flip_costs(inventory, profile)
    found = {s.assumption: s for s in report.verdict.sensitivities}
    for key, s in found.items():
        _check_flip(s, here, costs[key], whole=key == "lambda_memory_mb")
    duration, memory = found["avg_duration_ms"].below, found["lambda_memory_mb"].below
    assert duration is not None and duration.cheapest == "lambda"
    assert memory is not None and memory.cheapest == "lambda"


def test_flip_points_are_where_the_cheapest_changes(
    inventory: Inventory, small_business: Report
) -> None:
    here = small_business.verdict.cheapest
    found = {s.assumption: s for s in small_business.verdict.sensitivities}
    assert set(found) == {"cpu_share", "avg_duration_ms", "lambda_memory_mb"}
    costs = _flip_costs(inventory, SMALL_BUSINESS)
    for key, s in found.items():
        _check_flip(s, here, costs[key], whole=key == "lambda_memory_mb")
    # By hand: Lambda at m MB costs $34.42 (requests, logs, image, data out) plus
    # (20M x d(m) x m/1024 GB - 400,000 free GB-s) x $0.0000166667, where the request's 20 ms
    # of CPU (a quarter of 80 ms) runs 512/m times as long: d = 60 + 10,240/m ms, billed by
    # the whole ms, and no shorter than at 1,769 MB (one vCPU): 66 ms. ECS on EC2 stays at
    # $73.70, so they meet at m = 2,138.6 MB and ECS on EC2 is cheaper from 2,139 MB (at a
    # fixed 80 ms it was 1,765 MB: memory alone never made Lambda's CPU faster).
    memory = found["lambda_memory_mb"]
    assert memory.value == 512 and memory.above is not None and memory.below is None
    assert (memory.above.value, memory.above.cheapest) == (2139, "ecs-ec2")
    duration = found["avg_duration_ms"].above
    assert duration is not None and duration.cheapest == "ecs-ec2"
    assert 400 < duration.value < 700
    assert found["cpu_share"].below is None and found["cpu_share"].above is None


def test_a_set_task_capacity_makes_the_cpu_share_moot(inventory: Inventory) -> None:
    report = build_report(
        "x", inventory, load_table(), REGION, SMALL_BUSINESS, Assumptions(task_capacity_rps=9)
    )
    cpu = next(s for s in report.verdict.sensitivities if s.assumption == "cpu_share")
    assert cpu.note.startswith("no effect") and cpu.below is None and cpu.above is None


def test_terminal_output_fits_one_screen_and_leads_with_the_verdict(
    synth: Synthesized,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["report", "--cdk-out", str(synth.outdir), "--out", str(tmp_path)]
    for preset in PRESETS:
        assert main([*args, "--preset", preset]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) <= 40, (preset, len(lines))
        assert max(len(line) for line in lines) <= 80
        document = json.loads((tmp_path / "report.json").read_text())
        jsonschema.validate(document, SCHEMA)
        text = "\n".join(lines)
        verdict_at = text.index("Verdict")
        assert verdict_at < text.index("Monthly cost at this traffic") < text.index("wrote ")
        assert ": line items" not in text and "Operational burden" not in text
        # The sentence is the JSON's, word for word (rich only wraps it).
        assert document["verdict"]["summary"] in " ".join(text.split())
        assert f"in {tmp_path}" in text.replace("\n", "")
        if preset == "steady-small-business":
            svg = (tmp_path / "cost-vs-requests.svg").read_bytes()
    assert main([*args, "--preset", "steady-small-business", "--details"]) == 0
    text = capsys.readouterr().out
    assert "ECS on EC2: line items" in text and "Exact break-even points" in text
    assert "Operational burden" in text
    # The same report draws the same chart: the SVG is byte for byte the one written before.
    assert (tmp_path / "cost-vs-requests.svg").read_bytes() == svg


def test_notes_and_assumptions_are_prose_with_units(small_business: Report) -> None:
    lines = render.notes(small_business) + render.assumption_lines(small_business)
    assert len(render.assumption_lines(small_business)) == len(vars(small_business.assumptions))
    for line in lines:
        assert not any(token in line for token in ("True", "False", "None", "[", "_")), line
    text = "\n".join(lines)
    assert "25% of each request's duration is spent on CPU (--cpu-share)" in text
    assert "ecs-ec2: 3 tasks fit on one instance; it runs 2 tasks on 1 instance" in text
    markdown = render.markdown(small_business, "chart.png")
    assert markdown.index("## Verdict") < markdown.index("## Monthly cost")
    assert "- free_tier" not in markdown and "task_capacity_rps:" not in markdown


def test_peaky_notes_say_both_levels(inventory: Inventory) -> None:
    report = build_report("x", inventory, load_table(), REGION, PRESETS["spiky"], Assumptions())
    text = "\n".join(render.notes(report))
    assert "at the peak (2 h a day)" in text and "the rest of the day" in text
    assert math.isfinite(report.verdict.requests_per_month)


def test_the_chart_marks_the_traffic_shades_the_bands_and_no_labels_overlap(
    small_business: Report,
) -> None:
    from matplotlib.colors import to_rgb

    figure = render.chart_figure(small_business)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    whole, near = figure.axes[:2]
    assert (whole.get_xscale(), whole.get_yscale()) == ("log", "log")
    assert (near.get_xscale(), near.get_yscale()) == ("linear", "linear")
    bands = small_business.verdict.bands
    for axes in (whole, near):
        traffic = [line for line in axes.lines if line.get_gid() == "profile-traffic"]
        assert len(traffic) == 1 and list(traffic[0].get_xdata()) == [20_000_000] * 2
        shades = [patch for patch in axes.patches if patch.get_gid() == "band"]
        low, high = axes.get_xlim()
        shown = [b for b in bands if b.high > low and b.low < high]
        assert [to_rgb(p.get_facecolor()) for p in shades] == [
            to_rgb(render.color(b.cheapest, list(small_business.estimates))) for b in shown
        ]
        texts = [t for t in axes.texts if t.get_text()]
        assert any(t.get_gid() == "band-label" for t in texts)
        boxes = [t.get_window_extent(renderer) for t in texts]
        for i, j in itertools.combinations(range(len(boxes)), 2):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())

    # Ticks in plain words, requests and dollars (no $10^{6}$ mathtext to parse), where shown.
    def shown(axis: Any, minor: bool = False) -> list[str]:
        low, high = sorted(axis.get_view_interval())
        ticks = axis.get_minor_ticks() if minor else axis.get_major_ticks()
        return [t.label1.get_text() for t in ticks if low <= t.get_loc() <= high]

    assert shown(whole.xaxis) == ["10k", "100k", "1M", "10M", "100M", "1B", "10B"]
    assert shown(whole.yaxis) == ["$0.1", "$1", "$10", "$100", "$1k", "$10k"]
    assert shown(near.xaxis) == ["0", "20M", "40M", "60M", "80M"]
    assert shown(near.yaxis) == ["$0", "$50", "$100", "$150", "$200", "$250"]
    assert set(shown(whole.xaxis, minor=True) + shown(whole.yaxis, minor=True)) == {""}
    # The linear panel spans the traffic and the band edges just past it (54M, 59M, 76M).
    assert near.get_xlim()[0] == 0 and near.get_xlim()[1] > bands[2].high
    # Every band label sits inside its own band.
    for text in (t for t in whole.texts if t.get_gid() == "band-label"):
        x = text.get_position()[0]
        band = next(b for b in bands if b.low <= x < b.high)
        assert text.get_text() == launch_types.label(band.cheapest)


def test_requests_and_dollars_read_in_three_figures_even_where_rounding_crosses_a_scale() -> None:
    # A band edge falls anywhere: at 999,600 requests it reads 1M (not "1e+03k").
    words = render.requests_words
    assert [words(v) for v in (0, 999, 1000, 1500, 54_250_000)] == [
        "0",
        "999",
        "1k",
        "1.5k",
        "54.2M",
    ]
    assert [words(v) for v in (999_400, 999_600, 999_600_000, 9_996_000_000)] == [
        "999k", "1M", "1B", "10B",
    ]  # fmt: skip
    assert [render.dollars_tick(v) for v in (0, 0.1, 0.30000000000000004, 40, 2500, 1e4)] == [
        "$0", "$0.1", "$0.3", "$40", "$2.5k", "$10k",
    ]  # fmt: skip
    assert [render.requests_tick(v) for v in (0, 1e4, 1e6, 1e10)] == ["0", "10k", "1M", "10B"]


def test_bands_find_two_edges_inside_one_grid_step() -> None:
    """a, then b from 1.10M, then c from 1.12M: both edges fall between the grid's 1.059M and
    1.122M, and both are found to the request."""
    bands = breakeven.bands(
        {
            "a": lambda x: 1.0,
            "b": lambda x: 0.5 if 1.10e6 <= x < 1.12e6 else 2.0,
            "c": lambda x: 0.0 if x >= 1.12e6 else 3.0,
        }
    )
    assert [(b.cheapest, b.ends_by) for b in bands] == [("a", "step"), ("b", "step"), ("c", None)]
    assert bands[0].high == pytest.approx(1.10e6, rel=1e-9)
    assert bands[1].high == pytest.approx(1.12e6, rel=1e-9)


def test_six_launch_types_still_fit_one_screen(
    synth: Synthesized, opt_in_synth: Synthesized
) -> None:
    """The default three and the three opt-in ones (-c launchTypes=all) in one report."""
    import io

    from rich.console import Console

    default, opt_in = inventory_of(synth), inventory_of(opt_in_synth)
    both = dataclasses.replace(
        default,
        launch_types={**default.launch_types, **opt_in.launch_types},
        resource_counts={**default.resource_counts, **opt_in.resource_counts},
    )
    assert len(both.launch_types) == len(launch_types.REGISTRY) == 6
    for preset in PRESETS.values():
        report = build_report("x", both, load_table(), REGION, preset, Assumptions())
        out = io.StringIO()
        render.print_report(report, Console(file=out, width=80))
        lines = out.getvalue().splitlines()
        assert len(lines) + 1 <= 40, (preset.name, len(lines))  # +1: where the files are
        for spec in launch_types.REGISTRY:
            assert any(line.startswith(spec.label + " ") for line in lines), spec.label

"""The verdict's sentences, each from a Verdict made here by hand: which launch type the
headline names for which band, what a tie, an estimate, a lower bound or a commitment adds,
the bands, the assumptions that would flip the answer, and the ops line beside the cost. Each
is compared whole, so a sentence that says the opposite of its figures fails."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from launchlab.report import breakeven
from launchlab.report import verdict as v
from launchlab.report.breakeven import Band
from launchlab.report.ops import OpsRow
from launchlab.report.profile import TrafficProfile
from launchlab.report.verdict import Flip, Sensitivity, Tie, Verdict

LOW, HIGH = breakeven.RANGE
# Lambda is cheapest up to 53.9M requests a month, then ECS on Fargate steps past it until
# 200M, then ECS on EC2 from there.
BANDS = (
    Band("lambda", LOW, 53.9e6, "cross"),
    Band("fargate", 53.9e6, 200e6, "step"),
    Band("ecs-ec2", 200e6, HIGH, None),
)
TOTALS = {"lambda": Decimal("12.344"), "fargate": Decimal("20.10"), "ecs-ec2": Decimal("31")}


def _row(launch_type: str, **changes: object) -> OpsRow:
    row = OpsRow(
        launch_type=launch_type,
        resources="4 in LaunchlabX (+20 shared)",
        you_manage="the image (its base, monthly), task scaling (CPU 60%)",
        scaling_unit="task",
        max_request_duration="60 s (ALB idle timeout)",
        cold_starts="none per request: one task kept; a new task starts in 30-60 s",
        min_billable_unit="task-second",
        costs_at_zero_traffic="ALB hours, Public IPv4",
    )
    return dataclasses.replace(row, **changes)  # type: ignore[arg-type]


def _verdict(requests: float = 20e6, **changes: object) -> Verdict:
    found = Verdict(
        requests_per_month=requests,
        cheapest="lambda",
        runner_up="fargate",
        monthly_usd=TOTALS,
        bands=BANDS,
        sensitivities=(),
        ops={lt: _row(lt) for lt in TOTALS},
        idle_monthly_usd={"lambda": Decimal(0), "fargate": Decimal("9.5"), "ecs-ec2": Decimal(16)},
    )
    return dataclasses.replace(found, **changes)  # type: ignore[arg-type]


def test_the_headline_names_the_cheapest_its_band_and_the_runner_up() -> None:
    assert v.headline(_verdict()) == (
        "At 20M requests a month Lambda is cheapest ($12.34/month) until about 53.9M, then "
        "ECS on Fargate; the runner-up, ECS on Fargate, costs $20.10 ($7.76 more)."
    )
    # Where its band ends by a step in a count, it says so; in the last band, no "until".
    stepped = _verdict(60e6, cheapest="fargate", runner_up="ecs-ec2")
    assert v.headline(stepped) == (
        "At 60M requests a month ECS on Fargate is cheapest ($20.10/month) until about 200M, "
        "then ECS on EC2 (a step in task or instance count); the runner-up, ECS on EC2, costs "
        "$31.00 ($10.90 more)."
    )
    last = _verdict(300e6, cheapest="ecs-ec2", runner_up=None)
    assert v.headline(last) == "At 300M requests a month ECS on EC2 is cheapest ($31.00/month)."
    # A band edge belongs to the band it starts: at exactly 53.9M Fargate's band holds.
    assert v.band_at(_verdict(), 53.9e6) == BANDS[1]
    assert v.band_at(_verdict(), LOW) == BANDS[0]
    assert v.band_at(_verdict(), HIGH) is None
    # The cheapest at the traffic is not the band's (the model's rounding): no "until".
    odd = _verdict(cheapest="fargate", runner_up="lambda")
    assert "until" not in v.headline(odd)


def test_an_estimate_a_lower_bound_and_a_commitment_are_said() -> None:
    basis = {"lambda": "estimate", "fargate": "lower bound", "ecs-ec2": "list"}
    totals = {"lambda": Decimal("40.004"), "fargate": Decimal("20.10"), "ecs-ec2": Decimal(12)}
    found = _verdict(
        300e6, cheapest="ecs-ec2", runner_up="fargate", basis=basis, monthly_usd=totals
    )
    assert v.amount(found, "lambda") == "$40.00, an estimate"
    assert v.amount(found, "fargate", "/month") == "$20.10/month or more: a charge is not priced"
    assert v.amount(found, "ecs-ec2", "/month") == "$12.00/month"
    assert v.amount(dataclasses.replace(found, basis={}), "lambda") == "$40.00"
    committed = dataclasses.replace(found, commitment="compute-sp-1y")
    assert v.headline(committed) == (
        "At 300M requests a month with a 1-year Compute Savings Plan, no upfront (estimated "
        "rates), ECS on EC2 is cheapest ($12.00/month); the runner-up, ECS on Fargate, costs "
        "$20.10 or more: a charge is not priced ($8.10 more)."
    )
    listed = dataclasses.replace(committed, basis={"fargate": "market"})
    assert v.headline(listed).startswith(
        "At 300M requests a month with a 1-year Compute Savings Plan, no upfront, ECS on EC2 "
    )


def test_a_tie_names_each_launch_type_why_and_the_next_one() -> None:
    tie = Tie(("lambda", "fargate"), 0.05, ("fargate",), ())
    found = _verdict(tie=tie)
    assert v.headline(found) == (
        "At 20M requests a month Lambda ($12.34) and ECS on Fargate ($20.10) tie on cost "
        "(within 5% of the lowest a month): the ops decide (below); next, ECS on EC2 at $31.00 "
        "(151.2% more)."
    )
    flips = ("request duration 116 ms instead of 120 ms makes ECS on EC2 cheapest",)
    three = Tie(("lambda", "fargate", "ecs-ec2"), 0.05, ("fargate",), flips)
    assert v.headline(_verdict(tie=three)) == (
        "At 20M requests a month Lambda ($12.34), ECS on Fargate ($20.10) and ECS on EC2 "
        "($31.00) tie on cost (within 5% of the lowest a month; request duration 116 ms "
        "instead of 120 ms makes ECS on EC2 cheapest): the ops decide (below)."
    )
    by_flip_only = Tie(("lambda", "ecs-ec2"), 0.05, (), flips)
    free = _verdict(tie=by_flip_only, monthly_usd={**TOTALS, "lambda": Decimal(0)})
    assert v.headline(free) == (
        "At 20M requests a month Lambda ($0.00) and ECS on EC2 ($31.00) tie on cost (request "
        "duration 116 ms instead of 120 ms makes ECS on EC2 cheapest): the ops decide (below); "
        "next, ECS on Fargate at $20.10 (0.0% more)."
    )
    assert v.tie_json(found) == {
        "launch_types": ["lambda", "fargate"], "margin": 0.05,
        "within_margin": ["fargate"], "assumption_flips": [],
    }  # fmt: skip
    assert v.tie_json(_verdict()) is None


def test_the_bands_in_words() -> None:
    assert v.bands_sentence(_verdict()) == (
        "Cheapest by monthly requests (10k to 10B): Lambda up to 53.9M, ECS on Fargate "
        "53.9M-200M, ECS on EC2 from 200M."
    )
    assert v.band_range(Band("lambda", LOW, HIGH, None)) == "throughout"
    # A first band that does not start at the range's low end is not "up to".
    assert v.band_range(Band("lambda", LOW * 1.5, 2e6, "cross")) == "15k-2M"
    assert v.band_words(Band("express", LOW * 1.5, HIGH, None)) == "ECS Express Mode from 15k"


@pytest.mark.parametrize(
    ("value", "words"),
    [(999_600, "1M"), (999_400, "999k"), (1_000, "1k"), (999.4, "999"), (12_345_678_901, "12.3B"),
     (53_910_000, "53.9M"), (0, "0")],
)  # fmt: skip
def test_requests_are_written_with_three_significant_figures(value: float, words: str) -> None:
    assert v.requests_words(value) == words


def _sensitivity(
    below: Flip | None = None, above: Flip | None = None, note: str = "", value: float = 120
) -> Sensitivity:
    return Sensitivity("avg_duration_ms", "request duration", "--duration-ms", "ms", value, 1,
                       60_000, below, above, note)  # fmt: skip


def test_each_assumption_says_where_it_would_flip_the_answer() -> None:
    assert v.sensitivity_words(_sensitivity(), "lambda") == (
        "request duration 120 ms (--duration-ms): Lambda stays cheapest from 1 ms to 60,000 ms"
    )
    both = _sensitivity(Flip(35.25, "fargate"), Flip(1234.5, "ecs-ec2"))
    assert v.sensitivity_words(both, "lambda") == (
        "request duration 120 ms (--duration-ms): ECS on Fargate below 35.2 ms; ECS on EC2 "
        "above 1,234 ms"
    )
    assert v.sensitivity_words(_sensitivity(above=Flip(99.5, "ecs-ec2")), "lambda") == (
        "request duration 120 ms (--duration-ms): ECS on EC2 above 99.5 ms"
    )
    noted = _sensitivity(note="no effect: --task-capacity-rps sets the task capacity")
    assert v.sensitivity_words(noted, "lambda") == (
        "request duration 120 ms (--duration-ms): no effect: --task-capacity-rps sets the task "
        "capacity"
    )
    share = Sensitivity("cpu_share", "CPU share", "--cpu-share", "", 0.25, 0.01, 1, None, None)
    assert v.sensitivity_words(share, "fargate") == (
        "CPU share 0.25 (--cpu-share): ECS on Fargate stays cheapest from 0.01 to 1"
    )


def test_a_tie_is_within_the_margin_or_a_flip_inside_the_plausible_band() -> None:
    order = ["lambda", "fargate", "ecs-ec2"]
    # 5% above $100.00 is $105.00: in; a cent more is out.
    totals = {"lambda": Decimal(100), "fargate": Decimal("105.00"), "ecs-ec2": Decimal("105.01")}
    assert v.find_tie(order, totals, []) == Tie(("lambda", "fargate"), 0.05, ("fargate",), ())
    apart = {**totals, "fargate": Decimal("105.01")}
    assert v.find_tie(order, apart, []) is None
    # The request duration's band is 10% either way: 108 and 132 ms count, 107 ms does not.
    for value in (108.0, 132.0):
        tie = v.find_tie(order, apart, [_sensitivity(above=Flip(value, "ecs-ec2"))])
        assert tie == Tie(
            ("lambda", "ecs-ec2"), 0.05, (),
            (f"request duration {value:.3g} ms instead of 120 ms makes ECS on EC2 cheapest",),
        )  # fmt: skip
    assert v.find_tie(order, apart, [_sensitivity(below=Flip(107, "fargate"))]) is None
    # The CPU share's band is 20%: 0.2 of 0.25 counts; Lambda memory has no band.
    share = Sensitivity("cpu_share", "CPU share", "--cpu-share", "", 0.25, 0.01, 1,
                        Flip(0.2, "fargate"), None)  # fmt: skip
    tie = v.find_tie(order, apart, [share])
    assert tie is not None and tie.launch_types == ("lambda", "fargate")
    assert tie.by_assumption == ("CPU share 0.2 instead of 0.25 makes ECS on Fargate cheapest",)
    memory = dataclasses.replace(share, assumption="lambda_memory_mb")
    assert v.find_tie(order, apart, [memory]) is None
    moot = dataclasses.replace(share, note="no effect: --task-capacity-rps sets the task capacity")
    assert v.find_tie(order, apart, [moot]) is None


def test_the_cheapest_and_the_order_keep_the_reports_order_on_equal_totals() -> None:
    totals = {"b": Decimal(2), "a": Decimal(1), "c": Decimal(1)}
    assert v.cheapest_of(totals) == "a"
    assert v.ranked(totals) == ["a", "c", "b"]


def test_the_ops_line_beside_the_cost() -> None:
    found = _verdict()
    assert v.ops_words(found, "fargate") == (
        "ECS on Fargate: you manage the image, task scaling; cold starts: none per request; "
        "requests up to 60 s; $9.50/month at zero traffic"
    )
    assert v.ops_sentence(found) == [v.ops_words(found, "lambda"), v.ops_words(found, "fargate")]
    alone = _verdict(runner_up=None)
    assert v.ops_sentence(alone) == [v.ops_words(alone, "lambda")]
    tie = Tie(("fargate", "ecs-ec2"), 0.05, ("ecs-ec2",), ())
    tied = _verdict(tie=tie, ops={"fargate": _row("fargate")})
    assert v.ops_sentence(tied) == [v.ops_words(tied, "fargate")]
    assert v._plain("a (b (c) d) e , f ; g") == "a e, f; g"
    assert v._first_clause(" one: two; three ") == "one"
    assert v._first_clause("one; two: three") == "one"


def test_the_cpu_bound_part_of_a_request_scales_with_lambda_memory() -> None:
    profile = TrafficProfile("p", 1e6, 100, 1)
    # A quarter on CPU: at half the memory that quarter takes twice as long, 125 ms.
    assert v.lambda_duration_at(profile, 0.25, 1024, 512).avg_duration_ms == 125
    # Above one vCPU (1,769 MB) more memory buys nothing: 100 ms from 1,769 MB to 4,096 MB,
    # and 4,096 MB down to 1,769 MB is no slower.
    assert v.lambda_duration_at(profile, 0.25, 1769, 4096).avg_duration_ms == 100
    assert v.lambda_duration_at(profile, 0.25, 4096, 1769).avg_duration_ms == 100
    assert v.lambda_duration_at(profile, 1.0, 3538, 884.5).avg_duration_ms == 200

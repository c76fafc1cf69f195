"""The verdict's search for the assumptions that would change the answer: for two hand-made
launch types (Lambda behind a Function URL and a Fargate service), where the CPU share, the
request duration and the Lambda memory flip the cheapest, each flip checked against the cost
model on both sides of it; and the bisection itself on curves whose crossings are known."""

from __future__ import annotations

import dataclasses

import pytest

from launchlab.report import verdict as v
from launchlab.report.cost import Assumptions, estimate
from launchlab.report.inventory import Function, Inventory, LaunchType, Network, Scaling, Tasks
from launchlab.report.prices import RegionPrices, load_table
from launchlab.report.profile import TrafficProfile
from launchlab.report.verdict import Flip

TASKS = Tasks(256, 512, "x86_64", False, 1, 4, True, 20, Scaling("cpu", 60, 60), 60)
FUNCTION = Function(512, "x86_64", 10, None, "function-url")


def _inventory(*units: LaunchType) -> Inventory:
    return Inventory(Network(0, 0, 0, 0), (), (), 0, {unit.launch_type: unit for unit in units})


LAMBDA = LaunchType("lambda", ("L",), 1, False, function=FUNCTION)
FARGATE = LaunchType("fargate", ("F",), 1, False, tasks=TASKS)
BOTH = _inventory(LAMBDA, FARGATE)


@pytest.fixture(scope="module")
def prices() -> RegionPrices:
    return load_table().region("us-east-1")


def _cheapest(
    inventory: Inventory, prices: RegionPrices, profile: TrafficProfile, assumptions: Assumptions
) -> str:
    totals = {
        lt: estimate(inventory, lt, prices, profile, assumptions).total
        for lt in ("lambda", "fargate")
    }
    return min(totals, key=lambda lt: totals[lt])


def test_each_assumption_is_searched_over_its_range_from_the_value_used(
    prices: RegionPrices,
) -> None:
    profile = TrafficProfile("p", 20e6, 100, 1)
    share, duration, memory = v.sensitivities(BOTH, prices, profile, Assumptions())
    assert (share.assumption, share.words, share.flag, share.unit) == (
        "cpu_share", "CPU share", "--cpu-share", "",
    )  # fmt: skip
    assert (share.value, share.low, share.high, share.note) == (0.25, 0.01, 1.0, "")
    assert (duration.assumption, duration.words, duration.flag, duration.unit) == (
        "avg_duration_ms", "request duration", "--duration-ms", "ms",
    )  # fmt: skip
    assert (duration.value, duration.low, duration.high) == (100, 1.0, 60_000.0)
    assert (memory.assumption, memory.words, memory.flag, memory.unit) == (
        "lambda_memory_mb", "Lambda memory", "-c lambdaMemory=MB", "MB",
    )  # fmt: skip
    assert (memory.value, memory.low, memory.high) == (512.0, 128.0, 10_240.0)
    # At 20M requests Lambda is cheapest; a lower CPU share packs more requests on a task,
    # longer requests and more memory cost Lambda more: each flips to Fargate on one side.
    assert _cheapest(BOTH, prices, profile, Assumptions()) == "lambda"
    assert share.above is None and duration.below is None and memory.below is None
    assert share.below is not None and share.below.cheapest == "fargate"
    cut = share.below.value
    assert _cheapest(BOTH, prices, profile, Assumptions(cpu_share=cut)) == "fargate"
    assert _cheapest(BOTH, prices, profile, Assumptions(cpu_share=cut * 1.001)) == "lambda"
    assert duration.above is not None and duration.above.cheapest == "fargate"
    cut = duration.above.value
    longer = dataclasses.replace(profile, avg_duration_ms=cut)
    assert _cheapest(BOTH, prices, longer, Assumptions()) == "fargate"
    shorter = dataclasses.replace(profile, avg_duration_ms=cut * 0.999)
    assert _cheapest(BOTH, prices, shorter, Assumptions()) == "lambda"
    # Memory flips at a whole MB: at it the function is dearer, a MB less it is not. Its
    # requests take as long as that memory's CPU makes them (lambda_duration_at).
    assert memory.above is not None and memory.above.cheapest == "fargate"
    mb = memory.above.value
    assert mb == int(mb)
    for size, cheapest in ((mb, "fargate"), (mb - 1, "lambda")):
        sized = dataclasses.replace(
            LAMBDA, function=dataclasses.replace(FUNCTION, memory_mb=int(size))
        )
        seen = v.lambda_duration_at(profile, 0.25, 512, size)
        lambda_total = estimate(_inventory(sized), "lambda", prices, seen, Assumptions()).total
        fargate_total = estimate(BOTH, "fargate", prices, profile, Assumptions()).total
        assert (lambda_total > fargate_total) == (cheapest == "fargate"), size


def test_past_the_break_even_the_flips_are_below(prices: RegionPrices) -> None:
    profile = TrafficProfile("p", 60e6, 100, 1)
    share, duration, memory = v.sensitivities(BOTH, prices, profile, Assumptions())
    assert _cheapest(BOTH, prices, profile, Assumptions()) == "fargate"
    assert share.below is None and duration.above is None and memory.above is None
    assert share.above is not None and duration.below is not None and memory.below is not None
    assert {share.above.cheapest, duration.below.cheapest, memory.below.cheapest} == {"lambda"}
    cut = duration.below.value
    assert (
        _cheapest(BOTH, prices, dataclasses.replace(profile, avg_duration_ms=cut), Assumptions())
        == "lambda"
    )
    assert (
        _cheapest(
            BOTH, prices, dataclasses.replace(profile, avg_duration_ms=cut * 1.001), Assumptions()
        )
        == "fargate"
    )


def test_what_is_not_searched_and_why(prices: RegionPrices) -> None:
    profile = TrafficProfile("p", 20e6, 100, 1)
    set_capacity = Assumptions(task_capacity_rps=5)
    share, duration, _ = v.sensitivities(BOTH, prices, profile, set_capacity)
    assert share.note == "no effect: --task-capacity-rps sets the task capacity"
    assert (share.below, share.above) == (None, None)
    assert duration.note == "" and duration.above is not None
    # Lambda memory is searched only when there is one memory size to move.
    assert len(v.sensitivities(_inventory(FARGATE), prices, profile, Assumptions())) == 2
    # Two sizes (a unit that carries a function of 1,024 MB beside its tasks, which no
    # template makes, stands in for a second function): which would it move? Neither.
    two = dataclasses.replace(FARGATE, function=dataclasses.replace(FUNCTION, memory_mb=1024))
    assert len(v.sensitivities(_inventory(LAMBDA, two), prices, profile, Assumptions())) == 2


def test_the_flips_are_found_on_each_side_of_the_value() -> None:
    # a costs v, b costs 10 and c costs 1000 / v: b is cheapest from 10 to 100.
    def price(value: float) -> dict[str, float]:
        return {"a": value, "b": 10.0, "c": 1000 / value}

    below, above = v.find_flips(price, 40, 1, 1000)
    assert below is not None and below.cheapest == "a" and below.value == pytest.approx(10)
    assert above is not None and above.cheapest == "c" and above.value == pytest.approx(100)
    # Whole values only (MB): the first whole value past each edge.
    below, above = v.find_flips(lambda x: price(x + 0.5), 40, 1, 1000, whole=True)
    assert (below, above) == (Flip(9.0, "a"), Flip(100.0, "c"))
    # The value outside the range widens it; nothing flips on a side with no change.
    assert v.find_flips(lambda x: {"a": 1.0, "b": 2.0}, 5000, 1, 1000) == (None, None)
    grid = v._logspace(1, 1000, 4)
    assert grid == pytest.approx([1, 10, 100, 1000])

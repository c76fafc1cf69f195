"""The break-even search (launchlab/report/breakeven.py) on cost curves whose crossings are
known by hand: a straight line against a flat price, a step against a flat price, a curve that
crosses twice, and curves that never meet; where each crosses, which side is cheaper below it,
whether the curves meet there or one jumps past the other, and the bands of the cheapest."""

from __future__ import annotations

import math

import pytest

from launchlab.report import breakeven
from launchlab.report.breakeven import Band, BreakEven


def per_request(requests: float) -> float:
    """A dollar per million requests."""
    return requests / 1e6


def flat(usd: float):  # type: ignore[no-untyped-def]
    return lambda requests: usd


def step(below: float, above: float, at: float):  # type: ignore[no-untyped-def]
    return lambda requests: below if requests < at else above


def test_a_line_crosses_a_flat_price_where_they_are_equal() -> None:
    found = breakeven.solve("lambda", "fargate", per_request, flat(50))
    [crossing] = found.crossings
    assert crossing.requests_per_month == pytest.approx(50e6, rel=1e-9)
    assert crossing.monthly_usd == pytest.approx(50, rel=1e-9)
    assert (crossing.cheaper_below, crossing.kind) == ("lambda", "cross")
    assert found.cheaper_throughout is None and (found.a, found.b) == ("lambda", "fargate")
    # The other way round: the flat one is dearer below, cheaper above.
    [crossing] = breakeven.solve("fargate", "lambda", flat(50), per_request).crossings
    assert crossing.cheaper_below == "lambda"


def test_a_step_past_a_flat_price_is_a_jump_at_the_step() -> None:
    found = breakeven.solve("ecs-ec2", "fargate", step(10, 30, 3e6), flat(20))
    [crossing] = found.crossings
    assert crossing.requests_per_month == pytest.approx(3e6, rel=1e-9)
    # Half way between the two curves just past the step: (30 + 20) / 2.
    assert crossing.monthly_usd == 25
    assert (crossing.cheaper_below, crossing.kind) == ("ecs-ec2", "jump")
    # A step that lands within the tolerance of the other curve meets it; one past it jumps.
    meets = breakeven.solve("a", "b", step(19.995, 30, 3e6), flat(20))
    assert [c.kind for c in meets.crossings] == ["cross"]
    misses = breakeven.solve("a", "b", step(19.98, 30, 3e6), flat(20))
    assert [c.kind for c in misses.crossings] == ["jump"]


def test_a_curve_can_cross_twice() -> None:
    def bowl(requests: float) -> float:  # 10 USD at its lowest; 11 a decade either side
        return 10 + (math.log10(requests) - 7.013) ** 2

    found = breakeven.solve("a", "b", bowl, flat(11))
    assert [(c.cheaper_below, c.kind) for c in found.crossings] == [("b", "cross"), ("a", "cross")]
    low, high = (c.requests_per_month for c in found.crossings)
    assert low == pytest.approx(10**6.013, rel=1e-6)
    assert high == pytest.approx(10**8.013, rel=1e-6)
    assert [c.monthly_usd for c in found.crossings] == pytest.approx([11, 11])


def test_curves_that_never_meet_name_the_one_cheaper_throughout() -> None:
    assert breakeven.solve("a", "b", flat(1), flat(2)) == BreakEven("a", "b", (), "a")
    assert breakeven.solve("a", "b", flat(2), flat(1)) == BreakEven("a", "b", (), "b")
    # Dearer at one end only, by less than it is cheaper at the other: cheaper overall.
    found = breakeven.solve("a", "b", step(5, 1.5, 2e4), flat(2))
    assert [c.cheaper_below for c in found.crossings] == ["b"]
    assert found.cheaper_throughout is None
    # Equal everywhere: neither is cheaper, the second is named.
    assert breakeven.solve("a", "b", flat(2), flat(2)).cheaper_throughout == "b"


def test_the_bands_of_the_cheapest_with_their_edges() -> None:
    low, high = breakeven.RANGE
    bands = breakeven.bands({"lambda": per_request, "fargate": flat(50)})
    assert [(b.cheapest, b.low, b.ends_by) for b in bands] == [
        ("lambda", low, "cross"), ("fargate", pytest.approx(50e6), None),
    ]  # fmt: skip
    assert bands[0].high == pytest.approx(50e6) and bands[-1].high == high
    stepped = breakeven.bands({"ecs-ec2": step(10, 30, 3e6), "fargate": flat(20)})
    assert stepped == [
        Band("ecs-ec2", low, pytest.approx(3e6), "step"),  # type: ignore[arg-type]
        Band("fargate", pytest.approx(3e6), high, None),  # type: ignore[arg-type]
    ]
    # A tie goes to the launch type listed first, throughout.
    assert breakeven.bands({"b": flat(5), "a": flat(5)}) == [Band("b", low, high, None)]
    # Two edges inside one grid step (a band narrower than a factor of 1.06) are both found.
    narrow = {"x": flat(2), "y": step(3, 1, 1.00e6), "z": step(3, 0.5, 1.02e6)}
    assert [b.cheapest for b in breakeven.bands(narrow)] == ["x", "y", "z"]


def test_the_grid_runs_from_ten_thousand_to_ten_billion_requests() -> None:
    assert breakeven.grid(3) == pytest.approx([1e4, 1e7, 1e10])
    assert len(breakeven.grid()) == breakeven.GRID_POINTS == 241


def test_crossings_at_the_ends_of_the_grid_and_on_a_grid_point() -> None:
    xs = breakeven.grid()
    # A step inside the last grid interval is found, as one inside the first.
    last = (xs[-2] * xs[-1]) ** 0.5
    [crossing] = breakeven.solve("a", "b", step(10, 30, last), flat(20)).crossings
    assert crossing.requests_per_month == pytest.approx(last, rel=1e-9)
    assert (crossing.cheaper_below, crossing.kind) == ("a", "jump")
    first = (xs[0] * xs[1]) ** 0.5
    [crossing] = breakeven.solve("a", "b", step(10, 30, first), flat(20)).crossings
    assert crossing.requests_per_month == pytest.approx(first, rel=1e-9)
    # Curves equal exactly on a grid point cross there once, and the one below is named.
    on = xs[100]
    found = breakeven.solve("a", "b", lambda x: x / on, flat(1)).crossings
    assert [(c.cheaper_below, c.kind) for c in found] == [("a", "cross")]
    assert found[0].requests_per_month == pytest.approx(on, rel=1e-9)
    found = breakeven.solve("a", "b", flat(1), lambda x: x / on).crossings
    assert [(c.cheaper_below, c.kind) for c in found] == [("b", "cross")]
    # Equal up to a grid point, then apart: the one cheaper above is not named cheaper below.
    found = breakeven.solve("a", "b", lambda x: max(1.0, x / on), flat(1)).crossings
    assert [(c.cheaper_below, c.kind) for c in found] == [("a", "cross")]


def test_a_step_that_lands_on_the_other_curve_meets_it() -> None:
    # Far below before the step, within the tolerance of the flat price after it: the curves
    # meet at the step, whichever side of it the gap is measured.
    [crossing] = breakeven.solve("a", "b", step(10, 20.004, 3e6), flat(20)).crossings
    assert crossing.kind == "cross"


def test_a_band_that_starts_in_the_first_grid_interval() -> None:
    xs = breakeven.grid()
    first = (xs[0] * xs[1]) ** 0.5
    found = breakeven.bands({"a": step(10, 30, first), "b": flat(20)})
    assert [(b.cheapest, b.ends_by) for b in found] == [("a", "step"), ("b", None)]
    assert found[0].low == xs[0]
    assert found[0].high == pytest.approx(first, rel=1e-9)

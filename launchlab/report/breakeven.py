"""Where launch types' monthly cost curves cross, and which is cheapest where, as requests vary.

The curves are piecewise: Lambda's is linear past the free tier, the container ones are steps
(whole tasks, whole instances) on a floor (the minimum counts). So the search samples a log
grid, then bisects each bracket where the cheaper side changes. A crossing inside a step is
reported as a jump: there the curves never take the same value, one leaps past the other.
numpy's log grid is used; bisection is a dozen lines and scipy is not a dependency.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

RANGE = (1e4, 1e10)
GRID_POINTS = 241
TOLERANCE_USD = 0.01


@dataclass(frozen=True)
class Crossing:
    requests_per_month: float
    monthly_usd: float
    cheaper_below: str  # the launch type that costs less at lower traffic
    kind: str  # "cross": the curves meet; "jump": one steps past the other


@dataclass(frozen=True)
class BreakEven:
    a: str
    b: str
    crossings: tuple[Crossing, ...]
    cheaper_throughout: str | None  # when they never cross in the range


def grid(points: int = GRID_POINTS) -> list[float]:
    return [float(x) for x in np.logspace(np.log10(RANGE[0]), np.log10(RANGE[1]), points)]


def solve(
    a: str,
    b: str,
    cost_a: Callable[[float], float],
    cost_b: Callable[[float], float],
    points: int = GRID_POINTS,
) -> BreakEven:
    xs = grid(points)
    diffs = [cost_a(x) - cost_b(x) for x in xs]
    crossings = []
    for i in range(len(xs) - 1):
        if _sign(diffs[i]) == _sign(diffs[i + 1]) or _sign(diffs[i + 1]) == 0:
            continue
        lo, hi = xs[i], xs[i + 1]
        diff_lo = diffs[i]
        for _ in range(60):  # log-space bisection: 2^-60 of a decade is far below a request
            mid = (lo * hi) ** 0.5
            diff_mid = cost_a(mid) - cost_b(mid)
            if _sign(diff_mid) == _sign(diff_lo):
                lo, diff_lo = mid, diff_mid
            else:
                hi = mid
        at = hi
        gap = min(abs(diff_lo), abs(cost_a(hi) - cost_b(hi)))
        crossings.append(
            Crossing(
                requests_per_month=at,
                monthly_usd=(cost_a(at) + cost_b(at)) / 2,
                # Past the crossing the sign is never zero (a zero there is skipped above).
                cheaper_below=a if diffs[i + 1] > 0 else b,
                kind="cross" if gap <= TOLERANCE_USD else "jump",
            )
        )
    cheaper = None
    if not crossings:
        cheaper = a if sum(diffs) < 0 else b
    return BreakEven(a, b, tuple(crossings), cheaper)


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


@dataclass(frozen=True)
class Band:
    """A range of monthly requests over which one launch type is the cheapest."""

    cheapest: str
    low: float  # requests per month where the band starts (RANGE[0] for the first)
    high: float  # where it ends (RANGE[1] for the last)
    ends_by: str | None  # how it ends: "cross" (curves meet), "step" (a count steps), None


def bands(costs: Mapping[str, Callable[[float], float]], points: int = GRID_POINTS) -> list[Band]:
    """Which launch type is cheapest over RANGE, as bands with bisected edges.

    Ties go to the launch type listed first, so a band edge is where another becomes strictly
    cheaper. Edges are exact to the request; a band narrower than one grid step (a factor of
    about 1.06 at the default 241 points) may be missed.
    """

    def cheapest(x: float) -> str:
        totals = {lt: cost(x) for lt, cost in costs.items()}
        return min(totals, key=lambda lt: totals[lt])

    xs = grid(points)
    found: list[Band] = []
    start, current = xs[0], cheapest(xs[0])
    for lo, end in itertools.pairwise(xs):
        while cheapest(end) != current:  # several edges can share a grid step
            hi = end
            for _ in range(60):  # as in solve(): log-space bisection
                mid = (lo * hi) ** 0.5
                if cheapest(mid) == current:
                    lo = mid
                else:
                    hi = mid
            after = cheapest(hi)
            # Across the edge (a 2^-60 decade wide): did the curves meet, or did one step?
            jump = max(abs(costs[lt](hi) - costs[lt](lo)) for lt in (current, after))
            found.append(Band(current, start, hi, "step" if jump > TOLERANCE_USD else "cross"))
            start, current, lo = hi, after, hi
    found.append(Band(current, start, xs[-1], None))
    return found

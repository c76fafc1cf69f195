"""The report's answer: which launch type is cheapest at the profile's traffic, where each one
is cheapest as traffic varies, and which assumption would change the answer, and where.

Every figure here is recomputed from the cost model (``cost.estimate``) through the ``Pricer``
the report hands in; nothing is read back from rendered text. The words are built here once
and shown by the terminal, Markdown and JSON alike.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from launchlab.report import breakeven
from launchlab.report.availability import Availability
from launchlab.report.cost import COMMITMENT_WORDS, Assumptions, cents, estimate
from launchlab.report.inventory import Inventory
from launchlab.report.ops import OpsRow, asks_in_numbers
from launchlab.report.prices import RegionPrices
from launchlab.report.profile import TrafficProfile
from stacks.launch_types import label

# How far each assumption is searched for a value that changes the cheapest launch type.
CPU_SHARE_RANGE = (0.01, 1.0)  # --cpu-share takes (0, 1]
DURATION_MS_RANGE = (1.0, 60_000.0)  # 1 ms (Lambda's billing unit) .. a minute (ALB default)
# Lambda memory: 128 MB to 10,240 MB in 1 MB steps
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
LAMBDA_MEMORY_MB_RANGE = (128.0, 10_240.0)
SEARCH_POINTS = 49  # log-spaced values per assumption before bisection
# Launch types whose totals are within this share of the cheapest's tie on cost: the model's
# assumptions (CPU share, bytes per request, one connection per request) move totals by more.
TIE_MARGIN = 0.05
# How far an assumption plausibly sits from the value used, relative to it: a measured average
# duration moves by a tenth between weeks; the CPU share is a guess of a fifth either way. A
# flip inside this band is a tie too. Lambda memory is a setting, not an uncertainty.
PLAUSIBLE_SHARE = {"avg_duration_ms": 0.10, "cpu_share": 0.20}
# At 1,769 MB a function has the equivalent of one vCPU; CPU power is proportional to memory
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). A single-threaded
# request gains nothing above one vCPU.
LAMBDA_MB_PER_VCPU = 1769.0


@dataclass(frozen=True)
class Flip:
    """Past ``value`` (of an assumption), ``cheapest`` costs less than the verdict's choice."""

    value: float
    cheapest: str


@dataclass(frozen=True)
class Sensitivity:
    assumption: str  # the key in report.json
    words: str  # what it is, in the user's words
    flag: str  # how to set it
    unit: str
    value: float  # what the report used
    low: float  # the range searched
    high: float
    below: Flip | None  # the nearest value under ``value`` where the cheapest changes
    above: Flip | None  # the nearest one over it
    note: str = ""  # why the search was not run, when it was not


@dataclass(frozen=True)
class Tie:
    """Launch types the verdict cannot tell apart on cost: within TIE_MARGIN of the cheapest,
    or made cheapest by an assumption inside its plausible band."""

    launch_types: tuple[str, ...]  # the cheapest first, then the others by cost
    margin: float
    by_cost: tuple[str, ...]  # within the margin of the cheapest
    by_assumption: tuple[str, ...]  # why each flip counts: "request duration 116 ms: ECS on EC2"


@dataclass(frozen=True)
class Verdict:
    requests_per_month: float
    cheapest: str
    runner_up: str | None
    monthly_usd: Mapping[str, Decimal]
    bands: tuple[breakeven.Band, ...]
    sensitivities: tuple[Sensitivity, ...]
    ops: Mapping[str, OpsRow]
    idle_monthly_usd: Mapping[str, Decimal]
    # What each total is: "list", "estimate", "market" or "lower bound" (cost.Estimate.basis).
    basis: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tie: Tie | None = None
    commitment: str = "none"
    availability: Mapping[str, Availability] = dataclasses.field(default_factory=dict)


def cheapest_of(totals: Mapping[str, float | Decimal]) -> str:
    """The cheapest launch type; a tie goes to the one listed first (as in breakeven.bands)."""
    return min(totals, key=lambda lt: totals[lt])


def ranked(totals: Mapping[str, Decimal]) -> list[str]:
    """Launch types from cheapest to dearest; ties keep the report's order."""
    order = list(totals)
    return sorted(order, key=lambda lt: (totals[lt], order.index(lt)))


def find_flips(
    price: Callable[[float], Mapping[str, float]],
    value: float,
    low: float,
    high: float,
    whole: bool = False,
) -> tuple[Flip | None, Flip | None]:
    """The nearest values below and above ``value`` where the cheapest launch type changes.

    A log grid from ``low`` to ``high`` (widened to hold ``value``) is walked outwards from
    ``value``; the first grid step where the cheapest differs is bisected. ``whole``: the
    assumption only takes whole numbers (MB), so the flip is the first whole value past it.
    """
    low, high = min(low, value), max(high, value)
    # Each value priced once: a bisection that has converged (after about 50 of its 60 halvings
    # of a grid step) asks again for the same values, and the flip is priced once more at the
    # end: about a tenth of the cost model's runs here.
    price = functools.cache(price)
    here = cheapest_of(price(value))
    grid = [float(x) for x in _logspace(low, high, SEARCH_POINTS)]
    downward = [value, *(x for x in reversed(grid) if x < value)]
    upward = [value, *(x for x in grid if x > value)]
    return _walk(price, here, downward, whole), _walk(price, here, upward, whole)


def _walk(
    price: Callable[[float], Mapping[str, float]], here: str, path: Sequence[float], whole: bool
) -> Flip | None:
    for near, far in itertools.pairwise(path):
        if cheapest_of(price(far)) == here:
            continue
        for _ in range(60):  # geometric bisection: 2^-60 of a grid step is far below any unit
            mid = (near * far) ** 0.5
            if cheapest_of(price(mid)) == here:
                near = mid
            else:
                far = mid
        if whole:
            far = float(math.ceil(far) if far > near else math.floor(far))
        return Flip(far, cheapest_of(price(far)))
    return None


def _logspace(low: float, high: float, points: int) -> list[float]:
    step = (math.log(high) - math.log(low)) / (points - 1)
    return [math.exp(math.log(low) + i * step) for i in range(points)]


def sensitivities(
    inventory: Inventory,
    prices: RegionPrices,
    profile: TrafficProfile,
    assumptions: Assumptions,
) -> list[Sensitivity]:
    """Search --cpu-share, the request duration and the Lambda memory, one at a time, for the
    values where the cheapest launch type at the profile's traffic changes."""
    launch_types = list(inventory.launch_types)

    def totals(
        inv: Inventory,
        prof: TrafficProfile,
        assume: Assumptions,
        lambda_profile: TrafficProfile | None = None,
    ) -> dict[str, float]:
        """Each total; ``lambda_profile`` prices the Lambda functions (their own duration)."""
        return {
            lt: float(
                estimate(
                    inv,
                    lt,
                    prices,
                    lambda_profile
                    if lambda_profile is not None and inv.launch_types[lt].function is not None
                    else prof,
                    assume,
                ).total
            )
            for lt in launch_types
        }

    def with_memory(mb: float) -> Inventory:
        units = {
            lt: unit
            if unit.function is None
            else dataclasses.replace(
                unit, function=dataclasses.replace(unit.function, memory_mb=round(mb))
            )
            for lt, unit in inventory.launch_types.items()
        }
        return dataclasses.replace(inventory, launch_types=units)

    def search(
        key: str,
        words: str,
        flag: str,
        unit: str,
        value: float,
        span: tuple[float, float],
        price: Callable[[float], Mapping[str, float]],
        note: str = "",
        whole: bool = False,
    ) -> Sensitivity:
        below, above = (None, None) if note else find_flips(price, value, *span, whole=whole)
        low, high = min(span[0], value), max(span[1], value)
        return Sensitivity(key, words, flag, unit, value, low, high, below, above, note)

    found = [
        search(
            "cpu_share",
            "CPU share",
            "--cpu-share",
            "",
            assumptions.cpu_share,
            CPU_SHARE_RANGE,
            lambda v: totals(inventory, profile, dataclasses.replace(assumptions, cpu_share=v)),
            note=""
            if assumptions.task_capacity_rps is None
            else "no effect: --task-capacity-rps sets the task capacity",
        ),
        search(
            "avg_duration_ms",
            "request duration",
            "--duration-ms",
            "ms",
            profile.avg_duration_ms,
            DURATION_MS_RANGE,
            lambda v: totals(
                inventory, dataclasses.replace(profile, avg_duration_ms=v), assumptions
            ),
        ),
    ]
    memories = {u.function.memory_mb for u in inventory.launch_types.values() if u.function}
    if len(memories) == 1:
        memory = float(memories.pop())
        found.append(
            search(
                "lambda_memory_mb",
                "Lambda memory",
                "-c lambdaMemory=MB",
                "MB",
                memory,
                LAMBDA_MEMORY_MB_RANGE,
                lambda v: totals(
                    with_memory(v),
                    profile,
                    assumptions,
                    lambda_duration_at(profile, assumptions.cpu_share, memory, v),
                ),
                whole=True,
            )
        )
    return found


def lambda_duration_at(
    profile: TrafficProfile, cpu_share: float, memory_mb: float, other_mb: float
) -> TrafficProfile:
    """``profile`` as a Lambda function of ``other_mb`` would see it: the CPU-bound part of the
    request duration (``cpu_share``) scales with the CPU the memory buys, up to one vCPU; the
    waiting part does not."""
    power = min(memory_mb, LAMBDA_MB_PER_VCPU) / min(other_mb, LAMBDA_MB_PER_VCPU)
    duration = profile.avg_duration_ms * ((1 - cpu_share) + cpu_share * power)
    return dataclasses.replace(profile, avg_duration_ms=duration)


def build_verdict(
    requests_per_month: float,
    monthly_usd: Mapping[str, Decimal],
    curves: Mapping[str, Callable[[float], float]],
    sensitivities: Sequence[Sensitivity],
    ops: Sequence[OpsRow],
    idle_monthly_usd: Mapping[str, Decimal],
    basis: Mapping[str, str] | None = None,
    commitment: str = "none",
    availability: Mapping[str, Availability] | None = None,
) -> Verdict:
    order = ranked(monthly_usd)
    return Verdict(
        requests_per_month=requests_per_month,
        cheapest=order[0],
        runner_up=order[1] if len(order) > 1 else None,
        monthly_usd=dict(monthly_usd),
        bands=tuple(breakeven.bands(curves)),
        sensitivities=tuple(sensitivities),
        ops={row.launch_type: row for row in ops},
        idle_monthly_usd=dict(idle_monthly_usd),
        basis=dict(basis or {}),
        tie=find_tie(order, monthly_usd, sensitivities),
        commitment=commitment,
        availability=dict(availability or {}),
    )


def find_tie(
    order: Sequence[str], monthly_usd: Mapping[str, Decimal], sensitivities: Sequence[Sensitivity]
) -> Tie | None:
    """The launch types that tie with the cheapest (``order[0]``): within TIE_MARGIN of its
    total, or cheapest once an assumption moves inside its plausible band (PLAUSIBLE_SHARE)."""
    best = order[0]
    limit = cents(monthly_usd[best]) * (1 + Decimal(str(TIE_MARGIN)))
    by_cost = tuple(lt for lt in order[1:] if cents(monthly_usd[lt]) <= limit)
    flips: list[str] = []
    flipped: set[str] = set()
    for s in sensitivities:
        band = PLAUSIBLE_SHARE.get(s.assumption)
        if band is None or s.note.startswith("no effect"):
            continue
        low, high = s.value * (1 - band), s.value * (1 + band)
        for flip in (s.below, s.above):
            if flip is not None and low <= flip.value <= high:
                flipped.add(flip.cheapest)
                flips.append(
                    f"{s.words} {_amount(flip.value, s.unit)} instead of "
                    f"{_amount(s.value, s.unit)} makes {label(flip.cheapest)} cheapest"
                )
    if not by_cost and not flips:
        return None
    tied = tuple(lt for lt in order if lt == best or lt in by_cost or lt in flipped)
    return Tie(tied, TIE_MARGIN, by_cost, tuple(flips))


# --- words -----------------------------------------------------------------------------------


def usd(amount: Decimal | float) -> str:
    return f"${cents(Decimal(str(amount))):,.2f}"


def requests_words(value: float) -> str:
    """12.3M, 540k: three significant figures, as the terminal and the chart print them."""
    # The scale is chosen after rounding: 999,600 is 1M, not 1e+03k (.3g of 999.6).
    rounded = float(f"{value:.3g}")
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if rounded >= scale:
            return f"{rounded / scale:.3g}{suffix}"
    return f"{value:.0f}"


def band_range(band: breakeven.Band) -> str:
    """'up to 53.9M', '53.9M-59.1M', 'from 76M' or 'throughout' (requests a month)."""
    first, last = band.low <= breakeven.RANGE[0], band.ends_by is None
    if first and last:
        return "throughout"
    if first:
        return f"up to {requests_words(band.high)}"
    if last:
        return f"from {requests_words(band.low)}"
    return f"{requests_words(band.low)}-{requests_words(band.high)}"


def band_words(band: breakeven.Band) -> str:
    """'Lambda up to 53.9M', 'ECS on EC2 53.9M-59.1M', ..."""
    return f"{label(band.cheapest)} {band_range(band)}"


def band_at(verdict: Verdict, requests: float) -> breakeven.Band | None:
    for band in verdict.bands:
        if band.low <= requests < band.high:
            return band
    return None


def amount(verdict: Verdict, launch_type: str, suffix: str = "") -> str:
    """A total as the verdict shows it ("$153.10/month"): said to hold an estimated price, or
    to be a lower bound when a charge could not be priced."""
    money = usd(verdict.monthly_usd[launch_type]) + suffix
    basis = verdict.basis.get(launch_type, "list")
    if basis == "lower bound":
        return f"{money} or more: a charge is not priced"
    if basis == "estimate":
        return f"{money}, an estimate"
    return money


def _commitment(verdict: Verdict) -> str:
    if verdict.commitment == "none":
        return ""
    estimated = any(basis == "estimate" for basis in verdict.basis.values())
    return f" with {COMMITMENT_WORDS[verdict.commitment]}" + (
        " (estimated rates)" if estimated else ""
    )


def headline(verdict: Verdict) -> str:
    """The verdict in one sentence: cheapest (or the tie), its cost, until where, the runner-up."""
    best = verdict.cheapest
    here = (
        f"At {requests_words(verdict.requests_per_month)} requests a month{_commitment(verdict)},"
    )
    if verdict.commitment == "none":
        here = here.removesuffix(",")
    if verdict.tie is not None:
        tie = verdict.tie
        names = [f"{label(lt)} ({amount(verdict, lt)})" for lt in tie.launch_types]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        why = []
        if tie.by_cost:
            why.append(f"within {tie.margin:.0%} of the lowest a month")
        why.extend(tie.by_assumption)
        sentence = f"{here} {joined} tie on cost ({'; '.join(why)}): the ops decide (below)"
        rest = [lt for lt in ranked(verdict.monthly_usd) if lt not in tie.launch_types]
        if rest:
            lowest = cents(verdict.monthly_usd[best])
            more = (cents(verdict.monthly_usd[rest[0]]) - lowest) / lowest if lowest else 0
            # To a tenth of a percent: 5.5% more must not read as inside a 5% margin.
            sentence += f"; next, {label(rest[0])} at {amount(verdict, rest[0])} ({more:.1%} more)"
        return sentence + "."
    sentence = f"{here} {label(best)} is cheapest ({amount(verdict, best, '/month')})"
    band = band_at(verdict, verdict.requests_per_month)
    if band is not None and band.cheapest == best and band.ends_by is not None:
        index = verdict.bands.index(band)
        after = verdict.bands[index + 1].cheapest
        how = " (a step in task or instance count)" if band.ends_by == "step" else ""
        sentence += f" until about {requests_words(band.high)}, then {label(after)}{how}"
    if verdict.runner_up is not None:
        runner = verdict.runner_up
        # From the rounded figures, so the difference is the one a reader works out.
        gap = cents(verdict.monthly_usd[runner]) - cents(verdict.monthly_usd[best])
        sentence += (
            f"; the runner-up, {label(runner)}, costs {amount(verdict, runner)} ({usd(gap)} more)"
        )
    return sentence + "."


def tie_json(verdict: Verdict) -> dict[str, object] | None:
    tie = verdict.tie
    if tie is None:
        return None
    return {
        "launch_types": list(tie.launch_types),
        "margin": tie.margin,
        "within_margin": list(tie.by_cost),
        "assumption_flips": list(tie.by_assumption),
    }


def bands_sentence(verdict: Verdict) -> str:
    lo, hi = (requests_words(x) for x in breakeven.RANGE)
    return (
        f"Cheapest by monthly requests ({lo} to {hi}): "
        + ", ".join(band_words(b) for b in verdict.bands)
        + "."
    )


def _amount(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def sensitivity_words(s: Sensitivity, cheapest: str) -> str:
    now = f"{s.words} {_amount(s.value, s.unit)} ({s.flag})"
    if s.note:
        return f"{now}: {s.note}"
    parts = []
    if s.below is not None:
        parts.append(f"{label(s.below.cheapest)} below {_amount(s.below.value, s.unit)}")
    if s.above is not None:
        parts.append(f"{label(s.above.cheapest)} above {_amount(s.above.value, s.unit)}")
    if not parts:
        return (
            f"{now}: {label(cheapest)} stays cheapest from {_amount(s.low, s.unit)} to "
            f"{_amount(s.high, s.unit)}"
        )
    return f"{now}: " + "; ".join(parts)


def _plain(text: str) -> str:
    """The ops table's wording without its parenthesised detail."""
    out, depth = [], 0
    for char in text:
        depth += char == "("
        if depth == 0:
            out.append(char)
        depth -= char == ")" and depth > 0
    return " ".join("".join(out).split()).replace(" ,", ",").replace(" ;", ";")


def _first_clause(text: str) -> str:
    for mark in (":", ";"):
        text = text.split(mark)[0]
    return text.strip()


def ops_words(verdict: Verdict, launch_type: str) -> str:
    """What running ``launch_type`` asks of you, from the ops table, in one sentence."""
    row = verdict.ops[launch_type]
    idle = verdict.idle_monthly_usd[launch_type]
    if row.timelines:
        # In numbers: the modelled timelines and the patch count (launchlab/report/ops.py).
        # The idle cost is in the table below it, the longest request in the ops table.
        return f"{label(launch_type)}: {asks_in_numbers(row)}"
    return (
        f"{label(launch_type)}: you manage {_plain(row.you_manage)}; cold starts: "
        f"{_first_clause(row.cold_starts)}; requests up to {_plain(row.max_request_duration)}; "
        f"{usd(idle)}/month at zero traffic"
    )


def ops_sentence(verdict: Verdict) -> list[str]:
    """Ops burden beside the cost, in words, unscored: for every launch type of a tie (what
    tells them apart), else for the cheapest and the runner-up."""
    if verdict.tie is not None:
        shown = list(verdict.tie.launch_types)
    else:
        shown = [verdict.cheapest] + ([verdict.runner_up] if verdict.runner_up else [])
    return [ops_words(verdict, lt) for lt in shown if lt in verdict.ops]

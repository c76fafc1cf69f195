"""`launchlab report --baseline OLD/report.json`: what a change does to each launch type's cost
and to the verdict, for a pull request: printed, and written as cost-diff.md for a PR comment.
`--fail-above USD` turns it into a gate: the run exits 1 when any launch type's monthly cost
grows by more than USD (a launch type new in this report grows from nothing).

Both sides are report.json documents: the baseline written by another checkout's `launchlab
report` (a pull request's base branch), the other by this run. Only what schema version 1
holds is read, so a baseline from older code compares just as well.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from launchlab.errors import LaunchlabError
from launchlab.report import breakeven
from launchlab.report.model import SCHEMA_ID, SCHEMA_VERSION
from launchlab.report.verdict import band_words, requests_words, usd
from stacks import launch_types

# The first line of cost-diff.md, unseen when rendered: the CI job finds its own PR comment by it.
MARKER = "<!-- launchlab-cost-diff -->"
NO_CHANGE = Decimal("0.005")  # under half a cent: the same figure once rounded to cents


@dataclass(frozen=True)
class ItemChange:
    """One line item that moved: matched by name, else by kind (its price's category)."""

    kind: str
    before: str | None  # its name in the baseline; None if it is new
    after: str | None  # its name now; None if it is gone
    before_usd: Decimal
    after_usd: Decimal

    @property
    def change(self) -> Decimal:
        return self.after_usd - self.before_usd


@dataclass(frozen=True)
class LaunchTypeChange:
    launch_type: str
    monthly: tuple[Decimal | None, Decimal | None]  # before, now; None where it is not priced
    idle: tuple[Decimal | None, Decimal | None]
    items: tuple[ItemChange, ...]  # the line items that moved

    @property
    def growth(self) -> Decimal:
        """How much more it costs a month now (negative: less); from or to nothing when it is
        new or gone."""
        before, after = self.monthly
        return (after or Decimal(0)) - (before or Decimal(0))

    @property
    def changed(self) -> bool:
        return (
            self.monthly[0] is None
            or self.monthly[1] is None
            or abs(self.growth) >= NO_CHANGE
            or bool(self.items)
        )


@dataclass(frozen=True)
class CostDiff:
    baseline: str
    launch_types: tuple[LaunchTypeChange, ...]
    verdict: tuple[Mapping[str, Any], Mapping[str, Any]]  # before, now (report.json's)
    unlike: tuple[str, ...]  # what differs between the two reports besides the templates

    @property
    def cheapest(self) -> tuple[str, str]:
        return self.verdict[0]["cheapest"], self.verdict[1]["cheapest"]

    @property
    def bands(self) -> tuple[str, str]:
        return _bands_words(self.verdict[0]), _bands_words(self.verdict[1])

    @property
    def verdict_changed(self) -> bool:
        """A different launch type is cheapest at the profile's traffic, or the bands of
        traffic where each is cheapest moved (as the report words them: three figures)."""
        before, now = self.cheapest
        return before != now or self.bands[0] != self.bands[1]

    def over(self, limit: Decimal) -> list[LaunchTypeChange]:
        """The launch types whose monthly cost grows by more than ``limit``."""
        return [change for change in self.launch_types if change.growth > limit]


def read_baseline(path: Path) -> dict[str, Any]:
    """A report.json written by `launchlab report`, or a one-line error saying what it is not."""
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise LaunchlabError(
            f"--baseline {path} is not JSON ({error.msg}, line {error.lineno}): pass the "
            "report.json that `.venv/bin/launchlab report` wrote"
        ) from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_ID:
        raise LaunchlabError(
            f'--baseline {path} is not a launchlab report.json (no "schema": "{SCHEMA_ID}")'
        )
    if document.get("schema_version") != SCHEMA_VERSION:
        raise LaunchlabError(
            f"--baseline {path} has schema_version {document.get('schema_version')!r}; this "
            f"launchlab reads {SCHEMA_VERSION}: build the baseline with the same launchlab"
        )
    return document


def parse_limit(text: str | None) -> Decimal | None:
    """--fail-above: US dollars a month, a number >= 0."""
    if text is None:
        return None
    try:
        limit = Decimal(text)
    except InvalidOperation:
        limit = Decimal("NaN")
    if not limit.is_finite() or limit < 0:
        raise LaunchlabError(f"--fail-above must be US dollars a month, >= 0, got {text!r}")
    return limit


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _items(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[ItemChange]:
    """Pairs of line items, by name first, then the rest by kind in order (a price that changed
    its name with its size: 'EC2 t3.small (...)' -> 'EC2 t4g.small (...)'); what is left over
    is new or gone. Only those whose cost or name changed."""
    left = list(before)
    pairs: list[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]] = []
    unmatched = []
    for item in after:
        same = next((old for old in left if old["name"] == item["name"]), None)
        if same is None:
            unmatched.append(item)
        else:
            left.remove(same)
            pairs.append((same, item))
    for item in unmatched:
        same = next((old for old in left if old["kind"] == item["kind"]), None)
        if same is not None:
            left.remove(same)
        pairs.append((same, item))
    pairs += [(old, None) for old in left]
    changes = []
    for old, new in pairs:
        change = ItemChange(
            kind=(new or old or {})["kind"],
            before=None if old is None else old["name"],
            after=None if new is None else new["name"],
            before_usd=Decimal(0) if old is None else _money(old["monthly_usd"]),
            after_usd=Decimal(0) if new is None else _money(new["monthly_usd"]),
        )
        if abs(change.change) >= NO_CHANGE or change.before != change.after:
            changes.append(change)
    return changes


def _unlike(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What the two reports were priced with besides the templates, where it differs."""
    found = []
    for key, what in (
        ("region", "region"),
        ("free_tier", "free tier"),
        ("profile", "traffic profile"),
        ("assumptions", "assumptions"),
    ):
        old, new = before.get(key), now.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            found += [
                f"{what}: {field} {old.get(field)} -> {new.get(field)}"
                for field in [*old, *(k for k in new if k not in old)]
                if old.get(field) != new.get(field)
            ]
        elif old != new:
            found.append(f"{what}: {old} -> {new}")
    old, new = (d.get("price_table", {}).get("retrieved") for d in (before, now))
    if old != new:
        found.append(f"prices dated {old} -> {new}")
    return found


def compare(baseline: Mapping[str, Any], now: Mapping[str, Any], where: str) -> CostDiff:
    """``now`` (report.json of this run) against ``baseline`` (one read by read_baseline)."""
    old = {lt["launch_type"]: lt for lt in baseline["launch_types"]}
    new = {lt["launch_type"]: lt for lt in now["launch_types"]}
    # In registry order, then any the registry no longer knows.
    keys = sorted(old.keys() | new.keys(), key=_registry_order)
    changes = []
    for key in keys:
        before, after = old.get(key), new.get(key)
        changes.append(
            LaunchTypeChange(
                launch_type=key,
                monthly=tuple(  # type: ignore[arg-type]
                    None if side is None else _money(side["monthly_usd"])
                    for side in (before, after)
                ),
                idle=tuple(  # type: ignore[arg-type]
                    None if side is None else _money(side["idle_monthly_usd"])
                    for side in (before, after)
                ),
                items=tuple(
                    _items(
                        before["line_items"] if before else [], after["line_items"] if after else []
                    )
                ),
            )
        )
    return CostDiff(
        baseline=where,
        launch_types=tuple(changes),
        verdict=(baseline["verdict"], now["verdict"]),
        unlike=tuple(_unlike(baseline, now)),
    )


def _registry_order(key: str) -> tuple[int, str]:
    keys = [spec.key for spec in launch_types.REGISTRY]
    return (keys.index(key) if key in keys else len(keys), key)


def _label(key: str) -> str:
    return launch_types.label(key) if key in launch_types.BY_KEY else key


def _bands_words(verdict: Mapping[str, Any]) -> str:
    return ", ".join(
        band_words(
            breakeven.Band(
                cheapest=band["cheapest"],
                low=band["from_requests_per_month"],
                high=band["to_requests_per_month"],
                ends_by=band["ends_by"],
            )
        )
        for band in verdict["bands"]
    )


def _signed(amount: Decimal) -> str:
    return ("+" if amount >= 0 else "-") + usd(abs(amount))


def _cell(value: Decimal | None) -> str:
    return "-" if value is None else usd(value)


def _change_words(change: LaunchTypeChange) -> str:
    before, after = change.monthly
    if before is None:
        return "new"
    if after is None:
        return "gone"
    if not change.changed:
        return "no change"
    if abs(change.growth) < NO_CHANGE:
        return "$0.00"
    percent = f" ({change.growth / before:+.1%})" if before else ""
    return _signed(change.growth) + percent


def _item_words(item: ItemChange) -> str:
    if item.before is None:
        return f"{item.after}: new, {usd(item.after_usd)}"
    if item.after is None:
        return f"{item.before}: gone ({usd(item.before_usd)})"
    name = item.after if item.before == item.after else f"{item.before} -> {item.after}"
    return f"{name}: {usd(item.before_usd)} -> {usd(item.after_usd)} ({_signed(item.change)})"


def verdict_lines(diff: CostDiff) -> list[str]:
    before, now = diff.verdict
    requests = requests_words(now["requests_per_month"])
    if not diff.verdict_changed:
        return [
            f"Verdict unchanged: {_label(now['cheapest'])} is still the cheapest at {requests} "
            f"requests a month ({usd(_money(before['cheapest_monthly_usd']))} -> "
            f"{usd(_money(now['cheapest_monthly_usd']))}/month)."
        ]
    old_cheapest, new_cheapest = diff.cheapest
    lines = []
    if old_cheapest != new_cheapest:
        lines.append(
            f"Verdict changed: at {requests} requests a month {_label(new_cheapest)} is now the "
            f"cheapest, not {_label(old_cheapest)}."
        )
    else:
        lines.append(
            f"Verdict changed where the traffic differs: {_label(new_cheapest)} is still the "
            f"cheapest at {requests} requests a month, but the bands moved."
        )
    old_bands, new_bands = diff.bands
    lines += [f"Before: {before['summary']}", f"Now: {now['summary']}"]
    if old_bands != new_bands:
        lines += [f"Cheapest by traffic, before: {old_bands}.", f"Now: {new_bands}."]
    return lines


def gate_line(diff: CostDiff, limit: Decimal) -> str:
    over = diff.over(limit)
    if not over:
        return f"Cost gate passed: no launch type's monthly cost grows by more than {usd(limit)}."
    return f"Cost gate FAILED (--fail-above {usd(limit)}): " + "; ".join(
        f"{_label(change.launch_type)} {_signed(change.growth)} a month" for change in over
    )


TABLE_HEADERS = [
    "launch type",
    "monthly before",
    "monthly now",
    "change",
    "idle/month before",
    "idle/month now",
]


def table_rows(diff: CostDiff) -> list[list[str]]:
    return [
        [
            _label(change.launch_type),
            _cell(change.monthly[0]),
            _cell(change.monthly[1]),
            _change_words(change),
            _cell(change.idle[0]),
            _cell(change.idle[1]),
        ]
        for change in diff.launch_types
    ]


def moved_lines(diff: CostDiff) -> list[str]:
    """The line items that moved, of the launch types both reports price (a new or a gone one
    is its row in the table, whole)."""
    return [
        f"{_label(change.launch_type)}: {_item_words(item)}"
        for change in diff.launch_types
        if None not in change.monthly
        for item in change.items
    ]


def markdown(diff: CostDiff, limit: Decimal | None = None) -> str:
    from launchlab.report.render import _markdown_table as markdown_table

    now = diff.verdict[1]
    out = [MARKER, "## launchlab: what this change costs", ""]
    traffic = requests_words(now["requests_per_month"])
    out += [f"Against the baseline {diff.baseline}, at {traffic} requests a month.", ""]
    if diff.unlike:
        out += ["**Not like for like**: the two reports were priced differently:", ""]
        out += [f"- {line}" for line in diff.unlike] + [""]
    head, *rest = verdict_lines(diff)
    out += [f"**{head}**", ""] + [f"- {line}" for line in rest] + ([""] if rest else [])
    out += markdown_table(TABLE_HEADERS, table_rows(diff))
    moved = moved_lines(diff)
    out += (
        ["Line items that moved:", ""] + [f"- {line}" for line in moved]
        if moved
        else ["No line item moved."]
    )
    out += [""]
    if limit is not None:
        out += [gate_line(diff, limit), ""]
    return "\n".join(out)


def print_diff(diff: CostDiff, console: Any, limit: Decimal | None = None) -> None:
    from rich import box
    from rich.table import Table

    lines = [f"Cost change against {diff.baseline}"]
    lines += [f"Not like for like: {line}" for line in diff.unlike]
    lines += verdict_lines(diff)
    for line in lines:
        console.print(line, highlight=False, markup=False)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in TABLE_HEADERS:
        table.add_column(header, justify="left" if header == "launch type" else "right")
    for row in table_rows(diff):
        table.add_row(*row)
    console.print(table)
    moved = moved_lines(diff)
    for line in (
        ["Line items that moved:", *(f"- {x}" for x in moved)] if moved else ["No line item moved."]
    ):
        console.print(line, highlight=False, markup=False)
    if limit is not None:
        console.print(gate_line(diff, limit), highlight=False, markup=False)


def publish(
    baseline: Mapping[str, Any],
    where: Path,
    report_json: Path,
    console: Any,
    limit: Decimal | None = None,
) -> int:
    """Compare this run's ``report_json`` with ``baseline`` (read from ``where``), print the
    change, write cost-diff.md beside report.json; 1 if the gate fails, else 0."""
    diff = compare(baseline, json.loads(report_json.read_text()), str(where))
    print_diff(diff, console, limit)
    written = report_json.parent / "cost-diff.md"
    written.write_text(markdown(diff, limit))
    console.print(f"wrote {written.name} in {written.parent}", highlight=False, markup=False)
    return 1 if limit is not None and diff.over(limit) else 0

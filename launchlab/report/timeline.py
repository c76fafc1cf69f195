"""How long each launch type takes to scale out, deploy, roll back, start cold and scale in,
modelled step by step from the templates (through the inventory) and the AWS timings in
launchlab/report/timings.yaml, each with its source or marked as an assumption.

A timeline is a list of steps, each with a low, a central value and a high in one unit; the
timeline's figures are their sums. A step says where its numbers come from ("template: ..." with
the property and value, "AWS: <page>", or "assumption (--timing key=...)"), so a reader sees
why a timeline is as long as it is and what would shorten it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from launchlab.errors import LaunchlabError
from launchlab.files import read_yaml

DEFAULT_TIMINGS = Path(__file__).resolve().parent / "timings.yaml"


@dataclass(frozen=True)
class Constant:
    key: str
    value: float
    low: float
    high: float
    unit: str
    what: str
    source: str | None  # the page it was read from; None for an assumption
    date: str | None
    overridden: bool = False  # set with --timing
    measured: str | None = None  # where it was measured instead ("locally, 127.0.0.1, ...")

    @property
    def assumption(self) -> bool:
        return self.measured is None and (self.source is None or self.overridden)

    def basis(self) -> str:
        if self.measured is not None:
            return f"measured {self.measured}"
        if self.overridden:
            return f"set with --timing {self.key}={self.value:g}"
        if self.source is None:
            return f"assumption (--timing {self.key}=...)"
        return f"source: {self.source}"


@dataclass(frozen=True)
class Timings:
    constants: Mapping[str, Constant]
    path: Path

    def __getitem__(self, key: str) -> Constant:
        return self.constants[key]

    def sources(self) -> list[str]:
        return sorted({c.source for c in self.constants.values() if c.source})


def load_timings(
    path: Path = DEFAULT_TIMINGS,
    overrides: Mapping[str, float] | None = None,
    measured: Mapping[str, tuple[float, float, str]] | None = None,
) -> Timings:
    """The timings file, with ``overrides`` (--timing) and ``measured`` figures
    (key -> (low, high, where), e.g. the demo's local start times) in place of its values."""
    document = read_yaml(path, "the ops timings")
    entries = document.get("timings") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise LaunchlabError(f"{path}: no 'timings:' mapping; is this launchlab's timings file?")
    constants = {}
    for key, entry in entries.items():
        try:
            value, low, high = (float(entry[k]) for k in ("value", "low", "high"))
        except (KeyError, TypeError, ValueError):
            raise LaunchlabError(f"{path}: {key} needs numbers value, low and high") from None
        source = entry.get("source")
        if source is None and entry.get("assumption") is not True:
            raise LaunchlabError(f"{path}: {key} has no source and is not marked assumption: true")
        if not low <= value <= high:
            raise LaunchlabError(f"{path}: {key} value {value:g} is outside {low:g}..{high:g}")
        constants[key] = Constant(
            key, value, low, high, str(entry.get("unit", "")), str(entry.get("what", "")),
            source, None if entry.get("date") is None else str(entry["date"]),
        )  # fmt: skip
    for key, value in (overrides or {}).items():
        if key not in constants:
            raise LaunchlabError(
                f"--timing {key}: no such timing; known: {', '.join(sorted(constants))}"
            )
        constants[key] = replace(
            constants[key], value=value, low=value, high=value, overridden=True
        )
    for key, (low, high, where) in (measured or {}).items():
        constants[key] = replace(
            constants[key], low=low, value=(low + high) / 2, high=high, measured=where
        )
    return Timings(constants, path)


def parse_overrides(pairs: Iterable[str]) -> dict[str, float]:
    """``--timing KEY=VALUE`` flags as numbers; a bad one is a one-line error."""
    found = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not key or not math.isfinite(value) or value < 0:
            raise LaunchlabError(f"--timing takes KEY=VALUE with a number >= 0, got {pair!r}")
        found[key] = value
    return found


@dataclass(frozen=True)
class Step:
    what: str
    low: float
    value: float
    high: float
    basis: str

    def scaled(self, times: float, what: str | None = None) -> Step:
        return Step(what or self.what, self.low * times, self.value * times, self.high * times,
                    self.basis)  # fmt: skip


def fixed(what: str, seconds: float, basis: str) -> Step:
    """A step the template states exactly."""
    return Step(what, seconds, seconds, seconds, basis)


def of(constant: Constant, what: str | None = None, times: float = 1.0) -> Step:
    """A step that takes ``times`` x a constant."""
    return Step(
        what or constant.what,
        constant.low * times,
        constant.value * times,
        constant.high * times,
        constant.basis(),
    )


def longest(what: str, steps: list[Step]) -> Step:
    """Steps that run side by side: the step ends with the longest of them."""
    return Step(
        what,
        max(s.low for s in steps),
        max(s.value for s in steps),
        max(s.high for s in steps),
        "; ".join(f"{s.what}: {s.basis}" for s in steps),
    )


@dataclass(frozen=True)
class Timeline:
    """One operation's duration: the sum of its steps, in ``unit`` ("s" or "ms")."""

    name: str
    unit: str
    steps: tuple[Step, ...]
    # What the figure is of ("to 3 tasks at the peak", "one more task"), and anything a reader
    # must know beside it ("no automatic rollback: ...").
    target: str = ""
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def low(self) -> float:
        return sum(s.low for s in self.steps)

    @property
    def value(self) -> float:
        return sum(s.value for s in self.steps)

    @property
    def high(self) -> float:
        return sum(s.high for s in self.steps)

    @property
    def assumed(self) -> bool:
        return any("assumption" in s.basis for s in self.steps)

    def basis(self) -> str:
        parts = [f"{s.what} {amount(s.low, s.high, self.unit)} ({s.basis})" for s in self.steps]
        head = " + ".join(parts) if parts else "nothing to wait for"
        return head + (f"; {self.note}" if self.note else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "low": round(self.low, 3),
            "value": round(self.value, 3),
            "high": round(self.high, 3),
            "unit": self.unit,
            "target": self.target,
            "basis": self.basis(),
            "assumptions": self.assumed,
            "steps": [
                {
                    "what": s.what,
                    "low": round(s.low, 3),
                    "value": round(s.value, 3),
                    "high": round(s.high, 3),
                    "basis": s.basis,
                }
                for s in self.steps
            ],
            **self.extra,
        }


def amount(low: float, high: float, unit: str) -> str:
    """'0 s', '20 s', '45-75 s', '3.5-6 min', '0.4-1.3 s' (ms shown as s above a second)."""
    if unit == "ms":
        if high >= 1000:
            return amount(low / 1000, high / 1000, "s")
        return _span(low, high, "ms")
    if high >= 120:
        if 0 < low < 60:  # seconds to minutes: '5 s-3 min', not '0.083-3 min'
            return f"{_span(low, low, 's')}-{_span(high / 60, high / 60, 'min')}"
        return _span(low / 60, high / 60, "min")
    return _span(low, high, "s")


def _span(low: float, high: float, unit: str) -> str:
    def num(x: float) -> str:
        return f"{x:.2g}" if x < 10 else f"{x:,.0f}"

    if num(low) == num(high):
        return f"{num(high)} {unit}"
    return f"{num(low)}-{num(high)} {unit}"


def words(timeline: Timeline) -> str:
    """'3.4-6.8 min' or 'none'."""
    if timeline.high == 0:
        return "none"
    return amount(timeline.low, timeline.high, timeline.unit)


def short(timeline: Timeline) -> str:
    """'3.4-6.8m', '4-65s', 'none': for a table with six launch types on 80 columns."""
    text = words(timeline)
    for unit, letter in ((" min", "m"), (" ms", "ms"), (" s", "s")):
        text = text.replace(unit, letter)
    return text

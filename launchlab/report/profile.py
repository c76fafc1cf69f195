"""The traffic a report prices: how many requests a month, how long each takes, how big, and
how unevenly they arrive. From a named preset, a YAML file, and flags, in that order.

Validation is written out here rather than left to a schema library so that every bad value
becomes one ``launchlab: ...`` line naming the field, the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from launchlab.errors import LaunchlabError
from launchlab.files import read_yaml
from launchlab.report.prices import HOURS_PER_MONTH

SECONDS_PER_MONTH = int(HOURS_PER_MONTH) * 3600
SHAPES = ("steady", "peaky")
# An HTTP request line and headers, no body: what a preset assumes comes in per request.
DEFAULT_REQUEST_KB = 1.0
# Each profile field with its unit, in the order the report header echoes them.
FIELD_UNITS = {
    "requests_per_month": "requests/month",
    "avg_duration_ms": "ms",
    "payload_kb": "KB request + response",
    "request_kb": "KB of it inbound (free)",
    "shape": "",
    "peak_to_average": "x the average rate at the peak",
    "peak_hours_per_day": "h/day at the peak",
}
PEAK_FIELDS = ("peak_to_average", "peak_hours_per_day")


@dataclass(frozen=True)
class LoadLevel:
    """A share of the month's hours during which requests arrive at ``rps``."""

    hours_share: float
    rps: float


@dataclass(frozen=True)
class TrafficProfile:
    name: str
    requests_per_month: float
    avg_duration_ms: float
    payload_kb: float
    shape: str = "steady"
    # Peak rate over the monthly average; the peak lasts ``peak_hours_per_day`` each day and
    # the rest of the day carries what is left of the month's requests.
    peak_to_average: float = 1.0
    peak_hours_per_day: float = 2.0
    # The inbound part of ``payload_kb`` (the request); the rest is the response. Data into AWS
    # from the internet is free (https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer):
    # only the response is billed as data out, while the ALB processes both.
    request_kb: float = 0.0
    # Why the shape is what it is when the user did not say it ("implied by peak_to_average").
    shape_note: str = ""

    @property
    def response_kb(self) -> float:
        return self.payload_kb - self.request_kb

    @property
    def average_rps(self) -> float:
        return self.requests_per_month / SECONDS_PER_MONTH

    def levels(self) -> list[LoadLevel]:
        average = self.average_rps
        if self.shape == "steady" or self.peak_to_average == 1.0:
            return [LoadLevel(1.0, average)]
        peak_share = self.peak_hours_per_day / 24
        base_share = 1.0 - peak_share
        base_rps = average * (1.0 - self.peak_to_average * peak_share) / base_share
        return [
            LoadLevel(peak_share, average * self.peak_to_average),
            LoadLevel(base_share, max(base_rps, 0.0)),
        ]

    @property
    def peak_rps(self) -> float:
        return max(level.rps for level in self.levels())

    def with_requests(self, requests_per_month: float) -> TrafficProfile:
        return replace(self, requests_per_month=requests_per_month)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


PRESETS: Mapping[str, TrafficProfile] = {
    profile.name: profile
    for profile in (
        TrafficProfile("idle", 0, 100, 5, request_kb=DEFAULT_REQUEST_KB),
        TrafficProfile("hobby", 1_000_000, 100, 10, request_kb=DEFAULT_REQUEST_KB),
        TrafficProfile("steady-small-business", 20_000_000, 80, 20, request_kb=DEFAULT_REQUEST_KB),
        TrafficProfile("spiky", 5_000_000, 150, 20, "peaky", 8.0, 2.0, DEFAULT_REQUEST_KB),
        # A production comparison: the team-lead case of docs/report.md (40M requests a month
        # with a daily peak of 3x for 6 hours), priced with every launch type in two zones.
        TrafficProfile("production", 40_000_000, 120, 10, "peaky", 3.0, 6.0, DEFAULT_REQUEST_KB),
    )
}
# Config a preset synthesizes with (as -c key=value, which still wins): like for like.
PRESET_CONTEXT: Mapping[str, Mapping[str, str]] = {"production": {"availability": "multi-az"}}
DEFAULT_PRESET = "hobby"
# Flag / YAML key -> field; YAML files use the field names.
_NUMBER_FIELDS = (
    "requests_per_month",
    "avg_duration_ms",
    "payload_kb",
    "peak_to_average",
    "peak_hours_per_day",
    "request_kb",
)


def build_profile(
    preset: str | None,
    profile_file: Path | None,
    overrides: Mapping[str, str | None],
    flag_names: Mapping[str, str] | None = None,
) -> TrafficProfile:
    """The preset (default ``hobby``), then the YAML file's keys, then the flags given.
    A bad value is named as the user gave it: ``flag_names[field]`` if a flag set it."""
    name = preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise LaunchlabError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    values: dict[str, Any] = PRESETS[name].as_dict()
    values.pop("shape_note")
    loaded: dict[str, Any] = {}
    if profile_file is not None:
        loaded = _read_yaml(profile_file)
        unknown = sorted(set(loaded) - set(values))
        if unknown:
            raise LaunchlabError(
                f"{profile_file}: unknown key {unknown[0]!r} (allowed: {', '.join(values)})"
            )
        values.update(loaded)
        values["name"] = str(loaded.get("name", profile_file.stem))
    given = {key: value for key, value in overrides.items() if value is not None}
    values.update(given)
    if given and profile_file is None and preset is None:
        values["name"] = "custom"
    typed = {field: field for field in values}
    typed.update({field: (flag_names or {}).get(field, field) for field in given})
    return _validated(values, typed, user_set=frozenset(loaded) | frozenset(given))


def _read_yaml(path: Path) -> dict[str, Any]:
    loaded = read_yaml(path, "a traffic profile")
    if not isinstance(loaded, dict):
        raise LaunchlabError(f"{path}: a traffic profile is a mapping of field: value")
    return {str(key): value for key, value in loaded.items()}


def _number(field_name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise LaunchlabError(f"{field_name} must be a number, got {value!r}")
    try:
        number = float(str(value).replace("_", ""))
    except ValueError:
        raise LaunchlabError(f"{field_name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise LaunchlabError(f"{field_name} must be a finite number >= 0, got {value!r}")
    return number


def _validated(
    values: Mapping[str, Any], typed: Mapping[str, str], user_set: frozenset[str] = frozenset()
) -> TrafficProfile:
    """Checked values; ``user_set`` names the fields the file or the flags gave (not the
    preset), so a peak given with a steady shape is an error, not a value silently dropped."""
    numbers = {key: _number(typed[key], values[key]) for key in _NUMBER_FIELDS}
    shape = str(values["shape"])
    if shape not in SHAPES:
        raise LaunchlabError(f"{typed['shape']} must be one of {', '.join(SHAPES)}, got {shape!r}")
    if numbers["avg_duration_ms"] <= 0:
        raise LaunchlabError(f"{typed['avg_duration_ms']} must be greater than 0")
    if numbers["request_kb"] > numbers["payload_kb"]:
        raise LaunchlabError(
            f"{typed['request_kb']} {numbers['request_kb']:g} is more than "
            f"{typed['payload_kb']} {numbers['payload_kb']:g} (request + response bytes): "
            "give the request part of the payload"
        )
    peaks = [key for key in PEAK_FIELDS if key in user_set]
    shape_note = ""
    if shape == "steady" and peaks:
        if "shape" in user_set:
            raise LaunchlabError(
                f"{typed[peaks[0]]} describes a peak, but {typed['shape']} is steady: "
                f"set {typed['shape']} peaky, or leave out {', '.join(typed[k] for k in peaks)}"
            )
        shape, shape_note = "peaky", f"implied by {', '.join(typed[k] for k in peaks)}"
    if shape == "steady":
        numbers["peak_to_average"] = 1.0
    peak, hours = typed["peak_to_average"], typed["peak_hours_per_day"]
    if numbers["peak_to_average"] < 1:
        raise LaunchlabError(
            f"{peak} must be >= 1 (a peak is never below the average), "
            f"got {numbers['peak_to_average']:g}"
        )
    if not 0 < numbers["peak_hours_per_day"] < 24:
        raise LaunchlabError(f"{hours} must be between 0 and 24 (exclusive)")
    if numbers["peak_to_average"] * numbers["peak_hours_per_day"] / 24 > 1:
        most = 24 / numbers["peak_hours_per_day"]
        raise LaunchlabError(
            f"{peak} {numbers['peak_to_average']:g} over {numbers['peak_hours_per_day']:g}"
            f" h/day would carry more than the month's requests: at most {most:g}"
        )
    return TrafficProfile(name=str(values["name"]), shape=shape, shape_note=shape_note, **numbers)

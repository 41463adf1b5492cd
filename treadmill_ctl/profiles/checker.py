"""Check a parsed profile: every problem collected and located, then the profile built.

:class:`Checker` walks the TOML document against the rules
(:mod:`~treadmill_ctl.profiles.rules`), names each problem's line through the
:class:`~treadmill_ctl.profiles.source_map.SourceMap`, and raises every problem at
once as an :class:`InvalidProfileError`; a profile's ``[limits]`` may only tighten.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import TYPE_CHECKING, Any

from treadmill_ctl.errors import ConfigError, ProfileError
from treadmill_ctl.profiles.durations import DURATION_EXAMPLES, format_duration, parse_duration
from treadmill_ctl.profiles.model import Profile, Repeat, Segment, Step
from treadmill_ctl.profiles.rules import (
    DURATION_HINT,
    INCLINE_HINT,
    KM_PER_MILE,
    MAX_CUE_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_INCLINE_PCT,
    MAX_NAME_CHARS,
    MAX_PROBLEMS,
    MAX_PROFILE_S,
    MAX_REPEAT_TIMES,
    MAX_SEGMENT_S,
    MAX_SPEED_KMH,
    MAX_WEIGHT_KG,
    MAX_ZONE_BPM,
    MIN_INCLINE_PCT,
    MIN_SPEED_KMH,
    MIN_WEIGHT_KG,
    MIN_ZONE_BPM,
    MIN_ZONE_WIDTH_BPM,
    REPEAT_KEYS,
    SEGMENT_KEYS,
    SPEED_HINT,
    TOP_KEYS,
    speed_text_message,
    suggest,
)
from treadmill_ctl.profiles.source_map import SourceMap
from treadmill_ctl.safety.limits import Limits
from treadmill_ctl.safety.states import Direction
from treadmill_ctl.text import escape_text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class InvalidProfileError(ProfileError):
    """A profile has one or more problems; all of them are in ``problems``.

    The exception's own ``location`` and message are those of the first problem
    (with a count of the others), so printing it alone is still one useful line.
    """

    def __init__(self, problems: Sequence[ProfileError]) -> None:
        if not problems:
            raise ValueError("an invalid profile has at least one problem")
        first = problems[0]
        more = len(problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(first.problem + suffix, location=first.location)
        self.problems: tuple[ProfileError, ...] = tuple(problems)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: float) -> str:
    """Write a number as a person would: 3.0 as "3.0", 2.25 as "2.25", 1e-07 as "1e-07"."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and abs(value) < 0.01:  # noqa: PLR2004 - below what 2 decimals show
        return f"{value:g}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"


@dataclasses.dataclass(slots=True)
class _Place:
    """Where a segment sits in the file: its label and how to find a key's line."""

    label: str
    step: int
    position: int | None = None
    count: int = 0


class Checker:
    """Walk a parsed TOML document, collect every problem, build the profile."""

    def __init__(self, text: str, *, source: str, base_limits: Limits) -> None:
        self._source = source
        self._map = SourceMap(text)
        self._problems: list[ProfileError] = []
        self._problem_count = 0
        self._limits = base_limits

    def _at(self, line: int | None, label: str | None = None) -> str:
        where = f"{self._source}:{line}" if line is not None else self._source
        return f"{where}: {label}" if label else where

    def _problem(self, message: str, *, line: int | None, label: str | None = None) -> None:
        self._problem_count += 1
        if len(self._problems) < MAX_PROBLEMS:
            # a key or value quoted from the file may hold a line break or an escape
            message = escape_text(message)
            self._problems.append(ProfileError(message, location=self._at(line, label)))
        elif len(self._problems) == MAX_PROBLEMS:
            self._problems.append(
                ProfileError(
                    f"more than {MAX_PROBLEMS} problems: fix these first", location=self._source
                )
            )

    def _segment_problem(self, place: _Place, key: str | None, message: str) -> None:
        if place.position is None:
            line = self._map.step_key(place.step, key) if key else None
            line = line or self._map.step(place.step)
        elif key:
            line = self._map.repeat_segment_key(place.step, place.position, place.count, key)
        else:
            line = self._map.repeat_segment(place.step, place.position, place.count)
        self._problem(message, line=line, label=place.label)

    def profile(self, document: Mapping[str, Any]) -> Profile:
        """The checked profile, or :class:`InvalidProfileError` with every problem."""
        for key in document:
            if key not in TOP_KEYS:
                line = self._map.top_key(key) or self._map.table(key)
                self._problem(f'unknown key "{key}"{suggest(key, TOP_KEYS)}', line=line)
        name = self._name(document.get("name"))
        description = document.get("description", "")
        if not isinstance(description, str):
            self._problem(
                "description must be text in quotes", line=self._map.top_key("description")
            )
            description = ""
        elif len(description) > MAX_DESCRIPTION_CHARS:
            self._problem(
                f"description is longer than {MAX_DESCRIPTION_CHARS} characters",
                line=self._map.top_key("description"),
            )
            description = ""
        weight_kg = self._weight(document.get("weight_kg"))
        self._tighten_limits(document.get("limits"))
        steps = self._steps(document.get("step"))
        if self._problems:
            raise InvalidProfileError(self._problems)
        return Profile(
            name=name,
            description=description.strip(),
            steps=steps,
            limits=self._limits,
            weight_kg=weight_kg,
            source=self._source,
        )

    def _name(self, value: object) -> str:
        line = self._map.top_key("name")
        if value is None:
            self._problem('missing name: add name = "..." at the top', line=None)
            return ""
        if not isinstance(value, str) or not value.strip():
            self._problem("name must be non-empty text in quotes", line=line)
            return ""
        if len(value) > MAX_NAME_CHARS:
            self._problem(f"name is longer than {MAX_NAME_CHARS} characters", line=line)
        return value.strip()

    def _weight(self, value: object) -> float | None:
        if value is None:
            return None
        line = self._map.top_key("weight_kg")
        if not _is_number(value) or not math.isfinite(value):  # type: ignore[arg-type]
            self._problem("weight_kg must be a number of kilograms, e.g. weight_kg = 70", line=line)
            return None
        weight_kg = float(value)  # type: ignore[arg-type]
        if not MIN_WEIGHT_KG <= weight_kg <= MAX_WEIGHT_KG:
            self._problem(
                f"weight_kg {_fmt(weight_kg)} is outside {_fmt(MIN_WEIGHT_KG)}-"
                f"{_fmt(MAX_WEIGHT_KG)} kg (pounds? divide by 2.2046)",
                line=line,
            )
            return None
        return weight_kg

    def _tighten_limits(self, table: object) -> None:
        if table is None:
            return
        line = self._map.table("limits") or self._map.top_key("limits")
        if not isinstance(table, dict):
            self._problem("limits must be a table: [limits] with one limit per line", line=line)
            return
        known = tuple(field.name for field in dataclasses.fields(Limits))
        for key, value in table.items():
            key_line = self._map.table_key("limits", key) or line
            if key not in known:
                self._problem(
                    f'unknown limit "{key}"{suggest(key, known)}', line=key_line, label="[limits]"
                )
                continue
            # one key at a time, so a refusal points at its own line
            try:
                self._limits = self._limits.tightened({key: value}, source=self._source)
            except ConfigError as error:
                message = str(error).removeprefix(f"{self._source}: ")
                self._problem(message, line=key_line, label="[limits]")

    def _steps(self, value: object) -> tuple[Step, ...]:
        if value is None:
            self._problem("the profile has no steps: add at least one [[step]]", line=None)
            return ()
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self._problem(
                "step must be a list of tables: write each one as [[step]]",
                line=self._map.top_key("step"),
            )
            return ()
        if not value:
            self._problem("the profile has no steps: add at least one [[step]]", line=None)
            return ()
        steps: list[Step] = []
        for index, table in enumerate(value):
            step = (
                self._repeat(index, table)
                if "repeat" in table or "segments" in table
                else self._segment(table, _Place(label=f"step {index + 1}", step=index))
            )
            if step is not None:
                steps.append(step)
        total_s = sum(
            sum(s.duration_s for s in step.segments) * step.times
            if isinstance(step, Repeat)
            else step.duration_s
            for step in steps
        )
        if total_s > MAX_PROFILE_S:
            self._problem(
                f"the whole profile lasts {format_duration(total_s)}, above the "
                f"{format_duration(MAX_PROFILE_S)} maximum",
                line=None,
            )
        return tuple(steps)

    def _repeat(self, index: int, table: Mapping[str, Any]) -> Repeat | None:
        label = f"step {index + 1} (repeat)"
        line = self._map.step(index)
        times = self._repeat_times(table.get("repeat"), index, label)
        if times is not None:
            label = f"step {index + 1} (repeat x{times})"
        ok = True
        for key in table:
            if key in SEGMENT_KEYS:
                self._problem(
                    f'"{key}" belongs in the segments of a repeated block, not next to repeat',
                    line=self._map.step_key(index, key) or line,
                    label=label,
                )
                ok = False
            elif key not in REPEAT_KEYS:
                self._problem(
                    f'unknown key "{key}"{suggest(key, REPEAT_KEYS)}',
                    line=self._map.step_key(index, key) or line,
                    label=label,
                )
                ok = False
        raw_segments = table.get("segments")
        if (
            not isinstance(raw_segments, list)
            or not raw_segments
            or not all(isinstance(item, dict) for item in raw_segments)
        ):
            self._problem(
                "a repeated block needs segments = [ { direction = ..., speed_kmh = ..., "
                "duration = ... }, ... ] with at least one segment",
                line=self._map.step_key(index, "segments") or line,
                label=label,
            )
            return None
        segments: list[Segment] = []
        for position, item in enumerate(raw_segments):
            place = _Place(
                label=f"{label}, segment {position + 1}",
                step=index,
                position=position,
                count=len(raw_segments),
            )
            segment = self._segment(item, place)
            if segment is not None:
                segments.append(segment)
        if times is None or not ok or len(segments) != len(raw_segments):
            return None
        return Repeat(times=times, segments=tuple(segments))

    def _repeat_times(self, value: object, index: int, label: str) -> int | None:
        line = self._map.step_key(index, "repeat") or self._map.step(index)
        if value is None:
            self._problem(
                "a repeated block needs repeat = N (how many times)", line=line, label=label
            )
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self._problem(
                f"repeat must be a whole number of times, not {value!r}", line=line, label=label
            )
            return None
        if not 1 <= value <= MAX_REPEAT_TIMES:
            self._problem(
                f"repeat = {value} is outside 1-{MAX_REPEAT_TIMES}", line=line, label=label
            )
            return None
        return value

    def _segment(self, table: Mapping[str, Any], place: _Place) -> Segment | None:
        problems_before = self._problem_count
        direction = self._direction(table.get("direction"), place)
        if direction is not None:
            place.label = f"{place.label} ({direction.name.lower()})"
        for key in table:
            if key not in SEGMENT_KEYS:
                allowed = SEGMENT_KEYS if place.position is not None else SEGMENT_KEYS + REPEAT_KEYS
                hint = (
                    " (repeated blocks cannot be nested)"
                    if place.position is not None and key in REPEAT_KEYS
                    else suggest(key, allowed)
                )
                self._segment_problem(place, key, f'unknown key "{key}"{hint}')
        speed_kmh = self._speed(table, place, direction)
        incline_pct = self._incline(table.get("incline_pct", 0.0), place, direction)
        duration_s = self._duration(table.get("duration"), place)
        cue = self._cue(table.get("cue"), place)
        zone = self._hr_zone(table.get("hr_zone"), place)
        max_speed_kmh = self._guide_max_speed(table, place, direction, speed_kmh, zone)
        if (
            self._problem_count != problems_before
            or direction is None
            or speed_kmh is None
            or incline_pct is None
            or duration_s is None
        ):
            return None
        return Segment(
            direction=direction,
            speed_kmh=speed_kmh,
            incline_pct=incline_pct,
            duration_s=duration_s,
            cue=cue,
            hr_zone_bpm=zone,
            max_speed_kmh=max_speed_kmh,
        )

    def _hr_zone(self, value: object, place: _Place) -> tuple[int, int] | None:
        if value is None:
            return None
        example = "write it like hr_zone = [105, 120] (bpm)"
        if (
            not isinstance(value, list)
            or len(value) != 2  # noqa: PLR2004 - a zone has a low and a high end
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            self._segment_problem(place, "hr_zone", f"hr_zone must be two whole numbers: {example}")
            return None
        low, high = int(value[0]), int(value[1])
        ceiling = self._limits.heart_rate_max_bpm
        problem = None
        if not MIN_ZONE_BPM <= low < high <= MAX_ZONE_BPM:
            problem = (
                f"hr_zone [{low}, {high}] must rise within {MIN_ZONE_BPM}-{MAX_ZONE_BPM} bpm "
                f"({example})"
            )
        elif high - low < MIN_ZONE_WIDTH_BPM:
            problem = (
                f"hr_zone [{low}, {high}] is narrower than {MIN_ZONE_WIDTH_BPM} bpm: "
                "the speed would chase it; widen it"
            )
        elif ceiling is not None and high > ceiling:
            problem = (
                f"hr_zone [{low}, {high}] reaches above the heart-rate ceiling "
                f"heart_rate_max_bpm = {ceiling}: keep the zone below it"
            )
        if problem is not None:
            self._segment_problem(place, "hr_zone", problem)
            return None
        return low, high

    def _guide_max_speed(
        self,
        table: Mapping[str, Any],
        place: _Place,
        direction: Direction | None,
        speed_kmh: float | None,
        zone: tuple[int, int] | None,
    ) -> float | None:
        value = table.get("max_speed_kmh")
        if value is None:
            if zone is not None and direction is Direction.FORWARD:
                self._segment_problem(
                    place,
                    None,
                    "a heart-rate-guided forward segment needs max_speed_kmh: the highest "
                    "speed the guide may choose, e.g. max_speed_kmh = 5.5",
                )
            return speed_kmh if zone is not None else None
        if zone is None and "hr_zone" not in table:
            self._segment_problem(
                place, "max_speed_kmh", "max_speed_kmh only applies with hr_zone = [low, high]"
            )
            return None
        if not _is_number(value) or not math.isfinite(value):
            self._segment_problem(
                place, "max_speed_kmh", f"max_speed_kmh must be a number, not {value!r}"
            )
            return None
        maximum = float(value)
        if speed_kmh is not None and maximum < speed_kmh:
            self._segment_problem(
                place,
                "max_speed_kmh",
                f"max_speed_kmh {_fmt(maximum)} is below the starting speed_kmh {_fmt(speed_kmh)}",
            )
            return None
        if problem := self._speed_problem("max_speed_kmh", maximum, maximum, direction):
            self._segment_problem(
                place, "max_speed_kmh", problem.replace("speed ", "max_speed_kmh ", 1)
            )
            return None
        return maximum

    def _direction(self, value: object, place: _Place) -> Direction | None:
        names = tuple(member.name.lower() for member in Direction)
        if value is None:
            self._segment_problem(
                place, None, f'missing direction: add direction = "{names[0]}" or "{names[1]}"'
            )
            return None
        if not isinstance(value, str):
            self._segment_problem(
                place, "direction", f'direction must be "{names[0]}" or "{names[1]}" in quotes'
            )
            return None
        normalised = value.strip().lower()
        for member in Direction:
            if member.name.lower() == normalised:
                return member
        close = difflib.get_close_matches(normalised, names, n=1, cutoff=0.5)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        self._segment_problem(
            place,
            "direction",
            f'direction "{value}" is neither "{names[0]}" nor "{names[1]}"{hint}',
        )
        return None

    def _speed(
        self, table: Mapping[str, Any], place: _Place, direction: Direction | None
    ) -> float | None:
        given = [key for key in ("speed_kmh", "speed_mph") if key in table]
        if len(given) != 1:
            if len(given) > 1:
                self._segment_problem(place, "speed_mph", "give speed_kmh or speed_mph, not both")
            elif "speed" not in table:  # else already reported as an unknown key with a hint
                self._segment_problem(place, None, f"missing speed: {SPEED_HINT}")
            return None
        key = given[0]
        value = table[key]
        if isinstance(value, str):
            self._segment_problem(place, key, speed_text_message(key, value))
            return None
        if not _is_number(value) or not math.isfinite(value):
            self._segment_problem(place, key, f"{key} must be a number, not {value!r}")
            return None
        written = float(value)
        speed_kmh = round(written * KM_PER_MILE, 2) if key == "speed_mph" else written
        if problem := self._speed_problem(key, written, speed_kmh, direction):
            self._segment_problem(place, key, problem)
            return None
        return speed_kmh

    def _speed_problem(
        self, key: str, written: float, speed_kmh: float, direction: Direction | None
    ) -> str | None:
        """Say what is wrong with a numeric speed, or None if it can run."""
        shown = (
            f"{_fmt(written)} mph ({_fmt(speed_kmh)} km/h)"
            if key == "speed_mph"
            else f"{_fmt(speed_kmh)} km/h"
        )
        if speed_kmh <= 0:
            return f"speed {shown} must be above 0 (the session stops the belt by itself)"
        if speed_kmh < MIN_SPEED_KMH:
            return (
                f"speed {shown} is below {_fmt(MIN_SPEED_KMH)} km/h, slower than any treadmill "
                f"belt runs (they start at 0.5-1.0 km/h); give at least {_fmt(MIN_SPEED_KMH)}"
            )
        if speed_kmh > MAX_SPEED_KMH:
            other = "speed_mph or m/min" if key == "speed_kmh" else "speed_kmh"
            return (
                f"speed {shown} is absurd for walking (above {_fmt(MAX_SPEED_KMH)} km/h); "
                f"was it meant as {other}?"
            )
        if direction is Direction.BACKWARD and speed_kmh > self._limits.backward_max_speed_kmh:
            cap = _fmt(self._limits.backward_max_speed_kmh)
            return f"speed {shown} is above the backward cap {cap} km/h"
        if direction is Direction.FORWARD and speed_kmh > self._limits.forward_max_speed_kmh:
            cap = _fmt(self._limits.forward_max_speed_kmh)
            return f"speed {shown} is above the forward cap {cap} km/h"
        return None

    def _incline(self, value: object, place: _Place, direction: Direction | None) -> float | None:
        if isinstance(value, str):
            self._segment_problem(
                place, "incline_pct", f'incline_pct = "{value}" is text: {INCLINE_HINT}'
            )
            return None
        if not _is_number(value) or not math.isfinite(value):  # type: ignore[arg-type]
            self._segment_problem(
                place, "incline_pct", f"incline_pct must be a number, not {value!r}"
            )
            return None
        incline_pct = float(value)  # type: ignore[arg-type]
        if not MIN_INCLINE_PCT <= incline_pct <= MAX_INCLINE_PCT:
            self._segment_problem(
                place,
                "incline_pct",
                f"incline {_fmt(incline_pct)} % is outside {_fmt(MIN_INCLINE_PCT)} to "
                f"{_fmt(MAX_INCLINE_PCT)} % (it is in percent: 5 % is incline_pct = 5)",
            )
            return None
        if direction is None:
            return incline_pct
        backward = direction is Direction.BACKWARD
        cap_pct = self._limits.max_incline_pct(backward=backward)
        if incline_pct > cap_pct:
            self._segment_problem(
                place,
                "incline_pct",
                f"incline {_fmt(incline_pct)} % is above the {direction.name.lower()} incline cap "
                f"{_fmt(cap_pct)} %",
            )
            return None
        return incline_pct

    def _duration(self, value: object, place: _Place) -> float | None:
        if value is None:
            self._segment_problem(place, None, f"missing duration: {DURATION_HINT}")
            return None
        if isinstance(value, str):
            try:
                duration_s = parse_duration(value)
            except ValueError as error:
                self._segment_problem(place, "duration", str(error))
                return None
        elif _is_number(value) and math.isfinite(value):  # type: ignore[arg-type]
            duration_s = float(value)  # type: ignore[arg-type]
        else:
            self._segment_problem(place, "duration", f"duration must be {DURATION_EXAMPLES}")
            return None
        if duration_s <= 0:
            self._segment_problem(place, "duration", "duration must be longer than 0 s")
            return None
        if duration_s > MAX_SEGMENT_S:
            self._segment_problem(
                place,
                "duration",
                f"duration {format_duration(duration_s)} is absurd for one segment "
                f"(above {format_duration(MAX_SEGMENT_S)}); was a unit mistyped?",
            )
            return None
        return duration_s

    def _cue(self, value: object, place: _Place) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self._segment_problem(place, "cue", "cue must be text in quotes")
            return None
        if len(value) > MAX_CUE_CHARS:
            self._segment_problem(place, "cue", f"cue is longer than {MAX_CUE_CHARS} characters")
            return None
        return value.strip() or None

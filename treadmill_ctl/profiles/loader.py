"""Load a profile from TOML, and say exactly where and why it cannot be run.

The format (documented with an example in the README) keeps the order of the workout
unambiguous: the profile is one ``[[step]]`` list, and each step is either a segment
or a repeated block (``repeat = N`` with its own ``segments``). TOML loses the relative
order of arrays of tables with different names, so there is deliberately no separate
``[[segment]]`` or ``[[repeat]]`` list.

Every problem found is collected before anything is raised, so a physiotherapist
editing a file sees all of them at once: :class:`InvalidProfileError` carries them in
``problems``, each a :class:`~treadmill_ctl.errors.ProfileError` whose ``location``
names the file, the line where it can be found, and the step or segment
(``profiles/x.toml:14: step 3 (backward)``). A TOML syntax error stops at once, since
nothing after it can be trusted. Nothing runs from a profile with any problem.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import math
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treadmill_ctl.errors import ConfigError, ProfileError
from treadmill_ctl.files import InputFileError, load_toml, read_text_file
from treadmill_ctl.profiles.durations import DURATION_EXAMPLES, format_duration, parse_duration
from treadmill_ctl.profiles.model import Profile, Repeat, Segment, Step
from treadmill_ctl.safety.limits import Limits
from treadmill_ctl.safety.states import Direction
from treadmill_ctl.text import escape_text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

KM_PER_MILE = 1.609344

MAX_SPEED_KMH = 25.0
"""Above this a value is absurd for any walking workout (it is likely a unit mix-up)."""
MIN_SPEED_KMH = 0.5
"""Below this no treadmill belt runs (FTMS treadmills start at 0.5-1.0 km/h); a segment
slower than the treadmill's own minimum is walked at that minimum, and the person told."""
MAX_PROBLEMS = 50
"""Problems listed for one profile; past this many the rest are counted, not listed."""
MAX_DESCRIPTION_CHARS = 2000
MIN_INCLINE_PCT = -10.0
MAX_INCLINE_PCT = 40.0
MAX_SEGMENT_S = 4 * 3600.0
MAX_PROFILE_S = 4 * 3600.0
MAX_REPEAT_TIMES = 200
MIN_WEIGHT_KG = 20.0
MAX_WEIGHT_KG = 350.0
MAX_NAME_CHARS = 80
MAX_CUE_CHARS = 200

_TOP_KEYS = ("name", "description", "weight_kg", "limits", "step")
_SEGMENT_KEYS = (
    "direction",
    "speed_kmh",
    "speed_mph",
    "incline_pct",
    "duration",
    "cue",
    "hr_zone",
    "max_speed_kmh",
)
MIN_ZONE_BPM = 60
"""A heart-rate zone below this is no walking effort."""
MAX_ZONE_BPM = 200
"""A heart-rate zone above this is no walking effort."""
MIN_ZONE_WIDTH_BPM = 6
"""A narrower zone cannot be held with 0.1 km/h steps: the guide would chase it."""
_REPEAT_KEYS = ("repeat", "segments")

_STEP_HINT = (
    "write every segment as a [[step]] table and a repeated block as a [[step]] with "
    "repeat = N and segments = [...], so the order is kept as written"
)
_SPEED_HINT = (
    "write the unit in the key and a plain number as the value: speed_kmh = 2.0 or speed_mph = 1.2"
)
_INCLINE_HINT = "write incline_pct = 2 (a number, in percent)"
_DURATION_HINT = f"write duration = {DURATION_EXAMPLES}"
_KEY_HINTS: Mapping[str, str] = {
    "segment": _STEP_HINT,
    "segments": _STEP_HINT,
    "repeat": _STEP_HINT,
    "speed": _SPEED_HINT,
    "speed_ms": "m/s is not accepted: multiply by 3.6 and write speed_kmh",
    "speed_mps": "m/s is not accepted: multiply by 3.6 and write speed_kmh",
    "speed_m_s": "m/s is not accepted: multiply by 3.6 and write speed_kmh",
    "incline": _INCLINE_HINT,
    "grade": _INCLINE_HINT,
    "grade_pct": _INCLINE_HINT,
    "duration_s": _DURATION_HINT,
    "duration_min": _DURATION_HINT,
    "time": _DURATION_HINT,
    "seconds": _DURATION_HINT,
    "minutes": _DURATION_HINT,
    "times": "write repeat = N on a step that holds segments = [...]",
    "weight": "write weight_kg = 70 (in kilograms)",
    "weight_lb": "give the weight in kilograms: weight_kg = pounds / 2.2046",
    "weight_lbs": "give the weight in kilograms: weight_kg = pounds / 2.2046",
}

_TOML_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")
_HEADER = re.compile(r"^\s*(?P<open>\[\[?)\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")


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


def load_profile(path: str | Path, *, limits: Limits | None = None) -> Profile:
    """Read and check a profile file.

    Args:
        path: The TOML file; it is named in every error as given here.
        limits: The limits before the profile tightens them: the defaults already
            tightened by the user's config. ``None`` means the defaults.

    Returns:
        The checked profile, whose ``limits`` are the effective ones.

    Raises:
        InvalidProfileError: The file cannot be read or holds any problem.
    """
    source = str(path)
    try:
        text = read_text_file(Path(path))
    except FileNotFoundError:
        raise _invalid(source, "no such profile file") from None
    except InputFileError as error:
        raise _invalid(source, str(error)) from None
    except OSError as error:
        raise _invalid(source, f"cannot read the file ({error.strerror or error})") from None
    return parse_profile(text, source=source, limits=limits)


def parse_profile(text: str, *, source: str, limits: Limits | None = None) -> Profile:
    """Check profile text and build the :class:`Profile` it describes.

    Args:
        text: The TOML text.
        source: How errors name the text (usually its path).
        limits: The limits before the profile tightens them (see :func:`load_profile`).

    Returns:
        The checked profile.

    Raises:
        InvalidProfileError: A TOML syntax error (reported alone) or every problem
            found in the content.
    """
    try:
        document = load_toml(text, finite=False)  # inf and nan: refused below, located
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(source, error) from None
    except InputFileError as error:
        raise _invalid(source, str(error)) from None
    return _Checker(
        text, source=source, base_limits=limits if limits is not None else Limits()
    ).profile(document)


def _invalid(location: str, message: str) -> InvalidProfileError:
    return InvalidProfileError([ProfileError(message, location=location)])


def _syntax_error(source: str, error: tomllib.TOMLDecodeError) -> InvalidProfileError:
    message = str(error)
    if position := _TOML_POSITION.search(message):
        location = f"{source}:{position['line']}:{position['column']}"
        message = message[: position.start()]
    elif at_end := _TOML_AT_END.search(message):
        location = f"{source}: end of file"
        message = message[: at_end.start()]
    else:
        location = source
    return _invalid(location, f"TOML syntax error: {message}")


def _suggest(key: str, allowed: Sequence[str]) -> str:
    """Return a hint for an unknown key: a known mix-up, or the closest allowed key."""
    if hint := _KEY_HINTS.get(key.lower()):
        return f" ({hint})"
    close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f" (known keys: {', '.join(allowed)})"


def _speed_text_message(key: str, value: str) -> str:
    """Explain a speed written as text, such as ``speed_kmh = "2 km/h"``."""
    lowered = value.lower()
    hint = _SPEED_HINT
    if "mph" in lowered or "mi" in lowered:
        hint = "write speed_mph = 1.2 (a number, without the unit in the text)"
    elif "km" in lowered:
        hint = "write speed_kmh = 2.0 (a number, without the unit in the text)"
    return f'{key} = "{value}" is text, not a number: {hint}'


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: float) -> str:
    """Write a number as a person would: 3.0 as "3.0", 2.25 as "2.25", 1e-07 as "1e-07"."""
    if not math.isfinite(value):
        return str(value)
    if value != 0 and abs(value) < 0.01:  # noqa: PLR2004 - below what 2 decimals show
        return f"{value:g}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"


class _SourceMap:
    """Find the line of a table or key in the TOML text, where it can be found.

    ``tomllib`` gives positions for syntax errors only, so the checker looks the
    lines up in the text: table headers and ``key =`` lines. It is a best effort
    (keys written in unusual ways are not found), so every lookup may return None and
    the error then names the step without a line.
    """

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._headers: list[tuple[int, str, bool]] = []
        for number, line in enumerate(self._lines, start=1):
            if match := _HEADER.match(line):
                name = re.sub(r"\s*\.\s*", ".", match["name"])
                self._headers.append((number, name, match["open"] == "[["))
        self._steps = [n for n, name, is_array in self._headers if name == "step" and is_array]
        self._header_lines = [n for n, _, _ in self._headers]

    def _next_header_after(self, line: int) -> int:
        index = bisect.bisect_right(self._header_lines, line)
        return (
            self._header_lines[index] if index < len(self._header_lines) else len(self._lines) + 1
        )

    def _key_line(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
        for number in range(start, min(end, len(self._lines) + 1)):
            if pattern.match(self._lines[number - 1]):
                return number
        return None

    def top_key(self, key: str) -> int | None:
        first_header = self._headers[0][0] if self._headers else len(self._lines) + 1
        return self._key_line(key, 1, first_header)

    def table(self, name: str) -> int | None:
        return next((n for n, header, _ in self._headers if header == name), None)

    def table_key(self, name: str, key: str) -> int | None:
        start = self.table(name)
        if start is None:
            return None
        return self._key_line(key, start + 1, self._next_header_after(start))

    def step(self, index: int) -> int | None:
        return self._steps[index] if index < len(self._steps) else None

    def step_key(self, index: int, key: str) -> int | None:
        start = self.step(index)
        if start is None:
            return None
        return self._key_line(key, start + 1, self._next_header_after(start))

    def repeat_segment(self, index: int, position: int, count: int) -> int | None:
        """Line of segment ``position`` of the repeated block at step ``index``.

        Segments are either inline tables (one per line, starting with ``{``) or
        ``[[step.segments]]`` tables; if the lines found do not match ``count``, the
        step's own line is the best that can be said.
        """
        start = self.step(index)
        if start is None:
            return None
        end = next(
            (n for n, name, _ in self._headers if n > start and not name.startswith("step.")),
            len(self._lines) + 1,
        )
        candidates = [
            number
            for number in range(start + 1, end)
            if self._lines[number - 1].lstrip().startswith("{")
            or any(n == number and name == "step.segments" for n, name, _ in self._headers)
        ]
        return candidates[position] if len(candidates) == count else start

    def repeat_segment_key(self, index: int, position: int, count: int, key: str) -> int | None:
        line = self.repeat_segment(index, position, count)
        if line is None:
            return None
        if self._lines[line - 1].lstrip().startswith("{"):
            return line
        return self._key_line(key, line + 1, self._next_header_after(line)) or line


@dataclasses.dataclass(slots=True)
class _Place:
    """Where a segment sits in the file: its label and how to find a key's line."""

    label: str
    step: int
    position: int | None = None
    count: int = 0


class _Checker:
    """Walk a parsed TOML document, collect every problem, build the profile."""

    def __init__(self, text: str, *, source: str, base_limits: Limits) -> None:
        self._source = source
        self._map = _SourceMap(text)
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
        for key in document:
            if key not in _TOP_KEYS:
                line = self._map.top_key(key) or self._map.table(key)
                self._problem(f'unknown key "{key}"{_suggest(key, _TOP_KEYS)}', line=line)
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
                    f'unknown limit "{key}"{_suggest(key, known)}', line=key_line, label="[limits]"
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
            if key in _SEGMENT_KEYS:
                self._problem(
                    f'"{key}" belongs in the segments of a repeated block, not next to repeat',
                    line=self._map.step_key(index, key) or line,
                    label=label,
                )
                ok = False
            elif key not in _REPEAT_KEYS:
                self._problem(
                    f'unknown key "{key}"{_suggest(key, _REPEAT_KEYS)}',
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
            if key not in _SEGMENT_KEYS:
                allowed = (
                    _SEGMENT_KEYS if place.position is not None else _SEGMENT_KEYS + _REPEAT_KEYS
                )
                hint = (
                    " (repeated blocks cannot be nested)"
                    if place.position is not None and key in _REPEAT_KEYS
                    else _suggest(key, allowed)
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
                self._segment_problem(place, None, f"missing speed: {_SPEED_HINT}")
            return None
        key = given[0]
        value = table[key]
        if isinstance(value, str):
            self._segment_problem(place, key, _speed_text_message(key, value))
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
                place, "incline_pct", f'incline_pct = "{value}" is text: {_INCLINE_HINT}'
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
            self._segment_problem(place, None, f"missing duration: {_DURATION_HINT}")
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

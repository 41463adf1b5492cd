"""A session record read back into a :class:`~treadmill_ctl.history.session_log.SessionLog`.

The runner writes the record line by line as the session happens (record format 1,
``treadmill_ctl/session/recorder.py``), so a crash or a power cut can leave it
without its ``session.ended`` line, and with a last line half written. Such a
record is still worth reading: :func:`parse_record` keeps every complete line,
ignores a broken last line (and says so in :attr:`SessionLog.partial_last_line`),
skips events it does not know, and works out the summary the runner could not
write (:attr:`SessionLog.summary_derived`). The values it reads into are in
:mod:`~treadmill_ctl.history.session_log`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from treadmill_ctl.history.errors import UnreadableRecord
from treadmill_ctl.history.heart_rate import strap_reading, with_strap_heart_rate
from treadmill_ctl.history.session_log import (
    Alarm,
    DeviceInfo,
    Ending,
    Latch,
    Pause,
    PlannedStep,
    PlanTotals,
    Sample,
    SegmentRun,
    SessionLog,
    Span,
    StrapReading,
    Summary,
    TurnAround,
)
from treadmill_ctl.safety import Direction
from treadmill_ctl.session.events import RecordEvent

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

_M_PER_KM: Final = 1000.0
_S_PER_H: Final = 3600.0
_DISTANCE_RESET_TOLERANCE_M: Final = 1.0
"""A reported distance that falls by more than this restarted from zero (a re-armed belt)."""
_MAX_INTEGRATION_GAP_S: Final = 5.0
"""Longer gaps between samples are not integrated: the belt was not reporting, not moving."""
_FILE_STAMP: Final = re.compile(r"^(?P<stamp>\d{8}-\d{6})")
_TIMER_STATES: Final = frozenset({"running", "turning_around", "ending"})
"""Governor states in which the person is walking (the activity's timer runs)."""


def read_record(path: Path) -> SessionLog:
    """Read and parse one record file.

    Raises:
        UnreadableRecord: The file cannot be read, or no line of it is a record line.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableRecord(f"{path}: cannot read the record ({error.strerror})") from None
    return parse_record(data.decode("utf-8", errors="replace"), path=path)


def parse_record(text: str, *, path: Path) -> SessionLog:
    """Parse record text into a :class:`SessionLog`.

    Args:
        text: The whole file.
        path: Where it came from (kept in the log, and used for the start time
            when no line gives one).

    Raises:
        UnreadableRecord: Not one line is a JSON object with an ``event``.
    """
    lines, partial, bad = _split_lines(text)
    if not lines:
        raise UnreadableRecord(f"{path}: not a session record (no event lines)")
    return _Builder(path).build(lines, partial_last_line=partial, bad_lines=bad)


def _split_lines(text: str) -> tuple[list[Mapping[str, object]], bool, int]:
    """Decode every line; a broken unterminated last line is partial, not bad."""
    pieces = text.split("\n")
    unterminated = pieces.pop()  # "" when the text ends with a newline
    lines: list[Mapping[str, object]] = []
    bad = 0
    for piece in pieces:
        if not piece.strip():
            continue
        decoded = _decode(piece)
        if decoded is None:
            bad += 1
        else:
            lines.append(decoded)
    partial = False
    if unterminated.strip():
        decoded = _decode(unterminated)
        if decoded is None:
            partial = True
        else:
            lines.append(decoded)
    return lines, partial, bad


def _decode(line: str) -> Mapping[str, object] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("event"), str):
        return None
    return value


def _number(fields: Mapping[str, object], key: str) -> float | None:
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _integer(fields: Mapping[str, object], key: str) -> int | None:
    value = _number(fields, key)
    return round(value) if value is not None else None


def _text(fields: Mapping[str, object], key: str) -> str | None:
    value = fields.get(key)
    return value if isinstance(value, str) else None


def _mapping(fields: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = fields.get(key)
    return value if isinstance(value, dict) else {}


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time_from_name(path: Path) -> datetime | None:
    """The start from a ``YYYYMMDD-HHMMSS-...`` file name (local time)."""
    match = _FILE_STAMP.match(path.name)
    if match is None:
        return None
    try:
        local = datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S")  # noqa: DTZ007
    except ValueError:
        return None
    return local.astimezone().astimezone(UTC)


def _steps(line: Mapping[str, object]) -> tuple[PlannedStep, ...]:
    raw = line.get("segments")
    steps: list[PlannedStep] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        direction = _direction(_text(item, "direction"))
        index = _integer(item, "index")
        if direction is None or index is None:
            continue
        steps.append(
            PlannedStep(
                index=index,
                direction=direction,
                speed_kmh=_number(item, "speed_kmh") or 0.0,
                incline_pct=_number(item, "incline_pct") or 0.0,
                duration_s=_number(item, "duration_s") or 0.0,
                hr_zone_bpm=_zone(item, "hr_zone_bpm"),
            )
        )
    return tuple(steps)


def _zone(fields: Mapping[str, object], key: str) -> tuple[int, int] | None:
    """A heart-rate zone ``[low, high]`` (whole bpm, low below high), else None."""
    value = fields.get(key)
    if not isinstance(value, list) or len(value) != 2:  # noqa: PLR2004 - low and high
        return None
    low, high = _integer({"v": value[0]}, "v"), _integer({"v": value[1]}, "v")
    if low is None or high is None or not 0 < low < high:
        return None
    return low, high


def _device(line: Mapping[str, object]) -> DeviceInfo:
    information = _mapping(line, "information")

    def text(key: str) -> str | None:
        value = _text(line, key) or _text(information, key)
        return value.strip() or None if value is not None else None

    return DeviceInfo(
        name=text("name"),
        address=text("address"),
        manufacturer=text("manufacturer"),
        model=text("model"),
        serial_number=text("serial_number"),
        hardware_revision=text("hardware_revision"),
        firmware_revision=text("firmware_revision"),
        software_revision=text("software_revision"),
    )


def _direction(value: str | None) -> Direction | None:
    try:
        return Direction(value) if value is not None else None
    except ValueError:
        return None


@dataclass(slots=True)
class _OpenSegment:
    index: int
    direction: Direction
    speed_kmh: float
    incline_pct: float
    duration_s: float
    cue: str | None
    start_t_s: float
    hr_zone_bpm: tuple[int, int] | None = None

    def closed(self, end_t_s: float) -> SegmentRun:
        return SegmentRun(
            index=self.index,
            direction=self.direction,
            speed_kmh=self.speed_kmh,
            incline_pct=self.incline_pct,
            duration_s=self.duration_s,
            cue=self.cue,
            start_t_s=self.start_t_s,
            end_t_s=max(end_t_s, self.start_t_s),
            hr_zone_bpm=self.hr_zone_bpm,
        )


class _DistanceTrack:
    """Turns the treadmill's counter (or the speed) into a distance that never falls."""

    __slots__ = ("_last_reported_m", "_last_speed_kmh", "_last_t_s", "_offset_m", "total_m")

    def __init__(self) -> None:
        self.total_m = 0.0
        self._offset_m = 0.0
        self._last_reported_m: float | None = None
        self._last_t_s: float | None = None
        self._last_speed_kmh: float | None = None

    def add(self, t_s: float, speed_kmh: float | None, reported_m: float | None) -> float:
        if reported_m is not None and reported_m >= 0:
            if (
                self._last_reported_m is not None
                and reported_m < self._last_reported_m - _DISTANCE_RESET_TOLERANCE_M
            ):
                self._offset_m = self.total_m
            self._last_reported_m = reported_m
            self.total_m = max(self.total_m, self._offset_m + reported_m)
        elif self._last_t_s is not None and self._last_speed_kmh is not None:
            gap_s = t_s - self._last_t_s
            if 0 < gap_s <= _MAX_INTEGRATION_GAP_S:
                mean_kmh = (self._last_speed_kmh + (speed_kmh or 0.0)) / 2
                self.total_m += mean_kmh * _M_PER_KM / _S_PER_H * gap_s
            # a counter seen earlier continues from here if it comes back
            self._offset_m = self.total_m - (self._last_reported_m or 0.0)
        self._last_t_s = t_s
        self._last_speed_kmh = speed_kmh
        return self.total_m


class _Builder:
    """Walks the record's lines once and collects what readers need."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._started: Mapping[str, object] | None = None
        self._start_t_s: float | None = None
        self._first_ts: datetime | None = None
        self._ended: Mapping[str, object] | None = None
        self._ended_t_s: float | None = None
        self._session_id = ""
        self._samples: list[Sample] = []
        self._segments: list[SegmentRun] = []
        self._open: _OpenSegment | None = None
        self._latches: list[Latch] = []
        self._pauses: list[Pause] = []
        self._paused_at: float | None = None
        self._turn_arounds: list[TurnAround] = []
        self._turning: tuple[float, Direction | None] | None = None
        self._alarms: list[Alarm] = []
        self._gaps: list[Span] = []
        self._link_down_at: float | None = None
        self._timer: list[Span] = []
        self._timer_since: float | None = None
        self._state = "idle"
        self._device: DeviceInfo | None = None
        self._steps: tuple[PlannedStep, ...] = ()
        self._distance = _DistanceTrack()
        self._last_t_s = 0.0
        self._readings: list[StrapReading] = []

    def build(
        self, lines: Sequence[Mapping[str, object]], *, partial_last_line: bool, bad_lines: int
    ) -> SessionLog:
        for line in lines:
            self._line(line)
        end_t_s = self._ended_t_s if self._ended_t_s is not None else self._last_t_s
        if self._open is not None:
            self._segments.append(self._open.closed(end_t_s))
            self._open = None
        self._close_holds(end_t_s)
        if self._link_down_at is not None:
            self._gaps.append(Span(self._link_down_at, max(end_t_s, self._link_down_at)))
        self._stop_timer(end_t_s)
        started = self._started or {}
        start_t_s = self._start_t_s if self._start_t_s is not None else 0.0
        plan = self._plan(_mapping(started, "plan"))
        ending, exit_status = self._ending()
        summary, derived = self._summary(end_t_s - start_t_s, plan, ending)
        weight = _number(started, "weight_kg")
        return SessionLog(
            path=self._path,
            session_id=self._session_id,
            profile_name=_text(started, "profile_name") or "",
            profile_path=_text(started, "profile_path"),
            device_name=_text(started, "device_name"),
            simulator=started.get("simulator") is True,
            started_at=self._started_at(started),
            start_t_s=start_t_s,
            weight_kg=weight if weight is not None and weight > 0 else None,
            plan=plan,
            samples=with_strap_heart_rate(self._samples, self._readings),
            segments=tuple(self._segments),
            latches=tuple(self._latches),
            pauses=tuple(self._pauses),
            turn_arounds=tuple(self._turn_arounds),
            alarms=tuple(self._alarms),
            link_gaps=tuple(self._gaps),
            timer_spans=tuple(self._timer),
            device=self._device,
            planned_steps=self._steps,
            ending=ending,
            exit_status=exit_status,
            summary=summary,
            summary_derived=derived,
            end_t_s=end_t_s,
            partial_last_line=partial_last_line,
            bad_lines=bad_lines,
            heart_rate_readings=tuple(self._readings),
        )

    def _line(self, line: Mapping[str, object]) -> None:
        t_s = _number(line, "t")
        if t_s is None:
            t_s = self._last_t_s
        self._last_t_s = max(self._last_t_s, t_s)
        if self._first_ts is None:
            self._first_ts = _timestamp(_text(line, "ts"))
        if not self._session_id:
            self._session_id = _text(line, "session_id") or ""
        event = line["event"]
        match event:
            case RecordEvent.STARTED | RecordEvent.ENDED:
                self._bounds(event, line, t_s)
            case RecordEvent.SEGMENT_STARTED:
                self._segment(line, t_s)
            case RecordEvent.BELT_DATA:
                self._sample(line, t_s)
            case RecordEvent.PLAN:
                self._steps = _steps(line)
            case RecordEvent.DEVICE:
                self._device = _device(line)
            case RecordEvent.STATE_CHANGED:
                self._state_changed(line, t_s)
            case _:
                self._held(event, line, t_s)

    def _bounds(self, event: object, line: Mapping[str, object], t_s: float) -> None:
        if event == RecordEvent.STARTED and self._started is None:
            self._started = line
            self._start_t_s = t_s
        elif event == RecordEvent.ENDED and self._ended is None:
            self._ended = line
            self._ended_t_s = t_s
            self._close_holds(t_s)
            self._stop_timer(t_s)

    def _held(self, event: object, line: Mapping[str, object], t_s: float) -> None:
        """Pauses, turn-arounds, latches, alarms and link gaps."""
        match event:
            case RecordEvent.PAUSED if self._paused_at is None:
                self._close_turn_around(t_s)
                self._paused_at = t_s
                self._stop_timer(t_s)
            case RecordEvent.RESUMED:
                self._close_holds(t_s)
            case RecordEvent.TURN_AROUND_STARTED if self._turning is None:
                self._turning = (t_s, _direction(_text(line, "direction")))
            case RecordEvent.TURN_AROUND_ENDED:
                self._close_turn_around(t_s)
            case RecordEvent.LATCHED:
                self._close_holds(t_s)
                reason = _text(line, "reason") or "unknown"
                self._latches.append(Latch(t_s, reason, _text(line, "detail") or ""))
            case RecordEvent.REARMED if self._latches and self._latches[-1].rearmed_t_s is None:
                last = self._latches[-1]
                self._latches[-1] = Latch(last.t_s, last.reason, last.detail, rearmed_t_s=t_s)
            case RecordEvent.ALARM:
                self._alarms.append(
                    Alarm(t_s, _text(line, "text") or "", _text(line, "reason") or "")
                )
            case RecordEvent.LINK_LOST if self._link_down_at is None:
                self._link_down_at = t_s
            case RecordEvent.LINK_BACK if self._link_down_at is not None:
                self._gaps.append(Span(self._link_down_at, t_s))
                self._link_down_at = None
            case _:
                self._heart_rate(event, line, t_s)

    def _heart_rate(self, event: object, line: Mapping[str, object], t_s: float) -> None:
        """The strap's readings, a guided segment's zone from its steps; others are skipped."""
        if event == RecordEvent.HEART_RATE_SAMPLE:
            reading = strap_reading(line, t_s)
            if reading is not None:
                self._readings.append(reading)
        elif (
            event == RecordEvent.ZONE_STEP
            and self._open is not None
            and self._open.hr_zone_bpm is None
        ):
            # a record written before segment.started carried the zone
            self._open.hr_zone_bpm = _zone(line, "zone_bpm")

    def _close_holds(self, t_s: float) -> None:
        if self._paused_at is not None:
            self._pauses.append(Pause(start_t_s=self._paused_at, end_t_s=t_s))
            self._paused_at = None
        self._close_turn_around(t_s)

    def _close_turn_around(self, t_s: float) -> None:
        if self._turning is not None:
            start, direction = self._turning
            self._turn_arounds.append(TurnAround(start, max(t_s, start), direction))
            self._turning = None
            if self._state not in _TIMER_STATES:
                self._stop_timer(t_s)

    def _state_changed(self, line: Mapping[str, object], t_s: float) -> None:
        new = _text(line, "new")
        if new is None:
            return
        self._state = new
        if new in _TIMER_STATES:
            if self._timer_since is None:
                self._timer_since = t_s
        elif self._turning is None:  # a turn-around's wait for the resume is walking
            self._stop_timer(t_s)

    def _stop_timer(self, t_s: float) -> None:
        if self._timer_since is not None:
            self._timer.append(Span(self._timer_since, max(t_s, self._timer_since)))
            self._timer_since = None

    def _segment(self, line: Mapping[str, object], t_s: float) -> None:
        direction = _direction(_text(line, "direction"))
        index = _integer(line, "index")
        if direction is None or index is None:
            return
        if self._open is not None:
            self._segments.append(self._open.closed(t_s))
        self._open = _OpenSegment(
            index=index,
            direction=direction,
            speed_kmh=_number(line, "speed_kmh") or 0.0,
            incline_pct=_number(line, "incline_pct") or 0.0,
            duration_s=_number(line, "duration_s") or 0.0,
            cue=_text(line, "cue"),
            start_t_s=t_s,
            hr_zone_bpm=_zone(line, "hr_zone_bpm"),
        )

    def _sample(self, line: Mapping[str, object], t_s: float) -> None:
        speed = _number(line, "speed_kmh")
        reported = _number(line, "distance_m")
        heart_rate = _integer(line, "heart_rate_bpm")
        self._samples.append(
            Sample(
                t_s=t_s,
                speed_kmh=speed,
                incline_pct=_number(line, "incline_pct"),
                reported_distance_m=reported,
                elapsed_s=_number(line, "elapsed_s"),
                heart_rate_bpm=heart_rate if heart_rate is not None and heart_rate > 0 else None,
                distance_m=self._distance.add(t_s, speed, reported),
                segment_index=self._open.index if self._open is not None else None,
                direction=self._open.direction if self._open is not None else None,
                paused=self._paused_at is not None,
                latched=self._state == "latched",
                timer_running=self._timer_since is not None,
            )
        )

    def _started_at(self, started: Mapping[str, object]) -> datetime:
        return (
            _timestamp(_text(started, "started_at"))
            or (_timestamp(_text(started, "ts")) if self._started is not None else None)
            or self._first_ts
            or _time_from_name(self._path)
            or datetime.fromtimestamp(self._path.stat().st_mtime, tz=UTC)
        )

    @staticmethod
    def _plan(plan: Mapping[str, object]) -> PlanTotals | None:
        total = _number(plan, "total_s")
        count = _integer(plan, "segment_count")
        if total is None or count is None:
            return None
        return PlanTotals(
            total_s=total,
            backward_s=_number(plan, "backward_s") or 0.0,
            forward_s=_number(plan, "forward_s") or 0.0,
            distance_m=_number(plan, "distance_m") or 0.0,
            segment_count=count,
        )

    def _ending(self) -> tuple[Ending, int | None]:
        if self._ended is None:
            return Ending.CUT_SHORT, None
        try:
            ending = Ending(_text(self._ended, "end") or "")
        except ValueError:
            ending = Ending.UNKNOWN
        if ending is Ending.CUT_SHORT:
            ending = Ending.UNKNOWN
        return ending, _integer(self._ended, "exit_status")

    def _summary(
        self, duration_s: float, plan: PlanTotals | None, ending: Ending
    ) -> tuple[Summary, bool]:
        by_direction = dict.fromkeys(Direction, 0.0)
        for segment in self._segments:
            by_direction[segment.direction] += segment.ran_s
        finished = len(self._segments)
        if ending is not Ending.COMPLETED and finished:
            finished -= 1  # the segment running at the end did not run to its end
        derived = Summary(
            duration_s=max(0.0, duration_s),
            backward_s=by_direction[Direction.BACKWARD],
            forward_s=by_direction[Direction.FORWARD],
            distance_m=self._distance.total_m,
            latches=tuple(latch.reason for latch in self._latches),
            segments_completed=finished,
            segment_count=plan.segment_count if plan is not None else len(self._segments),
        )
        written = _mapping(self._ended, "summary") if self._ended is not None else {}
        if not written:
            return derived, True
        latches = written.get("latches")
        reasons = (
            tuple(str(reason) for reason in latches)
            if isinstance(latches, list)
            else derived.latches
        )
        values = {
            "duration_s": _number(written, "duration_s"),
            "backward_s": _number(written, "backward_s"),
            "forward_s": _number(written, "forward_s"),
            "distance_m": _number(written, "distance_m"),
        }
        counts = {
            "segments_completed": _integer(written, "segments_completed"),
            "segment_count": _integer(written, "segment_count"),
        }
        summary = Summary(
            duration_s=_or(values["duration_s"], derived.duration_s),
            backward_s=_or(values["backward_s"], derived.backward_s),
            forward_s=_or(values["forward_s"], derived.forward_s),
            distance_m=_or(values["distance_m"], derived.distance_m),
            latches=reasons,
            segments_completed=_or_int(counts["segments_completed"], derived.segments_completed),
            segment_count=_or_int(counts["segment_count"], derived.segment_count),
        )
        missing = any(value is None for value in (*values.values(), *counts.values()))
        return summary, missing


def _or(value: float | None, fallback: float) -> float:
    return fallback if value is None else value


def _or_int(value: int | None, fallback: int) -> int:
    return fallback if value is None else value

"""A session as a FIT activity file: walking on a treadmill, for Garmin Connect and Strava.

The file follows the FIT SDK's Activity file layout: ``file_id``, a timer start
``event``, one ``record`` per belt sample (timestamp, distance, speed, heart rate),
timer stop/start events around pauses, one ``lap`` per segment of the plan (so the
backward intervals show as laps), a timer stop, one ``session`` and one
``activity`` with the totals. The sport is walking with the sub-sport
``indoor_walking`` ("Walking/Fitness Equipment" in the FIT profile), which Garmin
Connect shows as indoor walking and Strava imports as a walk without a map.

Encoding is done by ``fit-tool`` (a maintained FIT encoder); the tests decode the
result with Garmin's own FIT SDK, so an encoding mistake cannot hide behind a
decoder that shares it. Lap and session calories are estimates from SAFETY.md's
equations. A record cut short exports what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.lap_message import LapMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.profile_type import (
    Activity,
    Event,
    EventType,
    FileType,
    LapTrigger,
    Manufacturer,
    SessionTrigger,
    Sport,
    SubSport,
)

from treadmill_ctl.history.energy import kcal_between, session_weight_kg

if TYPE_CHECKING:
    from datetime import datetime

    from treadmill_ctl.history.record import Sample, SessionLog

_KMH_PER_MS: Final = 3.6
_MS_PER_S: Final = 1000
_MAX_HEART_RATE_BPM: Final = 254
"""255 is FIT's "invalid" for a uint8 heart rate."""
SPORT: Final = Sport.WALKING
SUB_SPORT: Final = SubSport.INDOOR_WALKING


@dataclass(frozen=True, slots=True)
class _Span:
    """A lap: a stretch of session time and the samples in it."""

    start_t_s: float
    end_t_s: float
    samples: tuple[Sample, ...]


def _ms(moment: datetime) -> int:
    """fit-tool takes timestamps as milliseconds since the Unix epoch."""
    return round(moment.timestamp() * _MS_PER_S)


def _spans(log: SessionLog) -> list[_Span]:
    if not log.segments:
        return [_Span(log.start_t_s, log.end_t_s, log.samples)]
    spans: list[_Span] = []
    last = len(log.segments) - 1
    for position, segment in enumerate(log.segments):
        start = log.start_t_s if position == 0 else segment.start_t_s
        end = log.end_t_s if position == last else segment.end_t_s
        samples = tuple(
            sample
            for sample in log.samples
            if start <= sample.t_s < end or (position == last and sample.t_s == end)
        )
        spans.append(_Span(start, end, samples))
    return spans


def _paused_s(log: SessionLog, start_t_s: float, end_t_s: float) -> float:
    total = 0.0
    for pause in log.pauses:
        pause_end = pause.end_t_s if pause.end_t_s is not None else log.end_t_s
        total += max(0.0, min(pause_end, end_t_s) - max(pause.start_t_s, start_t_s))
    return total


def _in_pause(log: SessionLog, t_s: float) -> bool:
    """FIT writes no records while the timer is stopped (the FIT SDK's best practice)."""
    return any(
        pause.start_t_s <= t_s < (pause.end_t_s if pause.end_t_s is not None else log.end_t_s)
        for pause in log.pauses
    )


@dataclass(frozen=True, slots=True)
class _Totals:
    elapsed_s: float
    timer_s: float
    distance_m: float
    avg_speed_ms: float
    max_speed_ms: float | None
    avg_heart_rate_bpm: int | None
    max_heart_rate_bpm: int | None
    kcal: int


def _totals(
    log: SessionLog,
    start_t_s: float,
    end_t_s: float,
    samples: tuple[Sample, ...],
    *,
    start_distance_m: float,
    weight_kg: float,
) -> _Totals:
    elapsed = max(0.0, end_t_s - start_t_s)
    timer = max(0.0, elapsed - _paused_s(log, start_t_s, end_t_s))
    distance = max(
        0.0, (samples[-1].distance_m if samples else start_distance_m) - start_distance_m
    )
    speeds = [sample.speed_kmh for sample in samples if sample.speed_kmh is not None]
    rates = [sample.heart_rate_bpm for sample in samples if sample.heart_rate_bpm]
    return _Totals(
        elapsed_s=elapsed,
        timer_s=timer,
        distance_m=distance,
        avg_speed_ms=distance / timer if timer > 0 else 0.0,
        max_speed_ms=max(speeds) / _KMH_PER_MS if speeds else None,
        avg_heart_rate_bpm=round(sum(rates) / len(rates)) if rates else None,
        max_heart_rate_bpm=max(rates) if rates else None,
        kcal=round(kcal_between(log, start_t_s, end_t_s, weight_kg=weight_kg)),
    )


def _timer_event(log: SessionLog, t_s: float, event_type: EventType) -> EventMessage:
    message = EventMessage()
    message.timestamp = _ms(log.wall_time(t_s))
    message.event = Event.TIMER
    message.event_type = event_type
    message.event_group = 0
    return message


def _record(log: SessionLog, sample: Sample) -> RecordMessage:
    message = RecordMessage()
    message.timestamp = _ms(log.wall_time(sample.t_s))
    message.distance = sample.distance_m
    if sample.speed_kmh is not None:
        message.speed = sample.speed_kmh / _KMH_PER_MS
    if sample.heart_rate_bpm:
        message.heart_rate = min(sample.heart_rate_bpm, _MAX_HEART_RATE_BPM)
    return message


def session_fit(log: SessionLog, *, weight_kg: float | None = None) -> bytes:
    """The session as the bytes of a FIT activity file.

    Args:
        log: The session.
        weight_kg: The person's configured weight, for the calorie estimate when the
            record has none.
    """
    weight = session_weight_kg(log, weight_kg)
    builder = FitFileBuilder(auto_define=True, min_string_size=50)
    start_ms = _ms(log.started_at)
    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.DEVELOPMENT.value
    file_id.product = 0
    file_id.serial_number = 1
    file_id.time_created = start_ms
    file_id.product_name = "treadmill-ctl"
    builder.add(file_id)
    builder.add(_timer_event(log, log.start_t_s, EventType.START))
    events: list[tuple[float, int, EventMessage | RecordMessage]] = [
        (sample.t_s, 1, _record(log, sample))
        for sample in log.samples
        if not _in_pause(log, sample.t_s)
    ]
    for pause in log.pauses:
        events.append((pause.start_t_s, 0, _timer_event(log, pause.start_t_s, EventType.STOP)))
        if pause.end_t_s is not None:
            events.append((pause.end_t_s, 0, _timer_event(log, pause.end_t_s, EventType.START)))
    for _, _, message in sorted(events, key=lambda item: (item[0], item[1])):
        builder.add(message)
    builder.add(_timer_event(log, log.end_t_s, EventType.STOP_ALL))
    spans = _spans(log)
    start_distance = 0.0
    for index, span in enumerate(spans):
        totals = _totals(
            log,
            span.start_t_s,
            span.end_t_s,
            span.samples,
            start_distance_m=start_distance,
            weight_kg=weight,
        )
        start_distance += totals.distance_m
        builder.add(_lap(log, span, totals, index))
    end_ms = _ms(log.wall_time(log.end_t_s))
    whole = _totals(
        log, log.start_t_s, log.end_t_s, log.samples, start_distance_m=0.0, weight_kg=weight
    )
    session = SessionMessage()
    session.message_index = 0
    session.timestamp = end_ms
    session.start_time = start_ms
    session.event = Event.SESSION
    session.event_type = EventType.STOP
    session.sport = SPORT
    session.sub_sport = SUB_SPORT
    session.trigger = SessionTrigger.ACTIVITY_END
    session.first_lap_index = 0
    session.num_laps = len(spans)
    _fill(session, whole)
    builder.add(session)
    activity = ActivityMessage()
    activity.timestamp = end_ms
    activity.total_timer_time = whole.timer_s
    activity.num_sessions = 1
    activity.type = Activity.MANUAL
    activity.event = Event.ACTIVITY
    activity.event_type = EventType.STOP
    builder.add(activity)
    data: bytes = builder.build().to_bytes()
    return data


def _lap(log: SessionLog, span: _Span, totals: _Totals, index: int) -> LapMessage:
    lap = LapMessage()
    lap.message_index = index
    lap.timestamp = _ms(log.wall_time(span.end_t_s))
    lap.start_time = _ms(log.wall_time(span.start_t_s))
    lap.event = Event.LAP
    lap.event_type = EventType.STOP
    lap.lap_trigger = LapTrigger.TIME if index < len(log.segments) - 1 else LapTrigger.SESSION_END
    lap.sport = SPORT
    lap.sub_sport = SUB_SPORT
    _fill(lap, totals)
    return lap


def _fill(message: LapMessage | SessionMessage, totals: _Totals) -> None:
    message.total_elapsed_time = totals.elapsed_s
    message.total_timer_time = totals.timer_s
    message.total_distance = totals.distance_m
    message.avg_speed = totals.avg_speed_ms
    if totals.max_speed_ms is not None:
        message.max_speed = totals.max_speed_ms
    if totals.avg_heart_rate_bpm is not None:
        message.avg_heart_rate = min(totals.avg_heart_rate_bpm, _MAX_HEART_RATE_BPM)
    if totals.max_heart_rate_bpm is not None:
        message.max_heart_rate = min(totals.max_heart_rate_bpm, _MAX_HEART_RATE_BPM)
    message.total_calories = totals.kcal

"""A session as a FIT activity file: walking on a treadmill, for Garmin Connect and Strava.

The file follows the FIT SDK's Activity file layout: ``file_id``, a ``device_info``
for this program (the creator, device index 0) and one for the treadmill (its
Device Information service: manufacturer, model, serial, revisions), the plan as a
``workout`` with one ``workout_step`` per segment ("Backward 1.2 km/h", a time step
with the segment's speed as its target, or a guided segment's heart-rate zone),
timer ``event`` s, one ``record`` per belt sample while the person walks
(timestamp, distance, speed, incline as ``grade``, heart rate), ``hrv`` messages
with the strap's RR intervals, one ``lap`` per segment pointing at its step and one
``rest`` lap per turn-around, one ``session`` and one ``activity`` (with
``local_timestamp``, so Strava shows the local time of day).

The timer runs while the person walks, as a watch's would: it starts at the first
start (the wait before it is not part of the activity), stops for pauses and latch
waits and starts again when the belt runs again; turn-arounds are walking. So the
timer time is the walking time, the elapsed time spans the activity whole, and the
average speed is the walking speed. The sport is walking with the sub-sport
``indoor_walking``.

Heart rate is the person's (:mod:`~treadmill_ctl.history.heart_rate`): the strap's
when the record holds strap readings, else the treadmill's field; the records, the
laps' and the session's average and maximum all come from it. The strap's RR
intervals (the time between beats) follow as FIT ``hrv`` messages: each message's
``time`` holds at most five intervals in seconds, in the order the strap sent them,
placed in the timeline where they arrived, only plausible ones, from the person's
first start to the activity's end.

A dry run against the simulator says so in the workout's name, the creator's product
name and the treadmill's descriptor, and carries no heart rate and no RR intervals,
neither the simulated treadmill's nor the simulated strap's: a site that reads the
file (Garmin Connect, Strava) turns heart rate into training load, recovery advice
and fitness estimates for the person whose account it lands in, and a simulated
heart is nobody's. The marks in the names do not stop that; leaving the heart out
does. The report, the chart and the CSV show a dry run's simulated heart rate,
marked as simulated, for checking the simulator and the zone guide.

Encoding is done by ``fit-tool`` (a maintained FIT encoder); the tests decode the
result with Garmin's own FIT SDK, so an encoding mistake cannot hide behind a
decoder that shares it. Lap and session calories are estimates from SAFETY.md's
equations. A record cut short exports what it holds; a record without a single
belt sample is refused (:class:`~treadmill_ctl.history.errors.NothingToExport`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile.messages.activity_message import ActivityMessage
from fit_tool.profile.messages.device_info_message import DeviceInfoMessage
from fit_tool.profile.messages.event_message import EventMessage
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.hrv_message import HrvMessage
from fit_tool.profile.messages.lap_message import LapMessage
from fit_tool.profile.messages.record_message import RecordMessage
from fit_tool.profile.messages.session_message import SessionMessage
from fit_tool.profile.messages.workout_message import WorkoutMessage
from fit_tool.profile.messages.workout_step_message import WorkoutStepMessage
from fit_tool.profile.profile_type import (
    Activity,
    Event,
    EventType,
    FileType,
    Intensity,
    LapTrigger,
    Manufacturer,
    SessionTrigger,
    SourceType,
    Sport,
    SubSport,
    WorkoutStepDuration,
    WorkoutStepTarget,
)

from treadmill_ctl import __version__
from treadmill_ctl.history.energy import kcal_between, session_weight_kg
from treadmill_ctl.history.heart_rate import plausible_rr
from treadmill_ctl.history.laps import (
    Lap,
    activity_span,
    distance_at,
    laps,
    require_samples,
    timer_between,
)

if TYPE_CHECKING:
    from fit_tool.data_message import DataMessage

    from treadmill_ctl.history.session_log import DeviceInfo, PlannedStep, Sample, SessionLog

_KMH_PER_MS: Final = 3.6
_MS_PER_S: Final = 1000
_MAX_HEART_RATE_BPM: Final = 254
"""255 is FIT's "invalid" for a uint8 heart rate."""
HRV_TIMES_PER_MESSAGE: Final = 5
"""RR intervals in one ``hrv`` message at most (as Garmin's own devices write them)."""
_HRV_LOCAL_ID: Final = 10
"""``hrv`` messages of n intervals use local message type 10 + n (11-15): fit-tool would
otherwise write a shorter array into the longer one's definition, padded with zeros
(which read back as beats 0 s apart)."""
_FIT_EPOCH: Final = datetime(1989, 12, 31, tzinfo=UTC)
"""FIT's own epoch: ``local_timestamp`` counts seconds from it, in local time."""
_SPEED_TOLERANCE_KMH: Final = 0.1
"""A step's speed target is its planned speed, give or take this much."""
_FIT_BPM_OFFSET: Final = 100
"""FIT's custom heart-rate targets: 0-100 is % of the maximum, bpm are written plus 100."""
SPORT: Final = Sport.WALKING
SUB_SPORT: Final = SubSport.INDOOR_WALKING
CREATOR_INDEX: Final = 0
"""``device_info`` of this program (FIT's creator is device index 0)."""
TREADMILL_INDEX: Final = 1
"""``device_info`` of the treadmill."""


def _ms(moment: datetime) -> int:
    """fit-tool takes timestamps as milliseconds since the Unix epoch."""
    return round(moment.timestamp() * _MS_PER_S)


def _local_timestamp(moment: datetime) -> int:
    """FIT's ``local_date_time``: seconds since FIT's epoch on the local clock."""
    local = moment.astimezone()
    offset = local.utcoffset()
    offset_s = offset.total_seconds() if offset is not None else 0.0
    return round((moment - _FIT_EPOCH).total_seconds() + offset_s)


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
    weight_kg: float,
    last: bool = True,
) -> _Totals:
    timer = timer_between(log, start_t_s, end_t_s)
    distance = max(0.0, distance_at(log, end_t_s, inclusive=last) - distance_at(log, start_t_s))
    speeds = [sample.speed_kmh for sample in samples if sample.speed_kmh is not None]
    rates = _heart_rates(log, samples)
    return _Totals(
        elapsed_s=max(0.0, end_t_s - start_t_s),
        timer_s=timer,
        distance_m=distance,
        avg_speed_ms=distance / timer if timer > 0 else 0.0,
        max_speed_ms=max(speeds) / _KMH_PER_MS if speeds else None,
        avg_heart_rate_bpm=round(sum(rates) / len(rates)) if rates else None,
        max_heart_rate_bpm=max(rates) if rates else None,
        kcal=round(kcal_between(log, start_t_s, end_t_s, weight_kg=weight_kg)),
    )


def _heart_rates(log: SessionLog, samples: tuple[Sample, ...]) -> list[int]:
    if log.simulator:
        return []  # the simulator's heart rate is not a person's
    return [sample.heart_rate_bpm for sample in samples if sample.heart_rate_bpm]


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
    if sample.incline_pct is not None:
        message.grade = sample.incline_pct
    if sample.heart_rate_bpm and not log.simulator:
        message.heart_rate = min(sample.heart_rate_bpm, _MAX_HEART_RATE_BPM)
    return message


def _marked(log: SessionLog, text: str) -> str:
    return f"{text} (simulated)" if log.simulator else text


def _creator(log: SessionLog, start_ms: int) -> DeviceInfoMessage:
    message = DeviceInfoMessage()
    message.timestamp = start_ms
    message.device_index = CREATOR_INDEX
    message.manufacturer = Manufacturer.DEVELOPMENT.value
    message.product = 0
    message.product_name = _marked(log, "treadmill-ctl")
    message.source_type = SourceType.LOCAL
    with contextlib.suppress(ValueError):
        major, minor, *_ = [*__version__.split("."), "0", "0"]
        message.software_version = float(f"{int(major)}.{int(minor)}")
    return message


def _treadmill(log: SessionLog, start_ms: int) -> DeviceInfoMessage:
    device: DeviceInfo | None = log.device
    message = DeviceInfoMessage()
    message.timestamp = start_ms
    message.device_index = TREADMILL_INDEX
    message.manufacturer = Manufacturer.DEVELOPMENT.value
    message.source_type = SourceType.BLUETOOTH_LOW_ENERGY
    # no device_type: FIT's Bluetooth device types have none for fitness equipment
    names = [device.manufacturer, device.model] if device is not None else []
    product = " ".join(name for name in names if name) or log.device_name or "FTMS treadmill"
    message.product_name = _marked(log, product)
    parts = [product]
    if device is not None:
        parts += [
            f"{label} {value}"
            for label, value in (
                ("serial", device.serial_number),
                ("hardware", device.hardware_revision),
                ("firmware", device.firmware_revision),
                ("software", device.software_revision),
            )
            if value
        ]
        if device.serial_number and device.serial_number.isdigit():
            message.serial_number = int(device.serial_number) % 2**32 or None
    if log.simulator:
        parts.append("simulator dry run")
    message.descriptor = "; ".join(parts)
    return message


def _workout(log: SessionLog, steps: tuple[PlannedStep, ...]) -> list[DataMessage]:
    workout = WorkoutMessage()
    workout.workout_name = _marked(log, log.profile_name or "treadmill-ctl session")
    workout.sport = SPORT
    workout.sub_sport = SUB_SPORT
    workout.num_valid_steps = len(steps)
    messages: list[DataMessage] = [workout]
    for step in steps:
        message = WorkoutStepMessage()
        message.message_index = step.index
        message.workout_step_name = step.name
        message.duration_type = WorkoutStepDuration.TIME
        message.duration_time = step.duration_s
        message.target_value = 0  # a custom range, not a zone
        if step.hr_zone_bpm is not None:
            low, high = step.hr_zone_bpm
            message.workout_step_name = f"{step.name}, heart rate {low}-{high} bpm"
            message.target_type = WorkoutStepTarget.HEART_RATE
            message.custom_target_heart_rate_low = low + _FIT_BPM_OFFSET
            message.custom_target_heart_rate_high = high + _FIT_BPM_OFFSET
            message.notes = f"walk {step.direction.value}, the speed guided by heart rate"
        else:
            message.target_type = WorkoutStepTarget.SPEED
            low_kmh = max(0.0, step.speed_kmh - _SPEED_TOLERANCE_KMH)
            message.custom_target_speed_low = low_kmh / _KMH_PER_MS
            message.custom_target_speed_high = (step.speed_kmh + _SPEED_TOLERANCE_KMH) / _KMH_PER_MS
            message.notes = f"walk {step.direction.value}"
        message.intensity = Intensity.ACTIVE
        messages.append(message)
    return messages


def session_fit(log: SessionLog, *, weight_kg: float | None = None) -> bytes:
    """The session as the bytes of a FIT activity file.

    Args:
        log: The session.
        weight_kg: The person's configured weight, for the calorie estimate when the
            record has none.

    Raises:
        NothingToExport: The record has no belt sample.
    """
    require_samples(log)
    weight = session_weight_kg(log, weight_kg)
    builder = FitFileBuilder(auto_define=True, min_string_size=50)
    start_t_s, end_t_s = activity_span(log)
    start_ms = _ms(log.wall_time(start_t_s))
    file_id = FileIdMessage()
    file_id.type = FileType.ACTIVITY
    file_id.manufacturer = Manufacturer.DEVELOPMENT.value
    file_id.product = 0
    file_id.serial_number = 1
    file_id.time_created = start_ms
    file_id.product_name = _marked(log, "treadmill-ctl")
    builder.add(file_id)
    builder.add(_creator(log, start_ms))
    builder.add(_treadmill(log, start_ms))
    steps = log.planned_steps
    if steps:
        builder.add_all(_workout(log, steps))
    for message in _timeline(log):
        builder.add(message)
    activity_laps = laps(log)
    for index, lap in enumerate(activity_laps):
        builder.add(_lap(log, lap, index, len(activity_laps), weight))
    end_ms = _ms(log.wall_time(end_t_s))
    whole = _totals(
        log,
        start_t_s,
        end_t_s,
        tuple(sample for sample in log.samples if sample.timer_running),
        weight_kg=weight,
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
    session.num_laps = len(activity_laps)
    _fill(session, whole)
    builder.add(session)
    activity = ActivityMessage()
    activity.timestamp = end_ms
    activity.local_timestamp = _local_timestamp(log.wall_time(end_t_s))
    activity.total_timer_time = whole.timer_s
    activity.num_sessions = 1
    activity.type = Activity.MANUAL
    activity.event = Event.ACTIVITY
    activity.event_type = EventType.STOP
    builder.add(activity)
    data: bytes = builder.build().to_bytes()
    return data


def _hrv(log: SessionLog) -> list[tuple[float, HrvMessage]]:
    """The strap's RR intervals in the activity, at most five per message, in order."""
    if log.simulator:
        return []  # a simulated heart is nobody's (see the module's docstring)
    start_t_s, end_t_s = activity_span(log)
    out: list[tuple[float, HrvMessage]] = []
    for reading in log.heart_rate_readings:
        if not start_t_s <= reading.t_s <= end_t_s or not reading.contact:
            continue
        intervals = [rr for rr in reading.rr_s if plausible_rr(rr)]
        for first in range(0, len(intervals), HRV_TIMES_PER_MESSAGE):
            chunk = intervals[first : first + HRV_TIMES_PER_MESSAGE]
            message = HrvMessage(local_id=_HRV_LOCAL_ID + len(chunk))
            message.time = chunk
            out.append((reading.t_s, message))
    return out


def _timeline(log: SessionLog) -> list[EventMessage | RecordMessage | HrvMessage]:
    """Timer starts and stops around each walking stretch, records while walking, RR."""
    items: list[tuple[float, int, EventMessage | RecordMessage | HrvMessage]] = []
    spans = log.timer_spans
    for position, span in enumerate(spans):
        items.append((span.start_t_s, 0, _timer_event(log, span.start_t_s, EventType.START)))
        last = position == len(spans) - 1
        stop = EventType.STOP_ALL if last else EventType.STOP
        items.append((span.end_t_s, 2, _timer_event(log, span.end_t_s, stop)))
    if not spans:
        items.append((log.start_t_s, 0, _timer_event(log, log.start_t_s, EventType.START)))
        items.append((log.end_t_s, 2, _timer_event(log, log.end_t_s, EventType.STOP_ALL)))
    items += [
        (sample.t_s, 1, _record(log, sample)) for sample in log.samples if sample.timer_running
    ]
    items += [(t_s, 1, message) for t_s, message in _hrv(log)]
    return [message for _, _, message in sorted(items, key=lambda item: (item[0], item[1]))]


def _lap(log: SessionLog, lap: Lap, index: int, count: int, weight_kg: float) -> LapMessage:
    message = LapMessage()
    message.message_index = index
    message.timestamp = _ms(log.wall_time(lap.end_t_s))
    message.start_time = _ms(log.wall_time(lap.start_t_s))
    message.event = Event.LAP
    message.event_type = EventType.STOP
    message.lap_trigger = LapTrigger.TIME if index < count - 1 else LapTrigger.SESSION_END
    message.sport = SPORT
    message.sub_sport = SUB_SPORT
    message.intensity = Intensity.REST if lap.rest else Intensity.ACTIVE
    if lap.segment is not None and any(
        step.index == lap.segment.index for step in log.planned_steps
    ):
        message.workout_step_index = lap.segment.index
    totals = _totals(
        log,
        lap.start_t_s,
        lap.end_t_s,
        lap.samples,
        weight_kg=weight_kg,
        last=index == count - 1,
    )
    _fill(message, totals)
    grades = [sample.incline_pct for sample in lap.samples if sample.incline_pct is not None]
    if grades:
        message.avg_grade = sum(grades) / len(grades)
    return message


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

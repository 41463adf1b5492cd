"""What a session record holds, as values: samples, strap readings, segments, latches, a summary.

:class:`SessionLog` is a record read back (by :mod:`~treadmill_ctl.history.record`);
the reports, exports and the progression read these values and never the lines.

Times: ``t`` in the record is session time on the session's clock, which a dry run
accelerates. The wall clock ``ts`` of a dry run therefore spans a second or two for
a whole session, so wall times here are the session's start plus its session time
(:meth:`SessionLog.wall_time`), which is what a person on the belt lived through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from treadmill_ctl.safety.heart_rate import MAX_HEART_BPM, MIN_HEART_BPM

if TYPE_CHECKING:
    from pathlib import Path

    from treadmill_ctl.safety import Direction


class Ending(StrEnum):
    """How a session ended, as the runner's ``session.ended`` says, or that it did not."""

    COMPLETED = "completed"
    STOPPED_BY_PERSON = "stopped_by_person"
    SAFETY_LATCH = "safety_latch"
    CONNECT_FAILED = "connect_failed"
    BAD_PROFILE = "bad_profile"
    ERROR = "error"
    CUT_SHORT = "cut_short"
    """No ``session.ended`` line: the program crashed or the power went."""
    UNKNOWN = "unknown"
    """An ending this version does not know (a newer runner wrote the record)."""

    @property
    def label(self) -> str:
        """The ending as a person would say it."""
        return self.value.replace("_", " ")

    @property
    def exercised(self) -> bool:
        """Whether the person walked at all (not a failed connect or a bad profile)."""
        return self not in {Ending.CONNECT_FAILED, Ending.BAD_PROFILE}


@dataclass(frozen=True, slots=True)
class Sample:
    """One Treadmill Data record as the session saw it (about one a second).

    Attributes:
        t_s: Session time of the sample.
        speed_kmh: Belt speed reported by the treadmill, if it reported one.
        incline_pct: Incline reported by the treadmill, if any.
        reported_distance_m: The treadmill's own distance counter, if any; it may
            restart from zero after a stop.
        elapsed_s: The treadmill's own elapsed time, if any.
        heart_rate_bpm: The person's heart rate at the time, if known: the strap's
            when the record holds strap readings, else what the treadmill relayed
            (:mod:`~treadmill_ctl.history.heart_rate`).
        distance_m: Distance walked in this session up to the sample: the
            treadmill's counter made continuous across restarts, or the speed
            integrated over time when the treadmill gives no counter. Never falls.
        segment_index: The segment running at the time, if one had started.
        direction: The direction of that segment.
        paused: The belt was paused (a pause, not a turn-around).
        latched: A safety stop was latched and not yet re-armed.
        timer_running: The person was walking: the belt was started and not
            paused, latched or waiting for a start (turn-arounds count as walking).
        heart_rate_source: Where :attr:`heart_rate_bpm` came from (``"strap:ADDRESS"``
            or ``"treadmill"``), None without a heart rate.
    """

    t_s: float
    speed_kmh: float | None
    incline_pct: float | None
    reported_distance_m: float | None
    elapsed_s: float | None
    heart_rate_bpm: int | None
    distance_m: float
    segment_index: int | None
    direction: Direction | None
    paused: bool = False
    latched: bool = False
    timer_running: bool = True
    heart_rate_source: str | None = None


@dataclass(frozen=True, slots=True)
class SegmentRun:
    """One segment of the plan as it ran: from its start to the next one's (or the end).

    Attributes:
        index: Position in the plan, from 0.
        direction: Which way the person faced.
        speed_kmh: The planned target speed.
        incline_pct: The planned incline.
        duration_s: The planned duration.
        cue: The cue said when it began, if any.
        start_t_s: Session time it began.
        end_t_s: Session time the next segment began, or the session ended (or the
            record stopped, when it was cut short).
        hr_zone_bpm: A guided segment's heart-rate zone ``(low, high)``, else None.
    """

    index: int
    direction: Direction
    speed_kmh: float
    incline_pct: float
    duration_s: float
    cue: str | None
    start_t_s: float
    end_t_s: float
    hr_zone_bpm: tuple[int, int] | None = None

    @property
    def ran_s(self) -> float:
        """How long the segment ran in session time (latches and pauses included)."""
        return max(0.0, self.end_t_s - self.start_t_s)


@dataclass(frozen=True, slots=True)
class Latch:
    """The governor latched a stop (``governor.latched``).

    ``rearmed_t_s`` is when the person re-armed, ``None`` if they never did.
    """

    t_s: float
    reason: str
    detail: str
    rearmed_t_s: float | None = None

    @property
    def label(self) -> str:
        """The reason as a person reads it (``"emergency stop"``)."""
        return reason_label(self.reason)


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch the belt was held: a pause, or a turn-around (``TurnAround``).

    ``end_t_s`` is when the belt ran again, or the latch or the end that closed it;
    ``None`` only while a record is being built.
    """

    start_t_s: float
    end_t_s: float | None


@dataclass(frozen=True, slots=True)
class TurnAround:
    """A turn-around: from the governor's slowing down until the belt runs again."""

    start_t_s: float
    end_t_s: float
    direction: Direction | None


@dataclass(frozen=True, slots=True)
class Alarm:
    """A loud alarm the governor raised (``governor.alarm``)."""

    t_s: float
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of session time, ``start_t_s`` to ``end_t_s``."""

    start_t_s: float
    end_t_s: float

    @property
    def duration_s(self) -> float:
        """Its length in seconds."""
        return max(0.0, self.end_t_s - self.start_t_s)


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One segment of the plan as ``session.plan`` announced it (a guided one with its zone)."""

    index: int
    direction: Direction
    speed_kmh: float
    incline_pct: float
    duration_s: float
    hr_zone_bpm: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        """The step's name: ``"Backward 1.2 km/h"`` (and the incline when there is one)."""
        text = f"{self.direction.value.capitalize()} {self.speed_kmh:g} km/h"
        return text + (f" at {self.incline_pct:g} %" if self.incline_pct else "")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The treadmill's name and address, and its Device Information service (0x180A).

    ``session.device`` carries the service's fields in ``information``; a treadmill
    without the service has only its name and address.
    """

    name: str | None = None
    address: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    hardware_revision: str | None = None
    firmware_revision: str | None = None
    software_revision: str | None = None


_REASON_LABELS: Final = {
    "heart_rate": "heart rate above the limit",
    "heart_rate_unknown": "no valid heart rate",
    "unrequested_speed_change": "speed changed by itself",
    "stale_data": "treadmill stopped reporting",
    "control_lost": "control taken by the console",
    "link_lost": "Bluetooth link lost",
    "stop_not_confirmed": "stop not confirmed",
    "safety_key": "safety key pulled",
    "emergency_stop": "emergency stop",
}


def reason_label(reason: str) -> str:
    """A latch or alarm reason as a person reads it (unknown ids with spaces)."""
    return _REASON_LABELS.get(reason, reason.replace("_", " "))


@dataclass(frozen=True, slots=True)
class PlanTotals:
    """The plan's totals as ``session.started`` announced them."""

    total_s: float
    backward_s: float
    forward_s: float
    distance_m: float
    segment_count: int


@dataclass(frozen=True, slots=True)
class Summary:
    """What the session amounted to.

    Attributes:
        duration_s: Session time from the start to the end.
        backward_s: Time in backward segments.
        forward_s: Time in forward segments.
        distance_m: Distance walked on the belt.
        latches: The reason of every latch, in order.
        segments_completed: Segments that ran to their end.
        segment_count: Segments in the plan.
    """

    duration_s: float
    backward_s: float
    forward_s: float
    distance_m: float
    latches: tuple[str, ...]
    segments_completed: int
    segment_count: int


@dataclass(frozen=True, slots=True)
class StrapReading:
    """One reading from the strap (``heart_rate.sample``).

    Attributes:
        t_s: Session time it arrived.
        heart_rate_bpm: The rate the strap sent (0 is what many send without contact).
        source: Where it came from (``"strap:AA:BB:..."``).
        contact: The strap did not say its sensor lost skin contact.
        accepted: The session's artefact filter accepted it.
        rr_s: Its plausible RR intervals, in seconds, in the order sent.
    """

    t_s: float
    heart_rate_bpm: int
    source: str
    contact: bool = True
    accepted: bool = True
    rr_s: tuple[float, ...] = ()

    @property
    def valid(self) -> bool:
        """Whether it is the person's heart rate (contact, plausible, not an artefact)."""
        return (
            self.contact and self.accepted and MIN_HEART_BPM <= self.heart_rate_bpm <= MAX_HEART_BPM
        )


@dataclass(frozen=True, slots=True)
class SessionLog:
    """A session record, read.

    Attributes:
        path: The record file.
        session_id: The session's id ("" when the record never said).
        profile_name: The profile's name ("" when the record never said).
        profile_path: Where the profile was loaded from, if the record says.
        device_name: The treadmill's name, if known.
        simulator: Whether it was a dry run against the simulator.
        started_at: Wall-clock start of the session (UTC).
        start_t_s: Session time of ``session.started`` (the origin of :attr:`started_at`).
        weight_kg: The weight given for energy estimates, if any.
        plan: The plan's totals, if the record announced them.
        samples: Treadmill Data in order.
        segments: Segments in the order they began.
        latches: Latches in order.
        pauses: Pauses in order (turn-arounds are not pauses).
        turn_arounds: Turn-arounds in order.
        alarms: Alarms in order.
        link_gaps: Times the link was down (no data could come).
        timer_spans: When the person walked: from each start or resume to the next
            pause, latch or end. Waiting for the first start, pauses and latch waits
            are outside; turn-arounds are inside.
        device: The treadmill's Device Information, if the record has it.
        planned_steps: The plan's segments, if the record has them.
        ending: How it ended (:attr:`Ending.CUT_SHORT` without ``session.ended``).
        exit_status: The runner's exit status, if it wrote one.
        summary: The runner's summary, or one worked out from the record.
        summary_derived: The summary was worked out here (cut short, or the runner's
            summary lacked fields).
        end_t_s: Session time of the last line read.
        partial_last_line: The last line was half written and was ignored.
        bad_lines: Lines (other than a partial last line) that were not JSON objects.
        heart_rate_readings: The strap's readings in order (empty without a strap).
    """

    path: Path
    session_id: str
    profile_name: str
    profile_path: str | None
    device_name: str | None
    simulator: bool
    started_at: datetime
    start_t_s: float
    weight_kg: float | None
    plan: PlanTotals | None
    samples: tuple[Sample, ...]
    segments: tuple[SegmentRun, ...]
    latches: tuple[Latch, ...]
    pauses: tuple[Pause, ...]
    turn_arounds: tuple[TurnAround, ...]
    alarms: tuple[Alarm, ...]
    link_gaps: tuple[Span, ...]
    timer_spans: tuple[Span, ...]
    device: DeviceInfo | None
    planned_steps: tuple[PlannedStep, ...]
    ending: Ending
    exit_status: int | None
    summary: Summary
    summary_derived: bool
    end_t_s: float
    partial_last_line: bool
    bad_lines: int
    heart_rate_readings: tuple[StrapReading, ...] = ()

    @property
    def cut_short(self) -> bool:
        """The record has no ``session.ended``: a crash or a power cut ended it."""
        return self.ending is Ending.CUT_SHORT

    @property
    def has_heart_rate(self) -> bool:
        """Whether any sample carries a heart rate."""
        return any(sample.heart_rate_bpm is not None for sample in self.samples)

    @property
    def timer_s(self) -> float:
        """Time the person walked (the activity's timer time)."""
        return sum(span.duration_s for span in self.timer_spans)

    @property
    def paused_s(self) -> float:
        """Time spent in pauses."""
        return sum(_closed(pause, self.end_t_s) - pause.start_t_s for pause in self.pauses)

    def wall_time(self, t_s: float) -> datetime:
        """The wall-clock time (UTC) of a session time, counted from the start."""
        return self.started_at + timedelta(seconds=t_s - self.start_t_s)


def _closed(pause: Pause, end_t_s: float) -> float:
    return pause.end_t_s if pause.end_t_s is not None else end_t_s

"""What the session shows to the outside, and what the outside may ask of it.

The dashboard, the hotkeys, the spoken cues and the MQTT bridge never talk to the
link: they read :class:`SessionSnapshot` values and :class:`SessionEvent` values
that the runner publishes, and they send requests through :class:`SessionControl`.
Every request goes through the safety governor; an emergency stop is written to the
treadmill at once, whatever else is going on.

The names that cross this boundary are typed, never free strings: who asked is a
:class:`RequestSource` (which alone knows whether it is the person), the way the
person faces a :class:`Direction`, a latch's cause a :class:`LatchReason`, a cue's
subject a :class:`CueKind`, an event's kind a :class:`RecordEvent`. They are defined
once, in the safety package below, and handed on from here, so that the layers above
(``ui``, ``telemetry``) import them from the session they talk to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from treadmill_ctl.safety.decisions import Cue, Utterance
from treadmill_ctl.safety.requests import RequestSource
from treadmill_ctl.safety.states import CueKind, Direction, LatchReason

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ControlOutcome",
    "Cue",
    "CueKind",
    "Direction",
    "LatchReason",
    "RecordEvent",
    "RequestSource",
    "SegmentView",
    "SessionControl",
    "SessionEnd",
    "SessionEvent",
    "SessionObserver",
    "SessionPhase",
    "SessionSnapshot",
    "Utterance",
]


class RecordEvent(StrEnum):
    """Every kind of :class:`SessionEvent`, by the ``noun.verb`` name the record gives it.

    The runner writes them (``session.started`` is written by the run command) and
    the history, the report and the exports read them; both sides use this one
    vocabulary, so a reader cannot wait for an event no writer writes. Each is
    written from what happened, never from what was asked: the governor's state
    changes and what the treadmill reported. The observers (the dashboard, plain
    lines, the MQTT bridge) get the same events, and tell them apart by member and
    by the properties below, never by the text of a name.

    The record holds many more lines (every link, command and governor decision);
    those are log lines, not session events. ``heart_rate.sample`` is both: a log
    line the readers rely on.
    """

    STARTED = "session.started"
    """The session began: the profile, the device, the plan's totals, ``simulator``."""
    PLAN = "session.plan"
    """The plan's segments, in order (``segments``: index, direction, speed, incline, duration,
    ``hr_zone_bpm``: a guided segment's zone, else null)."""
    DEVICE = "session.device"
    """The treadmill's Device Information (manufacturer, model, serial, revisions)."""
    SEGMENT_STARTED = "segment.started"
    """A segment of the plan began to run (the belt is moving toward its target).

    ``hr_zone_bpm`` is a guided segment's zone ``[low, high]``, null otherwise."""
    HEART_RATE_SAMPLE = "heart_rate.sample"
    """One reading from the heart-rate strap: ``heart_rate_bpm``, ``source``, ``contact``,
    ``rr_s`` (its plausible RR intervals, s), ``accepted`` (not held back as an artefact)."""
    ZONE_STEP = "heart_rate.zone_step"
    """The zone guide changed the speed (``speed_kmh``, ``zone_bpm``, ``heart_rate_bpm``)."""
    BELT_DATA = "belt.data"
    """One Treadmill Data record as the treadmill reported it."""
    STATE_CHANGED = "governor.state_changed"
    """The governor moved from one state to another (``old``, ``new``, ``reason``)."""
    BELT_STOPPED = "belt.stopped"
    """The treadmill reported its belt stopped, after it had been moving (its confirmation)."""
    BELT_MOVING = "belt.moving"
    """The treadmill reported its belt moving, after it had stopped."""
    PAUSED = "session.paused"
    """The governor paused the belt (the person's pause, the console, a zero target)."""
    RESUMED = "session.resumed"
    """The belt runs again after a pause."""
    TURN_AROUND_STARTED = "turnaround.started"
    """The governor began a turn-around: slowing, holding, then waiting for the resume."""
    TURN_AROUND_ENDED = "turnaround.ended"
    """The belt runs again in the new direction (or the session left the turn-around)."""
    LATCHED = "governor.latched"
    """A safety stop latched (``reason``, ``detail``)."""
    REARMED = "governor.rearmed"
    """The person re-armed after a latch; the belt waits for their start."""
    ALARM = "governor.alarm"
    """A loud alarm: the person must act (e.g. the belt may not have stopped)."""
    LINK_LOST = "session.link_lost"
    """The link to the treadmill went down: no data comes until it is back."""
    LINK_BACK = "session.link_back"
    """The link is up again after a loss."""
    ENDED = "session.ended"
    """The session ended (``end``, ``exit_status``, ``summary``)."""
    CONNECTING = "session.connecting"
    """The session began to connect to the treadmill (``device``)."""
    HEART_RATE_CONNECTED = "heart_rate.connected"
    """The heart-rate strap is connected (``name``, ``address``, ``location``)."""
    HEART_RATE_LINK_LOST = "heart_rate.link_lost"
    """The strap's link dropped, or it could not be reached (``reason``)."""
    HEART_RATE_LOST = "heart_rate.lost"
    """No valid heart rate any more (``detail``); with a ceiling, a stop may follow."""
    HEART_RATE_BACK = "heart_rate.back"
    """A valid heart rate again after it was lost (``detail``)."""
    HEART_RATE_START_REFUSED = "heart_rate.start_refused"
    """A start refused for want of a heart rate (``source``, ``detail``)."""
    HEART_RATE_CONFIRMED_WITHOUT = "heart_rate.confirmed_without"
    """The person confirmed going on without a heart rate (``ceiling_bpm``)."""
    HEART_RATE_STOP = "heart_rate.stop"
    """The heart-rate rules stop the belt (``verdict``, ``detail``)."""
    MQTT_STATUS = "mqtt.status"
    """The MQTT bridge's connection changed (``status``, ``detail``, ``line``); the bridge
    tells its status observers, not the record (it logs its own line)."""

    @property
    def is_loss(self) -> bool:
        """Something the session relied on is gone: the treadmill's link, the heart rate."""
        return self in _LOSSES

    @property
    def is_return(self) -> bool:
        """Something lost is back: the treadmill's link, the heart rate, the strap."""
        return self in _RETURNS


_LOSSES: frozenset[RecordEvent] = frozenset(
    {RecordEvent.LINK_LOST, RecordEvent.HEART_RATE_LINK_LOST, RecordEvent.HEART_RATE_LOST}
)
_RETURNS: frozenset[RecordEvent] = frozenset({RecordEvent.LINK_BACK, RecordEvent.HEART_RATE_BACK})


class SessionPhase(StrEnum):
    """Where the session is, as a person would say it."""

    CONNECTING = "connecting"
    WAITING_FOR_START = "waiting_for_start"
    RUNNING = "running"
    TURNING_AROUND = "turning_around"
    PAUSED = "paused"
    LATCHED = "latched"
    ENDING = "ending"
    FINISHED = "finished"


class SessionEnd(StrEnum):
    """How a session ended; each has its own exit status."""

    COMPLETED = "completed"
    STOPPED_BY_PERSON = "stopped_by_person"
    SAFETY_LATCH = "safety_latch"
    CONNECT_FAILED = "connect_failed"
    BAD_PROFILE = "bad_profile"
    ERROR = "error"

    @property
    def exit_status(self) -> int:
        """The process exit status for this ending (README: "Exit status of run")."""
        return _EXIT_STATUS[self]


_EXIT_STATUS = {
    SessionEnd.COMPLETED: 0,
    SessionEnd.ERROR: 1,
    SessionEnd.BAD_PROFILE: 2,
    SessionEnd.STOPPED_BY_PERSON: 3,
    SessionEnd.SAFETY_LATCH: 4,
    SessionEnd.CONNECT_FAILED: 5,
}


@dataclass(frozen=True, slots=True)
class SegmentView:
    """One planned segment, as shown to people."""

    index: int
    direction: Direction
    speed_kmh: float
    incline_pct: float
    duration_s: float
    cue: str | None = None

    def describe(self) -> str:
        """E.g. ``"BACKWARD 1.5 km/h for 30 s"``."""
        text = f"{self.direction.upper()} {self.speed_kmh:.1f} km/h for {self.duration_s:g} s"
        if self.incline_pct:
            text += f" at {self.incline_pct:g} %"
        return text


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """The state of the session at one moment, about every control tick."""

    t_s: float
    phase: SessionPhase
    profile_name: str
    latch_reason: LatchReason | None = None
    segment: SegmentView | None = None
    next_segment: SegmentView | None = None
    segment_count: int = 0
    segment_remaining_s: float | None = None
    session_remaining_s: float | None = None
    direction: Direction | None = None
    target_speed_kmh: float = 0.0
    belt_speed_kmh: float | None = None
    incline_pct: float | None = None
    distance_m: float | None = None
    elapsed_s: float | None = None
    heart_rate_bpm: int | None = None
    heart_rate_ceiling_bpm: int | None = None
    """The heart-rate ceiling in force, if one is set."""
    heart_rate_watched: bool = False
    """A heart rate is expected (a ceiling or a strap is set): its absence is shown."""
    link_up: bool = False
    turnaround_countdown_s: float | None = None
    turning_to: Direction | None = None
    """The direction being turned to, from the start of a turn-around until the belt
    moves that way (also while it waits for the person's resume after the turn)."""
    resume_after_turn: bool = False
    """Paused after a turn-around: the person's resume starts the belt in ``direction``."""
    latch_detail: str | None = None
    """Why the governor latched, in its own words (e.g. the mph advice)."""


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something that happened, of a kind the record names (``governor.latched``)."""

    kind: RecordEvent
    t_s: float
    fields: Mapping[str, object] = field(default_factory=dict)


class SessionObserver(Protocol):
    """Receives what the session publishes. Each method must return at once."""

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Called about every control tick with the latest state."""

    def on_event(self, event: SessionEvent) -> None:
        """Called for every event (segment changes, latches, the summary)."""

    def on_cue(self, cue: Cue) -> None:
        """Called for every cue for the person."""


@dataclass(frozen=True, slots=True)
class ControlOutcome:
    """What the session decided about one request, for an answer that is true.

    Attributes:
        accepted: the governor acted on it (a stop is always accepted).
        detail: the governor's reason when it refused, or what it changed (a limit).
    """

    accepted: bool
    detail: str | None = None


class SessionControl(Protocol):
    """What the dashboard, the hotkeys and the MQTT bridge may ask of a session.

    Each method returns at once; the request goes through the safety governor.
    ``source`` says who asked: the record names it, and only a source that
    :attr:`~RequestSource.counts_as_person` can start or resume the belt. The
    answer says what the governor decided; ``None`` from a control that cannot tell.
    """

    def emergency_stop(self, source: RequestSource) -> ControlOutcome | None:
        """Latch and write Stop to the treadmill now, ahead of anything else."""

    def start(self, source: RequestSource) -> ControlOutcome | None:
        """The person's start (or start again after a re-arm). Refused from remote."""

    def pause(self, source: RequestSource) -> ControlOutcome | None:
        """Pause the belt (ramps down); ``resume`` continues."""

    def resume(self, source: RequestSource) -> ControlOutcome | None:
        """Resume after a pause; a person's action."""

    def toggle_pause(self, source: RequestSource) -> ControlOutcome | None:
        """Pause when running, resume when paused."""

    def rearm(self, source: RequestSource) -> ControlOutcome | None:
        """Leave a latch; the belt stays still until the person starts again."""

    def end(self, source: RequestSource) -> ControlOutcome | None:
        """End the session with a normal ramp down and a stop."""

    def nudge_speed(self, delta_kmh: float, source: RequestSource) -> ControlOutcome | None:
        """Change the target speed a little, within the caps."""

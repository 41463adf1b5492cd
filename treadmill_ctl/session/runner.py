"""The control loop: a plan, a governor and a link, run on the injected clock.

:class:`SessionRunner` owns one session. It feeds the safety governor with the
profile's segments, the person's requests and everything the treadmill reports, and
writes the governor's commands to the link:

* a ``SendStop`` is written at once by its own task, ahead of anything queued, and
  everything queued before it is dropped, a write already on its way included
  (SAFETY.md invariants 4 and 5);
* the stop never waits on, or fails with, anything else (SAFETY.md invariant 6): a
  halt is handed to the link before anything is logged, shown or recorded about it,
  and a record that can no longer be written ends the session with the belt stopped;
* other commands go, in order, through one writer task that never holds up the
  control loop (a treadmill that never answers only delays the next write);
* a control tick (0.1 s) lets the governor ramp, count down and watch for stale data,
  moves the plan on, and publishes a :class:`SessionSnapshot` to the observers.

The record's events that history, reports and exports read
(:class:`~treadmill_ctl.session.events.RecordEvent`) are written here from what
happened: pauses, resumes, turn-arounds, latches and re-arms from the governor's state
changes, alarms from its decisions, the belt stopping and moving and the link going
and coming back from what the treadmill and the link reported; never from a request,
which the governor may refuse.

The runner never starts or resumes the belt by itself: only ``start``/``resume``
from a person (a key), or, in an unattended dry run (``stand_in_person``), the
runner standing in for that person's key presses against the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

import structlog

from treadmill_ctl.errors import (
    CommandRefused,
    CommandTimeout,
    ConfigError,
    LinkError,
)
from treadmill_ctl.ftms import link as ftms_link
from treadmill_ctl.ftms.commands import CommandRejected
from treadmill_ctl.ftms.observations import MachineStatusCode, StopPauseKind
from treadmill_ctl.safety import (
    Alarm,
    BeltData,
    ControlLost,
    Decision,
    EmergencyStop,
    End,
    LatchReason,
    LinkDown,
    LinkUp,
    MachineRanges,
    Pause,
    Rearm,
    Refused,
    Resume,
    SafetyGovernor,
    SafetyKeyPulled,
    SendIncline,
    SendPause,
    SendSpeed,
    SendStart,
    SendStop,
    SetTarget,
    SpeedWritten,
    Start,
    StartedByUser,
    StateChanged,
    StoppedByUser,
    TargetLimited,
    TargetSpeedChanged,
)
from treadmill_ctl.safety import Cue as GovernorCue
from treadmill_ctl.safety.states import CueKind, Direction, GovernorState
from treadmill_ctl.session.events import (
    ControlOutcome,
    Cue,
    RecordEvent,
    SegmentView,
    SessionEnd,
    SessionEvent,
    SessionPhase,
    SessionSnapshot,
    Utterance,
)
from treadmill_ctl.session.heart_rate import HeartRateSession
from treadmill_ctl.session.speech import (
    COUNTDOWN_END_S,
    COUNTDOWN_START_S,
    HEADS_UP_MARGIN_S,
    HEADS_UP_MAX_LEAD_S,
    HeadsUp,
    RateModel,
    SpeechTiming,
    SpokenKeys,
    countdown_word,
    name_keys,
    plan_heads_up,
    spoken,
)

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.ftms.heart_rate_link import HeartRateEvent, HeartRateLink
    from treadmill_ctl.ftms.link import FtmsLink, LinkEvent, MachineInfo
    from treadmill_ctl.ftms.observations import TreadmillData
    from treadmill_ctl.profiles import Plan, PlannedSegment
    from treadmill_ctl.safety import Command, Limits, Observation
    from treadmill_ctl.session.events import SessionObserver

_log = structlog.get_logger("treadmill_ctl.session")

TICK_S: Final = 0.1
"""The control tick: ramps, countdowns and watchdogs advance at least this often."""

HEADS_UP_START_S: Final = 3.0
"""Room left at a segment's start for what is said there (its cue, "walk backward now")."""

HEADS_UP_START_LATE_S: Final = 0.5
"""A heads-up that says "in N seconds" starts at most this late, or a variant without
the number is said instead."""

STOPPED_KMH: Final = 0.05
"""A reported belt speed at or below this is a stopped belt."""

SETTLE_TIMEOUT_S: Final = 30.0
"""After the end or a latch, how long to wait for the belt to report a stop."""

HR_WAIT_S: Final = 30.0
"""Unattended, how long a start refused for want of a heart rate waits for one."""

DRY_RUN_SLACK_S: Final = 600.0
"""A dry run may take three times its plan plus this before it is declared stuck."""

STAND_IN_LISTEN_S: Final = 0.5
"""A listening stand-in presses this long after what was said has ended."""

PERSON_SOURCES: Final = frozenset({"hotkey", "keyboard", "person", "stand-in"})
"""Sources whose start and resume count as a person's own action at the treadmill."""

_PHASES: Final = {
    GovernorState.IDLE: SessionPhase.WAITING_FOR_START,
    GovernorState.RUNNING: SessionPhase.RUNNING,
    GovernorState.TURNING_AROUND: SessionPhase.TURNING_AROUND,
    GovernorState.PAUSED: SessionPhase.PAUSED,
    GovernorState.ENDING: SessionPhase.ENDING,
    GovernorState.LATCHED: SessionPhase.LATCHED,
    GovernorState.FINISHED: SessionPhase.FINISHED,
}


class _Hold(Enum):
    """A stretch of the session the belt is held still or slow on purpose."""

    PAUSE = "pause"
    TURN_AROUND = "turn_around"


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a session did, for the record, the screen and the exit status."""

    end: SessionEnd
    duration_s: float
    backward_s: float
    forward_s: float
    distance_m: float
    segments_completed: int
    segment_count: int
    latches: tuple[str, ...]


def ranges_from(info: MachineInfo) -> MachineRanges:
    """The governor's view of the treadmill's ranges; conservative when not usable.

    :class:`MachineRanges` checks the values; a range it refuses is replaced (a flat
    deck for a bad incline range, the fallback for a bad speed range), never trusted.
    """
    speed, incline = info.speed_range, info.incline_range
    if speed is None:
        _log.warning("session.ranges_fallback", reason="no Supported Speed Range")
        return MachineRanges.fallback()
    speeds = {
        "min_speed_kmh": speed.min_kmh,
        "max_speed_kmh": speed.max_kmh,
        "speed_increment_kmh": speed.increment_kmh,
    }
    if incline is not None:
        with contextlib.suppress(ConfigError):
            return MachineRanges(
                **speeds,
                min_incline_pct=incline.min_pct,
                max_incline_pct=incline.max_pct,
                incline_increment_pct=incline.increment_pct,
            )
        _log.warning("session.ranges_fallback", reason=f"unusable incline range {incline}")
    try:
        return MachineRanges(**speeds)
    except ConfigError as error:
        _log.warning("session.ranges_fallback", reason=str(error))
        return MachineRanges.fallback()


def to_observation(event: LinkEvent) -> Observation | None:
    """Translate what the link reports into what the governor understands."""
    match event:
        case ftms_link.DataReceived(data=data):
            if data.speed_kmh is None:
                return None
            return BeltData(
                speed_kmh=data.speed_kmh,
                incline_pct=data.incline_pct,
                elapsed_s=data.elapsed_s,
                heart_rate_bpm=data.heart_rate_bpm,
                frame=data.raw,
                distance_m=data.distance_m,
            )
        case ftms_link.StatusReceived(status=status):
            return _status_observation(status.code, status.stop_pause, status.target_speed_kmh)
        case ftms_link.LinkUp():
            return LinkUp()
        case ftms_link.LinkDown():
            return LinkDown()
        case _:
            return None


def _status_observation(
    code: MachineStatusCode | None, stop_pause: StopPauseKind | None, target_kmh: float | None
) -> Observation | None:
    match code:
        case MachineStatusCode.STOPPED_OR_PAUSED_BY_USER:
            return StoppedByUser(paused=stop_pause is StopPauseKind.PAUSE)
        case MachineStatusCode.STOPPED_BY_SAFETY_KEY:
            return SafetyKeyPulled()
        case MachineStatusCode.STARTED_OR_RESUMED_BY_USER:
            return StartedByUser()
        case MachineStatusCode.TARGET_SPEED_CHANGED if target_kmh is not None:
            return TargetSpeedChanged(target_kmh)
        case MachineStatusCode.CONTROL_PERMISSION_LOST:
            return ControlLost()
        case _:
            return None


class SessionRunner:
    """Runs one session: the plan through the governor to the link.

    Args:
        plan: The segments to run.
        limits: The limits in force (already tightened by config and profile).
        link: The treadmill's link (not yet connected).
        clock: The session clock (the loop's, virtual in dry runs).
        observers: Who sees snapshots, events and cues (dashboard, MQTT, cues).
        stand_in_person: Dry runs only: press start, and resume after a turn-around,
            where a person would (never resume a pause a person asked for).
        interactive: A person can re-arm after a latch (a key reader is attached);
            otherwise a latch ends the session once the belt has stopped.
        tick_s: The control tick.
        speech_timing: How long a sentence takes to say, to plan heads-ups that end
            before their event.
        keys: The keys the person can press, named in what is said; ``None`` when
            no terminal reads keys (then no "press ..." is said).
        stand_in_listens: The stand-in presses only once what was said has been
            heard, as a person would (a dry run with speech: ``make demo``).
        heart_rate_link: The heart-rate strap's link, connected beside the treadmill's
            (None: the treadmill's own heart rate is the source).
        without_heart_rate: The person confirmed going on without a heart-rate
            source although a ceiling is set.

    Implements :class:`~treadmill_ctl.session.events.SessionControl`.
    """

    def __init__(  # noqa: PLR0915 - one field a line, until the runner is split (issue 17)
        self,
        *,
        plan: Plan,
        limits: Limits,
        link: FtmsLink,
        clock: Clock,
        observers: Sequence[SessionObserver] = (),
        stand_in_person: bool = False,
        interactive: bool = False,
        tick_s: float = TICK_S,
        speech_timing: SpeechTiming | None = None,
        keys: SpokenKeys | None = None,
        stand_in_listens: bool = False,
        heart_rate_link: HeartRateLink | None = None,
        without_heart_rate: bool = False,
    ) -> None:
        self._plan = plan
        self._segments: list[PlannedSegment] = list(plan.segments)
        # planned time after each segment, for the snapshot's "session left"
        durations = [segment.duration_s for segment in self._segments]
        self._time_after_s = [sum(durations[i + 1 :]) for i in range(len(durations))]
        self._limits = limits
        self._link = link
        self._clock = clock
        self._observers = list(observers)
        self._stand_in = stand_in_person
        self._interactive = interactive
        self._tick_s = tick_s
        self._governor: SafetyGovernor | None = None
        self._events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._commands: deque[Command] = deque()
        self._commands_ready = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._started_s = 0.0
        self._phase = SessionPhase.CONNECTING
        self._segment_index = 0
        self._segment_elapsed_s = 0.0
        self._segment_started = False
        self._heads_up_given = False
        self._heads_up: HeadsUp | None = None
        self._speech_timing: SpeechTiming = (
            speech_timing if speech_timing is not None else RateModel()
        )
        self._keys = keys
        self._stand_in_listens = stand_in_listens
        self._said_until_s = 0.0
        self._person_paused = False
        self._paused_after_turn = False
        self._latch_detail: str | None = None
        self._time_by_direction = {Direction.FORWARD: 0.0, Direction.BACKWARD: 0.0}
        self._first_distance_m: float | None = None
        self._last_data: ftms_link.DataReceived | None = None
        self._stopped_since_data = False
        self._settle_deadline_s: float | None = None
        self._end_requested_by: str | None = None
        self._interrupted_by: str | None = None
        self._latches: list[str] = []
        self._finished_segments = 0
        self._stand_in_next_try_s = 0.0
        self._last_tick_s = 0.0
        self._countdown: tuple[int, float] | None = None
        self._gave_up = False
        self._early_emergency: EmergencyStop | None = None
        self._writing: Command | None = None
        self._write_scope: asyncio.Timeout | None = None
        self._halt_tasks: set[asyncio.Task[None]] = set()
        self._halts = 0
        self._record_failure: str | None = None
        self._holding: _Hold | None = None
        self._belt_stopped: bool | None = None
        self._link_lost = False
        self._heart_rate = HeartRateSession(
            limits=limits,
            link=heart_rate_link,
            confirmed_without=without_heart_rate,
            emit=self._emit,
            cue=self._cue,
        )
        self._refused_for_heart_rate = False

    def add_observer(self, observer: SessionObserver) -> None:
        """Let one more observer see snapshots, events and cues.

        The UI is built after the runner: its hotkeys need the runner to send to.
        """
        self._observers.append(observer)

    # -- what the outside may ask (SessionControl) -------------------------------

    def emergency_stop(self, source: str) -> ControlOutcome:
        """Latch and write Stop now, ahead of anything queued; log it after."""
        self._request(EmergencyStop(source))
        _log.warning("session.emergency_stop", source=source)
        return ControlOutcome(accepted=True)

    def interrupt(self, source: str) -> None:
        """Ctrl-C, SIGTERM: stop now and end the session (no re-arm)."""
        self._interrupted_by = source
        self.emergency_stop(source)

    def start(self, source: str) -> ControlOutcome:
        """The person's start, or start again after a re-arm."""
        return self._begin(Start(by_person=source in PERSON_SOURCES), source)

    def resume(self, source: str) -> ControlOutcome:
        """Resume after a pause or a turn-around; a person's action."""
        return self._begin(Resume(by_person=source in PERSON_SOURCES), source)

    def pause(self, source: str) -> ControlOutcome:
        """Pause the belt; log it after."""
        if source != "stand-in":
            self._person_paused = True  # only the person resumes it (never --yes)
        request = Pause()
        outcome = _outcome(request, self._request(request))
        _log.info("session.pause_requested", source=source)
        return outcome

    def toggle_pause(self, source: str) -> ControlOutcome:
        """Pause when moving, resume when paused."""
        if self._phase is SessionPhase.PAUSED:
            return self.resume(source)
        return self.pause(source)

    def rearm(self, source: str) -> ControlOutcome:
        """Leave a latch; the belt stays still until the person starts again."""
        _log.info("governor.rearm_requested", source=source)
        request = Rearm()
        outcome = _outcome(request, self._request(request))
        self._heart_rate.rearm()
        return outcome

    def end(self, source: str) -> ControlOutcome:
        """End the session with a normal ramp down and a stop."""
        _log.info("session.end_requested", source=source)
        self._end_requested_by = source
        request = End()
        return _outcome(request, self._request(request))

    def record_failed(self, error: Exception) -> None:
        """The session record can no longer be written: stop the belt, end the session.

        Called by the record from inside whatever was logging: the stop is requested
        on the loop's next turn (never in the middle of another decision), and the
        session ends once the belt has stopped, with the reason in its summary.
        """
        if self._record_failure is not None:
            return
        strerror = error.strerror if isinstance(error, OSError) else None
        self._record_failure = strerror or str(error) or type(error).__name__
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.interrupt("record-failed")
        else:
            loop.call_soon(self.interrupt, "record-failed")

    def nudge_speed(self, delta_kmh: float, source: str) -> ControlOutcome:
        """Change the current target a little; the governor keeps it within the caps.

        A slow-down never goes below the treadmill's minimum speed (below it the
        belt would pause, and every resume start it again): it stops there, and says so.
        """
        governor = self._governor
        if governor is None:
            return ControlOutcome(accepted=False, detail="the treadmill is not connected yet")
        if not math.isfinite(delta_kmh):
            return ControlOutcome(accepted=False, detail=f"{delta_kmh!r} is not a speed change")
        current = governor.target_speed_kmh or 0.0
        direction = governor.pending_direction or governor.direction
        wanted = current + delta_kmh
        floor_kmh = governor.ranges.min_speed_kmh
        if wanted < floor_kmh:
            if delta_kmh < 0 and current <= floor_kmh:
                self._cue(Cue("speed_floor", f"Already at the slowest speed, {floor_kmh:g} km/h."))
                return ControlOutcome(
                    accepted=False, detail=f"already at the slowest speed, {floor_kmh:g} km/h"
                )
            wanted = floor_kmh
            if delta_kmh < 0:
                self._cue(Cue("speed_floor", f"Slowest speed: {floor_kmh:g} km/h."))
        _log.info("session.speed_nudged", source=source, delta_kmh=delta_kmh)
        self._heart_rate.speed_changed_by_person(self._clock.now_s())
        request = SetTarget(max(0.0, wanted), direction)
        return _outcome(request, self._request(request))

    def _begin(self, request: Start | Resume, source: str) -> ControlOutcome:
        governor = self._governor
        if governor is None:
            return ControlOutcome(accepted=False, detail="the treadmill is not connected yet")
        now = self._clock.now_s()
        refusal = self._heart_rate.start_refusal(
            now, by_person=source in PERSON_SOURCES and source != "stand-in"
        )
        if refusal is not None:
            self._emit("heart_rate.start_refused", source=source, detail=refusal)
            self._cue(Cue("heart_rate", refusal, urgent=True))
            first = self._heart_rate.first_refusal_s()
            if not self._interactive and first is not None and now - first > HR_WAIT_S:
                # nobody can confirm, and no heart rate came: the session does not start
                self._refused_for_heart_rate = True
                self.end("heart-rate-refusal")
            return ControlOutcome(accepted=False, detail=refusal)
        if governor.state is GovernorState.IDLE and self._segment_index < len(self._segments):
            self._request(self._segment_target(self._segments[self._segment_index]))
        _log.info("session.start_requested", source=source, kind=type(request).__name__.lower())
        return _outcome(request, self._request(request))

    # -- the run ---------------------------------------------------------------------

    @property
    def phase(self) -> SessionPhase:
        """Where the session is now."""
        return self._phase

    async def run(self) -> SessionSummary:
        """Connect, run the plan, end with the belt stopped; return how it went.

        Whatever ends it (the plan, a latch, a person, cancellation, an error), the
        treadmill is commanded to stop before this returns or raises, as far as the
        link allows (SAFETY.md invariant 6).
        """
        self._started_s = self._clock.now_s()
        self._set_phase(SessionPhase.CONNECTING)
        self._emit("session.connecting", device=self._link_name())
        # The strap connects in parallel with the treadmill, in a task of its own.
        heart_rate = asyncio.create_task(self._heart_rate.run(), name="session.heart_rate")
        try:
            return await self._run_linked()
        finally:
            heart_rate.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heart_rate

    async def _run_linked(self) -> SessionSummary:
        try:
            info = await self._link.connect()
        except LinkError as error:
            _log.error("session.connect_failed", error=str(error))
            return self._summary(SessionEnd.CONNECT_FAILED)
        if not info.has_control_point:
            _log.error(
                "session.refused",
                error=f"{info.name} has no FTMS control point: it can be watched, not driven",
            )
            await self._link.disconnect()
            return self._summary(SessionEnd.CONNECT_FAILED)
        self._emit(
            RecordEvent.DEVICE,
            name=info.name,
            address=info.address,
            information=dict(info.device_information),
        )
        self._emit(
            RecordEvent.PLAN,
            name=self._plan.name,
            segments=[
                {
                    "index": segment.index,
                    "direction": str(segment.direction),
                    "speed_kmh": segment.speed_kmh,
                    "incline_pct": segment.incline_pct,
                    "duration_s": segment.duration_s,
                    "hr_zone_bpm": segment.hr_zone_bpm,
                }
                for segment in self._segments
            ],
        )
        end: SessionEnd | None = None
        failure: Exception | None = None
        try:
            end = await self._run_connected(info)
        except Exception as error:
            failure = error
            raise
        finally:
            # The stop first; what failed is written about after it (invariant 6).
            await self._shutdown()
            if failure is not None:
                _log.error("session.failed", exc_info=failure)
            if end is None:  # an error or a cancellation: the record still says it ended
                self._summary(SessionEnd.ERROR)
        return self._summary(end)

    @property
    def record_failure(self) -> str | None:
        """Why the session record could not be written, if it could not."""
        return self._record_failure

    @property
    def connected_once(self) -> bool:
        """Whether the treadmill was ever connected (so it may have moved)."""
        return self._governor is not None

    @property
    def stop_unconfirmed(self) -> bool:
        """Whether a stop the runner sent could not be written (it is still pending)."""
        return self._link.stop_pending

    async def _run_connected(self, info: MachineInfo) -> SessionEnd:
        now = self._clock.now_s()
        self._governor = SafetyGovernor(
            self._limits, ranges_from(info), now_s=now, link_up=True, writes_reported=True
        )
        self._last_tick_s = now
        self._set_phase(SessionPhase.WAITING_FOR_START)
        if self._early_emergency is not None:
            self._request(self._early_emergency)
        self._request(self._segment_target(self._segments[0]))
        self._cue(
            Cue(
                "before_start",
                name_keys(
                    "Stand on the side rails and clip the safety key to your clothes. "
                    "Press start to begin.",
                    self._keys,
                ),
            )
        )
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            helpers = [
                tasks.create_task(self._pump_link_events(), name="session.link_events"),
                tasks.create_task(self._write_commands(), name="session.commands"),
            ]
            try:
                return await self._control_loop()
            finally:
                # The helpers run forever; a stop task still writing is left to finish.
                self._tasks = None
                for task in helpers:
                    task.cancel()
                if self._reconnect_task is not None:
                    self._reconnect_task.cancel()

    async def _control_loop(self) -> SessionEnd:
        # A dry run with no person has nobody to notice a session that cannot go on
        # (a belt that never stops, a resume refused for ever): it gives up instead.
        give_up_s = self._started_s + 3 * self._plan.total_s + DRY_RUN_SLACK_S
        while True:
            now = self._clock.now_s()
            if self._stand_in and now > give_up_s and self._interrupted_by is None:
                _log.error("session.dry_run_stuck", waited_s=round(now - self._started_s))
                self._gave_up = True
                self.interrupt("dry-run-guard")
            self._tick(now)
            end = self._session_end(now)
            if end is not None:
                return end
            await self._clock.sleep(self._tick_s)

    def _tick(self, now: float) -> None:
        governor = self._require_governor()
        dt = max(0.0, now - self._last_tick_s)
        self._last_tick_s = now
        if governor.state is GovernorState.RUNNING and self._segment_index < len(self._segments):
            self._advance_plan(dt, now)
        self._apply(governor.tick(now))
        running = (
            governor.state is GovernorState.RUNNING
            and self._segment_started
            and self._segment_index < len(self._segments)
        )
        segment = self._segments[self._segment_index] if running else None
        for request in self._heart_rate.tick(now, governor, segment):
            self._request(request, now)
        self._stand_in_for_person(now)
        self._publish(now)

    def _advance_plan(self, dt: float, now: float) -> None:
        segment = self._segments[self._segment_index]
        if not self._segment_started:
            self._segment_started = True
            self._emit(
                RecordEvent.SEGMENT_STARTED,
                index=segment.index,
                direction=str(segment.direction),
                speed_kmh=segment.speed_kmh,
                incline_pct=segment.incline_pct,
                duration_s=segment.duration_s,
                cue=segment.cue,
                hr_zone_bpm=segment.hr_zone_bpm,
            )
            if segment.cue:
                self._cue(Cue("segment", segment.cue))
            self._heads_up = self._plan_heads_up(segment)
        self._segment_elapsed_s += dt
        self._time_by_direction[Direction(segment.direction)] += dt
        left_s = segment.duration_s - self._segment_elapsed_s
        following = self._next_segment()
        heads_up = self._heads_up
        if not self._heads_up_given and heads_up is not None and left_s <= heads_up.lead_s:
            self._heads_up_given = True
            self._cue(self._heads_up_cue(heads_up, left_s, now))
        if left_s > 0:
            return
        self._finished_segments += 1
        self._segment_index += 1
        self._segment_elapsed_s = 0.0
        self._segment_started = False
        self._heads_up_given = False
        if following is None:
            _log.info("session.plan_done")
            self._request(End(), now)
        else:
            self._request(self._segment_target(following), now)

    def _plan_heads_up(self, segment: PlannedSegment) -> HeadsUp | None:
        """Plan the heads-up for this segment's end, to be heard whole before it.

        It may start no earlier than the segment's start plus what is said there.
        """
        busy_s = HEADS_UP_START_S
        if segment.cue:
            busy_s += self._speech_timing.duration_s(spoken(segment.cue))
        return plan_heads_up(
            segment,
            self._next_segment(),
            self._speech_timing,
            max_lead_s=min(HEADS_UP_MAX_LEAD_S, segment.duration_s - busy_s),
        )

    @staticmethod
    def _heads_up_cue(heads_up: HeadsUp, left_s: float, now: float) -> Cue:
        """The heads-up, to end before the segment does (``left_s`` from ``now``)."""
        speech = [Utterance(text) for text in heads_up.shorter]
        if heads_up.timed:
            speech.insert(0, Utterance(heads_up.timed, start_by_s=now + HEADS_UP_START_LATE_S))
        return Cue(
            "heads_up",
            heads_up.text,
            speech=tuple(speech),
            end_by_s=now + left_s - HEADS_UP_MARGIN_S,
        )

    def _next_segment(self) -> PlannedSegment | None:
        index = self._segment_index + 1
        return self._segments[index] if index < len(self._segments) else None

    def _segment_target(self, segment: PlannedSegment) -> SetTarget:
        """The segment's target, raised to the treadmill's minimum speed (and said so).

        Below the minimum the governor would pause the belt, and every resume would
        start it again: a segment slower than the treadmill can go is walked at its
        slowest speed instead.
        """
        speed_kmh = segment.speed_kmh
        floor_kmh = self._require_governor().ranges.min_speed_kmh
        if speed_kmh < floor_kmh:
            _log.warning(
                "session.speed_raised",
                segment=segment.index,
                planned_kmh=speed_kmh,
                speed_kmh=floor_kmh,
            )
            self._cue(
                Cue(
                    "speed_floor",
                    f"{speed_kmh:g} km/h is below this treadmill's slowest speed: "
                    f"walking at {floor_kmh:g} km/h.",
                )
            )
            speed_kmh = floor_kmh
        return SetTarget(
            speed_kmh=speed_kmh,
            direction=Direction(segment.direction),
            incline_pct=segment.incline_pct,
        )

    def _stand_in_for_person(self, now: float) -> None:
        """Dry runs only: press start or resume where the person would be asked to."""
        if not self._stand_in or now < self._stand_in_next_try_s:
            return
        if self._stand_in_listens and now < self._said_until_s + STAND_IN_LISTEN_S:
            return
        state = self._require_governor().state
        if state is GovernorState.IDLE and self._phase is SessionPhase.WAITING_FOR_START:
            if not self._latches:
                self._stand_in_next_try_s = now + 1.0
                self.start("stand-in")
        elif (
            state is GovernorState.PAUSED
            and self._paused_after_turn
            and not self._person_paused
            and self._end_requested_by is None
        ):
            # the person's resume after a turn-around; a pause the person (or the
            # console) asked for is theirs to end
            self._stand_in_next_try_s = now + 1.0
            self.resume("stand-in")

    def _session_end(self, now: float) -> SessionEnd | None:
        """How the session ends now, or None while it goes on."""
        state = self._require_governor().state
        if state is GovernorState.FINISHED:
            return self._end_when_settled(now, self._finished_end())
        if state is GovernorState.LATCHED:
            ends_here = (
                self._interrupted_by is not None
                or self._end_requested_by is not None
                or not self._interactive
            )
            return self._end_when_settled(now, self._latched_end()) if ends_here else None
        self._settle_deadline_s = None
        return None

    def _end_when_settled(self, now: float, end: SessionEnd) -> SessionEnd | None:
        """``end`` once the belt reports a stop (or waiting for it timed out)."""
        if self._belt_settled() or self._settle_timed_out(now):
            return end
        return None

    def _finished_end(self) -> SessionEnd:
        if self._refused_for_heart_rate:
            return SessionEnd.SAFETY_LATCH
        if self._end_requested_by is not None:
            return SessionEnd.STOPPED_BY_PERSON
        return SessionEnd.COMPLETED

    def _latched_end(self) -> SessionEnd:
        if self._gave_up or self._record_failure is not None:
            return SessionEnd.ERROR
        reason = self._require_governor().latch_reason
        if self._interrupted_by is not None or reason is LatchReason.EMERGENCY_STOP:
            return SessionEnd.STOPPED_BY_PERSON
        return SessionEnd.SAFETY_LATCH

    def _belt_settled(self) -> bool:
        return (
            self._link.is_connected
            and self._stopped_since_data
            and not self._link.stop_pending
            and (self._stop_task is None or self._stop_task.done())
        )

    def _settle_timed_out(self, now: float) -> bool:
        if self._settle_deadline_s is None:
            self._settle_deadline_s = now + SETTLE_TIMEOUT_S
        if now >= self._settle_deadline_s:
            _log.error("session.stop_unconfirmed", waited_s=SETTLE_TIMEOUT_S)
            return True
        return False

    # -- link events --------------------------------------------------------------

    def on_link_event(self, event: LinkEvent) -> None:
        """The link's callback: queue the event (returns at once)."""
        self._events.put_nowait(event)

    def heart_rate_event(self, event: HeartRateEvent) -> None:
        """The heart-rate link's callback: queue the event (returns at once)."""
        self._heart_rate.on_link_event(event)

    async def _pump_link_events(self) -> None:
        while True:
            event = await self._events.get()
            self._handle_link_event(event)

    def _handle_link_event(self, event: LinkEvent) -> None:
        now = self._clock.now_s()
        match event:
            case ftms_link.DataReceived(data=data):
                self._last_data = event
                if data.distance_m is not None and self._first_distance_m is None:
                    self._first_distance_m = float(data.distance_m)
                if data.speed_kmh is not None:
                    self._stopped_since_data = data.speed_kmh <= STOPPED_KMH
                    self._record_belt(data.speed_kmh)
                self._heart_rate.treadmill_heart_rate(data.heart_rate_bpm, now)
                _log.info(
                    RecordEvent.BELT_DATA,
                    speed_kmh=data.speed_kmh,
                    incline_pct=data.incline_pct,
                    distance_m=data.distance_m,
                    elapsed_s=data.elapsed_s,
                    heart_rate_bpm=data.heart_rate_bpm,
                    heart_rate_source="treadmill" if data.heart_rate_bpm is not None else None,
                )
            case ftms_link.StatusReceived(status=status):
                _log.info("machine.status", code=status.code, raw=status.raw)
                if status.code is MachineStatusCode.CONTROL_PERMISSION_LOST:
                    self._link.control_lost()
            case ftms_link.LinkDown():
                self._stopped_since_data = False
                self._record_link(event)
                self._ensure_reconnecting()
            case ftms_link.LinkUp():
                self._record_link(event)
            case ftms_link.DecodeFailed():
                pass  # counted and logged by the link; never a command
            case _:
                pass
        observation = to_observation(event)
        if observation is not None:
            self._apply(self._require_governor().observe(observation, now))

    def _record_belt(self, speed_kmh: float) -> None:
        """The treadmill's own word that the belt stopped or moves again, for the record."""
        stopped = speed_kmh <= STOPPED_KMH
        if self._belt_stopped is None:
            self._belt_stopped = stopped
        elif stopped is not self._belt_stopped:
            self._belt_stopped = stopped
            kind = RecordEvent.BELT_STOPPED if stopped else RecordEvent.BELT_MOVING
            self._emit(kind, speed_kmh=speed_kmh)

    def _record_link(self, event: ftms_link.LinkUp | ftms_link.LinkDown) -> None:
        """A loss of the link and its return, once each, for the record's gaps."""
        if isinstance(event, ftms_link.LinkDown) and not self._link_lost:
            self._link_lost = True
            self._emit(RecordEvent.LINK_LOST, reason=event.reason)
        elif isinstance(event, ftms_link.LinkUp) and self._link_lost:
            self._link_lost = False
            self._emit(RecordEvent.LINK_BACK)

    def _ensure_reconnecting(self) -> None:
        if self._tasks is None or (
            self._reconnect_task is not None and not self._reconnect_task.done()
        ):
            return
        self._reconnect_task = self._tasks.create_task(self._reconnect(), name="session.reconnect")

    async def _reconnect(self) -> None:
        """Bring the link back: a pending stop reaches the treadmill, the person may re-arm.

        Cancelled when the session ends.
        """
        _log.warning("link.reconnecting")
        with contextlib.suppress(LinkError):
            await self._link.reconnect(max_attempts=None)

    # -- decisions -----------------------------------------------------------------

    def _request(
        self,
        request: EmergencyStop | SetTarget | Start | Resume | Pause | End | Rearm,
        now: float | None = None,
    ) -> list[Decision]:
        """Ask the governor, act on its decisions and return them (for a true answer)."""
        governor = self._governor
        if governor is None:
            if isinstance(request, EmergencyStop):
                # Before the link is up: the link keeps the stop for the connection,
                # and the governor starts latched.
                self._early_emergency = request
                self._spawn_stop()
                _log.warning("governor.command", command="SendStop", reason=request.source)
                return []
            return [Refused(request, "the treadmill is not connected yet")]
        decisions = governor.request(request, self._clock.now_s() if now is None else now)
        self._apply(decisions)
        return decisions

    def _apply(self, decisions: list[Decision]) -> None:
        # A halt goes to the link before anything else in the batch is logged, shown
        # or queued (invariant 6), and nothing decided before it (a speed that would
        # move the belt again) is written after it: the queue and a write on its way
        # are dropped.
        last_halt = -1
        for index, decision in enumerate(decisions):
            if isinstance(decision, SendStop | SendPause):
                last_halt = index
                self._halt(decision)
        for index, decision in enumerate(decisions):
            match decision:
                case SendStop() | SendPause():
                    self._log_halt(decision)
                case SendSpeed() | SendIncline() | SendStart():
                    if index > last_halt:
                        self._queue_command(decision)
                case _:
                    self._show(decision)

    def _halt(self, halt: SendStop | SendPause) -> None:
        self._commands.clear()
        # Only data reported after this halt can say the belt has stopped (a belt just
        # starting still reports the 0 km/h it had before).
        self._stopped_since_data = False
        self._halts += 1
        if self._write_scope is not None:
            # Ends the write on its way at once, wherever it is waiting (its pacing,
            # the command lock, control): nothing decided before a halt goes after it.
            self._write_scope.reschedule(asyncio.get_running_loop().time())
        if isinstance(halt, SendStop):
            self._spawn_stop()
        else:
            self._spawn_pause()

    @staticmethod
    def _log_halt(halt: SendStop | SendPause) -> None:
        if isinstance(halt, SendStop):
            _log.warning("governor.command", command="SendStop", reason=halt.reason)
        else:
            _log.info("governor.command", command="SendPause", reason=halt.reason)

    def _show(self, decision: Decision) -> None:
        """Decisions for people and the record, not for the treadmill."""
        match decision:
            case StateChanged():
                self._on_state_changed(decision)
            case GovernorCue():
                self._cue(self._governor_cue(decision))
            case Alarm():
                _log.error(RecordEvent.ALARM, text=decision.text, reason=decision.reason)
                self._emit(RecordEvent.ALARM, log=False, text=decision.text, reason=decision.reason)
                self._cue(Cue("alarm", decision.text, urgent=True))
            case Refused():
                _log.info(
                    "governor.refused", item=type(decision.item).__name__, reason=decision.reason
                )
            case TargetLimited():
                _log.info("governor.target_limited", **_fields(decision))
            case _:
                pass

    def _governor_cue(self, cue: GovernorCue) -> Cue:
        """The governor's cue as the person hears it.

        A countdown is one word per second, said on its second or not at all; the
        key to press is named (no "press" at all where no key is read).
        """
        now = self._clock.now_s()
        if cue.seconds_left is not None:
            self._countdown = (cue.seconds_left, now)
            word = Utterance(countdown_word(cue.seconds_left), start_by_s=now + COUNTDOWN_START_S)
            return Cue(str(cue.kind), cue.text, speech=(word,), end_by_s=now + COUNTDOWN_END_S)
        governor = self._require_governor()
        text = cue.text
        if cue.kind is CueKind.PRESS_RESUME:
            text = name_keys(f"Press resume to walk {governor.direction}.", self._keys)
            text = text or f"Turned round: the belt waits to walk {governor.direction}."
        elif cue.kind is CueKind.TURN_AROUND_SLOWING and governor.pending_direction is not None:
            # short, so that the countdown's first words are not taken by it
            text = f"Slowing down: turn round to walk {governor.pending_direction}."
            return Cue(str(cue.kind), text, speech=(Utterance("Slowing down to turn round."),))
        else:
            text = name_keys(text, self._keys) or text
        return Cue(str(cue.kind), text)

    def _queue_command(self, command: Command) -> None:
        _log.info("governor.command", command=type(command).__name__, **_fields(command))
        if isinstance(command, SendSpeed):
            # A newer ramp step replaces a speed still waiting: only the latest matters
            # (a slow treadmill must not be fed a backlog of stale ramp steps).
            # The starting speed right after a Start stays: every start begins there.
            for index, queued in enumerate(self._commands):
                before = self._commands[index - 1] if index > 0 else self._writing
                after_start = isinstance(before, SendStart)
                if isinstance(queued, SendSpeed) and not after_start:
                    self._commands[index] = command
                    self._commands_ready.set()
                    return
        self._commands.append(command)
        self._commands_ready.set()

    def _spawn_stop(self) -> None:
        self._stop_task = self._halt_now(self._link.stop_now(), "session.stop")

    def _spawn_pause(self) -> None:
        self._halt_now(self._link.pause_now(), "session.pause")

    def _halt_now(self, write: Coroutine[object, object, None], name: str) -> asyncio.Task[None]:
        """Start a halt's write eagerly, before anything else this step does.

        The write runs now, up to the radio; logging, the dashboard and the record
        get their turn after it. Outside the task group on purpose (a group's tasks
        start on the loop's next turn); :meth:`_shutdown` awaits every one still running.
        """
        task = asyncio.Task(write, loop=asyncio.get_running_loop(), name=name, eager_start=True)
        if not task.done():
            self._halt_tasks.add(task)
            task.add_done_callback(self._halt_tasks.discard)
        task.add_done_callback(_note_halt_failure)
        return task

    def _on_state_changed(self, change: StateChanged) -> None:
        _log.info(
            RecordEvent.STATE_CHANGED,
            old=change.old,
            new=change.new,
            latch_reason=change.latch_reason,
            reason=change.reason,
        )
        self._set_phase(_PHASES[change.new])
        self._paused_after_turn = (
            change.old is GovernorState.TURNING_AROUND and change.new is GovernorState.PAUSED
        )
        if change.new is GovernorState.TURNING_AROUND:
            self._countdown = None  # each turn-around counts down its own hold
        if change.new is GovernorState.RUNNING:
            self._person_paused = False
        if change.new is GovernorState.LATCHED:
            self._latch_detail = change.reason
        self._record_holds(change)
        if change.new is GovernorState.LATCHED and change.latch_reason is not None:
            reason = change.latch_reason.name.lower()
            self._latches.append(reason)
            _log.error(RecordEvent.LATCHED, reason=reason, detail=change.reason)
            self._emit(RecordEvent.LATCHED, log=False, reason=reason, detail=change.reason)
        elif change.old is GovernorState.LATCHED and change.new is GovernorState.IDLE:
            self._emit(RecordEvent.REARMED)

    def _record_holds(self, change: StateChanged) -> None:
        """Pauses and turn-arounds for the record, from the governor's state changes.

        A turn-around runs from the governor's TURNING_AROUND until the belt runs
        again: the pause it may end in (a zero-speed turn-around waits for the
        person's resume) is part of it. Any other pause is a pause. A latch or the
        end closes either (readers close them there; nothing is written for it).
        """
        old, new = change.old, change.new
        governor = self._require_governor()
        if new is GovernorState.PAUSED:
            if old is GovernorState.TURNING_AROUND and governor.pending_direction is None:
                return  # the turn-around's own wait for the resume
            if self._holding is _Hold.TURN_AROUND:
                self._emit(RecordEvent.TURN_AROUND_ENDED, outcome="paused")
            self._holding = _Hold.PAUSE
            self._emit(RecordEvent.PAUSED, reason=change.reason, during=str(old))
            return
        if self._holding is _Hold.PAUSE:
            if new is GovernorState.RUNNING:
                self._emit(RecordEvent.RESUMED, reason=change.reason)
            self._holding = None
        elif self._holding is _Hold.TURN_AROUND and new is not GovernorState.TURNING_AROUND:
            self._emit(RecordEvent.TURN_AROUND_ENDED, outcome=str(new))
            self._holding = None
        if new is GovernorState.TURNING_AROUND and self._holding is None:
            self._holding = _Hold.TURN_AROUND
            towards = governor.pending_direction
            self._emit(
                RecordEvent.TURN_AROUND_STARTED,
                direction=str(towards) if towards is not None else None,
            )

    async def _write_commands(self) -> None:
        """Write queued commands in order; a slow or silent treadmill delays only this.

        Each write runs in a scope that a halt ends at once (see :meth:`_halt`): a
        ramp step still being paced, or waiting for the command lock, is dropped.
        """
        while True:
            await self._commands_ready.wait()
            self._commands_ready.clear()
            while self._commands:
                self._writing = command = self._commands.popleft()
                halts = self._halts
                try:
                    async with asyncio.timeout(None) as scope:
                        self._write_scope = scope
                        await self._write(command, halts)
                except TimeoutError:
                    if not scope.expired():
                        raise
                    _log.info("command.dropped", command=type(command).__name__, reason="halt")
                finally:
                    self._write_scope = None
                    self._writing = None

    async def _write(self, command: Command, halts: int) -> None:
        if self._halts != halts:
            _log.info("command.dropped", command=type(command).__name__, reason="halt")
            return
        if self._require_governor().state is GovernorState.LATCHED:
            _log.warning("command.dropped", command=type(command).__name__, reason="latched")
            return
        try:
            match command:
                case SendSpeed(speed_kmh=speed_kmh):
                    # Noted before the write: it reaches the treadmill even when its
                    # answer never comes, and the governor sizes the next ramp step
                    # by the time since (the ramp as the treadmill receives it).
                    now = self._clock.now_s()
                    self._apply(self._require_governor().observe(SpeedWritten(speed_kmh), now))
                    await self._link.set_target_speed(speed_kmh)
                case SendIncline(incline_pct=incline_pct):
                    await self._link.set_target_inclination(incline_pct)
                case SendStart():
                    await self._link.start_resume()
                case _:
                    pass
        except (CommandRejected, CommandTimeout, CommandRefused, LinkError) as error:
            _log.warning("command.failed", command=type(command).__name__, error=str(error))

    # -- output ------------------------------------------------------------------

    def _set_phase(self, phase: SessionPhase) -> None:
        if phase is not self._phase:
            self._phase = phase

    def _emit(self, kind: str, *, log: bool = True, **fields_: object) -> None:
        kind = str(kind)
        if log:
            _log.info(kind, **fields_)
        event = SessionEvent(kind, self._clock.now_s() - self._started_s, fields_)
        for observer in self._observers:
            observer.on_event(event)

    def _cue(self, cue: Cue) -> None:
        _log.info("cue.given", kind=cue.kind, text=cue.text, urgent=cue.urgent)
        now = self._clock.now_s()
        said = cue.speech[0].text if cue.speech else spoken(cue.text)
        self._said_until_s = max(self._said_until_s, now) + self._speech_timing.duration_s(said)
        for observer in self._observers:
            observer.on_cue(cue)

    def _publish(self, now: float) -> None:
        snapshot = self.snapshot(now)
        for observer in self._observers:
            observer.on_snapshot(snapshot)

    def snapshot(self, now: float | None = None) -> SessionSnapshot:
        """The session's state now, as observers see it."""
        now = self._clock.now_s() if now is None else now
        governor = self._governor
        index = self._segment_index
        segment = self._segments[index] if index < len(self._segments) else None
        following = self._next_segment() if segment is not None else None
        data = self._last_data.data if self._last_data is not None else None
        remaining_segment_s = (
            max(0.0, segment.duration_s - self._segment_elapsed_s) if segment else None
        )
        later_s = self._time_after_s[index] if index < len(self._segments) else 0.0
        countdown: float | None = None
        if (
            self._countdown is not None
            and governor is not None
            and governor.pending_direction is not None
            and governor.state in {GovernorState.TURNING_AROUND, GovernorState.PAUSED}
        ):
            seconds_left, given_s = self._countdown
            countdown = max(0.0, seconds_left - (now - given_s))
        return SessionSnapshot(
            t_s=now - self._started_s,
            phase=self._phase,
            profile_name=self._plan.name,
            latch_reason=(
                governor.latch_reason.name.lower()
                if governor is not None and governor.latch_reason is not None
                else None
            ),
            segment=_view(segment),
            next_segment=_view(following),
            segment_count=len(self._segments),
            segment_remaining_s=remaining_segment_s,
            session_remaining_s=(
                (remaining_segment_s or 0.0) + later_s if segment is not None else 0.0
            ),
            direction=str(governor.direction) if governor is not None else None,
            target_speed_kmh=governor.commanded_speed_kmh if governor is not None else 0.0,
            belt_speed_kmh=data.speed_kmh if data is not None else None,
            incline_pct=data.incline_pct if data is not None else None,
            distance_m=self._distance_m(),
            elapsed_s=now - self._started_s,
            heart_rate_bpm=self._shown_heart_rate(now, data),
            link_up=self._link.is_connected,
            turnaround_countdown_s=countdown,
            turning_to=self._turning_to(),
            resume_after_turn=(
                self._paused_after_turn
                and governor is not None
                and governor.state is GovernorState.PAUSED
            ),
            latch_detail=self._latch_detail if self._phase is SessionPhase.LATCHED else None,
        )

    def _turning_to(self) -> str | None:
        """The direction being turned to: while turning, and while waiting to walk it."""
        governor = self._governor
        if governor is None:
            return None
        if governor.pending_direction is not None and governor.state in {
            GovernorState.TURNING_AROUND,
            GovernorState.PAUSED,
        }:
            return str(governor.pending_direction)
        if self._paused_after_turn and governor.state is GovernorState.PAUSED:
            return str(governor.direction)
        return None

    def _shown_heart_rate(self, now: float, data: TreadmillData | None) -> int | None:
        """The robust heart rate when there is one, else what the treadmill reports."""
        robust = self._heart_rate.display_bpm(now)
        if robust is not None or self._heart_rate.link is not None:
            return robust
        return data.heart_rate_bpm if data is not None else None

    def _distance_m(self) -> float | None:
        if self._last_data is None or self._first_distance_m is None:
            return None
        last = self._last_data.data.distance_m
        return None if last is None else max(0.0, float(last) - self._first_distance_m)

    # -- the end -------------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Leave the treadmill commanded to stop, then close the link."""
        for task in list(self._halt_tasks):  # a stop or pause still being written
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
        governor = self._governor
        finished_still = (
            governor is not None
            and governor.state is GovernorState.FINISHED
            and self._belt_settled()
        )
        if not finished_still and self._link.is_connected:
            final_stop = self._halt_now(self._link.stop_now(), "session.final_stop")
            _log.warning("session.final_stop")  # the write is on its way already
            with contextlib.suppress(Exception):
                await asyncio.shield(final_stop)
        await self._link.disconnect()

    def _summary(self, end: SessionEnd) -> SessionSummary:
        summary = SessionSummary(
            end=end,
            duration_s=round(self._clock.now_s() - self._started_s, 3),
            backward_s=round(self._time_by_direction[Direction.BACKWARD], 3),
            forward_s=round(self._time_by_direction[Direction.FORWARD], 3),
            distance_m=round(self._distance_m() or 0.0, 1),
            segments_completed=self._finished_segments,
            segment_count=len(self._segments),
            latches=tuple(self._latches),
        )
        self._set_phase(SessionPhase.FINISHED)
        self._emit(
            RecordEvent.ENDED,
            end=str(end),
            exit_status=end.exit_status,
            summary=_fields(summary),
        )
        return summary

    def _link_name(self) -> str:
        info = self._link.info
        return info.name if info is not None else "treadmill"

    def _require_governor(self) -> SafetyGovernor:
        if self._governor is None:
            raise RuntimeError("the governor exists once the link is up")
        return self._governor


def _note_halt_failure(task: asyncio.Task[None]) -> None:
    """A stop or pause write that failed in a way the link did not expect: say so."""
    if not task.cancelled() and (error := task.exception()) is not None:
        _log.error("command.halt_failed", task=task.get_name(), exc_info=error)


def _outcome(request: object, decisions: list[Decision]) -> ControlOutcome:
    """Whether the governor acted on ``request``: refused, limited or taken."""
    for decision in decisions:
        if isinstance(decision, Refused) and decision.item is request:
            return ControlOutcome(accepted=False, detail=decision.reason)
    for decision in decisions:
        if isinstance(decision, TargetLimited):
            return ControlOutcome(accepted=True, detail=decision.reason)
    return ControlOutcome(accepted=True)


def _view(segment: PlannedSegment | None) -> SegmentView | None:
    if segment is None:
        return None
    return SegmentView(
        index=segment.index,
        direction=str(segment.direction),
        speed_kmh=segment.speed_kmh,
        incline_pct=segment.incline_pct,
        duration_s=segment.duration_s,
        cue=segment.cue,
    )


def _fields(value: object) -> dict[str, object]:
    """A decision or summary as plain fields for the log (enums by name)."""
    if not is_dataclass(value) or isinstance(value, type):
        return {}
    out: dict[str, object] = {}
    for item in fields(value):
        field_value = getattr(value, item.name)
        if isinstance(field_value, Enum):
            field_value = (
                str(field_value.value)
                if isinstance(field_value.value, str)
                else (field_value.name.lower())
            )
        out[item.name] = field_value
    return out

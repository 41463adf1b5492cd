"""The control loop: a plan, a governor and a link, run on the injected clock.

:class:`SessionRunner` owns one session: it connects, feeds the safety governor the
plan's segments (:mod:`~treadmill_ctl.session.plan_cursor`), the asks of people and
remotes (:mod:`~treadmill_ctl.session.controls`) and every event the link reports
(its own stream, read as it comes), and acts on the governor's decisions:

* a halt (``SendStop``, ``SendPause``) goes to the link at once, ahead of everything
  queued, before anything about it is logged, shown or recorded; nothing decided
  before it is written after it (the :mod:`~treadmill_ctl.session.command_writer`;
  SAFETY.md invariants 4 to 6); a record that can no longer be written ends the
  session with the belt stopped;
* other commands go in order through the writer's task, which never holds up the loop;
* a control tick (0.1 s) lets the governor ramp, count down and watch, moves the plan
  on, and publishes a snapshot (:mod:`~treadmill_ctl.session.snapshot`);
* the record's events come from what happened, never from a request
  (:mod:`~treadmill_ctl.session.record_events`); the end from the rules of
  :mod:`~treadmill_ctl.session.ending`.

Every task is in one group for the whole run (:mod:`~treadmill_ctl.session.tasks`).
The runner never starts or resumes the belt by itself: only ``start``/``resume`` from
a person, or, in an unattended dry run, the stand-in for that person's key presses.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Final

import structlog

from treadmill_ctl.errors import (
    LinkError,
)
from treadmill_ctl.ftms import link_events as ftms_link
from treadmill_ctl.ftms.observations import MachineStatusCode
from treadmill_ctl.safety import (
    Alarm,
    Decision,
    EmergencyStop,
    End,
    Refused,
    SafetyGovernor,
    SendIncline,
    SendPause,
    SendSpeed,
    SendStart,
    SendStop,
    SetTarget,
    SpeedWritten,
    StateChanged,
    TargetLimited,
)
from treadmill_ctl.safety.states import CueKind, Direction, GovernorState
from treadmill_ctl.session.command_writer import CommandWriter
from treadmill_ctl.session.controls import GovernorRequest, SessionControls
from treadmill_ctl.session.ending import EndFacts, SessionEnding
from treadmill_ctl.session.events import (
    Cue,
    RecordEvent,
    RequestSource,
    SessionEnd,
    SessionPhase,
    SessionSnapshot,
)
from treadmill_ctl.session.governor_cues import governor_cue
from treadmill_ctl.session.heart_rate import HeartRateSession
from treadmill_ctl.session.link_observations import ranges_from, to_observation
from treadmill_ctl.session.output import SessionOutput
from treadmill_ctl.session.plan_cursor import (
    HeadsUpDue,
    PlanCursor,
    SegmentBegun,
    SegmentDone,
    heads_up_cue,
    segment_target,
)
from treadmill_ctl.session.record_events import STOPPED_KMH, RecordEvents
from treadmill_ctl.session.snapshot import ShownState, build_snapshot
from treadmill_ctl.session.speech import (
    RateModel,
    SpeechTiming,
    SpokenKeys,
    name_keys,
)
from treadmill_ctl.session.stand_in import Press, StandIn
from treadmill_ctl.session.summary import SessionSummary, log_fields
from treadmill_ctl.session.tasks import SessionTasks

if TYPE_CHECKING:
    from collections.abc import Sequence

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.ftms.heart_rate_link import HeartRateLink
    from treadmill_ctl.ftms.link import FtmsLink
    from treadmill_ctl.ftms.link_events import LinkEvent, MachineInfo
    from treadmill_ctl.ftms.observations import TreadmillData
    from treadmill_ctl.profiles import Plan, PlannedSegment
    from treadmill_ctl.safety import Command, Limits
    from treadmill_ctl.session.events import SessionObserver

__all__ = ["TICK_S", "SessionRunner", "SessionSummary"]

_log = structlog.get_logger("treadmill_ctl.session")

TICK_S: Final = 0.1
"""The control tick: ramps, countdowns and watchdogs advance at least this often."""

DRY_RUN_SLACK_S: Final = 600.0
"""A dry run may take three times its plan plus this before it is declared stuck."""


class SessionRunner(SessionControls):
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

    def __init__(
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
        super().__init__(clock=clock, interactive=interactive)
        self._plan = plan
        self._segments = plan.segments
        self._limits = limits
        self._link = link
        self._stand_in = StandIn(listens=stand_in_listens) if stand_in_person else None
        self._tick_s = tick_s
        self._governor: SafetyGovernor | None = None
        # every task of the session, owned by one group (session/tasks.py)
        self._tasks = SessionTasks()
        self._writer = CommandWriter(
            link,
            tasks=self._tasks,
            on_speed_written=self._speed_written,
            latched=self._latched,
        )
        self._reconnect_task: asyncio.Task[None] | None = None
        self._shown = ShownState()
        self._speech_timing: SpeechTiming = (
            speech_timing if speech_timing is not None else RateModel()
        )
        self._cursor = PlanCursor(plan.segments, self._speech_timing)
        self._out = SessionOutput(clock, self._speech_timing, observers)
        self._emit = self._out.emit
        self._cue = self._out.cue
        self._keys = keys
        self._first_distance_m: float | None = None
        self._last_data: ftms_link.DataReceived | None = None
        self._stopped_since_data = False
        self._ending = SessionEnding()
        self._last_tick_s = 0.0
        self._gave_up = False
        self._early_emergency: EmergencyStop | None = None
        self._record = RecordEvents(self._emit)
        self._heart_rate = HeartRateSession(
            limits=limits,
            link=heart_rate_link,
            confirmed_without=without_heart_rate,
            emit=self._emit,
            cue=self._cue,
        )

    def add_observer(self, observer: SessionObserver) -> None:
        """Let one more observer see snapshots, events and cues.

        The UI is built after the runner: its hotkeys need the runner to send to.
        """
        self._out.add(observer)

    # -- the run ---------------------------------------------------------------------

    @property
    def phase(self) -> SessionPhase:
        """Where the session is now."""
        return self._shown.phase

    async def run(self) -> SessionSummary:
        """Connect, run the plan, end with the belt stopped; return how it went.

        Whatever ends it (the plan, a latch, a person, cancellation, an error), the
        treadmill is commanded to stop before this returns or raises, as far as the
        link allows (SAFETY.md invariant 6).
        """
        self._out.started_s = self._clock.now_s()
        self._shown.phase = SessionPhase.CONNECTING
        self._emit(RecordEvent.CONNECTING, device=self._link_name())
        # One group owns every task of the session, halts included (session/tasks.py);
        # its end waits for them all. The strap connects beside the treadmill.
        async with self._tasks.group():
            heart_rate = self._tasks.start(self._heart_rate.run(), "session.heart_rate")
            try:
                return await self._run_linked()
            finally:
                heart_rate.cancel()

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
        self._record.device(info)
        self._record.plan(self._plan)
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
        self._shown.phase = SessionPhase.WAITING_FOR_START
        if self._early_emergency is not None:
            self._request(self._early_emergency)
        self._request(self._segment_target(self._segments[0]))
        self._cue(
            Cue(
                CueKind.BEFORE_START,
                name_keys(
                    "Stand on the side rails and clip the safety key to your clothes. "
                    "Press start to begin.",
                    self._keys,
                ),
            )
        )
        helpers = [
            self._tasks.start(self._pump_link_events(), "session.link_events"),
            self._tasks.start(self._writer.run(), "session.commands"),
        ]
        try:
            return await self._control_loop()
        finally:
            # The helpers run forever; a halt still being written is left to finish
            # (the shutdown waits for it).
            for task in helpers:
                task.cancel()
            if self._reconnect_task is not None:
                self._reconnect_task.cancel()

    async def _control_loop(self) -> SessionEnd:
        # A dry run with no person has nobody to notice a session that cannot go on
        # (a belt that never stops, a resume refused for ever): it gives up instead.
        give_up_s = self._out.started_s + 3 * self._plan.total_s + DRY_RUN_SLACK_S
        while True:
            now = self._clock.now_s()
            if self._stand_in is not None and now > give_up_s and self._interrupted_by is None:
                _log.error("session.dry_run_stuck", waited_s=round(now - self._out.started_s))
                self._gave_up = True
                self.interrupt(RequestSource.DRY_RUN_GUARD)
            self._tick(now)
            end = self._session_end(now)
            if end is not None:
                return end
            await self._clock.sleep(self._tick_s)

    def _tick(self, now: float) -> None:
        governor = self._require_governor()
        dt = max(0.0, now - self._last_tick_s)
        self._last_tick_s = now
        if governor.state is GovernorState.RUNNING:
            self._advance_plan(dt, now)
        self._apply(governor.tick(now))
        segment = self._cursor.walking if governor.state is GovernorState.RUNNING else None
        for request in self._heart_rate.tick(now, governor, segment):
            self._request(request, now)
        self._stand_in_for_person(now)
        self._publish(now)

    def _advance_plan(self, dt: float, now: float) -> None:
        for step in self._cursor.advance(dt):
            match step:
                case SegmentBegun(segment=segment):
                    self._record.segment_started(segment)
                    if segment.cue:
                        self._cue(Cue(CueKind.SEGMENT, segment.cue))
                case HeadsUpDue(heads_up=heads_up, left_s=left_s):
                    self._cue(heads_up_cue(heads_up, left_s, now))
                case SegmentDone(following=following):
                    if following is None:
                        _log.info("session.plan_done")
                        self._request(End(), now)
                    else:
                        self._request(self._segment_target(following), now)

    def _starting_target(self) -> SetTarget | None:
        segment = self._cursor.current
        return None if segment is None else self._segment_target(segment)

    def _segment_target(self, segment: PlannedSegment) -> SetTarget:
        """The segment's target, raised to the treadmill's minimum speed (and said so)."""
        ranges = self._require_governor().ranges
        floor_kmh = ranges.min_speed_kmh
        target = segment_target(segment, ranges)
        if target.speed_kmh > segment.speed_kmh:
            _log.warning(
                "session.speed_raised",
                segment=segment.index,
                planned_kmh=segment.speed_kmh,
                speed_kmh=floor_kmh,
            )
            self._cue(
                Cue(
                    CueKind.SPEED_FLOOR,
                    f"{segment.speed_kmh:g} km/h is below this treadmill's slowest speed: "
                    f"walking at {floor_kmh:g} km/h.",
                )
            )
        return target

    def _stand_in_for_person(self, now: float) -> None:
        """Dry runs only: press start or resume where the person would be asked to."""
        if self._stand_in is None:
            return
        press = self._stand_in.press(
            now,
            state=self._require_governor().state,
            waiting_for_start=self._shown.phase is SessionPhase.WAITING_FOR_START,
            latched_before=bool(self._record.latches),
            paused_after_turn=self._shown.paused_after_turn,
            person_paused=self._person_paused,
            ending=self._end_requested_by is not None,
            said_until_s=self._out.said_until_s,
        )
        if press is Press.START:
            self.start(RequestSource.STAND_IN)
        elif press is Press.RESUME:
            self.resume(RequestSource.STAND_IN)

    def _session_end(self, now: float) -> SessionEnd | None:
        """How the session ends now, or None while it goes on (session/ending.py)."""
        governor = self._require_governor()
        facts = EndFacts(
            state=governor.state,
            latch_reason=governor.latch_reason,
            belt_settled=self._belt_settled(),
            interactive=self._interactive,
            interrupted=self._interrupted_by is not None,
            end_requested=self._end_requested_by is not None,
            refused_for_heart_rate=self._refused_for_heart_rate,
            gave_up=self._gave_up,
            record_failed=self._record_failure is not None,
        )
        return self._ending.end(facts, now)

    def _belt_settled(self) -> bool:
        return (
            self._link.is_connected
            and self._stopped_since_data
            and not self._link.stop_pending
            and not self._writer.stop_in_flight
        )

    # -- link events --------------------------------------------------------------

    async def _pump_link_events(self) -> None:
        """The link's own event stream into the governor, each event as it comes."""
        async for event in self._link.events():
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
                self._heart_rate.treadmill_heart_rate(data.heart_rate_bpm, now)
                self._record.belt_data(data)
            case ftms_link.StatusReceived(status=status):
                _log.info("machine.status", code=status.code, raw=status.raw)
                if status.code is MachineStatusCode.CONTROL_PERMISSION_LOST:
                    self._link.control_lost()
            case ftms_link.LinkLost(reason=reason):
                self._stopped_since_data = False
                self._record.link_down(reason)
                self._ensure_reconnecting()
            case ftms_link.LinkConnected():
                self._record.link_up()
            case ftms_link.DecodeFailed():
                pass  # counted and logged by the link; never a command
            case _:
                pass
        observation = to_observation(event)
        if observation is not None:
            self._apply(self._require_governor().observe(observation, now))

    def _ensure_reconnecting(self) -> None:
        if self._reconnect_task is not None and not self._reconnect_task.done():
            return
        with contextlib.suppress(RuntimeError):  # the session is over: nothing to bring back
            self._reconnect_task = self._tasks.start(self._reconnect(), "session.reconnect")

    async def _reconnect(self) -> None:
        """Bring the link back: a pending stop reaches the treadmill, the person may re-arm.

        Cancelled when the session ends.
        """
        _log.warning("link.reconnecting")
        with contextlib.suppress(LinkError):
            await self._link.reconnect(max_attempts=None)

    # -- decisions -----------------------------------------------------------------

    def _request(self, request: GovernorRequest, now: float | None = None) -> list[Decision]:
        """Ask the governor, act on its decisions and return them (for a true answer)."""
        governor = self._governor
        if governor is None:
            if isinstance(request, EmergencyStop):
                # Before the link is up: the link keeps the stop for the connection,
                # and the governor starts latched.
                self._early_emergency = request
                self._writer.halt(SendStop(request.source))
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
        # Only data reported after this halt can say the belt has stopped (a belt just
        # starting still reports the 0 km/h it had before).
        self._stopped_since_data = False
        self._writer.halt(halt)

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
            case Cue():
                self._cue(self._governor_cue(decision))
            case Alarm():
                _log.error(RecordEvent.ALARM, text=decision.text, reason=decision.reason)
                self._emit(RecordEvent.ALARM, log=False, text=decision.text, reason=decision.reason)
                self._cue(Cue(CueKind.ALARM, decision.text, decision.reason, urgent=True))
            case Refused():
                _log.info(
                    "governor.refused", item=type(decision.item).__name__, reason=decision.reason
                )
            case TargetLimited():
                _log.info("governor.target_limited", **log_fields(decision))
            case _:
                pass

    def _governor_cue(self, cue: Cue) -> Cue:
        """The governor's cue as the person hears it (session/governor_cues.py)."""
        now = self._clock.now_s()
        if cue.seconds_left is not None:
            self._shown.countdown = (cue.seconds_left, now)
        return governor_cue(cue, self._require_governor(), self._keys, now)

    def _queue_command(self, command: Command) -> None:
        _log.info("governor.command", command=type(command).__name__, **log_fields(command))
        self._writer.queue(command)

    def _speed_written(self, speed_kmh: float) -> None:
        """A speed's write is done: the governor paces the ramp from now."""
        governor = self._require_governor()
        self._apply(governor.observe(SpeedWritten(speed_kmh), self._clock.now_s()))

    def _latched(self) -> bool:
        return self._require_governor().state is GovernorState.LATCHED

    def _on_state_changed(self, change: StateChanged) -> None:
        _log.info(
            RecordEvent.STATE_CHANGED,
            old=change.old,
            new=change.new,
            latch_reason=change.latch_reason,
            reason=change.reason,
        )
        self._shown.state_changed(change)
        if change.new is GovernorState.RUNNING:
            self._person_paused = False
        self._record.state_changed(change, self._require_governor().pending_direction)

    # -- output ------------------------------------------------------------------

    def _publish(self, now: float) -> None:
        self._out.publish(self.snapshot(now))

    def snapshot(self, now: float | None = None) -> SessionSnapshot:
        """The session's state now, as observers see it."""
        now = self._clock.now_s() if now is None else now
        data = self._last_data.data if self._last_data is not None else None
        ceiling_bpm = self._heart_rate.ceiling_bpm
        return build_snapshot(
            now_s=now,
            started_s=self._out.started_s,
            shown=self._shown,
            plan_name=self._plan.name,
            cursor=self._cursor,
            governor=self._governor,
            data=data,
            distance_m=self._distance_m(),
            heart_rate_bpm=self._shown_heart_rate(now, data),
            link_up=self._link.is_connected,
            heart_rate_ceiling_bpm=None if ceiling_bpm is None else round(ceiling_bpm),
            heart_rate_watched=ceiling_bpm is not None or self._heart_rate.link is not None,
        )

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
        await self._tasks.wait_halts()  # a stop or pause still being written
        governor = self._governor
        finished_still = (
            governor is not None
            and governor.state is GovernorState.FINISHED
            and self._belt_settled()
        )
        if not finished_still and self._link.is_connected:
            final_stop = self._writer.final_stop()
            _log.warning("session.final_stop")  # the write is on its way already
            with contextlib.suppress(Exception):
                await asyncio.shield(final_stop)
        await self._link.disconnect()

    def _summary(self, end: SessionEnd) -> SessionSummary:
        summary = SessionSummary(
            end=end,
            duration_s=round(self._clock.now_s() - self._out.started_s, 3),
            backward_s=round(self._cursor.time_by_direction[Direction.BACKWARD], 3),
            forward_s=round(self._cursor.time_by_direction[Direction.FORWARD], 3),
            distance_m=round(self._distance_m() or 0.0, 1),
            segments_completed=self._cursor.finished_count,
            segment_count=len(self._segments),
            latches=tuple(self._record.latches),
        )
        self._shown.phase = SessionPhase.FINISHED
        self._emit(
            RecordEvent.ENDED,
            end=str(end),
            exit_status=end.exit_status,
            summary=log_fields(summary),
        )
        return summary

    def _link_name(self) -> str:
        info = self._link.info
        return info.name if info is not None else "treadmill"

    def _require_governor(self) -> SafetyGovernor:
        if self._governor is None:
            raise RuntimeError("the governor exists once the link is up")
        return self._governor

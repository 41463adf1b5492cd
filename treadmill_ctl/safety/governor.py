"""The safety governor: requests and observations in, decisions out, time passed in.

Nothing reaches the treadmill without passing through :class:`SafetyGovernor`. It is
a plain, synchronous state machine with no I/O: the session runner feeds it requests
(:mod:`~treadmill_ctl.safety.requests`), observations
(:mod:`~treadmill_ctl.safety.observations`) and the clock's time (calling
:meth:`SafetyGovernor.tick` every 0.1-0.25 s), writes the commands it returns in order
and shows the cues.

It reads top to bottom as a state machine, shaped after PX4's failsafe framework:

- what it is handed passes one validity check first
  (:func:`~treadmill_ctl.safety.validity.refusal`): a NaN, infinite or negative
  value is refused, never acted on;
- the session's own state (idle, running, turning around, paused, ending, finished)
  and the active latch causes each ask for an action, and the most severe one is in
  force (:attr:`SafetyGovernor.action`, :mod:`~treadmill_ctl.safety.failsafe`): it
  decides where the belt is driven (:meth:`SafetyGovernor._leave`);
- a latch is entered only through :meth:`SafetyGovernor._latch` and left only by the
  person's re-arm; a controlled safety stop (``End(latch=...)``, the heart-rate
  ceiling) ramps down at the normal deceleration and only then latches;
- every command is made in one place (:mod:`~treadmill_ctl.safety.drive`: the ramp
  as the treadmill receives it, :mod:`~treadmill_ctl.safety.ramp`, within the caps of
  :mod:`~treadmill_ctl.safety.envelope`) and leaves through one gate
  (:func:`~treadmill_ctl.safety.failsafe.permitted`: while latched, only stop);
- the turn-around's hold is :mod:`~treadmill_ctl.safety.turnaround`, the watchdogs
  :mod:`~treadmill_ctl.safety.watchdogs`.

A time that is not finite raises :class:`ValueError`; a time earlier than the last
one counts as the last one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final, assert_never

from treadmill_ctl.safety.decisions import (
    Alarm,
    Cue,
    Decision,
    Refused,
    SendPause,
    SendStart,
    SendStop,
    StateChanged,
)
from treadmill_ctl.safety.drive import Drive
from treadmill_ctl.safety.envelope import Envelope
from treadmill_ctl.safety.failsafe import CAUSES, MODE_ACTIONS, Action, Latches, permitted
from treadmill_ctl.safety.observations import (
    BeltData,
    ControlLost,
    LinkDown,
    LinkUp,
    Observation,
    SafetyKeyPulled,
    SpeedWritten,
    StartedByUser,
    StoppedByUser,
    TargetSpeedChanged,
)
from treadmill_ctl.safety.requests import (
    EmergencyStop,
    End,
    Pause,
    Rearm,
    Request,
    Resume,
    SetTarget,
    Start,
)
from treadmill_ctl.safety.states import CueKind, Direction, GovernorState, LatchReason
from treadmill_ctl.safety.turnaround import TurnAround
from treadmill_ctl.safety.validity import is_finite, refusal
from treadmill_ctl.safety.watchdogs import STOPPED_KMH, Watchdogs

if TYPE_CHECKING:
    from treadmill_ctl.safety.limits import Limits, MachineRanges

__all__ = ["SafetyGovernor"]

_CONTROLLED_STOP: Final = Action.CONTROLLED_STOP
_TURNING_AROUND: Final = GovernorState.TURNING_AROUND
"""Module names for what every tick compares with (a global costs less than a member)."""
_ACTIVE = frozenset({GovernorState.RUNNING, GovernorState.TURNING_AROUND, GovernorState.ENDING})
"""States in which the governor drives a moving belt."""

_LINK_WATCHED = _ACTIVE | {GovernorState.PAUSED}
"""States (besides latched) in which a lost link or lost control latches."""


class SafetyGovernor:
    """The pure, synchronous state machine between every request and the treadmill.

    Each call returns the decisions it makes, in order: commands for the link (write
    them in order; ``SendStop`` ahead of anything pending), cues and alarms for the
    person, state changes, limited targets and refusals, each with its reason.

    Args:
        limits: The limits in force (defaults tightened by config and profile).
        ranges: The treadmill's own speed and incline ranges.
        now_s: The clock's time at creation.
        link_up: Whether the link is already connected; otherwise feed ``LinkUp``.
        ramp_step_s: Shortest time between two ramp steps, so the control point is
            not flooded with writes.
        writes_reported: The caller observes ``SpeedWritten`` for every speed as it is
            written, so the ramp holds as the treadmill receives it (``Ramp``).

    Raises:
        ValueError: ``now_s`` or ``ramp_step_s`` is not a finite number (above 0).
    """

    def __init__(
        self,
        limits: Limits,
        ranges: MachineRanges,
        *,
        now_s: float,
        link_up: bool = False,
        ramp_step_s: float = 0.5,
        writes_reported: bool = False,
    ) -> None:
        if not is_finite(now_s):
            raise ValueError(f"now_s must be a finite time, not {now_s!r}")
        if not (is_finite(ramp_step_s) and ramp_step_s > 0):
            raise ValueError(f"ramp_step_s must be above 0, not {ramp_step_s!r}")
        self._ranges = ranges
        self._now_s = now_s
        # The session's own state, never LATCHED: while any latch cause is active the
        # state is LATCHED (see ``state``), and the mode waits at IDLE for the re-arm.
        self._mode = GovernorState.IDLE
        self._latches = Latches()
        self._link_up = link_up
        self._envelope = Envelope(limits, ranges)
        self._turn = TurnAround(
            self._envelope.turn_hundredths, limits.turnaround_hold_s, now_s=now_s
        )
        self._target_speed_kmh: float | None = None
        self._target_incline_pct: float | None = None
        self._belt_speed_kmh: float | None = None
        self._watchdogs = Watchdogs(limits, now_s=now_s)
        self._drive = Drive(
            limits,
            ranges,
            self._envelope,
            self._turn,
            self._watchdogs,
            now_s=now_s,
            step_s=ramp_step_s,
            writes_reported=writes_reported,
        )
        self._ramp = self._drive.ramp
        """Read only: the speed last commanded (``commanded_hundredths``)."""
        self._latch_after_ramp: tuple[LatchReason, str] | None = None
        """A controlled safety stop ramping down: the latch to enter once the belt is down."""

    # ----------------------------------------------------------------- read-only view

    @property
    def state(self) -> GovernorState:
        """The current state: latched while any latch cause is active."""
        return GovernorState.LATCHED if self._latches else self._mode

    @property
    def ranges(self) -> MachineRanges:
        """The treadmill's supported ranges every target is clamped into."""
        return self._ranges

    @property
    def action(self) -> Action:
        """The most severe action in force: the session's own, or a latch's."""
        own = MODE_ACTIONS[self._mode]
        latched = self._latches.action
        return latched if latched > own else own  # noqa: FURB136 - every tick; max() costs a call

    @property
    def latch_reason(self) -> LatchReason | None:
        """The most severe active latch cause, or ``None`` when not latched."""
        return self._latches.most_severe

    @property
    def latch_reasons(self) -> frozenset[LatchReason]:
        """Every active latch cause."""
        return self._latches.active

    @property
    def direction(self) -> Direction:
        """The direction whose limits apply to the belt now."""
        return self._turn.direction

    @property
    def pending_direction(self) -> Direction | None:
        """A requested new direction not yet taken (a turn-around in progress)."""
        return self._turn.pending

    @property
    def commanded_speed_kmh(self) -> float:
        """The last speed commanded; 0.0 while stopped or paused."""
        return self._ramp.commanded_hundredths / 100

    @property
    def target_speed_kmh(self) -> float | None:
        """The last target speed asked for (before limits), if any."""
        return self._target_speed_kmh

    @property
    def belt_speed_kmh(self) -> float | None:
        """The belt speed last reported, or ``None`` when unknown."""
        return self._belt_speed_kmh

    def speed_cap_kmh(self, direction: Direction) -> float:
        """The effective speed cap for a direction (limits and treadmill range); 0: none."""
        return self._envelope.cap_kmh(direction)

    def starting_speed_kmh(self, direction: Direction) -> float:
        """The effective starting speed for a direction; 0.0 if it cannot run at all."""
        return self._envelope.starting_hundredths(direction) / 100

    # ------------------------------------------------------------------ entry points

    def request(self, request: Request, now_s: float) -> list[Decision]:
        """The decisions, in order, about a request (an emergency stop's first: stop)."""
        now = self._advance(now_s)
        out: list[Decision] = []
        if isinstance(request, EmergencyStop):
            self._emergency_stop(request, now, out)
        self._check_timers(now, out)
        why = refusal(request)
        if why is not None:
            out.append(Refused(request, why))
            return self._leave(now, out)
        match request:
            case EmergencyStop():
                pass
            case SetTarget():
                self._set_target(request, out)
            case Start() | Resume():
                self._begin(request, now, out)
            case Pause():
                self._pause(request, now, out)
            case End():
                self._end(request, now, out)
            case Rearm():
                self._rearm(request, out)
            case _:
                assert_never(request)
        return self._leave(now, out)

    def observe(self, observation: Observation, now_s: float) -> list[Decision]:
        """The decisions, in order, about what the treadmill or the link reported."""
        now = self._advance(now_s)
        out: list[Decision] = []
        self._check_timers(now, out)
        why = refusal(observation)
        if why is not None:
            out.append(Refused(observation, why))
            return self._leave(now, out)
        match observation:
            case BeltData():
                self._on_belt_data(observation, now, out)
            case StoppedByUser():
                self._on_stopped_by_user(observation, now, out)
            case SafetyKeyPulled():
                self._on_safety_key(now, out)
            case StartedByUser():
                self._on_started_by_user(now, out)
            case TargetSpeedChanged():
                self._on_target_speed_changed(observation, now, out)
            case ControlLost() | LinkDown():
                self._on_lost(observation, now, out)
            case SpeedWritten():
                self._on_speed_written(observation, now)
            case LinkUp():
                self._on_link_up(out)
            case _:
                assert_never(observation)
        return self._leave(now, out)

    def tick(self, now_s: float) -> list[Decision]:
        """The decisions as time passes: ramps, the turn-around countdown, watchdogs."""
        now = self._advance(now_s)
        out: list[Decision] = []
        self._check_timers(now, out)
        return self._leave(now, out)

    def _leave(self, now: float, out: list[Decision]) -> list[Decision]:
        """The action in force moves the belt on, then everything passes the one gate."""
        action = self.action
        if action <= _CONTROLLED_STOP and self._ramp.commanded_hundredths:
            self._step(action, now, out)  # a still belt, held or latched, has no ramp
        if self._mode is _TURNING_AROUND:
            self._turn_around_clock(now, out)
        if not out:
            return out
        return permitted(out, self.action, self._envelope.cap_kmh)

    # -------------------------------------------------------------------- requests

    def _emergency_stop(self, request: EmergencyStop, now: float, out: list[Decision]) -> None:
        why = f"emergency stop from {request.source}"
        if self.state is GovernorState.FINISHED:
            self._halt(SendStop(why), now, out)
            return
        self._latch(LatchReason.EMERGENCY_STOP, why, now, out, again=True)

    def _set_target(self, request: SetTarget, out: list[Decision]) -> None:
        speed_kmh, incline_pct = request.speed_kmh, request.incline_pct
        if self.state is GovernorState.FINISHED:
            out.append(Refused(request, "the session has finished"))
            return
        self._target_speed_kmh = float(speed_kmh)
        if incline_pct is not None:
            self._target_incline_pct = float(incline_pct)
        limited = self._envelope.limited(self._target_speed_kmh, request.direction)
        if limited is not None:
            out.append(limited)
        self._note_direction(request.direction, out)
        state = self.state
        if state is GovernorState.RUNNING:
            self._drive.incline(self._incline_goal(self._turn.direction), "target incline", out)
        elif state is GovernorState.TURNING_AROUND:
            incline_hundredths = self._envelope.turn_incline_hundredths(self._target_incline_pct)
            self._drive.incline(incline_hundredths, "incline for the turn-around", out)

    def _note_direction(self, direction: Direction, out: list[Decision]) -> None:
        """Take a requested direction: at once before the first start, else via a turn-around."""
        turn = self._turn
        turn.ask(direction)
        state = self.state
        if state is GovernorState.RUNNING and turn.pending is not None:
            turn.quiet()
            self._change(GovernorState.TURNING_AROUND, f"direction change to {direction}", out)
            text = f"Slowing down: get ready to turn and walk {direction}."
            out.append(Cue(CueKind.TURN_AROUND_SLOWING, text, "direction change requested"))
        elif state is GovernorState.TURNING_AROUND and turn.pending is None:
            why = f"direction change cancelled: staying {turn.direction}"
            turn.quiet()
            if self._ramp.commanded_hundredths > 0:
                self._change(GovernorState.RUNNING, why, out)
            else:
                self._change(GovernorState.PAUSED, why, out)
                text = f"Press resume to walk {turn.direction}."
                out.append(Cue(CueKind.PRESS_RESUME, text, why))

    def _begin(self, request: Start | Resume, now: float, out: list[Decision]) -> None:
        verb = "start" if isinstance(request, Start) else "resume"
        if request.by_person is not True:
            out.append(Refused(request, f"the belt only {verb}s on a person's own action"))
            return
        cannot = self._cannot_start(now, console=False)
        if cannot is not None:
            out.append(Refused(request, cannot))
            return
        why = f"{verb} requested by the person"
        self._change(GovernorState.RUNNING, why, out)
        out.append(SendStart(why))
        self._drive.start(self._target_incline_pct, now, f"{verb} at the starting speed", out)
        kind, doing = (
            (CueKind.STARTING, "starting") if verb == "start" else (CueKind.RESUMING, "resuming")
        )
        out.append(Cue(kind, f"Belt {doing}: walk {self._turn.direction}.", why))

    def _cannot_start(self, now: float, *, console: bool) -> str | None:  # noqa: PLR0911 (one reason a line)
        """Why the belt may not start now, or ``None`` when it may."""
        state = self.state
        if state is GovernorState.LATCHED:
            reason = self.latch_reason
            return f"latched ({reason.name.lower() if reason else 'latched'}): re-arm first"
        if state is GovernorState.FINISHED:
            return "the session has finished"
        if state in _ACTIVE:
            return "the belt is already running"
        if not self._link_up:
            return "the treadmill is not connected"
        belt = self._belt_speed_kmh
        if not console and belt is not None and belt > STOPPED_KMH:
            return f"the belt still reports {belt:g} km/h: wait until it has stopped"
        direction = self._turn.start_direction(now)
        if not isinstance(direction, Direction):
            return f"turning around: wait {math.ceil(direction)} s more"
        return self._envelope.cannot_run(direction)

    def _pause(self, request: Pause, now: float, out: list[Decision]) -> None:
        if self.state not in _ACTIVE:
            out.append(Refused(request, f"nothing to pause while {self.state}"))
            return
        why = "pause requested"
        if self._latch_after_ramp is not None:  # a controlled stop ramping down: latch now
            reason, stop_why = self._latch_after_ramp
            self._latch(reason, f"{stop_why}: paused while ramping down", now, out, alarmed=True)
            return
        if self._ramp.commanded_hundredths > 0:
            self._halt(SendPause(why), now, out)
        self._change(GovernorState.PAUSED, why, out)
        out.append(Cue(CueKind.PAUSED, "Paused. Press resume to continue.", why))

    def _end(self, request: End, now: float, out: list[Decision]) -> None:
        state = self.state
        if request.latch is not None and state is not GovernorState.FINISHED:
            self._controlled_latch(request.latch, request.why or "controlled stop", now, out)
            return
        if state is GovernorState.FINISHED:
            out.append(Refused(request, "the session has already finished"))
        elif state is GovernorState.LATCHED:
            self._halt(SendStop("end requested while latched"), now, out)
        elif request.immediate or state not in _ACTIVE or self._ramp.commanded_hundredths == 0:
            why = "end requested" + (": stop at once" if request.immediate else "")
            self._halt(SendStop(why), now, out)
            self._finish(why, "Session over: the belt is stopping.", out)
        elif state is not GovernorState.ENDING:
            self._turn.forget()
            why = "end requested: ramping down"
            self._change(GovernorState.ENDING, why, out)
            out.append(Cue(CueKind.ENDING, "Slowing down to finish.", why))

    def _controlled_latch(
        self, reason: LatchReason, why: str, now: float, out: list[Decision]
    ) -> None:
        """Ramp down at the normal deceleration, then latch for ``reason``.

        Not an abrupt stop for a person who may be walking backward; a belt already
        still (or already latched) latches at once.
        """
        if self.state not in _ACTIVE or self._ramp.commanded_hundredths == 0:
            self._latch(reason, why, now, out)
            return
        if self._latch_after_ramp is not None:
            return
        self._latch_after_ramp = (reason, why)
        self._turn.forget()
        if self._mode is not GovernorState.ENDING:
            self._change(GovernorState.ENDING, why + ": ramping down", out)
        out.append(Alarm(CAUSES[reason].alarm, why))

    def _rearm(self, request: Rearm, out: list[Decision]) -> None:
        if not self._latches:
            out.append(Refused(request, f"nothing to re-arm while {self.state}"))
            return
        cannot = self._latches.rearm_refusal(link_up=self._link_up)
        if cannot is not None:
            out.append(Refused(request, cannot))
            return
        why = "re-armed by the person"
        self._latches.clear()
        out.append(StateChanged(GovernorState.LATCHED, self.state, None, why))
        out.append(Cue(CueKind.REARMED, "Re-armed. Press start when you are ready.", why))

    # ---------------------------------------------------------------- observations

    def _on_belt_data(self, data: BeltData, now: float, out: list[Decision]) -> None:
        self._belt_speed_kmh = float(data.speed_kmh)
        trip = self._watchdogs.see(data, now, watching=self._watching())
        if trip is not None:
            self._latch(trip.cause, trip.why, now, out)

    def _on_stopped_by_user(self, status: StoppedByUser, now: float, out: list[Decision]) -> None:
        self._belt_speed_kmh = 0.0
        if self.state not in _ACTIVE or self._ramp.commanded_hundredths == 0:
            # Not driving the belt, or our own pause or stop announced back by the
            # treadmill (FTMS 4.17): the turn-around or the end goes on as planned.
            return
        what = "paused" if status.paused else "stopped"
        why = f"{what} at the console (status 0x02)"
        self._drive.halted(now)
        if self.state is GovernorState.ENDING:
            self._finish(why, "Session over.", out)
            return
        self._change(GovernorState.PAUSED, why, out)
        out.append(Cue(CueKind.CONSOLE, f"Belt {what} at the console. Press resume to go on.", why))

    def _on_safety_key(self, now: float, out: list[Decision]) -> None:
        self._belt_speed_kmh = 0.0
        if self.state is GovernorState.FINISHED:
            return
        self._latch(LatchReason.SAFETY_KEY, "stopped by the safety key (status 0x03)", now, out)
        self._watchdogs.key_pulled()  # the key stopped the belt: nothing left to verify

    def _on_started_by_user(self, now: float, out: list[Decision]) -> None:
        why = "started at the console (status 0x04)"
        state = self.state
        if state is GovernorState.LATCHED:
            text = (
                "Belt started at the console while latched: the app will not drive it "
                "until you re-arm."
            )
            out.append(Cue(CueKind.CONSOLE, text, why))
            return
        if state not in {GovernorState.IDLE, GovernorState.PAUSED}:
            return
        cannot = self._cannot_start(now, console=True)
        if cannot is not None:
            out.append(Cue(CueKind.CONSOLE, f"Belt started at the console; {cannot}.", why))
            return
        self._change(GovernorState.RUNNING, why, out)
        self._drive.start(
            self._target_incline_pct, now, "the person started the belt at the console", out
        )
        out.append(Cue(CueKind.STARTING, f"Belt started: walk {self._turn.direction}.", why))

    def _on_target_speed_changed(
        self, status: TargetSpeedChanged, now: float, out: list[Decision]
    ) -> None:
        speed_kmh = status.speed_kmh
        if self.state not in _ACTIVE or self._watchdogs.is_echo(speed_kmh, now):
            return
        why = f"treadmill target changed to {speed_kmh:g} km/h (status 0x05), not asked for"
        self._latch(LatchReason.UNREQUESTED_SPEED_CHANGE, why, now, out)

    def _on_speed_written(self, written: SpeedWritten, now: float) -> None:
        if self.state in _ACTIVE:
            self._drive.written(round(written.speed_kmh * 100), now)

    def _on_lost(self, lost: ControlLost | LinkDown, now: float, out: list[Decision]) -> None:
        """Control or the link lost: latched unless nothing moves (before a start, at the end)."""
        if isinstance(lost, LinkDown):
            self._link_up = False
        if self._latches or self._mode in _LINK_WATCHED:
            if isinstance(lost, LinkDown):
                reason, why = LatchReason.LINK_LOST, "the link to the treadmill dropped"
            else:
                reason, why = LatchReason.CONTROL_LOST, "control permission lost (0xFF)"
            self._latch(reason, why, now, out)

    def _on_link_up(self, out: list[Decision]) -> None:
        self._link_up = True
        self._belt_speed_kmh = None
        if self._latches:
            out.append(SendStop("link back while latched: make sure the belt is stopped"))

    # ----------------------------------------------------------------- time passing

    def _check_timers(self, now: float, out: list[Decision]) -> None:
        trip = self._watchdogs.unconfirmed_halt(now)
        if trip is not None:
            self._latch(trip.cause, trip.why, now, out, again=True)
        watching = self._mode in _ACTIVE and self._ramp.commanded_hundredths > 0
        trip = self._watchdogs.silence(now) if watching else None  # as in _watching
        if trip is not None:
            self._latch(trip.cause, trip.why, now, out)

    def _step(self, action: Action, now: float, out: list[Decision]) -> None:
        """One ramp step toward the goal of the action in force, when one is due.

        The goal: 0 for a controlled stop; during a turn-around the turn-around speed
        (never up to it); else the target, capped and on the treadmill's grid.
        """
        if action is _CONTROLLED_STOP:
            goal_hundredths = 0
        elif self._mode is _TURNING_AROUND:
            goal_hundredths = min(self._ramp.commanded_hundredths, self._envelope.turn_hundredths)
        else:
            goal_hundredths = self._envelope.speed_goal_hundredths(
                self._target_speed_kmh, self._turn.direction
            )
        next_hundredths = self._drive.next_step(goal_hundredths, now)
        if next_hundredths == 0:
            self._finish_ramp_down(now, out)
        elif next_hundredths is not None:
            rising = next_hundredths > self._ramp.commanded_hundredths
            why = f"ramp {'up' if rising else 'down'} toward {goal_hundredths / 100:g} km/h"
            self._drive.speed(next_hundredths, now, why, out)

    def _finish_ramp_down(self, now: float, out: list[Decision]) -> None:
        if self._mode is GovernorState.ENDING and self._latch_after_ramp is not None:
            reason, why = self._latch_after_ramp
            self._latch(reason, why + ": ramped down", now, out, alarmed=True)
        elif self._mode is GovernorState.ENDING:
            why = "end of session: ramped down"
            self._halt(SendStop(why), now, out)
            self._finish(why, "Session over: the belt is stopping.", out)
        elif self._mode is GovernorState.TURNING_AROUND:
            self._halt(SendPause("the belt pauses while the person turns round"), now, out)
        else:
            why = "target speed below the treadmill's minimum"
            self._halt(SendPause(why), now, out)
            self._change(GovernorState.PAUSED, why, out)
            out.append(Cue(CueKind.PRESS_RESUME, "Paused. Press resume to continue.", why))

    def _turn_around_clock(self, now: float, out: list[Decision]) -> None:
        turn = self._turn
        new_direction = turn.pending
        seconds = turn.clock(now)
        if seconds is None or new_direction is None:
            return
        if seconds > 0:
            text = f"Turn round to walk {new_direction}: {seconds}"
            out.append(Cue(CueKind.TURN_AROUND_COUNTDOWN, text, "turn-around hold", seconds))
            return
        why = f"turn-around hold done: now walking {new_direction}"
        if self._ramp.commanded_hundredths > 0:
            self._change(GovernorState.RUNNING, why, out)
            out.append(Cue(CueKind.TURN_AROUND_DONE, f"Walk {new_direction} now.", why))
            self._drive.incline(self._incline_goal(new_direction), "target incline", out)
        else:
            self._change(GovernorState.PAUSED, why, out)
            text = f"Turned round: press resume to walk {new_direction}."
            out.append(Cue(CueKind.PRESS_RESUME, text, why))

    # ------------------------------------------------------------------- primitives

    def _advance(self, now_s: float) -> float:
        # The common case first (a float, finite): this runs at every tick.
        if not (now_s.__class__ is float and -math.inf < now_s < math.inf) and not is_finite(now_s):
            raise ValueError(f"now_s must be a finite time, not {now_s!r}")
        if now_s > self._now_s:  # noqa: PLR1730 - every tick; max() costs a call
            self._now_s = now_s
        return self._now_s

    def _watching(self) -> bool:
        """Whether the belt is commanded to move, so its data must keep coming."""
        return self._mode in _ACTIVE and self._ramp.commanded_hundredths > 0

    def _change(self, mode: GovernorState, why: str, out: list[Decision]) -> None:
        """Move the session to ``mode`` (never while latched: only a re-arm leaves a latch)."""
        old = self._mode
        self._mode = mode
        out.append(StateChanged(old, mode, None, why))

    def _finish(self, why: str, text: str, out: list[Decision]) -> None:
        self._change(GovernorState.FINISHED, why, out)
        out.append(Cue(CueKind.FINISHED, text, why))

    def _latch(
        self,
        reason: LatchReason,
        why: str,
        now: float,
        out: list[Decision],
        *,
        again: bool = False,
        alarmed: bool = False,
    ) -> None:
        """The one way into a latch: stop first, then say so loudly.

        ``again`` sends the stop again even when the cause is already active;
        ``alarmed``: the alarm was given already (a controlled stop, when it began). A
        controlled stop still ramping down is overtaken: its cause latches too.
        """
        was = self.state
        is_new = self._latches.add(reason)
        pending, self._latch_after_ramp = self._latch_after_ramp, None
        if pending is not None:
            is_new = self._latches.add(pending[0]) or is_new
        if not (is_new or again):
            return
        self._halt(SendStop(why), now, out)
        self._turn.quiet()
        self._mode = GovernorState.IDLE  # where a re-arm leaves the session
        if was is not GovernorState.LATCHED:
            out.append(StateChanged(was, GovernorState.LATCHED, self.latch_reason, why))
        cause = CAUSES[reason]
        if (is_new and not alarmed) or cause.alarm_again:
            out.append(Alarm(cause.alarm, why))

    def _halt(self, halt: SendStop | SendPause, now: float, out: list[Decision]) -> None:
        """Command a stop or pause; the belt must confirm it (invariant 8)."""
        self._drive.halt(halt, now, self._belt_speed_kmh, out)

    def _incline_goal(self, direction: Direction) -> int | None:
        """The incline to aim for in hundredths of a percent, or ``None``."""
        return self._envelope.incline_goal_hundredths(self._target_incline_pct, direction)

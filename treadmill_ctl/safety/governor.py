"""The safety governor: requests and observations in, decisions out, time passed in.

Nothing reaches the treadmill without passing through :class:`SafetyGovernor`. It is
a plain, synchronous state machine with no I/O: the session runner feeds it requests
(:mod:`~treadmill_ctl.safety.requests`), observations
(:mod:`~treadmill_ctl.safety.observations`) and the clock's time, writes the commands
it returns in order, and shows the cues. The runner calls :meth:`SafetyGovernor.tick`
often (every 0.1-0.25 s) so ramps, countdowns and watchdogs advance on time.

The rules, in SAFETY.md's words, and where they live here:

- Caps and quantisation: every speed and incline goes through the limits for the
  current direction and the treadmill's own ranges (``_cap_h``, ``_incline_goal_h``).
- Ramps: the commanded speed moves toward its goal by at most the configured rate
  times the time since the last speed command (``_ramp``); every start, resume and
  re-armed restart begins at the starting speed (``_begin``).
- Turn-around: a new direction ramps down to the turn-around speed (a pause if that
  is below the treadmill's minimum), holds it with a countdown, and only then moves
  in the new direction (``_turn_around_clock``).
- Latches: emergency stop, safety key, lost link, stale data, an unrequested speed
  change, control lost and an unconfirmed stop each latch a stop (``_latch``);
  several may be active, the most severe names the latch; only the person's re-arm
  clears them (``_rearm``), and the person then starts again.
- Controlled safety stops: ``End(latch=...)`` (the heart-rate ceiling, judged by
  :mod:`~treadmill_ctl.safety.heart_rate` outside the governor) ramps down at the
  normal deceleration and only then latches (``_controlled_latch``).
- Start and resume only follow a person's request, never to a belt reported running.
- Stop verification: a stop is done when the belt's speed falls; if it has not fallen
  in time, the stop is sent again with a loud alarm (``_verify_stop``).

Bad input never becomes a command: a request with a NaN, infinite or negative value
and an observation with an untrustworthy speed are answered with
:class:`~treadmill_ctl.safety.decisions.Refused`. A time that is not finite is a
programming error and raises :class:`ValueError`; a time earlier than the last one
is treated as the last one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum, auto
from typing import TYPE_CHECKING, assert_never

from treadmill_ctl.safety.decisions import (
    Alarm,
    Cue,
    Decision,
    Refused,
    SendIncline,
    SendPause,
    SendSpeed,
    SendStart,
    SendStop,
    StateChanged,
    TargetLimited,
)
from treadmill_ctl.safety.limits import hundredths_floor
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
from treadmill_ctl.safety.states import (
    LATCH_CLEARS,
    ClearCondition,
    CueKind,
    Direction,
    GovernorState,
    LatchReason,
)

if TYPE_CHECKING:
    from treadmill_ctl.safety.limits import Limits, MachineRanges

__all__ = ["SafetyGovernor"]

_MOVING_KMH = 0.05
"""A reported belt speed at or below this counts as stopped."""

_FALL_KMH = 0.1
"""A stop is confirmed once the belt reports this much below its highest speed since."""

_ECHO_TOLERANCE_H = 6
"""Status 0x05 within 0.06 km/h of a recently commanded speed is our own command's echo."""

_FROZEN_MIN_SPAN_S = 1.0
"""Identical frames must span more than this, the resolution of elapsed time, to count."""

_ACTIVE = frozenset({GovernorState.RUNNING, GovernorState.TURNING_AROUND, GovernorState.ENDING})
"""States in which the governor drives a moving belt."""

_HALTED_STATES = frozenset({GovernorState.PAUSED, GovernorState.LATCHED})
"""States with a stopped belt in which a lost link or lost control still latches."""

_ALARMS: dict[LatchReason, str] = {
    LatchReason.EMERGENCY_STOP: "Emergency stop: the belt is stopping.",
    LatchReason.SAFETY_KEY: "Safety key pulled: the belt is stopped.",
    LatchReason.LINK_LOST: (
        "Lost the connection to the treadmill: stop the belt at the console or pull the safety key."
    ),
    LatchReason.STALE_DATA: (
        "The treadmill stopped sending data: stop the belt at the console or pull the safety key."
    ),
    LatchReason.UNREQUESTED_SPEED_CHANGE: "The belt speed changed without being asked: stopping.",
    LatchReason.HEART_RATE: "Heart rate above your limit: the belt slows to a stop.",
    LatchReason.HEART_RATE_UNKNOWN: "No heart rate any more: the belt slows to a stop.",
    LatchReason.CONTROL_LOST: (
        "The treadmill took control away: stop the belt at the console or pull the safety key."
    ),
    LatchReason.STOP_NOT_CONFIRMED: "The belt may not have stopped: PULL THE SAFETY KEY NOW.",
}


class _Halt(Enum):
    """The two ways of stopping the belt."""

    STOP = auto()
    PAUSE = auto()


@dataclass(slots=True)
class _Odometer:
    """Reported distance against the distance the reported speeds account for."""

    start_m: float
    last_m: float
    expected_m: float
    last_s: float
    last_kmh: float


_ODOMETER_WINDOW_M = 10.0
"""Compare once the reported speeds account for this many metres (whole-metre
resolution of the distance field: +-10 %)."""

_ODOMETER_MAX_RATIO = 1.4
"""Covering 1.4 times the expected ground is no rounding: mph read as km/h is 1.61."""

_ODOMETER_GAP_S = 5.0
"""A longer gap between frames starts the comparison again."""


@dataclass(slots=True)
class _StopCheck:
    """A stop or pause waiting for the belt to confirm it by slowing down."""

    sent_s: float
    highest_kmh: float | None
    commanded_kmh: float = math.inf
    """The speed last commanded before the halt: the belt would hold it without one."""


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
    ) -> None:
        if not math.isfinite(now_s):
            raise ValueError(f"now_s must be a finite time, not {now_s!r}")
        if not (math.isfinite(ramp_step_s) and ramp_step_s > 0):
            raise ValueError(f"ramp_step_s must be above 0, not {ramp_step_s!r}")
        self._limits = limits
        self._ranges = ranges
        self._ramp_step_s = ramp_step_s
        self._now_s = now_s
        self._state = GovernorState.IDLE
        self._latches: set[LatchReason] = set()
        self._link_up = link_up

        self._cap_h = {
            direction: self._capped_speed_h(
                limits.max_speed_kmh(backward=direction is Direction.BACKWARD)
            )
            for direction in Direction
        }
        self._starting_h = {
            direction: min(
                self._cap_h[direction],
                max(ranges.min_speed_h, self._capped_speed_h(limits.starting_speed_kmh)),
            )
            if self._cap_h[direction]
            else 0
            for direction in Direction
        }
        self._turn_h = self._capped_speed_h(
            min(
                limits.turnaround_speed_kmh,
                limits.backward_max_speed_kmh,
                limits.forward_max_speed_kmh,
            )
        )
        inc_h = ranges.speed_increment_h
        slowest_rate = min(limits.acceleration_kmh_per_s, limits.deceleration_kmh_per_s)
        self._max_ramp_dt_s = max(1.0, 2 * ramp_step_s, inc_h / 100 / slowest_rate)

        self._direction = Direction.FORWARD
        self._direction_locked = False
        self._pending_direction: Direction | None = None
        self._target_speed_kmh: float | None = None
        self._target_incline_pct: float | None = None

        self._commanded_h = 0
        self._commanded_incline_h: int | None = None
        self._last_speed_cmd_s = now_s
        self._low_since_s: float | None = now_s
        self._countdown_s: int | None = None
        self._history: deque[tuple[float, int]] = deque([(now_s, 0)])

        self._belt_speed_kmh: float | None = None
        self._belt_seen_moving = False
        self._last_valid_data_s: float | None = None
        self._watch_since_s = now_s
        self._frame_key: tuple[bytes, float] | None = None
        self._frozen_run = 0
        self._frozen_since_s = now_s
        self._out_of_band_since_s: float | None = None
        self._stop_check: _StopCheck | None = None
        self._odometer: _Odometer | None = None
        self._latch_after_ramp: tuple[LatchReason, str] | None = None

    # ----------------------------------------------------------------- read-only view

    @property
    def state(self) -> GovernorState:
        """The current state."""
        return self._state

    @property
    def latch_reason(self) -> LatchReason | None:
        """The most severe active latch cause, or ``None`` when not latched."""
        return max(self._latches) if self._latches else None

    @property
    def latch_reasons(self) -> frozenset[LatchReason]:
        """Every active latch cause."""
        return frozenset(self._latches)

    @property
    def direction(self) -> Direction:
        """The direction whose limits apply to the belt now."""
        return self._direction

    @property
    def pending_direction(self) -> Direction | None:
        """A requested new direction not yet taken (a turn-around in progress)."""
        return self._pending_direction

    @property
    def commanded_speed_kmh(self) -> float:
        """The last speed commanded; 0.0 while stopped or paused."""
        return self._commanded_h / 100

    @property
    def commanded_incline_pct(self) -> float | None:
        """The last incline commanded, if any."""
        return None if self._commanded_incline_h is None else self._commanded_incline_h / 100

    @property
    def target_speed_kmh(self) -> float | None:
        """The last target speed asked for (before limits), if any."""
        return self._target_speed_kmh

    @property
    def target_incline_pct(self) -> float | None:
        """The last target incline asked for (before limits), if any."""
        return self._target_incline_pct

    @property
    def belt_speed_kmh(self) -> float | None:
        """The belt speed last reported, or ``None`` when unknown."""
        return self._belt_speed_kmh

    @property
    def link_up(self) -> bool:
        """Whether the link is connected, as last observed."""
        return self._link_up

    @property
    def limits(self) -> Limits:
        """The limits in force."""
        return self._limits

    @property
    def ranges(self) -> MachineRanges:
        """The treadmill's ranges in force."""
        return self._ranges

    @property
    def turnaround_speed_kmh(self) -> float:
        """The effective turn-around belt speed (0.0: the belt pauses to turn)."""
        return self._turn_h / 100

    def speed_cap_kmh(self, direction: Direction) -> float:
        """The effective speed cap for a direction (limits and treadmill range); 0: none."""
        return self._cap_h[direction] / 100

    def starting_speed_kmh(self, direction: Direction) -> float:
        """The effective starting speed for a direction; 0.0 if it cannot run at all."""
        return self._starting_h[direction] / 100

    # ------------------------------------------------------------------ entry points

    def request(self, request: Request, now_s: float) -> list[Decision]:
        """Decide what to do about a request.

        Args:
            request: What was asked.
            now_s: The clock's time.

        Returns:
            The decisions, in order. For an emergency stop the first is ``SendStop``.
        """
        now = self._advance(now_s)
        out: list[Decision] = []
        if isinstance(request, EmergencyStop):
            self._emergency_stop(request, now, out)
        self._check_timers(now, out)
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
        self._step(now, out)
        return out

    def observe(self, observation: Observation, now_s: float) -> list[Decision]:
        """Decide what to do about something the treadmill or the link reported.

        Args:
            observation: What was observed.
            now_s: The clock's time.

        Returns:
            The decisions, in order.
        """
        now = self._advance(now_s)
        out: list[Decision] = []
        self._check_timers(now, out)
        match observation:
            case BeltData():
                self._on_belt_data(observation, now, out)
            case StoppedByUser():
                self._on_stopped_by_user(observation, now, out)
            case SafetyKeyPulled():
                self._on_safety_key(now, out)
            case StartedByUser():
                self._on_started_by_user(observation, now, out)
            case TargetSpeedChanged():
                self._on_target_speed_changed(observation, now, out)
            case ControlLost() | SpeedWritten():
                self._on_control_point_news(observation, now, out)
            case LinkDown():
                self._on_link_down(now, out)
            case LinkUp():
                self._on_link_up(out)
            case _:
                assert_never(observation)
        self._step(now, out)
        return out

    def tick(self, now_s: float) -> list[Decision]:
        """Let time pass: ramps, the turn-around countdown, watchdogs, stop verification.

        Args:
            now_s: The clock's time.

        Returns:
            The decisions, in order.
        """
        now = self._advance(now_s)
        out: list[Decision] = []
        self._check_timers(now, out)
        self._step(now, out)
        return out

    # -------------------------------------------------------------------- requests

    def _emergency_stop(self, request: EmergencyStop, now: float, out: list[Decision]) -> None:
        why = f"emergency stop from {request.source}"
        if self._state is GovernorState.FINISHED:
            self._halt(_Halt.STOP, why, now, out)
            return
        self._latch(LatchReason.EMERGENCY_STOP, why, now, out, resend=True)

    def _set_target(self, request: SetTarget, out: list[Decision]) -> None:
        refusal = self._target_refusal(request)
        if refusal is not None:
            out.append(Refused(request, refusal))
            return
        speed_kmh = float(request.speed_kmh)
        self._target_speed_kmh = speed_kmh
        if request.incline_pct is not None:
            self._target_incline_pct = float(request.incline_pct)
        goal_h = self._target_goal_h(request.direction)
        if goal_h < hundredths_floor(speed_kmh):
            out.append(
                TargetLimited(
                    speed_kmh,
                    goal_h / 100,
                    f"the {request.direction} limit and the treadmill's range allow "
                    f"{goal_h / 100:g} km/h" + (" (a pause)" if goal_h == 0 else ""),
                )
            )
        self._note_direction(request.direction, out)
        if self._state is GovernorState.RUNNING:
            self._send_incline(self._incline_goal_h(self._direction), "target incline", out)
        elif self._state is GovernorState.TURNING_AROUND:
            self._send_incline(self._turn_incline_h(), "incline for the turn-around", out)

    def _target_refusal(self, request: SetTarget) -> str | None:
        speed_kmh, incline_pct = request.speed_kmh, request.incline_pct
        if not (_is_number(speed_kmh) and math.isfinite(speed_kmh) and speed_kmh >= 0):
            return f"target speed {speed_kmh!r} is not a speed"
        if incline_pct is not None and not (_is_number(incline_pct) and math.isfinite(incline_pct)):
            return f"target incline {incline_pct!r} is not an incline"
        if self._state is GovernorState.FINISHED:
            return "the session has finished"
        return None

    def _note_direction(self, direction: Direction, out: list[Decision]) -> None:
        """Take a requested direction: at once before the first start, else via a turn-around."""
        if not self._direction_locked:
            self._direction = direction
        elif direction is self._direction:
            self._pending_direction = None
        else:
            self._pending_direction = direction
        if self._state is GovernorState.RUNNING and self._pending_direction is not None:
            self._countdown_s = None
            self._change(GovernorState.TURNING_AROUND, f"direction change to {direction}", out)
            out.append(
                Cue(
                    CueKind.TURN_AROUND_SLOWING,
                    f"Slowing down: get ready to turn and walk {direction}.",
                    "direction change requested",
                )
            )
        elif self._state is GovernorState.TURNING_AROUND and self._pending_direction is None:
            self._cancel_turn_around(out)

    def _cancel_turn_around(self, out: list[Decision]) -> None:
        why = f"direction change cancelled: staying {self._direction}"
        self._countdown_s = None
        if self._commanded_h > 0:
            self._change(GovernorState.RUNNING, why, out)
        else:
            self._change(GovernorState.PAUSED, why, out)
            out.append(Cue(CueKind.PRESS_RESUME, f"Press resume to walk {self._direction}.", why))

    def _begin(self, request: Start | Resume, now: float, out: list[Decision]) -> None:
        verb = "start" if isinstance(request, Start) else "resume"
        if request.by_person is not True:
            out.append(Refused(request, f"the belt only {verb}s on a person's own action"))
            return
        refusal = self._cannot_start(now, console=False)
        if refusal is not None:
            out.append(Refused(request, refusal))
            return
        self._take_pending_direction()
        self._stop_check = None
        why = f"{verb} requested by the person"
        self._change(GovernorState.RUNNING, why, out)
        out.append(SendStart(why))
        self._enter_motion(now, f"{verb} at the starting speed", out)
        kind, doing = (
            (CueKind.STARTING, "starting") if verb == "start" else (CueKind.RESUMING, "resuming")
        )
        out.append(Cue(kind, f"Belt {doing}: walk {self._direction}.", why))

    def _cannot_start(self, now: float, *, console: bool) -> str | None:
        """Why the belt may not start now, or ``None`` when it may."""
        refusal = self._state_refuses_start()
        if refusal is not None:
            return refusal
        if not self._link_up:
            return "the treadmill is not connected"
        belt = self._belt_speed_kmh
        if not console and belt is not None and belt > _MOVING_KMH:
            return f"the belt still reports {belt:g} km/h: wait until it has stopped"
        direction = self._direction
        if self._pending_direction is not None and self._direction_locked:
            left_s = self._hold_left_s(now)
            if left_s > 0:
                return f"turning around: wait {math.ceil(left_s)} s more"
            direction = self._pending_direction
        if self._starting_h[direction] == 0:
            return (
                f"the treadmill's minimum speed {self._ranges.min_speed_kmh:g} km/h is above "
                f"the {direction} speed limit"
            )
        return None

    def _state_refuses_start(self) -> str | None:
        if self._state is GovernorState.LATCHED:
            reason = self.latch_reason
            name = reason.name.lower() if reason is not None else "latched"
            return f"latched ({name}): re-arm first"
        if self._state is GovernorState.FINISHED:
            return "the session has finished"
        if self._state in _ACTIVE:
            return "the belt is already running"
        return None

    def _take_pending_direction(self) -> None:
        if self._pending_direction is not None:
            self._direction = self._pending_direction
            self._pending_direction = None
        self._direction_locked = True

    def _enter_motion(self, now: float, why: str, out: list[Decision]) -> None:
        """Command the starting speed and arm the watchdogs for a belt about to move."""
        self._send_speed(self._starting_h[self._direction], now, why, out)
        self._send_incline(self._incline_goal_h(self._direction), "target incline", out)
        self._watch_since_s = now
        self._belt_seen_moving = False
        self._out_of_band_since_s = None
        self._frozen_run = 0
        self._frame_key = None

    def _pause(self, request: Pause, now: float, out: list[Decision]) -> None:
        if self._state not in _ACTIVE:
            out.append(Refused(request, f"nothing to pause while {self._state}"))
            return
        why = "pause requested"
        if self._commanded_h > 0:
            self._halt(_Halt.PAUSE, why, now, out)
        self._change(GovernorState.PAUSED, why, out)
        out.append(Cue(CueKind.PAUSED, "Paused. Press resume to continue.", why))

    def _end(self, request: End, now: float, out: list[Decision]) -> None:
        state = self._state
        if request.latch is not None and state is not GovernorState.FINISHED:
            self._controlled_latch(request.latch, request.why or "controlled stop", now, out)
            return
        if state is GovernorState.FINISHED:
            out.append(Refused(request, "the session has already finished"))
            return
        if state is GovernorState.LATCHED:
            self._halt(_Halt.STOP, "end requested while latched", now, out)
            return
        if request.immediate or state not in _ACTIVE or self._commanded_h == 0:
            why = "end requested" + (": stop at once" if request.immediate else "")
            self._halt(_Halt.STOP, why, now, out)
            self._change(GovernorState.FINISHED, why, out)
            out.append(Cue(CueKind.FINISHED, "Session over: the belt is stopping.", why))
            return
        if state is not GovernorState.ENDING:
            self._pending_direction = None
            self._countdown_s = None
            why = "end requested: ramping down"
            self._change(GovernorState.ENDING, why, out)
            out.append(Cue(CueKind.ENDING, "Slowing down to finish.", why))

    def _controlled_latch(
        self, reason: LatchReason, why: str, now: float, out: list[Decision]
    ) -> None:
        """Ramp down at the normal deceleration, then latch for ``reason``."""
        if self._state not in _ACTIVE or self._commanded_h == 0:
            self._latch(reason, why, now, out)
            return
        if self._latch_after_ramp is not None:
            return
        self._latch_after_ramp = (reason, why)
        self._pending_direction = None
        self._countdown_s = None
        if self._state is not GovernorState.ENDING:
            self._change(GovernorState.ENDING, why + ": ramping down", out)
        out.append(Alarm(_ALARMS[reason], why))

    def _rearm(self, request: Rearm, out: list[Decision]) -> None:
        if self._state is not GovernorState.LATCHED:
            out.append(Refused(request, f"nothing to re-arm while {self._state}"))
            return
        needs_link = any(
            LATCH_CLEARS[reason] is ClearCondition.PERSON_REARMS_WITH_LINK_UP
            for reason in self._latches
        )
        if needs_link and not self._link_up:
            out.append(Refused(request, "the treadmill is not connected: reconnect, then re-arm"))
            return
        why = "re-armed by the person"
        self._latches.clear()
        self._change(GovernorState.IDLE, why, out)
        out.append(Cue(CueKind.REARMED, "Re-armed. Press start when you are ready.", why))

    # ---------------------------------------------------------------- observations

    def _on_belt_data(self, data: BeltData, now: float, out: list[Decision]) -> None:
        speed_kmh, elapsed_s = data.speed_kmh, data.elapsed_s
        if not (_is_number(speed_kmh) and math.isfinite(speed_kmh) and speed_kmh >= 0):
            out.append(Refused(data, f"belt speed {speed_kmh!r} cannot be trusted"))
            return
        if elapsed_s is not None and not (_is_number(elapsed_s) and math.isfinite(elapsed_s)):
            out.append(Refused(data, f"elapsed time {elapsed_s!r} cannot be trusted"))
            return
        self._last_valid_data_s = now
        self._belt_speed_kmh = float(speed_kmh)
        self._update_stop_check(speed_kmh)
        frozen = self._note_frame(data, now)
        if self._state not in _ACTIVE:
            return
        if not self._watching():
            return
        if speed_kmh > _MOVING_KMH:
            self._belt_seen_moving = True
        if frozen:
            why = f"{self._frozen_run} identical Treadmill Data frames with a frozen elapsed time"
            self._latch(LatchReason.STALE_DATA, why, now, out)
            return
        self._check_divergence(speed_kmh, now, out)
        if self._state in _ACTIVE:
            self._check_distance(data, now, out)

    def _check_distance(self, data: BeltData, now: float, out: list[Decision]) -> None:
        """The belt must not cover more ground than its reported speed accounts for.

        A treadmill that reports (and takes) mph in FTMS's km/h fields looks right in
        every speed it reports, yet its belt runs 1.6 times faster than asked: only the
        distance it reports gives it away (FTMS_NOTES: Vitalwalk, Horizon, FitShow).
        """
        distance_m = data.distance_m
        odometer = self._odometer
        if distance_m is None or not (
            _is_number(distance_m) and math.isfinite(distance_m) and distance_m >= 0
        ):
            self._odometer = None
            return
        if (
            odometer is None
            or distance_m < odometer.last_m
            or now - odometer.last_s > _ODOMETER_GAP_S
        ):
            self._odometer = _Odometer(distance_m, distance_m, 0.0, now, data.speed_kmh)
            return
        odometer.expected_m += (
            (odometer.last_kmh + data.speed_kmh) / 2 / 3.6 * (now - odometer.last_s)
        )
        odometer.last_m, odometer.last_s, odometer.last_kmh = distance_m, now, data.speed_kmh
        if odometer.expected_m < _ODOMETER_WINDOW_M:
            return
        covered_m = distance_m - odometer.start_m
        ratio = covered_m / odometer.expected_m
        self._odometer = _Odometer(distance_m, distance_m, 0.0, now, data.speed_kmh)
        if ratio > _ODOMETER_MAX_RATIO:
            why = (
                f"the belt covered {covered_m:.0f} m where its reported speed accounts for "
                f"{odometer.expected_m:.0f} m ({ratio:.2f}x): it likely reports mph in its "
                f'km/h fields; set speed_unit = "mph" for it in the settings ([devices])'
            )
            self._latch(LatchReason.UNREQUESTED_SPEED_CHANGE, why, now, out)

    def _note_frame(self, data: BeltData, now: float) -> bool:
        """Count byte-identical frames of a moving belt; return whether they look frozen."""
        key = (
            (data.frame, float(data.elapsed_s))
            if data.frame and data.elapsed_s is not None and data.speed_kmh > _MOVING_KMH
            else None
        )
        if key is not None and key == self._frame_key:
            self._frozen_run += 1
        else:
            self._frozen_run = 1 if key is not None else 0
            self._frozen_since_s = now
        self._frame_key = key
        return (
            self._watching()
            and self._frozen_run >= self._limits.frozen_frame_count
            and now - self._frozen_since_s > _FROZEN_MIN_SPAN_S
        )

    def _check_divergence(self, speed_kmh: float, now: float, out: list[Decision]) -> None:
        low_h, high_h = self._band(now)
        belt_h = round(speed_kmh * 100)
        tolerance_h = hundredths_floor(self._limits.speed_divergence_tolerance_kmh)
        too_fast = belt_h > high_h + tolerance_h
        too_slow = self._belt_seen_moving and belt_h < low_h - tolerance_h
        if not (too_fast or too_slow):
            self._out_of_band_since_s = None
            return
        if self._out_of_band_since_s is None:
            self._out_of_band_since_s = now
        if now - self._out_of_band_since_s >= self._limits.speed_divergence_persist_s:
            why = (
                f"belt at {speed_kmh:g} km/h, asked for {low_h / 100:g}-{high_h / 100:g} km/h "
                f"(tolerance {tolerance_h / 100:g})"
            )
            self._latch(LatchReason.UNREQUESTED_SPEED_CHANGE, why, now, out)

    def _band(self, now: float) -> tuple[int, int]:
        """The lowest and highest speeds commanded within the divergence grace time."""
        history = self._history
        horizon = now - self._limits.speed_divergence_grace_s
        while len(history) > 1 and history[1][0] <= horizon:
            history.popleft()
        speeds = [speed_h for _, speed_h in history]
        return min(speeds), max(speeds)

    def _on_stopped_by_user(self, status: StoppedByUser, now: float, out: list[Decision]) -> None:
        self._belt_speed_kmh = 0.0
        if self._state not in _ACTIVE:
            return
        if self._commanded_h == 0:
            # Our own pause or stop, announced back by the treadmill (FTMS 4.17): the
            # turn-around or the end goes on as planned.
            return
        what = "paused" if status.paused else "stopped"
        why = f"{what} at the console (status 0x02)"
        self._mark_halted(now)
        if self._state is GovernorState.ENDING:
            self._change(GovernorState.FINISHED, why, out)
            out.append(Cue(CueKind.FINISHED, "Session over.", why))
            return
        self._change(GovernorState.PAUSED, why, out)
        out.append(Cue(CueKind.CONSOLE, f"Belt {what} at the console. Press resume to go on.", why))

    def _on_safety_key(self, now: float, out: list[Decision]) -> None:
        self._belt_speed_kmh = 0.0
        if self._state is GovernorState.FINISHED:
            return
        self._latch(LatchReason.SAFETY_KEY, "stopped by the safety key (status 0x03)", now, out)
        self._stop_check = None

    def _on_started_by_user(self, _: StartedByUser, now: float, out: list[Decision]) -> None:
        why = "started at the console (status 0x04)"
        if self._state is GovernorState.LATCHED:
            out.append(
                Cue(
                    CueKind.CONSOLE,
                    "Belt started at the console while latched: the app will not drive it "
                    "until you re-arm.",
                    why,
                )
            )
            return
        if self._state not in {GovernorState.IDLE, GovernorState.PAUSED}:
            return
        refusal = self._cannot_start(now, console=True)
        if refusal is not None:
            out.append(Cue(CueKind.CONSOLE, f"Belt started at the console; {refusal}.", why))
            return
        self._take_pending_direction()
        self._stop_check = None
        self._change(GovernorState.RUNNING, why, out)
        self._enter_motion(now, "the person started the belt at the console", out)
        out.append(Cue(CueKind.STARTING, f"Belt started: walk {self._direction}.", why))

    def _on_target_speed_changed(
        self, status: TargetSpeedChanged, now: float, out: list[Decision]
    ) -> None:
        speed_kmh = status.speed_kmh
        if not (_is_number(speed_kmh) and math.isfinite(speed_kmh) and speed_kmh >= 0):
            out.append(Refused(status, f"reported target speed {speed_kmh!r} cannot be trusted"))
            return
        if self._state not in _ACTIVE:
            return
        low_h, high_h = self._band(now)
        reported_h = round(speed_kmh * 100)
        if low_h - _ECHO_TOLERANCE_H <= reported_h <= high_h + _ECHO_TOLERANCE_H:
            return
        why = f"treadmill target changed to {speed_kmh:g} km/h (status 0x05), not asked for"
        self._latch(LatchReason.UNREQUESTED_SPEED_CHANGE, why, now, out)

    def _on_control_point_news(
        self, news: ControlLost | SpeedWritten, now: float, out: list[Decision]
    ) -> None:
        """What happened to our commands: control taken away, or a speed written."""
        if isinstance(news, ControlLost):
            if self._state in _ACTIVE or self._state in _HALTED_STATES:
                self._latch(LatchReason.CONTROL_LOST, "control permission lost (0xFF)", now, out)
            return
        self._on_speed_written(news, now, out)

    def _on_speed_written(self, written: SpeedWritten, now: float, out: list[Decision]) -> None:
        speed_kmh = written.speed_kmh
        if not (_is_number(speed_kmh) and math.isfinite(speed_kmh) and speed_kmh >= 0):
            out.append(Refused(written, f"written speed {speed_kmh!r} is not a speed"))
            return
        if self._state in _ACTIVE:
            # What the treadmill was told, and when, widens what counts as asked for.
            self._history.append((now, round(speed_kmh * 100)))

    def _on_link_down(self, now: float, out: list[Decision]) -> None:
        self._link_up = False
        if self._state in _ACTIVE or self._state in _HALTED_STATES:
            self._latch(LatchReason.LINK_LOST, "the link to the treadmill dropped", now, out)

    def _on_link_up(self, out: list[Decision]) -> None:
        self._link_up = True
        self._belt_speed_kmh = None
        self._frame_key = None
        self._frozen_run = 0
        if self._state is GovernorState.LATCHED:
            out.append(SendStop("link back while latched: make sure the belt is stopped"))

    # ----------------------------------------------------------------- time passing

    def _check_timers(self, now: float, out: list[Decision]) -> None:
        self._verify_stop(now, out)
        if self._watching():
            last_s = self._watch_since_s
            if self._last_valid_data_s is not None:
                last_s = max(last_s, self._last_valid_data_s)
            silent_s = now - last_s
            if silent_s > self._limits.stale_data_timeout_s:
                why = f"no valid Treadmill Data for {silent_s:.1f} s"
                self._latch(LatchReason.STALE_DATA, why, now, out)

    def _verify_stop(self, now: float, out: list[Decision]) -> None:
        check = self._stop_check
        if check is None or now - check.sent_s < self._limits.stop_verify_s:
            return
        check.sent_s = now
        why = f"the belt has not slowed {self._limits.stop_verify_s:g} s after a stop"
        out.append(SendStop(why))
        out.append(Alarm(_ALARMS[LatchReason.STOP_NOT_CONFIRMED], why))
        if LatchReason.STOP_NOT_CONFIRMED not in self._latches:
            self._latches.add(LatchReason.STOP_NOT_CONFIRMED)
            self._countdown_s = None
            if self._state is not GovernorState.LATCHED:
                self._change(GovernorState.LATCHED, why, out)

    def _update_stop_check(self, speed_kmh: float) -> None:
        check = self._stop_check
        if check is None:
            return
        highest = check.highest_kmh
        # Falling below the last commanded speed, not only below the highest seen: a
        # belt still slowing from an earlier ramp step has not obeyed a pause yet.
        reference = min(check.commanded_kmh, math.inf if highest is None else highest)
        if speed_kmh <= _MOVING_KMH or speed_kmh <= reference - _FALL_KMH:
            self._stop_check = None
            return
        check.highest_kmh = speed_kmh if highest is None else max(highest, speed_kmh)

    def _step(self, now: float, out: list[Decision]) -> None:
        if self._state in _ACTIVE:
            self._ramp(now, out)
        if self._state is GovernorState.TURNING_AROUND:
            self._turn_around_clock(now, out)

    def _ramp(self, now: float, out: list[Decision]) -> None:
        current_h = self._commanded_h
        if current_h == 0:
            return
        goal_h = self._goal_h()
        if goal_h == current_h:
            return
        dt_s = now - self._last_speed_cmd_s
        if dt_s < self._ramp_step_s:
            return
        dt_s = min(dt_s, self._max_ramp_dt_s)
        if goal_h > current_h:
            next_h = min(
                goal_h, current_h + self._step_h(self._limits.acceleration_kmh_per_s, dt_s)
            )
            why = f"ramp up toward {goal_h / 100:g} km/h"
        elif goal_h == 0 and current_h <= self._ranges.min_speed_h:
            self._finish_ramp_down(now, out)
            return
        else:
            floor_h = goal_h if goal_h > 0 else self._ranges.min_speed_h
            next_h = max(
                floor_h, current_h - self._step_h(self._limits.deceleration_kmh_per_s, dt_s)
            )
            why = f"ramp down toward {goal_h / 100:g} km/h"
        if next_h != current_h:
            self._send_speed(next_h, now, why, out)

    def _step_h(self, rate_kmh_per_s: float, dt_s: float) -> int:
        increment_h = self._ranges.speed_increment_h
        return hundredths_floor(rate_kmh_per_s * dt_s) // increment_h * increment_h

    def _goal_h(self) -> int:
        if self._state is GovernorState.ENDING:
            return 0
        if self._state is GovernorState.TURNING_AROUND:
            return min(self._commanded_h, self._turn_h)
        return self._target_goal_h(self._direction)

    def _finish_ramp_down(self, now: float, out: list[Decision]) -> None:
        if self._state is GovernorState.ENDING and self._latch_after_ramp is not None:
            reason, why = self._latch_after_ramp
            self._latch_after_ramp = None
            self._latches.add(reason)
            self._halt(_Halt.STOP, why + ": ramped down", now, out)
            self._change(GovernorState.LATCHED, why, out)
        elif self._state is GovernorState.ENDING:
            why = "end of session: ramped down"
            self._halt(_Halt.STOP, why, now, out)
            self._change(GovernorState.FINISHED, why, out)
            out.append(Cue(CueKind.FINISHED, "Session over: the belt is stopping.", why))
        elif self._state is GovernorState.TURNING_AROUND:
            self._halt(_Halt.PAUSE, "the belt pauses while the person turns round", now, out)
        else:
            why = "target speed below the treadmill's minimum"
            self._halt(_Halt.PAUSE, why, now, out)
            self._change(GovernorState.PAUSED, why, out)
            out.append(Cue(CueKind.PRESS_RESUME, "Paused. Press resume to continue.", why))

    def _turn_around_clock(self, now: float, out: list[Decision]) -> None:
        if self._pending_direction is None or self._low_since_s is None:
            return
        left_s = self._hold_left_s(now)
        new_direction = self._pending_direction
        if left_s > 0:
            seconds = math.ceil(left_s)
            if seconds != self._countdown_s:
                self._countdown_s = seconds
                out.append(
                    Cue(
                        CueKind.TURN_AROUND_COUNTDOWN,
                        f"Turn round to walk {new_direction}: {seconds}",
                        "turn-around hold",
                        seconds_left=seconds,
                    )
                )
            return
        self._countdown_s = None
        self._take_pending_direction()
        why = f"turn-around hold done: now walking {new_direction}"
        if self._commanded_h > 0:
            self._change(GovernorState.RUNNING, why, out)
            out.append(Cue(CueKind.TURN_AROUND_DONE, f"Walk {new_direction} now.", why))
            self._send_incline(self._incline_goal_h(new_direction), "target incline", out)
        else:
            self._change(GovernorState.PAUSED, why, out)
            out.append(
                Cue(
                    CueKind.PRESS_RESUME,
                    f"Turned round: press resume to walk {new_direction}.",
                    why,
                )
            )

    def _hold_left_s(self, now: float) -> float:
        if self._low_since_s is None:
            return self._limits.turnaround_hold_s
        return self._limits.turnaround_hold_s - (now - self._low_since_s)

    # ------------------------------------------------------------------- primitives

    def _advance(self, now_s: float) -> float:
        if not (_is_number(now_s) and math.isfinite(now_s)):
            raise ValueError(f"now_s must be a finite time, not {now_s!r}")
        self._now_s = max(self._now_s, now_s)
        return self._now_s

    def _watching(self) -> bool:
        """Whether the belt is commanded to move, so its data must keep coming."""
        return self._state in _ACTIVE and self._commanded_h > 0

    def _change(self, new: GovernorState, why: str, out: list[Decision]) -> None:
        old = self._state
        self._state = new
        latch = self.latch_reason if new is GovernorState.LATCHED else None
        out.append(StateChanged(old, new, latch, why))

    def _latch(
        self,
        reason: LatchReason,
        why: str,
        now: float,
        out: list[Decision],
        *,
        resend: bool = False,
    ) -> None:
        """Latch a stop for ``reason``: stop first, then say so loudly."""
        is_new = reason not in self._latches
        if not is_new and not resend:
            return
        self._latches.add(reason)
        if self._latch_after_ramp is not None:  # a controlled stop overtaken: keep its cause
            self._latches.add(self._latch_after_ramp[0])
            self._latch_after_ramp = None
        self._halt(_Halt.STOP, why, now, out)
        self._countdown_s = None
        if self._state is not GovernorState.LATCHED:
            self._change(GovernorState.LATCHED, why, out)
        if is_new:
            out.append(Alarm(_ALARMS[reason], why))

    def _halt(self, kind: _Halt, why: str, now: float, out: list[Decision]) -> None:
        """Command a stop or pause and start verifying it against the belt."""
        belt = self._belt_speed_kmh
        belt_may_move = self._commanded_h > 0 or (belt is not None and belt > _MOVING_KMH)
        out.append(SendStop(why) if kind is _Halt.STOP else SendPause(why))
        commanded_kmh = self._commanded_h / 100 if self._commanded_h > 0 else math.inf
        self._mark_halted(now)
        if belt_may_move and self._stop_check is None:
            self._stop_check = _StopCheck(sent_s=now, highest_kmh=belt, commanded_kmh=commanded_kmh)

    def _mark_halted(self, now: float) -> None:
        """Record that the belt is now meant to be still."""
        if self._commanded_h != 0:
            self._history.append((now, 0))
        self._commanded_h = 0
        self._last_speed_cmd_s = now
        if self._low_since_s is None:
            self._low_since_s = now
        self._out_of_band_since_s = None
        self._belt_seen_moving = False

    def _send_speed(self, speed_h: int, now: float, why: str, out: list[Decision]) -> None:
        out.append(SendSpeed(speed_h / 100, self._direction, why))
        self._commanded_h = speed_h
        self._last_speed_cmd_s = now
        self._history.append((now, speed_h))
        if speed_h <= self._turn_h:
            if self._low_since_s is None:
                self._low_since_s = now
        else:
            self._low_since_s = None

    def _send_incline(self, incline_h: int | None, why: str, out: list[Decision]) -> None:
        if incline_h is None or incline_h == self._commanded_incline_h:
            return
        self._commanded_incline_h = incline_h
        out.append(SendIncline(incline_h / 100, self._direction, why))

    def _capped_speed_h(self, speed_kmh: float) -> int:
        return self._ranges.speed_floor_h(
            hundredths_floor(min(speed_kmh, self._ranges.max_speed_kmh))
        )

    def _target_goal_h(self, direction: Direction) -> int:
        if self._target_speed_kmh is None:
            return self._starting_h[direction]
        wanted_h = min(hundredths_floor(self._target_speed_kmh), self._cap_h[direction])
        return self._ranges.speed_floor_h(wanted_h)

    def _incline_goal_h(self, direction: Direction) -> int | None:
        if self._target_incline_pct is None:
            return None
        cap_pct = self._limits.max_incline_pct(backward=direction is Direction.BACKWARD)
        incline_pct = self._ranges.clamp_incline(self._target_incline_pct, cap_pct)
        return None if incline_pct is None else round(incline_pct * 100)

    def _turn_incline_h(self) -> int | None:
        goals = [self._incline_goal_h(direction) for direction in Direction]
        known = [goal for goal in goals if goal is not None]
        return min(known) if len(known) == len(goals) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

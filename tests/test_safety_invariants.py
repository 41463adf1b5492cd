"""SAFETY.md's invariants, checked on every step of random sessions full of faults.

A hypothesis state machine interleaves requests, observations (faults included) and
the passing of time, and checks every decision the governor returns against its own
record of what was sent. It knows the rules only from SAFETY.md, not from the
governor's internals: what the belt was commanded, when, and what it reported.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from treadmill_ctl.safety import (
    Alarm,
    BeltData,
    ControlLost,
    Decision,
    Direction,
    EmergencyStop,
    End,
    GovernorState,
    LatchReason,
    Limits,
    LinkDown,
    LinkUp,
    MachineRanges,
    Pause,
    Rearm,
    RequestSource,
    Resume,
    SafetyGovernor,
    SafetyKeyPulled,
    SendIncline,
    SendPause,
    SendSpeed,
    SendStart,
    SendStop,
    SetTarget,
    Start,
    StartedByUser,
    StateChanged,
    StoppedByUser,
    TargetSpeedChanged,
)

if TYPE_CHECKING:
    from treadmill_ctl.safety import Observation, Request

EPSILON = 1e-9
MOVING_KMH = 0.05

MPH_CAUGHT_WITHIN_M = 12.0
"""An mph treadmill is latched before its reported speeds account for this much ground.

Telling 1.61x from the whole-metre rounding of the distance field takes about 10 m of
ground; the rest is the frame that starts the comparison and the one that ends it
(up to 1.7 m each at 6 km/h). 3000 random sessions needed at most 10.9 m.
"""
MPH_CAUGHT_AT_STARTING_SPEED_S = math.ceil(MPH_CAUGHT_WITHIN_M * 3.6 / 1.0) + 2
"""The same bound in seconds at the default starting speed, 1.0 km/h (44 s), plus the start."""

SETUPS = [
    (Limits(), MachineRanges(min_speed_kmh=1.0, max_speed_kmh=12.0, speed_increment_kmh=0.1)),
    (
        Limits(turnaround_speed_kmh=1.0, acceleration_kmh_per_s=1.0, heart_rate_max_bpm=150),
        MachineRanges(
            min_speed_kmh=0.8,
            max_speed_kmh=5.0,
            speed_increment_kmh=0.1,
            min_incline_pct=-2.0,
            max_incline_pct=12.0,
            incline_increment_pct=0.5,
        ),
    ),
    (
        Limits(turnaround_speed_kmh=1.0, deceleration_kmh_per_s=0.3, starting_speed_kmh=1.2),
        MachineRanges(
            min_speed_kmh=1.5, max_speed_kmh=8.0, speed_increment_kmh=0.5, max_incline_pct=10.0
        ),
    ),
]

speeds = st.one_of(
    st.floats(min_value=0.0, max_value=15.0),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.5, 0.0, 0.5, 1e9]),
)
inclines = st.one_of(
    st.none(), st.floats(min_value=-5.0, max_value=20.0), st.sampled_from([math.nan, math.inf])
)
realistic_speeds = st.floats(min_value=0.5, max_value=6.0)
requests = st.one_of(
    st.builds(SetTarget, realistic_speeds, st.sampled_from(Direction), inclines),
    st.builds(SetTarget, speeds, st.sampled_from(Direction), inclines),
    st.builds(SetTarget, realistic_speeds, st.sampled_from(Direction), inclines),
    st.builds(Start, by_person=st.just(True)),  # noqa: FBT003
    st.builds(Start, by_person=st.booleans()),
    st.builds(Resume, by_person=st.just(True)),  # noqa: FBT003
    st.builds(Resume, by_person=st.booleans()),
    st.just(Pause()),
    st.builds(End, immediate=st.booleans()),
    st.builds(
        End,
        latch=st.sampled_from([LatchReason.HEART_RATE, LatchReason.HEART_RATE_UNKNOWN]),
        why=st.just("heart-rate monitor"),
    ),
    st.just(EmergencyStop(source=RequestSource.HOTKEY)),
    st.just(Rearm()),
)
events = st.one_of(
    st.builds(StoppedByUser, paused=st.booleans()),
    st.just(SafetyKeyPulled()),
    st.just(StartedByUser()),
    st.builds(TargetSpeedChanged, st.one_of(st.just(-1.0), st.floats(min_value=0, max_value=12))),
    st.just(ControlLost()),
    st.just(LinkDown()),
    st.just(LinkUp()),
    st.just(LinkUp()),
)
belt_speeds = st.one_of(
    st.just("follow"),
    st.floats(min_value=0.0, max_value=12.0),
    st.sampled_from([0.0, math.nan, -1.0, math.inf]),
)


@dataclass
class StopWatch:
    """A stop sent while the belt was reported moving, not yet seen to slow down."""

    since_s: float
    last_kmh: float
    fell: bool = False


class GovernorInvariants(RuleBasedStateMachine):
    """Random sessions; every decision is checked against SAFETY.md."""

    def __init__(self) -> None:
        super().__init__()
        self.now_s = 0.0
        self.elapsed_s = 0.0
        self.distance_m = 0.0
        self.frame_counter = 0
        self.last_frame: BeltData | None = None
        # the record kept from the decisions alone
        self.latched = False
        self.last_speed: tuple[float, float] | None = None  # (time, km/h) of the last SendSpeed
        self.halted_since_speed = True
        self.last_direction: Direction | None = None
        self.low_since_s: float | None = 0.0
        self.moving_since_s: float | None = None
        self.last_data_s: float | None = None
        self.belt_kmh: float | None = None
        self.stop_watch: StopWatch | None = None
        self.commanded: list[tuple[float, float]] = [(0.0, 0.0)]
        self.frozen_run = 0
        self.frozen_key: tuple[bytes, float | None] | None = None
        self.frozen_since_s = 0.0
        self.fast_since_s: float | None = None
        self.heart_rate_stop_asked = False

    @initialize(setup=st.sampled_from(range(len(SETUPS))), mph_treadmill=st.booleans())
    def create(self, setup: int, *, mph_treadmill: bool) -> None:
        """One treadmill for the whole session: its limits, its ranges and its units.

        A treadmill that speaks mph in FTMS's km/h fields does so from the first frame
        to the last; none switches units mid-session.
        """
        self.limits, self.ranges = SETUPS[setup]
        self.mph_treadmill = mph_treadmill
        self.governor = SafetyGovernor(self.limits, self.ranges, now_s=0.0, link_up=True)

    # ------------------------------------------------------- whole moves of a session

    @rule(
        speed_kmh=realistic_speeds,
        direction=st.sampled_from(Direction),
        resume=st.booleans(),
        seconds=st.integers(min_value=0, max_value=12),
    )
    def person_starts_walking(
        self,
        speed_kmh: float,
        direction: Direction,
        resume: bool,  # noqa: FBT001
        seconds: int,
    ) -> None:
        self.ask(SetTarget(speed_kmh, direction))
        self.ask(Resume(by_person=True) if resume else Start(by_person=True))
        self.walk(seconds)

    @rule(seconds=st.integers(min_value=0, max_value=8), event=events)
    def person_pauses_then_something_happens(self, seconds: int, event: Observation) -> None:
        self.ask(Pause())
        self.walk(seconds)
        self.treadmill_or_link_event(event)

    @rule(
        speed_kmh=realistic_speeds,
        incline_pct=st.one_of(st.none(), st.floats(min_value=0.0, max_value=12.0)),
        seconds=st.integers(min_value=0, max_value=15),
    )
    def profile_turns_round(
        self, speed_kmh: float, incline_pct: float | None, seconds: int
    ) -> None:
        other = next(d for d in Direction if d is not self.governor.direction)
        self.ask(SetTarget(speed_kmh, other, incline_pct))
        self.walk(seconds)

    # ------------------------------------------------------------------ requests

    @rule(request=requests)
    def ask_the_governor(self, request: Request) -> None:
        was = self.governor.state
        decisions = self.ask(request)
        if isinstance(request, EmergencyStop):
            # invariant 5: the stop comes first, in the very same call
            assert isinstance(decisions[0], SendStop)
            if was is not GovernorState.FINISHED:
                assert self.governor.state is GovernorState.LATCHED

    # -------------------------------------------------------------- observations

    @rule(
        speed=belt_speeds,
        heart_rate_bpm=st.one_of(st.none(), st.integers(min_value=60, max_value=200)),
        repeat_frame=st.booleans(),
    )
    def belt_data(
        self,
        speed: float | str,
        heart_rate_bpm: int | None,
        repeat_frame: bool,  # noqa: FBT001
    ) -> None:
        if repeat_frame and self.last_frame is not None:
            self.see(self.last_frame)
            return
        speed_kmh = self.governor.commanded_speed_kmh if speed == "follow" else float(speed)
        self.elapsed_s += 1
        self.frame_counter += 1
        data = BeltData(
            speed_kmh,
            elapsed_s=self.elapsed_s,
            heart_rate_bpm=heart_rate_bpm,
            frame=self.frame_counter.to_bytes(4, "little"),
        )
        self.last_frame = data
        self.see_belt(data)

    def see_belt(self, data: BeltData) -> None:
        """Report the belt, and check the latches that its data must trigger."""
        watching = self.governor_is_moving()
        self.see(data)
        speed_kmh = data.speed_kmh
        if not (math.isfinite(speed_kmh) and speed_kmh >= 0):
            return
        if not watching:
            self.frozen_run, self.frozen_key, self.fast_since_s = 0, None, None
            return
        self.check_frozen_frames(data)
        self.check_belt_too_fast(speed_kmh)
        # The treadmill's own heart rate (handgrips nobody holds walking backward) never
        # latches by itself: the heart-rate monitor judges a robust rate and asks for a
        # controlled stop (heart_rate_ceiling_stops below).
        assert (
            not self.governor.latch_reasons
            & {
                LatchReason.HEART_RATE,
                LatchReason.HEART_RATE_UNKNOWN,
            }
            or self.heart_rate_stop_asked
        )

    @rule(
        reason=st.sampled_from([LatchReason.HEART_RATE, LatchReason.HEART_RATE_UNKNOWN]),
    )
    def heart_rate_ceiling_stops(self, reason: LatchReason) -> None:
        """A controlled stop: ramp down at the normal deceleration, then latch, never abrupt."""
        was = self.governor.state
        moving = self.governor_is_moving()
        before_kmh = self.governor.commanded_speed_kmh
        self.heart_rate_stop_asked = True
        decisions = self.ask(End(latch=reason, why="heart-rate monitor"))
        if was is GovernorState.FINISHED:
            return
        if not moving:
            assert self.governor.state is GovernorState.LATCHED
            return
        if self.governor.state is GovernorState.LATCHED:
            # Either a watchdog (stale data, a frozen stream...) latched in the same call,
            # before the request was taken (its stop is abrupt on purpose; the heart-rate
            # cause is kept beside it), or the belt was already at the treadmill's
            # minimum speed: nothing left to ramp down, the stop comes at once.
            at_minimum = before_kmh <= self.ranges.min_speed_kmh + EPSILON
            assert self.governor.latch_reasons - {reason} or at_minimum
            assert reason in self.governor.latch_reasons
            return
        assert not any(isinstance(d, SendStop | SendPause) for d in decisions)
        assert any(isinstance(d, Alarm) for d in decisions)
        assert self.governor.state is GovernorState.ENDING
        seconds = 0
        while self.state_now() is GovernorState.ENDING and seconds < 60:
            self.walk(1)
            seconds += 1
        assert self.state_now() is GovernorState.LATCHED
        assert reason in self.governor.latch_reasons
        slowest_rate = self.limits.deceleration_kmh_per_s
        needed_s = (before_kmh - self.ranges.min_speed_kmh) / slowest_rate
        # no faster than the normal deceleration allows (one tick of slack)
        assert seconds >= math.floor(needed_s) - 1

    def state_now(self) -> GovernorState:
        """The governor's state, read afresh (each call may see a new one)."""
        return self.governor.state

    def check_frozen_frames(self, data: BeltData) -> None:
        """Invariant 4, stale data: identical frames with a frozen elapsed time latch."""
        key = (data.frame, data.elapsed_s) if data.speed_kmh > MOVING_KMH else None
        if key is not None and key == self.frozen_key:
            self.frozen_run += 1
        else:
            self.frozen_run, self.frozen_since_s = (0 if key is None else 1), self.now_s
        self.frozen_key = key
        frozen_for_s = self.now_s - self.frozen_since_s
        if self.frozen_run >= self.limits.frozen_frame_count and frozen_for_s >= 2.0:
            assert self.governor.state is GovernorState.LATCHED

    def check_belt_too_fast(self, speed_kmh: float) -> None:
        """Invariant 4, an unrequested speed change: a belt well above anything asked latches."""
        allowed_kmh = self.recent_band_kmh()[1] + self.limits.speed_divergence_tolerance_kmh
        if speed_kmh <= allowed_kmh + 0.1:
            self.fast_since_s = None
        elif self.fast_since_s is None:
            self.fast_since_s = self.now_s
        elif self.now_s - self.fast_since_s >= self.limits.speed_divergence_persist_s:
            assert self.governor.state is GovernorState.LATCHED

    def governor_is_moving(self) -> bool:
        return (
            self.governor.state
            in {GovernorState.RUNNING, GovernorState.TURNING_AROUND, GovernorState.ENDING}
            and self.governor.commanded_speed_kmh > 0
        )

    @rule(
        seconds=st.integers(min_value=1, max_value=10),
        heart_rate_bpm=st.one_of(st.none(), st.integers(min_value=100, max_value=180)),
    )
    def well_behaved_belt(self, seconds: int, heart_rate_bpm: int | None) -> None:
        self.walk(seconds, heart_rate_bpm=heart_rate_bpm)

    def walk(self, seconds: int, *, heart_rate_bpm: int | None = None) -> None:
        """A well-behaved belt: it follows the commands and reports once a second."""
        for _ in range(seconds):
            self.quarter_ticks(3)
            self.see_belt(self.fresh_frame(self.governor.commanded_speed_kmh, heart_rate_bpm))
            self.quarter_ticks(1)

    @rule(frames=st.integers(min_value=2, max_value=5))
    def belt_data_freezes(self, frames: int) -> None:
        """A stale stream: the same bytes and elapsed time, once a second."""
        frozen = self.fresh_frame(self.governor.commanded_speed_kmh, None)
        for _ in range(frames):
            self.see_belt(frozen)
            self.quarter_ticks(4)

    @rule(
        extra_kmh=st.floats(min_value=0.2, max_value=4.0),
        seconds=st.integers(min_value=1, max_value=4),
    )
    def belt_runs_away(self, extra_kmh: float, seconds: int) -> None:
        """Someone presses + at the console, or the treadmill misbehaves."""
        for _ in range(seconds):
            self.see_belt(self.fresh_frame(self.governor.commanded_speed_kmh + extra_kmh, None))
            self.quarter_ticks(4)

    @rule(seconds=st.integers(min_value=15, max_value=60))
    def belt_reports_its_distance(self, seconds: int) -> None:
        """The belt follows and reports the distance it covers, once a second."""
        self.report_distance(seconds)

    @rule(seconds=st.integers(min_value=MPH_CAUGHT_AT_STARTING_SPEED_S, max_value=70))
    def person_starts_at_the_starting_speed_and_the_belt_reports_its_distance(
        self, seconds: int
    ) -> None:
        """The slowest walk a session begins with: the units must be caught there too."""
        starting_kmh = max(self.limits.starting_speed_kmh, self.ranges.min_speed_kmh)
        self.ask(SetTarget(starting_kmh, self.governor.direction))
        self.ask(Start(by_person=True))
        self.report_distance(seconds)

    def report_distance(self, seconds: int) -> None:
        """A belt that follows its commands and reports its odometer once a second.

        A treadmill speaking mph in km/h fields covers 1.609 times what its reported
        speed accounts for: its belt must not be driven on once the reported speeds
        account for MPH_CAUGHT_WITHIN_M of ground (44 s at the default starting speed).
        """
        unwitnessed_m = 0.0  # ground the reported speeds account for since the belt moved
        for _ in range(seconds):
            speed_kmh = self.governor.commanded_speed_kmh
            moving = self.governor_is_moving()
            was_latched = self.governor.state is GovernorState.LATCHED
            frame = self.fresh_frame(speed_kmh, None)
            self.see_belt(dataclasses.replace(frame, distance_m=float(int(self.distance_m))))
            self.advance(1.0)
            unwitnessed_m = unwitnessed_m + speed_kmh / 3.6 if moving else 0.0
            if not self.mph_treadmill and not was_latched:
                # a belt that follows and a truthful odometer never latch as a runaway
                assert self.governor.latch_reason is not LatchReason.UNREQUESTED_SPEED_CHANGE
            if self.mph_treadmill and unwitnessed_m >= MPH_CAUGHT_WITHIN_M:
                # the belt ran 1.6 times faster than asked for long enough: it is caught
                assert not self.governor_is_moving()

    def fresh_frame(self, speed_kmh: float, heart_rate_bpm: int | None) -> BeltData:
        self.elapsed_s += 1
        self.frame_counter += 1
        return BeltData(
            speed_kmh,
            elapsed_s=self.elapsed_s,
            heart_rate_bpm=heart_rate_bpm,
            frame=self.frame_counter.to_bytes(4, "little"),
        )

    def quarter_ticks(self, count: int) -> None:
        for _ in range(count):
            self.advance(0.25)

    def advance(self, dt_s: float) -> None:
        """Time passes: the belt runs on at its commanded speed, its odometer counting."""
        factor = 1.609344 if self.mph_treadmill else 1.0
        self.distance_m += self.governor.commanded_speed_kmh * factor / 3.6 * dt_s
        self.now_s += dt_s
        self.check(self.governor.tick(self.now_s), None)

    @rule(event=events)
    def treadmill_or_link_event(self, event: Observation) -> None:
        was = self.governor.state
        self.see(event)
        # invariant 4: these latch a stop whenever a session is under way
        if isinstance(event, SafetyKeyPulled) and was is not GovernorState.FINISHED:
            assert self.governor.state is GovernorState.LATCHED
        if (
            isinstance(event, TargetSpeedChanged)
            and event.speed_kmh >= 0
            and was in {GovernorState.RUNNING, GovernorState.TURNING_AROUND, GovernorState.ENDING}
            and self.far_from_recent_commands(event.speed_kmh)
        ):
            assert self.governor.state is GovernorState.LATCHED
        if isinstance(event, LinkDown | ControlLost) and was not in {
            GovernorState.IDLE,
            GovernorState.FINISHED,
        }:
            assert self.governor.state is GovernorState.LATCHED

    # ---------------------------------------------------------------------- time

    @rule(dt_s=st.floats(min_value=0.01, max_value=3.0))
    def time_passes(self, dt_s: float) -> None:
        self.advance(dt_s)

    # ------------------------------------------------------------------- checks

    def ask(self, request: Request) -> list[Decision]:
        decisions = self.governor.request(request, self.now_s)
        self.check(decisions, request)
        return decisions

    def see(self, observation: Observation) -> list[Decision]:
        self.note_observation(observation)
        decisions = self.governor.observe(observation, self.now_s)
        self.check(decisions, observation)
        return decisions

    def note_observation(self, observation: Observation) -> None:
        """What the belt told us, as SAFETY.md understands it."""
        match observation:
            case BeltData(speed_kmh=speed_kmh) if math.isfinite(speed_kmh) and speed_kmh >= 0:
                self.belt_kmh = speed_kmh
                self.last_data_s = self.now_s
                watch = self.stop_watch
                if watch is not None:
                    if speed_kmh < watch.last_kmh:
                        watch.fell = True
                    watch.last_kmh = speed_kmh
            case StoppedByUser():
                self.belt_kmh = 0.0
                self.halted()
            case SafetyKeyPulled():
                self.belt_kmh = 0.0
                self.stop_watch = None
                self.halted()
            case StartedByUser():
                self.stop_watch = None
            case LinkUp():
                self.belt_kmh = None
                self.frozen_run, self.frozen_key = 0, None
            case _:
                pass

    def recent_band_kmh(self) -> tuple[float, float]:
        """The lowest and highest speeds commanded within the divergence grace time."""
        horizon_s = self.now_s - self.limits.speed_divergence_grace_s
        in_force = [kmh for t, kmh in self.commanded if t <= horizon_s][-1:]
        recent = in_force + [kmh for t, kmh in self.commanded if t > horizon_s]
        return min(recent), max(recent)

    def far_from_recent_commands(self, speed_kmh: float) -> bool:
        """Whether a speed is well outside everything commanded within the grace time."""
        low_kmh, high_kmh = self.recent_band_kmh()
        return speed_kmh > high_kmh + 1.0 or speed_kmh < low_kmh - 1.0

    def halted(self) -> None:
        self.commanded.append((self.now_s, 0.0))
        self.fast_since_s = None
        self.halted_since_speed = True
        self.moving_since_s = None
        if self.low_since_s is None:
            self.low_since_s = self.now_s

    def check(self, decisions: list[Decision], cause: Request | Observation | None) -> None:
        for decision in decisions:
            self.check_one(decision, cause)
        self.check_stop_verification(decisions)

    def check_one(self, decision: Decision, cause: Request | Observation | None) -> None:
        match decision:
            case StateChanged(old=old, new=new):
                if new is GovernorState.LATCHED:
                    self.latched = True
                if old is GovernorState.LATCHED and new is not GovernorState.LATCHED:
                    # invariant 4: only an explicit re-arm leaves a latch
                    assert isinstance(cause, Rearm)
                    self.latched = False
            case SendStop() | SendPause():
                moving = self.belt_kmh is not None and self.belt_kmh > MOVING_KMH
                if moving and self.stop_watch is None:
                    assert self.belt_kmh is not None
                    self.stop_watch = StopWatch(self.now_s, self.belt_kmh)
                self.halted()
            case SendStart():
                # invariant 4: nothing but stop while latched
                assert not self.latched
                # invariant 7: only on a person's own request
                assert isinstance(cause, Start | Resume)
                assert cause.by_person is True
                # invariant 8: never to a belt reported running
                assert self.belt_kmh is None or self.belt_kmh <= MOVING_KMH
                self.stop_watch = None
                self.halted()
            case SendSpeed(speed_kmh=speed_kmh, direction=direction):
                self.check_speed(speed_kmh, direction)
            case SendIncline(incline_pct=incline_pct, direction=direction):
                assert not self.latched
                assert math.isfinite(incline_pct)
                cap = self.limits.max_incline_pct(backward=direction is Direction.BACKWARD)
                assert incline_pct <= cap + EPSILON
                assert self.ranges.min_incline_pct - EPSILON <= incline_pct
                assert incline_pct <= self.ranges.max_incline_pct + EPSILON
            case _:
                pass

    def check_speed(self, speed_kmh: float, direction: Direction) -> None:
        assert not self.latched
        assert math.isfinite(speed_kmh)
        # invariant 1: within the cap of the direction and the treadmill's range
        cap = self.limits.max_speed_kmh(backward=direction is Direction.BACKWARD)
        assert speed_kmh <= min(cap, self.ranges.max_speed_kmh) + EPSILON
        assert speed_kmh >= self.ranges.min_speed_kmh - EPSILON
        # invariant 2, and 4's restart: the first speed after a stop is the starting
        # speed; then each change is within the rate times the time since the last
        starting = max(self.limits.starting_speed_kmh, self.ranges.min_speed_kmh)
        if self.halted_since_speed or self.last_speed is None:
            assert speed_kmh <= starting + EPSILON
            self.moving_since_s = self.now_s
            self.fast_since_s = None
        else:
            last_s, last_kmh = self.last_speed
            rate = (
                self.limits.acceleration_kmh_per_s
                if speed_kmh > last_kmh
                else self.limits.deceleration_kmh_per_s
            )
            assert abs(speed_kmh - last_kmh) <= rate * (self.now_s - last_s) + EPSILON
        # invariant 3: a new direction only after the target was low for the whole hold
        if self.last_direction is not None and direction is not self.last_direction:
            assert self.low_since_s is not None
            assert self.now_s - self.low_since_s >= self.limits.turnaround_hold_s - EPSILON
        self.last_direction = direction
        if speed_kmh <= self.limits.turnaround_speed_kmh + EPSILON:
            if self.low_since_s is None:
                self.low_since_s = self.now_s
        else:
            self.low_since_s = None
        self.last_speed = (self.now_s, speed_kmh)
        self.commanded.append((self.now_s, speed_kmh))
        self.halted_since_speed = False

    def check_stop_verification(self, decisions: list[Decision]) -> None:
        """Invariant 8: a stop the belt does not confirm is resent with a loud alarm."""
        watch = self.stop_watch
        if watch is None:
            return
        alarmed = any(isinstance(d, Alarm) for d in decisions) and any(
            isinstance(d, SendStop) for d in decisions
        )
        if watch.fell:
            self.stop_watch = None
        elif alarmed:
            watch.since_s = self.now_s
        else:
            assert self.now_s - watch.since_s < self.limits.stop_verify_s

    @invariant()
    def the_stale_data_watchdog_never_lets_a_moving_belt_go_unwatched(self) -> None:
        if not hasattr(self, "governor"):
            return
        moving = (
            self.governor.state
            in {
                GovernorState.RUNNING,
                GovernorState.TURNING_AROUND,
                GovernorState.ENDING,
            }
            and self.governor.commanded_speed_kmh > 0
        )
        if moving and self.moving_since_s is not None:
            heard_s = max(self.moving_since_s, self.last_data_s or -math.inf)
            assert self.now_s - heard_s <= self.limits.stale_data_timeout_s + EPSILON

    @invariant()
    def a_belt_not_driven_by_the_governor_has_been_told_to_stop(self) -> None:
        if hasattr(self, "governor") and self.governor.state in {
            GovernorState.IDLE,
            GovernorState.PAUSED,
            GovernorState.LATCHED,
            GovernorState.FINISHED,
        }:
            assert self.halted_since_speed

    @invariant()
    def the_governor_agrees_it_is_latched(self) -> None:
        if hasattr(self, "governor"):
            assert self.latched == (self.governor.state is GovernorState.LATCHED)


# The examples and steps come from the profile (tests/conftest.py): derandomized in
# `make test`, long and random in `make fuzz`.
GovernorInvariants.TestCase.settings = settings(suppress_health_check=[HealthCheck.too_slow])
TestGovernorInvariants = GovernorInvariants.TestCase


def _seconds_until_latched(*, mph_treadmill: bool, limit_s: int) -> int | None:
    """Walk at the default starting speed with the odometer on; when does it latch?"""
    governor = SafetyGovernor(SETUPS[0][0], SETUPS[0][1], now_s=0.0, link_up=True)
    starting_kmh = governor.starting_speed_kmh(Direction.FORWARD)
    governor.request(SetTarget(starting_kmh, Direction.FORWARD), 0.0)
    governor.request(Start(by_person=True), 0.0)
    factor = 1.609344 if mph_treadmill else 1.0
    distance_m = 0.0
    for second in range(1, limit_s + 1):
        speed_kmh = governor.commanded_speed_kmh
        distance_m += speed_kmh * factor / 3.6
        frame = second.to_bytes(4, "little")
        data = BeltData(speed_kmh, elapsed_s=second, frame=frame, distance_m=float(int(distance_m)))
        governor.observe(data, float(second))
        governor.tick(float(second))
        if governor.state is GovernorState.LATCHED:
            assert governor.latch_reason is LatchReason.UNREQUESTED_SPEED_CHANGE
            return second
    return None


def test_an_mph_treadmill_at_the_starting_speed_is_caught_within_the_bound() -> None:
    caught_s = _seconds_until_latched(mph_treadmill=True, limit_s=MPH_CAUGHT_AT_STARTING_SPEED_S)
    assert caught_s is not None
    assert caught_s <= MPH_CAUGHT_AT_STARTING_SPEED_S


def test_a_kmh_treadmill_at_the_starting_speed_is_never_taken_for_one() -> None:
    assert _seconds_until_latched(mph_treadmill=False, limit_s=600) is None

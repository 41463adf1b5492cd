"""The safety governor, rule by rule, as readable scenarios in virtual time."""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from treadmill_ctl.safety import (
    COMMAND_TYPES,
    Alarm,
    BeltData,
    ControlLost,
    Cue,
    CueKind,
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
    Refused,
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
    SpeedWritten,
    Start,
    StartedByUser,
    StateChanged,
    StoppedByUser,
    TargetLimited,
    TargetSpeedChanged,
)

if TYPE_CHECKING:
    from treadmill_ctl.safety import Observation, Request

RANGES = MachineRanges(
    min_speed_kmh=1.0,
    max_speed_kmh=12.0,
    speed_increment_kmh=0.1,
    min_incline_pct=0.0,
    max_incline_pct=10.0,
    incline_increment_pct=0.5,
)
BACKWARD = Direction.BACKWARD
FORWARD = Direction.FORWARD


@dataclass
class Session:
    """A governor on a virtual clock, with a belt that follows its commands at once."""

    limits: Limits = field(default_factory=Limits)
    ranges: MachineRanges = RANGES
    now_s: float = 0.0
    elapsed_s: float = 0.0
    log: list[tuple[float, Decision]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.governor = SafetyGovernor(self.limits, self.ranges, now_s=0.0, link_up=True)

    def state(self) -> GovernorState:
        return self.governor.state

    def ask(self, request: Request) -> list[Decision]:
        return self._keep(self.governor.request(request, self.now_s))

    def see(self, observation: Observation) -> list[Decision]:
        return self._keep(self.governor.observe(observation, self.now_s))

    def belt(self, speed_kmh: float, **fields: object) -> list[Decision]:
        """Report the belt at a speed, with a fresh frame (elapsed time moves on)."""
        self.elapsed_s += 1
        frame = struct.pack("<Hf", round(speed_kmh * 100), self.elapsed_s)
        data = BeltData(speed_kmh, elapsed_s=self.elapsed_s, frame=frame, **fields)  # type: ignore[arg-type]
        return self.see(data)

    def run(self, seconds: float, *, belt_follows: bool = True) -> list[Decision]:
        """Let time pass in 0.25 s ticks; the belt reports its speed once a second."""
        decisions: list[Decision] = []
        for _ in range(round(seconds / 0.25)):
            self.now_s += 0.25
            if belt_follows and self.now_s % 1.0 == 0.0:
                decisions += self.belt(self.governor.commanded_speed_kmh)
            decisions += self._keep(self.governor.tick(self.now_s))
        return decisions

    def run_until(self, state: GovernorState, *, limit_s: float = 120.0) -> list[Decision]:
        decisions: list[Decision] = []
        waited_s = 0.0
        while self.state() is not state:
            assert waited_s < limit_s, f"never reached {state}"
            decisions += self.run(0.25)
            waited_s += 0.25
        return decisions

    def start_at(self, speed_kmh: float, direction: Direction = BACKWARD) -> None:
        self.ask(SetTarget(speed_kmh, direction))
        self.ask(Start(by_person=True))
        self.run(20)
        assert self.governor.commanded_speed_kmh == pytest.approx(speed_kmh)

    def _keep(self, decisions: list[Decision]) -> list[Decision]:
        self.log += [(self.now_s, decision) for decision in decisions]
        return decisions


def commands(decisions: list[Decision]) -> list[Decision]:
    return [decision for decision in decisions if isinstance(decision, COMMAND_TYPES)]


def speeds(decisions: list[Decision]) -> list[float]:
    return [decision.speed_kmh for decision in decisions if isinstance(decision, SendSpeed)]


def alarms(decisions: list[Decision]) -> list[Alarm]:
    return [decision for decision in decisions if isinstance(decision, Alarm)]


def cues(decisions: list[Decision], kind: CueKind) -> list[Cue]:
    return [d for d in decisions if isinstance(d, Cue) and d.kind is kind]


class TestStartAndRamps:
    def test_a_start_by_the_person_sends_start_then_the_starting_speed(self) -> None:
        session = Session()
        session.ask(SetTarget(2.5, BACKWARD))
        decisions = session.ask(Start(by_person=True))
        assert commands(decisions) == [
            SendStart("start requested by the person"),
            SendSpeed(1.0, BACKWARD, "start at the starting speed"),
        ]
        assert session.state() is GovernorState.RUNNING

    def test_the_belt_ramps_up_from_the_starting_speed_at_the_acceleration_rate(self) -> None:
        session = Session()
        session.ask(SetTarget(3.0, BACKWARD))
        session.ask(Start(by_person=True))
        session.run(10)
        sent = [(t, d.speed_kmh) for t, d in session.log if isinstance(d, SendSpeed)]
        assert sent[0][1] == 1.0
        assert sent[-1][1] == 3.0
        for (t0, v0), (t1, v1) in itertools.pairwise(sent):
            assert 0 < v1 - v0 <= 0.5 * (t1 - t0) + 1e-9

    def test_a_lower_target_ramps_down_at_the_deceleration_rate(self) -> None:
        session = Session()
        session.start_at(3.0)
        assert speeds(session.run(10)) == []
        session.ask(SetTarget(1.5, BACKWARD))
        session.run(10)
        sent = [(t, d.speed_kmh) for t, d in session.log if isinstance(d, SendSpeed)]
        down = [(t, v) for (t, v), (_, before) in zip(sent[1:], sent, strict=False) if v < before]
        assert down[-1][1] == 1.5
        assert len(down) > 3
        for (t0, v0), (t1, v1) in itertools.pairwise(sent):
            if v1 < v0:
                assert v0 - v1 <= 0.5 * (t1 - t0) + 1e-9

    def test_a_target_above_the_backward_cap_is_limited_and_said_so(self) -> None:
        session = Session()
        decisions = session.ask(SetTarget(5.0, BACKWARD))
        assert [d.limited_speed_kmh for d in decisions if isinstance(d, TargetLimited)] == [3.0]
        session.ask(Start(by_person=True))
        session.run(20)
        assert session.governor.commanded_speed_kmh == 3.0

    def test_a_backward_incline_is_capped_at_the_backward_limit(self) -> None:
        session = Session()
        session.ask(SetTarget(2.0, BACKWARD, incline_pct=8.0))
        decisions = session.ask(Start(by_person=True))
        assert [d.incline_pct for d in decisions if isinstance(d, SendIncline)] == [3.0]

    def test_a_target_below_the_treadmill_minimum_ramps_down_and_pauses(self) -> None:
        session = Session()
        session.start_at(2.0)
        session.ask(SetTarget(0.5, BACKWARD))
        decisions = session.run(10)
        assert speeds(decisions)[-1] == 1.0
        assert any(isinstance(d, SendPause) for d in decisions)
        assert session.state() is GovernorState.PAUSED

    def test_the_starting_speed_is_raised_to_the_treadmill_minimum(self) -> None:
        ranges = MachineRanges(min_speed_kmh=1.5, max_speed_kmh=8.0, speed_increment_kmh=0.5)
        session = Session(ranges=ranges)
        session.ask(SetTarget(3.0, BACKWARD))
        assert speeds(session.ask(Start(by_person=True))) == [1.5]


class TestStartOnlyByAPerson:
    def test_a_start_not_from_a_person_is_refused_without_a_command(self) -> None:
        session = Session()
        decisions = session.ask(Start(by_person=False))
        assert commands(decisions) == []
        assert isinstance(decisions[0], Refused)
        assert session.state() is GovernorState.IDLE

    def test_a_resume_not_from_a_person_is_refused(self) -> None:
        session = Session()
        session.start_at(2.0)
        session.ask(Pause())
        session.run(3)
        assert commands(session.ask(Resume(by_person=False))) == []

    def test_start_is_never_sent_to_a_belt_reported_running(self) -> None:
        session = Session()
        session.belt(2.0)
        decisions = session.ask(Start(by_person=True))
        assert commands(decisions) == []
        assert "still reports 2 km/h" in decisions[0].reason

    def test_start_is_refused_while_the_treadmill_is_not_connected(self) -> None:
        session = Session()
        session.see(LinkDown())
        assert commands(session.ask(Start(by_person=True))) == []

    def test_a_resume_restarts_at_the_starting_speed(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.ask(Pause())
        session.run(3)
        decisions = session.ask(Resume(by_person=True))
        assert commands(decisions)[:2] == [
            SendStart("resume requested by the person"),
            SendSpeed(1.0, BACKWARD, "resume at the starting speed"),
        ]

    def test_no_start_where_the_treadmill_s_minimum_is_above_the_direction_s_cap(
        self,
    ) -> None:
        slow = MachineRanges(min_speed_kmh=3.5, max_speed_kmh=12.0, speed_increment_kmh=0.1)
        session = Session(ranges=slow)
        session.ask(SetTarget(2.0, BACKWARD))
        decisions = session.ask(Start(by_person=True))
        assert commands(decisions) == []
        assert "minimum speed 3.5 km/h is above the backward speed limit" in decisions[0].reason
        assert session.state() is GovernorState.IDLE


class TestTurnAround:
    def test_a_direction_change_ramps_down_pauses_counts_down_and_waits_for_resume(
        self,
    ) -> None:
        session = Session()
        session.start_at(2.5, BACKWARD)
        decisions = session.ask(SetTarget(4.0, FORWARD))
        assert session.state() is GovernorState.TURNING_AROUND
        decisions += session.run_until(GovernorState.PAUSED)
        assert all(d.direction is BACKWARD for d in decisions if isinstance(d, SendSpeed))
        assert speeds(decisions)[-1] == 1.0
        assert any(isinstance(d, SendPause) for d in decisions)
        countdown = cues(decisions, CueKind.TURN_AROUND_COUNTDOWN)
        assert [cue.seconds_left for cue in countdown] == [5, 4, 3, 2, 1]
        assert cues(decisions, CueKind.PRESS_RESUME)
        resumed = session.ask(Resume(by_person=True))
        assert [(d.speed_kmh, d.direction) for d in resumed if isinstance(d, SendSpeed)] == [
            (1.0, FORWARD)
        ]

    def test_the_treadmill_announcing_our_own_pause_does_not_cut_the_countdown(self) -> None:
        session = Session()
        session.start_at(2.5, BACKWARD)
        decisions = session.ask(SetTarget(2.0, FORWARD))
        while not any(isinstance(d, SendPause) for d in decisions):
            decisions = session.run(0.25)
        echoed = session.see(StoppedByUser(paused=True))  # status 02 02 after our pause
        assert not cues(echoed, CueKind.CONSOLE)
        assert session.state() is GovernorState.TURNING_AROUND
        decisions = session.run_until(GovernorState.PAUSED)
        countdown = cues(decisions, CueKind.TURN_AROUND_COUNTDOWN)
        assert [cue.seconds_left for cue in countdown][-3:] == [3, 2, 1]
        assert cues(decisions, CueKind.PRESS_RESUME)

    def test_the_hold_lasts_the_whole_hold_time_after_the_belt_target_is_low(self) -> None:
        session = Session()
        session.start_at(2.0, BACKWARD)
        session.ask(SetTarget(2.0, FORWARD))
        session.run_until(GovernorState.PAUSED)
        paused_at = next(t for t, d in session.log if isinstance(d, SendPause))
        done_at = next(
            t
            for t, d in session.log
            if isinstance(d, StateChanged) and d.new is GovernorState.PAUSED
        )
        assert done_at - paused_at >= 5.0

    def test_resume_during_the_hold_is_refused_with_the_time_left(self) -> None:
        session = Session()
        session.start_at(2.0, BACKWARD)
        session.ask(SetTarget(2.0, FORWARD))
        session.run(6)
        assert session.state() is GovernorState.TURNING_AROUND
        session.ask(Pause())
        decisions = session.ask(Resume(by_person=True))
        assert commands(decisions) == []
        assert "turning around: wait" in decisions[0].reason

    def test_with_a_turnaround_speed_the_belt_keeps_moving_and_ramps_up_the_new_way(
        self,
    ) -> None:
        session = Session(limits=Limits(turnaround_speed_kmh=1.0))
        session.start_at(2.5, BACKWARD)
        session.ask(SetTarget(3.0, FORWARD))
        decisions = session.run(20)
        assert not any(isinstance(d, SendPause | SendStop | SendStart) for d in decisions)
        directions = [(d.speed_kmh, d.direction) for d in decisions if isinstance(d, SendSpeed)]
        first_forward = next(i for i, (_, dir_) in enumerate(directions) if dir_ is FORWARD)
        assert directions[first_forward - 1] == (1.0, BACKWARD)
        assert directions[-1] == (3.0, FORWARD)
        assert [c.seconds_left for c in cues(decisions, CueKind.TURN_AROUND_COUNTDOWN)] == [
            5,
            4,
            3,
            2,
            1,
        ]
        assert cues(decisions, CueKind.TURN_AROUND_DONE)

    def test_changing_back_during_the_slow_down_cancels_the_turn(self) -> None:
        session = Session(limits=Limits(turnaround_speed_kmh=1.0))
        session.start_at(3.0, BACKWARD)
        session.ask(SetTarget(3.0, FORWARD))
        session.run(1)
        session.ask(SetTarget(3.0, BACKWARD))
        assert session.state() is GovernorState.RUNNING
        session.run(10)
        assert session.governor.commanded_speed_kmh == 3.0
        assert session.governor.direction is BACKWARD

    def test_the_incline_comes_down_to_the_backward_cap_before_the_turn(self) -> None:
        session = Session()
        session.ask(SetTarget(3.0, FORWARD, incline_pct=8.0))
        session.ask(Start(by_person=True))
        session.run(10)
        decisions = session.ask(SetTarget(2.0, BACKWARD, incline_pct=8.0))
        assert [d.incline_pct for d in decisions if isinstance(d, SendIncline)] == [3.0]

    def test_before_the_first_start_a_direction_is_taken_at_once(self) -> None:
        session = Session()
        session.ask(SetTarget(2.0, FORWARD))
        session.ask(SetTarget(2.0, BACKWARD))
        decisions = session.ask(Start(by_person=True))
        assert [d.direction for d in decisions if isinstance(d, SendSpeed)] == [BACKWARD]


class TestLatches:
    def test_an_emergency_stop_is_the_first_decision_and_latches(self) -> None:
        session = Session()
        session.start_at(2.5)
        decisions = session.ask(EmergencyStop(source=RequestSource.HOTKEY))
        assert isinstance(decisions[0], SendStop)
        assert session.state() is GovernorState.LATCHED
        assert session.governor.latch_reason is LatchReason.EMERGENCY_STOP
        assert alarms(decisions)

    def test_while_latched_nothing_but_stop_is_sent(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.ask(EmergencyStop(source=RequestSource.HOTKEY))
        decisions = session.ask(SetTarget(3.0, BACKWARD))
        decisions += session.ask(Start(by_person=True))
        decisions += session.ask(Resume(by_person=True))
        decisions += session.see(StartedByUser())
        decisions += session.run(10)
        assert commands(decisions) == []

    def test_a_rearm_then_a_start_begins_again_at_the_starting_speed(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.ask(EmergencyStop(source=RequestSource.HOTKEY))
        session.run(3)
        rearmed = session.ask(Rearm())
        assert commands(rearmed) == []
        assert session.state() is GovernorState.IDLE
        started = session.ask(Start(by_person=True))
        assert speeds(started) == [1.0]
        session.run(10)
        assert session.governor.commanded_speed_kmh == 2.5

    def test_the_safety_key_latches(self) -> None:
        session = Session()
        session.start_at(2.5)
        decisions = session.see(SafetyKeyPulled())
        assert commands(decisions) == [SendStop("stopped by the safety key (status 0x03)")]
        assert session.governor.latch_reason is LatchReason.SAFETY_KEY

    def test_a_lost_link_latches_and_re_arming_needs_the_link_back(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.see(LinkDown())
        assert session.governor.latch_reason is LatchReason.LINK_LOST
        assert commands(session.ask(Rearm())) == []
        assert session.state() is GovernorState.LATCHED
        back = session.see(LinkUp())
        assert commands(back) == [
            SendStop("link back while latched: make sure the belt is stopped")
        ]
        session.ask(Rearm())
        assert session.state() is GovernorState.IDLE

    def test_losing_control_latches(self) -> None:
        session = Session()
        session.start_at(2.0)
        session.see(ControlLost())
        assert session.governor.latch_reason is LatchReason.CONTROL_LOST

    def test_no_treadmill_data_for_the_timeout_latches_stale_data(self) -> None:
        session = Session()
        session.start_at(2.0)
        session.run(2.25, belt_follows=False)
        assert session.state() is GovernorState.RUNNING
        decisions = session.run(0.5, belt_follows=False)
        assert isinstance(commands(decisions)[0], SendStop)
        assert session.governor.latch_reason is LatchReason.STALE_DATA

    def test_untrustworthy_data_does_not_keep_the_watchdog_quiet(self) -> None:
        session = Session()
        session.start_at(2.0)
        for _ in range(3):
            session.run(1, belt_follows=False)
            refused = session.see(BeltData(math.nan))
            if session.state() is GovernorState.RUNNING:
                assert isinstance(refused[0], Refused)
        assert session.governor.latch_reason is LatchReason.STALE_DATA

    def test_three_identical_frames_with_a_frozen_elapsed_time_latch_stale_data(self) -> None:
        session = Session()
        session.start_at(2.0)
        frozen = BeltData(2.0, elapsed_s=42.0, frame=b"\x00\x01frozen")
        session.see(frozen)
        session.run(1, belt_follows=False)
        session.see(frozen)
        assert session.state() is GovernorState.RUNNING
        session.run(1, belt_follows=False)
        decisions = session.see(frozen)
        assert isinstance(commands(decisions)[0], SendStop)
        assert session.governor.latch_reason is LatchReason.STALE_DATA

    def test_a_console_speed_change_we_did_not_ask_for_latches(self) -> None:
        session = Session()
        session.start_at(2.0)
        decisions = session.see(TargetSpeedChanged(4.5))
        assert isinstance(commands(decisions)[0], SendStop)
        assert session.governor.latch_reason is LatchReason.UNREQUESTED_SPEED_CHANGE

    def test_the_echo_of_our_own_speed_command_does_not_latch(self) -> None:
        session = Session()
        session.start_at(2.0)
        session.ask(SetTarget(3.0, BACKWARD))
        session.run(1)
        session.see(TargetSpeedChanged(session.governor.commanded_speed_kmh - 0.2))
        assert session.state() is GovernorState.RUNNING

    def test_the_echo_of_a_speed_written_late_by_a_slow_control_point_does_not_latch(
        self,
    ) -> None:
        session = Session()
        session.start_at(1.0, FORWARD)
        session.ask(SetTarget(3.0, FORWARD))
        session.run(5)  # the governor has ramped on; the treadmill was slow to be told
        session.see(SpeedWritten(1.5))
        session.now_s += 0.1
        session.see(TargetSpeedChanged(1.5))
        assert session.state() is GovernorState.RUNNING

    def test_without_the_late_write_the_same_echo_latches(self) -> None:
        session = Session()
        session.start_at(1.0, FORWARD)
        session.ask(SetTarget(3.0, FORWARD))
        session.run(5)
        session.see(TargetSpeedChanged(1.5))
        assert session.governor.latch_reason is LatchReason.UNREQUESTED_SPEED_CHANGE

    @staticmethod
    def _walk(session: Session, seconds: int, *, metres_per_s: float | None) -> None:
        """The belt reports 2.0 km/h once a second and covers ``metres_per_s``."""
        distance_m = 0.0
        for _ in range(seconds):
            session.now_s += 1
            distance_m += metres_per_s or 0.0
            session.belt(2.0, distance_m=None if metres_per_s is None else int(distance_m))
            session._keep(session.governor.tick(session.now_s))
            if session.state() is GovernorState.LATCHED:
                return

    def test_a_belt_covering_mph_distances_at_km_h_speeds_latches(self) -> None:
        session = Session()
        session.start_at(2.0, FORWARD)
        self._walk(session, 30, metres_per_s=2.0 * 1.609344 / 3.6)
        assert session.governor.latch_reason is LatchReason.UNREQUESTED_SPEED_CHANGE
        (latched,) = [d for _, d in session.log if isinstance(d, StateChanged) and d.latch_reason]
        assert "mph" in latched.reason

    @pytest.mark.parametrize("metres_per_s", [2.0 / 3.6, 0.0, None])
    def test_a_belt_covering_what_its_speed_says_or_reporting_no_distance_runs_on(
        self, metres_per_s: float | None
    ) -> None:
        session = Session()
        session.start_at(2.0, FORWARD)
        self._walk(session, 120, metres_per_s=metres_per_s)
        assert session.state() is GovernorState.RUNNING

    def test_a_written_speed_that_is_not_a_speed_is_refused(self) -> None:
        session = Session()
        session.start_at(2.0)
        decisions = session.see(SpeedWritten(math.nan))
        assert [type(d) for d in decisions] == [Refused]

    def test_a_belt_running_faster_than_asked_latches_after_the_persist_time(self) -> None:
        session = Session()
        session.start_at(2.0)
        session.belt(3.0)
        assert session.state() is GovernorState.RUNNING
        session.run(1, belt_follows=False)
        session.belt(3.0)
        assert session.governor.latch_reason is LatchReason.UNREQUESTED_SPEED_CHANGE

    def test_a_belt_stopped_at_the_console_without_notice_latches(self) -> None:
        session = Session()
        session.start_at(2.0)
        for _ in range(3):
            session.run(1, belt_follows=False)
            session.belt(0.0)
        assert session.governor.latch_reason is LatchReason.UNREQUESTED_SPEED_CHANGE

    def test_a_belt_lagging_behind_the_ramp_within_the_grace_time_is_fine(self) -> None:
        session = Session()
        session.ask(SetTarget(3.0, BACKWARD))
        session.ask(Start(by_person=True))
        for _ in range(6):
            session.run(1, belt_follows=False)
            # the belt trails the commands by about two seconds of ramp
            session.belt(max(1.0, session.governor.commanded_speed_kmh - 0.9))
        assert session.state() is GovernorState.RUNNING

    def test_a_belt_that_has_not_started_yet_is_not_a_divergence(self) -> None:
        session = Session()
        session.ask(SetTarget(2.0, BACKWARD))
        session.ask(Start(by_person=True))
        for _ in range(5):
            session.run(1, belt_follows=False)
            session.belt(0.0)
        assert session.state() is GovernorState.RUNNING

    def test_the_treadmills_own_heart_rate_never_latches_by_itself(self) -> None:
        session = Session(limits=Limits(heart_rate_max_bpm=150))
        session.start_at(2.0)
        session.belt(2.0, heart_rate_bpm=200)  # a handgrip glitch: judged by the monitor
        assert session.state() is GovernorState.RUNNING

    @pytest.mark.parametrize("reason", [LatchReason.HEART_RATE, LatchReason.HEART_RATE_UNKNOWN])
    def test_a_heart_rate_stop_ramps_down_then_latches(self, reason: LatchReason) -> None:
        session = Session(limits=Limits(heart_rate_max_bpm=150))
        session.start_at(2.0)
        decisions = session.ask(End(latch=reason, why="heart rate 160 bpm above 150"))
        assert not any(isinstance(d, SendStop) for d in decisions)
        alarms = [d for d in decisions if isinstance(d, Alarm)]
        assert len(alarms) == 1
        assert "slows to a stop" in alarms[0].text
        assert session.state() is GovernorState.ENDING
        assert session.ask(Rearm())[-1] == Refused(Rearm(), "nothing to re-arm while ending")
        speeds = []
        for _ in range(20):
            session.run(1.0)
            speeds.append(session.governor.commanded_speed_kmh)
        assert session.governor.latch_reason is reason
        # 2.0 km/h down at 0.5 km/h per second: about 2 s to the minimum, then the stop
        assert speeds[0] > 0
        assert speeds == sorted(speeds, reverse=True)
        assert speeds[-1] == 0
        session.ask(Rearm())
        assert session.state() is GovernorState.IDLE

    def test_a_pause_during_a_heart_rate_ramp_down_latches_instead_of_pausing(self) -> None:
        """A person's pause mid ramp-down must not leave the heart-rate stop unlatched."""
        session = Session(limits=Limits(heart_rate_max_bpm=150))
        session.start_at(2.0)
        session.ask(End(latch=LatchReason.HEART_RATE, why="heart rate 160 bpm above 150"))
        session.run(0.5)
        decisions = session.ask(Pause())
        assert any(isinstance(d, SendStop) for d in decisions)
        assert session.state() is GovernorState.LATCHED
        assert session.governor.latch_reason is LatchReason.HEART_RATE
        # said once when the ramp-down began, not again
        assert not any(isinstance(d, Alarm) for d in decisions)

    def test_an_emergency_stop_overtaking_a_heart_rate_ramp_down_keeps_both_causes(
        self,
    ) -> None:
        session = Session(limits=Limits(heart_rate_max_bpm=150))
        session.start_at(2.0)
        session.ask(End(latch=LatchReason.HEART_RATE_UNKNOWN, why="no heart rate for 5 s"))
        decisions = session.ask(EmergencyStop(source=RequestSource.HOTKEY))
        assert isinstance(decisions[0], SendStop)
        assert session.governor.latch_reasons == {
            LatchReason.HEART_RATE_UNKNOWN,
            LatchReason.EMERGENCY_STOP,
        }
        for _ in range(10):  # the ramp-down is over: nothing moves the belt again
            assert not any(isinstance(d, SendSpeed) for d in session.run(1.0))

    def test_the_most_severe_cause_names_the_latch_and_a_rearm_clears_them_all(self) -> None:
        session = Session()
        session.start_at(2.0)
        session.see(TargetSpeedChanged(5.0))
        session.see(SafetyKeyPulled())
        decisions = session.ask(EmergencyStop(source=RequestSource.MQTT))
        assert isinstance(decisions[0], SendStop)
        assert session.governor.latch_reasons == {
            LatchReason.UNREQUESTED_SPEED_CHANGE,
            LatchReason.SAFETY_KEY,
            LatchReason.EMERGENCY_STOP,
        }
        assert session.governor.latch_reason is LatchReason.EMERGENCY_STOP
        session.ask(Rearm())
        assert session.governor.latch_reason is None

    def test_an_emergency_stop_works_in_every_state(self) -> None:
        session = Session()
        assert isinstance(session.ask(EmergencyStop(source=RequestSource.HOTKEY))[0], SendStop)
        session.ask(Rearm())
        session.ask(End())
        assert session.state() is GovernorState.FINISHED
        assert isinstance(session.ask(EmergencyStop(source=RequestSource.HOTKEY))[0], SendStop)

    def test_identical_frames_of_a_belt_the_app_does_not_drive_are_not_watched(self) -> None:
        """Before a start, a belt someone runs at the console is the console's business."""
        session = Session()
        frozen = BeltData(2.0, elapsed_s=42.0, frame=b"\x00\x01frozen")
        for _ in range(5):
            decisions = session.see(frozen)
            session.run(1, belt_follows=False)
            assert commands(decisions) == []
        assert session.state() is GovernorState.IDLE

    def test_the_silence_before_a_start_does_not_count_as_stale_data(self) -> None:
        session = Session()
        session.run(10, belt_follows=False)  # connected, idle, no data for 10 s
        session.ask(Start(by_person=True))
        session.run(2, belt_follows=False)
        assert session.state() is GovernorState.RUNNING
        session.run(1, belt_follows=False)
        assert session.governor.latch_reason is LatchReason.STALE_DATA

    def test_a_belt_getting_up_to_speed_after_a_resume_is_not_diverging(self) -> None:
        """The halt just before counts as asked for: a belt coming up from 0 is not slow."""
        session = Session()
        session.start_at(2.0)
        session.ask(Pause())
        session.now_s += 0.5
        session.belt(0.0)
        session.ask(Resume(by_person=True))
        for belt_kmh in (0.2, 0.3, 0.4, 0.5):
            session.now_s += 0.5
            session.belt(belt_kmh)
            session._keep(session.governor.tick(session.now_s))
        assert session.state() is GovernorState.RUNNING


class TestStopVerification:
    def test_a_stop_the_belt_ignores_is_sent_again_with_a_loud_alarm(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.ask(EmergencyStop(source=RequestSource.HOTKEY))
        decisions: list[Decision] = []
        for _ in range(8):
            session.now_s += 0.25
            decisions += session.belt(2.5)
            decisions += session._keep(session.governor.tick(session.now_s))
        resent_at = [t for t, d in session.log if isinstance(d, SendStop)]
        assert resent_at[-1] - resent_at[0] == pytest.approx(2.0)
        assert any("SAFETY KEY" in alarm.text for alarm in alarms(decisions))
        assert LatchReason.STOP_NOT_CONFIRMED in session.governor.latch_reasons

    def test_a_turn_around_pause_the_belt_ignores_at_its_minimum_raises_the_alarm(
        self,
    ) -> None:
        """A belt still slowing from the ramp down has not obeyed the pause that follows."""
        session = Session()
        session.start_at(2.0, FORWARD)
        session.ask(SetTarget(1.5, BACKWARD))
        lagging_kmh = 2.0
        decisions: list[Decision] = []
        while not any(isinstance(d, SendPause) for d in decisions):
            session.now_s += 0.25
            decisions = session._keep(session.governor.tick(session.now_s))
            if session.now_s % 1.0 == 0.0:
                # the belt lags one ramp step behind, then holds the minimum
                lagging_kmh = max(RANGES.min_speed_kmh, lagging_kmh - 0.5)
                decisions += session.belt(lagging_kmh)
        later: list[Decision] = []
        for _ in range(12):
            session.now_s += 0.25
            if session.now_s % 1.0 == 0.0:
                later += session.belt(RANGES.min_speed_kmh)
            later += session._keep(session.governor.tick(session.now_s))
        assert any(isinstance(d, SendStop) for d in later)
        assert any("SAFETY KEY" in alarm.text for alarm in alarms(later))
        assert LatchReason.STOP_NOT_CONFIRMED in session.governor.latch_reasons

    def test_a_belt_that_slows_down_confirms_the_stop(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.ask(Pause())
        session.now_s += 1
        session.belt(2.0)
        decisions = session.run(5, belt_follows=False)
        assert alarms(decisions) == []
        assert commands(decisions) == []

    def test_a_stop_after_a_lost_link_is_unconfirmed_and_alarms(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.see(LinkDown())
        decisions = session.run(2.25, belt_follows=False)
        assert [type(d) for d in decisions if isinstance(d, SendStop | Alarm)] == [SendStop, Alarm]

    def test_the_safety_key_s_stop_needs_no_confirmation_from_the_belt(self) -> None:
        """The key stopped the belt itself: a treadmill silent after it raises no alarm."""
        session = Session()
        session.start_at(2.5)
        session.see(SafetyKeyPulled())
        later = session.run(6, belt_follows=False)
        assert alarms(later) == []
        assert session.governor.latch_reasons == {LatchReason.SAFETY_KEY}


class TestEndAndConsole:
    def test_an_end_ramps_down_then_stops(self) -> None:
        session = Session()
        session.start_at(2.5)
        session.ask(End())
        decisions = session.run_until(GovernorState.FINISHED)
        assert speeds(decisions)[-1] == 1.0
        assert isinstance(commands(decisions)[-1], SendStop)

    def test_an_immediate_end_stops_at_once(self) -> None:
        session = Session()
        session.start_at(2.5)
        decisions = session.ask(End(immediate=True))
        assert commands(decisions) == [SendStop("end requested: stop at once")]
        assert session.state() is GovernorState.FINISHED

    def test_a_stop_at_the_console_pauses_and_waits_for_the_person(self) -> None:
        session = Session()
        session.start_at(2.5)
        decisions = session.see(StoppedByUser())
        assert commands(decisions) == []
        assert session.state() is GovernorState.PAUSED
        assert commands(session.run(5, belt_follows=False)) == []
        assert speeds(session.ask(Resume(by_person=True))) == [1.0]

    def test_a_start_at_the_console_is_the_person_s_and_is_followed_from_the_start_speed(
        self,
    ) -> None:
        session = Session()
        session.ask(SetTarget(2.0, BACKWARD))
        decisions = session.see(StartedByUser())
        assert commands(decisions) == [
            SendSpeed(1.0, BACKWARD, "the person started the belt at the console")
        ]


class TestBadInput:
    @pytest.mark.parametrize("speed_kmh", [math.nan, math.inf, -math.inf, -0.5])
    def test_a_target_that_is_not_a_speed_is_refused_without_a_command(
        self, speed_kmh: float
    ) -> None:
        session = Session()
        session.start_at(2.0)
        decisions = session.ask(SetTarget(speed_kmh, BACKWARD))
        assert commands(decisions) == []
        assert isinstance(decisions[0], Refused)
        assert session.governor.target_speed_kmh == 2.0

    def test_a_target_incline_that_is_not_a_number_is_refused(self) -> None:
        session = Session()
        decisions = session.ask(SetTarget(2.0, BACKWARD, incline_pct=math.nan))
        assert isinstance(decisions[0], Refused)

    @pytest.mark.parametrize("elapsed_s", [math.nan, math.inf])
    def test_belt_data_with_an_elapsed_time_that_is_not_finite_keeps_nothing_quiet(
        self, elapsed_s: float
    ) -> None:
        session = Session()
        session.start_at(2.0)
        for _ in range(3):
            session.run(1, belt_follows=False)
            refused = session.see(BeltData(2.0, elapsed_s=elapsed_s))
            if session.state() is GovernorState.RUNNING:
                assert isinstance(refused[0], Refused)
        assert session.governor.latch_reason is LatchReason.STALE_DATA

    @pytest.mark.parametrize("speed_kmh", [math.nan, math.inf, -0.5])
    def test_a_reported_target_speed_that_is_not_a_speed_is_refused_not_acted_on(
        self, speed_kmh: float
    ) -> None:
        session = Session()
        session.start_at(2.0)
        decisions = session.see(TargetSpeedChanged(speed_kmh))
        assert [type(decision) for decision in decisions] == [Refused]
        assert session.state() is GovernorState.RUNNING

    def test_a_time_that_is_not_finite_is_a_programming_error(self) -> None:
        governor = SafetyGovernor(Limits(), RANGES, now_s=0.0)
        with pytest.raises(ValueError, match="now_s"):
            governor.tick(math.nan)

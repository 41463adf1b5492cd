"""The failsafe's parts: actions by severity, declared causes, the gate, the ramp."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treadmill_ctl.safety import (
    CAUSES,
    LATCH_CLEARS,
    Action,
    BeltData,
    ClearCondition,
    Cue,
    CueKind,
    Direction,
    EmergencyStop,
    GovernorState,
    LatchReason,
    Limits,
    LinkDown,
    MachineRanges,
    RequestSource,
    Resume,
    SafetyGovernor,
    SendIncline,
    SendPause,
    SendSpeed,
    SendStart,
    SendStop,
    SetTarget,
    SpeedWritten,
    Start,
)
from treadmill_ctl.safety.envelope import Envelope
from treadmill_ctl.safety.failsafe import MODE_ACTIONS, Latches, permitted
from treadmill_ctl.safety.ramp import Ramp
from treadmill_ctl.safety.turnaround import TurnAround

if TYPE_CHECKING:
    from treadmill_ctl.safety import Decision

RANGES = MachineRanges(min_speed_kmh=1.0, max_speed_kmh=12.0, speed_increment_kmh=0.1)
BACKWARD = Direction.BACKWARD
FORWARD = Direction.FORWARD


class TestActions:
    def test_a_latched_stop_outranks_everything_the_session_asks_for(self) -> None:
        assert max(MODE_ACTIONS.values()) is Action.LATCHED_STOP
        assert Action.NONE < Action.HOLD < Action.CONTROLLED_STOP < Action.LATCHED_STOP
        assert all(cause.action is Action.LATCHED_STOP for cause in CAUSES.values())

    def test_every_cause_is_declared_once_with_its_way_out(self) -> None:
        assert set(CAUSES) == set(LatchReason)
        assert LATCH_CLEARS[LatchReason.LINK_LOST] is ClearCondition.PERSON_REARMS_WITH_LINK_UP
        assert LATCH_CLEARS[LatchReason.EMERGENCY_STOP] is ClearCondition.PERSON_REARMS

    def test_the_most_severe_cause_names_the_latch(self) -> None:
        latches = Latches()
        assert not latches
        assert latches.add(LatchReason.STALE_DATA)
        assert latches.add(LatchReason.SAFETY_KEY)
        assert not latches.add(LatchReason.STALE_DATA)
        assert latches.most_severe is LatchReason.SAFETY_KEY
        assert latches.action is Action.LATCHED_STOP

    def test_a_cause_that_needs_the_link_refuses_a_rearm_without_it(self) -> None:
        latches = Latches()
        latches.add(LatchReason.EMERGENCY_STOP)
        assert latches.rearm_refusal(link_up=False) is None
        latches.add(LatchReason.LINK_LOST)
        assert latches.rearm_refusal(link_up=False) is not None
        assert latches.rearm_refusal(link_up=True) is None


def cap_kmh(direction: Direction) -> float:
    return 3.0 if direction is BACKWARD else 6.0


class TestTheGate:
    DECISIONS = (
        SendStart("start"),
        SendSpeed(1.0, BACKWARD, "step"),
        SendIncline(1.0, BACKWARD, "incline"),
        SendPause("pause"),
        SendStop("stop"),
        Cue(CueKind.PAUSED, "Paused.", "why"),
    )

    def test_while_latched_the_only_command_that_leaves_is_stop(self) -> None:
        out = permitted(list(self.DECISIONS), Action.LATCHED_STOP, cap_kmh)
        assert out == [SendStop("stop"), Cue(CueKind.PAUSED, "Paused.", "why")]

    @pytest.mark.parametrize("action", [Action.NONE, Action.HOLD, Action.CONTROLLED_STOP])
    def test_otherwise_everything_leaves_in_order(self, action: Action) -> None:
        assert permitted(list(self.DECISIONS), action, cap_kmh) == list(self.DECISIONS)

    @pytest.mark.parametrize("speed_kmh", [3.01, -0.5, float("nan"), float("inf")])
    def test_a_speed_past_its_direction_s_cap_or_no_speed_at_all_becomes_a_stop(
        self, speed_kmh: float
    ) -> None:
        (out,) = permitted([SendSpeed(speed_kmh, BACKWARD, "bug")], Action.NONE, cap_kmh)
        assert isinstance(out, SendStop)
        assert permitted([SendSpeed(3.0, BACKWARD, "ok")], Action.NONE, cap_kmh) == [
            SendSpeed(3.0, BACKWARD, "ok")
        ]


def ramp(*, writes_reported: bool) -> Ramp:
    return Ramp(Limits(), RANGES, now_s=0.0, step_s=0.5, writes_reported=writes_reported)


class TestRamp:
    def test_steps_are_the_rate_times_the_time_since_the_last_on_the_treadmill_s_grid(
        self,
    ) -> None:
        r = ramp(writes_reported=False)
        r.command(100, 0.0)
        assert r.next_hundredths(300, 0.4) is None  # too soon
        assert r.next_hundredths(300, 0.5) == 120
        r.command(120, 0.5)
        assert r.next_hundredths(300, 5.0) == 170  # a late tick buys at most 1 s of ramp
        assert r.next_hundredths(120, 5.0) is None  # at the goal

    def test_a_ramp_down_to_a_pause_halts_at_the_treadmill_s_minimum(self) -> None:
        r = ramp(writes_reported=False)
        r.command(120, 0.0)
        assert r.next_hundredths(0, 1.0) == 100
        r.command(100, 1.0)
        assert r.next_hundredths(0, 2.0) == 0

    def test_a_stopped_belt_does_not_ramp(self) -> None:
        assert ramp(writes_reported=False).next_hundredths(300, 10.0) is None

    def test_with_writes_reported_a_step_waits_for_the_last_one_to_be_written(self) -> None:
        r = ramp(writes_reported=True)
        r.command(100, 0.0)
        assert r.next_hundredths(300, 3.0) is None  # not written yet
        r.written(100, 3.0)
        assert r.next_hundredths(300, 3.4) is None  # written 0.4 s ago
        assert r.next_hundredths(300, 4.0) == 150  # sized by the time since the write

    def test_a_write_of_another_speed_is_not_the_last_step_s(self) -> None:
        r = ramp(writes_reported=True)
        r.command(100, 0.0)
        r.written(150, 1.0)
        assert r.next_hundredths(300, 2.0) is None


class TestEnvelope:
    def test_caps_starting_and_turn_around_speeds_are_the_limits_on_the_treadmill_s_grid(
        self,
    ) -> None:
        ranges = MachineRanges(min_speed_kmh=0.8, max_speed_kmh=5.0, speed_increment_kmh=0.3)
        envelope = Envelope(Limits(turnaround_speed_kmh=1.0), ranges)
        assert envelope.cap_hundredths(BACKWARD) == 290  # 0.8 + 7 x 0.3 <= 3.0
        assert envelope.cap_hundredths(FORWARD) == 500  # the treadmill's 5.0, on its grid
        assert envelope.starting_hundredths(BACKWARD) == 80  # 1.0 on the grid is 0.8
        assert envelope.turn_hundredths == 80
        assert envelope.speed_goal_hundredths(9.0, BACKWARD) == 290
        assert envelope.speed_goal_hundredths(0.5, BACKWARD) == 0  # below the minimum: a pause

    def test_a_direction_whose_limit_is_below_the_treadmill_s_minimum_cannot_run(self) -> None:
        envelope = Envelope(Limits(backward_max_speed_kmh=0.5), RANGES)
        assert envelope.cap_hundredths(BACKWARD) == 0
        assert envelope.starting_hundredths(BACKWARD) == 0

    def test_the_incline_while_turning_is_the_lower_of_both_directions(self) -> None:
        ranges = MachineRanges(1.0, 12.0, 0.1, max_incline_pct=10.0, incline_increment_pct=0.5)
        envelope = Envelope(Limits(), ranges)
        assert envelope.incline_goal_hundredths(8.0, FORWARD) == 800
        assert envelope.turn_incline_hundredths(8.0) == 300  # the backward cap
        assert envelope.incline_goal_hundredths(None, FORWARD) is None


def facing(turn: TurnAround) -> tuple[Direction, Direction | None]:
    return turn.direction, turn.pending


class TestTurnAround:
    def test_a_direction_asked_for_before_the_first_start_is_taken_at_once(self) -> None:
        turn = TurnAround(0, 5.0, now_s=0.0)
        turn.ask(BACKWARD)
        assert facing(turn) == (BACKWARD, None)

    def test_after_the_start_a_new_direction_waits_for_the_whole_hold_at_low_speed(
        self,
    ) -> None:
        turn = TurnAround(100, 5.0, now_s=0.0)
        turn.take()
        turn.commanded(200, 0.0)
        turn.ask(BACKWARD)
        assert turn.pending is BACKWARD
        assert turn.clock(10.0) is None  # still too fast: the hold has not begun
        turn.commanded(100, 10.0)
        assert [turn.clock(t) for t in (10.0, 10.5, 11.0, 14.9)] == [5, None, 4, 1]
        assert turn.start_direction(12.0) == pytest.approx(3.0)
        assert turn.clock(15.0) == 0
        assert facing(turn) == (BACKWARD, None)


class TestGovernorWithWritesReported:
    @staticmethod
    def running(*, writes_reported: bool) -> SafetyGovernor:
        governor = SafetyGovernor(
            Limits(), RANGES, now_s=0.0, link_up=True, writes_reported=writes_reported
        )
        governor.request(SetTarget(3.0, BACKWARD), 0.0)
        governor.request(Start(by_person=True), 0.0)
        return governor

    def test_a_slow_write_holds_the_next_step_until_it_is_written(self) -> None:
        governor = self.running(writes_reported=True)
        assert [d for t in (0.5, 1.0, 2.0) for d in governor.observe(BeltData(0.0), t)] == []
        governor.observe(SpeedWritten(1.0), 2.0)  # the start speed reached the treadmill
        assert governor.tick(2.4) == []
        (step,) = governor.observe(BeltData(1.0), 3.0)
        assert step == SendSpeed(1.5, BACKWARD, "ramp up toward 3 km/h")

    def test_without_reports_a_speed_counts_as_written_when_decided(self) -> None:
        governor = self.running(writes_reported=False)
        (step,) = governor.tick(1.0)
        assert isinstance(step, SendSpeed)
        assert step.speed_kmh == 1.5

    def test_the_state_and_the_action_are_the_most_severe_in_force(self) -> None:
        governor = self.running(writes_reported=False)
        assert (governor.state, governor.action) == (GovernorState.RUNNING, Action.NONE)
        governor.observe(BeltData(1.0), 0.5)
        governor.observe(LinkDown(), 0.6)
        decisions = governor.request(EmergencyStop(source=RequestSource.HOTKEY), 0.7)
        assert isinstance(decisions[0], SendStop)
        assert (governor.state, governor.action) == (GovernorState.LATCHED, Action.LATCHED_STOP)
        assert governor.latch_reason is LatchReason.EMERGENCY_STOP


@dataclass
class SlowWriter:
    """A control point that takes its time: the runner's queue, one write at a time.

    A newer speed replaces one still queued (as the runner does); each write is
    reported to the governor as it starts, and takes its drawn time to finish.
    """

    governor: SafetyGovernor
    latencies_s: list[float]
    queued: SendSpeed | None = None
    busy_until_s: float = 0.0
    written: list[tuple[float, float | None]] = field(default_factory=list)

    def take(self, decisions: list[Decision], now_s: float) -> None:
        for decision in decisions:
            if isinstance(decision, SendSpeed):
                self.queued = decision
            elif isinstance(decision, SendStop | SendPause):
                self.queued = None
                self.written.append((now_s, None))

    def run(self, now_s: float) -> None:
        if self.queued is None or now_s < self.busy_until_s:
            return
        speed_kmh, self.queued = self.queued.speed_kmh, None
        self.written.append((now_s, speed_kmh))
        self.busy_until_s = now_s + self.latencies_s[len(self.written) % len(self.latencies_s)]
        self.take(self.governor.observe(SpeedWritten(speed_kmh), now_s), now_s)


class TestTheRampAsTheTreadmillReceivesIt:
    @settings(max_examples=60, deadline=None)
    @given(
        latencies_s=st.lists(st.sampled_from([0.0, 0.1, 0.3, 0.8, 2.0, 5.0]), min_size=1),
        targets_kmh=st.lists(st.sampled_from([0.5, 1.5, 2.5, 4.0, 6.0]), min_size=1, max_size=6),
    )
    def test_written_speeds_change_at_most_the_rate_times_the_time_between_writes(
        self, latencies_s: list[float], targets_kmh: list[float]
    ) -> None:
        governor = SafetyGovernor(Limits(), RANGES, now_s=0.0, link_up=True, writes_reported=True)
        writer = SlowWriter(governor, latencies_s)
        writer.take(governor.request(SetTarget(targets_kmh[0], FORWARD), 0.0), 0.0)
        writer.take(governor.request(Start(by_person=True), 0.0), 0.0)
        for step in range(1, 1200):  # two minutes in 0.1 s ticks
            now_s = step / 10
            if step % 200 == 0:
                target = targets_kmh[step // 200 % len(targets_kmh)]
                writer.take(governor.request(SetTarget(target, FORWARD), now_s), now_s)
            if step % 10 == 0:
                belt = BeltData(governor.commanded_speed_kmh)
                writer.take(governor.observe(belt, now_s), now_s)
            if governor.state is GovernorState.PAUSED:
                writer.take(governor.request(Resume(by_person=True), now_s), now_s)
            writer.take(governor.tick(now_s), now_s)
            writer.run(now_s)
        assert governor.state is not GovernorState.LATCHED, governor.latch_reason
        speeds = [speed for _, speed in writer.written if speed is not None]
        assert len(speeds) > 1
        for (t0, v0), (t1, v1) in itertools.pairwise(writer.written):
            if v0 is None or v1 is None:
                continue
            rate = 0.5  # Limits(): acceleration and deceleration
            assert abs(v1 - v0) <= rate * (t1 - t0) + 1e-6, ((t0, v0), (t1, v1))

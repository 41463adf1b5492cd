"""The session's heart rate: the start refusal and its confirmation; stops and steps as requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from treadmill_ctl.ftms.heart_rate import decode_heart_rate_measurement
from treadmill_ctl.ftms.heart_rate_link import HeartRateLink, HeartRateReceived
from treadmill_ctl.profiles import PlannedSegment
from treadmill_ctl.safety import (
    BeltData,
    End,
    LatchReason,
    Limits,
    MachineRanges,
    SafetyGovernor,
    SetTarget,
    Start,
)
from treadmill_ctl.safety.states import Direction, GovernorState
from treadmill_ctl.session.clock import LoopClock
from treadmill_ctl.session.heart_rate import HeartRateSession

if TYPE_CHECKING:
    from treadmill_ctl.session.events import Cue

RANGES = MachineRanges(min_speed_kmh=0.5, max_speed_kmh=12.0, speed_increment_kmh=0.1)


class Outputs:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.cues: list[Cue] = []

    def emit(self, kind: str, **fields: Any) -> None:
        self.events.append((kind, fields))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


def session(
    *, ceiling: int | None = 140, strap: bool = True, without: bool = False
) -> tuple[HeartRateSession, Outputs]:
    out = Outputs()
    link = HeartRateLink("Polar H10", clock=LoopClock()) if strap else None
    hr = HeartRateSession(
        limits=Limits(heart_rate_max_bpm=ceiling),
        link=link,
        confirmed_without=without,
        emit=out.emit,
        cue=out.cues.append,
    )
    return hr, out


def strap_reading(hr: HeartRateSession, bpm: int, at_s: float) -> None:
    value = decode_heart_rate_measurement(bytes([0x06, bpm]))
    hr._handle(HeartRateReceived(value, "strap:AA", at_s))


def running_governor(speed_kmh: float, direction: Direction = Direction.FORWARD) -> SafetyGovernor:
    governor = SafetyGovernor(Limits(), RANGES, now_s=0.0, link_up=True)
    governor.request(SetTarget(speed_kmh, direction), 0.0)
    governor.request(Start(by_person=True), 0.0)
    for second in range(1, 20):
        belt_follows(governor, float(second))
    return governor


def belt_follows(governor: SafetyGovernor, now_s: float) -> None:
    """A belt at the commanded speed reports once a second; time passes in ticks."""
    speed = governor.commanded_speed_kmh
    frame = round(now_s).to_bytes(4, "little")
    governor.observe(BeltData(speed, elapsed_s=now_s, frame=frame), now_s)
    governor.tick(now_s + 0.5)


class TestStartRefusal:
    def test_no_heart_rate_with_a_ceiling_refuses_and_a_second_press_confirms(self) -> None:
        hr, out = session()
        waiting = hr.start_refusal(0.0, by_person=True)
        assert waiting == "Waiting for a heart rate from Polar H10: press start again in a moment."
        # an impatient double press while the strap connects never confirms
        assert hr.start_refusal(1.0, by_person=True) == waiting
        refusal = hr.start_refusal(11.0, by_person=True)
        assert refusal is not None
        assert "No heart rate from Polar H10" in refusal
        assert "press start again to go on without heart-rate protection" in refusal
        assert hr.start_refusal(15.0, by_person=True) is None
        assert "heart_rate.confirmed_without" in out.kinds()
        assert not hr.monitor.requires_source

    def test_a_stand_in_never_confirms_and_a_late_press_is_a_new_refusal(self) -> None:
        hr, _ = session()
        assert hr.start_refusal(0.0, by_person=False) is not None
        assert hr.start_refusal(11.0, by_person=False) is not None
        assert hr.start_refusal(12.0, by_person=False) is not None  # a stand-in never confirms
        assert hr.start_refusal(50.0, by_person=True) is not None  # too late: asks again
        assert hr.start_refusal(51.0, by_person=True) is None
        assert hr.first_refusal_s() == 0.0

    def test_a_heart_rate_or_no_ceiling_or_a_prior_choice_lets_it_start(self) -> None:
        hr, _ = session()
        strap_reading(hr, 90, 0.0)
        assert hr.start_refusal(1.0, by_person=True) is None
        assert session(ceiling=None)[0].start_refusal(0.0, by_person=True) is None
        assert session(without=True)[0].start_refusal(0.0, by_person=True) is None

    def test_with_a_strap_set_the_treadmills_heart_rate_is_not_a_source(self) -> None:
        hr, _ = session()
        hr.treadmill_heart_rate(90, 0.0)
        assert hr.display_bpm(0.0) is None
        bare, _ = session(strap=False)
        bare.treadmill_heart_rate(90, 0.0)
        assert bare.display_bpm(0.0) == 90


class TestTick:
    def test_sustained_above_the_ceiling_asks_for_the_controlled_stop(self) -> None:
        hr, out = session()
        governor = running_governor(4.0)
        requests: list[End | SetTarget] = []
        for second in range(20, 40):
            belt_follows(governor, float(second))
            strap_reading(hr, 150, float(second))
            requests += hr.tick(float(second), governor, None)
        assert requests == [End(latch=LatchReason.HEART_RATE, why=requests[0].why)]  # type: ignore[union-attr]
        assert "heart_rate.stop" in out.kinds()

    def test_a_guided_segment_steps_toward_its_zone(self) -> None:
        hr, out = session(ceiling=None)
        governor = running_governor(4.0)
        assert governor.state is GovernorState.RUNNING
        segment = PlannedSegment(
            index=0,
            direction=Direction.FORWARD,
            speed_kmh=4.0,
            incline_pct=0.0,
            duration_s=600,
            cue=None,
            start_s=0.0,
            origin="step 1",
            hr_zone_bpm=(105, 120),
            max_speed_kmh=5.0,
        )
        steps = []
        for second in range(20, 80):
            belt_follows(governor, float(second))
            strap_reading(hr, 90, float(second))
            steps += hr.tick(float(second), governor, segment)
        assert steps
        assert steps[0] == SetTarget(4.2, Direction.FORWARD, 0.0)  # far below: 0.2
        assert "heart_rate.zone_step" in out.kinds()
        assert [cue.text for cue in out.cues][:1] == ["Faster: 4.2 km/h."]


PROPERTY = settings(max_examples=150, deadline=None, derandomize=True)


def guided_steps(
    *,
    rates: list[int | None],
    start_kmh: float,
    segment_max_kmh: float,
    forward_cap_kmh: float,
    backward_cap_kmh: float,
    backward: bool,
    zone: tuple[int, int],
) -> list[float]:
    """Walk a guided segment with these heart rates, one a second; check every step.

    Returns:
        The zone guide's speeds, in order.
    """
    direction = Direction.BACKWARD if backward else Direction.FORWARD
    limits = Limits(forward_max_speed_kmh=forward_cap_kmh, backward_max_speed_kmh=backward_cap_kmh)
    governor = SafetyGovernor(limits, RANGES, now_s=0.0, link_up=True)
    governor.request(SetTarget(min(start_kmh, 1.0), direction), 0.0)
    governor.request(Start(by_person=True), 0.0)
    for second in range(1, 10):
        belt_follows(governor, float(second))
    cap_kmh = governor.speed_cap_kmh(direction)
    top_kmh = min(segment_max_kmh, cap_kmh)
    low, width = zone
    segment = PlannedSegment(
        index=0,
        direction=direction,
        speed_kmh=start_kmh,
        incline_pct=0.0,
        duration_s=600,
        cue=None,
        start_s=10.0,
        origin="step 1",
        hr_zone_bpm=(low, low + width),
        max_speed_kmh=segment_max_kmh,
    )
    hr, out = session(ceiling=None)
    governor.request(SetTarget(start_kmh, direction), 10.0)
    steps: list[float] = []
    for i, rate in enumerate(rates):
        now = 10.0 + i
        belt_follows(governor, now)
        if rate is not None:
            strap_reading(hr, rate, now)
        before_kmh = governor.target_speed_kmh
        for request in hr.tick(now, governor, segment):
            assert isinstance(request, SetTarget)
            assert request.speed_kmh <= top_kmh + 1e-9, (request, top_kmh)
            assert request.direction is direction
            if backward:
                assert before_kmh is not None
                assert request.speed_kmh < before_kmh, (request, before_kmh)
            steps.append(request.speed_kmh)
            governor.request(request, now)
        assert governor.commanded_speed_kmh <= cap_kmh + 1e-9
    said = [cue.text for cue in out.cues if cue.kind == "heart_rate_zone"]
    assert len(said) == len(steps)
    assert all(len(text) <= 24 for text in said)  # each change said briefly
    return steps


class TestGuidedSpeedsProperty:
    """Guided speeds stay under the segment's maximum and the caps; backward only slower.

    Whatever the heart does (any rates, gaps, zeros, glitches).
    """

    @PROPERTY
    @given(
        rates=st.lists(st.none() | st.integers(0, 255), min_size=40, max_size=160),
        start_kmh=st.floats(1.0, 7.0),
        segment_max_kmh=st.floats(1.0, 9.0),
        forward_cap_kmh=st.floats(2.0, 8.0),
        backward_cap_kmh=st.floats(1.0, 3.0),
        backward=st.booleans(),
        zone=st.tuples(st.integers(70, 150), st.integers(5, 30)),
    )
    @example(
        rates=[60] * 120,
        start_kmh=4.0,
        segment_max_kmh=6.0,
        forward_cap_kmh=4.5,
        backward_cap_kmh=3.0,
        backward=False,
        zone=(120, 20),
    )
    @example(
        rates=[60] * 120,
        start_kmh=2.5,
        segment_max_kmh=3.0,
        forward_cap_kmh=6.0,
        backward_cap_kmh=3.0,
        backward=True,
        zone=(120, 20),
    )
    def test_no_zone_step_goes_above_the_segment_or_the_caps(
        self,
        *,
        rates: list[int | None],
        start_kmh: float,
        segment_max_kmh: float,
        forward_cap_kmh: float,
        backward_cap_kmh: float,
        backward: bool,
        zone: tuple[int, int],
    ) -> None:
        assert (
            guided_steps(
                rates=rates,
                start_kmh=start_kmh,
                segment_max_kmh=segment_max_kmh,
                forward_cap_kmh=forward_cap_kmh,
                backward_cap_kmh=backward_cap_kmh,
                backward=backward,
                zone=zone,
            )
            is not None
        )

    def test_below_the_zone_it_climbs_to_the_cap_and_no_further(self) -> None:
        steps = guided_steps(
            rates=[60] * 200,
            start_kmh=4.0,
            segment_max_kmh=6.0,
            forward_cap_kmh=4.5,
            backward_cap_kmh=3.0,
            backward=False,
            zone=(120, 20),
        )
        assert steps[-1] == 4.5  # the cap, below the segment's 6.0
        assert max(steps) == 4.5

    def test_backward_below_the_zone_it_never_speeds_up(self) -> None:
        common = {"start_kmh": 2.5, "segment_max_kmh": 3.0, "forward_cap_kmh": 6.0}
        slow = guided_steps(
            rates=[60] * 200, backward_cap_kmh=3.0, backward=True, zone=(120, 20), **common
        )
        assert slow == []
        fast = guided_steps(
            rates=[150] * 200, backward_cap_kmh=3.0, backward=True, zone=(100, 15), **common
        )
        assert fast
        assert fast == sorted(fast, reverse=True)

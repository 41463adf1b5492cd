"""The session's heart rate: the start refusal and its confirmation; stops and steps as requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

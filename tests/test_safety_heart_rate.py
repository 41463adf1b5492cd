"""The robust heart rate, the ceiling and the zone controller: rules as properties."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from hypothesis import example, given, settings
from hypothesis import strategies as st

from treadmill_ctl.safety.heart_rate import (
    HeartRateMonitor,
    HeartRateNews,
    HeartRateReading,
    HeartRateVerdict,
    RobustHeartRate,
    ZoneController,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True)

CEILING = 140.0


def run_monitor(
    monitor: HeartRateMonitor,
    readings: Sequence[HeartRateReading | None],
    *,
    dt_s: float = 1.0,
    ticks_per_reading: int = 4,
) -> list[tuple[float, HeartRateVerdict]]:
    """Feed one reading (or none) per ``dt_s``, ticking the monitor in between."""
    stops: list[tuple[float, HeartRateVerdict]] = []
    now = 0.0
    for reading in readings:
        if reading is not None:
            monitor.feed(reading, now)
        for _ in range(ticks_per_reading):
            update = monitor.update(now, moving=True)
            if update.stop is not None:
                stops.append((now, update.stop))
            now += dt_s / ticks_per_reading
    return stops


def steady(bpm: float, count: int) -> list[HeartRateReading | None]:
    return [HeartRateReading(bpm) for _ in range(count)]


class TestRobustHeartRate:
    def test_a_steady_rate_is_its_own_median(self) -> None:
        robust = RobustHeartRate()
        for t in range(5):
            assert robust.feed(HeartRateReading(100 + t % 2), float(t))
        assert robust.value_bpm(4.0) == 100  # 100, 101, 100, 101, 100

    def test_zeros_no_contact_and_impossible_rates_are_dropped(self) -> None:
        robust = RobustHeartRate()
        assert not robust.feed(HeartRateReading(0), 0.0)
        assert not robust.feed(HeartRateReading(80, contact=False), 1.0)
        assert not robust.feed(HeartRateReading(255), 2.0)
        assert not robust.feed(HeartRateReading(float("nan")), 3.0)
        assert robust.value_bpm(3.0) is None
        assert robust.rejected == 4

    def test_a_jump_is_held_back_until_confirmed(self) -> None:
        robust = RobustHeartRate()
        for t in range(5):
            robust.feed(HeartRateReading(90), float(t))
        assert not robust.feed(HeartRateReading(180), 5.0)
        assert robust.value_bpm(5.0) == 90
        assert not robust.feed(HeartRateReading(182), 6.0)
        assert robust.feed(HeartRateReading(181), 7.0)  # three in a row: a real level
        assert robust.value_bpm(7.0) == 181

    def test_a_value_goes_stale(self) -> None:
        robust = RobustHeartRate(stale_s=5.0)
        robust.feed(HeartRateReading(90, source="strap:X"), 0.0)
        assert robust.value_bpm(5.0) == 90
        assert robust.value_bpm(5.1) is None
        assert robust.source == "strap:X"

    def test_a_climb_of_20_s_is_followed(self) -> None:
        robust = RobustHeartRate()
        for t in range(40):
            bpm = 110 + min(60.0, 3.0 * max(0, t - 10))
            robust.feed(HeartRateReading(bpm), float(t))
        assert robust.value_bpm(39.0) == 170


class TestCeiling:
    def test_sustained_above_the_ceiling_stops_once_and_latches(self) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        stops = run_monitor(monitor, steady(120, 10) + steady(150, 20))
        assert [verdict for _, verdict in stops] == [HeartRateVerdict.ABOVE_CEILING]
        t_s, _ = stops[0]
        # held back three readings (jump of 30), median of five, then 5 s sustained
        assert 10 + 5 <= t_s <= 10 + 5 + 6
        assert monitor.latched is HeartRateVerdict.ABOVE_CEILING

    def test_after_a_rearm_the_ceiling_acts_again(self) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        run_monitor(monitor, steady(150, 15))
        monitor.rearm()
        assert monitor.latched is None

    def test_no_rate_for_5_s_while_moving_stops_as_unknown(self) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        stops = run_monitor(monitor, steady(100, 5) + [None] * 15)
        assert [verdict for _, verdict in stops] == [HeartRateVerdict.UNKNOWN]
        # the last reading at 4 s; unknown after more than 5 s
        assert 9.0 < stops[0][0] <= 10.5

    def test_zeros_without_contact_are_unknown_too(self) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        zeros: list[HeartRateReading | None] = [HeartRateReading(0, contact=False)] * 15
        stops = run_monitor(monitor, steady(100, 5) + zeros)
        assert [verdict for _, verdict in stops] == [HeartRateVerdict.UNKNOWN]

    def test_without_a_ceiling_a_lost_source_is_only_reported(self) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=None)
        news = []
        now = 0.0
        for reading in steady(100, 5) + [None] * 10 + steady(100, 3):
            if reading is not None:
                monitor.feed(reading, now)
            update = monitor.update(now, moving=True)
            assert update.stop is None
            if update.news is not None:
                news.append(update.news)
            now += 1.0
        assert news == [HeartRateNews.LOST, HeartRateNews.BACK]

    def test_the_first_reading_of_a_session_is_not_a_return(self) -> None:
        """Before the strap's first reading nothing was lost: no 'heart rate back' then."""
        monitor = HeartRateMonitor(ceiling_bpm=None)
        news = []
        now = 0.0
        for reading in [None] * 3 + steady(100, 5) + [None] * 10 + steady(100, 3):
            if reading is not None:
                monitor.feed(reading, now)
            update = monitor.update(now, moving=True)
            if update.news is not None:
                news.append(update.news)
            now += 1.0
        assert news == [HeartRateNews.LOST, HeartRateNews.BACK]

    def test_a_person_who_goes_on_without_a_source_is_not_stopped_for_it(self) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING, require_source=False)
        assert run_monitor(monitor, [None] * 30) == []
        assert run_monitor(monitor, steady(150, 20))[0][1] is HeartRateVerdict.ABOVE_CEILING

    def test_a_belt_standing_still_is_not_stopped(self) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        for t in range(30):
            assert monitor.update(float(t), moving=False).stop is None

    @PROPERTY
    @given(
        st.lists(st.floats(60, 135), min_size=5, max_size=60),
        st.integers(0, 59),
        st.floats(0, 300) | st.just(0.0),
    )
    @example([120.0] * 10, 5, 250.0)
    @example([138.0] * 10, 5, 150.0)
    def test_a_single_spike_never_stops_the_belt(
        self, rates: list[float], where: int, spike: float
    ) -> None:
        # a walk that stays below the ceiling, changing at most 2 bpm a second
        smooth = [rates[0]]
        for rate in rates[1:]:
            smooth.append(max(smooth[-1] - 2, min(smooth[-1] + 2, rate)))
        readings: list[HeartRateReading | None] = [HeartRateReading(smooth[0])] * 5
        readings += [HeartRateReading(r) for r in smooth]
        readings[5 + where % len(smooth)] = HeartRateReading(spike)
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        stops = run_monitor(monitor, readings)
        assert stops == []

    @PROPERTY
    @given(st.floats(145, 220), st.integers(12, 40), st.floats(60, 130))
    def test_a_rate_truly_above_the_ceiling_always_stops(
        self, high: float, seconds: int, before: float
    ) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        stops = run_monitor(monitor, steady(before, 5) + steady(high, seconds))
        assert [verdict for _, verdict in stops] == [HeartRateVerdict.ABOVE_CEILING]

    @PROPERTY
    @given(
        st.lists(
            st.none() | st.floats(0, 260).map(HeartRateReading),
            max_size=80,
        )
    )
    def test_without_a_ceiling_nothing_ever_stops(
        self, readings: list[HeartRateReading | None]
    ) -> None:
        assert run_monitor(HeartRateMonitor(ceiling_bpm=None), readings) == []

    @PROPERTY
    @given(st.integers(0, 20), st.integers(7, 30))
    def test_any_silence_longer_than_5_s_stops_and_shorter_never(
        self, before: int, silence: int
    ) -> None:
        monitor = HeartRateMonitor(ceiling_bpm=CEILING)
        stops = run_monitor(monitor, steady(100, before) + [None] * silence + steady(100, 10))
        assert [verdict for _, verdict in stops] == [HeartRateVerdict.UNKNOWN]
        short = HeartRateMonitor(ceiling_bpm=CEILING)
        gaps: list[HeartRateReading | None] = ([None] * 4 + [HeartRateReading(100)]) * 6
        assert run_monitor(short, steady(100, 5) + gaps) == []


def drive(
    controller: ZoneController,
    rates: list[float | None],
    speed_kmh: float,
    *,
    dt_s: float = 1.0,
) -> list[tuple[float, float]]:
    """Feed the controller; return the (time, speed) of every change."""
    changes: list[tuple[float, float]] = []
    for i, rate in enumerate(rates):
        now = i * dt_s
        step = controller.update(now, rate, speed_kmh)
        if step is not None:
            speed_kmh = step.speed_kmh
            changes.append((now, speed_kmh))
    return changes


class TestZoneController:
    def test_it_speeds_up_below_the_zone_in_small_steps_after_settling(self) -> None:
        controller = ZoneController(zone_bpm=(105, 120), max_speed_kmh=6.0, now_s=0.0)
        changes = drive(controller, [100.0] * 61, 4.0)
        assert changes[0][0] >= 30.0  # holds after the profile's change
        assert [round(s, 2) for _, s in changes] == [4.1, 4.2, 4.3, 4.4]
        assert all(b[0] - a[0] >= 10 for a, b in itertools.pairwise(changes))

    def test_it_holds_in_the_zone_and_while_stale(self) -> None:
        controller = ZoneController(zone_bpm=(105, 120), max_speed_kmh=6.0, now_s=0.0)
        assert drive(controller, [112.0] * 100, 4.0) == []
        stale = ZoneController(zone_bpm=(105, 120), max_speed_kmh=6.0, now_s=0.0)
        assert drive(stale, [None] * 100, 4.0) == []

    def test_settled_near_an_edge_it_nudges_toward_the_middle_unhurried(self) -> None:
        controller = ZoneController(zone_bpm=(100, 116), max_speed_kmh=6.0, now_s=0.0)
        # 102 bpm: inside the zone, in its lower quarter (100-104), and not moving
        changes = drive(controller, [102.0] * 121, 4.0)
        assert [s for _, s in changes] == [4.1, 4.2, 4.3, 4.4]
        assert all(b[0] - a[0] >= 30 for a, b in itertools.pairwise(changes))
        # in the middle half it holds
        assert (
            drive(ZoneController(zone_bpm=(100, 116), max_speed_kmh=6, now_s=0), [106.0] * 200, 4.0)
            == []
        )

    def test_far_above_it_slows_by_two_tenths(self) -> None:
        controller = ZoneController(zone_bpm=(105, 120), max_speed_kmh=6.0, now_s=0.0)
        assert drive(controller, [140.0] * 31, 4.0) == [(30.0, 3.8)]

    def test_backward_it_only_slows_down(self) -> None:
        controller = ZoneController(
            zone_bpm=(105, 120), max_speed_kmh=3.0, backward=True, now_s=0.0
        )
        assert drive(controller, [90.0] * 100, 2.0) == []
        assert drive(controller, [130.0] * 100, 2.0)[0][1] < 2.0

    def test_a_change_from_outside_makes_it_hold_off(self) -> None:
        controller = ZoneController(zone_bpm=(105, 120), max_speed_kmh=6.0, now_s=-100.0)
        controller.changed_from_outside(0.0)
        assert controller.update(1.0, 100.0, 4.0) is None
        controller.changed_from_outside(1.0)
        assert controller.update(30.0, 100.0, 4.0) is None
        assert controller.update(31.0, 100.0, 4.0) is not None

    @PROPERTY
    @given(
        st.lists(st.none() | st.floats(40, 200), min_size=1, max_size=200),
        st.floats(0.5, 6.0),
        st.floats(1.0, 8.0),
        st.booleans(),
        st.tuples(st.floats(80, 150), st.floats(5, 30)),
    )
    def test_speeds_stay_within_the_segment_and_change_slowly(
        self,
        rates: list[float | None],
        start_kmh: float,
        max_kmh: float,
        backward: bool,  # noqa: FBT001 - drawn by hypothesis
        zone: tuple[float, float],
    ) -> None:
        low, width = zone
        controller = ZoneController(
            zone_bpm=(low, low + width), max_speed_kmh=max_kmh, backward=backward, now_s=0.0
        )
        speed = start_kmh
        last_change = None
        for i, rate in enumerate(rates):
            step = controller.update(float(i), rate, speed)
            if step is None:
                continue
            assert step.speed_kmh <= max_kmh + 1e-9
            if speed <= max_kmh:
                assert abs(step.speed_kmh - speed) <= 0.2 + 1e-9
                if last_change is not None:
                    assert i - last_change >= 10
                last_change = i
            if backward:
                assert step.speed_kmh < speed
            assert rate is not None or speed > max_kmh
            speed = step.speed_kmh

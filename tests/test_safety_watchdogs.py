"""The watchdogs, each on its own: observations and time in, a latch cause out."""

from __future__ import annotations

import math

import pytest

from treadmill_ctl.safety import (
    BeltData,
    Direction,
    LatchReason,
    Limits,
    Pause,
    SetTarget,
    SpeedWritten,
    TargetSpeedChanged,
)
from treadmill_ctl.safety.validity import is_finite, is_speed, refusal
from treadmill_ctl.safety.watchdogs import (
    FrozenFrames,
    Odometer,
    SpeedDivergence,
    StaleData,
    StopConfirmation,
)


class TestValidity:
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -0.01, True, "2.0", None])
    def test_what_is_not_a_speed(self, value: object) -> None:
        assert not is_speed(value)

    @pytest.mark.parametrize("value", [0, 0.0, 2.5, 25])
    def test_what_is_a_speed(self, value: object) -> None:
        assert is_speed(value)

    def test_a_speed_above_the_ceiling_is_not_one(self) -> None:
        assert is_speed(3.0, ceiling_kmh=3.0)
        assert not is_speed(3.01, ceiling_kmh=3.0)

    def test_a_negative_number_is_finite_but_a_boolean_is_no_number(self) -> None:
        assert is_finite(-1.5)
        assert not is_finite(value=False)
        assert not is_finite(math.nan)

    @pytest.mark.parametrize(
        ("item", "words"),
        [
            (SetTarget(math.nan, Direction.BACKWARD), "target speed nan is not a speed"),
            (SetTarget(-0.5, Direction.BACKWARD), "target speed -0.5 is not a speed"),
            (SetTarget(2.0, Direction.BACKWARD, incline_pct=math.inf), "target incline inf"),
            (BeltData(math.inf), "belt speed inf cannot be trusted"),
            (BeltData(2.0, elapsed_s=math.nan), "elapsed time nan cannot be trusted"),
            (TargetSpeedChanged(-1.0), "reported target speed -1.0 cannot be trusted"),
            (SpeedWritten(math.nan), "written speed nan is not a speed"),
        ],
    )
    def test_every_number_handed_to_the_governor_is_checked_in_one_place(
        self, item: object, words: str
    ) -> None:
        why = refusal(item)  # type: ignore[arg-type]
        assert why is not None
        assert words in why

    @pytest.mark.parametrize(
        "item",
        [
            SetTarget(0.0, Direction.FORWARD, incline_pct=-3.0),
            BeltData(0.0, elapsed_s=None),
            TargetSpeedChanged(12.5),
            SpeedWritten(1.0),
            Pause(),
        ],
    )
    def test_sound_numbers_pass(self, item: object) -> None:
        assert refusal(item) is None  # type: ignore[arg-type]


class TestStaleData:
    def test_silence_longer_than_the_timeout_trips_as_stale_data(self) -> None:
        stale = StaleData(2.5, now_s=0.0)
        assert stale.check(2.5) is None
        trip = stale.check(2.6)
        assert trip is not None
        assert trip.cause is LatchReason.STALE_DATA
        assert "2.6 s" in trip.why

    def test_valid_data_restarts_the_silence(self) -> None:
        stale = StaleData(2.5, now_s=0.0)
        stale.fed(2.0)
        assert stale.check(4.0) is None
        assert stale.check(4.6) is not None

    def test_arming_counts_the_silence_from_the_start_of_motion(self) -> None:
        stale = StaleData(2.5, now_s=0.0)
        stale.arm(100.0)
        assert stale.check(102.0) is None
        assert stale.check(103.0) is not None


def frame(speed_kmh: float, elapsed_s: float, raw: bytes = b"\x01\x02") -> BeltData:
    return BeltData(speed_kmh, elapsed_s=elapsed_s, frame=raw)


class TestFrozenFrames:
    def test_identical_frames_of_a_moving_belt_trip_once_they_span_more_than_a_second(
        self,
    ) -> None:
        frozen = FrozenFrames(3)
        assert frozen.see(frame(2.0, 10), 0.0, watching=True) is None
        assert frozen.see(frame(2.0, 10), 0.5, watching=True) is None
        assert frozen.see(frame(2.0, 10), 1.0, watching=True) is None  # 3 frames, 1.0 s
        trip = frozen.see(frame(2.0, 10), 1.5, watching=True)
        assert trip is not None
        assert trip.cause is LatchReason.STALE_DATA

    def test_a_frame_that_changes_starts_the_count_again(self) -> None:
        frozen = FrozenFrames(3)
        for t in range(5):
            assert frozen.see(frame(2.0, 10 + t), float(t), watching=True) is None

    def test_a_still_belt_or_a_frame_without_elapsed_time_never_counts(self) -> None:
        frozen = FrozenFrames(3)
        for t in range(5):
            assert frozen.see(frame(0.0, 10), float(t), watching=True) is None
            assert frozen.see(BeltData(2.0, frame=b"\x01"), float(t), watching=True) is None

    def test_frames_seen_while_not_watching_trip_only_once_watching(self) -> None:
        frozen = FrozenFrames(3)
        for t in range(4):
            assert frozen.see(frame(2.0, 10), float(t), watching=False) is None
        assert frozen.see(frame(2.0, 10), 4.0, watching=True) is not None

    def test_a_reset_forgets_the_frames(self) -> None:
        frozen = FrozenFrames(3)
        for t in range(3):
            frozen.see(frame(2.0, 10), float(t), watching=True)
        frozen.reset()
        assert frozen.see(frame(2.0, 10), 3.0, watching=True) is None


class TestSpeedDivergence:
    def test_a_belt_faster_than_anything_asked_trips_after_the_persist_time(self) -> None:
        divergence = SpeedDivergence(Limits(), now_s=0.0)
        divergence.asked(200, 0.0)
        assert divergence.see(2.0, 5.0) is None
        assert divergence.see(2.6, 6.0) is None  # out of band: the persist time starts
        assert divergence.see(2.6, 6.5) is None
        trip = divergence.see(2.6, 7.0)
        assert trip is not None
        assert trip.cause is LatchReason.UNREQUESTED_SPEED_CHANGE

    def test_back_in_band_the_persist_time_starts_again(self) -> None:
        divergence = SpeedDivergence(Limits(), now_s=0.0)
        divergence.asked(200, 0.0)
        assert divergence.see(2.6, 6.0) is None
        assert divergence.see(2.0, 6.5) is None
        assert divergence.see(2.6, 7.0) is None

    def test_what_was_asked_within_the_grace_time_counts(self) -> None:
        divergence = SpeedDivergence(Limits(speed_divergence_persist_s=0.0), now_s=0.0)
        divergence.asked(300, 10.0)
        divergence.asked(200, 11.0)
        assert divergence.see(3.0, 12.0) is None  # 3.0 was asked 2 s ago
        assert divergence.see(3.0, 14.5) is not None  # no longer: the grace time is 3 s

    def test_a_slow_belt_counts_only_once_it_was_seen_moving(self) -> None:
        divergence = SpeedDivergence(Limits(speed_divergence_persist_s=0.0), now_s=0.0)
        divergence.asked(200, 0.0)
        assert divergence.see(0.0, 5.0) is None
        assert divergence.see(2.0, 6.0) is None
        assert divergence.see(0.5, 7.0) is not None

    def test_a_restart_forgets_that_the_belt_was_moving(self) -> None:
        divergence = SpeedDivergence(Limits(speed_divergence_persist_s=0.0), now_s=0.0)
        divergence.asked(200, 0.0)
        divergence.see(2.0, 5.0)
        divergence.restart()
        assert divergence.see(0.0, 6.0) is None

    def test_the_echo_of_a_recent_command_is_ours_and_a_far_speed_is_not(self) -> None:
        divergence = SpeedDivergence(Limits(), now_s=0.0)
        divergence.asked(150, 1.0)
        divergence.asked(200, 2.0)
        assert divergence.is_echo(1.5, 3.0)
        assert divergence.is_echo(2.06, 3.0)
        assert not divergence.is_echo(2.1, 3.0)
        assert not divergence.is_echo(1.5, 10.0)  # long ago: only 2.0 counts now


class TestOdometer:
    @staticmethod
    def walk(odometer: Odometer, metres_per_s: float, seconds: int) -> list[str]:
        trips = []
        for t in range(seconds):
            trip = odometer.see(2.0, int(t * metres_per_s), float(t))
            if trip is not None:
                assert trip.cause is LatchReason.UNREQUESTED_SPEED_CHANGE
                trips.append(trip.why)
        return trips

    def test_a_belt_covering_mph_distances_at_km_h_speeds_trips(self) -> None:
        trips = self.walk(Odometer(), 2.0 * 1.609344 / 3.6, 40)
        assert trips
        assert "mph" in trips[0]

    def test_a_belt_covering_what_its_speed_says_does_not(self) -> None:
        assert self.walk(Odometer(), 2.0 / 3.6, 200) == []

    @pytest.mark.parametrize("distance_m", [None, math.nan, -1.0])
    def test_no_distance_or_a_bad_one_is_no_evidence(self, distance_m: float | None) -> None:
        odometer = Odometer()
        assert all(odometer.see(2.0, distance_m, float(t)) is None for t in range(100))

    def test_a_long_gap_between_frames_starts_the_comparison_again(self) -> None:
        odometer = Odometer()
        metres_per_s = 2.0 * 1.609344 / 3.6
        for t in range(0, 60, 6):  # a frame every 6 s: every gap restarts
            assert odometer.see(2.0, int(t * metres_per_s), float(t)) is None


def waiting(check: StopConfirmation) -> bool:
    """Whether the check still waits (read afresh each time)."""
    return check.pending


class TestStopConfirmation:
    def test_a_stop_the_belt_ignores_trips_after_the_verify_time_and_again_after_as_long(
        self,
    ) -> None:
        check = StopConfirmation(2.0)
        check.arm(10.0, belt_kmh=2.5, commanded_kmh=2.5)
        check.see(2.5)
        assert check.check(11.9) is None
        trip = check.check(12.0)
        assert trip is not None
        assert trip.cause is LatchReason.STOP_NOT_CONFIRMED
        assert check.check(13.9) is None
        assert check.check(14.0) is not None

    def test_a_falling_belt_confirms_the_stop(self) -> None:
        check = StopConfirmation(2.0)
        check.arm(0.0, belt_kmh=2.5, commanded_kmh=2.5)
        check.see(2.45)
        assert waiting(check)
        check.see(2.3)
        assert not waiting(check)
        assert check.check(5.0) is None

    def test_a_belt_still_above_the_last_command_has_not_obeyed_a_pause(self) -> None:
        """Slowing from an earlier, higher ramp step is not obeying the pause."""
        check = StopConfirmation(2.0)
        check.arm(0.0, belt_kmh=2.0, commanded_kmh=1.0)
        check.see(1.5)  # fell from 2.0, but not below the 1.0 last commanded
        assert waiting(check)
        assert check.check(2.0) is not None
        check.see(0.85)
        assert not waiting(check)

    def test_a_stopped_belt_confirms_at_once_and_a_second_arm_keeps_the_first_time(
        self,
    ) -> None:
        check = StopConfirmation(2.0)
        check.arm(0.0, belt_kmh=0.5, commanded_kmh=math.inf)
        check.arm(1.5, belt_kmh=0.5, commanded_kmh=math.inf)
        assert check.check(2.0) is not None  # counted from the first
        check.see(0.0)
        assert not waiting(check)

    def test_a_cancelled_check_never_trips(self) -> None:
        check = StopConfirmation(2.0)
        check.arm(0.0, belt_kmh=2.0, commanded_kmh=2.0)
        check.cancel()
        assert check.check(10.0) is None

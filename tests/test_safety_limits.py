"""Limits as data: defaults, ceilings, overrides, tightening, and the treadmill's ranges."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.safety import ABSOLUTE_BOUNDS, HARD_CEILINGS, Limits, MachineRanges, Override


class TestDefaults:
    def test_the_defaults_are_the_numbers_of_safety_md(self) -> None:
        limits = Limits()
        assert limits.backward_max_speed_kmh == 3.0
        assert limits.forward_max_speed_kmh == 6.0
        assert limits.starting_speed_kmh == 1.0
        assert limits.acceleration_kmh_per_s == 0.5
        assert limits.deceleration_kmh_per_s == 0.5
        assert limits.turnaround_speed_kmh == 0.0
        assert limits.turnaround_hold_s == 5.0
        assert limits.backward_max_incline_pct == 3.0
        assert limits.stale_data_timeout_s == 2.5
        assert limits.frozen_frame_count == 3
        assert limits.stop_verify_s == 2.0
        assert limits.heart_rate_max_bpm is None

    def test_the_hard_ceilings_are_the_numbers_of_safety_md(self) -> None:
        assert HARD_CEILINGS["backward_max_speed_kmh"] == 5.0
        assert HARD_CEILINGS["starting_speed_kmh"] == 2.0
        assert HARD_CEILINGS["acceleration_kmh_per_s"] == 1.0
        assert HARD_CEILINGS["deceleration_kmh_per_s"] == 1.0
        assert HARD_CEILINGS["turnaround_speed_kmh"] == 1.0
        assert HARD_CEILINGS["backward_max_incline_pct"] == 6.0
        assert HARD_CEILINGS["stale_data_timeout_s"] == 5.0

    def test_every_default_lies_within_its_absolute_bounds_and_ceiling(self) -> None:
        limits = Limits()
        for key, (lowest, highest) in ABSOLUTE_BOUNDS.items():
            value = getattr(limits, key)
            if value is not None:
                assert lowest <= value <= highest, key
        for key, ceiling in HARD_CEILINGS.items():
            assert getattr(limits, key) <= ceiling, key

    def test_limits_cannot_be_built_outside_their_absolute_bounds(self) -> None:
        with pytest.raises(ConfigError, match="backward_max_speed_kmh"):
            Limits(backward_max_speed_kmh=-1.0)


class TestUserConfig:
    def test_a_user_may_tighten_a_limit(self) -> None:
        limits, overrides = Limits.from_mapping({"backward_max_speed_kmh": 2.5})
        assert limits.backward_max_speed_kmh == 2.5
        assert overrides == []

    def test_a_user_may_raise_a_limit_up_to_its_hard_ceiling_without_an_override(self) -> None:
        limits, overrides = Limits.from_mapping({"backward_max_speed_kmh": 5.0})
        assert limits.backward_max_speed_kmh == 5.0
        assert overrides == []

    def test_passing_a_hard_ceiling_without_the_flag_is_an_error_naming_key_and_source(
        self,
    ) -> None:
        with pytest.raises(ConfigError, match=r"limits\.toml: backward_max_speed_kmh .*ceiling"):
            Limits.from_mapping({"backward_max_speed_kmh": 5.5}, source="limits.toml")

    def test_passing_a_hard_ceiling_with_the_flag_is_reported_as_an_override(self) -> None:
        limits, overrides = Limits.from_mapping(
            {"backward_max_speed_kmh": 5.5, "starting_speed_kmh": 1.5},
            allow_override=True,
            source="limits.toml",
        )
        assert limits.backward_max_speed_kmh == 5.5
        assert overrides == [
            Override(key="backward_max_speed_kmh", value=5.5, hard_limit=5.0, source="limits.toml")
        ]

    def test_a_turnaround_hold_below_its_floor_needs_an_override(self) -> None:
        with pytest.raises(ConfigError, match="turnaround_hold_s"):
            Limits.from_mapping({"turnaround_hold_s": 2.0})
        _, overrides = Limits.from_mapping({"turnaround_hold_s": 2.0}, allow_override=True)
        assert [override.key for override in overrides] == ["turnaround_hold_s"]

    def test_no_override_passes_the_absolute_bounds(self) -> None:
        with pytest.raises(ConfigError, match="backward_max_speed_kmh"):
            Limits.from_mapping({"backward_max_speed_kmh": 30.0}, allow_override=True)

    def test_an_unknown_key_is_an_error_naming_it(self) -> None:
        with pytest.raises(ConfigError, match="backwards_max_speed"):
            Limits.from_mapping({"backwards_max_speed": 2.0})

    @pytest.mark.parametrize("bad", ["fast", True, math.nan, math.inf, None, [1.0]])
    def test_a_value_that_is_not_a_finite_number_is_an_error_naming_the_key(
        self, bad: object
    ) -> None:
        with pytest.raises(ConfigError, match="acceleration_kmh_per_s"):
            Limits.from_mapping({"acceleration_kmh_per_s": bad})

    def test_a_count_must_be_a_whole_number_but_may_be_written_as_a_float(self) -> None:
        limits, _ = Limits.from_mapping({"frozen_frame_count": 4.0})
        assert limits.frozen_frame_count == 4
        assert isinstance(limits.frozen_frame_count, int)
        with pytest.raises(ConfigError, match="frozen_frame_count"):
            Limits.from_mapping({"frozen_frame_count": 3.5})

    def test_the_mapping_changes_the_given_base_and_keeps_the_rest(self) -> None:
        base = Limits(forward_max_speed_kmh=5.0)
        limits, _ = Limits.from_mapping({"backward_max_speed_kmh": 2.0}, base=base)
        assert limits.forward_max_speed_kmh == 5.0
        assert limits.backward_max_speed_kmh == 2.0


class TestProfileTightening:
    def test_a_profile_may_lower_a_speed_cap(self) -> None:
        assert Limits().tightened({"backward_max_speed_kmh": 2.0}).backward_max_speed_kmh == 2.0

    def test_a_profile_may_not_raise_a_cap_even_below_the_ceiling(self) -> None:
        with pytest.raises(ConfigError, match=r"profile\.toml: backward_max_speed_kmh.*tighten"):
            Limits().tightened({"backward_max_speed_kmh": 4.0}, source="profile.toml")

    def test_a_profile_may_lengthen_but_not_shorten_the_turnaround_hold(self) -> None:
        assert Limits().tightened({"turnaround_hold_s": 8.0}).turnaround_hold_s == 8.0
        with pytest.raises(ConfigError, match="turnaround_hold_s"):
            Limits().tightened({"turnaround_hold_s": 4.0})

    def test_a_profile_may_add_or_lower_a_heart_rate_ceiling_but_not_raise_it(self) -> None:
        limits = Limits().tightened({"heart_rate_max_bpm": 150})
        assert limits.heart_rate_max_bpm == 150
        assert limits.tightened({"heart_rate_max_bpm": 140}).heart_rate_max_bpm == 140
        with pytest.raises(ConfigError, match="heart_rate_max_bpm"):
            limits.tightened({"heart_rate_max_bpm": 160})

    def test_a_profile_cannot_name_an_unknown_limit(self) -> None:
        with pytest.raises(ConfigError, match="max_speed"):
            Limits().tightened({"max_speed": 2.0})


WALKING_PAD = MachineRanges(
    min_speed_kmh=1.0,
    max_speed_kmh=6.0,
    speed_increment_kmh=0.1,
    min_incline_pct=0.0,
    max_incline_pct=10.0,
    incline_increment_pct=0.5,
)


class TestMachineRanges:
    def test_a_target_below_the_treadmill_minimum_is_a_stop(self) -> None:
        assert WALKING_PAD.clamp_speed(0.6) == 0.0

    def test_a_target_is_quantised_down_to_the_increment(self) -> None:
        assert WALKING_PAD.clamp_speed(2.37) == 2.3

    def test_a_target_is_capped_by_the_direction_and_the_treadmill(self) -> None:
        assert WALKING_PAD.clamp_speed(4.0, cap_kmh=3.0) == 3.0
        assert WALKING_PAD.clamp_speed(9.0) == 6.0

    def test_a_cap_below_the_treadmill_minimum_means_no_speed_at_all(self) -> None:
        assert WALKING_PAD.clamp_speed(3.0, cap_kmh=0.8) == 0.0

    def test_the_grid_starts_at_the_treadmill_minimum(self) -> None:
        odd = MachineRanges(min_speed_kmh=0.8, max_speed_kmh=6.0, speed_increment_kmh=0.5)
        assert odd.clamp_speed(2.0) == 1.8

    def test_an_incline_is_capped_and_quantised(self) -> None:
        assert WALKING_PAD.clamp_incline(4.2, cap_pct=3.0) == 3.0
        assert WALKING_PAD.clamp_incline(4.2) == 4.0
        assert WALKING_PAD.clamp_incline(-2.0) == 0.0

    def test_an_incline_is_impossible_when_the_minimum_is_above_the_cap(self) -> None:
        steep = MachineRanges(
            min_speed_kmh=1.0,
            max_speed_kmh=6.0,
            speed_increment_kmh=0.1,
            min_incline_pct=5.0,
            max_incline_pct=10.0,
        )
        assert steep.clamp_incline(4.0, cap_pct=3.0) is None

    @pytest.mark.parametrize(
        ("low", "high", "step"),
        [(0.0, 6.0, 0.1), (3.0, 2.0, 0.1), (1.0, 6.0, 0.0), (1.0, math.nan, 0.1)],
    )
    def test_a_nonsensical_range_is_rejected(self, low: float, high: float, step: float) -> None:
        with pytest.raises(ConfigError, match="treadmill"):
            MachineRanges(min_speed_kmh=low, max_speed_kmh=high, speed_increment_kmh=step)

    @given(
        speed_kmh=st.floats(min_value=0, max_value=50),
        cap_kmh=st.floats(min_value=0, max_value=50),
        low_hundredths=st.integers(min_value=10, max_value=200),
        span_hundredths=st.integers(min_value=1, max_value=2000),
        step_hundredths=st.integers(min_value=1, max_value=100),
    )
    @example(
        speed_kmh=2.999999, cap_kmh=3.0, low_hundredths=100, span_hundredths=500, step_hundredths=10
    )
    def test_a_clamped_speed_is_a_stop_or_a_supported_speed_never_above_what_was_asked(
        self,
        speed_kmh: float,
        cap_kmh: float,
        low_hundredths: int,
        span_hundredths: int,
        step_hundredths: int,
    ) -> None:
        ranges = MachineRanges(
            min_speed_kmh=low_hundredths / 100,
            max_speed_kmh=(low_hundredths + span_hundredths) / 100,
            speed_increment_kmh=step_hundredths / 100,
        )
        clamped = ranges.clamp_speed(speed_kmh, cap_kmh)
        assert clamped <= min(speed_kmh, cap_kmh, ranges.max_speed_kmh) + 1e-9
        if clamped:
            assert clamped >= ranges.min_speed_kmh - 1e-9
            steps = (round(clamped * 100) - low_hundredths) / step_hundredths
            assert steps == int(steps)


class TestTheTable:
    def test_the_limits_come_in_the_order_safety_md_lists_them(self) -> None:
        names = list(Limits.__dataclass_fields__)
        assert names[:10] == [
            "backward_max_speed_kmh",
            "forward_max_speed_kmh",
            "starting_speed_kmh",
            "acceleration_kmh_per_s",
            "deceleration_kmh_per_s",
            "turnaround_speed_kmh",
            "turnaround_hold_s",
            "backward_max_incline_pct",
            "stale_data_timeout_s",
            "frozen_frame_count",
        ]

    def test_every_limit_has_absolute_bounds_and_only_ceilings_of_its_own_row(self) -> None:
        assert set(ABSOLUTE_BOUNDS) == set(Limits.__dataclass_fields__)
        assert set(HARD_CEILINGS) <= set(Limits.__dataclass_fields__)
        assert "turnaround_hold_s" not in HARD_CEILINGS  # a floor, not a ceiling

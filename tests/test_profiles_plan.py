"""Plans: the unrolled timeline, its statistics, the energy estimate and `check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadmill_ctl.profiles import (
    BACKWARD_EQUATION,
    DEFAULT_WEIGHT_KG,
    FORWARD_EQUATION,
    CheckStatus,
    Profile,
    Repeat,
    Segment,
    WeightSource,
    build_plan,
    check_command,
    format_plan,
    kcal_per_min,
    parse_profile,
    plan_to_json,
    vo2_ml_per_kg_min,
)
from treadmill_ctl.safety.limits import Limits
from treadmill_ctl.safety.states import Direction

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"
KMH_PER_MPH = 1.609344

SMALL = """
name = "Small"
description = "Hand-computed example."

[[step]]
direction = "forward"
speed_kmh = 3.6
duration = "1m"

[[step]]
repeat = 1
segments = [ { direction = "backward", speed_kmh = 1.8, duration = "30s", cue = "back" } ]

[[step]]
direction = "forward"
speed_kmh = 3.6
incline_pct = 5
duration = "2m"
"""


@pytest.fixture
def small_profile() -> Profile:
    return parse_profile(SMALL, source="small.toml")


class TestPlanStatistics:
    def test_a_small_plan_has_its_hand_computed_times_and_distance(
        self, small_profile: Profile
    ) -> None:
        plan = build_plan(small_profile)
        assert [s.start_s for s in plan.segments] == [0.0, 60.0, 90.0]
        assert [s.index for s in plan.segments] == [0, 1, 2]
        assert plan.total_s == 210.0
        assert plan.backward_s == 30.0
        assert plan.forward_s == 180.0
        # 3.6 km/h is 1 m/s: 60 m + 15 m + 120 m
        assert plan.distance_m == pytest.approx(195.0)
        assert plan.turnarounds == 2
        assert plan.turnaround_hold_s == 2 * Limits().turnaround_hold_s

    def test_planned_segments_say_where_they_come_from(self) -> None:
        profile = Profile(
            name="x",
            description="",
            steps=(
                Segment(Direction.FORWARD, 3.0, 0.0, 60.0),
                Repeat(2, (Segment(Direction.BACKWARD, 1.0, 0.0, 30.0, cue="go"),)),
            ),
            limits=Limits(),
        )
        plan = build_plan(profile)
        assert [s.origin for s in plan.segments] == [
            "step 1",
            "step 2, round 1 of 2, segment 1",
            "step 2, round 2 of 2, segment 1",
        ]
        assert [s.cue for s in plan.segments] == [None, "go", "go"]
        # two backward segments in a row are no turn-around
        assert plan.turnarounds == 1

    def test_a_small_plan_has_its_hand_computed_energy(self, small_profile: Profile) -> None:
        energy = build_plan(small_profile, weight_kg=80.0).energy
        # forward 60 m/min level: VO2 = 3.5 + 6 = 9.5 -> 9.5 * 80 / 200 = 3.8 kcal/min x 1 min
        # forward 60 m/min at 5 %: VO2 = 9.5 + 1.8*60*0.05 = 14.9 -> 5.96 kcal/min x 2 min
        assert energy.forward.kcal == pytest.approx(3.8 + 11.92)
        # backward 30 m/min level: VO2 = 3.5 + 0.19*30 = 9.2 -> 3.68 kcal/min x 0.5 min
        assert energy.backward.kcal == pytest.approx(1.84)
        assert energy.total_kcal == pytest.approx(17.56)
        assert energy.forward.duration_s == 180.0
        assert energy.backward.duration_s == 30.0
        assert energy.forward.equation == FORWARD_EQUATION
        assert energy.backward.equation == BACKWARD_EQUATION

    @given(
        st.lists(
            st.tuples(
                st.sampled_from(Direction),
                st.floats(min_value=0.5, max_value=3.0),
                st.integers(min_value=1, max_value=600),
                st.integers(min_value=1, max_value=4),
            ),
            min_size=1,
            max_size=8,
        )
    )
    def test_the_timeline_is_contiguous_and_the_directions_add_up(
        self, raw: list[tuple[Direction, float, int, int]]
    ) -> None:
        steps = tuple(
            Repeat(times, (Segment(direction, speed_kmh, 0.0, float(duration_s)),))
            for direction, speed_kmh, duration_s, times in raw
        )
        plan = build_plan(Profile(name="p", description="", steps=steps, limits=Limits()))
        assert len(plan.segments) == sum(times for *_, times in raw)
        for before, after in zip(plan.segments, plan.segments[1:], strict=False):
            assert after.start_s == before.end_s
        assert plan.total_s == pytest.approx(plan.backward_s + plan.forward_s)
        assert plan.total_s == pytest.approx(sum(d * t for _, _, d, t in raw))
        assert 0 <= plan.turnarounds < len(plan.segments)


class TestEnergyEquations:
    def test_backward_walking_at_3_5_mph_level_is_about_6_met(self) -> None:
        vo2 = vo2_ml_per_kg_min(Direction.BACKWARD, 3.5 * KMH_PER_MPH, 0.0)
        # S = 93.88 m/min: 3.5 + 0.19 * 93.88 = 21.34 ml/kg/min, 6.1 MET (Compendium: 6.0)
        assert vo2 == pytest.approx(21.337, abs=0.01)
        assert vo2 / 3.5 == pytest.approx(6.0, abs=0.15)

    def test_backward_walking_at_3_5_mph_and_5_percent_is_about_8_met(self) -> None:
        vo2 = vo2_ml_per_kg_min(Direction.BACKWARD, 3.5 * KMH_PER_MPH, 5.0)
        assert vo2 == pytest.approx(28.378, abs=0.01)
        assert vo2 / 3.5 == pytest.approx(8.0, abs=0.15)

    def test_forward_walking_uses_the_acsm_equation(self) -> None:
        # 6 km/h = 100 m/min at 10 %: 3.5 + 10 + 1.8*100*0.1 = 31.5
        assert vo2_ml_per_kg_min(Direction.FORWARD, 6.0, 10.0) == pytest.approx(31.5)

    def test_energy_per_minute_is_vo2_times_weight_over_200(self) -> None:
        # 6 km/h backward level: 3.5 + 19 = 22.5 ml/kg/min; x 60 kg / 200 = 6.75 kcal/min
        assert kcal_per_min(Direction.BACKWARD, 6.0, 0.0, weight_kg=60.0) == pytest.approx(6.75)

    def test_a_downhill_grade_is_counted_as_level(self) -> None:
        assert vo2_ml_per_kg_min(Direction.FORWARD, 4.0, -5.0) == vo2_ml_per_kg_min(
            Direction.FORWARD, 4.0, 0.0
        )

    @pytest.mark.parametrize(
        ("speed_kmh", "incline_pct", "weight_kg"),
        [(-1.0, 0.0, 70.0), (float("nan"), 0.0, 70.0), (3.0, float("inf"), 70.0), (3.0, 0, 0.0)],
    )
    def test_impossible_inputs_get_no_estimate(
        self, speed_kmh: float, incline_pct: float, weight_kg: float
    ) -> None:
        with pytest.raises(ValueError, match="no energy estimate"):
            kcal_per_min(Direction.FORWARD, speed_kmh, incline_pct, weight_kg=weight_kg)


class TestWeight:
    def test_without_any_weight_the_default_is_used_and_flagged(
        self, small_profile: Profile
    ) -> None:
        plan = build_plan(small_profile)
        assert (plan.weight_kg, plan.weight_source) == (DEFAULT_WEIGHT_KG, WeightSource.DEFAULT)
        assert "DEFAULT weight" in format_plan(plan)

    def test_the_configured_weight_is_used(self, small_profile: Profile) -> None:
        plan = build_plan(small_profile, weight_kg=64.0)
        assert (plan.weight_kg, plan.weight_source) == (64.0, WeightSource.CONFIG)

    def test_a_weight_in_the_profile_overrides_the_configured_weight(self) -> None:
        profile = parse_profile("weight_kg = 90\n" + SMALL, source="w.toml")
        plan = build_plan(profile, weight_kg=64.0)
        assert (plan.weight_kg, plan.weight_source) == (90.0, WeightSource.PROFILE)

    def test_an_unusable_configured_weight_is_refused(self, small_profile: Profile) -> None:
        with pytest.raises(ValueError, match="cannot be used"):
            build_plan(small_profile, weight_kg=-3.0)


class TestOutput:
    def test_the_json_plan_has_the_documented_keys_and_values(self, small_profile: Profile) -> None:
        data = plan_to_json(build_plan(small_profile, weight_kg=80.0))
        assert json.loads(json.dumps(data)) == data
        assert {
            "name",
            "description",
            "source",
            "total_s",
            "backward_s",
            "forward_s",
            "distance_m",
            "turnarounds",
            "turnaround_hold_s",
            "limits",
            "segments",
            "energy",
        } <= data.keys()
        assert (data["total_s"], data["backward_s"], data["forward_s"]) == (210, 30, 180)
        assert data["distance_m"] == 195
        assert data["name"] == "Small"
        assert data["segments"][1] == {
            "index": 1,
            "direction": "backward",
            "speed_kmh": 1.8,
            "incline_pct": 0.0,
            "duration_s": 30.0,
            "start_s": 60.0,
            "cue": "back",
            "hr_zone_bpm": None,
            "max_speed_kmh": None,
            "origin": "step 2, round 1 of 1, segment 1",
            "distance_m": 15.0,
            "kcal_estimate": 1.84,
        }
        energy = data["energy"]
        assert energy["estimate"] is True
        assert energy["weight_kg"] == 80.0
        assert energy["weight_source"] == "config"
        assert energy["backward"]["equation"] == BACKWARD_EQUATION
        assert energy["forward"]["kcal"] == pytest.approx(15.7)
        assert energy["total_kcal"] == pytest.approx(17.6)
        assert data["limits"]["backward_max_speed_kmh"] == Limits().backward_max_speed_kmh

    def test_the_text_plan_lists_every_segment_and_the_totals(self, small_profile: Profile) -> None:
        text = format_plan(build_plan(small_profile))
        assert text.splitlines()[0] == "Small  (small.toml)"
        assert "<< backward" in text
        assert "back" in text
        assert "total 3m30s: backward 30s (14%), forward 3m" in text
        assert "turn-arounds 2" in text
        assert "energy ESTIMATE" in text
        assert FORWARD_EQUATION in text
        assert BACKWARD_EQUATION in text


class TestCheckCommand:
    def test_a_good_profile_checks_with_status_zero_and_prints_its_plan(self) -> None:
        status, text = check_command(
            [str(PROFILES_DIR / "demo.toml")], as_json=False, weight_kg=75.0, limits=None
        )
        assert status == CheckStatus.OK
        assert status == 0
        assert "Demo: forward, backward, forward" in text
        assert "75 kg from your config" in text

    def test_json_output_for_one_profile_is_one_json_object(self) -> None:
        status, text = check_command(
            [str(PROFILES_DIR / "demo.toml")], as_json=True, weight_kg=None, limits=None
        )
        data = json.loads(text)
        assert status == 0
        assert data["ok"] is True
        assert data["total_s"] == 90
        assert data["backward_s"] == 30
        assert len(data["segments"]) == 3

    def test_a_bad_profile_checks_with_status_two_and_every_problem_located(
        self, tmp_path: Path
    ) -> None:
        bad = tmp_path / "bad.toml"
        bad.write_text(
            'name = "Bad"\n[[step]]\ndirection = "backward"\nspeed_kmh = 4\nduration = "2x"\n',
            encoding="utf-8",
        )
        status, text = check_command([str(bad)], as_json=False, weight_kg=None, limits=None)
        assert status == CheckStatus.BAD_PROFILE
        assert status == 2
        lines = text.splitlines()
        assert lines[0].startswith(f"{bad}:4: step 1 (backward): speed 4.0 km/h")
        assert lines[1].startswith(f"{bad}:5: step 1 (backward): '2x' is not a duration")
        assert lines[2] == f"{bad}: 2 problems; nothing runs from this profile until fixed"

    def test_the_users_limits_apply_when_checking(self) -> None:
        tight = Limits().tightened({"backward_max_speed_kmh": 1.0})
        status, text = check_command(
            [str(PROFILES_DIR / "demo.toml")], as_json=False, weight_kg=None, limits=tight
        )
        assert status == 2
        assert "above the backward cap 1.0 km/h" in text

    def test_every_file_is_checked_and_json_gives_one_line_per_profile(
        self, tmp_path: Path
    ) -> None:
        missing = tmp_path / "missing.toml"
        status, text = check_command(
            [str(missing), str(PROFILES_DIR / "demo.toml")],
            as_json=True,
            weight_kg=None,
            limits=None,
        )
        first, second = (json.loads(line) for line in text.splitlines())
        assert status == 2
        assert first == {
            "source": str(missing),
            "ok": False,
            "problems": [{"location": str(missing), "message": "no such profile file"}],
        }
        assert second["ok"] is True

"""Loading profiles: the shipped ones check, and every mistake is named where it is."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from treadmill_ctl.errors import ProfileError
from treadmill_ctl.profiles import (
    InvalidProfileError,
    Profile,
    Repeat,
    Segment,
    build_plan,
    load_profile,
    parse_profile,
)
from treadmill_ctl.safety.limits import Limits
from treadmill_ctl.safety.states import Direction

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"
SHIPPED = sorted(PROFILES_DIR.rglob("*.toml"))

HEADER = 'name = "Test"\n'
ONE_SEGMENT = 'segments = [{ direction = "forward", speed_kmh = 3, duration = 60 }]'


def problems_in(text: str, *, limits: Limits | None = None) -> list[str]:
    """Return every problem found in profile text, as printed (location: message)."""
    with pytest.raises(InvalidProfileError) as error:
        parse_profile(textwrap.dedent(text), source="p.toml", limits=limits)
    return [str(problem) for problem in error.value.problems]


def only_problem(text: str, *, limits: Limits | None = None) -> str:
    found = problems_in(text, limits=limits)
    assert len(found) == 1, found
    return found[0]


class TestShippedProfiles:
    def test_the_promised_profiles_are_shipped(self) -> None:
        names = {path.relative_to(PROFILES_DIR).as_posix() for path in SHIPPED}
        assert {
            "backward-beginner.toml",
            "knee-friendly-retro.toml",
            "demo.toml",
            "endurance-60min.toml",
        } <= names
        assert {f"six-week-progression/week{week}.toml" for week in range(1, 7)} <= names

    @pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
    def test_every_shipped_profile_loads_within_the_default_limits(self, path: Path) -> None:
        profile = load_profile(path)
        plan = build_plan(profile)
        assert profile.name
        assert plan.total_s > 0
        assert all(
            segment.speed_kmh <= Limits().backward_max_speed_kmh
            for segment in plan.segments
            if segment.direction is Direction.BACKWARD
        )

    @pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
    def test_every_shipped_profile_explains_itself_in_a_comment_header(self, path: Path) -> None:
        assert path.read_text(encoding="utf-8").startswith("# ")

    def test_the_beginner_profile_is_short_slow_backward_intervals(self) -> None:
        plan = build_plan(load_profile(PROFILES_DIR / "backward-beginner.toml"))
        backward = [s for s in plan.segments if s.direction is Direction.BACKWARD]
        assert 10 * 60 <= plan.total_s <= 12 * 60
        assert backward
        assert all(s.duration_s == 30 and 1.0 <= s.speed_kmh <= 1.5 for s in backward)
        assert plan.segments[0].direction is Direction.FORWARD
        assert plan.segments[-1].direction is Direction.FORWARD

    def test_the_progression_grows_backward_time_and_speed_every_week(self) -> None:
        plans = [
            build_plan(load_profile(PROFILES_DIR / f"six-week-progression/week{week}.toml"))
            for week in range(1, 7)
        ]
        backward_s = [plan.backward_s for plan in plans]
        top_speed_kmh = [
            max(s.speed_kmh for s in plan.segments if s.direction is Direction.BACKWARD)
            for plan in plans
        ]
        assert backward_s == sorted(set(backward_s))
        assert top_speed_kmh == sorted(set(top_speed_kmh))
        assert top_speed_kmh[-1] <= 3.0

    def test_the_knee_friendly_profile_walks_ten_minutes_backward(self) -> None:
        profile = load_profile(PROFILES_DIR / "knee-friendly-retro.toml")
        assert build_plan(profile).backward_s == 600
        assert profile.limits.backward_max_speed_kmh == 2.5

    def test_the_demo_is_forward_backward_forward_for_thirty_seconds_each(self) -> None:
        plan = build_plan(load_profile(PROFILES_DIR / "demo.toml"))
        assert [(s.direction, s.duration_s) for s in plan.segments] == [
            (Direction.FORWARD, 30),
            (Direction.BACKWARD, 30),
            (Direction.FORWARD, 30),
        ]

    def test_the_endurance_profile_lasts_an_hour(self) -> None:
        assert build_plan(load_profile(PROFILES_DIR / "endurance-60min.toml")).total_s == 3600


class TestFormat:
    def test_steps_and_repeats_keep_the_order_they_are_written_in(self) -> None:
        profile = parse_profile(
            textwrap.dedent(
                """
                name = "Order"
                [[step]]
                direction = "forward"
                speed_kmh = 3
                duration = "1m"

                [[step]]
                repeat = 2
                segments = [
                  { direction = "backward", speed_kmh = 1.5, duration = "30s", cue = "back" },
                  { direction = "forward", speed_mph = 2, duration = 45 },
                ]

                [[step]]
                direction = "forward"
                speed_kmh = 2.5
                incline_pct = 1.5
                duration = "1m30s"
                """
            ),
            source="order.toml",
        )
        assert profile.steps == (
            Segment(Direction.FORWARD, 3.0, 0.0, 60.0),
            Repeat(
                times=2,
                segments=(
                    Segment(Direction.BACKWARD, 1.5, 0.0, 30.0, cue="back"),
                    Segment(Direction.FORWARD, 3.22, 0.0, 45.0),
                ),
            ),
            Segment(Direction.FORWARD, 2.5, 1.5, 90.0),
        )
        assert [s.speed_kmh for s in profile.iter_segments()] == [3.0, 1.5, 3.22, 1.5, 3.22, 2.5]

    def test_repeated_segments_may_also_be_written_as_sub_tables(self) -> None:
        profile = parse_profile(
            textwrap.dedent(
                """
                name = "Sub-tables"
                [[step]]
                repeat = 3
                [[step.segments]]
                direction = "backward"
                speed_kmh = 1.0
                duration = "20s"
                [[step.segments]]
                direction = "forward"
                speed_kmh = 2.0
                duration = "40s"
                """
            ),
            source="sub.toml",
        )
        assert profile.steps == (
            Repeat(
                3,
                (
                    Segment(Direction.BACKWARD, 1.0, 0.0, 20.0),
                    Segment(Direction.FORWARD, 2.0, 0.0, 40.0),
                ),
            ),
        )

    def test_a_profiles_limits_table_tightens_the_users_limits(self) -> None:
        profile = parse_profile(
            HEADER
            + "[limits]\nbackward_max_speed_kmh = 2.0\n"
            + '[[step]]\ndirection = "backward"\nspeed_kmh = 1.5\nduration = "30s"\n',
            source="p.toml",
            limits=Limits(),
        )
        assert profile.limits.backward_max_speed_kmh == 2.0
        assert profile.limits.forward_max_speed_kmh == Limits().forward_max_speed_kmh

    def test_a_profile_may_give_a_weight_for_its_estimate(self) -> None:
        profile = parse_profile(
            HEADER + 'weight_kg = 82.5\n[[step]]\ndirection = "forward"\n'
            'speed_kmh = 3\nduration = "1m"\n',
            source="p.toml",
        )
        assert profile.weight_kg == 82.5

    def test_direction_is_read_whatever_its_case(self) -> None:
        profile = parse_profile(
            HEADER + '[[step]]\ndirection = "Backward"\nspeed_kmh = 1\nduration = "1m"\n',
            source="p.toml",
        )
        assert next(profile.iter_segments()).direction is Direction.BACKWARD


class TestErrors:
    def test_a_toml_syntax_error_names_the_line_and_column(self) -> None:
        problem = only_problem('name = "Broken"\n[[step]]\ndirection = backward\n')
        assert problem.startswith("p.toml:3:13: TOML syntax error: Invalid value")

    def test_a_file_that_does_not_exist_is_named(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope.toml"
        with pytest.raises(InvalidProfileError, match="no such profile file") as error:
            load_profile(missing)
        assert error.value.location == str(missing)

    def test_a_file_that_is_not_utf8_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "latin1.toml"
        path.write_bytes('name = "Café"\n'.encode("latin-1"))
        with pytest.raises(InvalidProfileError, match="not UTF-8"):
            load_profile(path)

    def test_an_empty_profile_is_refused(self) -> None:
        assert only_problem(HEADER) == (
            "p.toml: the profile has no steps: add at least one [[step]]"
        )

    def test_a_missing_name_is_refused(self) -> None:
        problem = only_problem('[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n')
        assert problem == 'p.toml: missing name: add name = "..." at the top'

    def test_an_unknown_top_level_key_suggests_the_closest_known_key(self) -> None:
        problem = only_problem(
            'name = "x"\ndescripton = "typo"\n'
            '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
        )
        assert problem == 'p.toml:2: unknown key "descripton" (did you mean "description"?)'

    def test_separate_segment_and_repeat_lists_are_refused_because_they_lose_order(
        self,
    ) -> None:
        found = problems_in(
            HEADER
            + '[[segment]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
            + "[[repeat]]\ntimes = 2\n"
        )
        assert found[0].startswith('p.toml:2: unknown key "segment" (write every segment as')
        assert found[1].startswith('p.toml:6: unknown key "repeat" (write every segment as')
        assert "the profile has no steps" in found[2]

    def test_an_unknown_segment_key_suggests_the_closest_known_key(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\ndurration = "1m"\n'
            "duration = 60\n"
        )
        assert problem == (
            'p.toml:5: step 1 (forward): unknown key "durration" (did you mean "duration"?)'
        )

    def test_a_speed_key_without_a_unit_explains_how_to_write_the_unit(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\ndirection = "backward"\nspeed = "2 km/h"\nduration = 60\n'
        )
        assert problem == (
            'p.toml:4: step 1 (backward): unknown key "speed" (write the unit in the key and '
            "a plain number as the value: speed_kmh = 2.0 or speed_mph = 1.2)"
        )

    @pytest.mark.parametrize(
        ("line", "hint"),
        [
            ('speed_kmh = "2 km/h"', "write speed_kmh = 2.0 (a number"),
            ('speed_kmh = "1.5 mph"', "write speed_mph = 1.2 (a number"),
            ('speed_mph = "fast"', "write the unit in the key"),
        ],
    )
    def test_a_speed_written_as_text_is_a_unit_mix_up_with_a_hint(
        self, line: str, hint: str
    ) -> None:
        problem = only_problem(HEADER + f'[[step]]\ndirection = "forward"\n{line}\nduration = 60\n')
        assert problem.startswith("p.toml:4: step 1 (forward): ")
        assert "is text, not a number" in problem
        assert hint in problem

    def test_a_segment_without_speed_is_refused(self) -> None:
        problem = only_problem(HEADER + '[[step]]\ndirection = "forward"\nduration = 60\n')
        assert problem.startswith("p.toml:2: step 1 (forward): missing speed: ")

    def test_a_speed_given_in_both_units_is_refused(self) -> None:
        problem = only_problem(
            HEADER
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nspeed_mph = 2\nduration = 60\n'
        )
        assert problem == "p.toml:5: step 1 (forward): give speed_kmh or speed_mph, not both"

    def test_a_backward_speed_above_the_backward_cap_is_refused(self) -> None:
        problem = only_problem(
            HEADER
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
            + '[[step]]\ndirection = "backward"\nspeed_kmh = 4.0\nduration = "30s"\n'
        )
        assert problem == (
            "p.toml:12: step 3 (backward): speed 4.0 km/h is above the backward cap 3.0 km/h"
        )

    def test_a_backward_speed_in_mph_is_checked_against_the_cap_in_kmh(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\ndirection = "backward"\nspeed_mph = 2\nduration = 60\n'
        )
        assert problem == (
            "p.toml:4: step 1 (backward): speed 2.0 mph (3.22 km/h) is above the backward cap "
            "3.0 km/h"
        )

    def test_the_backward_cap_is_the_users_cap_when_the_user_tightened_it(self) -> None:
        text = HEADER + '[[step]]\ndirection = "backward"\nspeed_kmh = 2.5\nduration = 60\n'
        assert parse_profile(text, source="p.toml")
        tight = Limits().tightened({"backward_max_speed_kmh": 2.0})
        assert only_problem(text, limits=tight) == (
            "p.toml:4: step 1 (backward): speed 2.5 km/h is above the backward cap 2.0 km/h"
        )

    def test_the_backward_cap_is_the_profiles_cap_when_the_profile_tightened_it(self) -> None:
        problem = only_problem(
            HEADER
            + "[limits]\nbackward_max_speed_kmh = 1.5\n"
            + '[[step]]\ndirection = "backward"\nspeed_kmh = 2\nduration = 60\n'
        )
        assert problem == (
            "p.toml:6: step 1 (backward): speed 2.0 km/h is above the backward cap 1.5 km/h"
        )

    def test_a_forward_speed_above_the_forward_cap_is_refused(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\ndirection = "forward"\nspeed_kmh = 7\nduration = 60\n'
        )
        assert problem == (
            "p.toml:4: step 1 (forward): speed 7.0 km/h is above the forward cap 6.0 km/h"
        )

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("0", "speed 0.0 km/h must be above 0"),
            ("-1.5", "speed -1.5 km/h must be above 0"),
            ("nan", "speed_kmh must be a number, not nan"),
            ("inf", "speed_kmh must be a number, not inf"),
            ("true", "speed_kmh must be a number, not True"),
            ("30", "speed 30.0 km/h is absurd for walking (above 25.0 km/h)"),
        ],
    )
    def test_zero_negative_non_finite_and_absurd_speeds_are_refused(
        self, value: str, message: str
    ) -> None:
        problem = only_problem(
            HEADER + f'[[step]]\ndirection = "forward"\nspeed_kmh = {value}\nduration = 60\n'
        )
        assert problem.startswith(f"p.toml:4: step 1 (forward): {message}")

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("0", "duration must be longer than 0 s"),
            ("-5", "duration must be longer than 0 s"),
            ('"0s"', "duration must be longer than 0 s"),
            ('"5h"', "duration 5h is absurd for one segment (above 4h)"),
            ('"90"', "'90' is not a duration (a unit is missing: 90s or 90m?)"),
            ("nan", 'duration must be "30s"'),
        ],
    )
    def test_zero_negative_absurd_and_unitless_durations_are_refused(
        self, value: str, message: str
    ) -> None:
        problem = only_problem(
            HEADER + f'[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = {value}\n'
        )
        assert problem.startswith(f"p.toml:5: step 1 (forward): {message}")

    def test_a_profile_longer_than_four_hours_in_all_is_refused(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\nrepeat = 5\nsegments = [ { direction = "forward", speed_kmh = 3, '
            'duration = "1h" } ]\n'
        )
        assert problem == "p.toml: the whole profile lasts 5h, above the 4h maximum"

    def test_an_incline_above_the_backward_incline_cap_is_refused(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\ndirection = "backward"\nspeed_kmh = 1.5\nincline_pct = 5\n'
            "duration = 60\n"
        )
        assert problem == (
            "p.toml:5: step 1 (backward): incline 5.0 % is above the backward incline cap 3.0 %"
        )

    def test_the_same_incline_is_allowed_forward(self) -> None:
        text = (
            HEADER + '[[step]]\ndirection = "forward"\nspeed_kmh = 1.5\nincline_pct = 5\n'
            "duration = 60\n"
        )
        assert next(parse_profile(text, source="p.toml").iter_segments()).incline_pct == 5.0

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ('"3%"', 'incline_pct = "3%" is text: write incline_pct = 2'),
            ("0.5e3", "incline 500.0 % is outside -10.0 to 40.0 %"),
        ],
    )
    def test_an_incline_as_text_or_out_of_range_is_refused(self, value: str, message: str) -> None:
        problem = only_problem(
            HEADER + f'[[step]]\ndirection = "forward"\nspeed_kmh = 3\nincline_pct = {value}\n'
            "duration = 60\n"
        )
        assert problem.startswith(f"p.toml:5: step 1 (forward): {message}")

    def test_an_unknown_direction_suggests_the_closest(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\ndirection = "backwards"\nspeed_kmh = 1\nduration = 60\n'
        )
        assert problem == (
            'p.toml:3: step 1: direction "backwards" is neither "forward" nor "backward" '
            '(did you mean "backward"?)'
        )

    def test_a_missing_direction_is_refused(self) -> None:
        problem = only_problem(HEADER + "[[step]]\nspeed_kmh = 1\nduration = 60\n")
        assert problem.startswith("p.toml:2: step 1: missing direction")

    def test_a_problem_inside_a_repeat_names_the_step_the_segment_and_its_line(self) -> None:
        problem = only_problem(
            HEADER
            + "[[step]]\nrepeat = 4\nsegments = [\n"
            + '  { direction = "forward", speed_kmh = 3, duration = "1m" },\n'
            + '  { direction = "backward", speed_kmh = 3.5, duration = "30s" },\n'
            + "]\n"
        )
        assert problem == (
            "p.toml:6: step 1 (repeat x4), segment 2 (backward): speed 3.5 km/h is above the "
            "backward cap 3.0 km/h"
        )

    def test_a_problem_inside_a_sub_table_repeat_names_the_key_line(self) -> None:
        problem = only_problem(
            HEADER
            + "[[step]]\nrepeat = 2\n"
            + '[[step.segments]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
            + '[[step.segments]]\ndirection = "backward"\nspeed_kmh = 1\nduration = "1 min"\n'
        )
        assert problem.startswith(
            "p.toml:11: step 1 (repeat x2), segment 2 (backward): '1 min' is not a duration"
        )

    @pytest.mark.parametrize(
        ("step", "line", "message"),
        [
            (f"repeat = 0\n{ONE_SEGMENT}", 3, "repeat = 0 is outside 1-200"),
            (f"repeat = 2.5\n{ONE_SEGMENT}", 3, "repeat must be a whole number of times, not 2.5"),
            (ONE_SEGMENT, 2, "a repeated block needs repeat = N"),
            ("repeat = 2\nsegments = []", 4, "a repeated block needs segments = ["),
        ],
    )
    def test_a_bad_repeat_count_or_empty_block_is_refused(
        self, step: str, line: int, message: str
    ) -> None:
        problem = only_problem(HEADER + "[[step]]\n" + step + "\n")
        assert problem.startswith(f"p.toml:{line}: step 1 (repeat")
        assert message in problem

    def test_segment_keys_next_to_repeat_are_refused(self) -> None:
        problem = only_problem(
            HEADER + '[[step]]\nrepeat = 2\ndirection = "forward"\n'
            'segments = [{ direction = "forward", speed_kmh = 3, duration = 60 }]\n'
        )
        assert problem == (
            'p.toml:4: step 1 (repeat x2): "direction" belongs in the segments of a repeated '
            "block, not next to repeat"
        )

    def test_repeats_cannot_be_nested(self) -> None:
        problem = only_problem(
            HEADER + "[[step]]\nrepeat = 2\nsegments = [\n"
            '  { repeat = 2, direction = "forward", speed_kmh = 3, duration = 60 },\n]\n'
        )
        assert problem == (
            'p.toml:5: step 1 (repeat x2), segment 1 (forward): unknown key "repeat" '
            "(repeated blocks cannot be nested)"
        )

    def test_an_unknown_limit_suggests_the_closest_limit(self) -> None:
        problem = only_problem(
            HEADER
            + "[limits]\nbackward_max_speed = 2.0\n"
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
        )
        assert problem == (
            'p.toml:3: [limits]: unknown limit "backward_max_speed" '
            '(did you mean "backward_max_speed_kmh"?)'
        )

    def test_a_limit_that_would_loosen_the_users_limits_is_refused(self) -> None:
        problem = only_problem(
            HEADER
            + "[limits]\nbackward_max_speed_kmh = 4.0\n"
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
        )
        assert problem == (
            "p.toml:3: [limits]: backward_max_speed_kmh = 4 would loosen the limit 3; "
            "a profile may only tighten limits"
        )

    def test_a_limit_that_is_not_a_number_is_refused_on_its_line(self) -> None:
        problem = only_problem(
            HEADER
            + '[limits]\nturnaround_hold_s = 8\nbackward_max_speed_kmh = "2 km/h"\n'
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
        )
        assert problem == (
            "p.toml:4: [limits]: backward_max_speed_kmh must be a number, not '2 km/h'"
        )

    def test_a_forward_incline_above_the_forward_incline_cap_is_refused(self) -> None:
        problem = only_problem(
            HEADER
            + "[limits]\nforward_max_incline_pct = 4\n"
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nincline_pct = 5\nduration = 60\n'
        )
        assert problem == (
            "p.toml:7: step 1 (forward): incline 5.0 % is above the forward incline cap 4.0 %"
        )

    def test_an_implausible_weight_hints_at_pounds(self) -> None:
        problem = only_problem(
            HEADER + 'weight_kg = 400\n[[step]]\ndirection = "forward"\nspeed_kmh = 3\n'
            "duration = 60\n"
        )
        assert (
            problem
            == "p.toml:2: weight_kg 400.0 is outside 20.0-350.0 kg (pounds? divide by 2.2046)"
        )

    def test_every_problem_is_reported_at_once_in_file_order(self) -> None:
        found = problems_in(
            HEADER
            + '[[step]]\ndirection = "backward"\nspeed_kmh = 9\nduration = 60\n'
            + '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = "soon"\n'
        )
        assert [problem.split(": ")[0] for problem in found] == ["p.toml:4", "p.toml:9"]

    def test_the_raised_error_is_a_profile_error_naming_the_first_problem_and_the_count(
        self,
    ) -> None:
        with pytest.raises(ProfileError) as error:
            parse_profile(
                HEADER + '[[step]]\ndirection = "backward"\nspeed_kmh = 9\nduration = 0\n',
                source="p.toml",
            )
        assert error.value.location == "p.toml:4: step 1 (backward)"
        assert str(error.value).endswith("(and 1 more problem)")

    def test_nothing_is_built_from_a_profile_with_any_problem(self) -> None:
        good_step = '[[step]]\ndirection = "forward"\nspeed_kmh = 3\nduration = 60\n'
        with pytest.raises(InvalidProfileError):
            parse_profile(HEADER + good_step * 5 + "[[step]]\nspeed_kmh = 3\n", source="p.toml")

    def test_speeds_in_mph_are_converted_to_kmh(self) -> None:
        profile = parse_profile(
            HEADER + '[[step]]\ndirection = "forward"\nspeed_mph = 3.5\nduration = 60\n',
            source="p.toml",
        )
        assert math.isclose(next(profile.iter_segments()).speed_kmh, 5.63)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def _outcome(text: str, *, limits: Limits | None) -> Profile | InvalidProfileError:
    """Load profile text; a refusal is returned rather than raised, to inspect it."""
    try:
        return parse_profile(text, source="p.toml", limits=limits)
    except InvalidProfileError as error:
        return error


_VALUES = st.one_of(
    st.sampled_from(["forward", "backward", "sideways", "30s", "1m30s", "2 km/h", "90", ""]),
    st.text(max_size=8),
    st.integers(min_value=-10, max_value=100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
_KEYS = st.sampled_from(
    ["direction", "speed_kmh", "speed_mph", "incline_pct", "duration", "cue", "speed", "repeat"]
)


class TestAnyInput:
    @given(st.lists(st.dictionaries(_KEYS, _VALUES, max_size=6), max_size=4))
    @example([{"direction": "backward", "speed_kmh": 3.0, "duration": "30s"}])
    @example([{"direction": "backward", "speed_mph": 1.864, "duration": 1}])
    def test_any_profile_either_loads_within_the_caps_or_is_refused_with_located_problems(
        self, steps: list[dict[str, object]]
    ) -> None:
        text = HEADER + "".join(
            "[[step]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in step.items())
            for step in steps
        )
        limits = Limits()
        outcome = _outcome(text, limits=limits)
        if isinstance(outcome, InvalidProfileError):
            assert outcome.problems
            assert all(p.location.startswith("p.toml") for p in outcome.problems)
            return
        for segment in outcome.iter_segments():
            cap_kmh = (
                limits.backward_max_speed_kmh
                if segment.direction is Direction.BACKWARD
                else limits.forward_max_speed_kmh
            )
            assert 0 < segment.speed_kmh <= cap_kmh
            assert 0 < segment.duration_s <= 4 * 3600

    @given(st.text(max_size=200))
    def test_arbitrary_text_is_never_anything_but_a_profile_or_a_profile_error(
        self, text: str
    ) -> None:
        outcome = _outcome(text, limits=None)
        assert isinstance(outcome, Profile) or outcome.problems

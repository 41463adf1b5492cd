"""Heart-rate-guided segments in profiles: hr_zone and max_speed_kmh, checked like every key."""

from __future__ import annotations

import textwrap

import pytest

from treadmill_ctl.profiles import InvalidProfileError, build_plan, parse_profile
from treadmill_ctl.profiles.report import format_plan, plan_to_json
from treadmill_ctl.safety.limits import Limits

GUIDED = """
    name = "Guided"
    [[step]]
    direction = "forward"
    speed_kmh = 4.0
    max_speed_kmh = 5.5
    hr_zone = [105, 120]
    duration = "10m"
"""


def problems(text: str, *, limits: Limits | None = None) -> list[str]:
    with pytest.raises(InvalidProfileError) as error:
        parse_profile(textwrap.dedent(text), source="p.toml", limits=limits)
    return [str(problem) for problem in error.value.problems]


def test_a_guided_segment_reaches_the_plan() -> None:
    plan = build_plan(parse_profile(textwrap.dedent(GUIDED), source="p.toml"))
    (segment,) = plan.segments
    assert segment.hr_zone_bpm == (105, 120)
    assert segment.max_speed_kmh == 5.5
    assert segment.speed_kmh == 4.0


def test_a_backward_guided_segment_needs_no_maximum_it_only_slows() -> None:
    text = GUIDED.replace('"forward"', '"backward"').replace("4.0", "2.0")
    text = text.replace("max_speed_kmh = 5.5\n", "")
    (segment,) = build_plan(parse_profile(textwrap.dedent(text), source="p.toml")).segments
    assert segment.max_speed_kmh == 2.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[105, 120]", "[120, 105]"), "hr_zone [120, 105] must rise within 60-200 bpm"),
        (("[105, 120]", "[105, 108]"), "is narrower than 6 bpm"),
        (("[105, 120]", "[105.5, 120]"), "hr_zone must be two whole numbers"),
        (("[105, 120]", '"105-120"'), "hr_zone must be two whole numbers"),
        (("[105, 120]", "[30, 50]"), "must rise within 60-200 bpm"),
        (("max_speed_kmh = 5.5\n", ""), "needs max_speed_kmh"),
        (("max_speed_kmh = 5.5", "max_speed_kmh = 3.5"), "below the starting speed_kmh 4"),
        (
            ("max_speed_kmh = 5.5", "max_speed_kmh = 9"),
            "max_speed_kmh 9.0 km/h is above the forward cap 6.0 km/h",
        ),
        (("max_speed_kmh = 5.5", 'max_speed_kmh = "fast"'), "max_speed_kmh must be a number"),
        (("hr_zone = [105, 120]\n", ""), "max_speed_kmh only applies with hr_zone"),
    ],
)
def test_every_mistake_is_named_where_it_is(change: tuple[str, str], message: str) -> None:
    found = problems(GUIDED.replace(*change))
    assert len(found) == 1, found
    assert found[0].startswith("p.toml:")
    assert message in found[0]


def test_a_zone_above_the_ceiling_is_refused() -> None:
    (problem,) = problems(GUIDED, limits=Limits(heart_rate_max_bpm=115))
    assert "reaches above the heart-rate ceiling heart_rate_max_bpm = 115" in problem


def test_the_plan_shows_the_zone_and_the_highest_speed() -> None:
    profile = parse_profile(textwrap.dedent(GUIDED), source="p.toml")
    text = format_plan(build_plan(profile))
    assert "[HR 105-120 bpm, up to 5.5 km/h]" in text
    (segment,) = plan_to_json(build_plan(profile))["segments"]
    assert segment["hr_zone_bpm"] == [105, 120]
    assert segment["max_speed_kmh"] == 5.5

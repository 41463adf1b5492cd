"""Durations as written in profiles: "30s", "2m", "1m30s", and back."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from treadmill_ctl.profiles import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected_s"),
    [
        ("30s", 30.0),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("1h5m", 3900.0),
        ("1h 0m 5s", 3605.0),
        (" 45S ", 45.0),
        ("2.5s", 2.5),
    ],
)
def test_durations_with_units_are_read_as_seconds(text: str, expected_s: float) -> None:
    assert parse_duration(text) == expected_s


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("30", "a unit is missing"),
        ("2 min", "units are single letters"),
        ("1:30", "clock notation"),
        ("", "not a duration"),
        ("s", "not a duration"),
        ("30s2m", "not a duration"),
        ("-30s", "not a duration"),
    ],
)
def test_text_that_is_not_a_duration_is_refused_with_a_hint(text: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint) as error:
        parse_duration(text)
    assert '"30s", "2m", "1m30s"' in str(error.value)


@pytest.mark.parametrize(
    ("duration_s", "text"),
    [(0.0, "0s"), (30.0, "30s"), (60.0, "1m"), (90.0, "1m30s"), (3600.0, "1h"), (3601.5, "1h1.5s")],
)
def test_seconds_are_written_largest_unit_first(duration_s: float, text: str) -> None:
    assert format_duration(duration_s) == text


@pytest.mark.parametrize("bad_s", [-1.0, float("nan"), float("inf")])
def test_negative_or_non_finite_seconds_cannot_be_formatted(bad_s: float) -> None:
    with pytest.raises(ValueError, match="cannot format"):
        format_duration(bad_s)


@given(st.integers(min_value=0, max_value=4 * 3600 * 1000))
@example(59_999)
@example(3_600_000)
def test_formatted_durations_read_back_to_the_same_milliseconds(millis: int) -> None:
    duration_s = millis / 1000
    assert parse_duration(format_duration(duration_s)) == pytest.approx(duration_s, abs=1e-9)

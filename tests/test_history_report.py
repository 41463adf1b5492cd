"""The report of one session: its summary text and its chart."""

from __future__ import annotations

from pathlib import Path

from test_history_fixtures import SyntheticRecord

from treadmill_ctl.history.record import parse_record
from treadmill_ctl.history.report import clock, format_report, write_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RECORD = Path("20250314-093000-backward-beginner.jsonl")


def test_the_summary_names_profile_ending_times_distance_and_heart_rate() -> None:
    log = parse_record(SyntheticRecord().build(), path=RECORD)
    text = format_report(log)
    assert "Backward walking: first session (profiles/backward-beginner.toml)" in text
    assert "ended       completed" in text
    assert "3:41 in all: 1:00 backward, 2:40 forward" in text
    assert "segments    5 of 5 completed" in text
    assert "heart rate  " in text
    assert "latches     none" in text
    assert "estimate only" in text
    assert "cut short" not in text


def test_the_summary_lists_each_latch_with_its_time_and_reason() -> None:
    log = parse_record(SyntheticRecord(latch_at_s=100).build(), path=RECORD)
    text = format_report(log)
    assert "ended       safety latch (emergency_stop)" in text
    assert "at 1:40  emergency_stop: test" in text


def test_a_record_cut_short_says_so_and_reports_what_it_holds() -> None:
    log = parse_record(SyntheticRecord(cut_at_s=100, partial_tail=True).build(), path=RECORD)
    text = format_report(log)
    assert "ended       cut short" in text
    assert "the program crashed or the power went" in text
    assert "last line was half written and was ignored" in text
    assert "(worked out from the record)" in text
    assert "segments    2 of 5 completed" in text


def test_a_session_without_heart_rate_says_nothing_about_it() -> None:
    log = parse_record(SyntheticRecord(heart_rate=False).build(), path=RECORD)
    assert "heart rate" not in format_report(log)


def test_the_chart_is_a_png_file_and_the_summary_names_it(tmp_path: Path) -> None:
    log = parse_record(SyntheticRecord(latch_at_s=150, pause=(40, 50)).build(), path=RECORD)
    chart = write_chart(log, tmp_path / "chart.png")
    assert chart.read_bytes().startswith(PNG_SIGNATURE)
    assert chart.stat().st_size > 10_000
    assert f"chart       {chart}" in format_report(log, chart_path=chart)


def test_a_chart_is_drawn_for_a_cut_record_and_for_one_without_samples(tmp_path: Path) -> None:
    cut = parse_record(SyntheticRecord(cut_at_s=100, partial_tail=True).build(), path=RECORD)
    empty = parse_record(SyntheticRecord(cut_at_s=0.05).build(), path=RECORD)
    assert write_chart(cut, tmp_path / "cut.png").read_bytes().startswith(PNG_SIGNATURE)
    assert write_chart(empty, tmp_path / "empty.png").read_bytes().startswith(PNG_SIGNATURE)


def test_durations_are_shown_as_minutes_and_seconds_or_hours() -> None:
    assert clock(0) == "0:00"
    assert clock(61.4) == "1:01"
    assert clock(3725) == "1:02:05"

"""The history commands as the CLI calls them: exit status and text, files written."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from garmin_fit_sdk import Decoder, Stream
from test_history_fixtures import START, SyntheticRecord

from treadmill_ctl.history.commands import (
    HistoryStatus,
    export_command,
    history_command,
    next_command,
    report_command,
)
from treadmill_ctl.profiles import load_profile
from treadmill_ctl.safety import Direction

BEGINNER = Path(__file__).resolve().parents[1] / "profiles" / "backward-beginner.toml"


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    folder = tmp_path / "sessions"
    day = timedelta(days=1)
    SyntheticRecord(profile_path=str(BEGINNER)).write(folder, "20250314-093000-beginner.jsonl")
    SyntheticRecord(profile_path=str(BEGINNER), started_at=START + day, latch_at_s=100).write(
        folder, "20250315-093000-beginner.jsonl"
    )
    SyntheticRecord(
        profile_path=str(BEGINNER), started_at=START + 2 * day, cut_at_s=100, partial_tail=True
    ).write(folder, "20250316-093000-beginner.jsonl")
    return folder


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


class TestHistory:
    def test_every_session_is_listed_oldest_first_with_how_it_ended(self, sessions: Path) -> None:
        status, text = history_command(sessions_folder=sessions)
        assert status == HistoryStatus.OK
        lines = text.splitlines()
        assert lines[0].split() == ["#", "date", "profile", "backward", "forward", "km", "ended"]
        assert lines[1].startswith("  1  2025-03-14")
        assert "1:00      2:40" in lines[1]
        assert lines[1].endswith("completed")
        assert "safety latch (emergency_stop)" in lines[2]
        assert "cut short" in lines[3]
        assert lines[-1] == f"(3 sessions in {sessions})"

    def test_a_limit_shows_the_newest_sessions_with_their_numbers(self, sessions: Path) -> None:
        _, text = history_command(sessions_folder=sessions, limit=1)
        assert text.splitlines()[1].startswith("  3  ")
        assert len(text.splitlines()) == 3

    def test_an_unreadable_file_is_listed_as_such_without_stopping_the_list(
        self, sessions: Path
    ) -> None:
        (sessions / "20250317-000000-junk.jsonl").write_text("garbage\n", encoding="utf-8")
        status, text = history_command(sessions_folder=sessions)
        assert status == HistoryStatus.OK
        assert "20250317-000000-junk.jsonl: not a readable session record" in text

    def test_no_sessions_yet_says_how_to_make_one(self, tmp_path: Path) -> None:
        status, text = history_command(sessions_folder=tmp_path / "none")
        assert status == HistoryStatus.NOTHING
        assert "treadmill-ctl run PROFILE" in text


class TestReport:
    def test_a_report_prints_the_summary_and_writes_the_chart_here(
        self, sessions: Path, in_tmp: Path
    ) -> None:
        status, text = report_command("1", sessions_folder=sessions)
        assert status == HistoryStatus.OK
        chart = Path("20250314-093000-beginner.png")
        assert (in_tmp / chart).read_bytes().startswith(b"\x89PNG")
        assert f"chart       {chart}" in text

    def test_a_report_of_a_cut_record_says_cut_short(self, sessions: Path, tmp_path: Path) -> None:
        status, text = report_command(
            "last", sessions_folder=sessions, chart_path=tmp_path / "c.png"
        )
        assert status == HistoryStatus.OK
        assert "ended       cut short" in text
        assert (tmp_path / "c.png").exists()

    def test_no_chart_when_asked_for_none(self, sessions: Path, in_tmp: Path) -> None:
        status, text = report_command("2", sessions_folder=sessions, chart=False)
        assert status == HistoryStatus.OK
        assert "chart" not in text
        assert list(in_tmp.iterdir()) == []

    def test_an_unknown_session_is_one_line_and_status_2(self, sessions: Path) -> None:
        status, text = report_command("9", sessions_folder=sessions)
        assert status == HistoryStatus.BAD_ARGUMENT
        assert text == (
            "treadmill-ctl report: there is no session 9: history has sessions 1 to 3 "
            "(or -1 for the newest)"
        )

    def test_a_chart_that_cannot_be_written_is_status_2(
        self, sessions: Path, tmp_path: Path
    ) -> None:
        status, text = report_command(
            "1", sessions_folder=sessions, chart_path=tmp_path / "no" / "such" / "c.png"
        )
        assert status == HistoryStatus.BAD_ARGUMENT
        assert "cannot write the chart" in text


class TestExport:
    @pytest.mark.parametrize("fmt", ["fit", "tcx", "csv", "FIT"])
    def test_each_format_is_written_next_to_where_the_person_is(
        self, sessions: Path, in_tmp: Path, fmt: str
    ) -> None:
        status, text = export_command("1", fmt=fmt, sessions_folder=sessions)
        assert status == HistoryStatus.OK
        target = in_tmp / f"20250314-093000-beginner.{fmt.lower()}"
        assert target.stat().st_size > 1000
        laps = "" if fmt == "csv" else ", 5 laps"
        assert text.startswith(f"Wrote {target.name} ({fmt.upper()}, 220 samples{laps})")
        if fmt.lower() == "fit":
            assert Decoder(Stream.from_file(str(target))).check_integrity()

    def test_a_cut_record_exports_and_says_it_was_cut_short(
        self, sessions: Path, tmp_path: Path
    ) -> None:
        out = tmp_path / "cut.fit"
        status, text = export_command("3", fmt="fit", output=out, sessions_folder=sessions)
        assert status == HistoryStatus.OK
        assert "cut short" in text
        assert Decoder(Stream.from_file(str(out))).check_integrity()
        messages, errors = Decoder(Stream.from_file(str(out))).read()
        assert errors == []
        assert len(messages["record_mesgs"]) == 99

    def test_an_unknown_format_is_status_2(self, sessions: Path) -> None:
        status, text = export_command("1", fmt="gpx", sessions_folder=sessions)
        assert status == HistoryStatus.BAD_ARGUMENT
        assert text == "treadmill-ctl export: unknown format 'gpx' (fit, tcx, csv)"

    def test_an_output_that_cannot_be_written_is_status_2(
        self, sessions: Path, tmp_path: Path
    ) -> None:
        status, text = export_command(
            "1", fmt="csv", output=tmp_path / "no" / "x.csv", sessions_folder=sessions
        )
        assert status == HistoryStatus.BAD_ARGUMENT
        assert "cannot write" in text


class TestNext:
    def test_the_newest_session_decides_and_a_cut_short_one_keeps_it_the_same(
        self, sessions: Path
    ) -> None:
        status, text = next_command(sessions_folder=sessions)
        assert status == HistoryStatus.OK
        assert text.startswith("Next session: the same again")
        assert "20250316-093000-beginner.jsonl" in text
        assert "--write PATH" in text

    def test_after_a_good_session_the_proposal_is_written_and_loads(self, tmp_path: Path) -> None:
        folder = tmp_path / "sessions"
        SyntheticRecord(profile_path=str(BEGINNER)).write(folder, "20250314-093000-b.jsonl")
        target = tmp_path / "next.toml"
        status, text = next_command(sessions_folder=folder, write=target)
        assert status == HistoryStatus.OK
        assert text.startswith("Next session: a little more")
        assert f"written to  {target}" in text
        profile = load_profile(target)
        backward = {
            s.duration_s for s in profile.iter_segments() if s.direction is Direction.BACKWARD
        }
        assert backward == {45.0}

    def test_a_given_profile_is_grown_instead_of_the_recorded_one(self, tmp_path: Path) -> None:
        folder = tmp_path / "sessions"
        SyntheticRecord(profile_path=None).write(folder, "20250314-093000-b.jsonl")
        week3 = BEGINNER.parent / "six-week-progression" / "week3.toml"
        status, text = next_command(sessions_folder=folder, profile=week3)
        assert status == HistoryStatus.OK
        assert "backward intervals 1m -> 1m15s" in text

    def test_a_record_without_a_profile_asks_for_one(self, tmp_path: Path) -> None:
        folder = tmp_path / "sessions"
        SyntheticRecord(profile_path=None).write(folder, "20250314-093000-b.jsonl")
        status, text = next_command(sessions_folder=folder)
        assert status == HistoryStatus.BAD_ARGUMENT
        assert "--profile PATH" in text

    def test_a_bad_given_profile_is_status_2(self, tmp_path: Path) -> None:
        folder = tmp_path / "sessions"
        SyntheticRecord().write(folder, "20250314-093000-b.jsonl")
        status, text = next_command(sessions_folder=folder, profile=tmp_path / "gone.toml")
        assert status == HistoryStatus.BAD_ARGUMENT
        assert "no such profile file" in text

    def test_no_sessions_is_status_1(self, tmp_path: Path) -> None:
        status, text = next_command(sessions_folder=tmp_path / "none")
        assert status == HistoryStatus.NOTHING
        assert "no session to build on" in text

"""Reading session records back: complete, cut short, half written, or odd."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_history_fixtures import START, Seg, SyntheticRecord

from treadmill_ctl.history.errors import UnreadableRecord
from treadmill_ctl.history.record import parse_record, read_record
from treadmill_ctl.history.session_log import Ending
from treadmill_ctl.safety import Direction

RECORD = Path("20250314-093000-backward-beginner.jsonl")


def _line(t_s: float, event: str, **fields: object) -> str:
    ts = (START + timedelta(seconds=t_s)).isoformat(timespec="milliseconds")
    return json.dumps({"t": t_s, "ts": ts, "event": event, "session_id": "s1", **fields}) + "\n"


class TestCompleteRecord:
    def test_the_header_fields_are_read_from_session_started(self) -> None:
        log = parse_record(SyntheticRecord(simulator=True).build(), path=RECORD)
        assert log.profile_name == "Backward walking: first session"
        assert log.profile_path == "profiles/backward-beginner.toml"
        assert log.device_name == "FTMS Sim"
        assert log.simulator is True
        assert log.session_id == "abc123"
        assert log.started_at == START
        assert log.weight_kg == 70.0
        assert log.plan is not None
        assert log.plan.segment_count == 5
        assert log.plan.backward_s == 60

    def test_a_completed_record_uses_the_runners_summary(self) -> None:
        log = parse_record(SyntheticRecord().build(), path=RECORD)
        assert log.ending is Ending.COMPLETED
        assert not log.cut_short
        assert not log.summary_derived
        assert log.exit_status == 0
        assert log.summary.backward_s == 60
        assert log.summary.forward_s == 160
        assert log.summary.segments_completed == 5
        assert log.summary.latches == ()

    def test_segments_run_from_their_start_to_the_next_ones(self) -> None:
        log = parse_record(SyntheticRecord().build(), path=RECORD)
        assert [s.direction for s in log.segments] == [
            Direction.FORWARD,
            Direction.BACKWARD,
            Direction.FORWARD,
            Direction.BACKWARD,
            Direction.FORWARD,
        ]
        assert [s.ran_s for s in log.segments] == [60, 30, 60, 30, 40]
        assert log.segments[1].speed_kmh == 1.2

    def test_every_belt_sample_is_kept_with_its_segment_and_heart_rate(self) -> None:
        log = parse_record(SyntheticRecord().build(), path=RECORD)
        assert len(log.samples) == 220
        first_backward = next(s for s in log.samples if s.direction is Direction.BACKWARD)
        assert first_backward.t_s == 61.0
        assert first_backward.segment_index == 1
        assert first_backward.speed_kmh == 1.2
        assert log.has_heart_rate

    def test_a_latch_is_read_with_its_reason_and_the_ending_with_it(self) -> None:
        log = parse_record(SyntheticRecord(latch_at_s=100).build(), path=RECORD)
        assert log.ending is Ending.SAFETY_LATCH
        assert [(latch.t_s, latch.reason) for latch in log.latches] == [(100.0, "emergency_stop")]
        assert log.summary.latches == ("emergency_stop",)

    def test_wall_times_are_the_start_plus_session_time_not_the_dry_runs_wall_clock(
        self,
    ) -> None:
        text = _line(0.0, "session.started", started_at="2025-03-14T08:30:00.000+00:00")
        text += json.dumps(
            {"t": 600.0, "ts": "2025-03-14T08:30:01.000+00:00", "event": "belt.data"}
        )
        text += "\n"
        log = parse_record(text, path=RECORD)
        assert log.wall_time(600.0) == datetime(2025, 3, 14, 8, 40, tzinfo=UTC)


class TestCutShort:
    def test_a_record_without_session_ended_is_cut_short_with_a_derived_summary(self) -> None:
        log = parse_record(SyntheticRecord(cut_at_s=100).build(), path=RECORD)
        assert log.cut_short
        assert log.ending is Ending.CUT_SHORT
        assert log.summary_derived
        assert log.exit_status is None
        assert log.summary.forward_s == pytest.approx(60 + 8.2, abs=0.01)
        assert log.summary.backward_s == 30
        assert log.summary.segments_completed == 2
        assert log.summary.segment_count == 5
        assert log.summary.distance_m == log.samples[-1].distance_m

    def test_a_half_written_last_line_is_ignored_and_reported(self) -> None:
        log = parse_record(SyntheticRecord(cut_at_s=100, partial_tail=True).build(), path=RECORD)
        assert log.partial_last_line
        assert log.bad_lines == 0
        assert log.samples[-1].t_s == 99.0

    def test_a_complete_last_line_without_its_newline_is_kept(self) -> None:
        text = SyntheticRecord(cut_at_s=100).build().rstrip("\n")
        log = parse_record(text, path=RECORD)
        assert not log.partial_last_line
        assert log.samples[-1].t_s == 99.0

    def test_a_broken_line_in_the_middle_is_skipped_and_counted(self) -> None:
        lines = SyntheticRecord().build().splitlines(keepends=True)
        lines.insert(5, '{"t": 3.0, "event": "belt.da\n')
        lines.insert(6, "[1, 2]\n")
        log = parse_record("".join(lines), path=RECORD)
        assert log.bad_lines == 2
        assert log.ending is Ending.COMPLETED

    def test_a_record_holding_only_its_start_lists_as_cut_short(self) -> None:
        log = parse_record(_line(0.0, "session.started", profile_name="P"), path=RECORD)
        assert log.cut_short
        assert log.samples == ()
        assert log.summary.duration_s == 0

    @given(cut=st.integers(min_value=1, max_value=40_000))
    def test_any_truncation_of_a_record_reads_or_says_it_is_not_a_record(self, cut: int) -> None:
        text = SyntheticRecord(segments=(Seg("forward", 2.0, 30), Seg("backward", 1.0, 30))).build()
        try:
            log = parse_record(text[:cut], path=RECORD)
        except UnreadableRecord:
            assert "\n" not in text[:cut]  # only a half-written first line
            return
        distances = [sample.distance_m for sample in log.samples]
        assert distances == sorted(distances)
        assert log.cut_short or cut >= len(text) - 1
        assert log.summary.backward_s + log.summary.forward_s <= log.summary.duration_s + 1e-6


class TestOddRecords:
    def test_unknown_events_and_fields_are_ignored(self) -> None:
        text = _line(0.0, "session.started", profile_name="P", future_field=[1, 2])
        text += _line(1.0, "quantum.entangled", spin="up")
        text += _line(2.0, "session.ended", end="completed", exit_status=0)
        log = parse_record(text, path=RECORD)
        assert log.ending is Ending.COMPLETED
        assert log.profile_name == "P"

    def test_an_ending_this_version_does_not_know_is_unknown_not_cut_short(self) -> None:
        text = _line(0.0, "session.started") + _line(5.0, "session.ended", end="teleported")
        log = parse_record(text, path=RECORD)
        assert log.ending is Ending.UNKNOWN
        assert not log.cut_short

    def test_distance_stays_continuous_when_the_treadmill_restarts_its_counter(self) -> None:
        text = _line(0.0, "session.started")
        for t_s, distance in ((1, 10.0), (2, 20.0), (3, 0.0), (4, 5.0)):
            text += _line(float(t_s), "belt.data", speed_kmh=3.6, distance_m=distance)
        log = parse_record(text, path=RECORD)
        assert [s.distance_m for s in log.samples] == [10.0, 20.0, 20.0, 25.0]

    def test_distance_is_integrated_from_speed_when_the_treadmill_reports_none(self) -> None:
        text = _line(0.0, "session.started")
        for t_s in range(1, 12):
            text += _line(float(t_s), "belt.data", speed_kmh=3.6, distance_m=None)
        log = parse_record(text, path=RECORD)
        assert log.samples[-1].distance_m == pytest.approx(10.0)

    def test_values_of_the_wrong_type_are_treated_as_not_reported(self) -> None:
        text = _line(0.0, "session.started", weight_kg="heavy", simulator="yes")
        text += _line(1.0, "belt.data", speed_kmh="fast", heart_rate_bpm=True, distance_m=None)
        log = parse_record(text, path=RECORD)
        assert log.weight_kg is None
        assert log.simulator is False
        assert log.samples[0].speed_kmh is None
        assert log.samples[0].heart_rate_bpm is None

    def test_the_start_comes_from_the_file_name_when_no_line_gives_one(self) -> None:
        text = json.dumps({"t": 0.0, "event": "session.started"}) + "\n"
        log = parse_record(text, path=RECORD)
        local = datetime(2025, 3, 14, 9, 30).astimezone()
        assert log.started_at == local

    def test_a_file_with_no_record_lines_is_unreadable(self, tmp_path: Path) -> None:
        path = tmp_path / "x.jsonl"
        path.write_text("hello\nworld\n", encoding="utf-8")
        with pytest.raises(UnreadableRecord, match="not a session record"):
            read_record(path)

    def test_a_missing_file_is_unreadable(self, tmp_path: Path) -> None:
        with pytest.raises(UnreadableRecord, match="cannot read"):
            read_record(tmp_path / "gone.jsonl")

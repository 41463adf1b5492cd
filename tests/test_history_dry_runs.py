"""The history commands on records of real dry runs: the runner against the simulator.

Three sessions are run once for the module with ``treadmill-ctl run --simulator
--speedup max`` (virtual time, a second or two each): a completed beginner session,
the same profile stopped by the safety key, and six-week week 1 written to the data
folder named by ``TREADMILL_CTL_DATA_DIR``. A fourth record is the completed one cut
in the middle of a line, as a crash or a power cut leaves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from garmin_fit_sdk import Decoder, Stream

from treadmill_ctl.history.commands import (
    HistoryStatus,
    export_command,
    history_command,
    next_command,
    report_command,
)
from treadmill_ctl.history.errors import NoSessionYet
from treadmill_ctl.history.progression import Outcome, judge, propose_next
from treadmill_ctl.history.record import read_record
from treadmill_ctl.history.session_log import Ending
from treadmill_ctl.history.store import list_records

ROOT = Path(__file__).resolve().parents[1]
BEGINNER = ROOT / "profiles" / "backward-beginner.toml"
WEEK1 = ROOT / "profiles" / "six-week-progression" / "week1.toml"


@dataclass(frozen=True, slots=True)
class DryRuns:
    data: Path
    sessions: Path
    completed: Path
    latched: Path
    week1: Path
    truncated: Path


def _run(profile: Path, *extra: str, data: Path, expect: int) -> None:
    env = {**os.environ, "TREADMILL_CTL_DATA_DIR": str(data)}
    command = [sys.executable, "-m", "treadmill_ctl", "run", str(profile), "--simulator"]
    command += ["--speedup", "max", "--yes", "--quiet", "--plain", *extra]
    done = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == expect, done.stderr[-2000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> DryRuns:
    data = tmp_path_factory.mktemp("data")
    sessions = data / "sessions"
    sessions.mkdir()
    completed = sessions / "20250301-080000-backward-beginner.jsonl"
    latched = sessions / "20250302-080000-backward-beginner.jsonl"
    truncated = sessions / "20250303-080000-backward-beginner.jsonl"
    _run(BEGINNER, "--record", str(completed), data=data, expect=0)
    _run(
        BEGINNER,
        "--record",
        str(latched),
        "--sim-fault",
        "safety-key@200",
        data=data,
        expect=4,
    )
    _run(WEEK1, data=data, expect=0)  # named by the runner, in the data folder
    (week1,) = (path for path in list_records(sessions) if path.name.endswith("-week1.jsonl"))
    text = completed.read_bytes()
    middle = text.index(b'"event":"belt.data"', len(text) // 2)
    truncated.write_bytes(text[:middle])
    return DryRuns(data, sessions, completed, latched, week1, truncated)


def _ordered(runs: DryRuns) -> list[Path]:
    return list(list_records(runs.sessions))


def test_the_dry_run_records_are_read_as_the_runner_summarised_them(runs: DryRuns) -> None:
    log = read_record(runs.completed)
    assert log.ending is Ending.COMPLETED
    assert log.simulator
    assert log.summary.segments_completed == log.summary.segment_count == 13
    assert log.summary.backward_s == pytest.approx(150, abs=1)
    assert len(log.segments) == 13
    assert log.samples
    belt_lines = runs.completed.read_text(encoding="utf-8").count('"event":"belt.data"')
    assert len(log.samples) == belt_lines
    assert log.summary.distance_m == pytest.approx(log.samples[-1].distance_m, abs=1)


def test_history_lists_every_dry_run_with_how_it_ended(
    runs: DryRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREADMILL_CTL_DATA_DIR", str(runs.data))
    status, text = history_command()
    assert status == HistoryStatus.OK
    rows = text.splitlines()[1:-1]
    names = [path.name for path in _ordered(runs)]
    assert len(rows) == len(names) == 4
    by_name = dict(zip(names, rows, strict=True))
    assert by_name[runs.completed.name].endswith("completed [sim]")
    assert by_name[runs.latched.name].endswith("safety latch (safety_key) [sim]")
    assert by_name[runs.truncated.name].endswith("cut short [sim]")
    assert "Six-week progression: week 1 " in by_name[runs.week1.name]


def test_a_report_of_a_latched_dry_run_names_the_latch_and_draws_it(
    runs: DryRuns, tmp_path: Path
) -> None:
    chart = tmp_path / "latched.png"
    status, text = report_command(str(runs.latched), chart_path=chart)
    assert status == HistoryStatus.OK
    assert "ended       safety latch (safety_key)" in text
    assert "safety_key: stopped by the safety key" in text
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_a_report_of_the_truncated_dry_run_says_it_was_cut_short(
    runs: DryRuns, tmp_path: Path
) -> None:
    status, text = report_command(str(runs.truncated), chart_path=tmp_path / "cut.png")
    assert status == HistoryStatus.OK
    assert "ended       cut short" in text
    assert "last line was half written and was ignored" in text


def test_the_fit_export_of_a_dry_run_reads_back_through_garmins_sdk(
    runs: DryRuns, tmp_path: Path
) -> None:
    log = read_record(runs.completed)
    out = tmp_path / "completed.fit"
    status, _ = export_command(str(runs.completed), fmt="fit", output=out)
    assert status == HistoryStatus.OK
    assert Decoder(Stream.from_file(str(out))).check_integrity()
    messages, errors = Decoder(Stream.from_file(str(out))).read()
    assert errors == []
    records = messages["record_mesgs"]
    walking = [sample for sample in log.samples if sample.timer_running]
    assert len(walking) < len(log.samples)  # the belt's last sample came after the end
    assert len(records) == len(walking)
    assert records[0]["timestamp"] == log.wall_time(walking[0].t_s).replace(microsecond=0)
    assert records[-1]["distance"] == pytest.approx(log.samples[-1].distance_m, abs=0.01)
    assert max(r["speed"] for r in records) == pytest.approx(3.0 / 3.6, abs=0.001)
    assert log.has_heart_rate
    assert all("heart_rate" not in r for r in records)  # the simulator's is nobody's
    (session,) = messages["session_mesgs"]
    assert session["total_distance"] == pytest.approx(log.summary.distance_m, abs=1)
    walked = log.timer_spans[-1].end_t_s - log.timer_spans[0].start_t_s
    assert session["total_elapsed_time"] == pytest.approx(walked, abs=0.01)
    # no pause, no latch: the timer ran throughout (turn-arounds are walking)
    assert session["total_timer_time"] == pytest.approx(walked, abs=0.01)
    fit_laps = messages["lap_mesgs"]
    assert session["num_laps"] == len(fit_laps) == 13 + 10  # segments and turn-arounds
    assert [lap["wkt_step_index"] for lap in fit_laps if lap["intensity"] == "active"] == list(
        range(13)
    )
    assert session["sport"] == "walking"


def test_the_truncated_dry_run_exports_in_every_format(runs: DryRuns, tmp_path: Path) -> None:
    log = read_record(runs.truncated)
    for fmt in ("fit", "tcx", "csv"):
        out = tmp_path / f"cut.{fmt}"
        status, text = export_command(str(runs.truncated), fmt=fmt, output=out)
        assert status == HistoryStatus.OK, text
        assert "cut short" in text
    assert Decoder(Stream.from_file(str(tmp_path / "cut.fit"))).check_integrity()
    messages, errors = Decoder(Stream.from_file(str(tmp_path / "cut.fit"))).read()
    assert errors == []
    assert len(messages["record_mesgs"]) == sum(1 for s in log.samples if s.timer_running)
    csv_rows = (tmp_path / "cut.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_rows) == len(log.samples) + 1


def test_each_dry_run_would_grow_hold_or_ease(runs: DryRuns) -> None:
    assert judge(read_record(runs.completed))[0] is Outcome.GROW
    assert judge(read_record(runs.latched))[0] is Outcome.EASE
    assert judge(read_record(runs.truncated))[0] is Outcome.SAME


def test_dry_runs_never_feed_next(runs: DryRuns) -> None:
    logs = [read_record(path) for path in _ordered(runs)]
    assert all(log.simulator for log in logs)
    with pytest.raises(NoSessionYet, match="dry runs against the simulator do not count"):
        propose_next(logs)
    status, text = next_command(sessions_folder=runs.sessions)
    assert status == HistoryStatus.NOTHING
    assert "dry runs against the simulator do not count" in text


def test_a_proposal_written_after_a_dry_run_runs_in_the_simulator(
    runs: DryRuns, tmp_path: Path
) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir()
    # The runner's own record of week 1, as if walked on a treadmill: a dry run would
    # not count (test_dry_runs_never_feed_next).
    walked = runs.week1.read_text(encoding="utf-8").replace(
        '"simulator":true', '"simulator":false', 1
    )
    (folder / runs.week1.name).write_text(walked, encoding="utf-8")
    proposal = tmp_path / "next.toml"
    status, text = next_command(sessions_folder=folder, write=proposal)
    assert status == HistoryStatus.OK, text
    assert "backward intervals 30s -> 45s" in text
    record = tmp_path / "next.jsonl"
    _run(proposal, "--record", str(record), data=tmp_path, expect=0)
    started = json.loads(record.read_text(encoding="utf-8").splitlines()[0])
    assert started["profile_name"] == "Six-week progression: week 1 (next 1)"
    assert read_record(record).ending is Ending.COMPLETED


def test_a_record_cut_before_the_belt_reported_is_refused_in_every_format(
    runs: DryRuns, tmp_path: Path
) -> None:
    text = runs.completed.read_bytes()
    empty = tmp_path / "20250304-080000-backward-beginner.jsonl"
    empty.write_bytes(text[: text.index(b'{"t"', text.index(b'"event":"belt.data"') - 200)])
    assert read_record(empty).samples == ()
    for fmt in ("fit", "tcx", "csv"):
        out = tmp_path / f"empty.{fmt}"
        status, message = export_command(str(empty), fmt=fmt, output=out)
        assert status == HistoryStatus.BAD_ARGUMENT
        assert message == (
            f"treadmill-ctl export: {empty.name}: the record holds no belt data (the "
            "treadmill never reported): there is no activity to export; nothing was written"
        )
        assert not out.exists()

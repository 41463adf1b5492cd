"""A paused and resumed session, end to end: the record, the report, the chart and the FIT.

The demo profile runs on the simulator through the virtual radio with the real
runner, link and governor, in virtual time (``person_runs``); a scripted person
waits 5 s before pressing start, pauses 4 s in the first segment, and presses resume
after each turn-around. A second run has an emergency stop instead, a re-arm and a
start again. What the record says is checked against the simulator's own trace of
the belt, and every FIT file is read back with Garmin's FIT SDK.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Stream
from matplotlib.patches import Rectangle
from person_runs import PAUSE_FOR_S, START_AFTER_S, STOP_AT_S

from treadmill_ctl.history.commands import HistoryStatus, export_command, report_command
from treadmill_ctl.history.export_tcx import TCX_NS
from treadmill_ctl.history.laps import laps
from treadmill_ctl.history.record import read_record
from treadmill_ctl.history.report import chart_figure
from treadmill_ctl.session.events import RecordEvent

if TYPE_CHECKING:
    from pathlib import Path

    from e2e_support import Line
    from garmin_fit_sdk.mesgs import FitMessages
    from person_runs import ScriptedRun

    from treadmill_ctl.history.session_log import SessionLog

pytest_plugins = ["scripted_runs"]

TICK_S: Final = 0.1
MOVING_KMH: Final = 0.5
FIT_EPOCH: Final = datetime(1989, 12, 31, tzinfo=UTC)


def _lines(path: Path) -> list[Line]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _events(run: ScriptedRun, kind: RecordEvent) -> list[Line]:
    return [line for line in _lines(run.record) if line["event"] == kind]


def _t(line: Line) -> float:
    value = line["t"]
    assert isinstance(value, int | float)
    return float(value)


def _fit(run: ScriptedRun, tmp_path: Path) -> FitMessages:
    out = tmp_path / "session.fit"
    status, text = export_command(str(run.record), fmt="fit", output=out)
    assert status == HistoryStatus.OK, text
    assert Decoder(Stream.from_file(str(out))).check_integrity()
    messages, errors = Decoder(Stream.from_file(str(out))).read()
    assert errors == []
    return messages


def _stamps(messages: FitMessages) -> list[datetime]:
    stamps: list[datetime] = []
    for record in messages["record_mesgs"]:
        stamp = record["timestamp"]
        assert isinstance(stamp, datetime)
        stamps.append(stamp)
    return stamps


def _stamp(log: SessionLog, t_s: float) -> datetime:
    return log.wall_time(t_s).replace(microsecond=0)


class TestThePauseAsRecorded:
    def test_one_pause_and_one_resume_written_from_what_the_governor_did(
        self, paused_run: ScriptedRun
    ) -> None:
        (paused,) = _events(paused_run, RecordEvent.PAUSED)
        (resumed,) = _events(paused_run, RecordEvent.RESUMED)
        pressed = {what: t_s for t_s, what in paused_run.presses if what == "pause"}
        assert _t(paused) == pytest.approx(pressed["pause"], abs=2 * TICK_S)
        assert _t(resumed) - _t(paused) == pytest.approx(PAUSE_FOR_S, abs=2 * TICK_S)
        assert paused["reason"] == "pause requested"

    def test_the_belt_really_stood_still_in_the_pause_and_walked_after_it(
        self, paused_run: ScriptedRun
    ) -> None:
        log = read_record(paused_run.record)
        (pause,) = log.pauses
        assert pause.end_t_s is not None
        inside = [s for s in log.samples if pause.start_t_s + 2.5 < s.t_s < pause.end_t_s]
        assert inside
        assert all((s.speed_kmh or 0.0) < MOVING_KMH for s in inside)
        assert all(s.paused and not s.timer_running for s in inside)
        after = [s for s in log.samples if s.t_s > pause.end_t_s + 3]
        assert any((s.speed_kmh or 0.0) > MOVING_KMH for s in after)
        trace = _lines(paused_run.trace)
        belt = [r for r in trace if r["kind"] == "sample"]
        assert any(float(str(r["belt_speed_kmh"])) < MOVING_KMH for r in belt)

    def test_the_treadmill_confirms_the_belt_stopped_in_the_pause_and_moved_after(
        self, paused_run: ScriptedRun
    ) -> None:
        (paused,) = _events(paused_run, RecordEvent.PAUSED)
        (resumed,) = _events(paused_run, RecordEvent.RESUMED)
        stopped = [_t(e) for e in _events(paused_run, RecordEvent.BELT_STOPPED)]
        moving = [_t(e) for e in _events(paused_run, RecordEvent.BELT_MOVING)]
        in_pause = [t for t in stopped if _t(paused) <= t <= _t(resumed)]
        assert len(in_pause) == 1
        assert in_pause[0] - _t(paused) < 3.0  # the belt ramps down by itself
        assert any(_t(resumed) <= t < _t(resumed) + 2.0 for t in moving)

    def test_turn_arounds_are_not_pauses(self, paused_run: ScriptedRun) -> None:
        log = read_record(paused_run.record)
        assert len(log.pauses) == 1
        assert len(log.turn_arounds) == 2
        assert [turn.direction for turn in log.turn_arounds] == ["backward", "forward"]


class TestTheReportAndTheChart:
    def test_the_report_says_one_pause_of_four_seconds(
        self, paused_run: ScriptedRun, tmp_path: Path
    ) -> None:
        status, text = report_command(str(paused_run.record), chart_path=tmp_path / "c.png")
        assert status == HistoryStatus.OK
        assert "  pauses      1, 0:04 in all" in text
        assert "  turn-around 2," in text
        assert "SIMULATED" in text
        assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")

    def test_the_chart_shades_the_pause_and_only_the_pause(self, paused_run: ScriptedRun) -> None:
        log = read_record(paused_run.record)
        (pause,) = log.pauses
        assert pause.end_t_s is not None
        figure = chart_figure(log)
        speed_axes = figure.axes[0]
        spans = [p for p in speed_axes.patches if p.get_gid() == "pause"]
        (span,) = spans
        assert isinstance(span, Rectangle)
        assert span.get_x() == pytest.approx(pause.start_t_s - log.start_t_s)
        assert span.get_width() == pytest.approx(pause.end_t_s - pause.start_t_s, abs=0.01)
        turns = [p for p in speed_axes.patches if p.get_gid() == "turn_around"]
        assert len(turns) == len(log.turn_arounds)
        title = speed_axes.get_title()
        assert title.startswith("SIMULATED dry run - Demo")
        incline_axes = figure.axes[1]
        assert incline_axes.get_ylabel() == "incline (%)"
        labels = [label.get_text() for label in incline_axes.get_xticklabels()]
        assert "0:30" in labels

    def test_the_chart_marks_the_latch_and_the_rearm_in_words(
        self, stopped_run: ScriptedRun
    ) -> None:
        log = read_record(stopped_run.record)
        (latch,) = log.latches
        assert latch.rearmed_t_s is not None
        speed_axes = chart_figure(log).axes[0]
        marks = {line.get_gid(): np.asarray(line.get_xdata()) for line in speed_axes.get_lines()}
        assert float(marks["latch"][0]) == pytest.approx(latch.t_s - log.start_t_s)
        assert float(marks["rearm"][0]) == pytest.approx(latch.rearmed_t_s - log.start_t_s)
        words = {text.get_text() for text in speed_axes.texts}
        assert {"emergency stop", "re-armed"} <= words
        assert "emergency_stop" not in words


class TestTheFit:
    def test_records_go_on_after_the_resume_and_none_fall_in_the_pause(
        self, paused_run: ScriptedRun, tmp_path: Path
    ) -> None:
        log = read_record(paused_run.record)
        (pause,) = log.pauses
        assert pause.end_t_s is not None
        messages = _fit(paused_run, tmp_path)
        records = messages["record_mesgs"]
        stamps = _stamps(messages)
        after = [s for s in stamps if s > _stamp(log, pause.end_t_s)]
        assert len(after) > 60
        inside = [
            s for s in stamps if _stamp(log, pause.start_t_s + 1) < s < _stamp(log, pause.end_t_s)
        ]
        assert inside == []
        assert len(records) == sum(1 for sample in log.samples if sample.timer_running)

    def test_the_timer_is_the_walking_time(self, paused_run: ScriptedRun, tmp_path: Path) -> None:
        log = read_record(paused_run.record)
        messages = _fit(paused_run, tmp_path)
        (session,) = messages["session_mesgs"]
        (pause,) = log.pauses
        assert pause.end_t_s is not None
        first_start = log.timer_spans[0].start_t_s
        elapsed = float(str(session["total_elapsed_time"]))
        timer = float(str(session["total_timer_time"]))
        assert first_start == pytest.approx(START_AFTER_S, abs=3 * TICK_S)
        assert session["start_time"] == _stamp(log, first_start)
        assert elapsed == pytest.approx(log.timer_spans[-1].end_t_s - first_start, abs=0.01)
        assert timer == pytest.approx(elapsed - PAUSE_FOR_S, abs=2 * TICK_S)
        assert timer == pytest.approx(log.timer_s, abs=0.01)
        distance = float(str(session["total_distance"]))
        assert float(str(session["avg_speed"])) == pytest.approx(distance / timer, abs=0.002)
        events = [(e["event_type"], e["timestamp"]) for e in messages["event_mesgs"]]
        assert ("stop", _stamp(log, pause.start_t_s)) in events
        assert ("start", _stamp(log, pause.end_t_s)) in events

    def test_a_lap_per_segment_points_to_a_step_named_by_direction_and_speed(
        self, paused_run: ScriptedRun, tmp_path: Path
    ) -> None:
        messages = _fit(paused_run, tmp_path)
        steps = messages["workout_step_mesgs"]
        assert [step["wkt_step_name"] for step in steps] == [
            "Forward 2 km/h",
            "Backward 1.2 km/h",
            "Forward 2 km/h",
        ]
        (workout,) = messages["workout_mesgs"]
        assert workout["wkt_name"] == "Demo: forward, backward, forward (simulated)"
        assert workout["num_valid_steps"] == len(steps)
        fit_laps = messages["lap_mesgs"]
        segment_laps = [lap for lap in fit_laps if lap["intensity"] == "active"]
        rest_laps = [lap for lap in fit_laps if lap["intensity"] == "rest"]
        assert [lap["wkt_step_index"] for lap in segment_laps] == [0, 1, 2]
        assert len(rest_laps) == 2
        assert all("wkt_step_index" not in lap for lap in rest_laps)
        assert [lap["lap_trigger"] for lap in fit_laps] == ["time"] * 4 + ["session_end"]
        (session,) = messages["session_mesgs"]
        assert sum(float(str(lap["total_timer_time"])) for lap in fit_laps) == pytest.approx(
            float(str(session["total_timer_time"])), abs=0.01
        )
        assert sum(float(str(lap["total_distance"])) for lap in fit_laps) == pytest.approx(
            float(str(session["total_distance"])), abs=0.05
        )
        backward = segment_laps[1]
        assert float(str(backward["total_timer_time"])) == pytest.approx(30, abs=0.5)

    def test_the_devices_local_time_and_grade_are_there(
        self, paused_run: ScriptedRun, tmp_path: Path
    ) -> None:
        messages = _fit(paused_run, tmp_path)
        creator, treadmill = messages["device_info_mesgs"]
        assert creator["device_index"] == "creator"
        assert creator["product_name"] == "treadmill-ctl (simulated)"
        assert treadmill["product_name"] == "treadmill_ctl SIM-FTMS-1 (simulated)"
        assert "serial SIM-0001" in str(treadmill["descriptor"])
        assert "simulator dry run" in str(treadmill["descriptor"])
        (activity,) = messages["activity_mesgs"]
        stamp = activity["timestamp"]
        assert isinstance(stamp, datetime)
        offset = stamp.astimezone().utcoffset()
        assert offset is not None
        local = activity["local_timestamp"]
        assert local == round((stamp - FIT_EPOCH).total_seconds() + offset.total_seconds())
        records = messages["record_mesgs"]
        assert all(record["grade"] == 0 for record in records)  # the demo is flat
        assert all("heart_rate" not in record for record in records)  # simulated: none


class TestWaitsAreNotWalking:
    def test_the_wait_before_the_start_and_the_latch_wait_stop_the_timer(
        self, stopped_run: ScriptedRun, tmp_path: Path
    ) -> None:
        log = read_record(stopped_run.record)
        (latch,) = log.latches
        assert latch.t_s == pytest.approx(STOP_AT_S, abs=3 * TICK_S)
        first, second = log.timer_spans
        assert first.start_t_s == pytest.approx(START_AFTER_S, abs=3 * TICK_S)
        assert first.end_t_s == pytest.approx(latch.t_s, abs=0.01)
        assert latch.rearmed_t_s is not None
        assert second.start_t_s > latch.rearmed_t_s
        wait_s = second.start_t_s - first.end_t_s
        messages = _fit(stopped_run, tmp_path)
        (session,) = messages["session_mesgs"]
        elapsed = float(str(session["total_elapsed_time"]))
        timer = float(str(session["total_timer_time"]))
        assert timer == pytest.approx(elapsed - wait_s, abs=0.01)
        stamps = _stamps(messages)
        waiting = [
            s for s in stamps if _stamp(log, first.end_t_s) < s < _stamp(log, second.start_t_s)
        ]
        assert waiting == []
        assert min(stamps) >= _stamp(log, first.start_t_s)

    def test_the_report_lists_the_latch_the_rearm_and_the_alarm(
        self, stopped_run: ScriptedRun
    ) -> None:
        log = read_record(stopped_run.record)
        (alarm,) = log.alarms
        status, text = report_command(str(stopped_run.record), chart=False)
        assert status == HistoryStatus.OK
        assert "re-armed at 0:" in text
        assert "  alarms      1" in text
        assert alarm.text in text


class TestTcxAndCsv:
    def test_tcx_laps_are_time_triggered_and_turn_arounds_rest(
        self, paused_run: ScriptedRun, tmp_path: Path
    ) -> None:
        out = tmp_path / "session.tcx"
        status, _ = export_command(str(paused_run.record), fmt="tcx", output=out)
        assert status == HistoryStatus.OK
        root = ET.fromstring(out.read_bytes())  # noqa: S314 - our own output
        ns = {"tcx": TCX_NS}
        tcx_laps = root.findall("tcx:Activities/tcx:Activity/tcx:Lap", ns)
        log = read_record(paused_run.record)
        assert len(tcx_laps) == len(laps(log)) == 5
        assert {lap.findtext("tcx:TriggerMethod", "", ns) for lap in tcx_laps} == {"Time"}
        intensity = [lap.findtext("tcx:Intensity", "", ns) for lap in tcx_laps]
        assert intensity == ["Active", "Resting", "Active", "Resting", "Active"]
        total_s = sum(float(lap.findtext("tcx:TotalTimeSeconds", "0", ns)) for lap in tcx_laps)
        assert total_s == pytest.approx(log.timer_s, abs=0.3)
        notes = root.findtext("tcx:Activities/tcx:Activity/tcx:Notes", "", ns)
        assert notes.startswith("SIMULATED")
        for lap in tcx_laps:
            _check_lap_order(lap)

    def test_csv_counts_segments_from_one_and_flags_pauses_and_dry_runs(
        self, paused_run: ScriptedRun, tmp_path: Path
    ) -> None:
        out = tmp_path / "session.csv"
        status, _ = export_command(str(paused_run.record), fmt="csv", output=out)
        assert status == HistoryStatus.OK
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert {row["segment"] for row in rows} == {"", "1", "2", "3"}
        assert {row["simulated"] for row in rows} == {"1"}
        paused = [row for row in rows if row["paused"] == "1"]
        assert 3 <= len(paused) <= 5
        assert all(row["walking"] == "0" for row in paused)
        assert {row["latched"] for row in rows} == {"0"}


# TCX v2 (TrainingCenterDatabasev2.xsd), the sequences of ActivityLap_t and
# Trackpoint_t: every child in this order, each at most once (Track repeats).
LAP_ORDER: Final = (
    "TotalTimeSeconds",
    "DistanceMeters",
    "MaximumSpeed",
    "Calories",
    "AverageHeartRateBpm",
    "MaximumHeartRateBpm",
    "Intensity",
    "Cadence",
    "TriggerMethod",
    "Track",
    "Notes",
    "Extensions",
)
LAP_REQUIRED: Final = {
    "TotalTimeSeconds",
    "DistanceMeters",
    "Calories",
    "Intensity",
    "TriggerMethod",
}
POINT_ORDER: Final = (
    "Time",
    "Position",
    "AltitudeMeters",
    "DistanceMeters",
    "HeartRateBpm",
    "Cadence",
    "SensorState",
    "Extensions",
)


def _in_order(tags: list[str], order: tuple[str, ...]) -> bool:
    positions = [order.index(tag) for tag in tags]
    return positions == sorted(positions)


def _check_lap_order(lap: ET.Element) -> None:
    tags = [child.tag.split("}")[1] for child in lap]
    assert _in_order(tags, LAP_ORDER), tags
    assert set(tags) >= LAP_REQUIRED, tags
    assert lap.get("StartTime", "").endswith("Z")
    for track in lap.findall(f"{{{TCX_NS}}}Track"):
        for point in track:
            point_tags = [child.tag.split("}")[1] for child in point]
            assert _in_order(point_tags, POINT_ORDER), point_tags

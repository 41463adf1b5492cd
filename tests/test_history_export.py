"""Exports: FIT read back with Garmin's own FIT SDK, TCX against its schema's shape, CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from garmin_fit_sdk import Decoder, Stream
from test_history_fixtures import SyntheticRecord

from treadmill_ctl.history.errors import NothingToExport
from treadmill_ctl.history.export_csv import COLUMNS, session_csv
from treadmill_ctl.history.export_fit import session_fit
from treadmill_ctl.history.export_tcx import EXT_NS, TCX_NS, TcxSport, session_tcx
from treadmill_ctl.history.record import parse_record

if TYPE_CHECKING:
    from garmin_fit_sdk.mesgs import FitMessages

    from treadmill_ctl.history.session_log import SessionLog

RECORD = Path("20250314-093000-backward-beginner.jsonl")
NS = {"tcx": TCX_NS, "ext": EXT_NS}


def _log(**options: Any) -> SessionLog:
    return parse_record(SyntheticRecord(**options).build(), path=RECORD)


def _decode_fit(data: bytes) -> FitMessages:
    checker = Decoder(Stream.from_byte_array(bytearray(data)))
    assert checker.is_fit()
    assert checker.check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return messages


class TestFitThroughGarminsSdk:
    def test_every_sample_is_a_record_with_its_time_distance_speed_and_heart_rate(self) -> None:
        log = _log()
        records = _decode_fit(session_fit(log))["record_mesgs"]
        assert len(records) == len(log.samples)
        for record, sample in zip(records, log.samples, strict=True):
            assert record["timestamp"] == log.wall_time(sample.t_s).replace(microsecond=0)
            assert record["distance"] == pytest.approx(sample.distance_m, abs=0.01)
            assert record["speed"] == pytest.approx((sample.speed_kmh or 0) / 3.6, abs=0.001)
            assert record["heart_rate"] == sample.heart_rate_bpm

    def test_the_session_is_walking_on_a_treadmill_with_the_sessions_totals(self) -> None:
        log = _log()
        messages = _decode_fit(session_fit(log))
        (session,) = messages["session_mesgs"]
        assert session["sport"] == "walking"
        sub_sport: object = session["sub_sport"]  # the SDK's stub spells it indoorWalking
        assert sub_sport == "indoor_walking"
        # the activity begins at the person's start (1 s in), not when the record opened
        assert session["start_time"] == datetime(2025, 3, 14, 8, 30, 1, tzinfo=UTC)
        assert session["total_elapsed_time"] == pytest.approx(log.end_t_s - 1.0)
        assert session["total_distance"] == pytest.approx(log.samples[-1].distance_m, abs=0.01)
        rates = [s.heart_rate_bpm for s in log.samples if s.heart_rate_bpm]
        assert session["max_heart_rate"] == max(rates)
        assert session["avg_heart_rate"] == round(sum(rates) / len(rates))
        assert session["max_speed"] == pytest.approx(2.5 / 3.6, abs=0.001)
        assert session["num_laps"] == len(log.segments)
        assert session["total_calories"] > 0
        (file_id,) = messages["file_id_mesgs"]
        assert file_id["type"] == "activity"
        (activity,) = messages["activity_mesgs"]
        assert activity["num_sessions"] == 1

    def test_each_segment_is_a_lap_and_the_laps_add_up_to_the_session(self) -> None:
        log = _log()
        messages = _decode_fit(session_fit(log))
        laps = messages["lap_mesgs"]
        assert len(laps) == 5
        assert [lap["start_time"] for lap in laps[1:]] == [
            log.wall_time(segment.start_t_s) for segment in log.segments[1:]
        ]
        backward = laps[1]
        assert backward["max_speed"] == pytest.approx(1.2 / 3.6, abs=0.001)
        (session,) = messages["session_mesgs"]
        assert sum(lap["total_elapsed_time"] for lap in laps) == pytest.approx(
            session["total_elapsed_time"]
        )
        assert sum(lap["total_distance"] for lap in laps) == pytest.approx(
            session["total_distance"], abs=0.05
        )

    def test_a_record_cut_short_exports_what_it_holds(self) -> None:
        log = _log(cut_at_s=100, partial_tail=True)
        messages = _decode_fit(session_fit(log))
        assert len(messages["record_mesgs"]) == len(log.samples) == 99
        (session,) = messages["session_mesgs"]
        assert session["total_elapsed_time"] == pytest.approx(log.end_t_s - 1.0)
        assert session["num_laps"] == len(log.segments) == 3

    def test_a_session_without_heart_rate_still_encodes(self) -> None:
        no_heart = _decode_fit(session_fit(_log(heart_rate=False)))
        assert "heart_rate" not in no_heart["record_mesgs"][0]

    def test_a_record_without_samples_is_refused_not_written_empty(self) -> None:
        with pytest.raises(NothingToExport, match="no belt data"):
            session_fit(_log(cut_at_s=0.05))
        with pytest.raises(NothingToExport, match="no belt data"):
            session_tcx(_log(cut_at_s=0.05))


class TestTcx:
    def test_the_activity_is_other_with_one_lap_per_segment_and_every_sample(self) -> None:
        log = _log()
        root = ET.fromstring(session_tcx(log))  # noqa: S314 - our own output
        assert root.tag == f"{{{TCX_NS}}}TrainingCenterDatabase"
        activity = root.find("tcx:Activities/tcx:Activity", NS)
        assert activity is not None
        assert activity.get("Sport") == "Other"
        assert activity.findtext("tcx:Id", namespaces=NS) == "2025-03-14T08:30:00.000Z"
        laps = activity.findall("tcx:Lap", NS)
        assert len(laps) == 5
        assert laps[1].findtext("tcx:Notes", namespaces=NS) == (
            "segment 2: backward 1.2 km/h for 30 s"
        )
        points = activity.findall("tcx:Lap/tcx:Track/tcx:Trackpoint", NS)
        assert len(points) == len(log.samples)
        first = points[0]
        assert first.findtext("tcx:Time", namespaces=NS) == "2025-03-14T08:30:01.000Z"
        assert first.findtext("tcx:HeartRateBpm/tcx:Value", namespaces=NS) == "91"
        speed = first.findtext("tcx:Extensions/ext:TPX/ext:Speed", namespaces=NS)
        assert float(speed or 0) == pytest.approx(2.5 / 3.6, abs=0.001)

    def test_laps_carry_the_elements_the_schema_requires_in_its_order(self) -> None:
        root = ET.fromstring(session_tcx(_log()))  # noqa: S314 - our own output
        for lap in root.iter(f"{{{TCX_NS}}}Lap"):
            tags = [child.tag.split("}")[1] for child in lap]
            required = ["TotalTimeSeconds", "DistanceMeters", "Calories", "Intensity"]
            assert [tag for tag in tags if tag in required] == required
            assert tags.index("Intensity") < tags.index("TriggerMethod") < tags.index("Track")
            assert lap.get("StartTime", "").endswith("Z")

    def test_lap_times_and_distances_add_up_to_the_session(self) -> None:
        log = _log()
        root = ET.fromstring(session_tcx(log))  # noqa: S314 - our own output
        laps = list(root.iter(f"{{{TCX_NS}}}Lap"))
        total_s = sum(float(lap.findtext("tcx:TotalTimeSeconds", "0", NS)) for lap in laps)
        total_m = sum(float(lap.findtext("tcx:DistanceMeters", "0", NS)) for lap in laps)
        assert total_s == pytest.approx(log.timer_s, abs=0.3)  # walking time, as FIT's timer
        assert total_m == pytest.approx(log.samples[-1].distance_m, abs=0.3)

    def test_running_can_be_asked_for(self) -> None:
        root = ET.fromstring(session_tcx(_log(), sport=TcxSport.RUNNING))  # noqa: S314
        activity = root.find("tcx:Activities/tcx:Activity", NS)
        assert activity is not None
        assert activity.get("Sport") == "Running"

    def test_a_record_cut_short_exports_what_it_holds_and_says_so(self) -> None:
        log = _log(cut_at_s=100, partial_tail=True)
        root = ET.fromstring(session_tcx(log))  # noqa: S314 - our own output
        notes = root.findtext("tcx:Activities/tcx:Activity/tcx:Notes", namespaces=NS) or ""
        assert "cut short" in notes
        assert len(list(root.iter(f"{{{TCX_NS}}}Trackpoint"))) == len(log.samples)


class TestCsv:
    def test_there_is_one_row_per_sample_with_units_in_the_header(self) -> None:
        log = _log(cut_at_s=100, partial_tail=True)
        rows = list(csv.reader(io.StringIO(session_csv(log))))
        assert tuple(rows[0]) == COLUMNS
        assert len(rows) - 1 == len(log.samples)
        first = dict(zip(COLUMNS, rows[1], strict=True))
        assert first["time_utc"] == "2025-03-14T08:30:01.000+00:00"
        assert first["direction"] == "forward"
        assert first["speed_kmh"] == "2.50"
        assert first["heart_rate_bpm"] == "91"

    def test_values_the_treadmill_did_not_report_are_empty_cells(self) -> None:
        log = _log(heart_rate=False, report_distance=False)
        rows = list(csv.DictReader(io.StringIO(session_csv(log))))
        assert rows[0]["heart_rate_bpm"] == ""
        assert rows[0]["belt_distance_m"] == ""
        assert float(rows[-1]["distance_m"]) > 0

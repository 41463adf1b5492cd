"""The person's heart rate in history: the strap over the handgrips, RR as FIT HRV, time in zone.

Synthetic records (``test_history_fixtures.Strap``) pin the rules down to the second;
one real dry run with the simulator's strap checks them on what the runner writes.
FIT files are read back with Garmin's own FIT SDK, TCX is checked against the order
of the schema's sequences (as ``test_session_pause_e2e`` does).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Stream
from hypothesis import example, given
from hypothesis import strategies as st
from test_history_fixtures import STRAP_SOURCE, Seg, Strap, SyntheticRecord
from test_session_pause_e2e import _check_lap_order

from treadmill_ctl.ftms import heart_rate as decoder
from treadmill_ctl.history import heart_rate
from treadmill_ctl.history.export_csv import session_csv
from treadmill_ctl.history.export_fit import HRV_TIMES_PER_MESSAGE, session_fit
from treadmill_ctl.history.export_tcx import TCX_NS, session_tcx
from treadmill_ctl.history.heart_rate import FRESH_S, zone_times
from treadmill_ctl.history.laps import activity_span
from treadmill_ctl.history.record import parse_record
from treadmill_ctl.history.report import chart_figure, format_report

if TYPE_CHECKING:
    from garmin_fit_sdk.mesgs import FitMessages

    from treadmill_ctl.history.session_log import SessionLog

RECORD = Path("20250314-093000-guided.jsonl")
NS = {"tcx": TCX_NS}
ZONE = (100, 115)
GUIDED: tuple[Seg, ...] = (
    Seg("forward", 2.5, 60, hr_zone=ZONE),
    Seg("backward", 1.2, 30),
    Seg("forward", 2.5, 40),
)


def _log(**options: Any) -> SessionLog:
    return parse_record(SyntheticRecord(**options).build(), path=RECORD)


def _strap_log(**strap: Any) -> SessionLog:
    return _log(segments=GUIDED, strap=Strap(**strap))


def _decode_fit(data: bytes) -> FitMessages:
    assert Decoder(Stream.from_byte_array(bytearray(data))).check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    return messages


def _hrv_times(messages: FitMessages) -> list[list[float]]:
    """Each hrv message's ``time`` as a list (the SDK gives a lone value as a scalar)."""
    out: list[list[float]] = []
    for message in messages.get("hrv_mesgs", []):
        times: object = message["time"]
        values = times if isinstance(times, list) else [times]
        out.append([float(value) for value in values if isinstance(value, int | float)])
    return out


def _expected_rr(text: str) -> list[float]:
    """The record's RR intervals (from its lines) in the activity, with contact, plausible."""
    lines = [json.loads(line) for line in text.splitlines()]
    start, end = activity_span(parse_record(text, path=RECORD))
    return [
        rr
        for line in lines
        if line["event"] == "heart_rate.sample"
        and start <= line["t"] <= end
        and line["contact"] != "not_detected"
        for rr in line["rr_s"]
        if 0.25 <= rr <= 2.5  # the decoder's range (pinned by a test above)
    ]


def _same_to_the_ms(read: list[list[float]], expected: list[float]) -> None:
    """FIT keeps RR in whole milliseconds: equal to the ms, in the same order."""
    flat = [value for chunk in read for value in chunk]
    assert flat == pytest.approx(expected, abs=0.0005 + 1e-9)


class TestThePersonsHeartRate:
    def test_the_strap_is_the_persons_heart_rate_not_the_handgrips(self) -> None:
        """Each sample takes the strap's last reading, with its source; the handgrips' is unused."""
        log = _strap_log()
        sample = next(s for s in log.samples if s.t_s == 12.0)
        # the strap read 95 + 11 at 11.5 s; the treadmill said 90 + 12 at 12 s
        assert (sample.heart_rate_bpm, sample.heart_rate_source) == (106, STRAP_SOURCE)
        assert {s.heart_rate_source for s in log.samples if s.heart_rate_bpm} == {STRAP_SOURCE}

    def test_a_lost_strap_is_a_gap_never_the_treadmills_figure(self) -> None:
        log = _strap_log(lost=(20, 30))
        rates = {s.t_s: s.heart_rate_bpm for s in log.samples}
        assert rates[20.0 + FRESH_S - 1] == 95 + 19  # the last reading, still fresh
        assert rates[26.0] is None  # stale: no heart rate, not the handgrips' 116
        assert rates[31.0] == 95 + 30 % 30

    def test_readings_without_contact_and_artefacts_are_not_the_heart_rate(self) -> None:
        log = _strap_log(no_contact=(40, 47), spike_at_s=50)
        rates = {s.t_s: s.heart_rate_bpm for s in log.samples}
        assert rates[41.0] == 95 + 39 % 30  # zeros without contact are skipped
        assert rates[46.0] is None  # ...and go stale: unknown, not 0
        assert rates[51.0] == 95 + 49 % 30  # the 200 bpm spike is not taken
        assert all(rate is None or rate < 200 for rate in rates.values())

    def test_a_record_without_a_strap_keeps_the_treadmills_heart_rate_and_says_so(self) -> None:
        log = _log()
        assert log.heart_rate_readings == ()
        assert log.samples[0].heart_rate_bpm == 91
        assert log.samples[0].heart_rate_source == "treadmill"

    def test_the_rr_range_is_the_decoders(self) -> None:
        assert heart_rate.MIN_PLAUSIBLE_RR_S == decoder.MIN_PLAUSIBLE_RR_S
        assert heart_rate.MAX_PLAUSIBLE_RR_S == decoder.MAX_PLAUSIBLE_RR_S


class TestFit:
    def test_records_laps_and_session_carry_the_straps_heart_rate(self) -> None:
        log = _strap_log(lost=(20, 30))
        messages = _decode_fit(session_fit(log))
        walking = [s for s in log.samples if s.timer_running]
        assert [r.get("heart_rate") for r in messages["record_mesgs"]] == [
            s.heart_rate_bpm for s in walking
        ]
        rates = [s.heart_rate_bpm for s in walking if s.heart_rate_bpm]
        (session,) = messages["session_mesgs"]
        assert session["max_heart_rate"] == max(rates)
        assert session["avg_heart_rate"] == round(sum(rates) / len(rates))
        first = [s.heart_rate_bpm for s in walking if s.segment_index == 0 and s.heart_rate_bpm]
        assert messages["lap_mesgs"][0]["avg_heart_rate"] == round(sum(first) / len(first))

    def test_rr_intervals_are_hrv_messages_of_at_most_five_in_order(self) -> None:
        """The HRV read back equals the record's RR, in order; the 52 ms value is left out."""
        record = SyntheticRecord(
            segments=GUIDED, strap=Strap(no_contact=(40, 47), bogus_rr_at_s=60, many_rr_at_s=70)
        ).build()
        assert ",0.052]" in record
        times = _hrv_times(_decode_fit(session_fit(parse_record(record, path=RECORD))))
        assert all(1 <= len(chunk) <= HRV_TIMES_PER_MESSAGE for chunk in times)
        seven = [0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66]
        at = next(i for i, chunk in enumerate(times) if chunk == pytest.approx(seven[:5]))
        assert times[at + 1] == pytest.approx(seven[5:])
        _same_to_the_ms(times, _expected_rr(record))
        assert min(value for chunk in times for value in chunk) > 0.25

    def test_a_dry_run_carries_no_heart_rate_and_no_rr(self) -> None:
        messages = _decode_fit(session_fit(_log(segments=GUIDED, strap=Strap(), simulator=True)))
        assert "hrv_mesgs" not in messages or not messages["hrv_mesgs"]
        assert all("heart_rate" not in record for record in messages["record_mesgs"])
        assert "avg_heart_rate" not in messages["session_mesgs"][0]


class TestTcxAndCsv:
    def test_tcx_track_points_carry_the_straps_heart_rate_in_the_schemas_order(self) -> None:
        log = _strap_log(lost=(20, 30))
        root = ET.fromstring(session_tcx(log))  # noqa: S314 - our own output
        points = root.findall(".//tcx:Trackpoint", NS)
        walking = [s for s in log.samples if s.timer_running]
        assert [p.findtext("tcx:HeartRateBpm/tcx:Value", namespaces=NS) for p in points] == [
            None if s.heart_rate_bpm is None else str(s.heart_rate_bpm) for s in walking
        ]
        first_lap = root.find(".//tcx:Lap", NS)
        assert first_lap is not None
        first = [s.heart_rate_bpm for s in walking if s.segment_index == 0 and s.heart_rate_bpm]
        assert first_lap.findtext("tcx:MaximumHeartRateBpm/tcx:Value", namespaces=NS) == str(
            max(first)
        )
        for lap in root.iter(f"{{{TCX_NS}}}Lap"):
            _check_lap_order(lap)

    def test_csv_has_the_heart_rate_and_its_source(self) -> None:
        log = _strap_log(lost=(20, 30))
        rows = list(csv.DictReader(io.StringIO(session_csv(log))))
        by_second = {float(row["session_s"]): row for row in rows}
        assert by_second[12.0]["heart_rate_bpm"] == "106"
        assert by_second[12.0]["heart_rate_source"] == STRAP_SOURCE
        assert by_second[26.0]["heart_rate_bpm"] == by_second[26.0]["heart_rate_source"] == ""
        treadmill = list(csv.DictReader(io.StringIO(session_csv(_log()))))
        assert treadmill[0]["heart_rate_source"] == "treadmill"


class TestTimeInZone:
    def test_below_in_and_above_add_up_to_the_walked_time(self) -> None:
        """Segment 1 walks 1-61 s; reading t+0.5 says 95 + t % 30 and holds a second.

        In the zone 100-115: t % 30 in 5..20 (32 readings); below: 1..4, 30..34 and
        the last half second (9.5 s); above: 21..29 and 51..59 (18 s); the first half
        second had no reading yet.
        """
        (zone,) = zone_times(_strap_log())
        assert zone.segment.index == 0
        assert zone.zone_bpm == ZONE
        assert zone.in_zone_s == pytest.approx(32.0)
        assert zone.below_s == pytest.approx(9.5)
        assert zone.above_s == pytest.approx(18.0)
        assert zone.unknown_s == pytest.approx(0.5)
        assert zone.share_in_zone == pytest.approx(32.0 / 59.5)

    def test_a_reading_stands_for_at_most_fresh_s_then_the_time_is_unknown(self) -> None:
        """No readings 20-30 s: 19.5 s holds to 24.5 s, then 6 s until 30.5 s is unknown."""
        (zone,) = zone_times(_strap_log(lost=(20, 30)))
        assert zone.unknown_s == pytest.approx(0.5 + 6.0)
        # 19.5 s said 114 (in the zone) for 5 s instead of 1; 20-29 were 115, 116-124
        assert zone.in_zone_s == pytest.approx(32.0 - 1 + 4)
        assert zone.above_s == pytest.approx(18.0 - 9)

    def test_the_report_says_it_in_words_and_m_ss(self) -> None:
        text = format_report(_strap_log(lost=(20, 30)))
        assert "heart rate  " in text
        assert "(from the strap)" in text
        assert (
            "  in zone     segment 1 (forward), zone 100-115 bpm: "
            "0:35 of 1:00 in the zone (65% of the 0:54 with a heart rate)\n"
            "              0:10 below, 0:09 above, 0:06 without a heart rate"
        ) in text

    def test_a_session_without_guided_segments_has_no_zone_lines(self) -> None:
        assert "in zone" not in format_report(_log(strap=Strap()))

    def test_the_chart_shades_the_zone_on_the_heart_rate_axis(self) -> None:
        log = _strap_log()
        figure = chart_figure(log)
        bands = [
            collection
            for axes in figure.axes
            for collection in axes.collections
            if collection.get_gid() == "hr_zone"
        ]
        assert len(bands) == 1
        vertices = np.concatenate([path.vertices for path in bands[0].get_paths()])
        segment = log.segments[0]
        assert vertices[:, 0].min() == pytest.approx(segment.start_t_s - log.start_t_s)
        assert vertices[:, 0].max() == pytest.approx(segment.end_t_s - log.start_t_s)
        assert (vertices[:, 1].min(), vertices[:, 1].max()) == ZONE

    def test_no_heart_rate_no_band(self) -> None:
        figure = chart_figure(_log(segments=GUIDED, heart_rate=False))
        assert not [c for a in figure.axes for c in a.collections if c.get_gid() == "hr_zone"]


GUIDED_PROFILE = """
    name = "Guided, short"
    [[step]]
    direction = "forward"
    speed_kmh = 3.5
    duration = "1m"
    [[step]]
    direction = "forward"
    speed_kmh = 4.0
    max_speed_kmh = 5.0
    hr_zone = [100, 115]
    duration = "4m"
    [[step]]
    direction = "backward"
    speed_kmh = 1.2
    duration = "1m"
"""


@pytest.fixture(scope="module")
def strap_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real dry run of a guided profile with the simulator's strap: its record."""
    folder = tmp_path_factory.mktemp("strap_run")
    profile = folder / "guided.toml"
    profile.write_text(textwrap.dedent(GUIDED_PROFILE))
    record = folder / "session.jsonl"
    env = {
        **os.environ,
        "TREADMILL_CTL_CONFIG": str(folder / "config.toml"),
        "TREADMILL_CTL_DATA_DIR": str(folder / "data"),
    }
    command = [sys.executable, "-m", "treadmill_ctl", "run", str(profile), "--simulator"]
    command += ["--speedup", "max", "--yes", "--plain", "--quiet", "--sim-hr-strap"]
    command += ["--record", str(record)]
    done = subprocess.run(command, env=env, capture_output=True, check=False, timeout=120)  # noqa: S603
    assert done.returncode == 0, done.stderr.decode()
    return record


class TestARealDryRun:
    def test_the_record_reads_back_the_straps_heart_rate_and_the_zone(
        self, strap_run: Path
    ) -> None:
        text = strap_run.read_text()
        started = [json.loads(line) for line in text.splitlines() if '"segment.started"' in line]
        assert [line["hr_zone_bpm"] for line in started] == [None, list(ZONE), None]
        log = parse_record(text, path=strap_run)
        assert log.heart_rate_readings
        assert [segment.hr_zone_bpm for segment in log.segments] == [None, ZONE, None]
        assert log.planned_steps[1].hr_zone_bpm == ZONE
        rated = [s for s in log.samples if s.heart_rate_bpm is not None]
        assert rated
        assert all(s.heart_rate_source.startswith("strap:") for s in rated if s.heart_rate_source)
        (zone,) = zone_times(log)
        walked_s = heart_rate.walked_until(log, zone.segment) - zone.segment.start_t_s
        assert zone.known_s + zone.unknown_s == pytest.approx(walked_s, abs=0.01)
        assert "in zone     segment 2 (forward), zone 100-115 bpm" in format_report(log)

    def test_its_fit_has_the_records_rr_as_hrv_once_not_a_dry_run(self, strap_run: Path) -> None:
        """The same record as a person's session: the HRV read back is the record's RR."""
        text = strap_run.read_text().replace('"simulator":true', '"simulator":false', 1)
        log = parse_record(text, path=strap_run)
        assert not log.simulator
        times = _hrv_times(_decode_fit(session_fit(log)))
        _same_to_the_ms(times, _expected_rr(text))
        assert len(times) > len(log.samples) / 2
        dry = parse_record(strap_run.read_text(), path=strap_run)
        assert dry.simulator
        assert not _hrv_times(_decode_fit(session_fit(dry)))

    def test_its_fit_workout_targets_the_guided_segments_zone(self, strap_run: Path) -> None:
        """FIT writes a custom heart-rate target in bpm as the value plus 100."""
        log = parse_record(strap_run.read_text(), path=strap_run)
        steps = _decode_fit(session_fit(log))["workout_step_mesgs"]
        assert [step["target_type"] for step in steps] == ["speed", "heart_rate", "speed"]
        guided = steps[1]
        assert (
            guided["custom_target_heart_rate_low"],
            guided["custom_target_heart_rate_high"],
        ) == (ZONE[0] + 100, ZONE[1] + 100)
        assert guided["wkt_step_name"] == "Forward 4 km/h, heart rate 100-115 bpm"

    def test_the_fixtures_strap_lines_are_what_the_runner_writes(self, strap_run: Path) -> None:
        real = [json.loads(line) for line in strap_run.read_text().splitlines()]
        synthetic = [
            json.loads(line)
            for line in SyntheticRecord(segments=GUIDED, strap=Strap()).build().splitlines()
        ]
        for kind in ("heart_rate.sample", "segment.started"):
            real_fields = set().union(*(set(line) for line in real if line["event"] == kind))
            fake_fields = set().union(*(set(line) for line in synthetic if line["event"] == kind))
            assert fake_fields <= real_fields, (kind, fake_fields - real_fields)


def test_an_old_record_takes_a_guided_segments_zone_from_the_guides_steps() -> None:
    """Records written before segment.started carried the zone still know it."""
    lines = SyntheticRecord(segments=GUIDED, strap=Strap()).build().splitlines()
    old: list[str] = []
    for line in lines:
        value = json.loads(line)
        value.pop("hr_zone_bpm", None)
        old.append(json.dumps(value))
        if value["event"] == "segment.started" and value["index"] == 0:
            step = {**value, "t": value["t"] + 5, "event": "heart_rate.zone_step"}
            old.append(json.dumps({**step, "zone_bpm": list(ZONE), "speed_kmh": 2.6}))
    log = parse_record("\n".join(old) + "\n", path=RECORD)
    assert [segment.hr_zone_bpm for segment in log.segments] == [ZONE, None, None]


_READING = st.fixed_dictionaries(
    {
        "heart_rate_bpm": st.one_of(
            st.integers(40, 200),  # mostly valid, so that readings follow each other
            st.integers(40, 200),
            st.integers(-10, 300),
            st.floats(allow_nan=True),
            st.none(),
            st.text(max_size=3),
        ),
        "contact": st.sampled_from(["detected", "detected", "not_detected", "not_supported", 7]),
        "accepted": st.sampled_from([True, True, True, False, None]),
        "rr_s": st.one_of(
            st.lists(st.one_of(st.floats(allow_nan=True), st.booleans(), st.text(max_size=2))),
            st.none(),
            st.integers(),
        ),
    }
)


@given(
    readings=st.lists(
        st.tuples(st.floats(0, 170, allow_nan=False), _READING),
        max_size=60,
        unique_by=lambda r: r[0],
    ),
    pause=st.none() | st.tuples(st.integers(2, 60), st.integers(61, 80)),
)
@example(
    readings=[(5.0, {"heart_rate_bpm": 100, "contact": None, "accepted": None, "rr_s": None})],
    pause=None,
)
def test_any_strap_lines_read_and_the_zone_times_add_up_to_the_walked_time(
    readings: list[tuple[float, dict[str, object]]], pause: tuple[int, int] | None
) -> None:
    """Whatever the strap lines hold, the record reads and the zone times add up.

    Below + in + above + unknown is the walked time; no sample's heart rate is older
    than FRESH_S or implausible (the treadmill relays none here: only the strap can).
    """
    lines = SyntheticRecord(segments=GUIDED, pause=pause, heart_rate=False).build().splitlines()
    for t_s, fields in readings:
        lines.append(
            json.dumps({"t": t_s, "event": "heart_rate.sample", "source": "strap:X", **fields})
        )
    lines.sort(key=lambda line: float(json.loads(line)["t"]))
    log = parse_record("\n".join(lines) + "\n", path=RECORD)
    valid = [r for r in log.heart_rate_readings if r.valid]
    for sample in log.samples:
        if sample.heart_rate_bpm is None:
            continue
        assert 30 <= sample.heart_rate_bpm <= 230  # MIN/MAX_HEART_BPM
        assert any(0 <= sample.t_s - r.t_s <= FRESH_S for r in valid)
    for reading in log.heart_rate_readings:
        assert all(heart_rate.plausible_rr(rr) for rr in reading.rr_s)
    (zone,) = zone_times(log)
    walked_s = sum(
        max(
            0.0,
            min(span.end_t_s, zone.segment.end_t_s) - max(span.start_t_s, zone.segment.start_t_s),
        )
        for span in log.timer_spans
    )
    assert min(zone.below_s, zone.in_zone_s, zone.above_s, zone.unknown_s) >= 0
    assert zone.known_s <= walked_s + 1e-6
    assert zone.known_s + zone.unknown_s == pytest.approx(walked_s, abs=1e-6)

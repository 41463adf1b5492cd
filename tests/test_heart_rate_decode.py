"""Heart Rate Measurement (0x2A37) and Body Sensor Location (0x2A38): the spec, real straps."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from treadmill_ctl.cli import main
from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.heart_rate import (
    BodySensorLocation,
    HeartRateFlag,
    SensorContact,
    decode_any_hex_command,
    decode_body_sensor_location,
    decode_heart_rate_measurement,
)

FUZZ = settings(max_examples=300, deadline=None, derandomize=True)


def hr(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.replace(" ", ""))


class TestRealCaptures:
    """Notifications that real straps and watches sent, as people published them.

    Each value is copied from the page named beside it (a question, an issue, a
    forum thread); none is made up here. What they show: straps that never set the
    contact bits (Polar H10, H7 on macOS), 0-3 RR intervals per notification, a strap
    saying "contact supported, not detected" while sending a rate (Wahoo Blue HR), a
    contact bit without its feature bit, a stray byte after the last RR interval,
    and a watch that sends 0 bpm without a reading (PineTime).
    """

    @pytest.mark.parametrize(
        ("hex_text", "bpm", "rr_raw"),
        [
            # Unbranded strap over gatttool, "Garmin BLE heart rate monitor: cannot get
            # HRM data via Bluetooth", https://stackoverflow.com/questions/60599696
            ("16 34 e4 04", 52, [0x04E4]),
            ("16 34 a5 04", 52, [0x04A5]),
            ("16 33 ea 04", 51, [0x04EA]),
            ("16 33 de 04", 51, [0x04DE]),
            # Polar H7 on iOS, Stack Overflow "How to get data out of bluetooth
            # characteristic in Swift" (the question's <16447d03> and the answer's list)
            ("16 44 7d 03", 68, [0x037D]),
            ("16 4d 16 03", 77, [0x0316]),
            ("16 4e 1b 03 12 03", 78, [0x031B, 0x0312]),
            ("16 4f 02 03", 79, [0x0302]),
            # A strap with three RR intervals in one notification, Stack Overflow
            # about BLE heart-rate values of 4 and 8 bytes,
            # https://stackoverflow.com/questions/33917836
            ("16 78 ff 01 ff 01 0c 01", 120, [0x01FF, 0x01FF, 0x010C]),
            ("16 77 04 02", 119, [0x0204]),
            ("16 77 08 02 08 02", 119, [0x0208, 0x0208]),
        ],
    )
    def test_straps_with_contact_and_one_to_three_rr_intervals(
        self, hex_text: str, bpm: int, rr_raw: list[int]
    ) -> None:
        value = decode_heart_rate_measurement(hr(hex_text))
        assert value.heart_rate_bpm == bpm
        assert value.contact is SensorContact.DETECTED
        assert value.is_valid
        assert value.rr_intervals_s == tuple(rr / 1024 for rr in rr_raw)
        assert value.rr_plausible == (True,) * len(rr_raw)
        assert value.notes == ()
        # the beats agree with the rate the strap computed, within a beat's variability
        mean_rr_s = sum(value.rr_intervals_s) / len(rr_raw)
        assert abs(60 / mean_rr_s - bpm) < 0.25 * bpm

    @pytest.mark.parametrize(
        ("data", "bpm", "rr_raw"),
        [
            # Polar H10 on Android, https://stackoverflow.com/questions/67024800
            (bytes([16, 59, 83, 4]), 59, [0x0453]),
            # Polar H10 over gatttool, Stack Overflow "Reading Heart Rate Measurement
            # (x2A37) values", question 50477232
            (hr("10 48 2c 03"), 72, [0x032C]),
            (hr("10 49 5e 03 96 03"), 73, [0x035E, 0x0396]),
            # Polar H7 on macOS, github.com/FleXoft/Polar-H7-HRM issue #1
            (bytes([16, 78, 210, 2, 200, 2]), 78, [722, 712]),
            (bytes([16, 79, 183, 2]), 79, [695]),
            (bytes([16, 81, 0, 3, 18, 3]), 81, [768, 786]),
        ],
    )
    def test_polar_straps_never_set_the_contact_bits(
        self, data: bytes, bpm: int, rr_raw: list[int]
    ) -> None:
        value = decode_heart_rate_measurement(data)
        assert value.flags == HeartRateFlag.RR_INTERVALS
        assert value.heart_rate_bpm == bpm
        assert value.contact is SensorContact.NOT_SUPPORTED
        assert value.is_valid  # no contact report is not a lost contact
        assert value.rr_intervals_s == tuple(rr / 1024 for rr in rr_raw)
        assert value.notes == ()

    def test_a_wahoo_saying_no_contact_is_not_believed(self) -> None:
        # Wahoo Blue HR, Stack Overflow "Analyze data return from heart rate monitor",
        # https://stackoverflow.com/questions/10421633 (an answer): 14 46 59 03 58 03.
        # Flags 0x14: contact supported but not detected, yet a rate and two beats.
        value = decode_heart_rate_measurement(hr("14 46 59 03 58 03"))
        assert value.heart_rate_bpm == 70
        assert value.contact is SensorContact.NOT_DETECTED
        assert value.rr_intervals_s == (0x0359 / 1024, 0x0358 / 1024)
        # the strap says its electrodes are off: the rate cannot protect anyone
        assert not value.is_valid

    @pytest.mark.parametrize(
        ("short_values", "bpm", "rr_count"),
        [
            # A strap read as 16-bit values by MIT App Inventor (little-endian), "How to
            # interpret data from BLE heartrate monitor",
            # community.appinventor.mit.edu/t/61569: "13842, 1144" and "13826"
            ([13842, 1144], 54, 1),
            ([13586, 1144], 53, 1),
            ([13826], 54, 0),
        ],
    )
    def test_a_contact_bit_without_its_feature_bit_reads_as_not_supported(
        self, short_values: list[int], bpm: int, rr_count: int
    ) -> None:
        data = b"".join(v.to_bytes(2, "little") for v in short_values)
        value = decode_heart_rate_measurement(data)
        assert value.flags & HeartRateFlag.CONTACT_DETECTED
        assert value.heart_rate_bpm == bpm
        assert value.contact is SensorContact.NOT_SUPPORTED
        assert value.is_valid
        assert len(value.rr_intervals_s) == rr_count
        assert value.notes == ("contact detected without contact support; read as not supported",)

    @pytest.mark.parametrize(
        ("hex_text", "bpm", "rr_raw"),
        [
            # Web Bluetooth, github.com/WebBluetoothCG/web-bluetooth issue #493: five
            # bytes each, one RR interval and a byte after it
            ("10 3e b1 03 de", 62, 0x03B1),
            ("10 39 23 04 35", 57, 0x0423),
            ("10 3d cf 03 ef", 61, 0x03CF),
        ],
    )
    def test_a_stray_byte_after_the_last_rr_interval(
        self, hex_text: str, bpm: int, rr_raw: int
    ) -> None:
        value = decode_heart_rate_measurement(hr(hex_text))
        assert value.heart_rate_bpm == bpm
        assert value.rr_intervals_s == (rr_raw / 1024,)
        assert value.notes == ("1 stray trailing byte ignored",)
        assert value.is_valid
        assert abs(60 / value.rr_intervals_s[0] - bpm) < 5

    def test_a_watch_sends_zero_without_a_reading(self) -> None:
        # PineTime (InfiniTime): HeartRateService.cpp notifies {0, rate}, and the rate
        # is 0 when it finds no clean signal (github.com/InfiniTimeOrg/InfiniTime
        # issue #1881: "They are sent by bluetooth").
        value = decode_heart_rate_measurement(hr("00 00"))
        assert value.heart_rate_bpm == 0
        assert value.contact is SensorContact.NOT_SUPPORTED
        assert not value.is_valid
        assert decode_heart_rate_measurement(hr("00 48")).is_valid


class TestSpecification:
    def test_a_uint16_heart_rate_with_energy_and_three_rr_intervals(self) -> None:
        value = decode_heart_rate_measurement(hr("1f 2c01 3412 0004 0002 0003"))
        assert value.heart_rate_bpm == 300
        assert not value.is_valid  # no walking heart beats 300 times a minute
        assert value.energy_expended_kj == 0x1234
        assert value.rr_intervals_s == (1.0, 0.5, 0.75)
        assert value.contact is SensorContact.DETECTED

    def test_contact_supported_but_not_detected_is_never_valid(self) -> None:
        value = decode_heart_rate_measurement(hr("04 48"))
        assert value.contact is SensorContact.NOT_DETECTED
        assert value.heart_rate_bpm == 72
        assert not value.is_valid

    def test_a_zero_heart_rate_without_contact_bits_is_not_valid(self) -> None:
        value = decode_heart_rate_measurement(hr("00 00"))
        assert value.heart_rate_bpm == 0
        assert not value.is_valid

    def test_a_bogus_short_rr_value_is_kept_but_flagged(self) -> None:
        # A ~52 ms value beside the real beat (made up: no heart beats that way).
        value = decode_heart_rate_measurement(hr("10 4b 2003 3500"))
        assert value.rr_intervals_s == (0x0320 / 1024, 0x35 / 1024)
        assert value.rr_plausible == (True, False)
        assert value.plausible_rr_intervals_s == (0x0320 / 1024,)
        assert "1 implausible RR interval flagged" in value.notes

    def test_a_stray_trailing_byte_is_ignored_and_noted(self) -> None:
        value = decode_heart_rate_measurement(hr("10 4b 2003 07"))
        assert value.rr_intervals_s == (0x0320 / 1024,)
        assert "1 stray trailing byte ignored" in value.notes
        plain = decode_heart_rate_measurement(hr("00 4b 07"))
        assert plain.heart_rate_bpm == 75
        assert plain.notes == ("1 extra byte ignored",)

    def test_energy_promised_but_missing_is_noted(self) -> None:
        value = decode_heart_rate_measurement(hr("08 4b 01"))
        assert value.energy_expended_kj is None
        assert value.heart_rate_bpm == 75
        assert "energy expended announced but missing" in value.notes

    @pytest.mark.parametrize("hex_text", ["", "01", "01 4b"])
    def test_a_value_without_its_heart_rate_is_an_error(self, hex_text: str) -> None:
        with pytest.raises(DecodeError):
            decode_heart_rate_measurement(hr(hex_text))

    def test_body_sensor_locations(self) -> None:
        assert decode_body_sensor_location(b"\x01").location is BodySensorLocation.CHEST
        assert decode_body_sensor_location(b"\x02").location is BodySensorLocation.WRIST
        reserved = decode_body_sensor_location(b"\x09\x00")
        assert reserved.location is None
        assert reserved.code == 9
        assert reserved.notes == ("1 extra byte ignored", "reserved location 9")
        with pytest.raises(DecodeError):
            decode_body_sensor_location(b"")


class TestFuzz:
    @FUZZ
    @given(st.binary(max_size=24))
    @example(b"\x11")
    @example(b"\xff\xff")
    @example(b"\x10\x00\x01")
    def test_any_bytes_decode_or_raise_decode_error(self, data: bytes) -> None:
        try:
            value = decode_heart_rate_measurement(data)
        except DecodeError:
            return
        assert value.raw == data
        assert len(value.rr_intervals_s) == len(value.rr_plausible)
        assert all(0 <= rr < 64 for rr in value.rr_intervals_s)
        assert 0 <= value.heart_rate_bpm <= 0xFFFF
        if value.is_valid:
            assert 0 < value.heart_rate_bpm <= 250

    @FUZZ
    @given(
        st.integers(0, 0xFFFF),
        st.booleans(),
        st.sampled_from([0, 0b100, 0b110]),
        st.none() | st.integers(0, 0xFFFF),
        st.lists(st.integers(0, 0xFFFF), max_size=8),
    )
    def test_well_formed_values_read_back_what_was_encoded(
        self,
        bpm: int,
        wide: bool,  # noqa: FBT001 - drawn by hypothesis
        contact_bits: int,
        energy: int | None,
        rr: list[int],
    ) -> None:
        wide = wide or bpm > 0xFF
        flags = (1 if wide else 0) | contact_bits | (0x08 if energy is not None else 0)
        flags |= 0x10 if rr else 0
        body = bpm.to_bytes(2 if wide else 1, "little")
        if energy is not None:
            body += energy.to_bytes(2, "little")
        body += b"".join(value.to_bytes(2, "little") for value in rr)
        value = decode_heart_rate_measurement(bytes([flags]) + body)
        assert value.heart_rate_bpm == bpm
        assert value.energy_expended_kj == energy
        assert value.rr_intervals_s == tuple(x / 1024 for x in rr)
        assert value.notes == () or any("implausible" in note for note in value.notes)

    @FUZZ
    @given(st.binary(max_size=4))
    def test_any_body_sensor_location_bytes_decode_or_raise(self, data: bytes) -> None:
        try:
            value = decode_body_sensor_location(data)
        except DecodeError:
            assert data == b""
            return
        assert value.code == data[0]


class TestDecodeCommand:
    @pytest.mark.parametrize("char", ["heart-rate", "2A37", "0x2a37", "Heart-Rate"])
    def test_heart_rate_by_name_or_uuid(self, char: str) -> None:
        status, line = decode_any_hex_command(char, "16 34 e4 04")  # a real strap's
        assert status == 0
        value = json.loads(line)
        assert value["characteristic"] == "heart-rate"
        assert value["heart_rate_bpm"] == 52
        assert value["contact"] == "DETECTED"
        assert value["flags"] == ["CONTACT_DETECTED", "CONTACT_SUPPORTED", "RR_INTERVALS"]
        assert value["rr_intervals_s"] == [0x04E4 / 1024]
        assert value["valid"] is True

    @pytest.mark.parametrize("char", ["body-sensor-location", "2A38"])
    def test_body_sensor_location_by_name_or_uuid(self, char: str) -> None:
        status, line = decode_any_hex_command(char, "01")
        assert status == 0
        assert json.loads(line)["location"] == "CHEST"

    def test_ftms_characteristics_still_decode(self) -> None:
        status, line = decode_any_hex_command("2ACD", "0000 6400")
        assert status == 0
        assert json.loads(line)["speed_kmh"] == 1.0

    def test_an_unknown_characteristic_lists_the_heart_rate_names_too(self) -> None:
        status, line = decode_any_hex_command("2A99", "00")
        assert status == 2
        assert "heart-rate (2A37)" in line
        assert "treadmill-data (2ACD)" in line

    def test_a_malformed_value_is_one_line_and_status_2(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["decode", "heart-rate", "01 4b"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: heart rate measurement 014b is too short")
        assert err.count("\n") == 1

    def test_the_cli_prints_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["decode", "2A37", "10 3b 53 04"]) == 0
        assert json.loads(capsys.readouterr().out)["contact"] == "NOT_SUPPORTED"

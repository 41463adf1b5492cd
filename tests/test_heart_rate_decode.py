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
    """Notifications logged from real straps and published (sources in each test)."""

    def test_a_polar_h7_with_contact_and_no_rr(self) -> None:
        # Polar H7 over gatttool, blog.alikhalil.tech "Polar H7 Bluetooth LE Heart Rate
        # Sensor on Ubuntu 14.04" (2014), quoted in github.com/cal-id/Polar-H7-Pi README.
        value = decode_heart_rate_measurement(hr("06 3c"))
        assert value.heart_rate_bpm == 60
        assert value.contact is SensorContact.DETECTED
        assert value.rr_intervals_s == ()
        assert value.is_valid
        assert value.notes == ()

    @pytest.mark.parametrize(
        ("hex_text", "bpm", "rr_raw"),
        [
            ("16 3c 11 04", 60, 0x0411),  # Polar H7, same source as above
            ("16 3c f5 03", 60, 0x03F5),
            ("16 34 e4 04", 52, 0x04E4),  # unbranded strap, Stack Overflow question 60599696
            ("16 34 a5 04", 52, 0x04A5),
            ("16 33 ea 04", 51, 0x04EA),
        ],
    )
    def test_straps_with_contact_and_one_rr_interval(
        self, hex_text: str, bpm: int, rr_raw: int
    ) -> None:
        value = decode_heart_rate_measurement(hr(hex_text))
        assert value.heart_rate_bpm == bpm
        assert value.contact is SensorContact.DETECTED
        assert value.rr_intervals_s == (rr_raw / 1024,)
        assert value.rr_plausible == (True,)
        # The RR interval agrees with the heart rate within a beat's variability.
        assert abs(60 / value.rr_intervals_s[0] - bpm) < 15

    def test_a_polar_h10_never_sets_the_contact_bits(self) -> None:
        # Polar H10 on Android, Stack Overflow question 67024800: [16, 59, 83, 4].
        value = decode_heart_rate_measurement(bytes([16, 59, 83, 4]))
        assert value.flags == HeartRateFlag.RR_INTERVALS
        assert value.heart_rate_bpm == 59
        assert value.contact is SensorContact.NOT_SUPPORTED
        assert value.is_valid  # no contact report is not a lost contact
        assert value.rr_intervals_s == (0x0453 / 1024,)


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
        # A Garmin strap's second ~52 ms value beside the real beat.
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
        status, line = decode_any_hex_command(char, "16 3c 11 04")
        assert status == 0
        value = json.loads(line)
        assert value["characteristic"] == "heart-rate"
        assert value["heart_rate_bpm"] == 60
        assert value["contact"] == "DETECTED"
        assert value["flags"] == ["CONTACT_DETECTED", "CONTACT_SUPPORTED", "RR_INTERVALS"]
        assert value["rr_intervals_s"] == [0x0411 / 1024]
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

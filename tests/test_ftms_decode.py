"""Decoding FTMS characteristic values, checked against bytes written by hand from the spec.

Every vector below is written byte by byte from FTMS v1.0 (and the 2017 characteristic
XML for pace), little-endian, with a comment saying what each byte is; none comes from
our own encoder or the simulator's.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pyftms.models import TreadmillData as PyftmsTreadmillData
from pyftms.serializer import get_serializer

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.decode import (
    MAX_PARTS,
    TreadmillDataAssembler,
    decode_characteristic,
    decode_control_point,
    decode_features,
    decode_incline_range,
    decode_machine_status,
    decode_speed_range,
    decode_training_status,
    decode_treadmill_data,
    parse_control_point_response,
    to_json_dict,
)
from treadmill_ctl.ftms.observations import (
    ControlOpCode,
    ControlPointRequest,
    ControlPointResponse,
    MachineFeature,
    MachineStatusCode,
    ResultCode,
    StopPauseKind,
    TargetSettingFeature,
    TrainingStatusCode,
    TreadmillData,
)
from treadmill_ctl.ftms.quirks import KMH_PER_MPH, ClientQuirks, SpeedUnit
from treadmill_ctl.ftms.uuids import (
    CONTROL_POINT,
    DEVICE_INFORMATION,
    FTMS_SERVICE,
    MANUFACTURER_NAME,
    TREADMILL_DATA,
    CharacteristicName,
    lookup_characteristic,
)

MPH = ClientQuirks(speed_unit=SpeedUnit.MPH)


def frame(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


class TestUuids:
    def test_uuids_are_full_lower_case_strings_as_bleak_reports_them(self) -> None:
        assert FTMS_SERVICE == "00001826-0000-1000-8000-00805f9b34fb"
        assert TREADMILL_DATA == "00002acd-0000-1000-8000-00805f9b34fb"
        assert CONTROL_POINT == "00002ad9-0000-1000-8000-00805f9b34fb"
        assert DEVICE_INFORMATION == "0000180a-0000-1000-8000-00805f9b34fb"
        assert MANUFACTURER_NAME == "00002a29-0000-1000-8000-00805f9b34fb"

    @pytest.mark.parametrize(
        ("key", "expected"),
        [
            ("treadmill-data", CharacteristicName.TREADMILL_DATA),
            ("Machine-Status", CharacteristicName.MACHINE_STATUS),
            ("2ACD", CharacteristicName.TREADMILL_DATA),
            ("2ada", CharacteristicName.MACHINE_STATUS),
            ("0x2AD3", CharacteristicName.TRAINING_STATUS),
            ("2AD9", CharacteristicName.CONTROL_POINT),
            ("2acc", CharacteristicName.FEATURES),
            ("2AD4", CharacteristicName.SPEED_RANGE),
            ("2AD5", CharacteristicName.INCLINE_RANGE),
            ("00002AD5-0000-1000-8000-00805F9B34FB", CharacteristicName.INCLINE_RANGE),
        ],
    )
    def test_a_characteristic_is_found_by_name_or_uuid_in_any_case(
        self, key: str, expected: CharacteristicName
    ) -> None:
        assert lookup_characteristic(key) is expected

    @pytest.mark.parametrize("key", ["heart-rate", "2A37", "1826", "", "0000ffff-0000"])
    def test_an_unknown_characteristic_is_a_decode_error_naming_the_choices(self, key: str) -> None:
        with pytest.raises(DecodeError, match="treadmill-data"):
            lookup_characteristic(key)

    def test_every_name_knows_its_uuid(self) -> None:
        assert CharacteristicName.SPEED_RANGE.uuid16 == 0x2AD4
        assert CharacteristicName.MACHINE_STATUS.uuid == "00002ada-0000-1000-8000-00805f9b34fb"


class TestTreadmillData:
    def test_a_speed_only_frame_gives_the_speed(self) -> None:
        data = decode_treadmill_data(
            frame(
                "00 00"  # flags 0x0000: bit 0 clear, so Instantaneous Speed follows
                "64 00"  # speed 0x0064 = 100 x 0.01 = 1.00 km/h
            )
        )
        assert data.speed_kmh == 1.0
        assert data.more_data is False
        assert data.is_complete
        assert data.notes == ()
        assert data.raw == frame("00 00 64 00")

    def test_every_specified_field_is_decoded_with_its_unit(self) -> None:
        data = decode_treadmill_data(
            frame(
                "fe 1f"  # flags 0x1FFE: bits 1-12 set, bit 0 clear (speed present)
                "90 01"  # speed 0x0190 = 4.00 km/h
                "5e 01"  # average speed 0x015E = 3.50 km/h
                "d2 04 00"  # total distance 0x0004D2 = 1234 m
                "19 00"  # inclination 0x0019 = 2.5 %
                "f6 ff"  # ramp angle 0xFFF6 = -10 x 0.1 = -1.0 deg
                "7b 00"  # positive elevation gain 0x007B = 12.3 m
                "05 00"  # negative elevation gain 0x0005 = 0.5 m
                "0f"  # instantaneous pace 0x0F = 1.5 km/min
                "0e"  # average pace 0x0E = 1.4 km/min
                "64 00"  # total energy 100 kcal
                "90 01"  # energy per hour 400 kcal
                "07"  # energy per minute 7 kcal
                "78"  # heart rate 120 bpm
                "23"  # metabolic equivalent 0x23 = 3.5
                "10 0e"  # elapsed time 0x0E10 = 3600 s
                "2c 01"  # remaining time 0x012C = 300 s
                "ce ff"  # force on belt 0xFFCE = -50 N
                "50 00"  # power output 80 W
            )
        )
        assert data.speed_kmh == 4.0
        assert data.average_speed_kmh == 3.5
        assert data.distance_m == 1234
        assert data.incline_pct == 2.5
        assert data.ramp_angle_deg == -1.0
        assert data.positive_elevation_gain_m == 12.3
        assert data.negative_elevation_gain_m == 0.5
        assert data.instantaneous_pace_km_per_min == 1.5
        assert data.average_pace_km_per_min == 1.4
        assert data.total_energy_kcal == 100
        assert data.energy_per_hour_kcal == 400
        assert data.energy_per_minute_kcal == 7
        assert data.heart_rate_bpm == 120
        assert data.metabolic_equivalent == 3.5
        assert data.elapsed_s == 3600
        assert data.remaining_s == 300
        assert data.force_on_belt_n == -50
        assert data.power_output_w == 80
        assert data.step_count is None
        assert data.is_complete
        assert data.notes == ()

    def test_reserved_bit_13_is_read_as_a_three_byte_step_count(self) -> None:
        # UREVO, Yesoul and KingSmith walking pads
        data = decode_treadmill_data(
            frame(
                "00 20"  # flags 0x2000: speed present, reserved bit 13 set
                "64 00"  # speed 1.00 km/h
                "39 30 00"  # steps 0x003039 = 12345
            )
        )
        assert data.speed_kmh == 1.0
        assert data.step_count == 12345
        assert data.is_complete
        assert data.notes == ()

    def test_flags_with_a_low_byte_of_0x80_or_more_are_read_unsigned(self) -> None:
        # Reading the flags as signed bytes corrupted these in qdomyos-zwift.
        data = decode_treadmill_data(
            frame(
                "84 00"  # flags 0x0084: total distance (bit 2), expended energy (bit 7)
                "2c 01"  # speed 0x012C = 3.00 km/h
                "10 27 00"  # distance 0x002710 = 10000 m
                "0a 00"  # total energy 10 kcal
                "ff ff"  # energy per hour: not available
                "ff"  # energy per minute: not available
            )
        )
        assert data.flags == 0x0084
        assert data.speed_kmh == 3.0
        assert data.distance_m == 10000
        assert data.total_energy_kcal == 10
        assert data.energy_per_hour_kcal is None
        assert data.energy_per_minute_kcal is None
        assert data.notes == ()

    def test_all_ones_means_not_available_and_is_noted_where_the_spec_defines_no_sentinel(
        self,
    ) -> None:
        data = decode_treadmill_data(
            frame(
                "08 04"  # flags 0x0408: inclination and ramp (bit 3), elapsed time (bit 10)
                "ff ff"  # speed 0xFFFF: no sentinel in the spec, but sent as "n/a"
                "ff 7f"  # inclination 0x7FFF: not available (spec)
                "ff 7f"  # ramp angle 0x7FFF: not available (spec)
                "ff ff"  # elapsed 0xFFFF: no sentinel in the spec
            )
        )
        assert data.speed_kmh is None
        assert data.incline_pct is None
        assert data.ramp_angle_deg is None
        assert data.elapsed_s is None
        assert data.is_complete
        assert len(data.notes) == 2
        assert any("speed_kmh" in note for note in data.notes)
        assert any("elapsed_s" in note for note in data.notes)

    def test_a_console_claiming_more_fields_than_it_sends_gives_what_is_there(self) -> None:
        # A Matrix console: the flags announce elapsed time, the frame stops before it.
        data = decode_treadmill_data(
            frame(
                "04 04"  # flags 0x0404: total distance (bit 2), elapsed time (bit 10)
                "64 00"  # speed 1.00 km/h
                "10 27 00"  # distance 10000 m
                # elapsed time (2 bytes) missing
            )
        )
        assert data.speed_kmh == 1.0
        assert data.distance_m == 10000
        assert data.elapsed_s is None
        assert data.missing_fields == ("elapsed_s",)
        assert not data.is_complete
        assert any("flags claim fields beyond the frame" in note for note in data.notes)

    def test_a_field_cut_in_half_is_missing_not_misread(self) -> None:
        data = decode_treadmill_data(
            frame(
                "00 00"  # flags: speed present
                "64"  # half of the speed
            )
        )
        assert data.speed_kmh is None
        assert data.missing_fields == ("speed_kmh",)

    def test_a_group_cut_short_keeps_its_first_members(self) -> None:
        data = decode_treadmill_data(
            frame(
                "80 00"  # flags 0x0080: expended energy
                "64 00"  # speed 1.00 km/h
                "0a 00"  # total energy 10 kcal; per hour and per minute missing
            )
        )
        assert data.total_energy_kcal == 10
        assert data.missing_fields == ("energy_per_hour_kcal", "energy_per_minute_kcal")

    def test_bytes_after_the_announced_fields_are_ignored_and_noted(self) -> None:
        data = decode_treadmill_data(
            frame(
                "00 00"  # flags: speed only
                "64 00"  # speed 1.00 km/h
                "00 00"  # two bytes nothing announced
            )
        )
        assert data.speed_kmh == 1.0
        assert any("2 bytes after the last announced field" in note for note in data.notes)

    def test_reserved_flag_bits_14_and_15_are_noted(self) -> None:
        data = decode_treadmill_data(
            frame(
                "00 c0"  # flags 0xC000: reserved bits 14 and 15
                "64 00"  # speed 1.00 km/h
            )
        )
        assert data.speed_kmh == 1.0
        assert any("0xc000" in note for note in data.notes)

    @pytest.mark.parametrize("raw", [b"", b"\x00"])
    def test_a_frame_without_its_flags_is_a_decode_error(self, raw: bytes) -> None:
        with pytest.raises(DecodeError, match="flags"):
            decode_treadmill_data(raw)

    def test_the_mph_quirk_turns_wire_speeds_into_kmh(self) -> None:
        wire = decode_treadmill_data(
            frame(
                "0a 00"  # flags 0x000A: average speed (bit 1), inclination and ramp (bit 3)
                "64 00"  # speed 100 x 0.01 = 1.00 (mph on this machine)
                "32 00"  # average 0.50 mph
                "14 00"  # inclination 2.0 %
                "00 00"  # ramp angle 0
            )
        )
        data = MPH.treadmill_data_in_kmh(wire)
        assert wire.speed_kmh == 1.0
        assert data.speed_kmh == pytest.approx(KMH_PER_MPH)
        assert data.average_speed_kmh == pytest.approx(0.5 * KMH_PER_MPH)
        assert data.incline_pct == 2.0
        assert data.raw == wire.raw

    def test_a_kmh_machine_needs_no_conversion(self) -> None:
        wire = decode_treadmill_data(frame("00 00 64 00"))
        assert ClientQuirks().treadmill_data_in_kmh(wire) is wire

    def test_bleak_bytearrays_are_accepted(self) -> None:
        assert decode_treadmill_data(bytearray(frame("00 00 64 00"))).speed_kmh == 1.0

    @given(st.binary(max_size=48))
    @example(b"")
    @example(frame("ff ff"))
    @example(frame("ff ff ff"))
    def test_any_bytes_give_a_value_or_a_decode_error(self, raw: bytes) -> None:
        try:
            data = decode_treadmill_data(raw)
        except DecodeError:
            assert len(raw) < 2
            return
        assert data.raw == raw
        json.dumps(to_json_dict(data))


class TestTreadmillDataAssembler:
    FIRST_PART = frame(
        "05 04"  # flags 0x0405: More Data (bit 0, so no speed), distance, elapsed time
        "10 27 00"  # distance 10000 m
        "3c 00"  # elapsed 60 s
    )
    LAST_PART = frame(
        "00 01"  # flags 0x0100: More Data clear (speed present), heart rate
        "2c 01"  # speed 3.00 km/h
        "78"  # heart rate 120 bpm
    )

    def test_a_split_record_comes_out_as_one_when_its_last_part_arrives(self) -> None:
        assembler = TreadmillDataAssembler()
        first = decode_treadmill_data(self.FIRST_PART)
        assert first.more_data
        assert first.speed_kmh is None
        assert assembler.feed_record(first) is None
        assert assembler.has_pending_parts
        record = assembler.feed(self.LAST_PART)
        assert record is not None
        assert record.more_data is False
        assert record.speed_kmh == 3.0
        assert record.distance_m == 10000
        assert record.elapsed_s == 60
        assert record.heart_rate_bpm == 120
        assert record.raw == self.FIRST_PART + self.LAST_PART
        assert record.flags == 0x0504
        assert not assembler.has_pending_parts

    def test_a_record_that_was_not_split_passes_through_unchanged(self) -> None:
        assembler = TreadmillDataAssembler()
        whole = decode_treadmill_data(self.LAST_PART)
        assert assembler.feed_record(whole) == whole
        assert assembler.feed(self.LAST_PART) == whole

    def test_reset_drops_a_waiting_part_so_it_never_joins_a_later_record(self) -> None:
        assembler = TreadmillDataAssembler()
        assembler.feed(self.FIRST_PART)
        assembler.reset()
        record = assembler.feed(self.LAST_PART)
        assert record is not None
        assert record.distance_m is None

    def test_three_parts_merge_with_later_values_winning(self) -> None:
        assembler = TreadmillDataAssembler()
        assembler.feed(self.FIRST_PART)
        assembler.feed(
            frame(
                "01 04"  # flags: More Data, elapsed time
                "3d 00"  # elapsed 61 s, later than the first part's 60
            )
        )
        record = assembler.feed(self.LAST_PART)
        assert record is not None
        assert record.elapsed_s == 61
        assert "merged from 3 parts" in record.notes

    def test_a_machine_that_never_sends_a_last_part_cannot_make_it_grow(self) -> None:
        assembler = TreadmillDataAssembler()
        for _ in range(MAX_PARTS * 10):
            assert assembler.feed(self.FIRST_PART) is None
        record = assembler.feed(self.LAST_PART)
        assert record is not None
        assert len(record.raw) <= MAX_PARTS * len(self.FIRST_PART) + len(self.LAST_PART)
        assert record.speed_kmh == 3.0

    def test_an_undecodable_notification_is_a_decode_error_and_keeps_waiting_parts(self) -> None:
        assembler = TreadmillDataAssembler()
        assembler.feed(self.FIRST_PART)
        with pytest.raises(DecodeError):
            assembler.feed(b"\x01")
        record = assembler.feed(self.LAST_PART)
        assert record is not None
        assert record.distance_m == 10000


class TestMachineStatus:
    @pytest.mark.parametrize(
        ("hex_text", "code"),
        [
            ("01", MachineStatusCode.RESET),  # reset, no parameter
            ("03", MachineStatusCode.STOPPED_BY_SAFETY_KEY),  # safety key, no parameter
            ("04", MachineStatusCode.STARTED_OR_RESUMED_BY_USER),  # started, no parameter
            ("ff", MachineStatusCode.CONTROL_PERMISSION_LOST),  # control lost, no parameter
        ],
    )
    def test_statuses_without_a_parameter_decode_to_their_code(
        self, hex_text: str, code: MachineStatusCode
    ) -> None:
        status = decode_machine_status(frame(hex_text))
        assert status.code is code
        assert status.notes == ()

    @pytest.mark.parametrize(
        ("hex_text", "kind"),
        [
            ("02 01", StopPauseKind.STOP),  # 0x02 stopped or paused by user, 0x01 stop
            ("02 02", StopPauseKind.PAUSE),  # 0x02 stopped or paused by user, 0x02 pause
        ],
    )
    def test_a_stop_or_pause_by_the_user_says_which(
        self, hex_text: str, kind: StopPauseKind
    ) -> None:
        status = decode_machine_status(frame(hex_text))
        assert status.code is MachineStatusCode.STOPPED_OR_PAUSED_BY_USER
        assert status.stop_pause is kind

    def test_a_target_speed_change_carries_the_new_speed(self) -> None:
        status = decode_machine_status(
            frame(
                "05"  # target speed changed
                "2c 01"  # 0x012C = 3.00 km/h
            )
        )
        assert status.code is MachineStatusCode.TARGET_SPEED_CHANGED
        assert status.target_speed_kmh == 3.0

    def test_a_target_speed_change_follows_the_mph_quirk(self) -> None:
        status = MPH.machine_status_in_kmh(decode_machine_status(frame("05 64 00")))
        assert status.target_speed_kmh == pytest.approx(KMH_PER_MPH)

    def test_a_target_incline_change_carries_the_new_signed_incline(self) -> None:
        status = decode_machine_status(
            frame(
                "06"  # target incline changed
                "f6 ff"  # 0xFFF6 = -10 x 0.1 = -1.0 %
            )
        )
        assert status.code is MachineStatusCode.TARGET_INCLINE_CHANGED
        assert status.target_incline_pct == -1.0

    def test_extra_zero_bytes_after_a_status_are_tolerated_and_noted(self) -> None:
        status = decode_machine_status(
            frame(
                "04"  # started or resumed by user
                "00 00"  # two bytes the spec does not define (seen on real treadmills)
            )
        )
        assert status.code is MachineStatusCode.STARTED_OR_RESUMED_BY_USER
        assert status.notes == ("2 extra bytes after the status ignored",)

    def test_a_stop_without_its_parameter_is_still_a_stop_or_pause(self) -> None:
        status = decode_machine_status(frame("02"))
        assert status.code is MachineStatusCode.STOPPED_OR_PAUSED_BY_USER
        assert status.stop_pause is None
        assert status.notes

    def test_an_unknown_stop_kind_is_kept_as_none_and_noted(self) -> None:
        status = decode_machine_status(frame("02 07"))
        assert status.stop_pause is None
        assert status.parameter == b"\x07"
        assert status.notes

    def test_a_reserved_status_code_is_kept_with_its_bytes(self) -> None:
        status = decode_machine_status(frame("20 01 02"))
        assert status.code is None
        assert status.code_value == 0x20
        assert status.parameter == frame("01 02")

    def test_a_not_available_target_speed_is_none(self) -> None:
        assert decode_machine_status(frame("05 ff ff")).target_speed_kmh is None

    def test_an_empty_status_is_a_decode_error(self) -> None:
        with pytest.raises(DecodeError):
            decode_machine_status(b"")

    @given(st.binary(max_size=16))
    def test_any_bytes_give_a_value_or_a_decode_error(self, raw: bytes) -> None:
        try:
            status = decode_machine_status(raw)
        except DecodeError:
            assert raw == b""
            return
        assert status.code_value == raw[0]
        json.dumps(to_json_dict(status))


class TestTrainingStatus:
    def test_a_status_without_a_string(self) -> None:
        status = decode_training_status(
            frame(
                "00"  # flags: no string
                "01"  # idle
            )
        )
        assert status.code is TrainingStatusCode.IDLE
        assert status.status_string is None

    def test_a_status_with_a_string(self) -> None:
        status = decode_training_status(
            frame(
                "01"  # flags: string present
                "0d"  # manual mode (quick start)
                "4d 61 6e 75 61 6c"  # "Manual"
            )
        )
        assert status.code is TrainingStatusCode.MANUAL_MODE
        assert status.status_string == "Manual"

    def test_an_empty_string_is_an_empty_string(self) -> None:
        status = decode_training_status(
            frame(
                "01"  # flags: string present
                "0e"  # pre-workout; and no string bytes at all
            )
        )
        assert status.code is TrainingStatusCode.PRE_WORKOUT
        assert status.status_string == ""
        assert status.notes == ()

    def test_a_reserved_status_value_is_kept_and_noted(self) -> None:
        status = decode_training_status(frame("00 42"))
        assert status.code is None
        assert status.code_value == 0x42
        assert status.notes

    def test_a_string_that_is_not_utf8_is_replaced_and_noted(self) -> None:
        status = decode_training_status(frame("01 01 ff fe"))
        assert status.status_string == "\ufffd\ufffd"
        assert status.notes

    def test_nul_padding_is_stripped_from_the_string(self) -> None:
        assert decode_training_status(frame("01 01 49 64 00 00")).status_string == "Id"

    @pytest.mark.parametrize("raw", [b"", b"\x01"])
    def test_a_status_without_its_status_byte_is_a_decode_error(self, raw: bytes) -> None:
        with pytest.raises(DecodeError):
            decode_training_status(raw)

    @given(st.binary(max_size=24))
    def test_any_bytes_give_a_value_or_a_decode_error(self, raw: bytes) -> None:
        try:
            status = decode_training_status(raw)
        except DecodeError:
            assert len(raw) < 2
            return
        json.dumps(to_json_dict(status))


class TestFeatures:
    def test_features_decode_into_both_flag_sets(self) -> None:
        features = decode_features(
            frame(
                "0d 10 00 00"  # machine features 0x0000100D: average speed (bit 0),
                # total distance (2), inclination (3), elapsed time (12)
                "03 00 00 00"  # target settings 0x00000003: speed (0), inclination (1)
            )
        )
        assert features.machine_features == (
            MachineFeature.AVERAGE_SPEED
            | MachineFeature.TOTAL_DISTANCE
            | MachineFeature.INCLINATION
            | MachineFeature.ELAPSED_TIME
        )
        assert features.target_settings == (
            TargetSettingFeature.SPEED_TARGET | TargetSettingFeature.INCLINATION_TARGET
        )
        assert features.speed_target_supported
        assert features.incline_target_supported
        assert features.notes == ()

    def test_a_machine_without_a_speed_target_says_so(self) -> None:
        features = decode_features(frame("00 00 00 00 00 00 00 00"))
        assert not features.speed_target_supported

    def test_reserved_feature_bits_are_kept_and_noted(self) -> None:
        features = decode_features(
            frame(
                "00 00 00 80"  # machine features: reserved bit 31
                "01 00 00 00"  # speed target
            )
        )
        assert int(features.machine_features) == 0x8000_0000
        assert features.notes
        assert to_json_dict(features)["machine_features"] == ["0x80000000"]

    def test_fewer_than_eight_bytes_is_a_decode_error(self) -> None:
        with pytest.raises(DecodeError, match="8 bytes"):
            decode_features(frame("01 00 00 00 01 00 00"))


class TestRanges:
    def test_a_speed_range_decodes_in_kmh(self) -> None:
        speed_range = decode_speed_range(
            frame(
                "64 00"  # minimum 1.00 km/h
                "b0 04"  # maximum 0x04B0 = 12.00 km/h
                "0a 00"  # increment 0.10 km/h
            )
        )
        assert speed_range.min_kmh == 1.0
        assert speed_range.max_kmh == 12.0
        assert speed_range.increment_kmh == 0.1

    def test_a_speed_range_in_mph_is_converted_with_the_quirk(self) -> None:
        # A FitShow FS-BT-T4 reports its range in mph.
        speed_range = MPH.speed_range_in_kmh(decode_speed_range(frame("0a 00 58 02 0a 00")))
        assert speed_range.min_kmh == pytest.approx(0.1 * KMH_PER_MPH)
        assert speed_range.max_kmh == pytest.approx(6.0 * KMH_PER_MPH)
        assert speed_range.increment_kmh == pytest.approx(0.1 * KMH_PER_MPH)

    def test_an_incline_range_decodes_signed_in_percent(self) -> None:
        incline_range = decode_incline_range(
            frame(
                "ec ff"  # minimum 0xFFEC = -20 x 0.1 = -2.0 %
                "96 00"  # maximum 0x0096 = 15.0 %
                "05 00"  # increment 0.5 %
            )
        )
        assert incline_range.min_pct == -2.0
        assert incline_range.max_pct == 15.0
        assert incline_range.increment_pct == 0.5

    def test_an_inverted_range_is_noted(self) -> None:
        assert decode_speed_range(frame("b0 04 64 00 0a 00")).notes

    @pytest.mark.parametrize("decoder", [decode_speed_range, decode_incline_range])
    def test_a_short_range_is_a_decode_error(self, decoder: Any) -> None:
        with pytest.raises(DecodeError, match="6 bytes"):
            decoder(frame("64 00 b0 04 0a"))


class TestControlPoint:
    @pytest.mark.parametrize(
        ("hex_text", "request_op", "result"),
        [
            ("80 00 01", ControlOpCode.REQUEST_CONTROL, ResultCode.SUCCESS),
            ("80 02 01", ControlOpCode.SET_TARGET_SPEED, ResultCode.SUCCESS),
            (
                "80 03 02",
                ControlOpCode.SET_TARGET_INCLINATION,
                ResultCode.OP_CODE_NOT_SUPPORTED,
            ),
            ("80 02 03", ControlOpCode.SET_TARGET_SPEED, ResultCode.INVALID_PARAMETER),
            # KingSmith MC-21 answers request control with "operation failed"
            ("80 00 04", ControlOpCode.REQUEST_CONTROL, ResultCode.OPERATION_FAILED),
            ("80 07 05", ControlOpCode.START_OR_RESUME, ResultCode.CONTROL_NOT_PERMITTED),
            ("80 08 01", ControlOpCode.STOP_OR_PAUSE, ResultCode.SUCCESS),
        ],
    )
    def test_a_response_names_the_request_and_the_result(
        self, hex_text: str, request_op: ControlOpCode, result: ResultCode
    ) -> None:
        response = parse_control_point_response(
            frame(hex_text)  # 0x80 response code, request op code, result code
        )
        assert response.request_op_code is request_op
        assert response.result is result
        assert response.succeeded is (result is ResultCode.SUCCESS)

    @pytest.mark.parametrize(
        "hex_text",
        [
            "",  # nothing
            "80 02",  # result missing
            "08 01 01",  # not a response: a stop command
            "80 99 01",  # request op code the spec does not define
            "80 02 09",  # result code the spec does not define
        ],
    )
    def test_a_malformed_response_is_a_decode_error(self, hex_text: str) -> None:
        with pytest.raises(DecodeError):
            parse_control_point_response(frame(hex_text))

    def test_a_written_speed_command_decodes_for_traces(self) -> None:
        request = decode_control_point(
            frame(
                "02"  # set target speed
                "64 00"  # 1.00 km/h
            )
        )
        assert isinstance(request, ControlPointRequest)
        assert request.op_code is ControlOpCode.SET_TARGET_SPEED
        assert request.target_speed_kmh == 1.0

    def test_the_vitalwalk_speed_command_means_1_61_kmh_on_an_mph_machine(self) -> None:
        request = decode_characteristic(
            CharacteristicName.CONTROL_POINT, frame("02 64 00"), quirks=MPH
        )
        assert isinstance(request, ControlPointRequest)
        assert request.target_speed_kmh == pytest.approx(1.61, abs=0.005)

    def test_written_incline_and_stop_commands_decode(self) -> None:
        incline = decode_control_point(frame("03 ec ff"))  # set target inclination -2.0 %
        stop = decode_control_point(frame("08 01"))  # stop
        assert isinstance(incline, ControlPointRequest)
        assert incline.target_incline_pct == -2.0
        assert isinstance(stop, ControlPointRequest)
        assert stop.stop_pause is StopPauseKind.STOP

    def test_a_response_through_the_either_way_decoder_is_a_response(self) -> None:
        assert isinstance(decode_control_point(frame("80 08 01")), ControlPointResponse)

    @pytest.mark.parametrize("hex_text", ["", "02 64", "08", "55"])
    def test_a_malformed_command_is_a_decode_error(self, hex_text: str) -> None:
        with pytest.raises(DecodeError):
            decode_control_point(frame(hex_text))

    @given(st.binary(max_size=8))
    def test_any_bytes_give_a_response_or_a_decode_error(self, raw: bytes) -> None:
        try:
            response = parse_control_point_response(raw)
        except DecodeError:
            return
        assert raw[0] == 0x80
        assert response.raw == raw


class TestEveryCharacteristic:
    @given(st.sampled_from(CharacteristicName), st.binary(max_size=40))
    @example(CharacteristicName.FEATURES, b"\xff" * 8)
    @example(CharacteristicName.CONTROL_POINT, b"\x08\x09")
    def test_any_bytes_give_a_json_ready_value_or_a_decode_error(
        self, char: CharacteristicName, raw: bytes
    ) -> None:
        for quirks in (None, MPH):
            try:
                value = decode_characteristic(char, raw, quirks=quirks)
            except DecodeError:
                continue
            as_json = to_json_dict(value)
            assert as_json["raw"] == raw.hex()
            json.dumps(as_json, allow_nan=False)

    def test_json_has_unit_names_enum_names_and_hex_raw(self) -> None:
        as_json = to_json_dict(
            decode_characteristic(CharacteristicName.MACHINE_STATUS, frame("02 01"))
        )
        assert as_json["kind"] == "MachineStatus"
        assert as_json["code"] == "STOPPED_OR_PAUSED_BY_USER"
        assert as_json["stop_pause"] == "STOP"
        assert as_json["raw"] == "0201"
        assert "target_speed_kmh" in as_json


# --- pyftms as an independent oracle -----------------------------------------------

# Field sizes per flag bit, from FTMS v1.0 section 4.4.1 (bit 0 inverted), for building frames.
FIELD_SIZES = {
    0: 2,
    1: 2,
    2: 3,
    3: 4,
    4: 4,
    5: 1,
    6: 1,
    7: 5,
    8: 1,
    9: 1,
    10: 2,
    11: 2,
    12: 4,
    13: 3,
}


@st.composite
def well_formed_treadmill_frames(draw: st.DrawFn) -> bytes:
    # Bit 4 (elevation gain) is left out: pyftms truncates it to whole metres.
    flags = draw(st.integers(0, 0x3FFF)) & ~0x10
    size = sum(
        field_size
        for bit, field_size in FIELD_SIZES.items()
        if bool(flags & (1 << bit)) != (bit == 0)
    )
    return flags.to_bytes(2, "little") + draw(st.binary(min_size=size, max_size=size))


def pyftms_values(raw: bytes) -> dict[str, Any]:
    model = get_serializer(PyftmsTreadmillData).deserialize(io.BytesIO(raw))
    inclination, energy, force = model.inclination, model.energy, model.force_on_belt
    return {
        "speed_kmh": model.speed_instant,
        "average_speed_kmh": model.speed_average,
        "distance_m": model.distance_total,
        "incline_pct": inclination and inclination.inclination,
        "ramp_angle_deg": inclination and inclination.ramp_angle,
        "instantaneous_pace_km_per_min": model.pace_instant,
        "average_pace_km_per_min": model.pace_average,
        "total_energy_kcal": energy and energy.energy_total,
        "energy_per_hour_kcal": energy and energy.energy_per_hour,
        "energy_per_minute_kcal": energy and energy.energy_per_minute,
        "heart_rate_bpm": model.heart_rate,
        "metabolic_equivalent": model.metabolic_equivalent,
        "elapsed_s": model.time_elapsed,
        "remaining_s": model.time_remaining,
        "force_on_belt_n": force and force.force_on_belt,
        "power_output_w": force and force.power_output,
        "step_count": model.step_count,
    }


@given(well_formed_treadmill_frames())
@example(
    frame(
        "ee 3f"  # flags 0x3FEE: every field but elevation gain, plus the bit-13 step count
        "90 01 5e 01 d2 04 00 19 00 f6 ff 0f 0e 64 00 90 01 07 78 23 10 0e 2c 01 ce ff 50 00"
        "39 30 00"
    )
)
def test_well_formed_frames_decode_as_pyftms_decodes_them(raw: bytes) -> None:
    ours: TreadmillData = decode_treadmill_data(raw)
    assert ours.is_complete
    for name, expected in pyftms_values(raw).items():
        actual = getattr(ours, name)
        if expected is None:
            assert actual is None, name
        else:
            assert actual == pytest.approx(expected), name

"""The simulator's FTMS codec, checked against byte vectors written by hand from FTMS v1.0.

Every expected hex string below was worked out from the specification's field
tables (little-endian, resolutions as in FTMS_NOTES.md), not produced by the code.
"""

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from simulator.encoding import (
    ControlPointOp,
    ControlPointRequest,
    ControlPointResponse,
    FitnessMachineFeature,
    FitnessMachineStatus,
    MachineFeature,
    MachineStatusOp,
    RejectedRequest,
    ResultCode,
    StopControl,
    SupportedInclinationRange,
    SupportedSpeedRange,
    TargetSettingFeature,
    TrainingStatus,
    TrainingStatusCode,
    TreadmillData,
    TreadmillDataFlag,
    decode_control_point,
    ftms_service_data,
)
from simulator.errors import EncodingError

FULL_RECORD = TreadmillData(
    speed_kmh=5.0,
    total_distance_m=1234,
    inclination_pct=2.5,
    ramp_angle_deg=1.4,
    heart_rate_bpm=120,
    elapsed_s=600,
)


class TestTreadmillData:
    def test_a_full_record_lays_out_fields_in_flag_bit_order(self) -> None:
        # flags 0x050C = distance(2) | inclination(3) | heart rate(8) | elapsed(10)
        assert bytes(FULL_RECORD).hex() == "0c05f401d2040019000e00785802"

    def test_speed_only_has_all_flags_clear_because_bit0_is_inverted(self) -> None:
        assert bytes(TreadmillData(speed_kmh=16.0)).hex() == "00004006"

    def test_negative_incline_is_twos_complement_and_missing_ramp_is_7fff(self) -> None:
        record = TreadmillData(speed_kmh=0.0, inclination_pct=-1.5)
        assert bytes(record).hex() == "08000000f1ffff7f"

    def test_step_count_rides_in_reserved_bit_13_as_three_bytes(self) -> None:
        record = TreadmillData(speed_kmh=3.2, step_count=70000)
        assert bytes(record).hex() == "00204001701101"

    def test_a_split_record_sets_more_data_on_the_first_part_only(self) -> None:
        first, last = FULL_RECORD.split()
        assert bytes(first).hex() == "0d00d2040019000e00"
        assert bytes(last).hex() == "0005f401785802"
        assert first.flags & TreadmillDataFlag.MORE_DATA
        assert not last.flags & TreadmillDataFlag.MORE_DATA

    def test_a_record_without_speed_cannot_be_split(self) -> None:
        with pytest.raises(EncodingError):
            TreadmillData(total_distance_m=1).split()

    def test_decoding_reads_back_the_hand_written_vector(self) -> None:
        data = bytes.fromhex("0c05f401d2040019000e00785802")
        assert TreadmillData.from_bytes(data) == FULL_RECORD

    def test_decoding_a_truncated_record_is_an_error(self) -> None:
        with pytest.raises(EncodingError, match="too short"):
            TreadmillData.from_bytes(bytes.fromhex("0c05f401d204"))

    def test_decoding_trailing_bytes_is_an_error(self) -> None:
        with pytest.raises(EncodingError, match="trailing"):
            TreadmillData.from_bytes(bytes.fromhex("0000400600"))

    @pytest.mark.parametrize(
        "fields",
        [
            {"speed_kmh": -0.01},
            {"speed_kmh": 655.36},
            {"speed_kmh": math.nan},
            {"total_distance_m": 0x1000000},
            {"heart_rate_bpm": 256},
            {"elapsed_s": -1},
            {"inclination_pct": 3276.8},
            {"speed_kmh": 1.0, "ramp_angle_deg": 1.0},
        ],
    )
    def test_values_that_do_not_fit_their_field_are_refused(self, fields: dict[str, float]) -> None:
        with pytest.raises(EncodingError):
            TreadmillData(**fields)  # type: ignore[arg-type]

    @given(
        speed_raw=st.none() | st.integers(0, 0xFFFF),
        distance_m=st.none() | st.integers(0, 0xFFFFFF),
        incline=st.none() | st.tuples(st.integers(-0x8000, 0x7FFF), st.integers(-0x8000, 0x7FFE)),
        heart_rate_bpm=st.none() | st.integers(0, 0xFF),
        elapsed_s=st.none() | st.integers(0, 0xFFFF),
        steps=st.none() | st.integers(0, 0xFFFFFF),
    )
    def test_every_representable_record_decodes_to_itself(
        self,
        *,
        speed_raw: int | None,
        distance_m: int | None,
        incline: tuple[int, int] | None,
        heart_rate_bpm: int | None,
        elapsed_s: int | None,
        steps: int | None,
    ) -> None:
        record = TreadmillData(
            speed_kmh=None if speed_raw is None else speed_raw / 100,
            total_distance_m=distance_m,
            inclination_pct=None if incline is None else incline[0] / 10,
            ramp_angle_deg=None if incline is None else incline[1] / 10,
            heart_rate_bpm=heart_rate_bpm,
            elapsed_s=elapsed_s,
            step_count=steps,
        )
        encoded = bytes(record)
        assert TreadmillData.from_bytes(encoded) == record
        assert bytes(TreadmillData.from_bytes(encoded)) == encoded


class TestStaticCharacteristics:
    def test_feature_is_two_little_endian_uint32(self) -> None:
        value = FitnessMachineFeature(
            MachineFeature.TOTAL_DISTANCE
            | MachineFeature.INCLINATION
            | MachineFeature.HEART_RATE_MEASUREMENT
            | MachineFeature.ELAPSED_TIME,
            TargetSettingFeature.SPEED_TARGET | TargetSettingFeature.INCLINATION_TARGET,
        )
        assert bytes(value).hex() == "0c14000003000000"
        assert FitnessMachineFeature.from_bytes(bytes(value)) == value

    def test_speed_range_is_three_uint16_in_hundredths_of_kmh(self) -> None:
        value = SupportedSpeedRange(0.5, 16.0, 0.1)
        assert bytes(value).hex() == "320040060a00"
        assert SupportedSpeedRange.from_bytes(bytes.fromhex("320040060a00")) == value

    def test_inclination_range_has_a_signed_minimum(self) -> None:
        value = SupportedInclinationRange(-3.0, 15.0, 0.5)
        assert bytes(value).hex() == "e2ff96000500"
        assert SupportedInclinationRange.from_bytes(bytes.fromhex("e2ff96000500")) == value

    def test_a_range_with_minimum_above_maximum_is_refused(self) -> None:
        with pytest.raises(EncodingError):
            SupportedSpeedRange(5.0, 1.0, 0.1)

    def test_training_status_is_flags_then_status(self) -> None:
        assert bytes(TrainingStatus(TrainingStatusCode.MANUAL_MODE)).hex() == "000d"
        assert bytes(TrainingStatus(TrainingStatusCode.IDLE, "hi")).hex() == "01016869"
        assert TrainingStatus.from_bytes(bytes.fromhex("010d6869")) == TrainingStatus(
            TrainingStatusCode.MANUAL_MODE, "hi"
        )

    def test_service_data_says_available_treadmill(self) -> None:
        assert ftms_service_data().hex() == "010100"
        assert ftms_service_data(available=False).hex() == "000100"


class TestMachineStatus:
    @pytest.mark.parametrize(
        ("status", "expected_hex"),
        [
            (FitnessMachineStatus.reset(), "01"),
            (FitnessMachineStatus.stopped_by_user(), "0201"),
            (FitnessMachineStatus.stopped_by_user(StopControl.PAUSE), "0202"),
            (FitnessMachineStatus.stopped_by_safety_key(), "03"),
            (FitnessMachineStatus.started_by_user(), "04"),
            (FitnessMachineStatus.target_speed_changed(4.5), "05c201"),
            (FitnessMachineStatus.target_incline_changed(-2.0), "06ecff"),
            (FitnessMachineStatus.control_permission_lost(), "ff"),
        ],
    )
    def test_each_status_encodes_op_code_and_parameter(
        self, status: FitnessMachineStatus, expected_hex: str
    ) -> None:
        assert bytes(status).hex() == expected_hex
        assert FitnessMachineStatus.from_bytes(bytes.fromhex(expected_hex)) == status

    def test_a_status_with_the_wrong_parameter_is_refused(self) -> None:
        with pytest.raises(EncodingError):
            FitnessMachineStatus(MachineStatusOp.TARGET_SPEED_CHANGED)
        with pytest.raises(EncodingError):
            FitnessMachineStatus(MachineStatusOp.RESET, speed_kmh=1.0)


class TestControlPoint:
    @pytest.mark.parametrize(
        ("data_hex", "expected"),
        [
            ("00", ControlPointRequest(ControlPointOp.REQUEST_CONTROL)),
            ("01", ControlPointRequest(ControlPointOp.RESET)),
            ("02c201", ControlPointRequest(ControlPointOp.SET_TARGET_SPEED, speed_kmh=4.5)),
            (
                "03ecff",
                ControlPointRequest(ControlPointOp.SET_TARGET_INCLINATION, incline_pct=-2.0),
            ),
            ("07", ControlPointRequest(ControlPointOp.START_OR_RESUME)),
            (
                "0801",
                ControlPointRequest(ControlPointOp.STOP_OR_PAUSE, stop_control=StopControl.STOP),
            ),
            (
                "0802",
                ControlPointRequest(ControlPointOp.STOP_OR_PAUSE, stop_control=StopControl.PAUSE),
            ),
        ],
    )
    def test_well_formed_requests_decode_and_encode_back(
        self, data_hex: str, expected: ControlPointRequest
    ) -> None:
        assert decode_control_point(bytes.fromhex(data_hex)) == expected
        assert bytes(expected).hex() == data_hex

    @pytest.mark.parametrize(
        ("data_hex", "op_code", "result"),
        [
            ("", 0x00, ResultCode.OP_CODE_NOT_SUPPORTED),
            ("05c800", 0x05, ResultCode.OP_CODE_NOT_SUPPORTED),
            ("800101", 0x80, ResultCode.OP_CODE_NOT_SUPPORTED),
            ("ff", 0xFF, ResultCode.OP_CODE_NOT_SUPPORTED),
            ("02c2", 0x02, ResultCode.INVALID_PARAMETER),
            ("02c20100", 0x02, ResultCode.INVALID_PARAMETER),
            ("0000", 0x00, ResultCode.INVALID_PARAMETER),
            ("08", 0x08, ResultCode.INVALID_PARAMETER),
            ("0803", 0x08, ResultCode.INVALID_PARAMETER),
            ("0800", 0x08, ResultCode.INVALID_PARAMETER),
        ],
    )
    def test_bad_writes_are_rejected_with_the_spec_result(
        self, data_hex: str, op_code: int, result: ResultCode
    ) -> None:
        rejected = decode_control_point(bytes.fromhex(data_hex))
        assert isinstance(rejected, RejectedRequest)
        assert (rejected.op_code, rejected.result) == (op_code, result)
        assert bytes(rejected.response()) == bytes([0x80, op_code, result])

    def test_a_response_is_80_then_request_op_then_result(self) -> None:
        assert bytes(ControlPointResponse(0x02, ResultCode.SUCCESS)).hex() == "800201"
        assert bytes(ControlPointResponse(0x07, ResultCode.CONTROL_NOT_PERMITTED)).hex() == "800705"
        assert ControlPointResponse.from_bytes(bytes.fromhex("800804")) == ControlPointResponse(
            0x08, ResultCode.OPERATION_FAILED
        )

    def test_a_request_cannot_be_built_with_a_missing_parameter(self) -> None:
        with pytest.raises(EncodingError):
            ControlPointRequest(ControlPointOp.SET_TARGET_SPEED)

    @given(st.binary(max_size=8))
    @example(b"")
    @example(b"\x08\x00")
    @example(b"\x02\xff\xff")
    def test_arbitrary_bytes_always_decode_to_a_request_or_a_result_code(self, data: bytes) -> None:
        decoded = decode_control_point(data)
        if isinstance(decoded, ControlPointRequest):
            assert bytes(decoded) == data
        else:
            assert decoded.result in {
                ResultCode.OP_CODE_NOT_SUPPORTED,
                ResultCode.INVALID_PARAMETER,
            }
            assert decoded.op_code == (data[0] if data else 0)

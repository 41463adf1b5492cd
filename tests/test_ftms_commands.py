"""Control point commands: exact bytes from the spec, and no bytes at all for unsafe targets."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from treadmill_ctl.errors import CommandRefused, DecodeError
from treadmill_ctl.ftms.commands import (
    ControlOpCode,
    ResultCode,
    parse_control_point_response,
    pause,
    quantise_incline_pct,
    quantise_speed_kmh,
    request_control,
    reset,
    set_target_inclination,
    set_target_speed,
    start_resume,
    stop,
)
from treadmill_ctl.ftms.decode import decode_control_point, decode_incline_range, decode_speed_range
from treadmill_ctl.ftms.observations import ControlPointRequest, InclineRange, SpeedRange
from treadmill_ctl.ftms.quirks import KMH_PER_MPH, ClientQuirks, SpeedUnit

MPH = ClientQuirks(speed_unit=SpeedUnit.MPH)

# Supported Speed Range: min 1.00, max 12.00, increment 0.10 km/h (uint16 0.01 km/h each).
WALKING_RANGE = decode_speed_range(bytes.fromhex("6400b0040a00"))
# Supported Inclination Range: min -2.0 %, max 15.0 %, increment 0.5 % (0.1 % units).
INCLINE_RANGE = decode_incline_range(bytes.fromhex("ecff96000500"))


def speed_range(low: int, high: int, increment: int) -> SpeedRange:
    """A speed range from wire values in 0.01 km/h, as a treadmill would send it."""
    raw = b"".join(value.to_bytes(2, "little") for value in (low, high, increment))
    return decode_speed_range(raw)


def commanded_speed_kmh(command: bytes, quirks: ClientQuirks | None = None) -> float:
    request = decode_control_point(command)
    assert isinstance(request, ControlPointRequest)
    if quirks is not None:
        request = quirks.control_point_request_in_kmh(request)
    assert request.target_speed_kmh is not None
    return request.target_speed_kmh


class TestFixedCommands:
    def test_each_fixed_command_is_its_spec_bytes(self) -> None:
        assert request_control() == bytes([0x00])  # request control
        assert reset() == bytes([0x01])  # reset
        assert start_resume() == bytes([0x07])  # start or resume
        assert stop() == bytes([0x08, 0x01])  # stop or pause, 0x01 = stop
        assert pause() == bytes([0x08, 0x02])  # stop or pause, 0x02 = pause


class TestSetTargetSpeed:
    @pytest.mark.parametrize(
        ("speed_kmh", "expected"),
        [
            (1.0, "02 64 00"),  # 0x0064 = 100 x 0.01 km/h
            (3.5, "02 5e 01"),  # 0x015E = 350
            (0.0, "02 00 00"),
            (655.35, "02 ff ff"),  # the largest value the field holds
            (2.346, "02 eb 00"),  # 234.6 hundredths rounds to 235 = 0x00EB
        ],
    )
    def test_a_speed_is_encoded_in_hundredths_of_kmh(self, speed_kmh: float, expected: str) -> None:
        assert set_target_speed(speed_kmh) == bytes.fromhex(expected)

    def test_a_speed_is_quantised_to_the_treadmills_increment(self) -> None:
        # 3.14 km/h on a 1.0..12.0 range in 0.1 steps: 3.1 km/h = 310 = 0x0136
        assert set_target_speed(3.14, speed_range=WALKING_RANGE) == bytes.fromhex("02 36 01")
        assert quantise_speed_kmh(3.14, speed_range=WALKING_RANGE) == pytest.approx(3.1)

    def test_the_increment_counts_from_the_ranges_minimum(self) -> None:
        # range 0.5..6.0 in 0.5 steps; 2.3 km/h is nearest 2.5 = 250 = 0x00FA
        half_steps = speed_range(50, 600, 50)
        assert set_target_speed(2.3, speed_range=half_steps) == bytes.fromhex("02 fa 00")

    def test_a_maximum_off_the_grid_is_never_exceeded(self) -> None:
        # range 1.00..6.07 in 0.1 steps: 6.07 rounds up to 6.1 on the grid, so 6.0 is sent
        odd_top = speed_range(100, 607, 10)
        assert set_target_speed(6.07, speed_range=odd_top) == bytes.fromhex("02 58 02")

    @pytest.mark.parametrize("speed_kmh", [-0.5, -0.0001, math.nan, math.inf, -math.inf])
    def test_negative_nan_and_infinite_speeds_are_refused(self, speed_kmh: float) -> None:
        # -0.5 km/h packed as uint16 would be 654.86 km/h
        with pytest.raises(CommandRefused, match="refused"):
            set_target_speed(speed_kmh)

    @pytest.mark.parametrize("speed_kmh", [0.5, 12.5])
    def test_speeds_outside_the_supported_range_are_refused(self, speed_kmh: float) -> None:
        with pytest.raises(CommandRefused, match=r"supported range 1\.\.12 km/h"):
            set_target_speed(speed_kmh, speed_range=WALKING_RANGE)

    def test_a_speed_above_the_field_is_refused(self) -> None:
        with pytest.raises(CommandRefused, match=r"655\.35"):
            set_target_speed(655.36)

    def test_the_range_edges_themselves_are_accepted(self) -> None:
        assert set_target_speed(1.0, speed_range=WALKING_RANGE) == bytes.fromhex("02 64 00")
        assert set_target_speed(12.0, speed_range=WALKING_RANGE) == bytes.fromhex("02 b0 04")

    def test_an_mph_machine_gets_the_mph_value(self) -> None:
        # Vitalwalk TM11GY: "02 64 00" ran the belt at 1.61 km/h
        assert set_target_speed(KMH_PER_MPH, unit=SpeedUnit.MPH) == bytes.fromhex("02 64 00")

    def test_an_mph_machine_is_quantised_on_its_own_mph_grid(self) -> None:
        # A FitShow range of 0.1..6.0 mph in 0.1 mph steps; 3.0 km/h = 1.864 mph -> 1.9 mph
        mph_range = MPH.speed_range_in_kmh(decode_speed_range(bytes.fromhex("0a0058020a00")))
        assert set_target_speed(3.0, speed_range=mph_range, unit=SpeedUnit.MPH) == bytes.fromhex(
            "02 be 00"  # 0x00BE = 190 = 1.90 mph
        )
        assert quantise_speed_kmh(3.0, speed_range=mph_range, unit=SpeedUnit.MPH) == pytest.approx(
            1.9 * KMH_PER_MPH
        )

    @given(speed_kmh=st.floats(allow_nan=True, allow_infinity=True), use_range=st.booleans())
    @example(speed_kmh=-0.5, use_range=False)
    @example(speed_kmh=-0.0, use_range=False)
    @example(speed_kmh=655.354, use_range=False)
    @example(speed_kmh=5e-324, use_range=True)
    @example(speed_kmh=-2.9257434776633025e-80, use_range=False)
    def test_any_float_gives_refusal_or_a_speed_that_never_wraps(
        self, *, speed_kmh: float, use_range: bool
    ) -> None:
        supported = WALKING_RANGE if use_range else None
        low_kmh, high_kmh = (1.0, 12.0) if use_range else (0.0, 655.35)
        # False for NaN; any negative is refused, however tiny
        inside = speed_kmh >= 0 and low_kmh - 1e-6 <= speed_kmh <= high_kmh + 1e-6
        try:
            command = set_target_speed(speed_kmh, speed_range=supported)
        except CommandRefused:
            assert not inside
            return
        assert inside
        assert command[0] == ControlOpCode.SET_TARGET_SPEED
        assert len(command) == 3
        sent_kmh = commanded_speed_kmh(command)
        assert low_kmh <= sent_kmh <= high_kmh
        assert abs(sent_kmh - speed_kmh) <= (0.05 if use_range else 0.005) + 1e-9

    @given(
        low=st.integers(0, 2000),
        increment=st.integers(1, 50),
        steps=st.integers(0, 400),
        fraction=st.floats(0, 1),
        mph=st.booleans(),
    )
    def test_valid_speeds_round_trip_within_half_an_increment(
        self, *, low: int, increment: int, steps: int, fraction: float, mph: bool
    ) -> None:
        quirks = MPH if mph else ClientQuirks()
        high = low + steps * increment
        assume(high <= 0xFFFF)
        supported = quirks.speed_range_in_kmh(
            decode_speed_range(
                b"".join(value.to_bytes(2, "little") for value in (low, high, increment))
            )
        )
        speed_kmh = supported.min_kmh + fraction * (supported.max_kmh - supported.min_kmh)
        command = set_target_speed(speed_kmh, speed_range=supported, unit=quirks.speed_unit)
        sent_kmh = commanded_speed_kmh(command, quirks)
        tolerance = 1e-9 * max(1.0, speed_kmh)
        assert abs(sent_kmh - speed_kmh) <= supported.increment_kmh / 2 + tolerance
        assert supported.min_kmh - tolerance <= sent_kmh <= supported.max_kmh + tolerance
        assert sent_kmh == pytest.approx(
            quantise_speed_kmh(speed_kmh, speed_range=supported, unit=quirks.speed_unit)
        )

    @given(st.floats(0, 655.35))
    def test_without_a_range_speeds_round_trip_within_half_a_hundredth(
        self, speed_kmh: float
    ) -> None:
        assert abs(commanded_speed_kmh(set_target_speed(speed_kmh)) - speed_kmh) <= 0.005 + 1e-9


class TestSetTargetInclination:
    @pytest.mark.parametrize(
        ("incline_pct", "expected"),
        [
            (2.0, "03 14 00"),  # 0x0014 = 20 x 0.1 %
            (-1.5, "03 f1 ff"),  # 0xFFF1 = -15 x 0.1 %
            (0.0, "03 00 00"),
        ],
    )
    def test_an_incline_is_encoded_in_signed_tenths_of_a_percent(
        self, incline_pct: float, expected: str
    ) -> None:
        assert set_target_inclination(incline_pct) == bytes.fromhex(expected)

    def test_an_incline_is_quantised_to_the_treadmills_increment(self) -> None:
        # -2.0..15.0 % in 0.5 steps: 2.3 % is nearest 2.5 % = 25 = 0x0019
        assert set_target_inclination(2.3, incline_range=INCLINE_RANGE) == bytes.fromhex("03 19 00")
        assert quantise_incline_pct(2.3, incline_range=INCLINE_RANGE) == 2.5

    @pytest.mark.parametrize("incline_pct", [-2.5, 15.5, math.nan, math.inf, -math.inf])
    def test_inclines_outside_the_range_or_not_finite_are_refused(self, incline_pct: float) -> None:
        with pytest.raises(CommandRefused):
            set_target_inclination(incline_pct, incline_range=INCLINE_RANGE)

    def test_the_not_available_value_is_never_sent_as_a_target(self) -> None:
        with pytest.raises(CommandRefused):
            set_target_inclination(3276.7)  # 0x7FFF means "not available"

    @given(st.floats(allow_nan=True, allow_infinity=True))
    def test_any_float_gives_refusal_or_an_incline_inside_the_range(
        self, incline_pct: float
    ) -> None:
        try:
            command = set_target_inclination(incline_pct, incline_range=INCLINE_RANGE)
        except CommandRefused:
            return
        request = decode_control_point(command)
        assert isinstance(request, ControlPointRequest)
        assert request.target_incline_pct is not None
        assert -2.0 <= request.target_incline_pct <= 15.0
        assert abs(request.target_incline_pct - incline_pct) <= 0.25 + 1e-9

    def test_an_empty_range_refuses_everything(self) -> None:
        inverted = InclineRange(raw=b"", min_pct=5.0, max_pct=1.0, increment_pct=0.5)
        with pytest.raises(CommandRefused):
            set_target_inclination(3.0, incline_range=inverted)


class TestResponses:
    def test_a_response_is_parsed_through_the_commands_module(self) -> None:
        response = parse_control_point_response(
            bytes.fromhex("80 08 01")  # response code, stop or pause, success
        )
        assert response.request_op_code is ControlOpCode.STOP_OR_PAUSE
        assert response.result is ResultCode.SUCCESS

    def test_the_result_codes_have_their_spec_values(self) -> None:
        assert [int(code) for code in ResultCode] == [0x01, 0x02, 0x03, 0x04, 0x05]

    def test_a_malformed_response_is_a_decode_error(self) -> None:
        with pytest.raises(DecodeError):
            parse_control_point_response(b"\x80\x08")

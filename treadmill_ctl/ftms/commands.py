"""Control point commands as bytes, refused before encoding when they are unsafe.

Each function returns the exact bytes to write to the Fitness Machine Control Point
(FTMS v1.0 section 4.16). The target encoders are where a bad number must stop: FTMS
speeds are unsigned 16-bit, so a negative speed packed as uint16 would wrap into a
very fast one (-0.5 km/h becomes 654.86 km/h). So a target that is negative, NaN,
infinite, outside the treadmill's supported range or outside the field raises
:class:`~treadmill_ctl.errors.CommandRefused` and no bytes exist to be written.

Accepted targets are quantised to the treadmill's increment from its Supported Speed
or Inclination Range, and converted for the speed-unit quirk (a machine that reads
km/h fields as mph gets the mph value). :func:`quantise_speed_kmh` and
:func:`quantise_incline_pct` tell the caller the target the bytes really ask for, so
the belt's reported speed can be compared with it.

The control point enums and the response parser live with the other decoded values
(:mod:`treadmill_ctl.ftms.observations`, :mod:`treadmill_ctl.ftms.decode`) and are
re-exported here, so command code needs one import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from treadmill_ctl.errors import CommandRefused, TreadmillCtlError
from treadmill_ctl.ftms.decode import parse_control_point_response
from treadmill_ctl.ftms.observations import (
    ControlOpCode,
    ControlPointResponse,
    ResultCode,
    StopPauseKind,
)
from treadmill_ctl.ftms.quirks import SpeedUnit

if TYPE_CHECKING:
    from treadmill_ctl.ftms.observations import InclineRange, SpeedRange

__all__ = [
    "CommandRejected",
    "ControlOpCode",
    "ControlPointResponse",
    "ResultCode",
    "StopPauseKind",
    "parse_control_point_response",
    "pause",
    "quantise_incline_pct",
    "quantise_speed_kmh",
    "request_control",
    "reset",
    "set_target_inclination",
    "set_target_speed",
    "start_resume",
    "stop",
]

_UINT16_MAX: Final = 0xFFFF
_SINT16_MIN: Final = -0x8000
_SINT16_MAX_VALUE: Final = 0x7FFE
"""0x7FFF means "not available" in FTMS inclination fields, so it is never a target."""
_TOLERANCE: Final = 1e-6


class CommandRejected(TreadmillCtlError):
    """The treadmill answered a control point command with a failure result code.

    ``result_code`` is the FTMS result (``ResultCode.OPERATION_FAILED``...), so a
    caller can tell "not permitted" from "invalid parameter" without numbers. It
    lives here, with the result codes, so that :mod:`treadmill_ctl.errors` needs
    nothing from the FTMS layer.
    """

    def __init__(self, message: str, *, result_code: ResultCode) -> None:
        super().__init__(message)
        self.result_code: ResultCode = result_code


"""Slack, in wire units (0.01 km/h, 0.1 %), for float noise at a range's edges."""


def request_control() -> bytes:
    """Request Control (0x00): needed before any other command is accepted."""
    return bytes([ControlOpCode.REQUEST_CONTROL])


def reset() -> bytes:
    """Reset (0x01): resets the machine's targets and gives up control."""
    return bytes([ControlOpCode.RESET])


def start_resume() -> bytes:
    """Start or Resume (0x07). Never send to a running belt: some machines pause on it."""
    return bytes([ControlOpCode.START_OR_RESUME])


def stop() -> bytes:
    """Stop (``08 01``): the emergency and end-of-session command."""
    return bytes([ControlOpCode.STOP_OR_PAUSE, StopPauseKind.STOP])


def pause() -> bytes:
    """Pause (``08 02``)."""
    return bytes([ControlOpCode.STOP_OR_PAUSE, StopPauseKind.PAUSE])


@dataclass(frozen=True, slots=True)
class _Display:
    """How to show wire units to a person: multiply by ``scale``, then write ``unit``."""

    scale: float
    unit: str


@dataclass(frozen=True, slots=True)
class _WireRange:
    """A supported range in integer wire units (hundredths of km/h or mph, tenths of %)."""

    low: int
    high: int
    increment: int


def _quantise(what: str, requested: float, wire_range: _WireRange, display: _Display) -> int:
    """Snap ``requested`` (wire units, not yet rounded) onto the range's grid.

    Raises:
        CommandRefused: If ``requested`` lies outside the range.
    """
    low, high, increment = wire_range.low, wire_range.high, max(1, wire_range.increment)
    if not low - _TOLERANCE <= requested <= high + _TOLERANCE:
        raise CommandRefused(
            f"{what} refused: outside the supported range "
            f"{low * display.scale:g}..{high * display.scale:g} {display.unit}"
        )
    steps = round((requested - low) / increment)
    value = low + steps * increment
    # A maximum that is not on the grid: the last grid point below it is the top.
    while value > high:
        value -= increment
    return max(value, low)


def _check_finite_non_negative(what: str, value: float, unit: str) -> None:
    if math.isnan(value):
        raise CommandRefused(f"{what} refused: not a number")
    if math.isinf(value):
        raise CommandRefused(f"{what} refused: infinite")
    if value < 0:
        raise CommandRefused(f"{what} refused: negative ({value} {unit})")


def _speed_wire_value(speed_kmh: float, speed_range: SpeedRange | None, unit: SpeedUnit) -> int:
    what = f"target speed {speed_kmh} km/h"
    _check_finite_non_negative(what, speed_kmh, "km/h")
    per_unit = unit.kmh_per_unit
    requested = speed_kmh / per_unit * 100
    if speed_range is None:
        wire_range = _WireRange(0, _UINT16_MAX, 1)
    else:
        wire_range = _WireRange(
            round(speed_range.min_kmh / per_unit * 100),
            round(speed_range.max_kmh / per_unit * 100),
            round(speed_range.increment_kmh / per_unit * 100),
        )
    wire_unit = "mph" if unit is SpeedUnit.MPH else "km/h"
    if requested > _UINT16_MAX + _TOLERANCE:
        raise CommandRefused(f"{what} refused: above the FTMS maximum of 655.35 {wire_unit}")
    return _quantise(what, requested, wire_range, _Display(per_unit / 100, "km/h"))


def quantise_speed_kmh(
    speed_kmh: float,
    *,
    speed_range: SpeedRange | None = None,
    unit: SpeedUnit = SpeedUnit.KMH,
) -> float:
    """The speed in km/h that :func:`set_target_speed` would really command.

    Raises:
        CommandRefused: Whenever :func:`set_target_speed` would.
    """
    return _speed_wire_value(speed_kmh, speed_range, unit) / 100 * unit.kmh_per_unit


def set_target_speed(
    speed_kmh: float,
    *,
    speed_range: SpeedRange | None = None,
    unit: SpeedUnit = SpeedUnit.KMH,
) -> bytes:
    """Set Target Speed (0x02, uint16 of 0.01 km/h; section 4.16.2.3).

    Args:
        speed_kmh: The target belt speed.
        speed_range: The treadmill's Supported Speed Range, in km/h (for an mph
            machine, after :meth:`ClientQuirks.speed_range_in_kmh`): targets outside it are
            refused, and accepted ones are quantised to its increment (counted from
            its minimum). Without it, the field's own 0.01 resolution is the grid.
        unit: The unit the machine really reads the field in
            (:attr:`ClientQuirks.speed_unit`); for mph the wire value is
            ``speed_kmh / 1.609344``, quantised in the machine's own unit.

    Returns:
        The command, e.g. ``02 64 00`` for 1.00 km/h.

    Raises:
        CommandRefused: If the speed is negative, NaN, infinite, outside
            ``speed_range``, or above 655.35 in the wire unit. No bytes are made.
    """
    wire_value = _speed_wire_value(speed_kmh, speed_range, unit)
    return bytes([ControlOpCode.SET_TARGET_SPEED]) + wire_value.to_bytes(2, "little")


def _incline_wire_value(incline_pct: float, incline_range: InclineRange | None) -> int:
    what = f"target inclination {incline_pct} %"
    if math.isnan(incline_pct):
        raise CommandRefused(f"{what} refused: not a number")
    if math.isinf(incline_pct):
        raise CommandRefused(f"{what} refused: infinite")
    requested = incline_pct * 10
    if not _SINT16_MIN - _TOLERANCE <= requested <= _SINT16_MAX_VALUE + _TOLERANCE:
        raise CommandRefused(f"{what} refused: outside the FTMS field (-3276.8..3276.6 %)")
    if incline_range is None:
        wire_range = _WireRange(_SINT16_MIN, _SINT16_MAX_VALUE, 1)
    else:
        wire_range = _WireRange(
            round(incline_range.min_pct * 10),
            round(incline_range.max_pct * 10),
            round(incline_range.increment_pct * 10),
        )
    return _quantise(what, requested, wire_range, _Display(0.1, "%"))


def quantise_incline_pct(incline_pct: float, *, incline_range: InclineRange | None = None) -> float:
    """The inclination in percent that :func:`set_target_inclination` would really command.

    Raises:
        CommandRefused: Whenever :func:`set_target_inclination` would.
    """
    return _incline_wire_value(incline_pct, incline_range) / 10


def set_target_inclination(
    incline_pct: float, *, incline_range: InclineRange | None = None
) -> bytes:
    """Set Target Inclination (0x03, sint16 of 0.1 %; section 4.16.2.4).

    Negative values are declines and are allowed when the range allows them.

    Args:
        incline_pct: The target grade.
        incline_range: The treadmill's Supported Inclination Range: targets outside
            it are refused, accepted ones quantised to its increment from its minimum.

    Returns:
        The command, e.g. ``03 14 00`` for 2.0 %.

    Raises:
        CommandRefused: If the grade is NaN, infinite, outside ``incline_range`` or
            outside the sint16 field. No bytes are made.
    """
    wire_value = _incline_wire_value(incline_pct, incline_range)
    return bytes([ControlOpCode.SET_TARGET_INCLINATION]) + wire_value.to_bytes(
        2, "little", signed=True
    )

"""The Fitness Machine Control Point (0x2AD9): responses and requests."""

from __future__ import annotations

from typing import Final

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.decode.reading import (
    ByteData,
    extra_bytes_note,
    plural,
    sint,
    uint,
)
from treadmill_ctl.ftms.decode.status import stop_pause_kind
from treadmill_ctl.ftms.observations import (
    ControlOpCode,
    ControlPointRequest,
    ControlPointResponse,
    ResultCode,
)

_CONTROL_POINT_RESPONSE: Final = 0x80


# --- Control Point (0x2AD9) ----------------------------------------------------------

_RESPONSE_SIZE: Final = 3


def parse_control_point_response(data: ByteData) -> ControlPointResponse:
    """Decode a control point response indication, ``80 <request op> <result>``.

    Args:
        data: The indication's (or, on a UREVO E1L, notification's) bytes.

    Returns:
        The response; bytes after the result code are kept as ``parameter``.

    Raises:
        DecodeError: If it is shorter than 3 bytes, does not start with 0x80, or
            names an op code or result code the specification does not define.
    """
    raw = bytes(data)
    if len(raw) < _RESPONSE_SIZE:
        raise DecodeError(f"control point response needs 3 bytes, got {len(raw)}")
    if raw[0] != _CONTROL_POINT_RESPONSE:
        raise DecodeError(f"control point response must start with 0x80, not {raw[0]:#04x}")
    try:
        request = ControlOpCode(raw[1])
    except ValueError:
        raise DecodeError(f"control point response to unknown op code {raw[1]:#04x}") from None
    try:
        result = ResultCode(raw[2])
    except ValueError:
        raise DecodeError(f"control point response with unknown result {raw[2]:#04x}") from None
    return ControlPointResponse(
        raw=raw, request_op_code=request, result=result, parameter=raw[_RESPONSE_SIZE:]
    )


_REQUEST_PARAMETER_SIZES: Final[dict[ControlOpCode, int]] = {
    ControlOpCode.SET_TARGET_SPEED: 2,
    ControlOpCode.SET_TARGET_INCLINATION: 2,
    ControlOpCode.STOP_OR_PAUSE: 1,
}


def _decode_control_point_request(raw: bytes) -> ControlPointRequest:
    try:
        op_code = ControlOpCode(raw[0])
    except ValueError:
        raise DecodeError(f"unknown control point op code {raw[0]:#04x}") from None
    parameter = raw[1:]
    size = _REQUEST_PARAMETER_SIZES.get(op_code)
    if size is None:
        return ControlPointRequest(raw=raw, op_code=op_code, parameter=parameter)
    if len(parameter) < size:
        raise DecodeError(
            f"{op_code.name} needs a {size}-byte parameter, got {plural(len(parameter), 'byte')}"
        )
    notes = extra_bytes_note(parameter, size, "parameter")
    if op_code is ControlOpCode.SET_TARGET_SPEED:
        return ControlPointRequest(
            raw=raw,
            op_code=op_code,
            target_speed_kmh=uint(parameter, 0, 2) / 100,
            parameter=parameter,
            notes=notes,
        )
    if op_code is ControlOpCode.SET_TARGET_INCLINATION:
        return ControlPointRequest(
            raw=raw,
            op_code=op_code,
            target_incline_pct=sint(parameter, 0, 2) / 10,
            parameter=parameter,
            notes=notes,
        )
    stop_notes: list[str] = list(notes)
    stop_pause = stop_pause_kind(parameter[0], stop_notes)
    return ControlPointRequest(
        raw=raw,
        op_code=op_code,
        stop_pause=stop_pause,
        parameter=parameter,
        notes=tuple(stop_notes),
    )


def decode_control_point(data: ByteData) -> ControlPointResponse | ControlPointRequest:
    """Decode a control point value in either direction.

    A value starting with 0x80 is a response (:func:`parse_control_point_response`);
    anything else is a command as written (useful for reading traces and for
    ``treadmill-ctl decode control-point 0801``).

    Args:
        data: The value's bytes.

    Returns:
        The response or the command.

    Raises:
        DecodeError: If it is empty, has an unknown op code, or a command lacks its
            parameter.
    """
    raw = bytes(data)
    if not raw:
        raise DecodeError("control point value is empty")
    if raw[0] == _CONTROL_POINT_RESPONSE:
        return parse_control_point_response(raw)
    return _decode_control_point_request(raw)

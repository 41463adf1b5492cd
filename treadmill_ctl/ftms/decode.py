"""Bytes from a treadmill into typed observations, tolerating what real treadmills send.

Entry points: :func:`decode_characteristic` for any characteristic we read, the
``decode_*`` function of each one, :class:`TreadmillDataAssembler` for records split
over several notifications, :func:`to_json_dict` and :func:`decode_hex_command` for
``treadmill-ctl decode CHAR HEX``.

The contract is the same for every decoder: it returns a value or raises
:class:`~treadmill_ctl.errors.DecodeError`, never another exception, whatever the
bytes. Bytes the value can still be read from are decoded, and what was odd about
them is said in the value's ``notes``; only a value with nothing usable in it (too
short for its fixed part, an unknown control point op code) is an error.

Why these decoders walk the bytes themselves instead of calling pyftms's models
(``pyftms.models.TreadmillData`` and friends, parsed with
``pyftms.serializer.get_serializer(model).deserialize(data)``): the models are
all-or-nothing and strict, and every quirk in ``FTMS_NOTES.md`` falls outside them.
In pyftms 0.4.15 a frame shorter than its flags promise raises ``EOFError`` instead of
yielding the fields that are there; a frame with extra bytes (``04 00 00``) fails an
``assert`` (which ``python -O`` removes, silently accepting it); an elevation gain of
0xFFFF raises ``TypeError``; elevation gain is converted with ``int()`` and loses its
0.1 m resolution; its status and training-status enums are ``STRICT`` and reject the
reserved values real machines send; and its scaling multiplies by 0.01, giving values
like 0.5700000000000001. So the layout below is written from the specification (FTMS
v1.0 section 4.4 and the 2017 characteristic XML), with the same field order and
sentinels as pyftms's model (and its reading of reserved bit 13 as a step count),
and the test suite checks these decoders against pyftms's models on every
frame pyftms does accept, so the two stay in agreement where both apply.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from enum import Enum, IntFlag
from typing import TYPE_CHECKING, Any, Final

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.observations import (
    ControlOpCode,
    ControlPointRequest,
    ControlPointResponse,
    InclineRange,
    MachineFeature,
    MachineFeatures,
    MachineStatus,
    MachineStatusCode,
    Observation,
    ResultCode,
    SpeedRange,
    StopPauseKind,
    TargetSettingFeature,
    TrainingStatus,
    TrainingStatusCode,
    TreadmillData,
    TreadmillDataFlag,
)
from treadmill_ctl.ftms.uuids import CharacteristicName, lookup_characteristic

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.ftms.quirks import ClientQuirks

__all__ = [
    "MAX_PARTS",
    "ByteData",
    "TreadmillDataAssembler",
    "decode_characteristic",
    "decode_control_point",
    "decode_features",
    "decode_hex_command",
    "decode_incline_range",
    "decode_machine_status",
    "decode_speed_range",
    "decode_training_status",
    "decode_treadmill_data",
    "parse_control_point_response",
    "parse_hex",
    "to_json_dict",
]

type ByteData = bytes | bytearray | memoryview
"""What bleak hands a notification callback (``bytearray``) or a test passes."""

_UINT16_NOT_AVAILABLE: Final = 0xFFFF
_SINT16_NOT_AVAILABLE: Final = 0x7FFF
_CONTROL_POINT_RESPONSE: Final = 0x80


def _uint(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset : offset + size], "little", signed=False)


def _sint(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset : offset + size], "little", signed=True)


def _all_ones(size: int, *, signed: bool) -> int:
    """The "not available" value of a field: its largest value (0xFFFF, 0x7FFF, 0xFF)."""
    return (1 << (8 * size - signed)) - 1


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- Treadmill Data (0x2ACD) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    """One number in a Treadmill Data frame.

    Attributes:
        name: The :class:`TreadmillData` attribute it fills.
        size: Bytes on the wire.
        signed: Two's complement when true.
        divisor: Wire units per unit of the attribute (100 for 0.01 km/h); 1 keeps an int.
        spec_sentinel: The specification defines all-ones as "not available" for this
            field; for the others all-ones is still read as not available (real
            machines send it), but noted.
    """

    name: str
    size: int
    signed: bool = False
    divisor: int = 1
    spec_sentinel: bool = False


_TREADMILL_FIELDS: Final[tuple[tuple[TreadmillDataFlag, tuple[_Field, ...]], ...]] = (
    # Flag bit 0 is inverted: the speed is present when MORE_DATA is clear.
    (TreadmillDataFlag.MORE_DATA, (_Field("speed_kmh", 2, divisor=100),)),
    (
        TreadmillDataFlag.AVERAGE_SPEED,
        (_Field("average_speed_kmh", 2, divisor=100),),
    ),
    (TreadmillDataFlag.TOTAL_DISTANCE, (_Field("distance_m", 3),)),
    (
        TreadmillDataFlag.INCLINATION_AND_RAMP_ANGLE,
        (
            _Field("incline_pct", 2, signed=True, divisor=10, spec_sentinel=True),
            _Field("ramp_angle_deg", 2, signed=True, divisor=10, spec_sentinel=True),
        ),
    ),
    (
        TreadmillDataFlag.ELEVATION_GAIN,
        (
            _Field("positive_elevation_gain_m", 2, divisor=10),
            _Field("negative_elevation_gain_m", 2, divisor=10),
        ),
    ),
    (
        TreadmillDataFlag.INSTANTANEOUS_PACE,
        (_Field("instantaneous_pace_km_per_min", 1, divisor=10),),
    ),
    (TreadmillDataFlag.AVERAGE_PACE, (_Field("average_pace_km_per_min", 1, divisor=10),)),
    (
        TreadmillDataFlag.EXPENDED_ENERGY,
        (
            _Field("total_energy_kcal", 2, spec_sentinel=True),
            _Field("energy_per_hour_kcal", 2, spec_sentinel=True),
            _Field("energy_per_minute_kcal", 1, spec_sentinel=True),
        ),
    ),
    (TreadmillDataFlag.HEART_RATE, (_Field("heart_rate_bpm", 1),)),
    (TreadmillDataFlag.METABOLIC_EQUIVALENT, (_Field("metabolic_equivalent", 1, divisor=10),)),
    (TreadmillDataFlag.ELAPSED_TIME, (_Field("elapsed_s", 2),)),
    (TreadmillDataFlag.REMAINING_TIME, (_Field("remaining_s", 2),)),
    (
        TreadmillDataFlag.FORCE_ON_BELT_AND_POWER_OUTPUT,
        (
            _Field("force_on_belt_n", 2, signed=True, spec_sentinel=True),
            _Field("power_output_w", 2, signed=True, spec_sentinel=True),
        ),
    ),
    # Reserved in FTMS v1.0; UREVO, Yesoul and KingSmith walking pads send a uint24
    # step count here (pyftms reads it the same way).
    (TreadmillDataFlag.STEP_COUNT_QUIRK, (_Field("step_count", 3),)),
)
_RESERVED_TREADMILL_FLAGS: Final = 0xC000

_MEASUREMENT_NAMES: Final[tuple[str, ...]] = tuple(
    field.name for _, fields in _TREADMILL_FIELDS for field in fields
)


def _announced_fields(flags: int) -> list[_Field]:
    """The fields the flags announce, in wire order."""
    announced: list[_Field] = []
    for flag, fields in _TREADMILL_FIELDS:
        present = not flags & flag if flag is TreadmillDataFlag.MORE_DATA else bool(flags & flag)
        if present:
            announced.extend(fields)
    return announced


def _read_field(data: bytes, offset: int, field: _Field, notes: list[str]) -> int | float | None:
    value = (_sint if field.signed else _uint)(data, offset, field.size)
    if value == _all_ones(field.size, signed=field.signed):
        if not field.spec_sentinel:
            notes.append(f"{field.name}: {data[offset : offset + field.size].hex()} read as n/a")
        return None
    return value if field.divisor == 1 else value / field.divisor


def decode_treadmill_data(data: ByteData) -> TreadmillData:
    """Decode one Treadmill Data notification (FTMS section 4.4).

    Tolerated, and said in ``notes``: flags that announce more fields than the frame
    holds (the fields that fit are decoded, the rest listed in ``missing_fields``; a
    Matrix console does this), bytes after the last announced field, reserved flag
    bits 14-15, and all-ones ("not available") in fields whose specification defines
    no such value. Reserved bit 13 is read as a uint24 step count (walking pads).
    The flags are read unsigned, so a low byte of 0x80 or more is not corrupted.
    Speeds are read as the specification defines them; for a machine that sends
    mph, convert with :meth:`ClientQuirks.treadmill_data_in_kmh`.

    Args:
        data: The notification's bytes.

    Returns:
        The record, or one part of it when ``more_data`` is set.

    Raises:
        DecodeError: If there are fewer than the two bytes of the flags field.
    """
    raw = bytes(data)
    if len(raw) < 2:  # noqa: PLR2004 - the flags field
        raise DecodeError(
            f"treadmill data needs the 2-byte flags field, got {_plural(len(raw), 'byte')}"
        )
    flags = _uint(raw, 0, 2)
    notes: list[str] = []
    if flags & _RESERVED_TREADMILL_FLAGS:
        notes.append(f"reserved flag bits {flags & _RESERVED_TREADMILL_FLAGS:#06x} ignored")
    values: dict[str, Any] = {}
    missing: list[str] = []
    offset = 2
    announced = _announced_fields(flags)
    for index, field in enumerate(announced):
        if offset + field.size > len(raw):
            missing = [later.name for later in announced[index:]]
            short_by = sum(later.size for later in announced[index:]) - (len(raw) - offset)
            notes.append(
                f"flags claim fields beyond the frame ({_plural(short_by, 'byte')} short): "
                + ", ".join(missing)
            )
            offset = len(raw)
            break
        values[field.name] = _read_field(raw, offset, field, notes)
        offset += field.size
    if offset < len(raw):
        notes.append(f"{_plural(len(raw) - offset, 'byte')} after the last announced field ignored")
    return TreadmillData(
        raw=raw,
        flags=flags,
        more_data=bool(flags & TreadmillDataFlag.MORE_DATA),
        missing_fields=tuple(missing),
        notes=tuple(notes),
        **values,
    )


MAX_PARTS: Final = 8
"""Parts of one split record kept at most (FTMS needs two or three for a full record)."""


class TreadmillDataAssembler:
    """Merges the parts of a split Treadmill Data record into one (FTMS section 4.19).

    A record too large for one notification arrives as parts with More Data set,
    then a last part with More Data clear that carries the instantaneous speed. Feed
    every notification in order; a complete record comes out when the last part
    arrives. A field sent in two parts takes the later value. Call :meth:`reset`
    when the link drops, so a stale part never joins a new record. A machine that
    never sends a last part cannot make the assembler grow: after
    :data:`MAX_PARTS` parts the oldest are dropped.

    Meant to be the Treadmill Data notification callback's one call:
    ``record = assembler.feed(value)``.
    """

    __slots__ = ("_part_count", "_pending")

    def __init__(self) -> None:
        self._pending: TreadmillData | None = None
        self._part_count = 0

    @property
    def has_pending_parts(self) -> bool:
        """True while parts of a record wait for their last part."""
        return self._pending is not None

    def reset(self) -> None:
        """Drop any waiting parts."""
        self._pending = None
        self._part_count = 0

    def feed(self, data: ByteData) -> TreadmillData | None:
        """Decode one notification and take it (see :meth:`feed_record`).

        Args:
            data: The notification's bytes.

        Returns:
            The complete record, or None while more parts are expected.

        Raises:
            DecodeError: If the notification cannot be decoded; waiting parts stay.
        """
        return self.feed_record(decode_treadmill_data(data))

    def feed_record(self, part: TreadmillData) -> TreadmillData | None:
        """Take one decoded notification.

        Args:
            part: A whole record, or one part of a split one.

        Returns:
            The complete record when ``part`` completes one (``part`` itself when it
            was not split), or None while more parts are expected.
        """
        if self._part_count >= MAX_PARTS:
            self.reset()
        self._pending = part if self._pending is None else _merge(self._pending, part)
        self._part_count += 1
        if part.more_data:
            return None
        record, part_count = self._pending, self._part_count
        self.reset()
        if part_count == 1:
            return record
        return dataclasses.replace(record, notes=(*record.notes, f"merged from {part_count} parts"))


def _merge(earlier: TreadmillData, later: TreadmillData) -> TreadmillData:
    values: dict[str, Any] = {}
    for name in _MEASUREMENT_NAMES:
        value = getattr(later, name)
        values[name] = getattr(earlier, name) if value is None else value
    more_data = int(TreadmillDataFlag.MORE_DATA)
    return dataclasses.replace(
        later,
        raw=earlier.raw + later.raw,
        flags=((earlier.flags | later.flags) & ~more_data) | (later.flags & more_data),
        missing_fields=(*earlier.missing_fields, *later.missing_fields),
        notes=(*earlier.notes, *later.notes),
        **values,
    )


# --- Fitness Machine Status (0x2ADA) -------------------------------------------------

_STATUS_PARAMETER_SIZES: Final[dict[MachineStatusCode, int]] = {
    MachineStatusCode.RESET: 0,
    MachineStatusCode.STOPPED_OR_PAUSED_BY_USER: 1,
    MachineStatusCode.STOPPED_BY_SAFETY_KEY: 0,
    MachineStatusCode.STARTED_OR_RESUMED_BY_USER: 0,
    MachineStatusCode.TARGET_SPEED_CHANGED: 2,
    MachineStatusCode.TARGET_INCLINE_CHANGED: 2,
    MachineStatusCode.TARGET_RESISTANCE_LEVEL_CHANGED: 1,
    MachineStatusCode.TARGET_POWER_CHANGED: 2,
    MachineStatusCode.TARGET_HEART_RATE_CHANGED: 1,
    MachineStatusCode.TARGETED_EXPENDED_ENERGY_CHANGED: 2,
    MachineStatusCode.TARGETED_NUMBER_OF_STEPS_CHANGED: 2,
    MachineStatusCode.TARGETED_NUMBER_OF_STRIDES_CHANGED: 2,
    MachineStatusCode.TARGETED_DISTANCE_CHANGED: 3,
    MachineStatusCode.TARGETED_TRAINING_TIME_CHANGED: 2,
    MachineStatusCode.TARGETED_TIME_IN_TWO_HEART_RATE_ZONES_CHANGED: 4,
    MachineStatusCode.TARGETED_TIME_IN_THREE_HEART_RATE_ZONES_CHANGED: 6,
    MachineStatusCode.TARGETED_TIME_IN_FIVE_HEART_RATE_ZONES_CHANGED: 10,
    MachineStatusCode.INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED: 6,
    MachineStatusCode.WHEEL_CIRCUMFERENCE_CHANGED: 2,
    MachineStatusCode.SPIN_DOWN_STATUS: 1,
    MachineStatusCode.TARGETED_CADENCE_CHANGED: 2,
    MachineStatusCode.CONTROL_PERMISSION_LOST: 0,
}
"""Parameter bytes after each status op code (section 4.17, table 4.26)."""


def _stop_pause_kind(value: int, notes: list[str]) -> StopPauseKind | None:
    try:
        return StopPauseKind(value)
    except ValueError:
        notes.append(f"stop/pause parameter {value:#04x} is neither stop nor pause")
        return None


def decode_machine_status(data: ByteData) -> MachineStatus:
    """Decode one Fitness Machine Status notification (FTMS section 4.17).

    Tolerated, and said in ``notes``: extra bytes after the parameter (``04 00 00``
    from real treadmills), a missing or short parameter (the status still counts:
    a ``02`` without its parameter is still a stop or pause), reserved status codes
    (``code`` None, every byte after the code kept in ``parameter``), and 0xFFFF /
    0x7FFF as a not-available target.

    Args:
        data: The notification's bytes.

    Returns:
        The status.

    Raises:
        DecodeError: If the notification is empty.
    """
    raw = bytes(data)
    if not raw:
        raise DecodeError("machine status is empty; it needs at least its op code")
    code_value, rest = raw[0], raw[1:]
    notes: list[str] = []
    try:
        code = MachineStatusCode(code_value)
    except ValueError:
        notes.append(f"reserved status code {code_value:#04x}")
        return MachineStatus(
            raw=raw, code=None, code_value=code_value, parameter=rest, notes=tuple(notes)
        )
    size = _STATUS_PARAMETER_SIZES[code]
    parameter = rest[:size]
    if len(rest) > size:
        notes.append(f"{_plural(len(rest) - size, 'extra byte')} after the status ignored")
    if len(parameter) < size:
        notes.append(
            f"parameter of {code.name} is {_plural(len(parameter), 'byte')}, expected {size}"
        )
        return MachineStatus(
            raw=raw, code=code, code_value=code_value, parameter=parameter, notes=tuple(notes)
        )
    stop_pause: StopPauseKind | None = None
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None
    if code is MachineStatusCode.STOPPED_OR_PAUSED_BY_USER:
        stop_pause = _stop_pause_kind(parameter[0], notes)
    elif code is MachineStatusCode.TARGET_SPEED_CHANGED:
        speed = _uint(parameter, 0, 2)
        if speed == _UINT16_NOT_AVAILABLE:
            notes.append("target speed ffff read as n/a")
        else:
            target_speed_kmh = speed / 100
    elif code is MachineStatusCode.TARGET_INCLINE_CHANGED:
        incline = _sint(parameter, 0, 2)
        if incline == _SINT16_NOT_AVAILABLE:
            notes.append("target incline ff7f read as n/a")
        else:
            target_incline_pct = incline / 10
    return MachineStatus(
        raw=raw,
        code=code,
        code_value=code_value,
        stop_pause=stop_pause,
        target_speed_kmh=target_speed_kmh,
        target_incline_pct=target_incline_pct,
        parameter=parameter,
        notes=tuple(notes),
    )


# --- Training Status (0x2AD3) --------------------------------------------------------

_TRAINING_STRING_PRESENT: Final = 0x01
_TRAINING_EXTENDED_STRING: Final = 0x02


def decode_training_status(data: ByteData) -> TrainingStatus:
    """Decode a Training Status value (FTMS section 4.10).

    Tolerated, and said in ``notes``: reserved status values (``code`` None), an
    empty status string (``""``), a string that is not UTF-8 (replacement
    characters), trailing NUL padding (stripped), the extended-string flag, reserved
    flag bits, and bytes after the status when the flags announce no string.

    Args:
        data: The value's bytes.

    Returns:
        The training status.

    Raises:
        DecodeError: If the flags or the status byte is missing.
    """
    raw = bytes(data)
    if len(raw) < 2:  # noqa: PLR2004 - flags and status
        raise DecodeError(
            f"training status needs a flags byte and a status byte, got {_plural(len(raw), 'byte')}"
        )
    flags, code_value, rest = raw[0], raw[1], raw[2:]
    notes: list[str] = []
    if flags & ~(_TRAINING_STRING_PRESENT | _TRAINING_EXTENDED_STRING):
        notes.append(f"reserved flag bits {flags & 0xFC:#04x} ignored")
    if flags & _TRAINING_EXTENDED_STRING:
        notes.append("extended string flag set: the string continues in a later read")
    try:
        code: TrainingStatusCode | None = TrainingStatusCode(code_value)
    except ValueError:
        code = None
        notes.append(f"reserved training status {code_value:#04x}")
    status_string: str | None = None
    if flags & _TRAINING_STRING_PRESENT:
        text = rest.rstrip(b"\x00")
        try:
            status_string = text.decode("utf-8")
        except UnicodeDecodeError:
            status_string = text.decode("utf-8", errors="replace")
            notes.append("status string is not valid UTF-8")
    elif rest:
        notes.append(f"{_plural(len(rest), 'byte')} after the status ignored (no string flag)")
    return TrainingStatus(
        raw=raw,
        code=code,
        code_value=code_value,
        status_string=status_string,
        notes=tuple(notes),
    )


# --- Feature, ranges (0x2ACC, 0x2AD4, 0x2AD5) ---------------------------------------

_FEATURE_SIZE: Final = 8
_RANGE_SIZE: Final = 6


def _extra_bytes_note(raw: bytes, size: int, what: str) -> tuple[str, ...]:
    if len(raw) > size:
        return (f"{_plural(len(raw) - size, 'byte')} after the {what} ignored",)
    return ()


def _require(raw: bytes, size: int, what: str) -> None:
    if len(raw) < size:
        raise DecodeError(f"{what} needs {size} bytes, got {len(raw)}")


def decode_features(data: ByteData) -> MachineFeatures:
    """Decode the Fitness Machine Feature value (FTMS section 4.3).

    Bits the specification reserves are kept in the flags (and noted), so nothing a
    machine claims is lost.

    Args:
        data: Two little-endian uint32: machine features, target setting features.

    Returns:
        The features.

    Raises:
        DecodeError: If there are fewer than 8 bytes.
    """
    raw = bytes(data)
    _require(raw, _FEATURE_SIZE, "fitness machine feature")
    machine_bits, target_bits = _uint(raw, 0, 4), _uint(raw, 4, 4)
    notes = list(_extra_bytes_note(raw, _FEATURE_SIZE, "two feature fields"))
    for what, bits, flag_type in (
        ("machine feature", machine_bits, MachineFeature),
        ("target setting", target_bits, TargetSettingFeature),
    ):
        reserved = bits & ~_known_bits(flag_type)
        if reserved:
            notes.append(f"reserved {what} bits {reserved:#010x} set")
    return MachineFeatures(
        raw=raw,
        machine_features=MachineFeature(machine_bits),
        target_settings=TargetSettingFeature(target_bits),
        notes=tuple(notes),
    )


def _known_bits(flag_type: type[IntFlag]) -> int:
    """The bits an IntFlag type names (the rest are reserved)."""
    return sum(int(member) for member in flag_type)


def _range_notes(low: int, high: int, increment: int) -> list[str]:
    notes: list[str] = []
    if low > high:
        notes.append("minimum is above maximum: no target fits this range")
    if increment == 0:
        notes.append("increment is zero: targets use the field's own resolution")
    return notes


def decode_speed_range(data: ByteData) -> SpeedRange:
    """Decode the Supported Speed Range (FTMS section 4.11): three uint16 of 0.01 km/h.

    A FitShow FS-BT-T4 reports this range in mph: convert with
    :meth:`ClientQuirks.speed_range_in_kmh`.

    Args:
        data: The value's bytes.

    Returns:
        The range in km/h.

    Raises:
        DecodeError: If there are fewer than 6 bytes.
    """
    raw = bytes(data)
    _require(raw, _RANGE_SIZE, "supported speed range")
    low, high, increment = _uint(raw, 0, 2), _uint(raw, 2, 2), _uint(raw, 4, 2)
    notes = [*_range_notes(low, high, increment), *_extra_bytes_note(raw, _RANGE_SIZE, "range")]
    return SpeedRange(
        raw=raw,
        min_kmh=low / 100,
        max_kmh=high / 100,
        increment_kmh=increment / 100,
        notes=tuple(notes),
    )


def decode_incline_range(data: ByteData) -> InclineRange:
    """Decode the Supported Inclination Range (FTMS section 4.12).

    Args:
        data: sint16 minimum, sint16 maximum, uint16 increment, all 0.1 %.

    Returns:
        The range in percent grade.

    Raises:
        DecodeError: If there are fewer than 6 bytes.
    """
    raw = bytes(data)
    _require(raw, _RANGE_SIZE, "supported inclination range")
    low, high, increment = _sint(raw, 0, 2), _sint(raw, 2, 2), _uint(raw, 4, 2)
    notes = [*_range_notes(low, high, increment), *_extra_bytes_note(raw, _RANGE_SIZE, "range")]
    return InclineRange(
        raw=raw,
        min_pct=low / 10,
        max_pct=high / 10,
        increment_pct=increment / 10,
        notes=tuple(notes),
    )


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
            f"{op_code.name} needs a {size}-byte parameter, got {_plural(len(parameter), 'byte')}"
        )
    notes = _extra_bytes_note(parameter, size, "parameter")
    if op_code is ControlOpCode.SET_TARGET_SPEED:
        return ControlPointRequest(
            raw=raw,
            op_code=op_code,
            target_speed_kmh=_uint(parameter, 0, 2) / 100,
            parameter=parameter,
            notes=notes,
        )
    if op_code is ControlOpCode.SET_TARGET_INCLINATION:
        return ControlPointRequest(
            raw=raw,
            op_code=op_code,
            target_incline_pct=_sint(parameter, 0, 2) / 10,
            parameter=parameter,
            notes=notes,
        )
    stop_notes: list[str] = list(notes)
    stop_pause = _stop_pause_kind(parameter[0], stop_notes)
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


# --- One entry point -----------------------------------------------------------------


_DECODERS: Final[dict[CharacteristicName, Callable[[ByteData], Observation]]] = {
    CharacteristicName.TREADMILL_DATA: decode_treadmill_data,
    CharacteristicName.MACHINE_STATUS: decode_machine_status,
    CharacteristicName.TRAINING_STATUS: decode_training_status,
    CharacteristicName.CONTROL_POINT: decode_control_point,
    CharacteristicName.FEATURES: decode_features,
    CharacteristicName.SPEED_RANGE: decode_speed_range,
    CharacteristicName.INCLINE_RANGE: decode_incline_range,
}


def decode_characteristic(
    char: CharacteristicName, data: ByteData, *, quirks: ClientQuirks | None = None
) -> Observation:
    """Decode one value of the named characteristic.

    Args:
        char: Which characteristic the bytes came from.
        data: The bytes.
        quirks: The device's deviations, applied to the decoded value
            (:meth:`ClientQuirks.apply`); None reads the wire as specified.

    Returns:
        The typed value (see :data:`~treadmill_ctl.ftms.observations.Observation`).

    Raises:
        DecodeError: If the bytes cannot be decoded; never another exception.
    """
    value = _DECODERS[char](data)
    return value if quirks is None else quirks.apply(value)


def _json_value(value: object) -> object:
    if isinstance(value, IntFlag):
        names = [member.name for member in type(value) if member in value and member.name]
        unknown = int(value) & ~_known_bits(type(value))
        if unknown:
            names.append(f"{unknown:#x}")
        return names
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def to_json_dict(value: Observation) -> dict[str, object]:
    """Turn a decoded value into a JSON-ready dict for people and scripts.

    Keys are the value's field names (so they carry their units, ``speed_kmh``), plus
    ``kind`` (the value's type name). Enums become their names, flags lists of names
    (unknown bits as one hex number), bytes lower-case hex, missing values null.
    """
    result: dict[str, object] = {"kind": type(value).__name__}
    for field in dataclasses.fields(value):
        result[field.name] = _json_value(getattr(value, field.name))
    return result


_HEX_SEPARATORS: Final = re.compile(r"[\s:]+")


def parse_hex(hex_text: str) -> bytes:
    """Read bytes written as hex, with optional spaces or colons between them.

    Args:
        hex_text: e.g. ``"02 64 00"``, ``"02:64:00"``, ``"026400"`` or ``"0x026400"``.

    Returns:
        The bytes.

    Raises:
        DecodeError: If the text is not an even number of hex digits.
    """
    text = _HEX_SEPARATORS.sub("", hex_text)
    text = text.removeprefix("0x").removeprefix("0X")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise DecodeError(
            f"not hex bytes: {hex_text!r} (write them like 02 64 00 or 02:64:00)"
        ) from None


def decode_hex_command(char: str, hex_text: str) -> tuple[int, str]:
    """Do ``treadmill-ctl decode CHAR HEX``: decode one value given as hex.

    Args:
        char: A characteristic name (``treadmill-data``) or 16-bit UUID (``2ACD``).
        hex_text: The value's bytes in hex.

    Returns:
        The exit status and the one line to print: 0 and a JSON object (with
        ``characteristic`` added to :func:`to_json_dict`'s keys) on success; 2 and
        ``error: ...`` for an unknown characteristic, bad hex or a malformed value.
    """
    try:
        name = lookup_characteristic(char)
        value = decode_characteristic(name, parse_hex(hex_text))
    except DecodeError as error:
        return 2, "error: " + " ".join(str(error).split())
    return 0, json.dumps({"characteristic": name.value, **to_json_dict(value)})

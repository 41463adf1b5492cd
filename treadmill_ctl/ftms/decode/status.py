"""Fitness Machine Status (0x2ADA) and Training Status (0x2AD3)."""

from __future__ import annotations

from typing import Final

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.decode.reading import (
    ByteData,
    plural,
    sint,
    uint,
)
from treadmill_ctl.ftms.observations import (
    MachineStatus,
    MachineStatusCode,
    StopPauseKind,
    TrainingStatus,
    TrainingStatusCode,
)

_UINT16_NOT_AVAILABLE: Final = 0xFFFF
_SINT16_NOT_AVAILABLE: Final = 0x7FFF


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


def stop_pause_kind(value: int, notes: list[str]) -> StopPauseKind | None:
    """The stop-or-pause parameter as a :class:`StopPauseKind`; another value is noted, ``None``."""
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
        notes.append(f"{plural(len(rest) - size, 'extra byte')} after the status ignored")
    if len(parameter) < size:
        notes.append(
            f"parameter of {code.name} is {plural(len(parameter), 'byte')}, expected {size}"
        )
        return MachineStatus(
            raw=raw, code=code, code_value=code_value, parameter=parameter, notes=tuple(notes)
        )
    stop_pause: StopPauseKind | None = None
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None
    if code is MachineStatusCode.STOPPED_OR_PAUSED_BY_USER:
        stop_pause = stop_pause_kind(parameter[0], notes)
    elif code is MachineStatusCode.TARGET_SPEED_CHANGED:
        speed = uint(parameter, 0, 2)
        if speed == _UINT16_NOT_AVAILABLE:
            notes.append("target speed ffff read as n/a")
        else:
            target_speed_kmh = speed / 100
    elif code is MachineStatusCode.TARGET_INCLINE_CHANGED:
        incline = sint(parameter, 0, 2)
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
            f"training status needs a flags byte and a status byte, got {plural(len(raw), 'byte')}"
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
        notes.append(f"{plural(len(rest), 'byte')} after the status ignored (no string flag)")
    return TrainingStatus(
        raw=raw,
        code=code,
        code_value=code_value,
        status_string=status_string,
        notes=tuple(notes),
    )

"""Fitness Machine Feature (0x2ACC) and the supported ranges (0x2AD4, 0x2AD5)."""

from __future__ import annotations

from typing import Final

from treadmill_ctl.ftms.decode.reading import (
    ByteData,
    extra_bytes_note,
    known_bits,
    require,
    sint,
    uint,
)
from treadmill_ctl.ftms.observations import (
    InclineRange,
    MachineFeature,
    MachineFeatures,
    SpeedRange,
    TargetSettingFeature,
)

# --- Feature, ranges (0x2ACC, 0x2AD4, 0x2AD5) ---------------------------------------

_FEATURE_SIZE: Final = 8
_RANGE_SIZE: Final = 6


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
    require(raw, _FEATURE_SIZE, "fitness machine feature")
    machine_bits, target_bits = uint(raw, 0, 4), uint(raw, 4, 4)
    notes = list(extra_bytes_note(raw, _FEATURE_SIZE, "two feature fields"))
    for what, bits, flag_type in (
        ("machine feature", machine_bits, MachineFeature),
        ("target setting", target_bits, TargetSettingFeature),
    ):
        reserved = bits & ~known_bits(flag_type)
        if reserved:
            notes.append(f"reserved {what} bits {reserved:#010x} set")
    return MachineFeatures(
        raw=raw,
        machine_features=MachineFeature(machine_bits),
        target_settings=TargetSettingFeature(target_bits),
        notes=tuple(notes),
    )


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
    require(raw, _RANGE_SIZE, "supported speed range")
    low, high, increment = uint(raw, 0, 2), uint(raw, 2, 2), uint(raw, 4, 2)
    notes = [*_range_notes(low, high, increment), *extra_bytes_note(raw, _RANGE_SIZE, "range")]
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
    require(raw, _RANGE_SIZE, "supported inclination range")
    low, high, increment = sint(raw, 0, 2), sint(raw, 2, 2), uint(raw, 4, 2)
    notes = [*_range_notes(low, high, increment), *extra_bytes_note(raw, _RANGE_SIZE, "range")]
    return InclineRange(
        raw=raw,
        min_pct=low / 10,
        max_pct=high / 10,
        increment_pct=increment / 10,
        notes=tuple(notes),
    )

"""Treadmill Data (0x2ACD): one frame, and records split over several notifications."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, Final

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.decode.reading import (
    ByteData,
    all_ones,
    plural,
    sint,
    uint,
)
from treadmill_ctl.ftms.observations import (
    TreadmillData,
    TreadmillDataFlag,
)

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


_FIELD_BITS: Final[tuple[tuple[int, bool, tuple[_Field, ...]], ...]] = tuple(
    (int(flag), flag is TreadmillDataFlag.MORE_DATA, fields) for flag, fields in _TREADMILL_FIELDS
)
"""Each flag as a plain int (an ``int & IntFlag`` runs enum code), and whether it is the
inverted More Data bit, with its fields."""


@functools.lru_cache(maxsize=64)
def _announced_fields(flags: int) -> tuple[_Field, ...]:
    """The fields the flags announce, in wire order.

    Remembered for the last flags seen: a machine sends the same few flags in every
    frame, once a second or more, for the whole session.
    """
    announced: list[_Field] = []
    for bit, inverted, fields in _FIELD_BITS:
        if bool(flags & bit) is not inverted:
            announced.extend(fields)
    return tuple(announced)


def _read_field(data: bytes, offset: int, field: _Field, notes: list[str]) -> int | float | None:
    value = (sint if field.signed else uint)(data, offset, field.size)
    if value == all_ones(field.size, signed=field.signed):
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
            f"treadmill data needs the 2-byte flags field, got {plural(len(raw), 'byte')}"
        )
    flags = uint(raw, 0, 2)
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
                f"flags claim fields beyond the frame ({plural(short_by, 'byte')} short): "
                + ", ".join(missing)
            )
            offset = len(raw)
            break
        values[field.name] = _read_field(raw, offset, field, notes)
        offset += field.size
    if offset < len(raw):
        notes.append(f"{plural(len(raw) - offset, 'byte')} after the last announced field ignored")
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

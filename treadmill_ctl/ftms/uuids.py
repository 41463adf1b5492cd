"""The GATT UUIDs of the Fitness Machine Service, as bleak spells them.

Bluetooth SIG 16-bit UUIDs live inside the base UUID
``0000xxxx-0000-1000-8000-00805f9b34fb``; bleak reports and accepts them in that
full, lower-case form, so every constant here is already in it (``uuids.TREADMILL_DATA``
is the Treadmill Data characteristic's UUID). The
:class:`CharacteristicName` enum is the vocabulary the rest of the program (and the
``treadmill-ctl decode CHAR HEX`` command) uses for the FTMS characteristics a
treadmill client cares about.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from treadmill_ctl.errors import DecodeError

__all__ = [
    "CONTROL_POINT",
    "DEVICE_INFORMATION",
    "FEATURES",
    "FIRMWARE_REVISION",
    "FTMS_SERVICE",
    "HARDWARE_REVISION",
    "INCLINE_RANGE",
    "MACHINE_STATUS",
    "MANUFACTURER_NAME",
    "MODEL_NUMBER",
    "SERIAL_NUMBER",
    "SOFTWARE_REVISION",
    "SPEED_RANGE",
    "TRAINING_STATUS",
    "TREADMILL_DATA",
    "CharacteristicName",
    "lookup_characteristic",
    "uuid16_from_uuid",
    "uuid_from_uuid16",
]

_UINT16_MAX: Final = 0xFFFF
_BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
_FULL_UUID = re.compile(r"0000([0-9a-f]{4})" + re.escape(_BASE_UUID_SUFFIX))
_SHORT_UUID = re.compile(r"(?:0x)?([0-9a-f]{4})")


def uuid_from_uuid16(uuid16: int) -> str:
    """Expand a Bluetooth SIG 16-bit UUID into the full string bleak uses.

    Args:
        uuid16: The assigned number, e.g. ``0x2ACD``.

    Returns:
        The 128-bit UUID in lower case, e.g. ``"00002acd-0000-1000-8000-00805f9b34fb"``.

    Raises:
        ValueError: If ``uuid16`` does not fit in 16 bits.
    """
    if not 0 <= uuid16 <= _UINT16_MAX:
        raise ValueError(f"not a 16-bit UUID: {uuid16:#x}")
    return f"0000{uuid16:04x}{_BASE_UUID_SUFFIX}"


def uuid16_from_uuid(uuid: str) -> int | None:
    """Return the 16-bit assigned number inside a full SIG UUID, or None for a vendor UUID."""
    match = _FULL_UUID.fullmatch(uuid.strip().lower())
    return None if match is None else int(match.group(1), 16)


FTMS_SERVICE: Final = uuid_from_uuid16(0x1826)
"""Fitness Machine Service (FTMS v1.0 section 4)."""
FEATURES: Final = uuid_from_uuid16(0x2ACC)
"""Fitness Machine Feature, read (section 4.3)."""
TREADMILL_DATA: Final = uuid_from_uuid16(0x2ACD)
"""Treadmill Data, notify (section 4.4)."""
TRAINING_STATUS: Final = uuid_from_uuid16(0x2AD3)
"""Training Status, read and notify (section 4.10)."""
SPEED_RANGE: Final = uuid_from_uuid16(0x2AD4)
"""Supported Speed Range, read (section 4.11)."""
INCLINE_RANGE: Final = uuid_from_uuid16(0x2AD5)
"""Supported Inclination Range, read (section 4.12)."""
CONTROL_POINT: Final = uuid_from_uuid16(0x2AD9)
"""Fitness Machine Control Point, write and indicate (section 4.16)."""
MACHINE_STATUS: Final = uuid_from_uuid16(0x2ADA)
"""Fitness Machine Status, notify (section 4.17)."""

DEVICE_INFORMATION: Final = uuid_from_uuid16(0x180A)
"""Device Information Service, read at connect to name the machine in logs."""
# The UTF-8 string characteristics of Device Information (read at connect, for the log).
MANUFACTURER_NAME: Final = uuid_from_uuid16(0x2A29)
MODEL_NUMBER: Final = uuid_from_uuid16(0x2A24)
SERIAL_NUMBER: Final = uuid_from_uuid16(0x2A25)
HARDWARE_REVISION: Final = uuid_from_uuid16(0x2A27)
FIRMWARE_REVISION: Final = uuid_from_uuid16(0x2A26)
SOFTWARE_REVISION: Final = uuid_from_uuid16(0x2A28)


class CharacteristicName(StrEnum):
    """The FTMS characteristics a treadmill client reads, by their command-line names."""

    TREADMILL_DATA = "treadmill-data"
    MACHINE_STATUS = "machine-status"
    TRAINING_STATUS = "training-status"
    CONTROL_POINT = "control-point"
    FEATURES = "features"
    SPEED_RANGE = "speed-range"
    INCLINE_RANGE = "incline-range"

    @property
    def uuid16(self) -> int:
        """The 16-bit assigned number of this characteristic, e.g. ``0x2ACD``."""
        return _UUID16_BY_NAME[self]

    @property
    def uuid(self) -> str:
        """The full UUID string bleak uses for this characteristic."""
        return uuid_from_uuid16(self.uuid16)


_UUID16_BY_NAME: Final[dict[CharacteristicName, int]] = {
    CharacteristicName.TREADMILL_DATA: 0x2ACD,
    CharacteristicName.MACHINE_STATUS: 0x2ADA,
    CharacteristicName.TRAINING_STATUS: 0x2AD3,
    CharacteristicName.CONTROL_POINT: 0x2AD9,
    CharacteristicName.FEATURES: 0x2ACC,
    CharacteristicName.SPEED_RANGE: 0x2AD4,
    CharacteristicName.INCLINE_RANGE: 0x2AD5,
}
_NAME_BY_UUID16: Final[dict[int, CharacteristicName]] = {
    uuid16: name for name, uuid16 in _UUID16_BY_NAME.items()
}


def lookup_characteristic(key: str) -> CharacteristicName:
    """Find a characteristic by name, 16-bit UUID or full UUID.

    Accepted spellings, case-insensitive and ignoring surrounding blanks:
    ``treadmill-data`` (a name), ``2ACD`` or ``0x2acd`` (a 16-bit UUID) and
    ``00002acd-0000-1000-8000-00805f9b34fb`` (what bleak reports).

    Args:
        key: The text to look up.

    Returns:
        The characteristic it names.

    Raises:
        DecodeError: If ``key`` names none of the characteristics we decode; the
            message lists the accepted names.
    """
    text = key.strip().lower()
    try:
        return CharacteristicName(text)
    except ValueError:
        pass
    short = _SHORT_UUID.fullmatch(text)
    uuid16 = int(short.group(1), 16) if short is not None else uuid16_from_uuid(text)
    if uuid16 is not None and uuid16 in _NAME_BY_UUID16:
        return _NAME_BY_UUID16[uuid16]
    accepted = ", ".join(f"{name.value} ({name.uuid16:04X})" for name in CharacteristicName)
    raise DecodeError(f"unknown characteristic {key!r}; use one of: {accepted}")

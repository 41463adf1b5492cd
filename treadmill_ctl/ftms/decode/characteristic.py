"""One entry point for every characteristic, JSON for people and scripts, hex input.

What ``treadmill-ctl decode CHAR HEX`` runs (:func:`decode_hex_command`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from enum import Enum, IntFlag
from typing import TYPE_CHECKING, Final

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.decode.control_point import decode_control_point
from treadmill_ctl.ftms.decode.features import (
    decode_features,
    decode_incline_range,
    decode_speed_range,
)
from treadmill_ctl.ftms.decode.reading import (
    ByteData,
    known_bits,
)
from treadmill_ctl.ftms.decode.status import decode_machine_status, decode_training_status
from treadmill_ctl.ftms.decode.treadmill_data import decode_treadmill_data
from treadmill_ctl.ftms.uuids import CharacteristicName, lookup_characteristic

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.ftms.observations import (
        CharacteristicValue,
    )
    from treadmill_ctl.ftms.quirks import ClientQuirks

# --- One entry point -----------------------------------------------------------------


_DECODERS: Final[dict[CharacteristicName, Callable[[ByteData], CharacteristicValue]]] = {
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
) -> CharacteristicValue:
    """Decode one value of the named characteristic.

    Args:
        char: Which characteristic the bytes came from.
        data: The bytes.
        quirks: The device's deviations, applied to the decoded value
            (:meth:`ClientQuirks.apply`); None reads the wire as specified.

    Returns:
        The typed value (see :data:`~treadmill_ctl.ftms.observations.CharacteristicValue`).

    Raises:
        DecodeError: If the bytes cannot be decoded; never another exception.
    """
    value = _DECODERS[char](data)
    return value if quirks is None else quirks.apply(value)


def _json_value(value: object) -> object:
    if isinstance(value, IntFlag):
        names = [member.name for member in type(value) if member in value and member.name]
        unknown = int(value) & ~known_bits(type(value))
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


def to_json_dict(value: CharacteristicValue) -> dict[str, object]:
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

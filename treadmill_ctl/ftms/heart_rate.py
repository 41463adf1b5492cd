"""Bytes from a heart-rate strap or watch (Heart Rate Service 0x180D) into typed values.

Written from the Bluetooth SIG Heart Rate Service specification (HRS v1.0, section
3.1 Heart Rate Measurement 0x2A37, section 3.2 Body Sensor Location 0x2A38) and the
characteristic's GATT XML, tolerant of what real straps send:

* straps that never set the sensor-contact bits (a Polar H10 sends flags 0x10):
  the contact is then "not supported", which is not "lost";
* a heart rate of 0 while the electrodes have no contact: kept as 0, never valid;
* 0 to 3 (or more) RR intervals per notification, in 1/1024 s; each one outside
  what a heart does (shorter than 0.25 s or longer than 2.5 s, such as the extra
  ~52 ms value some Garmin straps add) is kept but flagged as implausible;
* a stray trailing byte, or a field the flags promise but the value lacks: what
  can be read is read, and the oddity is said in ``notes``.

Only a value with nothing usable in it (empty, or too short for its heart rate) is
an error: :class:`~treadmill_ctl.errors.DecodeError`, never another exception.

The simulator's strap encodes these values with its own code (``simulator.heart_rate``),
so a decoding bug here is caught by the end-to-end tests instead of cancelling out.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag, StrEnum
from typing import Final

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.decode import ByteData, decode_hex_command, parse_hex
from treadmill_ctl.ftms.uuids import uuid16_from_uuid, uuid_from_uuid16

__all__ = [
    "BODY_SENSOR_LOCATION",
    "HEART_RATE_MEASUREMENT",
    "HEART_RATE_SERVICE",
    "MAX_PLAUSIBLE_BPM",
    "MAX_PLAUSIBLE_RR_S",
    "MIN_PLAUSIBLE_RR_S",
    "BodySensorLocation",
    "BodySensorLocationValue",
    "HeartRateCharacteristic",
    "HeartRateFlag",
    "HeartRateMeasurement",
    "SensorContact",
    "decode_any_hex_command",
    "decode_body_sensor_location",
    "decode_heart_rate_measurement",
    "lookup_heart_rate_characteristic",
]

HEART_RATE_SERVICE: Final = uuid_from_uuid16(0x180D)
"""Heart Rate Service (HRS v1.0)."""
HEART_RATE_MEASUREMENT: Final = uuid_from_uuid16(0x2A37)
"""Heart Rate Measurement, notify (section 3.1)."""
BODY_SENSOR_LOCATION: Final = uuid_from_uuid16(0x2A38)
"""Body Sensor Location, read (section 3.2)."""

MIN_PLAUSIBLE_RR_S: Final = 0.25
"""An RR interval shorter than this (240 bpm) is no heartbeat of a walking person."""
MAX_PLAUSIBLE_RR_S: Final = 2.5
"""An RR interval longer than this (24 bpm) is a missed beat or a bogus value."""

MAX_PLAUSIBLE_BPM: Final = 250
"""A heart rate above this is a glitch of the strap, not a person's heart."""

_RR_UNITS_PER_S: Final = 1024


class HeartRateFlag(IntFlag):
    """The flags byte of Heart Rate Measurement (section 3.1.1.1)."""

    VALUE_UINT16 = 1 << 0
    """Set: the heart rate is a uint16; clear: a uint8."""
    CONTACT_DETECTED = 1 << 1
    """Sensor Contact Status: meaningful only with CONTACT_SUPPORTED."""
    CONTACT_SUPPORTED = 1 << 2
    """Sensor Contact Feature: the strap reports contact at all."""
    ENERGY_EXPENDED = 1 << 3
    """An Energy Expended field (uint16, kJ) follows the heart rate."""
    RR_INTERVALS = 1 << 4
    """One or more RR intervals (uint16, 1/1024 s) end the value."""


_KNOWN_FLAGS: Final = 0x1F


class SensorContact(StrEnum):
    """What the strap says about its electrodes' contact with the skin."""

    NOT_SUPPORTED = "not_supported"
    """The strap does not report contact (Polar H10): neither good nor bad news."""
    DETECTED = "detected"
    NOT_DETECTED = "not_detected"


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One Heart Rate Measurement notification (0x2A37).

    Attributes:
        raw: The bytes as received.
        flags: The flags byte.
        heart_rate_bpm: The heart rate as sent (0 is what many straps send without
            contact; see :attr:`is_valid`).
        contact: The sensor contact status.
        energy_expended_kj: Accumulated energy, if present.
        rr_intervals_s: Every RR interval sent, oldest first, in seconds.
        rr_plausible: For each RR interval, whether a heart can beat that way.
        notes: What was odd about the bytes (extra bytes, missing fields).
    """

    raw: bytes
    flags: HeartRateFlag
    heart_rate_bpm: int
    contact: SensorContact
    energy_expended_kj: int | None = None
    rr_intervals_s: tuple[float, ...] = ()
    rr_plausible: tuple[bool, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_valid(self) -> bool:
        """Whether the heart rate can be believed: 1-250 bpm and not without contact."""
        return (
            0 < self.heart_rate_bpm <= MAX_PLAUSIBLE_BPM
            and self.contact is not SensorContact.NOT_DETECTED
        )

    @property
    def plausible_rr_intervals_s(self) -> tuple[float, ...]:
        """The RR intervals a heart can make, oldest first."""
        return tuple(
            rr for rr, ok in zip(self.rr_intervals_s, self.rr_plausible, strict=True) if ok
        )


class BodySensorLocation(IntEnum):
    """Where the sensor sits (section 3.2.1.1); values 7-255 are reserved."""

    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


@dataclass(frozen=True, slots=True)
class BodySensorLocationValue:
    """One Body Sensor Location value (0x2A38).

    Attributes:
        raw: The bytes as read.
        location: Where the sensor sits; ``None`` for a reserved value.
        code: The byte as sent.
        notes: What was odd about the bytes.
    """

    raw: bytes
    location: BodySensorLocation | None
    code: int
    notes: tuple[str, ...] = ()


def _contact(flags: int) -> SensorContact:
    if not flags & HeartRateFlag.CONTACT_SUPPORTED:
        return SensorContact.NOT_SUPPORTED
    if flags & HeartRateFlag.CONTACT_DETECTED:
        return SensorContact.DETECTED
    return SensorContact.NOT_DETECTED


def _rr_intervals(flags: int, rest: bytes, notes: list[str]) -> list[int]:
    """The RR intervals (1/1024 s) at the end of a value; a stray byte is noted."""
    if not flags & HeartRateFlag.RR_INTERVALS:
        if rest:
            notes.append(_extra(len(rest)))
        return []
    whole = len(rest) - len(rest) % 2
    rr_raw = [int.from_bytes(rest[i : i + 2], "little") for i in range(0, whole, 2)]
    if not rr_raw:
        notes.append("RR intervals announced but none sent")
    if len(rest) % 2:
        notes.append("1 stray trailing byte ignored")
    return rr_raw


def _extra(count: int) -> str:
    return f"{count} extra byte{'s' if count > 1 else ''} ignored"


def decode_heart_rate_measurement(data: ByteData) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement value (HRS v1.0 section 3.1).

    Args:
        data: The notification's bytes.

    Returns:
        The measurement; oddities are described in its ``notes``.

    Raises:
        DecodeError: If the value is empty or too short for its heart rate.
    """
    raw = bytes(data)
    if not raw:
        raise DecodeError("heart rate measurement is empty")
    flags = raw[0]
    notes: list[str] = []
    if flags & ~_KNOWN_FLAGS:
        notes.append(f"reserved flag bits {flags & ~_KNOWN_FLAGS:#04x} set; ignored")
    if not flags & HeartRateFlag.CONTACT_SUPPORTED and flags & HeartRateFlag.CONTACT_DETECTED:
        notes.append("contact detected without contact support; read as not supported")
    size = 2 if flags & HeartRateFlag.VALUE_UINT16 else 1
    if len(raw) < 1 + size:
        raise DecodeError(
            f"heart rate measurement {raw.hex()} is too short: its flags {flags:#04x} "
            f"promise a {8 * size}-bit heart rate after them"
        )
    heart_rate = int.from_bytes(raw[1 : 1 + size], "little")
    offset = 1 + size
    energy: int | None = None
    if flags & HeartRateFlag.ENERGY_EXPENDED:
        if len(raw) >= offset + 2:
            energy = int.from_bytes(raw[offset : offset + 2], "little")
            offset += 2
        else:
            notes.append("energy expended announced but missing")
            offset = len(raw)
    rr_raw = _rr_intervals(flags, raw[offset:], notes)
    rr_s = tuple(value / _RR_UNITS_PER_S for value in rr_raw)
    plausible = tuple(MIN_PLAUSIBLE_RR_S <= rr <= MAX_PLAUSIBLE_RR_S for rr in rr_s)
    bogus = plausible.count(False)
    if bogus:
        notes.append(f"{bogus} implausible RR interval{'s' if bogus > 1 else ''} flagged")
    return HeartRateMeasurement(
        raw=raw,
        flags=HeartRateFlag(flags & _KNOWN_FLAGS),
        heart_rate_bpm=heart_rate,
        contact=_contact(flags),
        energy_expended_kj=energy,
        rr_intervals_s=rr_s,
        rr_plausible=plausible,
        notes=tuple(notes),
    )


def decode_body_sensor_location(data: ByteData) -> BodySensorLocationValue:
    """Decode a Body Sensor Location value (HRS v1.0 section 3.2).

    Raises:
        DecodeError: If the value is empty.
    """
    raw = bytes(data)
    if not raw:
        raise DecodeError("body sensor location is empty")
    notes: list[str] = []
    if len(raw) > 1:
        notes.append(_extra(len(raw) - 1))
    code = raw[0]
    try:
        location: BodySensorLocation | None = BodySensorLocation(code)
    except ValueError:
        location = None
        notes.append(f"reserved location {code}")
    return BodySensorLocationValue(raw=raw, location=location, code=code, notes=tuple(notes))


class HeartRateCharacteristic(StrEnum):
    """The Heart Rate Service characteristics by their command-line names."""

    HEART_RATE = "heart-rate"
    BODY_SENSOR_LOCATION = "body-sensor-location"

    @property
    def uuid16(self) -> int:
        """The 16-bit assigned number, e.g. ``0x2A37``."""
        return _UUID16[self]


_UUID16: Final[dict[HeartRateCharacteristic, int]] = {
    HeartRateCharacteristic.HEART_RATE: 0x2A37,
    HeartRateCharacteristic.BODY_SENSOR_LOCATION: 0x2A38,
}
_ALIASES: Final[dict[str, HeartRateCharacteristic]] = {
    "heart-rate-measurement": HeartRateCharacteristic.HEART_RATE,
}


def lookup_heart_rate_characteristic(key: str) -> HeartRateCharacteristic | None:
    """The Heart Rate characteristic named by ``key`` (name, ``2A37``, full UUID), or None."""
    text = key.strip().lower()
    if text in _ALIASES:
        return _ALIASES[text]
    try:
        return HeartRateCharacteristic(text)
    except ValueError:
        pass
    short = text.removeprefix("0x")
    uuid16: int | None
    if len(short) == 4:  # noqa: PLR2004 - four hex digits make a 16-bit UUID
        try:
            uuid16 = int(short, 16)
        except ValueError:
            uuid16 = None
    else:
        uuid16 = uuid16_from_uuid(text)
    for name, number in _UUID16.items():
        if number == uuid16:
            return name
    return None


def _json_value(value: object) -> object:
    if isinstance(value, IntFlag):
        return [member.name for member in type(value) if member in value and member.name]
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def _to_json(value: HeartRateMeasurement | BodySensorLocationValue) -> dict[str, object]:
    result: dict[str, object] = {"kind": type(value).__name__}
    for field in dataclasses.fields(value):
        result[field.name] = _json_value(getattr(value, field.name))
    if isinstance(value, HeartRateMeasurement):
        result["valid"] = value.is_valid
    return result


def decode_any_hex_command(char: str, hex_text: str) -> tuple[int, str]:
    """Do ``treadmill-ctl decode CHAR HEX`` for FTMS and Heart Rate characteristics.

    The Heart Rate names (``heart-rate``/``2A37``, ``body-sensor-location``/``2A38``)
    are decoded here; every other name goes to the FTMS decoders
    (:func:`treadmill_ctl.ftms.decode.decode_hex_command`).

    Returns:
        The exit status and the one line to print (JSON, or ``error: ...`` with 2).
    """
    name = lookup_heart_rate_characteristic(char)
    if name is None:
        status, line = decode_hex_command(char, hex_text)
        if status and line.startswith("error: unknown characteristic"):
            line += ", " + ", ".join(f"{n.value} ({n.uuid16:04X})" for n in HeartRateCharacteristic)
        return status, line
    try:
        data = parse_hex(hex_text)
        value: HeartRateMeasurement | BodySensorLocationValue = (
            decode_heart_rate_measurement(data)
            if name is HeartRateCharacteristic.HEART_RATE
            else decode_body_sensor_location(data)
        )
    except DecodeError as error:
        return 2, "error: " + " ".join(str(error).split())
    return 0, json.dumps({"characteristic": name.value, **_to_json(value)})

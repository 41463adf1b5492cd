"""FTMS characteristic values, encoded from the specification.

This is the simulator's own codec, written from Fitness Machine Service v1.0 (FTMS)
and the GATT Specification Supplement, independent of pyftms on purpose: the client
decodes with pyftms, so a misreading on one side shows up as a failing test instead
of cancelling out (ARCHITECTURE.md).

Each value is a frozen dataclass with an ``IntFlag`` of its flags where it has any,
``__bytes__`` to encode it, ``from_bytes`` (stepping an offset) to read it back, and
range checks in ``__post_init__``. Everything is little-endian (FTMS 3.1). The
server only needs to *decode* the control point; the other decoders exist so tests
can check what was sent.
"""

import math
import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Self

from simulator.errors import EncodingError

UINT8_MAX = 0xFF
UINT16_MAX = 0xFFFF
UINT24_MAX = 0xFFFFFF
SINT16_MIN = -0x8000
SINT16_MAX = 0x7FFF

NOT_AVAILABLE_SINT16 = 0x7FFF
"""The "data not available" value of the sint16 fields (e.g. ramp angle)."""


def _scaled(value: float, resolution: float, lo: int, hi: int, name: str) -> int:
    """Turn a physical value into its integer field, refusing what does not fit."""
    if not math.isfinite(value):
        raise EncodingError(f"{name}: {value!r} is not a finite number")
    raw = round(value / resolution)
    if not lo <= raw <= hi:
        raise EncodingError(f"{name}: {value!r} is outside the field's range")
    return raw


def _check_int(value: int, lo: int, hi: int, name: str) -> None:
    if not lo <= value <= hi:
        raise EncodingError(f"{name}: {value!r} is outside {lo}..{hi}")


def _need(data: bytes, offset: int, size: int, what: str) -> None:
    if len(data) < offset + size:
        raise EncodingError(f"{what}: value too short ({len(data)} bytes)")


def _uint24(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 3], "little")


# ---------------------------------------------------------------------------
# Treadmill Data (0x2ACD)
# ---------------------------------------------------------------------------


class TreadmillDataFlag(IntFlag):
    """Flags field of Treadmill Data (FTMS 4.4.1.1).

    Bit 0 is inverted: clear means Instantaneous Speed *is* present, and set means
    "More Data" (this notification is not the last part of a split record).
    """

    MORE_DATA = 1 << 0
    AVERAGE_SPEED = 1 << 1
    TOTAL_DISTANCE = 1 << 2
    INCLINATION_AND_RAMP_ANGLE = 1 << 3
    ELEVATION_GAIN = 1 << 4
    INSTANTANEOUS_PACE = 1 << 5
    AVERAGE_PACE = 1 << 6
    EXPENDED_ENERGY = 1 << 7
    HEART_RATE = 1 << 8
    METABOLIC_EQUIVALENT = 1 << 9
    ELAPSED_TIME = 1 << 10
    REMAINING_TIME = 1 << 11
    FORCE_AND_POWER = 1 << 12
    STEP_COUNT = 1 << 13
    """Reserved in FTMS 1.0; UREVO, Yesoul and KingSmith put a uint24 step count here."""


_SUPPORTED_TREADMILL_FLAGS = (
    TreadmillDataFlag.MORE_DATA
    | TreadmillDataFlag.TOTAL_DISTANCE
    | TreadmillDataFlag.INCLINATION_AND_RAMP_ANGLE
    | TreadmillDataFlag.HEART_RATE
    | TreadmillDataFlag.ELAPSED_TIME
    | TreadmillDataFlag.STEP_COUNT
)


@dataclass(frozen=True, slots=True)
class TreadmillData:
    """One Treadmill Data notification (FTMS 4.4), the fields the simulator sends.

    A field set to None is absent. ``speed_kmh`` None means the More Data bit is
    set: the notification is a first part of a split record (FTMS 4.19), and only
    the last part carries the speed.

    Attributes:
        speed_kmh: Instantaneous Speed, uint16 in 0.01 km/h (a machine with the
            ``mph`` quirk puts mph here; the field itself knows no other unit).
        total_distance_m: Total Distance, uint24 in metres.
        inclination_pct: Inclination, sint16 in 0.1 %; always sent with the ramp
            angle (one flag covers both).
        ramp_angle_deg: Ramp Angle Setting, sint16 in 0.1 degree; None with an
            inclination present encodes 0x7FFF (not available).
        heart_rate_bpm: Heart Rate, uint8 in beats per minute.
        elapsed_s: Elapsed Time, uint16 in seconds.
        step_count: Step count in reserved bit 13, uint24 (a vendor quirk).
    """

    speed_kmh: float | None = None
    total_distance_m: int | None = None
    inclination_pct: float | None = None
    ramp_angle_deg: float | None = None
    heart_rate_bpm: int | None = None
    elapsed_s: int | None = None
    step_count: int | None = None

    def __post_init__(self) -> None:
        if self.speed_kmh is not None:
            _scaled(self.speed_kmh, 0.01, 0, UINT16_MAX, "speed_kmh")
        if self.total_distance_m is not None:
            _check_int(self.total_distance_m, 0, UINT24_MAX, "total_distance_m")
        if self.ramp_angle_deg is not None and self.inclination_pct is None:
            raise EncodingError("ramp_angle_deg: only sent together with inclination_pct")
        if self.inclination_pct is not None:
            _scaled(self.inclination_pct, 0.1, SINT16_MIN, SINT16_MAX, "inclination_pct")
        if self.ramp_angle_deg is not None:
            _scaled(self.ramp_angle_deg, 0.1, SINT16_MIN, SINT16_MAX, "ramp_angle_deg")
        if self.heart_rate_bpm is not None:
            _check_int(self.heart_rate_bpm, 0, UINT8_MAX, "heart_rate_bpm")
        if self.elapsed_s is not None:
            _check_int(self.elapsed_s, 0, UINT16_MAX, "elapsed_s")
        if self.step_count is not None:
            _check_int(self.step_count, 0, UINT24_MAX, "step_count")

    @property
    def flags(self) -> TreadmillDataFlag:
        """The flags field this value encodes with."""
        flags = TreadmillDataFlag(0)
        if self.speed_kmh is None:
            flags |= TreadmillDataFlag.MORE_DATA
        if self.total_distance_m is not None:
            flags |= TreadmillDataFlag.TOTAL_DISTANCE
        if self.inclination_pct is not None:
            flags |= TreadmillDataFlag.INCLINATION_AND_RAMP_ANGLE
        if self.heart_rate_bpm is not None:
            flags |= TreadmillDataFlag.HEART_RATE
        if self.elapsed_s is not None:
            flags |= TreadmillDataFlag.ELAPSED_TIME
        if self.step_count is not None:
            flags |= TreadmillDataFlag.STEP_COUNT
        return flags

    def __bytes__(self) -> bytes:
        """Encode the fields in flag-bit order, as FTMS 4.4.1 lays them out."""
        out = bytearray(struct.pack("<H", self.flags))
        if self.speed_kmh is not None:
            out += struct.pack("<H", round(self.speed_kmh * 100))
        if self.total_distance_m is not None:
            out += self.total_distance_m.to_bytes(3, "little")
        if self.inclination_pct is not None:
            ramp = (
                NOT_AVAILABLE_SINT16
                if self.ramp_angle_deg is None
                else round(self.ramp_angle_deg * 10)
            )
            out += struct.pack("<hh", round(self.inclination_pct * 10), ramp)
        if self.heart_rate_bpm is not None:
            out.append(self.heart_rate_bpm)
        if self.elapsed_s is not None:
            out += struct.pack("<H", self.elapsed_s)
        if self.step_count is not None:
            out += self.step_count.to_bytes(3, "little")
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode a notification holding only the fields this class models.

        Raises:
            EncodingError: The value is truncated or uses a flag outside the
                simulator's own field set.
        """
        _need(data, 0, 2, "Treadmill Data")
        flags = TreadmillDataFlag(struct.unpack_from("<H", data, 0)[0])
        unknown = flags & ~_SUPPORTED_TREADMILL_FLAGS
        if unknown:
            raise EncodingError(f"Treadmill Data: flags {int(unknown):#06x} not modelled")
        offset = 2
        speed_kmh: float | None = None
        distance_m = inclination_pct = ramp_deg = hr_bpm = elapsed_s = steps = None
        if not flags & TreadmillDataFlag.MORE_DATA:
            _need(data, offset, 2, "Treadmill Data speed")
            speed_kmh = struct.unpack_from("<H", data, offset)[0] / 100
            offset += 2
        if flags & TreadmillDataFlag.TOTAL_DISTANCE:
            _need(data, offset, 3, "Treadmill Data distance")
            distance_m = _uint24(data, offset)
            offset += 3
        if flags & TreadmillDataFlag.INCLINATION_AND_RAMP_ANGLE:
            _need(data, offset, 4, "Treadmill Data inclination")
            incline_raw, ramp_raw = struct.unpack_from("<hh", data, offset)
            inclination_pct = incline_raw / 10
            ramp_deg = None if ramp_raw == NOT_AVAILABLE_SINT16 else ramp_raw / 10
            offset += 4
        if flags & TreadmillDataFlag.HEART_RATE:
            _need(data, offset, 1, "Treadmill Data heart rate")
            hr_bpm = data[offset]
            offset += 1
        if flags & TreadmillDataFlag.ELAPSED_TIME:
            _need(data, offset, 2, "Treadmill Data elapsed time")
            elapsed_s = struct.unpack_from("<H", data, offset)[0]
            offset += 2
        if flags & TreadmillDataFlag.STEP_COUNT:
            _need(data, offset, 3, "Treadmill Data step count")
            steps = _uint24(data, offset)
            offset += 3
        if offset != len(data):
            raise EncodingError(f"Treadmill Data: {len(data) - offset} unexpected trailing bytes")
        return cls(
            speed_kmh=speed_kmh,
            total_distance_m=distance_m,
            inclination_pct=inclination_pct,
            ramp_angle_deg=ramp_deg,
            heart_rate_bpm=hr_bpm,
            elapsed_s=elapsed_s,
            step_count=steps,
        )

    def split(self) -> tuple["TreadmillData", "TreadmillData"]:
        """Split the record into two notifications, as a long record would be.

        FTMS 4.19: every part but the last has More Data set (so no speed); the
        last part has it clear and carries the speed. The first part here carries
        distance, inclination and ramp angle; the last the speed, heart rate,
        elapsed time and step count.

        Raises:
            EncodingError: The record has no speed, so it has no last part.
        """
        if self.speed_kmh is None:
            raise EncodingError("Treadmill Data: only a record with a speed can be split")
        first = TreadmillData(
            total_distance_m=self.total_distance_m,
            inclination_pct=self.inclination_pct,
            ramp_angle_deg=self.ramp_angle_deg,
        )
        last = TreadmillData(
            speed_kmh=self.speed_kmh,
            heart_rate_bpm=self.heart_rate_bpm,
            elapsed_s=self.elapsed_s,
            step_count=self.step_count,
        )
        return first, last


# ---------------------------------------------------------------------------
# Fitness Machine Feature (0x2ACC)
# ---------------------------------------------------------------------------


class MachineFeature(IntFlag):
    """Fitness Machine Features field (FTMS 4.3.1.1)."""

    AVERAGE_SPEED = 1 << 0
    CADENCE = 1 << 1
    TOTAL_DISTANCE = 1 << 2
    INCLINATION = 1 << 3
    ELEVATION_GAIN = 1 << 4
    PACE = 1 << 5
    STEP_COUNT = 1 << 6
    RESISTANCE_LEVEL = 1 << 7
    STRIDE_COUNT = 1 << 8
    EXPENDED_ENERGY = 1 << 9
    HEART_RATE_MEASUREMENT = 1 << 10
    METABOLIC_EQUIVALENT = 1 << 11
    ELAPSED_TIME = 1 << 12
    REMAINING_TIME = 1 << 13
    POWER_MEASUREMENT = 1 << 14
    FORCE_ON_BELT_AND_POWER_OUTPUT = 1 << 15
    USER_DATA_RETENTION = 1 << 16


class TargetSettingFeature(IntFlag):
    """Target Setting Features field (FTMS 4.3.1.2)."""

    SPEED_TARGET = 1 << 0
    INCLINATION_TARGET = 1 << 1
    RESISTANCE_TARGET = 1 << 2
    POWER_TARGET = 1 << 3
    HEART_RATE_TARGET = 1 << 4


@dataclass(frozen=True, slots=True)
class FitnessMachineFeature:
    """Fitness Machine Feature value (FTMS 4.3): two uint32 bit fields."""

    machine: MachineFeature
    target_setting: TargetSettingFeature

    def __bytes__(self) -> bytes:
        return struct.pack("<II", self.machine, self.target_setting)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode the two uint32 fields (extra bytes are an error)."""
        if len(data) != 8:  # noqa: PLR2004 - two uint32 fields
            raise EncodingError(f"Fitness Machine Feature: expected 8 bytes, got {len(data)}")
        machine, target = struct.unpack("<II", data)
        return cls(MachineFeature(machine), TargetSettingFeature(target))


# ---------------------------------------------------------------------------
# Supported Speed Range (0x2AD4) and Supported Inclination Range (0x2AD5)
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupportedSpeedRange:
    """Supported Speed Range (FTMS 4.11): three uint16 in 0.01 km/h."""

    minimum_kmh: float
    maximum_kmh: float
    increment_kmh: float

    def __post_init__(self) -> None:
        lo = _scaled(self.minimum_kmh, 0.01, 0, UINT16_MAX, "minimum_kmh")
        hi = _scaled(self.maximum_kmh, 0.01, 0, UINT16_MAX, "maximum_kmh")
        _scaled(self.increment_kmh, 0.01, 0, UINT16_MAX, "increment_kmh")
        if lo > hi:
            raise EncodingError("speed range: minimum above maximum")

    def __bytes__(self) -> bytes:
        return struct.pack(
            "<HHH",
            round(self.minimum_kmh * 100),
            round(self.maximum_kmh * 100),
            round(self.increment_kmh * 100),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode the three uint16 fields."""
        if len(data) != 6:  # noqa: PLR2004 - three uint16 fields
            raise EncodingError(f"Supported Speed Range: expected 6 bytes, got {len(data)}")
        lo, hi, inc = struct.unpack("<HHH", data)
        return cls(lo / 100, hi / 100, inc / 100)


@dataclass(frozen=True, slots=True)
class SupportedInclinationRange:
    """Supported Inclination Range (FTMS 4.12): sint16, sint16, uint16 in 0.1 %."""

    minimum_pct: float
    maximum_pct: float
    increment_pct: float

    def __post_init__(self) -> None:
        lo = _scaled(self.minimum_pct, 0.1, SINT16_MIN, SINT16_MAX, "minimum_pct")
        hi = _scaled(self.maximum_pct, 0.1, SINT16_MIN, SINT16_MAX, "maximum_pct")
        _scaled(self.increment_pct, 0.1, 0, UINT16_MAX, "increment_pct")
        if lo > hi:
            raise EncodingError("inclination range: minimum above maximum")

    def __bytes__(self) -> bytes:
        return struct.pack(
            "<hhH",
            round(self.minimum_pct * 10),
            round(self.maximum_pct * 10),
            round(self.increment_pct * 10),
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode the three fields."""
        if len(data) != 6:  # noqa: PLR2004 - three 16-bit fields
            raise EncodingError(f"Supported Inclination Range: expected 6 bytes, got {len(data)}")
        lo, hi, inc = struct.unpack("<hhH", data)
        return cls(lo / 10, hi / 10, inc / 10)


# ---------------------------------------------------------------------------
# Training Status (0x2AD3)
# ---------------------------------------------------------------------------


class TrainingStatusFlag(IntFlag):
    """Flags of Training Status (FTMS 4.10.1.1)."""

    STRING_PRESENT = 1 << 0
    EXTENDED_STRING_PRESENT = 1 << 1


class TrainingStatusCode(IntEnum):
    """Training Status field values (FTMS 4.10.1.2), the ones a treadmill uses."""

    OTHER = 0x00
    IDLE = 0x01
    WARMING_UP = 0x02
    LOW_INTENSITY_INTERVAL = 0x03
    HIGH_INTENSITY_INTERVAL = 0x04
    RECOVERY_INTERVAL = 0x05
    ISOMETRIC = 0x06
    HEART_RATE_CONTROL = 0x07
    FITNESS_TEST = 0x08
    SPEED_OUTSIDE_CONTROL_REGION_LOW = 0x09
    SPEED_OUTSIDE_CONTROL_REGION_HIGH = 0x0A
    COOL_DOWN = 0x0B
    WATT_CONTROL = 0x0C
    MANUAL_MODE = 0x0D
    PRE_WORKOUT = 0x0E
    POST_WORKOUT = 0x0F


@dataclass(frozen=True, slots=True)
class TrainingStatus:
    """Training Status (FTMS 4.10): flags uint8, status uint8, optional UTF-8 string."""

    status: TrainingStatusCode
    string: str | None = None

    @property
    def flags(self) -> TrainingStatusFlag:
        """The flags field this value encodes with."""
        return TrainingStatusFlag(0) if self.string is None else TrainingStatusFlag.STRING_PRESENT

    def __bytes__(self) -> bytes:
        out = bytes([self.flags, self.status])
        return out if self.string is None else out + self.string.encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode flags, status and the string when flagged."""
        _need(data, 0, 2, "Training Status")
        flags = TrainingStatusFlag(data[0])
        try:
            status = TrainingStatusCode(data[1])
        except ValueError:
            raise EncodingError(f"Training Status: unknown status {data[1]:#04x}") from None
        text = data[2:].decode() if flags & TrainingStatusFlag.STRING_PRESENT else None
        return cls(status, text)


# ---------------------------------------------------------------------------
# Fitness Machine Status (0x2ADA)
# ---------------------------------------------------------------------------


class MachineStatusOp(IntEnum):
    """Fitness Machine Status op codes (FTMS 4.17, table 4.26) used by treadmills."""

    RESET = 0x01
    STOPPED_OR_PAUSED_BY_USER = 0x02
    STOPPED_BY_SAFETY_KEY = 0x03
    STARTED_OR_RESUMED_BY_USER = 0x04
    TARGET_SPEED_CHANGED = 0x05
    TARGET_INCLINE_CHANGED = 0x06
    CONTROL_PERMISSION_LOST = 0xFF


class StopControl(IntEnum):
    """The parameter of Stop/Pause (FTMS 4.16.2.9) and of status 0x02."""

    STOP = 0x01
    PAUSE = 0x02


@dataclass(frozen=True, slots=True)
class FitnessMachineStatus:
    """One Fitness Machine Status notification (FTMS 4.17): op code then parameter.

    Build it with the named constructors (``reset()``, ``stopped_by_user()``...);
    each carries exactly the parameter its op code defines.
    """

    op: MachineStatusOp
    stop_control: StopControl | None = None
    speed_kmh: float | None = None
    incline_pct: float | None = None

    def __post_init__(self) -> None:
        wants = {
            MachineStatusOp.STOPPED_OR_PAUSED_BY_USER: "stop_control",
            MachineStatusOp.TARGET_SPEED_CHANGED: "speed_kmh",
            MachineStatusOp.TARGET_INCLINE_CHANGED: "incline_pct",
        }.get(self.op)
        given = {
            name
            for name in ("stop_control", "speed_kmh", "incline_pct")
            if getattr(self, name) is not None
        }
        if given != ({wants} if wants else set()):
            raise EncodingError(f"machine status {self.op.name}: parameter mismatch {given}")
        if self.speed_kmh is not None:
            _scaled(self.speed_kmh, 0.01, 0, UINT16_MAX, "speed_kmh")
        if self.incline_pct is not None:
            _scaled(self.incline_pct, 0.1, SINT16_MIN, SINT16_MAX, "incline_pct")

    @classmethod
    def reset(cls) -> Self:
        """0x01: the machine was reset (control is gone)."""
        return cls(MachineStatusOp.RESET)

    @classmethod
    def stopped_by_user(cls, control: StopControl = StopControl.STOP) -> Self:
        """0x02: stopped (0x01) or paused (0x02) by the user."""
        return cls(MachineStatusOp.STOPPED_OR_PAUSED_BY_USER, stop_control=control)

    @classmethod
    def stopped_by_safety_key(cls) -> Self:
        """0x03: the safety key was pulled."""
        return cls(MachineStatusOp.STOPPED_BY_SAFETY_KEY)

    @classmethod
    def started_by_user(cls) -> Self:
        """0x04: started or resumed by the user."""
        return cls(MachineStatusOp.STARTED_OR_RESUMED_BY_USER)

    @classmethod
    def target_speed_changed(cls, speed_kmh: float) -> Self:
        """0x05: the target speed changed (uint16, 0.01 km/h)."""
        return cls(MachineStatusOp.TARGET_SPEED_CHANGED, speed_kmh=speed_kmh)

    @classmethod
    def target_incline_changed(cls, incline_pct: float) -> Self:
        """0x06: the target inclination changed (sint16, 0.1 %)."""
        return cls(MachineStatusOp.TARGET_INCLINE_CHANGED, incline_pct=incline_pct)

    @classmethod
    def control_permission_lost(cls) -> Self:
        """0xFF: the client no longer controls the machine."""
        return cls(MachineStatusOp.CONTROL_PERMISSION_LOST)

    def __bytes__(self) -> bytes:
        out = bytes([self.op])
        if self.stop_control is not None:
            out += bytes([self.stop_control])
        if self.speed_kmh is not None:
            out += struct.pack("<H", round(self.speed_kmh * 100))
        if self.incline_pct is not None:
            out += struct.pack("<h", round(self.incline_pct * 10))
        return out

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode a status notification the simulator sends."""
        _need(data, 0, 1, "Fitness Machine Status")
        try:
            op = MachineStatusOp(data[0])
        except ValueError:
            raise EncodingError(f"Fitness Machine Status: op {data[0]:#04x} not modelled") from None
        if op is MachineStatusOp.STOPPED_OR_PAUSED_BY_USER:
            _need(data, 1, 1, "Fitness Machine Status")
            return cls(op, stop_control=StopControl(data[1]))
        if op is MachineStatusOp.TARGET_SPEED_CHANGED:
            _need(data, 1, 2, "Fitness Machine Status")
            return cls(op, speed_kmh=struct.unpack_from("<H", data, 1)[0] / 100)
        if op is MachineStatusOp.TARGET_INCLINE_CHANGED:
            _need(data, 1, 2, "Fitness Machine Status")
            return cls(op, incline_pct=struct.unpack_from("<h", data, 1)[0] / 10)
        return cls(op)


# ---------------------------------------------------------------------------
# Fitness Machine Control Point (0x2AD9)
# ---------------------------------------------------------------------------


class ControlPointOp(IntEnum):
    """Control point op codes (FTMS 4.16.1, table 4.15) the simulator implements."""

    REQUEST_CONTROL = 0x00
    RESET = 0x01
    SET_TARGET_SPEED = 0x02
    SET_TARGET_INCLINATION = 0x03
    START_OR_RESUME = 0x07
    STOP_OR_PAUSE = 0x08
    RESPONSE_CODE = 0x80


class ResultCode(IntEnum):
    """Result codes of a control point response (FTMS 4.16.2.22, table 4.24)."""

    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_PARAMETER = 0x03
    OPERATION_FAILED = 0x04
    CONTROL_NOT_PERMITTED = 0x05


_PARAMETER_SIZE = {
    ControlPointOp.REQUEST_CONTROL: 0,
    ControlPointOp.RESET: 0,
    ControlPointOp.SET_TARGET_SPEED: 2,
    ControlPointOp.SET_TARGET_INCLINATION: 2,
    ControlPointOp.START_OR_RESUME: 0,
    ControlPointOp.STOP_OR_PAUSE: 1,
}


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """A control point response (FTMS 4.16.2.22): ``80 <request op> <result>``.

    ``request_op`` is a plain int because an unsupported op code is echoed as sent.
    """

    request_op: int
    result: ResultCode

    def __post_init__(self) -> None:
        _check_int(self.request_op, 0, UINT8_MAX, "request_op")

    def __bytes__(self) -> bytes:
        return bytes([ControlPointOp.RESPONSE_CODE, self.request_op, self.result])

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode a response (three bytes, the first 0x80)."""
        if len(data) != 3 or data[0] != ControlPointOp.RESPONSE_CODE:  # noqa: PLR2004
            raise EncodingError(f"control point response: malformed {data.hex()}")
        try:
            result = ResultCode(data[2])
        except ValueError:
            raise EncodingError(f"control point response: unknown result {data[2]:#04x}") from None
        return cls(data[1], result)


@dataclass(frozen=True, slots=True)
class ControlPointRequest:
    """A well-formed control point request (FTMS 4.16.2).

    Attributes:
        op: The procedure asked for.
        speed_kmh: Set Target Speed parameter, uint16 in 0.01 km/h (an ``mph``
            machine reads this same number as mph).
        incline_pct: Set Target Inclination parameter, sint16 in 0.1 %.
        stop_control: Stop/Pause parameter: 0x01 stop, 0x02 pause.
    """

    op: ControlPointOp
    speed_kmh: float | None = None
    incline_pct: float | None = None
    stop_control: StopControl | None = None

    def __post_init__(self) -> None:
        if self.op is ControlPointOp.RESPONSE_CODE:
            raise EncodingError("control point: 0x80 is a response, not a request")
        wants = {
            ControlPointOp.SET_TARGET_SPEED: "speed_kmh",
            ControlPointOp.SET_TARGET_INCLINATION: "incline_pct",
            ControlPointOp.STOP_OR_PAUSE: "stop_control",
        }.get(self.op)
        given = {
            name
            for name in ("speed_kmh", "incline_pct", "stop_control")
            if getattr(self, name) is not None
        }
        if given != ({wants} if wants else set()):
            raise EncodingError(f"control point {self.op.name}: parameter mismatch {given}")
        if self.speed_kmh is not None:
            _scaled(self.speed_kmh, 0.01, 0, UINT16_MAX, "speed_kmh")
        if self.incline_pct is not None:
            _scaled(self.incline_pct, 0.1, SINT16_MIN, SINT16_MAX, "incline_pct")

    def __bytes__(self) -> bytes:
        out = bytes([self.op])
        if self.speed_kmh is not None:
            out += struct.pack("<H", round(self.speed_kmh * 100))
        if self.incline_pct is not None:
            out += struct.pack("<h", round(self.incline_pct * 10))
        if self.stop_control is not None:
            out += bytes([self.stop_control])
        return out

    def response(self, result: ResultCode) -> ControlPointResponse:
        """The response to this request with ``result``."""
        return ControlPointResponse(self.op, result)


@dataclass(frozen=True, slots=True)
class RejectedRequest:
    """A control point write that could not be decoded into a request.

    Attributes:
        op_code: The op code byte as written (0 for an empty write).
        result: Why: op code not supported, or invalid parameter.
        data: The bytes written.
    """

    op_code: int
    result: ResultCode
    data: bytes

    def response(self) -> ControlPointResponse:
        """The response that tells the client why."""
        return ControlPointResponse(self.op_code, self.result)


def decode_control_point(data: bytes) -> ControlPointRequest | RejectedRequest:
    """Decode a control point write; arbitrary bytes give a request or a rejection.

    This never raises: a client that writes garbage gets an answer, as FTMS
    4.16.2.22 requires (an unknown op code is "op code not supported", a wrong
    parameter length or value is "invalid parameter").

    Args:
        data: The bytes written to 0x2AD9.

    Returns:
        The decoded request, or a :class:`RejectedRequest` with the result code.
    """
    if not data:
        return RejectedRequest(0, ResultCode.OP_CODE_NOT_SUPPORTED, bytes(data))
    try:
        op = ControlPointOp(data[0])
    except ValueError:
        op = None
    if op is None or op is ControlPointOp.RESPONSE_CODE:
        return RejectedRequest(data[0], ResultCode.OP_CODE_NOT_SUPPORTED, bytes(data))
    request = _with_parameter(op, bytes(data[1:])) if len(data) - 1 == _PARAMETER_SIZE[op] else None
    if request is None:
        return RejectedRequest(data[0], ResultCode.INVALID_PARAMETER, bytes(data))
    return request


def _with_parameter(op: ControlPointOp, parameter: bytes) -> ControlPointRequest | None:
    """The request for ``op`` with its (correctly sized) parameter, None if invalid."""
    if op is ControlPointOp.SET_TARGET_SPEED:
        return ControlPointRequest(op, speed_kmh=struct.unpack("<H", parameter)[0] / 100)
    if op is ControlPointOp.SET_TARGET_INCLINATION:
        return ControlPointRequest(op, incline_pct=struct.unpack("<h", parameter)[0] / 10)
    if op is ControlPointOp.STOP_OR_PAUSE:
        if parameter[0] not in {control.value for control in StopControl}:
            return None
        return ControlPointRequest(op, stop_control=StopControl(parameter[0]))
    return ControlPointRequest(op)


# ---------------------------------------------------------------------------
# Advertising: FTMS service data (FTMS 3.1.1)
# ---------------------------------------------------------------------------


class ServiceDataFlag(IntFlag):
    """Flags of the FTMS service data in advertisements."""

    MACHINE_AVAILABLE = 1 << 0


class MachineType(IntFlag):
    """Fitness Machine Type field of the FTMS service data."""

    TREADMILL = 1 << 0
    CROSS_TRAINER = 1 << 1
    STEP_CLIMBER = 1 << 2
    STAIR_CLIMBER = 1 << 3
    ROWER = 1 << 4
    INDOOR_BIKE = 1 << 5


def ftms_service_data(*, available: bool = True) -> bytes:
    """The FTMS service data a treadmill advertises: flags uint8, type uint16."""
    flags = ServiceDataFlag.MACHINE_AVAILABLE if available else ServiceDataFlag(0)
    return struct.pack("<BH", flags, MachineType.TREADMILL)

"""What a treadmill tells us, as typed values with units in their names.

One frozen dataclass per FTMS characteristic value (FTMS v1.0 section numbers in the
docstrings), plus the enums and flags they carry: a :data:`CharacteristicValue` is
any of them, as :mod:`treadmill_ctl.ftms.decode` makes it from bytes. They are not
the safety governor's observations (``treadmill_ctl.safety.observations``): the
session makes those from these, keeping only what the governor judges. Every value
keeps the bytes it came from (``raw``) for the session recorder, and a tuple of
``notes``: human-readable remarks on anything the decoder tolerated (a known
treadmill quirk, fields the flags promised but the frame lacked), so a quirk is
visible in the log instead of silently hidden.

``None`` in a numeric field always means "not in this frame, or reported as not
available" (all-ones, e.g. 0xFFFF or 0x7FFF); it never means zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

__all__ = [
    "CharacteristicValue",
    "ControlOpCode",
    "ControlPointRequest",
    "ControlPointResponse",
    "InclineRange",
    "MachineFeature",
    "MachineFeatures",
    "MachineStatus",
    "MachineStatusCode",
    "ResultCode",
    "SpeedRange",
    "StopPauseKind",
    "TargetSettingFeature",
    "TrainingStatus",
    "TrainingStatusCode",
    "TreadmillData",
    "TreadmillDataFlag",
]


class TreadmillDataFlag(IntFlag):
    """The flags field of Treadmill Data (section 4.4.1.1): which fields follow.

    Bit 0 is inverted: *clear* means Instantaneous Speed is present; *set* means this
    is one part of a record split over several notifications (section 4.19).
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
    FORCE_ON_BELT_AND_POWER_OUTPUT = 1 << 12
    STEP_COUNT_QUIRK = 1 << 13
    """Reserved by FTMS; UREVO, Yesoul and KingSmith walking pads put a uint24 step count here."""


class StopPauseKind(IntEnum):
    """The parameter of Stop or Pause (section 4.16.2.9) and of status 0x02 (4.17)."""

    STOP = 0x01
    PAUSE = 0x02


class MachineStatusCode(IntEnum):
    """Fitness Machine Status op codes (section 4.17, table 4.26)."""

    RESET = 0x01
    STOPPED_OR_PAUSED_BY_USER = 0x02
    STOPPED_BY_SAFETY_KEY = 0x03
    STARTED_OR_RESUMED_BY_USER = 0x04
    TARGET_SPEED_CHANGED = 0x05
    TARGET_INCLINE_CHANGED = 0x06
    TARGET_RESISTANCE_LEVEL_CHANGED = 0x07
    TARGET_POWER_CHANGED = 0x08
    TARGET_HEART_RATE_CHANGED = 0x09
    TARGETED_EXPENDED_ENERGY_CHANGED = 0x0A
    TARGETED_NUMBER_OF_STEPS_CHANGED = 0x0B
    TARGETED_NUMBER_OF_STRIDES_CHANGED = 0x0C
    TARGETED_DISTANCE_CHANGED = 0x0D
    TARGETED_TRAINING_TIME_CHANGED = 0x0E
    TARGETED_TIME_IN_TWO_HEART_RATE_ZONES_CHANGED = 0x0F
    TARGETED_TIME_IN_THREE_HEART_RATE_ZONES_CHANGED = 0x10
    TARGETED_TIME_IN_FIVE_HEART_RATE_ZONES_CHANGED = 0x11
    INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED = 0x12
    WHEEL_CIRCUMFERENCE_CHANGED = 0x13
    SPIN_DOWN_STATUS = 0x14
    TARGETED_CADENCE_CHANGED = 0x15
    CONTROL_PERMISSION_LOST = 0xFF


class TrainingStatusCode(IntEnum):
    """Training Status values (section 4.10.1.2)."""

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


class ControlOpCode(IntEnum):
    """Fitness Machine Control Point op codes (section 4.16.1, table 4.15)."""

    REQUEST_CONTROL = 0x00
    RESET = 0x01
    SET_TARGET_SPEED = 0x02
    SET_TARGET_INCLINATION = 0x03
    SET_TARGET_RESISTANCE_LEVEL = 0x04
    SET_TARGET_POWER = 0x05
    SET_TARGET_HEART_RATE = 0x06
    START_OR_RESUME = 0x07
    STOP_OR_PAUSE = 0x08
    SET_TARGETED_EXPENDED_ENERGY = 0x09
    SET_TARGETED_NUMBER_OF_STEPS = 0x0A
    SET_TARGETED_NUMBER_OF_STRIDES = 0x0B
    SET_TARGETED_DISTANCE = 0x0C
    SET_TARGETED_TRAINING_TIME = 0x0D
    SET_TARGETED_TIME_IN_TWO_HEART_RATE_ZONES = 0x0E
    SET_TARGETED_TIME_IN_THREE_HEART_RATE_ZONES = 0x0F
    SET_TARGETED_TIME_IN_FIVE_HEART_RATE_ZONES = 0x10
    SET_INDOOR_BIKE_SIMULATION_PARAMETERS = 0x11
    SET_WHEEL_CIRCUMFERENCE = 0x12
    SPIN_DOWN_CONTROL = 0x13
    SET_TARGETED_CADENCE = 0x14
    RESPONSE_CODE = 0x80


class ResultCode(IntEnum):
    """Result codes of a control point response (section 4.16.2.22, table 4.24)."""

    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_PARAMETER = 0x03
    OPERATION_FAILED = 0x04
    CONTROL_NOT_PERMITTED = 0x05


class MachineFeature(IntFlag):
    """Fitness Machine Features field (section 4.3.1.1): what the machine measures."""

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
    """Target Setting Features field (section 4.3.1.2): which targets the machine accepts."""

    SPEED_TARGET = 1 << 0
    INCLINATION_TARGET = 1 << 1
    RESISTANCE_TARGET = 1 << 2
    POWER_TARGET = 1 << 3
    HEART_RATE_TARGET = 1 << 4
    TARGETED_EXPENDED_ENERGY = 1 << 5
    TARGETED_STEP_NUMBER = 1 << 6
    TARGETED_STRIDE_NUMBER = 1 << 7
    TARGETED_DISTANCE = 1 << 8
    TARGETED_TRAINING_TIME = 1 << 9
    TARGETED_TIME_IN_TWO_HEART_RATE_ZONES = 1 << 10
    TARGETED_TIME_IN_THREE_HEART_RATE_ZONES = 1 << 11
    TARGETED_TIME_IN_FIVE_HEART_RATE_ZONES = 1 << 12
    INDOOR_BIKE_SIMULATION_PARAMETERS = 1 << 13
    WHEEL_CIRCUMFERENCE = 1 << 14
    SPIN_DOWN_CONTROL = 1 << 15
    TARGETED_CADENCE = 1 << 16


@dataclass(frozen=True, slots=True, kw_only=True)
class TreadmillData:
    """One Treadmill Data record (section 4.4), or one part of a split record.

    A part with ``more_data`` set carries no speed; merge it with the parts that
    follow using :class:`treadmill_ctl.ftms.decode.TreadmillDataAssembler`.

    Attributes:
        raw: The bytes as received (for a merged record, the parts joined in order).
        flags: The flags field, read as an unsigned 16-bit value.
        more_data: True for a part of a split record that is not the last one.
        speed_kmh: Instantaneous speed.
        average_speed_kmh: Average speed since the start of the workout.
        distance_m: Total distance.
        incline_pct: Inclination of the deck, in percent grade.
        ramp_angle_deg: Ramp angle setting.
        positive_elevation_gain_m: Elevation climbed.
        negative_elevation_gain_m: Elevation descended.
        instantaneous_pace_km_per_min: Instantaneous pace, as the 2017 XML defines it.
        average_pace_km_per_min: Average pace, same unit.
        total_energy_kcal: Expended energy since the start.
        energy_per_hour_kcal: Energy rate per hour.
        energy_per_minute_kcal: Energy rate per minute.
        heart_rate_bpm: Heart rate the machine measures.
        metabolic_equivalent: MET value.
        elapsed_s: Elapsed time of the workout.
        remaining_s: Remaining time of the workout.
        force_on_belt_n: Force on the belt.
        power_output_w: Power output.
        step_count: Steps, from the reserved flag bit 13 some walking pads use.
        missing_fields: Names of fields the flags announced but the frame lacked.
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    flags: int
    more_data: bool = False
    speed_kmh: float | None = None
    average_speed_kmh: float | None = None
    distance_m: int | None = None
    incline_pct: float | None = None
    ramp_angle_deg: float | None = None
    positive_elevation_gain_m: float | None = None
    negative_elevation_gain_m: float | None = None
    instantaneous_pace_km_per_min: float | None = None
    average_pace_km_per_min: float | None = None
    total_energy_kcal: int | None = None
    energy_per_hour_kcal: int | None = None
    energy_per_minute_kcal: int | None = None
    heart_rate_bpm: int | None = None
    metabolic_equivalent: float | None = None
    elapsed_s: int | None = None
    remaining_s: int | None = None
    force_on_belt_n: int | None = None
    power_output_w: int | None = None
    step_count: int | None = None
    missing_fields: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_complete(self) -> bool:
        """True when every field the flags announced was in the frame."""
        return not self.missing_fields


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineStatus:
    """One Fitness Machine Status notification (section 4.17).

    Attributes:
        raw: The bytes as received.
        code: The status, or None for a value the specification reserves.
        code_value: The status byte as sent, for reserved values and the log.
        stop_pause: For status 0x02, whether the user stopped or paused the belt
            (None when the parameter is missing or not 1 or 2).
        target_speed_kmh: For status 0x05, the new target speed.
        target_incline_pct: For status 0x06, the new target inclination.
        parameter: The parameter bytes of the status as sent (for statuses we do not
            decode further).
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    code: MachineStatusCode | None
    code_value: int
    stop_pause: StopPauseKind | None = None
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None
    parameter: bytes = b""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingStatus:
    """One Training Status value (section 4.10).

    Attributes:
        raw: The bytes as received.
        code: The status, or None for a value the specification reserves.
        code_value: The status byte as sent.
        status_string: The free-text status, when the flags say one is present ("" for
            an empty one).
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    code: TrainingStatusCode | None
    code_value: int
    status_string: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineFeatures:
    """The Fitness Machine Feature value (section 4.3): what the machine can do.

    Attributes:
        raw: The bytes as received.
        machine_features: What the machine measures and reports.
        target_settings: Which targets the control point accepts.
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    machine_features: MachineFeature
    target_settings: TargetSettingFeature
    notes: tuple[str, ...] = ()

    @property
    def speed_target_supported(self) -> bool:
        """True when Set Target Speed is supported."""
        return TargetSettingFeature.SPEED_TARGET in self.target_settings

    @property
    def incline_target_supported(self) -> bool:
        """True when Set Target Inclination is supported."""
        return TargetSettingFeature.INCLINATION_TARGET in self.target_settings


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedRange:
    """The Supported Speed Range (section 4.11), in km/h after the speed-unit quirk.

    Attributes:
        raw: The bytes as received.
        min_kmh: The lowest target speed the machine accepts.
        max_kmh: The highest target speed the machine accepts.
        increment_kmh: The step between accepted target speeds.
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    min_kmh: float
    max_kmh: float
    increment_kmh: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InclineRange:
    """The Supported Inclination Range (section 4.12).

    Attributes:
        raw: The bytes as received.
        min_pct: The lowest target inclination the machine accepts.
        max_pct: The highest target inclination the machine accepts.
        increment_pct: The step between accepted target inclinations.
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    min_pct: float
    max_pct: float
    increment_pct: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlPointResponse:
    """A control point response indication, ``80 <request op> <result>`` (section 4.16.2.22).

    Attributes:
        raw: The bytes as received.
        request_op_code: The op code of the command this answers.
        result: The outcome.
        parameter: Response parameter bytes, if any (treadmill commands have none).
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    request_op_code: ControlOpCode
    result: ResultCode
    parameter: bytes = b""
    notes: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        """True when the treadmill reported success."""
        return self.result is ResultCode.SUCCESS


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlPointRequest:
    """A command written to the control point, decoded (for the CLI and traces).

    Attributes:
        raw: The bytes as written.
        op_code: The command.
        target_speed_kmh: For Set Target Speed, the target.
        target_incline_pct: For Set Target Inclination, the target.
        stop_pause: For Stop or Pause, which one.
        parameter: The parameter bytes as written.
        notes: Remarks on anything the decoder tolerated.
    """

    raw: bytes
    op_code: ControlOpCode
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None
    stop_pause: StopPauseKind | None = None
    parameter: bytes = b""
    notes: tuple[str, ...] = ()


type CharacteristicValue = (
    TreadmillData
    | MachineStatus
    | TrainingStatus
    | MachineFeatures
    | SpeedRange
    | InclineRange
    | ControlPointResponse
    | ControlPointRequest
)
"""Any value :func:`treadmill_ctl.ftms.decode.decode_characteristic` returns: what one
characteristic said, with its bytes and notes (not the governor's ``Observation``)."""

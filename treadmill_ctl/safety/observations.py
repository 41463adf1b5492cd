"""What the governor is told about the treadmill: its data, its status events, the link.

The link layer decodes FTMS characteristic values and hands these over. They are not
checked when built: the governor ignores (with a ``Refused`` decision) a value it
cannot trust, such as a NaN or negative belt speed, and such a value never counts as
valid data for the stale-data watchdog.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BeltData",
    "ControlLost",
    "LinkDown",
    "LinkUp",
    "Observation",
    "SafetyKeyPulled",
    "SpeedWritten",
    "StartedByUser",
    "StoppedByUser",
    "TargetSpeedChanged",
]


@dataclass(frozen=True, slots=True)
class BeltData:
    """One merged Treadmill Data record (0x2ACD).

    Attributes:
        speed_kmh: Instantaneous belt speed.
        incline_pct: Reported incline, if present.
        elapsed_s: Reported elapsed time, if present (a frozen elapsed time with
            byte-identical frames means the stream is stale).
        heart_rate_bpm: Reported heart rate, if present.
        frame: The raw bytes of the record, compared frame to frame.
        distance_m: Reported total distance, if present: the distance the belt covers
            tells whether its reported speed is in the unit we think it is.
    """

    speed_kmh: float
    incline_pct: float | None = None
    elapsed_s: float | None = None
    heart_rate_bpm: int | None = None
    frame: bytes = b""
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class StoppedByUser:
    """Fitness Machine Status 0x02: stopped (param 0x01) or paused (0x02) at the console.

    Attributes:
        paused: True for a pause, False for a stop.
    """

    paused: bool = False


@dataclass(frozen=True, slots=True)
class SafetyKeyPulled:
    """Fitness Machine Status 0x03: stopped by the safety key."""


@dataclass(frozen=True, slots=True)
class StartedByUser:
    """Fitness Machine Status 0x04: started or resumed at the console."""


@dataclass(frozen=True, slots=True)
class TargetSpeedChanged:
    """Fitness Machine Status 0x05: the treadmill's target speed changed.

    Attributes:
        speed_kmh: The new target speed the treadmill reports.
    """

    speed_kmh: float


@dataclass(frozen=True, slots=True)
class ControlLost:
    """Fitness Machine Status 0xFF: control permission lost."""


@dataclass(frozen=True, slots=True)
class SpeedWritten:
    """A target speed this governor decided has just been written to the treadmill.

    A slow or silent control point delays writes behind the decisions: the
    treadmill's echo (status 0x05) and the belt then follow a speed decided a few
    seconds ago. The governor counts what the treadmill was told, when it was told,
    as asked for.

    Attributes:
        speed_kmh: The speed written.
    """

    speed_kmh: float


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The BLE link is connected and subscribed (again)."""


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The BLE link dropped."""


type Observation = (
    BeltData
    | StoppedByUser
    | SafetyKeyPulled
    | StartedByUser
    | TargetSpeedChanged
    | ControlLost
    | SpeedWritten
    | LinkUp
    | LinkDown
)

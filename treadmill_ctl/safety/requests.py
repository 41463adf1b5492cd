"""What callers ask of the governor: a profile step, a hotkey, an MQTT command, the UI.

Requests are plain values and are not checked when built: the governor is the one
gate, and it answers a bad value (NaN, infinite, negative) with a ``Refused``
decision and no command, so a bad MQTT message or profile value never moves the belt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadmill_ctl.safety.states import Direction, LatchReason

__all__ = [
    "EmergencyStop",
    "End",
    "Pause",
    "Rearm",
    "Request",
    "Resume",
    "SetTarget",
    "Start",
]


@dataclass(frozen=True, slots=True)
class SetTarget:
    """Walk at this speed and incline, facing this way.

    The governor ramps toward the speed at the configured rates, caps it for the
    direction and quantises it to the treadmill; a new direction goes through a
    turn-around. A speed of 0 (or below the treadmill's minimum) ramps down to a pause.

    Attributes:
        speed_kmh: Target belt speed; finite and not negative.
        direction: The way the person faces.
        incline_pct: Target incline; ``None`` leaves the incline as it is.
    """

    speed_kmh: float
    direction: Direction
    incline_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Start:
    """Start the belt (FTMS Start, then the starting speed).

    Attributes:
        by_person: True only when a person's own action in this session asked for it
            (a key press, a button); a profile or a remote may not start the belt.
    """

    by_person: bool


@dataclass(frozen=True, slots=True)
class Resume:
    """Resume a paused belt from the starting speed; like :class:`Start`, a person's act.

    Attributes:
        by_person: True only when a person's own action asked for it.
    """

    by_person: bool


@dataclass(frozen=True, slots=True)
class Pause:
    """Pause the belt now (FTMS Stop/Pause with parameter 0x02)."""


@dataclass(frozen=True, slots=True)
class End:
    """End the session: ramp down and stop, or stop at once.

    With ``latch``, it is a controlled safety stop instead: the belt ramps down at
    the normal deceleration (not an abrupt stop, for a person who may be walking
    backward), then the stop latches for that reason and only a re-arm leaves it.
    The heart-rate ceiling stops this way.

    Attributes:
        immediate: Stop now without the ramp (Ctrl-C, SIGTERM, an unhandled error).
        latch: Latch for this reason once the belt is down, instead of finishing.
        why: Why, in words, for the log and the alarm (with ``latch``).
    """

    immediate: bool = False
    latch: LatchReason | None = None
    why: str = ""


@dataclass(frozen=True, slots=True)
class EmergencyStop:
    """Stop now and latch; the decisions start with the stop command.

    Attributes:
        source: Who pressed it (``"hotkey"``, ``"mqtt"``, ``"sigint"``...), for the log.
    """

    source: str


@dataclass(frozen=True, slots=True)
class Rearm:
    """The person's explicit re-arm after a latch; the next start begins at the starting speed."""


type Request = SetTarget | Start | Resume | Pause | End | EmergencyStop | Rearm

"""What callers ask of the governor: a profile step, a hotkey, an MQTT command, the UI.

Requests are plain values and are not checked when built: the governor is the one
gate, and it answers a bad value (NaN, infinite, negative) with a ``Refused``
decision and no command, so a bad MQTT message or profile value never moves the belt.

Who asked is a :class:`RequestSource`, never a free string: whether a start counts
as a person's own act (SAFETY.md invariant 7) is a property of the source, written
once here, and a caller cannot make one up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadmill_ctl.safety.states import Direction, LatchReason

__all__ = [
    "EmergencyStop",
    "End",
    "Pause",
    "Rearm",
    "Request",
    "RequestSource",
    "Resume",
    "SetTarget",
    "Start",
]


class RequestSource(StrEnum):
    """Who asked the session for something; the value is what the record and the log say.

    Invariant 7 rests on two properties, and on nothing else: :attr:`is_person` (the
    person's own act at the treadmill, in this session) and :attr:`counts_as_person`
    (a start or resume that the governor may follow: the person's, or the dry run's
    stand-in that ``--yes`` puts in their place). Remote and automatic sources are
    neither: MQTT can stop, pause and slow the belt, never start or resume it.
    """

    HOTKEY = "hotkey"
    """A key pressed at the terminal beside the treadmill (keyboard, presenter, pedal)."""
    STAND_IN = "stand-in"
    """The dry run's stand-in for the person (``--yes``): it starts, and resumes after a
    turn-around; it never confirms anything for the person, nor ends their pause."""
    MQTT = "mqtt"
    """A command from the MQTT broker: anyone who can publish there."""
    TERMINAL = "terminal"
    """The terminal went away under the dashboard (closed, hung up): a stop."""
    SIGINT = "sigint"
    """Ctrl-C, or SIGINT from another process."""
    SIGTERM = "sigterm"
    """SIGTERM: the system or a supervisor ends the program."""
    SIGHUP = "sighup"
    """SIGHUP: the terminal or the ssh session is gone."""
    RECORD_FAILED = "record-failed"
    """The session record could not be written: the session stops itself."""
    DRY_RUN_GUARD = "dry-run-guard"
    """A dry run took far longer than its plan: the session stops itself."""
    HEART_RATE_REFUSAL = "heart-rate-refusal"
    """Unattended, no heart rate came for a start that needs one: the session ends."""

    @property
    def is_person(self) -> bool:
        """The person's own act at the treadmill: only such a source confirms for them."""
        return self is RequestSource.HOTKEY

    @property
    def counts_as_person(self) -> bool:
        """A start or resume from this source may reach the belt (``Start.by_person``)."""
        return self.is_person or self is RequestSource.STAND_IN


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
        source: Who pressed it, for the log.
    """

    source: RequestSource


@dataclass(frozen=True, slots=True)
class Rearm:
    """The person's explicit re-arm after a latch; the next start begins at the starting speed."""


type Request = SetTarget | Start | Resume | Pause | End | EmergencyStop | Rearm

"""What the governor decides: commands for the link, cues and alarms for the person.

Every decision carries a ``reason`` for the log. Commands are in the order to write
them. ``SendStop`` is special: the link must write it ahead of anything pending
(SAFETY.md invariant 5); after an emergency stop it is the first decision returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadmill_ctl.safety.observations import Observation
    from treadmill_ctl.safety.requests import Request
    from treadmill_ctl.safety.states import CueKind, Direction, GovernorState, LatchReason

__all__ = [
    "COMMAND_TYPES",
    "Alarm",
    "Command",
    "Cue",
    "Decision",
    "Refused",
    "SendIncline",
    "SendPause",
    "SendSpeed",
    "SendStart",
    "SendStop",
    "StateChanged",
    "TargetLimited",
    "Utterance",
]


@dataclass(frozen=True, slots=True)
class SendSpeed:
    """Write Set Target Speed (0x02).

    Attributes:
        speed_kmh: A supported, capped, quantised, finite, non-negative speed.
        direction: The way the person faces at this speed (for cues and the record).
        reason: Why.
    """

    speed_kmh: float
    direction: Direction
    reason: str


@dataclass(frozen=True, slots=True)
class SendIncline:
    """Write Set Target Inclination (0x03).

    Attributes:
        incline_pct: A supported incline within the direction's cap.
        direction: The direction whose cap it respects.
        reason: Why.
    """

    incline_pct: float
    direction: Direction
    reason: str


@dataclass(frozen=True, slots=True)
class SendStart:
    """Write Start or Resume (0x07); only ever after a person's action, never to a running belt."""

    reason: str


@dataclass(frozen=True, slots=True)
class SendStop:
    """Write Stop (0x08 0x01) ahead of anything pending."""

    reason: str


@dataclass(frozen=True, slots=True)
class SendPause:
    """Write Pause (0x08 0x02)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Utterance:
    """One way of saying a cue out loud.

    Attributes:
        text: What to say (units as words: "kilometres per hour").
        start_by_s: The latest session-clock time it may start (a countdown word on
            its second, a sentence saying "in 8 seconds"); ``None`` for no limit.
    """

    text: str
    start_by_s: float | None = None


@dataclass(frozen=True, slots=True)
class Cue:
    """Something to tell the person, who faces away from the screen.

    One value from the decision to the speaker: the governor decides one (its kind,
    its words, why, and for a countdown the seconds left); the session gives it to
    the person, adding how to say it and by when (SAFETY.md rule 10), and cues of
    its own (heads-ups, the speed floor, the heart rate, alarms).

    Attributes:
        kind: What it is about.
        text: A short sentence for the person; what the screen shows.
        reason: Why, for the log (empty for the session's own cues).
        seconds_left: For countdowns, the whole seconds left.
        urgent: An alarm: it cuts off an ordinary cue being said, never another alarm.
        speech: How to say it, preferred first (shorter variants after); empty to
            say ``text`` as it is.
        end_by_s: The session-clock time by which the saying must have ended (the
            event it warns of); a variant that cannot end by then is not said.
    """

    kind: CueKind
    text: str
    reason: str = ""
    seconds_left: int | None = None
    urgent: bool = False
    speech: tuple[Utterance, ...] = ()
    end_by_s: float | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    """A loud alarm: the person must act now (e.g. pull the safety key)."""

    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The governor moved from one state to another.

    Attributes:
        old: The state before.
        new: The state now.
        latch_reason: The most severe active latch cause when ``new`` is LATCHED.
        reason: Why.
    """

    old: GovernorState
    new: GovernorState
    latch_reason: LatchReason | None
    reason: str


@dataclass(frozen=True, slots=True)
class TargetLimited:
    """A target was lowered to fit the limits or the treadmill (not an error; worth showing).

    Attributes:
        requested_speed_kmh: What was asked.
        limited_speed_kmh: What the governor will aim for (0 means pause).
        reason: Why.
    """

    requested_speed_kmh: float
    limited_speed_kmh: float
    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """An input was not acted on; no command came from it.

    Attributes:
        item: The request or observation refused.
        reason: Why, as a sentence a person can act on.
    """

    item: Request | Observation
    reason: str


type Command = SendSpeed | SendIncline | SendStart | SendStop | SendPause
type Decision = Command | Cue | Alarm | StateChanged | TargetLimited | Refused

COMMAND_TYPES = (SendSpeed, SendIncline, SendStart, SendStop, SendPause)
"""The command classes, for ``isinstance`` checks."""

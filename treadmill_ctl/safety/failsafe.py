"""The failsafe: actions ordered by severity, latch causes with their way out, one gate.

Shaped after PX4's failsafe framework: the belt does what the most severe active
action says. The session itself asks for an action (drive, hold still, wind down);
every active latch cause asks for a latched stop, which outranks them all. Each cause
declares how it clears, and none clears on its own (EN 957-6: an emergency stop
cannot be reset automatically).

:func:`permitted` is the one place commands leave the governor: while a latched stop
is in force, the only command that passes is stop (SAFETY.md invariant 4), and no
speed passes that is not a speed within the cap (invariant 1, checked once more).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from treadmill_ctl.safety.decisions import COMMAND_TYPES, SendSpeed, SendStop
from treadmill_ctl.safety.states import ClearCondition, GovernorState, LatchReason
from treadmill_ctl.safety.validity import is_speed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from treadmill_ctl.safety.decisions import Decision
    from treadmill_ctl.safety.states import Direction

__all__ = ["CAUSES", "LATCH_CLEARS", "MODE_ACTIONS", "Action", "Cause", "Latches", "permitted"]


class Action(IntEnum):
    """What the belt is made to do, least severe first: the most severe active one wins."""

    NONE = 0
    """Drive the belt toward the targets, within the limits."""
    HOLD = 1
    """Keep the belt still until the person starts or resumes it."""
    CONTROLLED_STOP = 2
    """Ramp down and stop: the session ends."""
    LATCHED_STOP = 3
    """Stop now, send nothing but stop, until the person re-arms."""


MODE_ACTIONS: Mapping[GovernorState, Action] = {
    GovernorState.IDLE: Action.HOLD,
    GovernorState.RUNNING: Action.NONE,
    GovernorState.TURNING_AROUND: Action.NONE,
    GovernorState.PAUSED: Action.HOLD,
    GovernorState.ENDING: Action.CONTROLLED_STOP,
    GovernorState.FINISHED: Action.CONTROLLED_STOP,
    GovernorState.LATCHED: Action.LATCHED_STOP,
}
"""The action each state of the session asks for."""


@dataclass(frozen=True, slots=True)
class Cause:
    """One latch cause as declared: what it does, how it clears, what the person hears.

    Attributes:
        action: The action it asks for while active.
        clears: The declared way out.
        alarm: The loud sentence for the person.
        alarm_again: Whether every repeat sounds the alarm again (not only the first).
    """

    action: Action
    clears: ClearCondition
    alarm: str
    alarm_again: bool = False


_TO_THE_CONSOLE = "Stop the belt at the console or pull the safety key."

# The action first in every alarm: one cut short must still have said what to do.
CAUSES: Mapping[LatchReason, Cause] = {
    LatchReason.HEART_RATE: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS,
        "The belt slows to a stop: heart rate above your limit.",
    ),
    LatchReason.HEART_RATE_UNKNOWN: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS,
        "The belt slows to a stop: no heart rate any more.",
    ),
    LatchReason.UNREQUESTED_SPEED_CHANGE: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS,
        "Stopping the belt: its speed changed unasked.",
    ),
    LatchReason.STALE_DATA: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS_WITH_LINK_UP,
        f"{_TO_THE_CONSOLE} The treadmill stopped sending data.",
    ),
    LatchReason.CONTROL_LOST: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS_WITH_LINK_UP,
        f"{_TO_THE_CONSOLE} The treadmill took control away.",
    ),
    LatchReason.LINK_LOST: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS_WITH_LINK_UP,
        f"{_TO_THE_CONSOLE} The connection is lost.",
    ),
    LatchReason.STOP_NOT_CONFIRMED: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS,
        "PULL THE SAFETY KEY NOW. The belt may not have stopped.",
        alarm_again=True,
    ),
    LatchReason.SAFETY_KEY: Cause(
        Action.LATCHED_STOP, ClearCondition.PERSON_REARMS, "Safety key pulled: the belt is stopped."
    ),
    LatchReason.EMERGENCY_STOP: Cause(
        Action.LATCHED_STOP,
        ClearCondition.PERSON_REARMS,
        "Stopping the belt: emergency stop.",
    ),
}
"""Every latch cause, declared once."""

LATCH_CLEARS: Mapping[LatchReason, ClearCondition] = {
    reason: cause.clears for reason, cause in CAUSES.items()
}
"""The declared way out of each latch cause."""


class Latches:
    """The active latch causes; several may be active at once, none clears on its own."""

    __slots__ = ("_action", "_active")

    def __init__(self) -> None:
        self._active: set[LatchReason] = set()
        self._action = Action.NONE

    def __bool__(self) -> bool:
        return bool(self._active)

    @property
    def active(self) -> frozenset[LatchReason]:
        """Every active cause."""
        return frozenset(self._active)

    @property
    def most_severe(self) -> LatchReason | None:
        """The cause that names the latch, or ``None`` when nothing is latched."""
        return max(self._active) if self._active else None

    @property
    def action(self) -> Action:
        """The most severe action the active causes ask for."""
        return self._action

    def add(self, reason: LatchReason) -> bool:
        """Make ``reason`` active; return whether it was not already."""
        is_new = reason not in self._active
        self._active.add(reason)
        self._action = max(self._action, CAUSES[reason].action)
        return is_new

    def rearm_refusal(self, *, link_up: bool) -> str | None:
        """Why the person's re-arm cannot clear the latch now, or ``None`` when it can."""
        needs_link = any(
            CAUSES[reason].clears is ClearCondition.PERSON_REARMS_WITH_LINK_UP
            for reason in self._active
        )
        if needs_link and not link_up:
            return "the treadmill is not connected: reconnect, then re-arm"
        return None

    def clear(self) -> None:
        """The person re-armed (after :meth:`rearm_refusal` allowed it)."""
        self._active.clear()
        self._action = Action.NONE


def permitted(
    decisions: list[Decision], action: Action, cap_kmh: Callable[[Direction], float]
) -> list[Decision]:
    """The decisions that may leave the governor: the gate every command passes.

    Args:
        decisions: What the governor decided, in order.
        action: The most severe action in force once they were decided.
        cap_kmh: The effective speed cap for a direction.

    Returns:
        The decisions with every command but stop dropped while latched, and any speed
        that is not a speed within its cap replaced by a stop.
    """
    latched = action is Action.LATCHED_STOP
    if not latched:
        for decision in decisions:
            if type(decision) is SendSpeed and not is_speed(
                decision.speed_kmh, ceiling_kmh=cap_kmh(decision.direction)
            ):
                break
        else:
            return decisions  # the common case: nothing to drop or replace
    out: list[Decision] = []
    for decision in decisions:
        if latched and isinstance(decision, COMMAND_TYPES) and not isinstance(decision, SendStop):
            continue  # invariant 4: while latched, the only command is stop
        if type(decision) is SendSpeed and not is_speed(
            decision.speed_kmh, ceiling_kmh=cap_kmh(decision.direction)
        ):
            out.append(SendStop(f"refused to send {decision.speed_kmh!r} km/h: not within its cap"))
            continue
        out.append(decision)
    return out

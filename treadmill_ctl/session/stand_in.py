"""Dry runs only: the runner standing in for the person's key presses.

In an unattended dry run (``--yes``) nobody presses start, or resume after a
turn-around: :class:`StandIn` says when a person would, and nothing more. It never
resumes a pause the person (or the console) asked for, never starts again after a
latch, and, when it listens, presses only once what was said has been heard.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from treadmill_ctl.safety.states import GovernorState

__all__ = ["STAND_IN_LISTEN_S", "Press", "StandIn"]

STAND_IN_LISTEN_S: Final = 0.5
"""A listening stand-in presses this long after what was said has ended."""

_RETRY_S: Final = 1.0
"""A press the governor refused is tried again after this."""


class Press(StrEnum):
    """The key a person would press now."""

    START = "start"
    RESUME = "resume"


class StandIn:
    """When a person would press start or resume (see the module's docstring).

    Args:
        listens: Press only once what was said has been heard (``make demo``).
    """

    def __init__(self, *, listens: bool) -> None:
        self._listens = listens
        self._next_try_s = 0.0

    def press(
        self,
        now_s: float,
        *,
        state: GovernorState,
        waiting_for_start: bool,
        latched_before: bool,
        paused_after_turn: bool,
        person_paused: bool,
        ending: bool,
        said_until_s: float,
    ) -> Press | None:
        """The key to press now, if any."""
        if now_s < self._next_try_s:
            return None
        if self._listens and now_s < said_until_s + STAND_IN_LISTEN_S:
            return None
        if state is GovernorState.IDLE and waiting_for_start:
            if latched_before:
                return None
            self._next_try_s = now_s + _RETRY_S
            return Press.START
        if state is GovernorState.PAUSED and paused_after_turn and not person_paused and not ending:
            # the person's resume after a turn-around; a pause the person (or the
            # console) asked for is theirs to end
            self._next_try_s = now_s + _RETRY_S
            return Press.RESUME
        return None

"""When and how a session ends: the rules, pure, with time passed in.

:class:`SessionEnding` says, each control tick, whether the session ends now and
with which :class:`~treadmill_ctl.session.events.SessionEnd`:

* once the governor has FINISHED (the plan's end, or an end asked for), when the belt
  has settled;
* once it is LATCHED, when nobody can re-arm (no key reader), or the person asked to
  end or interrupted: again when the belt has settled;
* "settled" is the treadmill's own word that the belt stopped, with no stop still
  pending or on its way; waiting for it gives up after :data:`SETTLE_TIMEOUT_S`
  (said in the log: the stop is unconfirmed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import structlog

from treadmill_ctl.safety.states import GovernorState, LatchReason
from treadmill_ctl.session.events import SessionEnd

__all__ = ["SETTLE_TIMEOUT_S", "EndFacts", "SessionEnding"]

_log = structlog.get_logger("treadmill_ctl.session")

SETTLE_TIMEOUT_S: Final = 30.0
"""After the end or a latch, how long to wait for the belt to report a stop."""


@dataclass(frozen=True, slots=True)
class EndFacts:
    """What the session knows now that decides its end.

    Attributes:
        state: The governor's state.
        latch_reason: Why it is latched, if it is.
        belt_settled: The belt reported a stop, and no stop is pending or on its way.
        interactive: A person can re-arm after a latch (a key reader is attached).
        interrupted: Ctrl-C, SIGTERM or a failed record interrupted the session.
        end_requested: Someone asked to end it.
        refused_for_heart_rate: Unattended, the start was refused for want of heart rate.
        gave_up: A dry run declared itself stuck.
        record_failed: The session record could no longer be written.
    """

    state: GovernorState
    latch_reason: LatchReason | None
    belt_settled: bool
    interactive: bool
    interrupted: bool
    end_requested: bool
    refused_for_heart_rate: bool = False
    gave_up: bool = False
    record_failed: bool = False


class SessionEnding:
    """The end rules of one session (see the module's docstring)."""

    def __init__(self, settle_timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        self._settle_timeout_s = settle_timeout_s
        self._deadline_s: float | None = None

    def end(self, facts: EndFacts, now_s: float) -> SessionEnd | None:
        """How the session ends now, or None while it goes on."""
        if facts.state is GovernorState.FINISHED:
            return self._when_settled(facts, now_s, _finished_end(facts))
        if facts.state is GovernorState.LATCHED:
            ends_here = facts.interrupted or facts.end_requested or not facts.interactive
            return self._when_settled(facts, now_s, _latched_end(facts)) if ends_here else None
        self._deadline_s = None
        return None

    def _when_settled(self, facts: EndFacts, now_s: float, end: SessionEnd) -> SessionEnd | None:
        """``end`` once the belt reports a stop (or waiting for it timed out)."""
        if facts.belt_settled or self._timed_out(now_s):
            return end
        return None

    def _timed_out(self, now_s: float) -> bool:
        if self._deadline_s is None:
            self._deadline_s = now_s + self._settle_timeout_s
        if now_s >= self._deadline_s:
            _log.error("session.stop_unconfirmed", waited_s=self._settle_timeout_s)
            return True
        return False


def _finished_end(facts: EndFacts) -> SessionEnd:
    if facts.refused_for_heart_rate:
        return SessionEnd.SAFETY_LATCH
    if facts.end_requested:
        return SessionEnd.STOPPED_BY_PERSON
    return SessionEnd.COMPLETED


def _latched_end(facts: EndFacts) -> SessionEnd:
    if facts.gave_up or facts.record_failed:
        return SessionEnd.ERROR
    if facts.interrupted or facts.latch_reason is LatchReason.EMERGENCY_STOP:
        return SessionEnd.STOPPED_BY_PERSON
    return SessionEnd.SAFETY_LATCH

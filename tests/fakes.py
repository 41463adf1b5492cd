"""Fakes for what is outside the code under test; tests/conftest.py serves them as fixtures.

Import the classes from here for annotations or for a second instance; take the
fixtures (``control``, ``make_control``) in tests.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from treadmill_ctl.session.events import ControlOutcome

if TYPE_CHECKING:
    from treadmill_ctl.session.events import SessionControl


class RecordingControl:
    """A SessionControl that records each request as ``(what, source)``, in order.

    Each method returns at once, as the runner's do. A nudge is recorded with its
    signed step, e.g. ``("nudge_speed(+0.2)", "mqtt")``. Tests whose requests arrive
    from another task or thread (a broker, a pty) wait with :meth:`wait_for_calls`.
    """

    WAIT_S: Final = 10.0
    """How long :meth:`wait_for_calls` waits at most: a safety net, not a timing check."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self._changed = asyncio.Event()

    def _record(self, what: str, source: object) -> None:
        self.calls.append((what, source))
        self._changed.set()

    def emergency_stop(self, source: object) -> None:
        self._record("emergency_stop", source)

    def start(self, source: object) -> None:
        self._record("start", source)

    def pause(self, source: object) -> ControlOutcome:
        self._record("pause", source)
        paused_before = any(what == "pause" for what, _ in self.calls[:-1])
        if paused_before:  # as the governor answers: nothing to pause while paused
            return ControlOutcome(accepted=False, detail="nothing to pause while paused")
        return ControlOutcome(accepted=True)

    def resume(self, source: object) -> None:
        self._record("resume", source)

    def toggle_pause(self, source: object) -> None:
        self._record("toggle_pause", source)

    def rearm(self, source: object) -> None:
        self._record("rearm", source)

    def end(self, source: object) -> None:
        self._record("end", source)

    def nudge_speed(self, delta_kmh: float, source: object) -> None:
        self._record(f"nudge_speed({delta_kmh:+g})", source)

    async def wait_for_calls(self, count: int, *, timeout_s: float = WAIT_S) -> None:
        """Return once at least ``count`` requests have arrived."""
        async with asyncio.timeout(timeout_s):
            while len(self.calls) < count:
                self._changed.clear()
                await self._changed.wait()


def _is_a_session_control(control: RecordingControl) -> SessionControl:
    """Never called: mypy checks here that the fake still fits SessionControl."""
    return control

"""The one :class:`Clock`: where code that waits reads the time, never the wall clock.

It stands at the ground floor beside :mod:`treadmill_ctl.errors` because every layer
that waits takes one: the FTMS link and the strap's link (time-outs, the backoff
between reconnections, the stamps on their events), the session runner and its
record, the cue player. Its implementations are in :mod:`treadmill_ctl.session.clock`:
the running loop's clock, real on a normal loop and virtual on an accelerated one.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """Monotonic time and a sleep on the same scale; the session hands its own around."""

    def now_s(self) -> float:
        """Monotonic seconds, on the same scale as :meth:`sleep`."""
        ...

    async def sleep(self, duration_s: float) -> None:
        """Wait ``duration_s`` seconds of this clock's time."""
        ...

"""The turn-around: which way the person faces, and the hold before that may change.

SAFETY.md invariant 3: a change of direction happens only after the belt target has
been at or below the turn-around speed for the whole hold time. FTMS has no direction,
so this is the governor's own bookkeeping: the direction whose limits apply, a
requested new one, and since when the commanded speed has been low enough. Before the
first start a requested direction is taken at once (the belt is still).
"""

from __future__ import annotations

import math

from treadmill_ctl.safety.states import Direction

__all__ = ["TurnAround"]


class TurnAround:
    """The direction in force, a pending new one, and the hold's clock.

    Args:
        turn_hundredths: The turn-around speed in hundredths (0: the belt pauses to turn).
        hold_s: How long the belt must stay at or below it.
        now_s: The clock's time at creation (the belt is still).
    """

    __slots__ = (
        "_countdown_s",
        "_hold_s",
        "_locked",
        "_low_since_s",
        "_turn_hundredths",
        "direction",
        "pending",
    )

    def __init__(self, turn_hundredths: int, hold_s: float, *, now_s: float) -> None:
        self._turn_hundredths = turn_hundredths
        self._hold_s = hold_s
        self.direction = Direction.FORWARD
        """The direction whose limits apply to the belt now."""
        self.pending: Direction | None = None
        """A requested new direction not yet taken."""
        self._locked = False
        self._low_since_s: float | None = now_s
        self._countdown_s: int | None = None

    def ask(self, direction: Direction) -> None:
        """The person wants to face ``direction``: now before the first start, else after a hold."""
        if not self._locked:
            self.direction = direction
        elif direction is self.direction:
            self.pending = None
        else:
            self.pending = direction

    def take(self) -> None:
        """The belt starts (or the hold is over): a pending direction is now the direction."""
        if self.pending is not None:
            self.direction = self.pending
            self.pending = None
        self._locked = True

    def forget(self) -> None:
        """No turn-around any more (the session ends)."""
        self.pending = None
        self.quiet()

    def quiet(self) -> None:
        """Restart the countdown's announcements."""
        self._countdown_s = None

    def commanded(self, speed_hundredths: int, now_s: float) -> None:
        """A speed was commanded (0 for a halt): the hold runs while it is low enough."""
        if speed_hundredths > self._turn_hundredths:
            self._low_since_s = None
        elif self._low_since_s is None:
            self._low_since_s = now_s

    def hold_left_s(self, now_s: float) -> float:
        """How much of the hold is left (the whole hold while the speed is too high)."""
        if self._low_since_s is None:
            return self._hold_s
        return self._hold_s - (now_s - self._low_since_s)

    def start_direction(self, now_s: float) -> Direction | float:
        """The direction a start would walk in, or the seconds to wait before it may."""
        if self.pending is None or not self._locked:
            return self.direction
        left_s = self.hold_left_s(now_s)
        return left_s if left_s > 0 else self.pending

    def clock(self, now_s: float) -> int | None:
        """Let the hold's time pass while turning round.

        Returns:
            The whole seconds left when that number changes (a countdown cue is due);
            0 when the hold is over and the new direction has been taken; else ``None``.
        """
        if self.pending is None or self._low_since_s is None:
            return None
        left_s = self.hold_left_s(now_s)
        if left_s > 0:
            seconds = math.ceil(left_s)
            if seconds == self._countdown_s:
                return None
            self._countdown_s = seconds
            return seconds
        self._countdown_s = None
        self.take()
        return 0

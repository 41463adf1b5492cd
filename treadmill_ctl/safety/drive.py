"""What the belt is told: the one place the governor's belt commands are made.

Every speed, incline, stop and pause the governor decides is made here, and each
updates what depends on it at the same moment: the ramp (the speed as commanded,
:mod:`~treadmill_ctl.safety.ramp`), the turn-around's hold (the time spent low
enough, :mod:`~treadmill_ctl.safety.turnaround`) and the watchdogs (what counts as
asked for, and a halt the belt must confirm, :mod:`~treadmill_ctl.safety.watchdogs`).
The governor decides *when*; this module makes *what*. Everything made here still
leaves the governor only through the gate
(:func:`~treadmill_ctl.safety.failsafe.permitted`).

Speeds and inclines are integer hundredths (of a km/h, of a percent: the FTMS units).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from treadmill_ctl.safety.decisions import SendIncline, SendPause, SendSpeed, SendStop
from treadmill_ctl.safety.ramp import Ramp
from treadmill_ctl.safety.watchdogs import STOPPED_KMH

if TYPE_CHECKING:
    from treadmill_ctl.safety.decisions import Decision
    from treadmill_ctl.safety.envelope import Envelope
    from treadmill_ctl.safety.limits import Limits, MachineRanges
    from treadmill_ctl.safety.turnaround import TurnAround
    from treadmill_ctl.safety.watchdogs import Watchdogs

__all__ = ["Drive"]


class Drive:
    """The commanded speed and incline, and the commands that change them.

    Args:
        limits: The limits in force (the ramp's rates).
        ranges: The treadmill's own ranges (the ramp's minimum and increment).
        envelope: The session's caps and starting speeds.
        turn: The turn-around, told of every speed commanded.
        watchdogs: The watchdogs, told of every speed commanded and every halt.
        now_s: The clock's time at creation.
        step_s: Shortest time between two ramp steps.
        writes_reported: Whether every speed is reported as it is written (see
            :class:`~treadmill_ctl.safety.ramp.Ramp`).
    """

    __slots__ = ("_envelope", "_incline_hundredths", "_ramp", "_turn", "_watchdogs", "next_step")

    def __init__(
        self,
        limits: Limits,
        ranges: MachineRanges,
        envelope: Envelope,
        turn: TurnAround,
        watchdogs: Watchdogs,
        *,
        now_s: float,
        step_s: float,
        writes_reported: bool,
    ) -> None:
        self._ramp = Ramp(
            limits, ranges, now_s=now_s, step_s=step_s, writes_reported=writes_reported
        )
        self._envelope = envelope
        self._turn = turn
        self._watchdogs = watchdogs
        self._incline_hundredths: int | None = None
        self.next_step = self._ramp.next_hundredths
        """The next ramp step toward a goal, if one is due (``Ramp.next_hundredths``)."""

    @property
    def ramp(self) -> Ramp:
        """The ramp, to read its ``commanded_hundredths``; only the drive moves it.

        (The speed last commanded, 0 while stopped or paused, is read at every tick:
        from the ramp itself it costs no call.)
        """
        return self._ramp

    def start(
        self, target_incline_pct: float | None, now: float, why: str, out: list[Decision]
    ) -> None:
        """The belt starts: the starting speed (invariant 2), the incline, a fresh watch."""
        self._turn.take()
        self._watchdogs.starting(now)
        direction = self._turn.direction
        self.speed(self._envelope.starting_hundredths(direction), now, why, out)
        incline = self._envelope.incline_goal_hundredths(target_incline_pct, direction)
        self.incline(incline, "target incline", out)

    def speed(self, speed_hundredths: int, now: float, why: str, out: list[Decision]) -> None:
        """Command a speed (a ramp step or the starting speed) in the current direction."""
        out.append(SendSpeed(speed_hundredths / 100, self._turn.direction, why))
        self._ramp.command(speed_hundredths, now)
        self._watchdogs.commanded(speed_hundredths, now)
        self._turn.commanded(speed_hundredths, now)

    def written(self, speed_hundredths: int, now: float) -> None:
        """The treadmill was just told this speed: it counts as asked for.

        The next ramp step counts from now (the ramp as the treadmill receives it).
        """
        self._watchdogs.commanded(speed_hundredths, now)
        self._ramp.written(speed_hundredths, now)

    def incline(self, incline_hundredths: int | None, why: str, out: list[Decision]) -> None:
        """Command an incline, unless it is none or the one already commanded."""
        if incline_hundredths is None or incline_hundredths == self._incline_hundredths:
            return
        self._incline_hundredths = incline_hundredths
        out.append(SendIncline(incline_hundredths / 100, self._turn.direction, why))

    def halt(
        self, halt: SendStop | SendPause, now: float, belt_kmh: float | None, out: list[Decision]
    ) -> None:
        """Command a stop or pause, and have the belt confirm it (invariant 8)."""
        commanded_hundredths = self._ramp.commanded_hundredths
        out.append(halt)
        self.halted(now)
        if commanded_hundredths > 0 or (belt_kmh is not None and belt_kmh > STOPPED_KMH):
            commanded_kmh = commanded_hundredths / 100 if commanded_hundredths > 0 else math.inf
            self._watchdogs.verify_halt(now, belt_kmh=belt_kmh, commanded_kmh=commanded_kmh)

    def halted(self, now: float) -> None:
        """The belt is now meant to be still (our halt, or one at the console)."""
        self._watchdogs.halted(now, was_commanded=self._ramp.commanded_hundredths != 0)
        self._ramp.command(0, now)
        self._turn.commanded(0, now)

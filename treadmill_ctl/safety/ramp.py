"""The ramp as the treadmill receives it: the one place the rate limits are applied.

SAFETY.md invariant 2: between two speed commands the change is at most the rate
times the time between them. What matters is the time between the commands the
treadmill receives, not between the governor's decisions: a write held up behind a
slow control point would otherwise reach the treadmill just before the next step, and
the belt would see a steeper ramp than allowed. So when the caller reports each
speed as it is written (``writes_reported``), a new step is decided only once the
last one has been written, and it is sized by the time since that write. A step is
therefore never written sooner than it was decided, and the ramp holds as received;
nothing else needs to pace the writes. Without reports, a speed counts as told when
decided.

Speeds are integer hundredths of a km/h (the FTMS unit), quantised to the
treadmill's increment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from treadmill_ctl.safety.limits import hundredths_floor

if TYPE_CHECKING:
    from treadmill_ctl.safety.limits import Limits, MachineRanges

__all__ = ["Ramp"]


class Ramp:
    """The commanded speed, and the next step toward a goal at the allowed rates.

    Args:
        limits: The acceleration and deceleration in force.
        ranges: The treadmill's minimum speed and increment.
        now_s: The clock's time at creation.
        step_s: Shortest time between two steps, so the control point is not flooded.
        writes_reported: Whether :meth:`written` is told of every speed as it is written.
    """

    __slots__ = (
        "_acceleration",
        "_awaiting_write",
        "_deceleration",
        "_increment_hundredths",
        "_max_dt_s",
        "_min_hundredths",
        "_step_s",
        "_told_s",
        "_writes_reported",
        "commanded_hundredths",
    )

    def __init__(
        self,
        limits: Limits,
        ranges: MachineRanges,
        *,
        now_s: float,
        step_s: float,
        writes_reported: bool,
    ) -> None:
        self._acceleration = limits.acceleration_kmh_per_s
        self._deceleration = limits.deceleration_kmh_per_s
        self._increment_hundredths = ranges.speed_increment_hundredths
        self._min_hundredths = ranges.min_speed_hundredths
        self._step_s = step_s
        slowest = min(self._acceleration, self._deceleration)
        # A longer gap (a late tick) buys no bigger step, but one increment is always
        # within reach so that slow rates and coarse increments still move.
        self._max_dt_s = max(1.0, 2 * step_s, self._increment_hundredths / 100 / slowest)
        self._writes_reported = writes_reported
        self.commanded_hundredths = 0
        """The speed last decided, in hundredths; 0 while stopped or paused."""
        self._told_s = now_s
        self._awaiting_write = False

    def command(self, speed_hundredths: int, now_s: float) -> None:
        """A speed was decided (a step, or the starting speed); 0 for a halt."""
        self.commanded_hundredths = speed_hundredths
        self._told_s = now_s
        self._awaiting_write = self._writes_reported and speed_hundredths > 0

    def written(self, speed_hundredths: int, now_s: float) -> None:
        """The treadmill has just been told ``speed_hundredths``: the next step counts from now."""
        if self._awaiting_write and speed_hundredths == self.commanded_hundredths:
            self._awaiting_write = False
            self._told_s = now_s

    def next_hundredths(self, goal_hundredths: int, now_s: float) -> int | None:
        """The next speed toward ``goal_hundredths``, if a step is due now.

        Returns:
            ``None`` when no step is due (at the goal, stopped, too soon, or the last
            step not yet written); 0 when the ramp down has reached the treadmill's
            minimum and the belt should halt; otherwise the next speed in hundredths.
        """
        current_hundredths = self.commanded_hundredths
        if current_hundredths in {0, goal_hundredths} or self._awaiting_write:
            return None
        dt_s = now_s - self._told_s
        if dt_s < self._step_s:
            return None
        dt_s = min(dt_s, self._max_dt_s)
        if goal_hundredths > current_hundredths:
            next_hundredths = min(
                goal_hundredths,
                current_hundredths + self._step_hundredths(self._acceleration, dt_s),
            )
        elif goal_hundredths == 0 and current_hundredths <= self._min_hundredths:
            return 0
        else:
            floor_hundredths = goal_hundredths if goal_hundredths > 0 else self._min_hundredths
            next_hundredths = max(
                floor_hundredths,
                current_hundredths - self._step_hundredths(self._deceleration, dt_s),
            )
        return None if next_hundredths == current_hundredths else next_hundredths

    def _step_hundredths(self, rate_kmh_per_s: float, dt_s: float) -> int:
        increment_hundredths = self._increment_hundredths
        return (
            hundredths_floor(rate_kmh_per_s * dt_s) // increment_hundredths * increment_hundredths
        )

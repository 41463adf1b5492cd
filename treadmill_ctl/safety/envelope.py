"""The envelope: the limits and the treadmill's own ranges combined, per direction.

SAFETY.md invariant 1 lives here: every speed the governor aims for is at most the
effective cap for its direction (the direction's limit, the treadmill's maximum),
quantised down onto the treadmill's grid, and a speed below the treadmill's minimum
is 0 (a pause, not a target). Inclines likewise. Worked out once, when the session's
limits and ranges are known, in integer hundredths (the FTMS unit), so rounding never
lifts a value past a cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from treadmill_ctl.safety.decisions import TargetLimited
from treadmill_ctl.safety.limits import hundredths_floor
from treadmill_ctl.safety.states import Direction

if TYPE_CHECKING:
    from treadmill_ctl.safety.limits import Limits, MachineRanges

__all__ = ["Envelope"]


class Envelope:
    """The effective caps, starting speeds and turn-around speed of one session.

    Args:
        limits: The limits in force.
        ranges: The treadmill's own ranges.
    """

    __slots__ = (
        "_cap_hundredths",
        "_last_goal",
        "_limits",
        "_ranges",
        "_starting_hundredths",
        "turn_hundredths",
    )

    def __init__(self, limits: Limits, ranges: MachineRanges) -> None:
        self._limits = limits
        self._ranges = ranges
        self._cap_hundredths = {
            direction: self._on_grid_hundredths(limits.max_speed_kmh(backward=_backward(direction)))
            for direction in Direction
        }
        starting_hundredths = max(
            ranges.min_speed_hundredths, self._on_grid_hundredths(limits.starting_speed_kmh)
        )
        self._starting_hundredths = {
            direction: min(cap_hundredths, starting_hundredths) if cap_hundredths else 0
            for direction, cap_hundredths in self._cap_hundredths.items()
        }
        self.turn_hundredths = self._on_grid_hundredths(
            min(
                limits.turnaround_speed_kmh,
                limits.backward_max_speed_kmh,
                limits.forward_max_speed_kmh,
            )
        )
        """The turn-around belt speed in hundredths; 0: the belt pauses to turn."""
        self._last_goal: tuple[float | None, Direction, int] | None = None

    def cap_hundredths(self, direction: Direction) -> int:
        """The effective speed cap for a direction, in hundredths; 0: it cannot run."""
        return self._cap_hundredths[direction]

    def cap_kmh(self, direction: Direction) -> float:
        """The effective speed cap for a direction, in km/h."""
        return self._cap_hundredths[direction] / 100

    def starting_hundredths(self, direction: Direction) -> int:
        """Where every start begins, in hundredths; 0 if the direction cannot run at all."""
        return self._starting_hundredths[direction]

    def speed_goal_hundredths(self, target_kmh: float | None, direction: Direction) -> int:
        """The speed to aim for: the target capped and on the grid (0: a pause).

        Without a target yet, the starting speed. Asked at every tick with the same
        target, so the last answer is kept.
        """
        last = self._last_goal
        if last is not None and last[0] == target_kmh and last[1] is direction:
            return last[2]
        if target_kmh is None:
            goal_hundredths = self._starting_hundredths[direction]
        else:
            wanted_hundredths = min(hundredths_floor(target_kmh), self._cap_hundredths[direction])
            goal_hundredths = self._ranges.speed_floor_hundredths(wanted_hundredths)
        self._last_goal = (target_kmh, direction, goal_hundredths)
        return goal_hundredths

    def limited(self, target_kmh: float, direction: Direction) -> TargetLimited | None:
        """What the person is told when the caps allow less than a target asks for."""
        goal_hundredths = self.speed_goal_hundredths(target_kmh, direction)
        if goal_hundredths >= hundredths_floor(target_kmh):
            return None
        allowed = f"{goal_hundredths / 100:g} km/h" + (" (a pause)" if goal_hundredths == 0 else "")
        why = f"the {direction} limit and the treadmill's range allow {allowed}"
        return TargetLimited(target_kmh, goal_hundredths / 100, why)

    def cannot_run(self, direction: Direction) -> str | None:
        """Why the belt cannot run at all in a direction, or ``None`` when it can."""
        if self._starting_hundredths[direction]:
            return None
        return (
            f"the treadmill's minimum speed {self._ranges.min_speed_kmh:g} km/h is above "
            f"the {direction} speed limit"
        )

    def incline_goal_hundredths(self, target_pct: float | None, direction: Direction) -> int | None:
        """The incline to aim for in hundredths, or ``None``: no target, or none possible."""
        if target_pct is None:
            return None
        cap_pct = self._limits.max_incline_pct(backward=_backward(direction))
        incline_pct = self._ranges.clamp_incline(target_pct, cap_pct)
        return None if incline_pct is None else round(incline_pct * 100)

    def turn_incline_hundredths(self, target_pct: float | None) -> int | None:
        """The incline while turning round: the lower of both directions' goals."""
        goals = [self.incline_goal_hundredths(target_pct, direction) for direction in Direction]
        known = [goal for goal in goals if goal is not None]
        return min(known) if len(known) == len(goals) else None

    def _on_grid_hundredths(self, speed_kmh: float) -> int:
        ranges = self._ranges
        return ranges.speed_floor_hundredths(hundredths_floor(min(speed_kmh, ranges.max_speed_kmh)))


def _backward(direction: Direction) -> bool:
    return direction is Direction.BACKWARD

"""The one check of the numbers the governor is handed: is it a speed, is it finite?

Requests and observations are not checked when built (a bad MQTT message or a
malformed notification reaches the governor as it came), so every value the governor
acts on passes here first: :func:`refusal` is asked about each request and
observation before the governor looks at it, and :func:`is_speed` once more at the
gate for every speed that leaves (:func:`~treadmill_ctl.safety.failsafe.permitted`).
A negative speed packed as FTMS's unsigned 16 bits wraps to a very fast one
(SAFETY.md): negative, NaN and infinite values never get past this.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypeGuard

from treadmill_ctl.safety.observations import BeltData, SpeedWritten, TargetSpeedChanged
from treadmill_ctl.safety.requests import SetTarget

if TYPE_CHECKING:
    from treadmill_ctl.safety.observations import Observation
    from treadmill_ctl.safety.requests import Request

__all__ = ["is_finite", "is_speed", "refusal"]


def is_finite(value: object) -> TypeGuard[float]:
    """Whether ``value`` is a finite real number (``True``/``False`` are not numbers here)."""
    if isinstance(value, float):  # the common case first: this runs at every tick
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def is_speed(value: object, *, ceiling_kmh: float = math.inf) -> TypeGuard[float]:
    """Whether ``value`` is a speed: finite, not negative, and not above ``ceiling_kmh``.

    Args:
        value: The value to check, of any type.
        ceiling_kmh: The highest acceptable speed (a cap); no ceiling by default.
    """
    return is_finite(value) and 0 <= value <= ceiling_kmh


def refusal(item: Request | Observation) -> str | None:  # noqa: PLR0911 (one reason a line)
    """Why the governor cannot act on ``item``, or ``None`` when its numbers are sound.

    Every speed a request or observation carries must be a speed, and its incline or
    elapsed time finite; anything else is refused whole, never clamped into shape.
    """
    if isinstance(item, BeltData):  # the common case first: a frame every second or more
        speed_kmh, elapsed_s = item.speed_kmh, item.elapsed_s
        if not is_speed(speed_kmh):
            return f"belt speed {speed_kmh!r} cannot be trusted"
        if elapsed_s is not None and not is_finite(elapsed_s):
            return f"elapsed time {elapsed_s!r} cannot be trusted"
        return None
    match item:
        case SetTarget(speed_kmh=speed_kmh, incline_pct=incline_pct):
            if not is_speed(speed_kmh):
                return f"target speed {speed_kmh!r} is not a speed"
            if incline_pct is not None and not is_finite(incline_pct):
                return f"target incline {incline_pct!r} is not an incline"
        case TargetSpeedChanged(speed_kmh=speed_kmh) if not is_speed(speed_kmh):
            return f"reported target speed {speed_kmh!r} cannot be trusted"
        case SpeedWritten(speed_kmh=speed_kmh) if not is_speed(speed_kmh):
            return f"written speed {speed_kmh!r} is not a speed"
        case _:
            pass
    return None

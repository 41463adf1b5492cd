"""The one check of a number the governor is handed: is it a speed, is it finite?

Requests and observations are not checked when built (a bad MQTT message or a
malformed notification reaches the governor as it came), so every value the governor
acts on passes here first. A negative speed packed as FTMS's unsigned 16 bits wraps to
a very fast one (SAFETY.md): negative, NaN and infinite values never get past this.
"""

from __future__ import annotations

import math
from typing import TypeGuard

__all__ = ["is_finite", "is_speed"]


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

"""Energy estimates for walking forward and backward (SAFETY.md, "Energy estimate").

These are estimates and are always shown as such, with the equation that made them:

- forward: the ACSM walking equation, VO2 = 3.5 + 0.1*S + 1.8*S*G;
- backward: a curve fitted to the Compendium of Physical Activities' two backward
  walking entries at 3.5 mph (6.0 MET level, 8.0 MET at 5 % grade),
  VO2 = 3.5 + 0.19*S + 1.5*S*G. It is an inference, unvalidated outside about
  4-6.5 km/h, and slow backward walking is usually below that range.

VO2 is in ml/kg/min, S is the speed in m/min and G the grade as a fraction; energy is
kcal/min = VO2 * kg / 200. Both equations are for walking uphill or on the level: a
downhill grade is counted as level, which overestimates a little rather than inventing
a downhill term nobody has fitted.
"""

from __future__ import annotations

import math
from enum import StrEnum

from treadmill_ctl.safety.states import Direction

ML_O2_PER_KG_MIN_PER_MET = 3.5
"""One MET, the resting oxygen uptake the equations start from."""

FORWARD_EQUATION = "ACSM walking: VO2 = 3.5 + 0.1*S + 1.8*S*G"
BACKWARD_EQUATION = "Compendium fit: VO2 = 3.5 + 0.19*S + 1.5*S*G (unvalidated outside 4-6.5 km/h)"
UNITS_NOTE = "VO2 in ml/kg/min, S in m/min, G grade as a fraction; kcal/min = VO2*kg/200"

DEFAULT_WEIGHT_KG = 70.0
"""Weight used when neither the user's config nor the profile gives one (flagged)."""


class WeightSource(StrEnum):
    """Where the weight behind an energy estimate came from, shown with the estimate."""

    PROFILE = "profile"
    CONFIG = "config"
    DEFAULT = "default"


def _speed_m_per_min(speed_kmh: float) -> float:
    return speed_kmh * 1000.0 / 60.0


def _grade_fraction(incline_pct: float) -> float:
    return max(incline_pct, 0.0) / 100.0


def vo2_ml_per_kg_min(direction: Direction, speed_kmh: float, incline_pct: float) -> float:
    """Estimate oxygen uptake for walking at a speed and incline in one direction.

    Args:
        direction: Forward uses the ACSM equation, backward the fitted curve.
        speed_kmh: Belt speed; must be finite and non-negative.
        incline_pct: Belt incline in percent; negative values count as level.

    Returns:
        VO2 in ml/kg/min.

    Raises:
        ValueError: The speed or incline is negative where it cannot be, NaN or infinite.
    """
    if not math.isfinite(speed_kmh) or speed_kmh < 0 or not math.isfinite(incline_pct):
        raise ValueError(f"no energy estimate for speed {speed_kmh!r} km/h, {incline_pct!r} %")
    speed = _speed_m_per_min(speed_kmh)
    grade = _grade_fraction(incline_pct)
    if direction is Direction.BACKWARD:
        return ML_O2_PER_KG_MIN_PER_MET + 0.19 * speed + 1.5 * speed * grade
    return ML_O2_PER_KG_MIN_PER_MET + 0.1 * speed + 1.8 * speed * grade


def kcal_per_min(
    direction: Direction, speed_kmh: float, incline_pct: float, *, weight_kg: float
) -> float:
    """Estimate the energy spent per minute: VO2 * kg / 200.

    Raises:
        ValueError: The weight is not a positive finite number, or see
            :func:`vo2_ml_per_kg_min`.
    """
    if not math.isfinite(weight_kg) or weight_kg <= 0:
        raise ValueError(f"no energy estimate for a weight of {weight_kg!r} kg")
    return vo2_ml_per_kg_min(direction, speed_kmh, incline_pct) * weight_kg / 200.0


def equation_for(direction: Direction) -> str:
    """Name the equation used for one direction, to print next to its estimate."""
    return BACKWARD_EQUATION if direction is Direction.BACKWARD else FORWARD_EQUATION

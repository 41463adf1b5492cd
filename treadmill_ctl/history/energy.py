"""Energy estimates for a session as walked, from SAFETY.md's equations.

The plan's estimate (:mod:`treadmill_ctl.profiles.plan`) uses target speeds; a
session's uses what the belt reported, sample by sample, with the equation of the
direction the person faced. These are estimates, and every caller shows them as
such, next to the equations that made them.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Final

from treadmill_ctl.profiles.energy import DEFAULT_WEIGHT_KG, kcal_per_min
from treadmill_ctl.safety import Direction

if TYPE_CHECKING:
    from treadmill_ctl.history.session_log import SessionLog

_S_PER_MIN: Final = 60.0
_MAX_GAP_S: Final = 5.0
"""A longer gap between samples is a link that was down, not minutes of walking."""


def session_weight_kg(log: SessionLog, weight_kg: float | None = None) -> float:
    """The weight for a session's estimate: the record's, else the given one, else the default."""
    if log.weight_kg is not None:
        return log.weight_kg
    return weight_kg if weight_kg is not None and weight_kg > 0 else DEFAULT_WEIGHT_KG


def kcal_between(log: SessionLog, start_t_s: float, end_t_s: float, *, weight_kg: float) -> float:
    """Estimate the energy spent between two session times, from the belt's samples.

    Each sample's speed and incline count until the next sample (at most
    :data:`_MAX_GAP_S`); a stopped belt counts nothing, time outside a segment counts
    as forward walking.
    """
    total = 0.0
    samples = log.samples
    for sample, following in itertools.pairwise(samples):
        if sample.t_s < start_t_s or sample.t_s >= end_t_s:
            continue
        speed = sample.speed_kmh or 0.0
        if speed <= 0:
            continue
        gap_s = min(following.t_s, end_t_s) - sample.t_s
        if not 0 < gap_s <= _MAX_GAP_S:
            continue
        direction = sample.direction or Direction.FORWARD
        incline = max(0.0, sample.incline_pct or 0.0)
        total += kcal_per_min(direction, speed, incline, weight_kg=weight_kg) * gap_s / _S_PER_MIN
    return total

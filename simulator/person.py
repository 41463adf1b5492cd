"""The simulated person's heart: how it answers the belt, beat by beat.

The heart rate's steady state follows the effort of walking, estimated as METs with
the ACSM walking equation (VO2 = 3.5 + 0.1 S + 1.8 S G, ml/kg/min, S in m/min, G the
grade) and, walking backward, the Compendium of Physical Activities' ratio of
backward to forward walking at 3.5 mph (6.0 MET against 4.3: x1.4). Each MET above
rest adds ``bpm_per_met``. The heart follows that steady state with a first-order
lag of ``time_constant_s`` (tens of seconds, as real hearts do at a change of pace),
drifts slowly upward while the person keeps walking (cardiovascular drift), and
beats with RR intervals that agree with the rate (with a little variability).

Time is explicit (``advance(now_s, ...)``); randomness is seeded, so a dry run is
the same every time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

__all__ = ["BACKWARD_RATIO", "HeartRatePerson", "PersonConfig", "walking_met"]

BACKWARD_RATIO: Final = 6.0 / 4.3
"""Compendium: backward walking 3.5 mph level 6.0 MET, forward 4.3 MET."""

_STANDING_KMH: Final = 0.3
_RESTING_VO2: Final = 3.5


def walking_met(speed_kmh: float, incline_pct: float, *, backward: bool) -> float:
    """The effort of walking at this speed and incline, in METs (1 at rest)."""
    if speed_kmh < _STANDING_KMH:
        return 1.0
    speed_m_per_min = speed_kmh * 1000 / 60
    grade = max(incline_pct, 0.0) / 100
    vo2 = _RESTING_VO2 + 0.1 * speed_m_per_min + 1.8 * speed_m_per_min * grade
    met = vo2 / _RESTING_VO2
    return met * BACKWARD_RATIO if backward else met


@dataclass(frozen=True, slots=True)
class PersonConfig:
    """The simulated person.

    Attributes:
        resting_bpm: Heart rate standing still.
        max_bpm: The highest rate the heart reaches.
        bpm_per_met: Heart rate added per MET above rest.
        time_constant_s: How slowly the rate follows a change of effort.
        drift_bpm_per_min: Slow upward drift while walking.
        max_drift_bpm: The drift stops growing here.
        rr_variability: Relative beat-to-beat variability of RR intervals.
        seed: For the variability: the same seed, the same beats.
    """

    resting_bpm: float = 70.0
    max_bpm: float = 190.0
    bpm_per_met: float = 15.0
    time_constant_s: float = 30.0
    drift_bpm_per_min: float = 0.2
    max_drift_bpm: float = 8.0
    rr_variability: float = 0.02
    seed: int = 15


class HeartRatePerson:
    """A heart following the effort of walking, with a lag, a drift and beats.

    Args:
        config: The person.
        now_s: The caller's clock at creation.
    """

    def __init__(self, config: PersonConfig | None = None, *, now_s: float = 0.0) -> None:
        self.config: Final = config if config is not None else PersonConfig()
        self._now_s = now_s
        self._bpm = self.config.resting_bpm
        self._drift_bpm = 0.0
        self._random = random.Random(self.config.seed)
        self._last_beat_s = now_s
        self._next_beat_s = now_s + 60 / self._bpm
        self._beats: list[float] = []
        self._forced: tuple[float, float, float, float] | None = None
        self.backward = False
        """Whether the person walks backward now (the simulated person follows the cues)."""

    @property
    def heart_rate_bpm(self) -> float:
        """The heart's rate now."""
        forced = self._forced
        if forced is None:
            return self._bpm
        start_s, from_bpm, to_bpm, over_s = forced
        share = min(1.0, max(0.0, (self._now_s - start_s) / over_s))
        return from_bpm + (to_bpm - from_bpm) * share

    def steady_bpm(self, speed_kmh: float, incline_pct: float, *, backward: bool) -> float:
        """Where the rate settles at this effort (without the drift)."""
        met = walking_met(speed_kmh, incline_pct, backward=backward)
        bpm = self.config.resting_bpm + self.config.bpm_per_met * (met - 1)
        return min(self.config.max_bpm, bpm)

    def rise_to(self, bpm: float, *, over_s: float = 20.0) -> None:
        """Make the heart climb to ``bpm`` over ``over_s`` and stay there, whatever the belt."""
        self._forced = (self._now_s, self.heart_rate_bpm, bpm, over_s)

    def advance(self, now_s: float, *, speed_kmh: float, incline_pct: float) -> None:
        """Let the heart follow the effort up to ``now_s``, beating as it goes."""
        dt_s = now_s - self._now_s
        if dt_s <= 0:
            return
        config = self.config
        if speed_kmh >= _STANDING_KMH:
            self._drift_bpm = min(
                config.max_drift_bpm, self._drift_bpm + config.drift_bpm_per_min * dt_s / 60
            )
        goal = min(
            config.max_bpm,
            self.steady_bpm(speed_kmh, incline_pct, backward=self.backward) + self._drift_bpm,
        )
        self._bpm += (goal - self._bpm) * (1 - math.exp(-dt_s / config.time_constant_s))
        self._now_s = now_s
        while self._next_beat_s <= now_s:
            self._beats.append(self._next_beat_s - self._last_beat_s)
            self._last_beat_s = self._next_beat_s
            rr_s = 60 / self.heart_rate_bpm
            rr_s *= 1 + config.rr_variability * self._random.uniform(-1, 1)
            self._next_beat_s += rr_s

    def take_beats(self) -> list[float]:
        """The RR intervals (seconds) of the beats since the last call, oldest first."""
        beats, self._beats = self._beats, []
        return beats

"""Heart rate the governor can act on: artefacts rejected, a ceiling, a guided zone.

Three pure, synchronous pieces with time passed in (standard library only):

* :class:`RobustHeartRate` turns a strap's readings into one value that a single
  glitch cannot move: readings without contact, zeros and rates no heart makes are
  dropped; a jump no heart makes in a second is held back until the next readings
  confirm the new level; what is left goes through a short median. A value older
  than ``stale_s`` is no value at all: a lost source never passes for a low rate.
* :class:`HeartRateMonitor` applies the ceiling to that value. With a ceiling set,
  a robust heart rate above it for ``sustain_s`` asks for a controlled stop
  ("heart rate above ceiling"), and so does no valid heart rate for ``unknown_s``
  while the belt moves ("heart rate unknown"): the person asked for heart-rate
  protection, and it cannot protect without a heart rate. Both latch until
  :meth:`HeartRateMonitor.rearm`. With no ceiling, a lost source is only reported.
* :class:`ZoneController` walks the speed toward a heart-rate zone in small,
  unhurried steps (see its docstring for the rules).

SAFETY.md gives the reasons; the session runner turns a stop verdict into the
governor's controlled stop and latch, and a zone step into an ordinary target.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "HeartRateMonitor",
    "HeartRateNews",
    "HeartRateReading",
    "HeartRateVerdict",
    "RobustHeartRate",
    "ZoneController",
    "ZoneStep",
]

MIN_HEART_BPM: Final = 30
"""Below this no walking person's heart beats; a strap reading it is wrong."""
MAX_HEART_BPM: Final = 230
"""Above this no walking person's heart beats; a strap reading it is wrong."""

_EPSILON_KMH: Final = 1e-9
_SETTLED_BPM_PER_S: Final = 0.05
"""A rate moving slower than this (3 bpm a minute) has settled after a step."""
_INSIDE_INTERVAL_FACTOR: Final = 3
"""Inside the zone, a nudge toward the middle comes this many intervals apart at most."""


@dataclass(frozen=True, slots=True)
class HeartRateReading:
    """One heart rate from a source, as the source sent it.

    Attributes:
        heart_rate_bpm: The rate (0 is what many straps send without contact).
        contact: False when the source says its sensor has no skin contact; True
            when it says it has, or does not report contact at all.
        source: Where it came from (``"strap:AA:BB:..."``, ``"treadmill"``), for the record.
    """

    heart_rate_bpm: float
    contact: bool = True
    source: str = "strap"


class RobustHeartRate:
    """A heart rate that one artefact cannot move, and that goes stale without readings.

    Args:
        max_jump_bpm: A reading further than this from the last accepted one (plus
            ``max_rate_bpm_per_s`` per second between them) is held back as a
            possible artefact.
        max_rate_bpm_per_s: How fast a heart's rate can change.
        confirm_count: Held-back readings that agree with each other (within
            ``max_jump_bpm``) this many times in a row are a new level, accepted.
        median_count: How many accepted readings the median covers.
        stale_s: A robust value needs an accepted reading at most this old.
    """

    def __init__(
        self,
        *,
        max_jump_bpm: float = 12.0,
        max_rate_bpm_per_s: float = 5.0,
        confirm_count: int = 3,
        median_count: int = 5,
        stale_s: float = 5.0,
    ) -> None:
        self._max_jump_bpm = max_jump_bpm
        self._max_rate = max_rate_bpm_per_s
        self._confirm_count = confirm_count
        self._stale_s = stale_s
        self._accepted: deque[tuple[float, float]] = deque(maxlen=median_count)
        self._held: list[tuple[float, float]] = []
        self._source: str | None = None
        self.rejected = 0
        """Readings dropped or held back as artefacts so far."""

    @property
    def source(self) -> str | None:
        """The source of the last accepted reading."""
        return self._source

    def last_valid_s(self) -> float | None:
        """When the last reading was accepted, or None if none ever was."""
        return self._accepted[-1][0] if self._accepted else None

    def feed(self, reading: HeartRateReading, now_s: float) -> bool:
        """Take one reading; return whether it was accepted.

        Readings without contact, outside 30-230 bpm or not finite are dropped; a
        jump is held back until confirmed (the confirming reading is accepted).
        """
        bpm = reading.heart_rate_bpm
        if (
            not reading.contact
            or not isinstance(bpm, int | float)
            or not math.isfinite(bpm)
            or not MIN_HEART_BPM <= bpm <= MAX_HEART_BPM
        ):
            self.rejected += 1
            return False
        bpm = float(bpm)
        last = self._accepted[-1] if self._accepted else None
        fresh = last is not None and now_s - last[0] <= self._stale_s
        if last is not None and fresh:
            allowed = self._max_jump_bpm + self._max_rate * max(0.0, now_s - last[0])
            if abs(bpm - last[1]) > allowed:
                return self._hold(bpm, now_s)
        elif last is not None:
            # After a gap the old level says little: start again from what comes now.
            self._accepted.clear()
        self._held.clear()
        self._accept(bpm, now_s, reading.source)
        return True

    def _hold(self, bpm: float, now_s: float) -> bool:
        self._held = [
            (t, v)
            for t, v in self._held
            if now_s - t <= self._stale_s and abs(v - bpm) <= self._max_jump_bpm
        ]
        self._held.append((now_s, bpm))
        if len(self._held) < self._confirm_count:
            self.rejected += 1
            return False
        # The new level is real (a strap that starts wrong, or a true fast change).
        self._accepted.clear()
        for t, v in self._held:
            self._accepted.append((t, v))
        self._held.clear()
        return True

    def _accept(self, bpm: float, now_s: float, source: str) -> None:
        self._accepted.append((now_s, bpm))
        self._source = source

    def value_bpm(self, now_s: float) -> float | None:
        """The median of the recent accepted readings, or None when stale or never seen."""
        recent = [v for t, v in self._accepted if now_s - t <= self._stale_s]
        if not recent:
            return None
        return float(statistics.median(recent))


class HeartRateVerdict(StrEnum):
    """Why the monitor asks for a controlled stop."""

    ABOVE_CEILING = "heart rate above ceiling"
    UNKNOWN = "heart rate unknown"


class HeartRateNews(StrEnum):
    """What the monitor reports without stopping."""

    LOST = "heart rate lost"
    BACK = "heart rate back"


@dataclass(frozen=True, slots=True)
class MonitorUpdate:
    """What one :meth:`HeartRateMonitor.update` found.

    Attributes:
        heart_rate_bpm: The robust heart rate, or None when unknown.
        stop: A new stop verdict (given once, then latched), or None.
        news: A change of the source's state worth reporting, or None.
        why: Words for the log and the person.
    """

    heart_rate_bpm: float | None
    stop: HeartRateVerdict | None = None
    news: HeartRateNews | None = None
    why: str = ""


class HeartRateMonitor:
    """The heart-rate ceiling, acting on :class:`RobustHeartRate`.

    Args:
        ceiling_bpm: The ceiling; None switches the stops off (a lost source is only
            reported).
        sustain_s: How long the robust rate must stay above the ceiling.
        unknown_s: How long without a valid rate, while the belt moves, is too long.
        require_source: False when the person confirmed going on without a heart-rate
            source: then a missing rate is reported, never a stop (the ceiling still
            acts on any rate that arrives).
        robust: The filter (a default one if None).
    """

    def __init__(
        self,
        *,
        ceiling_bpm: float | None,
        sustain_s: float = 5.0,
        unknown_s: float = 5.0,
        require_source: bool = True,
        robust: RobustHeartRate | None = None,
    ) -> None:
        self.ceiling_bpm = ceiling_bpm
        self._sustain_s = sustain_s
        self._unknown_s = unknown_s
        self.requires_source = require_source
        """Whether a missing heart rate stops the belt (False once the person went on without)."""
        self.robust = robust if robust is not None else RobustHeartRate(stale_s=unknown_s)
        self._above_since_s: float | None = None
        self._moving_since_s: float | None = None
        self._latched: HeartRateVerdict | None = None
        self._known: bool | None = None

    @property
    def latched(self) -> HeartRateVerdict | None:
        """The stop verdict given and not yet re-armed."""
        return self._latched

    def feed(self, reading: HeartRateReading, now_s: float) -> bool:
        """Take one reading from a source; return whether it was accepted."""
        return self.robust.feed(reading, now_s)

    def rearm(self) -> None:
        """The person re-armed: the next stop verdict may be given again."""
        self._latched = None
        self._above_since_s = None
        self._moving_since_s = None

    def update(self, now_s: float, *, moving: bool) -> MonitorUpdate:
        """Let time pass and judge the heart rate.

        Args:
            now_s: The clock's time.
            moving: Whether the belt is commanded to move (the unknown-rate stop and
                the ceiling only matter then).
        """
        value = self.robust.value_bpm(now_s)
        news, news_why = self._news(value)
        if not moving:
            self._moving_since_s = None
            self._above_since_s = None
            return MonitorUpdate(value, news=news, why=news_why)
        if self._moving_since_s is None:
            self._moving_since_s = now_s
        stop, why = self._judge(value, now_s)
        if stop is not None and self._latched is None:
            self._latched = stop
            return MonitorUpdate(value, stop=stop, news=news, why=why)
        return MonitorUpdate(value, news=news, why=news_why)

    def _news(self, value: float | None) -> tuple[HeartRateNews | None, str]:
        known = value is not None
        was = self._known
        if was is None and not known:
            return None, ""  # none yet: the first reading is not a return
        self._known = known
        if known and was is False:
            return HeartRateNews.BACK, f"heart rate back: {value:.0f} bpm"
        if not known and was:
            return HeartRateNews.LOST, f"no valid heart rate from {self.robust.source}"
        return None, ""

    def _judge(self, value: float | None, now_s: float) -> tuple[HeartRateVerdict | None, str]:
        ceiling = self.ceiling_bpm
        if ceiling is None:
            return None, ""
        if value is None:
            self._above_since_s = None
            return self._judge_unknown(ceiling, now_s)
        if value <= ceiling:
            self._above_since_s = None
            return None, ""
        if self._above_since_s is None:
            self._above_since_s = now_s
        held_s = now_s - self._above_since_s
        if held_s < self._sustain_s:
            return None, ""
        return HeartRateVerdict.ABOVE_CEILING, (
            f"heart rate {value:.0f} bpm above the ceiling {ceiling:g} bpm for {held_s:.1f} s"
        )

    def _judge_unknown(self, ceiling: float, now_s: float) -> tuple[HeartRateVerdict | None, str]:
        if not self.requires_source:
            return None, ""
        last = self.robust.last_valid_s()
        since = self._moving_since_s if self._moving_since_s is not None else now_s
        if last is not None:
            since = max(since, last)
        silent_s = now_s - since
        if silent_s <= self._unknown_s:
            return None, ""
        return HeartRateVerdict.UNKNOWN, (
            f"no valid heart rate for {silent_s:.1f} s with a ceiling of {ceiling:g} bpm"
        )


@dataclass(frozen=True, slots=True)
class ZoneStep:
    """A new target speed from the zone controller.

    Attributes:
        speed_kmh: The new target.
        why: Words for the log.
        said: A short sentence for the person.
    """

    speed_kmh: float
    why: str
    said: str


class ZoneController:
    """Walks the forward speed toward a heart-rate zone, slowly enough not to oscillate.

    The rules (SAFETY.md, heart-rate-guided segments):

    * at most one change every ``min_interval_s`` (10 s), of ``step_kmh`` (0.1 km/h),
      or ``far_step_kmh`` (0.2) when the heart rate is more than ``far_bpm`` outside;
    * the heart rate follows the speed with a lag of tens of seconds, so the
      controller judges the rate it expects ``lookahead_s`` ahead (the current rate
      plus its trend) and holds while that is inside the zone; outside it steps
      toward the zone's middle; settled in the zone's outer quarter, it nudges one
      step toward the middle at most every three intervals, once the rate has
      stopped moving (it aims at the middle, but never chases it through the lag);
    * it holds while the heart rate is unknown (stale), and for ``settle_s`` after
      the profile (a new segment) or the person changed the speed;
    * it never goes above the segment's ``max_speed_kmh`` or the cap, nor below
      ``min_speed_kmh``; on a backward segment it only ever slows down.

    Args:
        zone_bpm: The zone ``(low, high)``.
        max_speed_kmh: The segment's highest speed (already capped by the caller).
        min_speed_kmh: The lowest speed it may choose.
        backward: The person walks backward: only slowing down is allowed.
        now_s: When the segment (or the profile's last change) began.
    """

    def __init__(
        self,
        *,
        zone_bpm: tuple[float, float],
        max_speed_kmh: float,
        min_speed_kmh: float = 0.5,
        backward: bool = False,
        now_s: float,
        step_kmh: float = 0.1,
        far_step_kmh: float = 0.2,
        far_bpm: float = 10.0,
        min_interval_s: float = 10.0,
        settle_s: float = 30.0,
        lookahead_s: float = 20.0,
        trend_window_s: float = 15.0,
    ) -> None:
        low, high = zone_bpm
        self.zone_bpm = (float(low), float(high))
        self.max_speed_kmh = max_speed_kmh
        self.min_speed_kmh = min(min_speed_kmh, max_speed_kmh)
        self.backward = backward
        self._step_kmh = step_kmh
        self._far_step_kmh = far_step_kmh
        self._far_bpm = far_bpm
        self._min_interval_s = min_interval_s
        self._settle_s = settle_s
        self._lookahead_s = lookahead_s
        self._trend_window_s = trend_window_s
        self._hold_until_s = now_s + settle_s
        self._last_change_s = -math.inf
        self._history: deque[tuple[float, float]] = deque()

    @property
    def middle_bpm(self) -> float:
        """The heart rate the controller aims at."""
        return (self.zone_bpm[0] + self.zone_bpm[1]) / 2

    def changed_from_outside(self, now_s: float) -> None:
        """The profile or the person changed the speed: hold off for ``settle_s``."""
        self._hold_until_s = max(self._hold_until_s, now_s + self._settle_s)

    def _trend_bpm_per_s(self, now_s: float) -> float:
        history = self._history
        while history and now_s - history[0][0] > self._trend_window_s:
            history.popleft()
        if len(history) < 2:  # noqa: PLR2004 - a slope needs two points
            return 0.0
        (t0, v0), (t1, v1) = history[0], history[-1]
        return 0.0 if t1 - t0 < 1.0 else (v1 - v0) / (t1 - t0)

    def _drifting_to_an_edge(
        self, now_s: float, heart_rate_bpm: float, expected: float, trend: float
    ) -> bool:
        """Inside the zone but settled in its outer quarter: a gentle nudge to the middle.

        Only when the rate has stopped moving (the last step has worked through the
        lag) and much less often than outside the zone, so it never oscillates.
        """
        low, high = self.zone_bpm
        quarter = (high - low) / 4
        settled = abs(trend) < _SETTLED_BPM_PER_S
        rested = now_s - self._last_change_s >= _INSIDE_INTERVAL_FACTOR * self._min_interval_s
        outer = not low + quarter <= heart_rate_bpm <= high - quarter
        return settled and rested and outer and not low + quarter <= expected <= high - quarter

    def update(  # noqa: PLR0911 - each hold has its reason where it is decided
        self, now_s: float, heart_rate_bpm: float | None, speed_kmh: float
    ) -> ZoneStep | None:
        """Decide whether to change the speed now.

        Args:
            now_s: The clock's time.
            heart_rate_bpm: The robust heart rate, or None when unknown.
            speed_kmh: The target speed now.

        Returns:
            A new target, or None to hold.
        """
        if speed_kmh > self.max_speed_kmh + _EPSILON_KMH:
            return ZoneStep(
                self.max_speed_kmh,
                f"above the segment's maximum {self.max_speed_kmh:g} km/h",
                f"Slower: {self.max_speed_kmh:g} km/h.",
            )
        if heart_rate_bpm is None or not math.isfinite(heart_rate_bpm):
            self._history.clear()
            return None
        self._history.append((now_s, heart_rate_bpm))
        trend = self._trend_bpm_per_s(now_s)
        if now_s < self._hold_until_s or now_s - self._last_change_s < self._min_interval_s:
            return None
        low, high = self.zone_bpm
        expected = heart_rate_bpm + trend * self._lookahead_s
        if low <= expected <= high and not self._drifting_to_an_edge(
            now_s, heart_rate_bpm, expected, trend
        ):
            return None
        below = expected < self.middle_bpm
        outside = low - heart_rate_bpm if below else heart_rate_bpm - high
        step = self._far_step_kmh if outside > self._far_bpm else self._step_kmh
        if below:
            if self.backward:
                return None  # never speed up a person who cannot see the belt
            new = min(self.max_speed_kmh, round(speed_kmh + step, 2))
        else:
            new = max(self.min_speed_kmh, round(speed_kmh - step, 2))
        if abs(new - speed_kmh) < _EPSILON_KMH or (self.backward and new > speed_kmh):
            return None
        self._last_change_s = now_s
        faster = new > speed_kmh
        why = (
            f"heart rate {heart_rate_bpm:.0f} bpm (expected {expected:.0f}), zone "
            f"{low:g}-{high:g}: {'up' if faster else 'down'} to {new:g} km/h"
        )
        return ZoneStep(new, why, f"{'Faster' if faster else 'Slower'}: {new:g} km/h.")

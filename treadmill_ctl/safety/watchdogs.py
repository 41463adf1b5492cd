"""The watchdogs: small pure detectors that read the treadmill's reports against time.

Each is fed observations and the clock's time and answers with a :class:`Trip` (the
latch cause and a sentence for the log) when it sees something wrong, or ``None``.
None of them decides what to do about it: the governor latches the cause (or, for a
stop the belt ignores, sends the stop again with the alarm). What each one watches:

- :class:`StaleData`: silence, no valid Treadmill Data while the belt should move
  (a link that stays open but stops sending; SAFETY.md: 2.5 s).
- :class:`FrozenFrames`: byte-identical frames with a frozen elapsed time (a link
  that keeps sending the last frame; SAFETY.md: 3 frames).
- :class:`SpeedDivergence`: a belt running faster (or slower) than anything asked for
  in the recent past, and a console speed change (status 0x05) that is not the echo
  of our own command.
- :class:`Odometer`: a belt covering more ground than its reported speed accounts
  for: a treadmill that speaks mph in FTMS's km/h fields.
- :class:`StopConfirmation`: a stop or pause the belt does not obey (invariant 8:
  verified by the belt, not by the write).

:class:`Watchdogs` is the panel the governor holds: the five fed together, told
together when the belt starts, is commanded or halts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from treadmill_ctl.safety.limits import hundredths_floor
from treadmill_ctl.safety.states import LatchReason
from treadmill_ctl.safety.validity import is_speed

if TYPE_CHECKING:
    from treadmill_ctl.safety.limits import Limits
    from treadmill_ctl.safety.observations import BeltData

__all__ = [
    "STOPPED_KMH",
    "FrozenFrames",
    "Odometer",
    "SpeedDivergence",
    "StaleData",
    "StopConfirmation",
    "Trip",
    "Watchdogs",
]

STOPPED_KMH = 0.05
"""A reported belt speed at or below this counts as stopped."""

_FALL_KMH = 0.1
"""A stop is confirmed once the belt reports this much below the speed it held."""

_ECHO_TOLERANCE_HUNDREDTHS = 6
"""Status 0x05 within 0.06 km/h of a recently commanded speed is our own command's echo."""

_FROZEN_MIN_SPAN_S = 1.0
"""Identical frames must span more than this, the resolution of elapsed time, to count."""

_ODOMETER_WINDOW_M = 10.0
"""Compare once the reported speeds account for this many metres (whole-metre
resolution of the distance field: +-10 %)."""

_ODOMETER_MAX_RATIO = 1.4
"""Covering 1.4 times the expected ground is no rounding: mph read as km/h is 1.61."""

_ODOMETER_GAP_S = 5.0
"""A longer gap between frames starts the comparison again."""


@dataclass(frozen=True, slots=True)
class Trip:
    """A watchdog saw something wrong.

    Attributes:
        cause: The latch cause it stands for.
        why: What it saw, for the log and the person.
    """

    cause: LatchReason
    why: str


class StaleData:
    """No valid Treadmill Data for longer than the timeout while the belt should move."""

    __slots__ = ("_last_s", "_timeout_s")

    def __init__(self, timeout_s: float, *, now_s: float) -> None:
        self._timeout_s = timeout_s
        self._last_s = now_s

    def arm(self, now_s: float) -> None:
        """The belt is about to move: its silence counts from now."""
        self._last_s = now_s

    def fed(self, now_s: float) -> None:
        """Valid data arrived."""
        self._last_s = max(self._last_s, now_s)

    def check(self, now_s: float) -> Trip | None:
        """The trip when the data has been silent too long (ask only while watching)."""
        silent_s = now_s - self._last_s
        if silent_s <= self._timeout_s:
            return None
        return Trip(LatchReason.STALE_DATA, f"no valid Treadmill Data for {silent_s:.1f} s")


class FrozenFrames:
    """Byte-identical frames of a moving belt with the same elapsed time, in a row."""

    __slots__ = ("_count", "_key", "_run", "_since_s")

    def __init__(self, count: int) -> None:
        self._count = count
        self._key: tuple[bytes, float] | None = None
        self._run = 0
        self._since_s = 0.0

    def reset(self) -> None:
        """Forget the frames seen (a new link, or a belt about to move)."""
        self._key = None
        self._run = 0

    def see(self, data: BeltData, now_s: float, *, watching: bool) -> Trip | None:
        """Count one valid frame; the trip when the stream looks frozen while watching."""
        key = (
            (data.frame, float(data.elapsed_s))
            if data.frame and data.elapsed_s is not None and data.speed_kmh > STOPPED_KMH
            else None
        )
        if key is not None and key == self._key:
            self._run += 1
        else:
            self._run = 1 if key is not None else 0
            self._since_s = now_s
        self._key = key
        if watching and self._run >= self._count and now_s - self._since_s > _FROZEN_MIN_SPAN_S:
            why = f"{self._run} identical Treadmill Data frames with a frozen elapsed time"
            return Trip(LatchReason.STALE_DATA, why)
        return None


class SpeedDivergence:
    """The belt against what it was asked for within the grace time, for long enough.

    It keeps the speeds commanded and written (in hundredths) over the grace time:
    anything between their lowest and highest, within the tolerance, counts as asked
    for. A slow belt counts only once it has been seen moving (a belt that has not
    started yet is not diverging).
    """

    __slots__ = ("_asked", "_limits", "_out_since_s", "_seen_moving")

    def __init__(self, limits: Limits, *, now_s: float) -> None:
        self._limits = limits
        self._asked: deque[tuple[float, int]] = deque([(now_s, 0)])
        self._out_since_s: float | None = None
        self._seen_moving = False

    def asked(self, speed_hundredths: int, now_s: float) -> None:
        """A speed was commanded (or written to the treadmill), 0 for a halt."""
        self._asked.append((now_s, speed_hundredths))

    def restart(self) -> None:
        """The belt starts or stops anew: what it did before says nothing now."""
        self._out_since_s = None
        self._seen_moving = False

    def band(self, now_s: float) -> tuple[int, int]:
        """The lowest and highest speeds asked for within the grace time, in hundredths."""
        asked = self._asked
        horizon = now_s - self._limits.speed_divergence_grace_s
        while len(asked) > 1 and asked[1][0] <= horizon:
            asked.popleft()
        speeds = [speed_hundredths for _, speed_hundredths in asked]
        return min(speeds), max(speeds)

    def is_echo(self, speed_kmh: float, now_s: float) -> bool:
        """Whether a target speed the treadmill reports (0x05) is one we asked for."""
        low_hundredths, high_hundredths = self.band(now_s)
        return (
            low_hundredths - _ECHO_TOLERANCE_HUNDREDTHS
            <= round(speed_kmh * 100)
            <= high_hundredths + _ECHO_TOLERANCE_HUNDREDTHS
        )

    def see(self, belt_kmh: float, now_s: float) -> Trip | None:
        """Compare one reported belt speed; the trip once it has diverged for too long."""
        if belt_kmh > STOPPED_KMH:
            self._seen_moving = True
        low_hundredths, high_hundredths = self.band(now_s)
        belt_hundredths = round(belt_kmh * 100)
        tolerance_hundredths = hundredths_floor(self._limits.speed_divergence_tolerance_kmh)
        too_fast = belt_hundredths > high_hundredths + tolerance_hundredths
        too_slow = self._seen_moving and belt_hundredths < low_hundredths - tolerance_hundredths
        if not (too_fast or too_slow):
            self._out_since_s = None
            return None
        if self._out_since_s is None:
            self._out_since_s = now_s
        if now_s - self._out_since_s < self._limits.speed_divergence_persist_s:
            return None
        why = (
            f"belt at {belt_kmh:g} km/h, asked for "
            f"{low_hundredths / 100:g}-{high_hundredths / 100:g} km/h "
            f"(tolerance {tolerance_hundredths / 100:g})"
        )
        return Trip(LatchReason.UNREQUESTED_SPEED_CHANGE, why)


class Odometer:
    """The ground the belt covers against the ground its reported speeds account for.

    A treadmill that reports (and takes) mph in FTMS's km/h fields looks right in every
    speed it reports, yet its belt runs 1.6 times faster than asked: only the distance
    it reports gives it away (Vitalwalk, Horizon, FitShow).
    """

    __slots__ = ("_expected_m", "_last_kmh", "_last_m", "_last_s", "_start_m")

    def __init__(self) -> None:
        self._start_m: float | None = None
        self._last_m = 0.0
        self._last_s = 0.0
        self._last_kmh = 0.0
        self._expected_m = 0.0

    def _restart(self, distance_m: float, speed_kmh: float, now_s: float) -> None:
        self._start_m = self._last_m = distance_m
        self._last_s, self._last_kmh, self._expected_m = now_s, speed_kmh, 0.0

    def see(self, speed_kmh: float, distance_m: float | None, now_s: float) -> Trip | None:
        """Add one frame's speed and distance; the trip when the belt covers too much."""
        if not is_speed(distance_m):  # a distance, like a speed, is finite and not negative
            self._start_m = None
            return None
        start_m = self._start_m
        if start_m is None or distance_m < self._last_m or now_s - self._last_s > _ODOMETER_GAP_S:
            self._restart(distance_m, speed_kmh, now_s)
            return None
        self._expected_m += (self._last_kmh + speed_kmh) / 2 / 3.6 * (now_s - self._last_s)
        self._last_m, self._last_s, self._last_kmh = distance_m, now_s, speed_kmh
        expected_m = self._expected_m
        if expected_m < _ODOMETER_WINDOW_M:
            return None
        covered_m = distance_m - start_m
        ratio = covered_m / expected_m
        self._restart(distance_m, speed_kmh, now_s)
        if ratio <= _ODOMETER_MAX_RATIO:
            return None
        why = (
            f"the belt covered {covered_m:.0f} m where its reported speed accounts for "
            f"{expected_m:.0f} m ({ratio:.2f}x): it likely reports mph in its "
            f'km/h fields; set speed_unit = "mph" for it in the settings ([devices])'
        )
        return Trip(LatchReason.UNREQUESTED_SPEED_CHANGE, why)


class StopConfirmation:
    """A stop or pause waits for the belt to confirm it by slowing down.

    The belt confirms it by reporting a stopped speed, or one clearly below both the
    highest speed it reported since and the last speed commanded before the halt: a
    belt still slowing from an earlier ramp step has not obeyed a pause yet.
    """

    __slots__ = ("_commanded_kmh", "_highest_kmh", "_sent_s", "_verify_s")

    def __init__(self, verify_s: float) -> None:
        self._verify_s = verify_s
        self._sent_s: float | None = None
        self._highest_kmh = math.inf
        self._commanded_kmh = math.inf

    @property
    def pending(self) -> bool:
        """Whether a halt is still waiting for the belt to obey it."""
        return self._sent_s is not None

    def arm(self, now_s: float, *, belt_kmh: float | None, commanded_kmh: float) -> None:
        """A halt was sent to a belt that may move; a check already waiting goes on.

        Args:
            now_s: When the halt was sent.
            belt_kmh: The belt speed last reported, if known.
            commanded_kmh: The speed commanded before the halt (``math.inf`` if none).
        """
        if self._sent_s is not None:
            return
        self._sent_s = now_s
        self._highest_kmh = math.inf if belt_kmh is None else belt_kmh
        self._commanded_kmh = commanded_kmh

    def cancel(self) -> None:
        """Nothing to confirm any more (the belt starts again, or the safety key stopped it)."""
        self._sent_s = None

    def see(self, belt_kmh: float) -> None:
        """One reported belt speed: a falling belt confirms the halt."""
        if self._sent_s is None:
            return
        highest = self._highest_kmh
        reference = min(self._commanded_kmh, highest)
        if belt_kmh <= STOPPED_KMH or belt_kmh <= reference - _FALL_KMH:
            self._sent_s = None
            return
        self._highest_kmh = belt_kmh if highest == math.inf else max(highest, belt_kmh)

    def check(self, now_s: float) -> Trip | None:
        """The trip when the belt has not obeyed in time; the next one is due as long again."""
        if self._sent_s is None or now_s - self._sent_s < self._verify_s:
            return None
        self._sent_s = now_s
        why = f"the belt has not slowed {self._verify_s:g} s after a stop"
        return Trip(LatchReason.STOP_NOT_CONFIRMED, why)


class Watchdogs:
    """The five watchdogs as one panel, told what the governor does and sees.

    Args:
        limits: The limits in force (the watchdogs' timeouts and tolerances).
        now_s: The clock's time at creation.
    """

    __slots__ = (
        "_divergence",
        "_frozen",
        "_odometer",
        "_stale",
        "_stop",
        "silence",
        "unconfirmed_halt",
    )

    def __init__(self, limits: Limits, *, now_s: float) -> None:
        self._stale = StaleData(limits.stale_data_timeout_s, now_s=now_s)
        self._frozen = FrozenFrames(limits.frozen_frame_count)
        self._divergence = SpeedDivergence(limits, now_s=now_s)
        self._odometer = Odometer()
        self._stop = StopConfirmation(limits.stop_verify_s)
        # Asked at every tick: the detectors' own checks, bound once.
        self.unconfirmed_halt = self._stop.check
        """The trip when the belt has not obeyed a halt in time (again as long after)."""
        self.silence = self._stale.check
        """The trip when the data has been silent too long (ask only while watching)."""

    def starting(self, now_s: float) -> None:
        """The belt is about to move: a fresh watch, and no halt left to confirm."""
        self._stop.cancel()
        self._stale.arm(now_s)
        self._divergence.restart()
        self._frozen.reset()

    def commanded(self, speed_hundredths: int, now_s: float) -> None:
        """A speed was commanded or written (0: a halt): it counts as asked for."""
        self._divergence.asked(speed_hundredths, now_s)

    def halted(self, now_s: float, *, was_commanded: bool) -> None:
        """The belt is now meant to be still: what it did before says nothing now."""
        if was_commanded:
            self._divergence.asked(0, now_s)
        self._divergence.restart()

    def verify_halt(self, now_s: float, *, belt_kmh: float | None, commanded_kmh: float) -> None:
        """A halt was sent to a belt that may move: the belt must confirm it in time."""
        self._stop.arm(now_s, belt_kmh=belt_kmh, commanded_kmh=commanded_kmh)

    def key_pulled(self) -> None:
        """The safety key stopped the belt: no halt is left to confirm."""
        self._stop.cancel()

    def is_echo(self, speed_kmh: float, now_s: float) -> bool:
        """Whether a target speed the treadmill reports (0x05) is one we asked for."""
        return self._divergence.is_echo(speed_kmh, now_s)

    def see(self, data: BeltData, now_s: float, *, watching: bool) -> Trip | None:
        """One valid frame; a trip only while ``watching`` (the belt is meant to move)."""
        self._stale.fed(now_s)
        self._stop.see(data.speed_kmh)
        frozen = self._frozen.see(data, now_s, watching=watching)
        if not watching:
            return None
        return (
            frozen
            or self._divergence.see(data.speed_kmh, now_s)
            or self._odometer.see(data.speed_kmh, data.distance_m, now_s)
        )

"""Limits as data: what the governor may ask of the belt, and what the treadmill can do.

:class:`Limits` is the one table of the safety numbers: each row is one limit with its
default, its hard ceiling (passing it needs an explicit, logged override) and the
absolute bounds that nothing passes, in the order SAFETY.md lists them, followed by
the limits of the watchdogs. No other place keeps a default or a ceiling: the
config's description, the profile loader and the governor all read this table. A
user's config file may set any value up to its hard ceiling; a profile may only
tighten what it is given (:meth:`Limits.tightened`).

:class:`MachineRanges` is what the treadmill itself reports (Supported Speed Range
0x2AD4 and Supported Inclination Range 0x2AD5, FTMS v1.0 sections 4.11 and 4.12). It
clamps every target and quantises it to the treadmill's increment. Speeds are worked
out in integer hundredths of a km/h (the FTMS unit), so rounding never lifts a value
past a cap.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

from treadmill_ctl.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ABSOLUTE_BOUNDS",
    "HARD_CEILINGS",
    "Limits",
    "MachineRanges",
    "Override",
    "hundredths_ceil",
    "hundredths_floor",
]

_EPSILON = 1e-6


def hundredths_floor(value: float) -> int:
    """The largest whole number of hundredths not above ``value`` (caps never rise)."""
    return math.floor(value * 100 + _EPSILON)


def hundredths_ceil(value: float) -> int:
    """The smallest whole number of hundredths not below ``value`` (minimums never fall)."""
    return math.ceil(value * 100 - _EPSILON)


class _Looser(Enum):
    """Which way a limit loosens."""

    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True, slots=True)
class _Spec:
    """What one limit accepts: its type, the way it loosens, its hard and absolute bounds."""

    integer: bool
    optional: bool
    looser: _Looser
    hard_limit: float | None
    lowest: float
    highest: float

    def coerce(self, key: str, raw: object, *, source: str) -> float | int:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"{source}: {key} must be a number, not {raw!r}")
        if not math.isfinite(raw):
            raise ConfigError(f"{source}: {key} must be a finite number, not {raw!r}")
        if self.integer:
            if raw != int(raw):
                raise ConfigError(f"{source}: {key} must be a whole number, not {raw!r}")
            return int(raw)
        return float(raw)

    def check(self, key: str, value: object, *, source: str, allow_override: bool) -> bool:
        """Validate one value; return whether it passes the hard limit (an override)."""
        if value is None and self.optional:
            return False
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{source}: {key} must be a number, not {value!r}")
        if not math.isfinite(value) or not self.lowest <= value <= self.highest:
            raise ConfigError(
                f"{source}: {key} = {value!r} is outside {self.lowest:g}..{self.highest:g}"
            )
        if self.hard_limit is None:
            return False
        past = (
            value > self.hard_limit + _EPSILON
            if self.looser is _Looser.HIGHER
            else value < self.hard_limit - _EPSILON
        )
        if past and not allow_override:
            word = "ceiling" if self.looser is _Looser.HIGHER else "floor"
            raise ConfigError(
                f"{source}: {key} = {value:g} passes its hard {word} {self.hard_limit:g}; "
                f"this needs an explicit override"
            )
        return past

    def is_at_least_as_tight(self, value: float, current: float | None) -> bool:
        if current is None:
            return True
        if self.looser is _Looser.HIGHER:
            return value <= current + _EPSILON
        return value >= current - _EPSILON


_SPEC_KEY: Final = "treadmill_ctl.limit"


def _limit[T: (float, int, int | None)](
    default: T,
    *,
    ceiling: float | None,
    bounds: tuple[float, float],
    looser: _Looser = _Looser.HIGHER,
) -> T:
    """One row of the table: a limit's default, its hard ceiling and its absolute bounds.

    A ceiling of ``None`` means the treadmill's own range is the ceiling (or there is
    none). For a limit that loosens downwards (a hold time) the "ceiling" is a floor.
    """
    spec = _Spec(
        integer=isinstance(default, int) or default is None,
        optional=default is None,
        looser=looser,
        hard_limit=ceiling,
        lowest=bounds[0],
        highest=bounds[1],
    )
    return dataclasses.field(default=default, metadata={_SPEC_KEY: spec})


@dataclass(frozen=True, slots=True)
class Limits:
    """Every number the governor enforces: the one table of defaults and hard ceilings.

    Attributes:
        backward_max_speed_kmh: Belt speed cap while walking backwards.
        forward_max_speed_kmh: Belt speed cap while walking forwards (the treadmill's
            own maximum caps it further).
        starting_speed_kmh: Where every start and restart begins, before ramping;
            clamped into the treadmill's Supported Speed Range.
        acceleration_kmh_per_s: Fastest allowed rise of the commanded speed.
        deceleration_kmh_per_s: Fastest normal (non-emergency) fall of the commanded speed.
        turnaround_speed_kmh: Belt speed while the person turns round; below the
            treadmill's minimum it means the belt pauses.
        turnaround_hold_s: How long the belt stays at the turn-around speed before it
            may move in the new direction.
        backward_max_incline_pct: Incline cap while walking backwards.
        stale_data_timeout_s: Silence of Treadmill Data, while the belt is commanded to
            move, after which the link is treated as lost.
        frozen_frame_count: This many byte-identical Treadmill Data frames with the same
            elapsed time in a row are treated as a lost link.
        forward_max_incline_pct: Incline cap while walking forwards.
        stop_verify_s: The belt must report a falling speed this soon after a stop, or
            the stop is sent again and the person is told to pull the safety key.
        speed_divergence_tolerance_kmh: How far the belt may differ from what was asked
            in the recent past before it counts as an unrequested speed change.
        speed_divergence_grace_s: How far back "what was asked" reaches; allows for the
            belt's own ramp lagging behind the commands.
        speed_divergence_persist_s: How long a divergence must last before it latches,
            so one odd frame does not stop the belt.
        heart_rate_max_bpm: Optional heart-rate ceiling; ``None`` switches it off.
    """

    # The rows of SAFETY.md's table, in its order.
    backward_max_speed_kmh: float = _limit(3.0, ceiling=5.0, bounds=(0.0, 8.0))
    # the forward ceiling is the treadmill's own maximum (MachineRanges)
    forward_max_speed_kmh: float = _limit(6.0, ceiling=None, bounds=(0.0, 25.0))
    starting_speed_kmh: float = _limit(1.0, ceiling=2.0, bounds=(0.1, 3.0))
    acceleration_kmh_per_s: float = _limit(0.5, ceiling=1.0, bounds=(0.05, 2.0))
    deceleration_kmh_per_s: float = _limit(0.5, ceiling=1.0, bounds=(0.05, 2.0))
    turnaround_speed_kmh: float = _limit(0.0, ceiling=1.0, bounds=(0.0, 2.0))
    # SAFETY.md gives no ceiling; a hold shorter than 3 s is treated as one to override
    turnaround_hold_s: float = _limit(5.0, ceiling=3.0, bounds=(1.0, 60.0), looser=_Looser.LOWER)
    backward_max_incline_pct: float = _limit(3.0, ceiling=6.0, bounds=(0.0, 15.0))
    stale_data_timeout_s: float = _limit(2.5, ceiling=5.0, bounds=(0.5, 10.0))
    frozen_frame_count: int = _limit(3, ceiling=5, bounds=(2, 10))
    # Beyond SAFETY.md's table: the forward incline (the treadmill's own maximum is its
    # ceiling), the stop verification of invariant 8, the speed watchdog, heart rate.
    forward_max_incline_pct: float = _limit(15.0, ceiling=None, bounds=(0.0, 40.0))
    stop_verify_s: float = _limit(2.0, ceiling=2.0, bounds=(0.5, 5.0))
    speed_divergence_tolerance_kmh: float = _limit(0.5, ceiling=1.0, bounds=(0.1, 3.0))
    speed_divergence_grace_s: float = _limit(3.0, ceiling=6.0, bounds=(0.5, 15.0))
    speed_divergence_persist_s: float = _limit(1.0, ceiling=3.0, bounds=(0.0, 10.0))
    heart_rate_max_bpm: int | None = _limit(None, ceiling=None, bounds=(60, 230))

    def __post_init__(self) -> None:
        for key, spec in _SPECS.items():
            spec.check(key, getattr(self, key), source="limits", allow_override=True)

    @staticmethod
    def from_mapping(
        mapping: Mapping[str, object],
        *,
        base: Limits | None = None,
        allow_override: bool = False,
        source: str = "limits",
    ) -> tuple[Limits, list[Override]]:
        """Build limits from a user's settings (e.g. the ``[limits]`` table of the config).

        A value may be set anywhere within its absolute bounds up to its hard ceiling
        (``HARD_CEILINGS``). Past the ceiling it needs ``allow_override=True``, and each
        such value is returned as an :class:`Override` so the caller logs it loudly.

        Args:
            mapping: Limit names (the field names of :class:`Limits`) to values.
            base: The limits the mapping changes; the defaults when ``None``.
            allow_override: The user's explicit consent to pass a hard ceiling.
            source: Where the mapping came from, for error messages (a file path).

        Returns:
            The new limits, and the overrides past a hard ceiling (empty normally).

        Raises:
            ConfigError: An unknown key, a value of the wrong type, a value outside its
                absolute bounds, or past its ceiling without ``allow_override``; the
                message names the key and the source.
        """
        start = base if base is not None else Limits()
        changes: dict[str, float | int] = {}
        overrides: list[Override] = []
        for key, raw in mapping.items():
            spec = _spec_for(key, source)
            value = spec.coerce(key, raw, source=source)
            if spec.check(key, value, source=source, allow_override=allow_override):
                overrides.append(
                    Override(key=key, value=value, hard_limit=spec.hard_limit, source=source)
                )
            changes[key] = value
        return dataclasses.replace(start, **changes), overrides  # type: ignore[arg-type]

    def tightened(self, mapping: Mapping[str, object], *, source: str = "profile") -> Limits:
        """These limits made stricter by a profile's ``[limits]`` table.

        A profile may only tighten: a lower speed, rate, incline or timeout, a longer
        turn-around hold, a heart-rate ceiling where there was none or a lower one.

        Args:
            mapping: Limit names to values.
            source: Where the mapping came from, for error messages.

        Returns:
            New limits.

        Raises:
            ConfigError: An unknown key, a bad value, or a value looser than the
                current one; the message names the key.
        """
        changes: dict[str, float | int] = {}
        for key, raw in mapping.items():
            spec = _spec_for(key, source)
            value = spec.coerce(key, raw, source=source)
            spec.check(key, value, source=source, allow_override=True)
            current = getattr(self, key)
            if not spec.is_at_least_as_tight(value, current):
                raise ConfigError(
                    f"{source}: {key} = {value:g} would loosen the limit {_show(current)}; "
                    f"a profile may only tighten limits"
                )
            changes[key] = value
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def max_speed_kmh(self, *, backward: bool) -> float:
        """The speed cap for one direction (before the treadmill's own range)."""
        return self.backward_max_speed_kmh if backward else self.forward_max_speed_kmh

    def max_incline_pct(self, *, backward: bool) -> float:
        """The incline cap for one direction (before the treadmill's own range)."""
        return self.backward_max_incline_pct if backward else self.forward_max_incline_pct


@dataclass(frozen=True, slots=True)
class Override:
    """A limit set past its hard ceiling with the user's explicit consent: log it loudly.

    Attributes:
        key: The limit's name.
        value: The value in force.
        hard_limit: The ceiling (or, for the turn-around hold, the floor) it passes.
        source: Where the value came from.
    """

    key: str
    value: float | int
    hard_limit: float | int | None
    source: str


_SPECS: Mapping[str, _Spec] = {
    field.name: field.metadata[_SPEC_KEY] for field in dataclasses.fields(Limits)
}
"""Each limit's row of the table, by name."""

HARD_CEILINGS: Mapping[str, float] = {
    key: spec.hard_limit
    for key, spec in _SPECS.items()
    if spec.hard_limit is not None and spec.looser is _Looser.HIGHER
}
"""The hard ceilings of SAFETY.md: passing one needs an explicit, logged override."""

ABSOLUTE_BOUNDS: Mapping[str, tuple[float, float]] = {
    key: (spec.lowest, spec.highest) for key, spec in _SPECS.items()
}
"""Bounds that no setting passes, override or not."""


def _spec_for(key: str, source: str) -> _Spec:
    try:
        return _SPECS[key]
    except KeyError:
        known = ", ".join(_SPECS)
        raise ConfigError(f"{source}: unknown limit {key!r}; known limits: {known}") from None


def _show(value: float | None) -> str:
    return "off" if value is None else f"{value:g}"


@dataclass(frozen=True, slots=True)
class MachineRanges:
    """The treadmill's own Supported Speed and Inclination Ranges, read at connect.

    Attributes:
        min_speed_kmh: Lowest speed the belt runs at; a lower target means stop.
        max_speed_kmh: Highest speed the treadmill supports.
        speed_increment_kmh: Speed resolution; targets are quantised to it from the minimum.
        min_incline_pct: Lowest incline (may be negative: a decline).
        max_incline_pct: Highest incline (equal to the minimum on a flat treadmill).
        incline_increment_pct: Incline resolution.
    """

    min_speed_kmh: float
    max_speed_kmh: float
    speed_increment_kmh: float
    min_incline_pct: float = 0.0
    max_incline_pct: float = 0.0
    incline_increment_pct: float = 0.1

    def raised_to_minimum(self, speed_kmh: float) -> float:
        """A moving target, never below the slowest speed the belt runs at (rule 12).

        Below the minimum the governor pauses the belt, and every resume would start it
        again: a profile's segment or a slow-down slower than the treadmill goes is
        walked at its slowest instead. The one place this rule is decided; the callers
        say it to the person.
        """
        return max(speed_kmh, self.min_speed_kmh)

    def __post_init__(self) -> None:
        values = (
            self.min_speed_kmh,
            self.max_speed_kmh,
            self.speed_increment_kmh,
            self.min_incline_pct,
            self.max_incline_pct,
            self.incline_increment_pct,
        )
        if not all(math.isfinite(value) for value in values):
            raise ConfigError(f"treadmill ranges must be finite numbers: {self}")
        if not 0 < self.min_speed_kmh < self.max_speed_kmh:
            raise ConfigError(
                f"treadmill speed range {self.min_speed_kmh:g}..{self.max_speed_kmh:g} km/h "
                f"is not a range above zero"
            )
        if self.speed_increment_hundredths < 1 or self.incline_increment_hundredths < 1:
            raise ConfigError("treadmill speed and incline increments must be at least 0.01")
        if self.min_incline_pct > self.max_incline_pct:
            raise ConfigError(
                f"treadmill incline range {self.min_incline_pct:g}..{self.max_incline_pct:g} % "
                f"is upside down"
            )

    @classmethod
    def fallback(cls) -> MachineRanges:
        """Conservative ranges for a treadmill that does not report its own: flat, 1-6 km/h."""
        return cls(min_speed_kmh=1.0, max_speed_kmh=6.0, speed_increment_kmh=0.1)

    @property
    def min_speed_hundredths(self) -> int:
        """The minimum speed in hundredths of a km/h (rounded up)."""
        return hundredths_ceil(self.min_speed_kmh)

    @property
    def max_speed_hundredths(self) -> int:
        """The maximum speed in hundredths of a km/h (rounded down)."""
        return hundredths_floor(self.max_speed_kmh)

    @property
    def speed_increment_hundredths(self) -> int:
        """The speed increment in hundredths of a km/h."""
        return round(self.speed_increment_kmh * 100)

    @property
    def incline_increment_hundredths(self) -> int:
        """The incline increment in hundredths of a percent."""
        return round(self.incline_increment_pct * 100)

    def speed_floor_hundredths(self, speed_hundredths: int) -> int:
        """The highest supported speed not above ``speed_hundredths``; 0 (stop) below the minimum.

        Args:
            speed_hundredths: A speed in hundredths of a km/h.

        Returns:
            A supported speed on the treadmill's grid (minimum plus whole increments),
            in hundredths, or 0.
        """
        low = self.min_speed_hundredths
        if speed_hundredths < low:
            return 0
        step = self.speed_increment_hundredths
        top = low + (self.max_speed_hundredths - low) // step * step
        return min(top, low + (speed_hundredths - low) // step * step)

    def clamp_speed(self, speed_kmh: float, cap_kmh: float = math.inf) -> float:
        """A target speed made safe to send: capped, quantised down, or 0 for a stop.

        Args:
            speed_kmh: The asked-for speed (finite, not negative).
            cap_kmh: A further cap (the direction's limit).

        Returns:
            The highest supported speed not above either; 0.0 when that is below the
            treadmill's minimum (a target below the minimum is a stop, not a target).
        """
        wanted_hundredths = hundredths_floor(min(speed_kmh, cap_kmh, self.max_speed_kmh))
        return self.speed_floor_hundredths(wanted_hundredths) / 100

    def incline_floor_hundredths(self, incline_hundredths: int) -> int | None:
        """The highest supported incline not above ``incline_hundredths`` (hundredths of a percent).

        Returns:
            The quantised incline, the minimum for anything below it, or ``None`` when
            even the minimum is above ``incline_hundredths`` (nothing can be sent).
        """
        low = hundredths_ceil(self.min_incline_pct)
        high = hundredths_floor(self.max_incline_pct)
        step = self.incline_increment_hundredths
        top = low + (high - low) // step * step
        if incline_hundredths < low:
            return None
        return min(top, low + (incline_hundredths - low) // step * step)

    def clamp_incline(self, incline_pct: float, cap_pct: float = math.inf) -> float | None:
        """An incline made safe to send: capped, quantised down, at least the minimum.

        Args:
            incline_pct: The asked-for incline (finite).
            cap_pct: A further cap (the direction's limit).

        Returns:
            The incline to send, or ``None`` when the treadmill's minimum incline is
            already above the cap.
        """
        cap_hundredths = hundredths_floor(min(cap_pct, self.max_incline_pct))
        if self.incline_floor_hundredths(cap_hundredths) is None:
            return None
        wanted_hundredths = max(
            hundredths_floor(min(incline_pct, cap_pct)), hundredths_ceil(self.min_incline_pct)
        )
        floored = self.incline_floor_hundredths(min(wanted_hundredths, cap_hundredths))
        return None if floored is None else floored / 100

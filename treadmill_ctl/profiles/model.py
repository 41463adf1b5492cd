"""A workout profile as values: segments, repeated blocks, and the limits they run under.

A :class:`Profile` is what a loaded TOML file means, already checked: every speed is
in km/h, every duration in seconds, and every segment within the profile's effective
limits. The loader (:mod:`treadmill_ctl.profiles.loader`) is the only way in from a
file; tests and other code may also build profiles directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from treadmill_ctl.safety.limits import Limits
    from treadmill_ctl.safety.states import Direction


@dataclass(frozen=True, slots=True)
class Segment:
    """Walk in one direction at one speed and incline for a while.

    Attributes:
        direction: Which way the person faces; backward runs under the stricter caps.
        speed_kmh: Target belt speed (converted from mph if the profile gave mph).
        incline_pct: Target incline in percent; 0 is level.
        duration_s: How long the segment lasts at its target, in seconds.
        cue: Text said or shown to the person when the segment begins, if any.
        hr_zone_bpm: A heart-rate zone ``(low, high)``: the speed is then guided by the
            heart rate, starting at ``speed_kmh``; None for a fixed speed.
        max_speed_kmh: The highest speed the heart-rate guide may choose (guided
            segments only; a backward guided segment only ever slows down).
    """

    direction: Direction
    speed_kmh: float
    incline_pct: float
    duration_s: float
    cue: str | None = None
    hr_zone_bpm: tuple[int, int] | None = None
    max_speed_kmh: float | None = None


@dataclass(frozen=True, slots=True)
class Repeat:
    """A block of segments run ``times`` times in a row, in the order written."""

    times: int
    segments: tuple[Segment, ...]


type Step = Segment | Repeat
"""One entry of a profile's ``[[step]]`` list: a segment, or a repeated block."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A checked workout profile.

    Attributes:
        name: Short title shown in the plan and the dashboard.
        description: Free text for the person and the physiotherapist.
        steps: Segments and repeated blocks in the order written.
        limits: The effective limits: the defaults tightened by the user's config and
            then by the profile's ``[limits]`` table. The session runs under these.
        weight_kg: A weight given by the profile for its energy estimate, if any; it
            overrides the user's configured weight.
        source: Where the profile came from (a path, or a name for in-memory text).
    """

    name: str
    description: str
    steps: tuple[Step, ...]
    limits: Limits
    weight_kg: float | None = None
    source: str = "<profile>"

    def iter_segments(self) -> Iterator[Segment]:
        """Yield every segment in running order, with repeated blocks unrolled."""
        for step in self.steps:
            if isinstance(step, Repeat):
                for _ in range(step.times):
                    yield from step.segments
            else:
                yield step

"""A profile unrolled into the timeline a session runs, with its statistics.

The session runner walks :attr:`Plan.segments` in order; ``treadmill-ctl check``
prints the same plan with its totals, so what a person reviews is exactly what runs.
Times are the profile's own: the governor adds its ramps and a turn-around hold at
every change of direction, which the plan counts (``turnarounds``) but does not time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from treadmill_ctl.profiles.energy import (
    DEFAULT_WEIGHT_KG,
    WeightSource,
    equation_for,
    kcal_per_min,
)
from treadmill_ctl.profiles.model import Repeat
from treadmill_ctl.safety.states import Direction

if TYPE_CHECKING:
    from collections.abc import Iterator

    from treadmill_ctl.profiles.model import Profile, Segment
    from treadmill_ctl.safety.limits import Limits

_S_PER_MIN = 60.0
_M_PER_KM = 1000.0
_S_PER_H = 3600.0


@dataclass(frozen=True, slots=True)
class PlannedSegment:
    """One segment at its place in the session's timeline.

    Attributes:
        index: Position in the plan, from 0.
        direction: Which way the person faces.
        speed_kmh: Target belt speed.
        incline_pct: Target incline in percent.
        duration_s: How long the segment lasts.
        cue: Text for the person when the segment begins, if the profile gave one.
        start_s: When the segment starts, counted from the start of the plan.
        origin: Where it comes from in the profile, e.g. ``"step 3, round 2 of 4"``,
            for cues, the dashboard and the session record.
        hr_zone_bpm: The heart-rate zone guiding the speed, if any (``speed_kmh`` is
            then where it starts).
        max_speed_kmh: The highest speed the heart-rate guide may choose.
    """

    index: int
    direction: Direction
    speed_kmh: float
    incline_pct: float
    duration_s: float
    cue: str | None
    start_s: float
    origin: str
    hr_zone_bpm: tuple[int, int] | None = None
    max_speed_kmh: float | None = None

    @property
    def end_s(self) -> float:
        """When the segment ends, counted from the start of the plan."""
        return self.start_s + self.duration_s

    @property
    def distance_m(self) -> float:
        """Distance walked on the belt during the segment, at its target speed."""
        return self.speed_kmh * _M_PER_KM / _S_PER_H * self.duration_s

    def kcal(self, weight_kg: float) -> float:
        """Estimate the energy of the segment with its direction's equation."""
        per_min = kcal_per_min(
            self.direction, self.speed_kmh, self.incline_pct, weight_kg=weight_kg
        )
        return per_min * self.duration_s / _S_PER_MIN


@dataclass(frozen=True, slots=True)
class DirectionEnergy:
    """The energy estimate for all the time spent in one direction."""

    direction: Direction
    duration_s: float
    kcal: float
    equation: str


@dataclass(frozen=True, slots=True)
class EnergyEstimate:
    """Energy estimates per direction: estimates only, each with its equation.

    Attributes:
        weight_kg: The weight the estimate is for.
        weight_source: Whether the weight came from the profile, the user's config or
            the built-in default (shown, so a default weight is never mistaken for
            the person's).
        forward: Forward walking, by the ACSM equation.
        backward: Backward walking, by the curve fitted to the Compendium.
    """

    weight_kg: float
    weight_source: WeightSource
    forward: DirectionEnergy
    backward: DirectionEnergy

    @property
    def total_kcal(self) -> float:
        """Both directions together."""
        return self.forward.kcal + self.backward.kcal


@dataclass(frozen=True, slots=True)
class Plan:
    """A profile's whole session as a flat list of timed segments, with its statistics.

    Attributes:
        name: The profile's name.
        description: The profile's description.
        source: Where the profile came from.
        segments: Every segment in running order, repeated blocks unrolled.
        limits: The effective limits the session runs under.
        weight_kg: The weight used for the energy estimate.
        weight_source: Where that weight came from.
    """

    name: str
    description: str
    source: str
    segments: tuple[PlannedSegment, ...]
    limits: Limits
    weight_kg: float
    weight_source: WeightSource

    @property
    def total_s(self) -> float:
        """Length of the plan, without the governor's ramps and turn-around holds."""
        return sum(segment.duration_s for segment in self.segments)

    @property
    def backward_s(self) -> float:
        """Time planned walking backward."""
        return self._seconds(Direction.BACKWARD)

    @property
    def forward_s(self) -> float:
        """Time planned walking forward."""
        return self._seconds(Direction.FORWARD)

    @property
    def distance_m(self) -> float:
        """Distance on the belt at the target speeds."""
        return sum(segment.distance_m for segment in self.segments)

    @property
    def turnarounds(self) -> int:
        """How many times the person turns round between two segments."""
        return sum(
            1
            for before, after in zip(self.segments, self.segments[1:], strict=False)
            if before.direction is not after.direction
        )

    @property
    def turnaround_hold_s(self) -> float:
        """Time the governor will add holding the belt slow while the person turns."""
        return self.turnarounds * self.limits.turnaround_hold_s

    @property
    def energy(self) -> EnergyEstimate:
        """The energy estimate per direction for :attr:`weight_kg`."""
        by_direction = {
            direction: DirectionEnergy(
                direction=direction,
                duration_s=self._seconds(direction),
                kcal=sum(
                    segment.kcal(self.weight_kg)
                    for segment in self.segments
                    if segment.direction is direction
                ),
                equation=equation_for(direction),
            )
            for direction in Direction
        }
        return EnergyEstimate(
            weight_kg=self.weight_kg,
            weight_source=self.weight_source,
            forward=by_direction[Direction.FORWARD],
            backward=by_direction[Direction.BACKWARD],
        )

    def _seconds(self, direction: Direction) -> float:
        return sum(
            segment.duration_s for segment in self.segments if segment.direction is direction
        )


def build_plan(profile: Profile, *, weight_kg: float | None = None) -> Plan:
    """Unroll a profile into its timeline.

    Args:
        profile: A checked profile.
        weight_kg: The person's weight from the user's config, if known. A weight in
            the profile itself wins (it was written for one person); with neither,
            :data:`~treadmill_ctl.profiles.energy.DEFAULT_WEIGHT_KG` is used and
            flagged as a default.

    Returns:
        The plan, ready to run or to print.

    Raises:
        ValueError: ``weight_kg`` is not a positive finite number.
    """
    if profile.weight_kg is not None:
        weight, source = profile.weight_kg, WeightSource.PROFILE
    elif weight_kg is not None:
        weight, source = weight_kg, WeightSource.CONFIG
    else:
        weight, source = DEFAULT_WEIGHT_KG, WeightSource.DEFAULT
    if not math.isfinite(weight) or weight <= 0:
        raise ValueError(f"a weight of {weight!r} kg cannot be used for an energy estimate")
    planned: list[PlannedSegment] = []
    start_s = 0.0
    for index, (segment, origin) in enumerate(_with_origin(profile)):
        planned.append(
            PlannedSegment(
                index=index,
                direction=segment.direction,
                speed_kmh=segment.speed_kmh,
                incline_pct=segment.incline_pct,
                duration_s=segment.duration_s,
                cue=segment.cue,
                start_s=start_s,
                origin=origin,
                hr_zone_bpm=segment.hr_zone_bpm,
                max_speed_kmh=segment.max_speed_kmh,
            )
        )
        start_s += segment.duration_s
    return Plan(
        name=profile.name,
        description=profile.description,
        source=profile.source,
        segments=tuple(planned),
        limits=profile.limits,
        weight_kg=weight,
        weight_source=source,
    )


def _with_origin(profile: Profile) -> Iterator[tuple[Segment, str]]:
    for number, step in enumerate(profile.steps, start=1):
        if isinstance(step, Repeat):
            for repetition in range(1, step.times + 1):
                for position, segment in enumerate(step.segments, start=1):
                    yield (
                        segment,
                        f"step {number}, round {repetition} of {step.times}, segment {position}",
                    )
        else:
            yield step, f"step {number}"

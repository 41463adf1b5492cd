"""Show a plan to people and tools: the text of ``treadmill-ctl check`` and its ``--json``."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from treadmill_ctl.profiles.durations import format_duration
from treadmill_ctl.profiles.energy import UNITS_NOTE, WeightSource
from treadmill_ctl.safety.states import Direction
from treadmill_ctl.text import wrap_words

if TYPE_CHECKING:
    from treadmill_ctl.profiles.plan import DirectionEnergy, Plan, PlannedSegment
    from treadmill_ctl.safety.limits import Limits

ENERGY_NOTE = (
    "estimate only: walking equations, not a measurement; the backward curve is fitted "
    "to two Compendium entries at 3.5 mph and unvalidated outside 4-6.5 km/h"
)


def _direction_name(direction: Direction) -> str:
    return direction.name.lower()


def _json_number(value: float, digits: int) -> float:
    rounded = round(value, digits)
    return rounded if rounded != int(rounded) else float(int(rounded))


def _energy_json(energy: DirectionEnergy) -> dict[str, Any]:
    return {
        "duration_s": _json_number(energy.duration_s, 3),
        "kcal": _json_number(energy.kcal, 1),
        "equation": energy.equation,
    }


def _limits_json(limits: Limits) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(limits):
        value = getattr(limits, field.name)
        if value is None or isinstance(value, bool | int | float | str):
            values[field.name] = value
    return values


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """Describe a plan as plain JSON-ready values, every field carrying its unit.

    Returns:
        A dict with ``name``, ``description``, ``source``, ``total_s``,
        ``backward_s``, ``forward_s``, ``distance_m``, ``turnarounds``,
        ``turnaround_hold_s``, ``limits``, ``segments`` (one dict per planned
        segment) and ``energy`` (per direction, with the equations and the weight).
    """
    energy = plan.energy
    return {
        "name": plan.name,
        "description": plan.description,
        "source": plan.source,
        "total_s": _json_number(plan.total_s, 3),
        "backward_s": _json_number(plan.backward_s, 3),
        "forward_s": _json_number(plan.forward_s, 3),
        "distance_m": _json_number(plan.distance_m, 1),
        "turnarounds": plan.turnarounds,
        "turnaround_hold_s": _json_number(plan.turnaround_hold_s, 3),
        "limits": _limits_json(plan.limits),
        "segments": [
            {
                "index": segment.index,
                "direction": _direction_name(segment.direction),
                "speed_kmh": segment.speed_kmh,
                "incline_pct": segment.incline_pct,
                "duration_s": segment.duration_s,
                "start_s": segment.start_s,
                "cue": segment.cue,
                "hr_zone_bpm": None if segment.hr_zone_bpm is None else list(segment.hr_zone_bpm),
                "max_speed_kmh": segment.max_speed_kmh,
                "origin": segment.origin,
                "distance_m": _json_number(segment.distance_m, 1),
                "kcal_estimate": _json_number(segment.kcal(plan.weight_kg), 2),
            }
            for segment in plan.segments
        ],
        "energy": {
            "estimate": True,
            "note": ENERGY_NOTE,
            "units": UNITS_NOTE,
            "weight_kg": plan.weight_kg,
            "weight_source": energy.weight_source.value,
            "forward": _energy_json(energy.forward),
            "backward": _energy_json(energy.backward),
            "total_kcal": _json_number(energy.total_kcal, 1),
        },
    }


def _guide(segment: PlannedSegment) -> str:
    """``[HR 100-115 bpm, up to 5.5 km/h] `` for a heart-rate-guided segment."""
    if segment.hr_zone_bpm is None:
        return ""
    low, high = segment.hr_zone_bpm
    top = segment.max_speed_kmh if segment.max_speed_kmh is not None else segment.speed_kmh
    return f"[HR {low}-{high} bpm, up to {top:g} km/h] "


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _share(part_s: float, total_s: float) -> str:
    return f"{part_s / total_s:.0%}" if total_s else "0%"


def _weight_text(plan: Plan) -> str:
    match plan.weight_source:
        case WeightSource.PROFILE:
            return f"{plan.weight_kg:g} kg from the profile"
        case WeightSource.CONFIG:
            return f"{plan.weight_kg:g} kg from your config"
        case WeightSource.DEFAULT:
            return f"{plan.weight_kg:g} kg, a DEFAULT weight (set yours in the config)"


def format_plan(plan: Plan) -> str:
    """Write a plan as a text table for a person to review before a session.

    Returns:
        Several lines: the header, one line per segment, the totals, the energy
        estimate with its equations, and the limits in force.
    """
    lines = [f"{plan.name}  ({plan.source})"]
    lines += [f"  {line}" for line in wrap_words(plan.description, width=88)]
    lines.append("")
    lines.append(
        f"  {'#':>3}  {'start':>7}  {'direction':<11}  {'speed':>9}  {'incline':>7}  "
        f"{'duration':>8}  cue"
    )
    for segment in plan.segments:
        arrow = "<< " if segment.direction is Direction.BACKWARD else ">> "
        lines.append(
            f"  {segment.index + 1:>3}  {_clock(segment.start_s):>7}  "
            f"{arrow + _direction_name(segment.direction):<11}  "
            f"{segment.speed_kmh:>4.1f} km/h  {segment.incline_pct:>5.1f} %  "
            f"{format_duration(segment.duration_s):>8}  "
            f"{_guide(segment)}{segment.cue or ''}".rstrip()
        )
    energy = plan.energy
    lines += [
        "",
        (
            f"  total {format_duration(plan.total_s)}: backward "
            f"{format_duration(plan.backward_s)} ({_share(plan.backward_s, plan.total_s)}), "
            f"forward {format_duration(plan.forward_s)}"
        ),
        (
            f"  turn-arounds {plan.turnarounds} (the session adds about "
            f"{format_duration(plan.turnaround_hold_s)} of turn-around holds, plus ramps)"
        ),
        f"  distance {plan.distance_m / 1000:.2f} km at the target speeds",
        f"  energy ESTIMATE for {_weight_text(plan)}:",
        f"    forward  {energy.forward.kcal:6.1f} kcal  {energy.forward.equation}",
        f"    backward {energy.backward.kcal:6.1f} kcal  {energy.backward.equation}",
        f"    total    {energy.total_kcal:6.1f} kcal  {UNITS_NOTE}",
        (
            f"  limits: backward at most {plan.limits.backward_max_speed_kmh:g} km/h and "
            f"{plan.limits.backward_max_incline_pct:g} % incline, forward at most "
            f"{plan.limits.forward_max_speed_kmh:g} km/h"
        ),
    ]
    return "\n".join(lines)

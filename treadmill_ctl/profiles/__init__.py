"""Workout profiles: the TOML format, checking with located errors, plans and estimates.

The public face of the package; the modules behind it are one idea each:
:mod:`~treadmill_ctl.profiles.durations` (``"1m30s"``),
:mod:`~treadmill_ctl.profiles.model` (the checked values),
:mod:`~treadmill_ctl.profiles.loader` (TOML in, problems out),
:mod:`~treadmill_ctl.profiles.checker` (every problem, located),
:mod:`~treadmill_ctl.profiles.rules` (the keys and bounds it checks against),
:mod:`~treadmill_ctl.profiles.source_map` (the line of each key),
:mod:`~treadmill_ctl.profiles.plan` (the timeline and its statistics),
:mod:`~treadmill_ctl.profiles.energy` (SAFETY.md's equations),
:mod:`~treadmill_ctl.profiles.report` (the plan as text and JSON) and
:mod:`~treadmill_ctl.profiles.check` (``treadmill-ctl check``).
"""

from treadmill_ctl.profiles.check import CheckStatus, check_command
from treadmill_ctl.profiles.checker import InvalidProfileError
from treadmill_ctl.profiles.durations import format_duration, parse_duration
from treadmill_ctl.profiles.energy import (
    BACKWARD_EQUATION,
    DEFAULT_WEIGHT_KG,
    FORWARD_EQUATION,
    WeightSource,
    kcal_per_min,
    vo2_ml_per_kg_min,
)
from treadmill_ctl.profiles.loader import load_profile, parse_profile
from treadmill_ctl.profiles.model import Profile, Repeat, Segment, Step
from treadmill_ctl.profiles.plan import (
    DirectionEnergy,
    EnergyEstimate,
    Plan,
    PlannedSegment,
    build_plan,
)
from treadmill_ctl.profiles.report import format_plan, plan_to_json

__all__ = [
    "BACKWARD_EQUATION",
    "DEFAULT_WEIGHT_KG",
    "FORWARD_EQUATION",
    "CheckStatus",
    "DirectionEnergy",
    "EnergyEstimate",
    "InvalidProfileError",
    "Plan",
    "PlannedSegment",
    "Profile",
    "Repeat",
    "Segment",
    "Step",
    "WeightSource",
    "build_plan",
    "check_command",
    "format_duration",
    "format_plan",
    "kcal_per_min",
    "load_profile",
    "parse_duration",
    "parse_profile",
    "plan_to_json",
    "vo2_ml_per_kg_min",
]

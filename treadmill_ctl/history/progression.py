"""The next session, proposed from the last one, as the training literature advises.

Backward walking is learnt in short intervals that grow slowly: time first, then
speed (progress duration before intensity, as ACSM's guidelines put it). So after a
session completed without a stop, every backward segment of its profile grows by
:data:`INTERVAL_STEP_S` until it lasts :data:`MAX_BACKWARD_INTERVAL_S`, and only then
gets :data:`SPEED_STEP_KMH` faster, never past the profile's backward cap (3.0 km/h by
default, SAFETY.md). After a session that did not go well the proposal stays the same
or gets easier:

- a latch the person caused or their body did (emergency stop, safety key, a heart
  rate above the ceiling), or an early stop with less than
  :data:`EARLY_STOP_FRACTION` of the planned backward time walked: easier (slower
  first, then shorter);
- a technical latch (lost link, stale data, a console speed change, a stop not
  confirmed, and "heart rate unknown": the strap was lost or lost skin contact, which
  says nothing about how the session went for the person), an early stop late in the
  session, a pause, an error or a record cut short: the same again.

The proposal is a :class:`~treadmill_ctl.profiles.Profile`, written as TOML that the
profile loader reads back (:func:`profile_to_toml`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Final

from treadmill_ctl.history.errors import HistoryError, NoSessionYet
from treadmill_ctl.history.session_log import Ending, SessionLog
from treadmill_ctl.profiles import InvalidProfileError, Profile, Repeat, Segment, load_profile
from treadmill_ctl.profiles.durations import format_duration
from treadmill_ctl.safety import Direction, LatchReason, Limits

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

INTERVAL_STEP_S: Final = 15.0
"""How much longer each backward interval gets after a good session."""
SPEED_STEP_KMH: Final = 0.2
"""How much faster backward intervals get once they are as long as they will grow."""
MAX_BACKWARD_INTERVAL_S: Final = 180.0
"""Intervals grow in time up to here, then in speed."""
MIN_BACKWARD_INTERVAL_S: Final = 15.0
"""Easing never shortens an interval below this."""
MIN_BACKWARD_SPEED_KMH: Final = 1.0
"""Easing never slows an interval below this (SAFETY.md's starting speed)."""
EARLY_STOP_FRACTION: Final = 0.75
"""A person who stopped before this share of the planned backward time gets an easier session."""
PERSON_LATCHES: Final = frozenset(
    reason.label
    for reason in (LatchReason.EMERGENCY_STOP, LatchReason.SAFETY_KEY, LatchReason.HEART_RATE)
)
"""Latches that say the session was too much for the person, not for the equipment: the
person's own stop, and their body's (a heart rate above the ceiling)."""
EQUIPMENT_LATCHES: Final = frozenset(
    reason.label for reason in LatchReason if reason.label not in PERSON_LATCHES
)
"""Latches of the equipment: the link, the treadmill, the console, the strap (a heart rate
unknown is a lost strap or lost contact, not a body that could not go on)."""
_MAX_NAME_CHARS: Final = 80
_NEXT_SUFFIX: Final = re.compile(r" \(next (?P<n>\d+)\)$")


class Outcome(StrEnum):
    """What the proposal does to the last session's profile."""

    GROW = "grow"
    SAME = "same"
    EASE = "ease"


@dataclass(frozen=True, slots=True)
class Proposal:
    """The next session.

    Attributes:
        outcome: Grow, the same, or easier.
        reason: Why, in one sentence about the last session.
        based_on: The session it was worked out from.
        base_profile: That session's profile.
        profile: The proposed profile.
        changes: What changed, one line per kind of change (empty for the same).
    """

    outcome: Outcome
    reason: str
    based_on: SessionLog
    base_profile: Profile
    profile: Profile
    changes: tuple[str, ...]


def judge(log: SessionLog) -> tuple[Outcome, str]:
    """Decide whether the next session grows, stays or eases after ``log``."""
    person = [reason for reason in log.summary.latches if reason in PERSON_LATCHES]
    if person:
        return Outcome.EASE, f"the session latched a stop ({', '.join(dict.fromkeys(person))})"
    if log.summary.latches:
        reasons = ", ".join(dict.fromkeys(log.summary.latches))
        return Outcome.SAME, f"the session latched a stop the person did not cause ({reasons})"
    if log.ending is Ending.STOPPED_BY_PERSON:
        return _judge_early_stop(log)
    if log.ending is not Ending.COMPLETED:
        why = {Ending.CUT_SHORT: "was cut short (a crash or a power cut)"}.get(
            log.ending, f"ended with {log.ending.label}"
        )
        return Outcome.SAME, f"the session {why}"
    if log.pauses:
        return Outcome.SAME, "the session was completed, but with a pause"
    return Outcome.GROW, "the session was completed without a stop"


def _judge_early_stop(log: SessionLog) -> tuple[Outcome, str]:
    planned = log.plan.backward_s if log.plan is not None else 0.0
    walked = log.summary.backward_s
    if planned > 0 and walked < EARLY_STOP_FRACTION * planned:
        return Outcome.EASE, (
            f"the session was stopped early, after {format_duration(round(walked))} of "
            f"{format_duration(round(planned))} planned backward"
        )
    return Outcome.SAME, "the session was stopped a little early"


def last_exercised(logs: Sequence[SessionLog]) -> SessionLog:
    """The newest session in which the person walked (not a failed connect, not a dry run).

    A dry run against the simulator never counts: nobody walked it.

    Raises:
        NoSessionYet: There is none.
    """
    for log in sorted(logs, key=lambda log: log.started_at, reverse=True):
        if log.ending.exercised and not log.simulator:
            return log
    dry = any(log.simulator for log in logs)
    raise NoSessionYet(
        "no session to build on yet"
        + (" (dry runs against the simulator do not count)" if dry else "")
        + ": run one on the treadmill first (treadmill-ctl run PROFILE), then ask for the next"
    )


def propose_next(
    logs: Sequence[SessionLog],
    *,
    profile: Profile | None = None,
    limits: Limits | None = None,
    loader: Callable[..., Profile] = load_profile,
) -> Proposal:
    """Propose the next session from the history.

    Args:
        logs: The sessions so far, in any order.
        profile: The profile to grow from; by default the last session's own
            profile, loaded from the path its record names.
        limits: The user's limits (from the config) that the profile loader starts
            from; ``None`` for the defaults.
        loader: Loads a profile file (``load_profile``); a parameter for tests.

    Raises:
        HistoryError: No session to build on, or its profile cannot be loaded.
    """
    log = last_exercised(logs)
    base = profile if profile is not None else _load(log, limits, loader)
    outcome, reason = judge(log)
    if outcome is Outcome.GROW:
        proposed, changes = _grow(base)
        if not changes:
            outcome = Outcome.SAME
            cap = base.limits.backward_max_speed_kmh
            reason += (
                f"; the backward intervals are already {format_duration(MAX_BACKWARD_INTERVAL_S)}"
                f" long at the backward cap of {cap:g} km/h, so they stay as they are"
            )
    elif outcome is Outcome.EASE:
        proposed, changes = _ease(base)
        if not changes:
            outcome = Outcome.SAME
            reason += "; the backward intervals are already as short and slow as they go"
    else:
        proposed, changes = base, []
    named = dataclasses.replace(
        proposed,
        name=_next_name(base.name),
        description=_description(base, log, outcome, reason, changes),
    )
    return Proposal(
        outcome=outcome,
        reason=reason,
        based_on=log,
        base_profile=base,
        profile=named,
        changes=tuple(changes),
    )


def _load(log: SessionLog, limits: Limits | None, loader: Callable[..., Profile]) -> Profile:
    if not log.profile_path:
        raise HistoryError(
            f"{log.path.name}: the record does not say which profile ran; "
            f"give it with --profile PATH"
        )
    try:
        return loader(log.profile_path, limits=limits)
    except InvalidProfileError as error:
        raise HistoryError(
            f"the profile of the last session cannot be loaded ({error}); "
            f"give it with --profile PATH"
        ) from None


def _map_backward(profile: Profile, change: Callable[[Segment], Segment]) -> Profile:
    steps: list[Segment | Repeat] = []
    for step in profile.steps:
        if isinstance(step, Repeat):
            steps.append(
                Repeat(
                    times=step.times,
                    segments=tuple(
                        change(s) if s.direction is Direction.BACKWARD else s for s in step.segments
                    ),
                )
            )
        else:
            steps.append(change(step) if step.direction is Direction.BACKWARD else step)
    return dataclasses.replace(profile, steps=tuple(steps))


def _speed(value: float) -> float:
    return round(value, 2)


def _grow(profile: Profile) -> tuple[Profile, list[str]]:
    cap = profile.limits.backward_max_speed_kmh
    longer: set[tuple[float, float]] = set()
    faster: set[tuple[float, float]] = set()

    def grow(segment: Segment) -> Segment:
        if segment.duration_s < MAX_BACKWARD_INTERVAL_S:
            duration = min(segment.duration_s + INTERVAL_STEP_S, MAX_BACKWARD_INTERVAL_S)
            longer.add((segment.duration_s, duration))
            return dataclasses.replace(segment, duration_s=duration)
        speed = _speed(min(segment.speed_kmh + SPEED_STEP_KMH, cap))
        if speed > segment.speed_kmh:
            faster.add((segment.speed_kmh, speed))
            return dataclasses.replace(segment, speed_kmh=speed)
        return segment

    grown = _map_backward(profile, grow)
    changes = [
        f"backward intervals {format_duration(old)} -> {format_duration(new)}"
        for old, new in sorted(longer)
    ]
    changes += [f"backward speed {old:g} -> {new:g} km/h" for old, new in sorted(faster)]
    return grown, changes


def _ease(profile: Profile) -> tuple[Profile, list[str]]:
    slower: set[tuple[float, float]] = set()
    shorter: set[tuple[float, float]] = set()

    def ease(segment: Segment) -> Segment:
        speed = _speed(max(segment.speed_kmh - SPEED_STEP_KMH, MIN_BACKWARD_SPEED_KMH))
        if speed < segment.speed_kmh:
            slower.add((segment.speed_kmh, speed))
            return dataclasses.replace(segment, speed_kmh=speed)
        duration = max(segment.duration_s - INTERVAL_STEP_S, MIN_BACKWARD_INTERVAL_S)
        if duration < segment.duration_s:
            shorter.add((segment.duration_s, duration))
            return dataclasses.replace(segment, duration_s=duration)
        return segment

    eased = _map_backward(profile, ease)
    changes = [f"backward speed {old:g} -> {new:g} km/h" for old, new in sorted(slower)]
    changes += [
        f"backward intervals {format_duration(old)} -> {format_duration(new)}"
        for old, new in sorted(shorter)
    ]
    return eased, changes


def _next_name(name: str) -> str:
    match = _NEXT_SUFFIX.search(name)
    number = int(match["n"]) + 1 if match else 1
    stem = name[: match.start()] if match else name
    suffix = f" (next {number})"
    return stem[: _MAX_NAME_CHARS - len(suffix)] + suffix


def _description(
    base: Profile, log: SessionLog, outcome: Outcome, reason: str, changes: Sequence[str]
) -> str:
    what = {
        Outcome.GROW: "a little more",
        Outcome.SAME: "the same again",
        Outcome.EASE: "a little easier",
    }[outcome]
    text = f"Proposed by treadmill-ctl next from {log.path.name}: {what}, because {reason}."
    if changes:
        text += " Changes: " + "; ".join(changes) + "."
    if base.description.strip():
        text += " " + base.description.strip()
    return text


def format_proposal(proposal: Proposal, *, written_to: Path | None = None) -> str:
    """The proposal as text for the person."""
    log = proposal.based_on
    headline = {
        Outcome.GROW: "Next session: a little more",
        Outcome.SAME: "Next session: the same again",
        Outcome.EASE: "Next session: a little easier",
    }[proposal.outcome]
    lines = [
        headline,
        f"  after       {log.path.name} ({log.profile_name or 'profile not recorded'})",
        f"  because     {proposal.reason}",
    ]
    lines.extend(f"  change      {change}" for change in proposal.changes)
    cap = proposal.profile.limits.backward_max_speed_kmh
    fastest = max(
        (
            s.speed_kmh
            for s in proposal.profile.iter_segments()
            if s.direction is Direction.BACKWARD
        ),
        default=0.0,
    )
    if fastest:
        lines.append(f"  backward    at most {fastest:g} km/h (cap {cap:g} km/h)")
    if written_to is not None:
        lines.append(f"  written to  {written_to} (run it: treadmill-ctl run {written_to})")
    else:
        lines.append("  write it as a profile with --write PATH")
    return "\n".join(lines)


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are all valid TOML escapes."""
    return json.dumps(text, ensure_ascii=False)


def _toml_number(value: float) -> str:
    number = round(value, 3)
    return str(int(number)) if number == int(number) else repr(number)


def _segment_fields(segment: Segment) -> list[tuple[str, str]]:
    fields = [
        ("direction", _toml_string(segment.direction.value)),
        ("speed_kmh", _toml_number(segment.speed_kmh)),
    ]
    if segment.incline_pct:
        fields.append(("incline_pct", _toml_number(segment.incline_pct)))
    fields.append(("duration", _toml_string(format_duration(segment.duration_s))))
    if segment.hr_zone_bpm is not None:
        low, high = segment.hr_zone_bpm
        fields.append(("hr_zone", f"[{low}, {high}]"))
        # a grown starting speed carries the guide's maximum with it
        top = max(segment.max_speed_kmh or segment.speed_kmh, segment.speed_kmh)
        fields.append(("max_speed_kmh", _toml_number(top)))
    if segment.cue is not None:
        fields.append(("cue", _toml_string(segment.cue)))
    return fields


def profile_to_toml(
    profile: Profile, *, base_limits: Limits | None = None, comment: str | None = None
) -> str:
    """Write a profile in the TOML format the profile loader reads.

    Args:
        profile: The profile.
        base_limits: The limits the loader will start from (the user's, or the
            defaults); every effective limit tighter than these is written in a
            ``[limits]`` table so the profile loads back with the same limits.
        comment: Text for a comment block at the top (one ``#`` line per line).
    """
    base = base_limits if base_limits is not None else Limits()
    lines: list[str] = []
    if comment:
        lines.extend(f"# {line}".rstrip() for line in comment.splitlines())
        lines.append("")
    lines.append(f"name = {_toml_string(profile.name)}")
    lines.append(f"description = {_toml_string(profile.description)}")
    if profile.weight_kg is not None:
        lines.append(f"weight_kg = {_toml_number(profile.weight_kg)}")
    tightened = [
        (field.name, getattr(profile.limits, field.name))
        for field in dataclasses.fields(Limits)
        if getattr(profile.limits, field.name) != getattr(base, field.name)
        and getattr(profile.limits, field.name) is not None
    ]
    if tightened:
        lines.extend(["", "[limits]"])
        lines.extend(f"{key} = {_toml_number(value)}" for key, value in tightened)
    for step in profile.steps:
        lines.extend(["", "[[step]]"])
        if isinstance(step, Repeat):
            lines.append(f"repeat = {step.times}")
            lines.append("segments = [")
            for segment in step.segments:
                inline = ", ".join(f"{key} = {value}" for key, value in _segment_fields(segment))
                lines.append(f"  {{ {inline} }},")
            lines.append("]")
        else:
            lines.extend(f"{key} = {value}" for key, value in _segment_fields(step))
    return "\n".join(lines) + "\n"


def write_proposal(proposal: Proposal, path: Path, *, base_limits: Limits | None = None) -> Path:
    """Write the proposed profile as TOML, with a comment saying where it came from."""
    log = proposal.based_on
    now = datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    comment = "\n".join(
        [
            f"Proposed by `treadmill-ctl next` on {now}, after {log.path.name}.",
            f"Why: {proposal.reason}.",
            *(f"Change: {change}." for change in proposal.changes),
            "Check it with `treadmill-ctl check` before you run it.",
        ]
    )
    text = profile_to_toml(proposal.profile, base_limits=base_limits, comment=comment)
    Path(path).write_text(text, encoding="utf-8")
    return path

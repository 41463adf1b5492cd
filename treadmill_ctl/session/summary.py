"""What a session did, and how the governor answered a request: plain values.

:class:`SessionSummary` is the session's last word (the record's ``session.ended``,
the final screen, the exit status); :func:`outcome_of` is the true answer to a
request (refused, limited or taken), from the governor's decisions; :func:`log_fields`
puts a decision or a summary in the log as plain fields.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING

from treadmill_ctl.safety import Refused, TargetLimited
from treadmill_ctl.session.events import ControlOutcome

if TYPE_CHECKING:
    from treadmill_ctl.safety import Decision
    from treadmill_ctl.session.events import SessionEnd

__all__ = ["SessionSummary", "log_fields", "outcome_of"]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a session did, for the record, the screen and the exit status."""

    end: SessionEnd
    duration_s: float
    backward_s: float
    forward_s: float
    distance_m: float
    segments_completed: int
    segment_count: int
    latches: tuple[str, ...]


def outcome_of(request: object, decisions: list[Decision]) -> ControlOutcome:
    """Whether the governor acted on ``request``: refused, limited or taken."""
    for decision in decisions:
        if isinstance(decision, Refused) and decision.item is request:
            return ControlOutcome(accepted=False, detail=decision.reason)
    for decision in decisions:
        if isinstance(decision, TargetLimited):
            return ControlOutcome(accepted=True, detail=decision.reason)
    return ControlOutcome(accepted=True)


def log_fields(value: object) -> dict[str, object]:
    """A decision or summary as plain fields for the log (enums by name)."""
    if not is_dataclass(value) or isinstance(value, type):
        return {}
    out: dict[str, object] = {}
    for item in fields(value):
        field_value = getattr(value, item.name)
        if isinstance(field_value, Enum):
            field_value = (
                str(field_value.value)
                if isinstance(field_value.value, str)
                else (field_value.name.lower())
            )
        out[item.name] = field_value
    return out

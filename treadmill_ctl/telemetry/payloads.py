"""What the bridge publishes, as JSON built from the session's snapshots and events.

Pure functions: a :class:`~treadmill_ctl.session.events.SessionSnapshot` or
:class:`~treadmill_ctl.session.events.SessionEvent` in, bytes out. Field names
carry their units, as everywhere in treadmill_ctl.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Final

from treadmill_ctl.session.events import SessionPhase

if TYPE_CHECKING:
    from collections.abc import Mapping

    from treadmill_ctl.session.events import (
        LatchReason,
        SegmentView,
        SessionEvent,
        SessionSnapshot,
    )


class TreadmillState(StrEnum):
    """The retained ``state`` topic's value: the session as a dashboard shows it."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    LATCHED = "latched"
    FINISHED = "finished"


_STATE_OF_PHASE: Final = {
    SessionPhase.CONNECTING: TreadmillState.IDLE,
    SessionPhase.WAITING_FOR_START: TreadmillState.IDLE,
    SessionPhase.RUNNING: TreadmillState.RUNNING,
    SessionPhase.TURNING_AROUND: TreadmillState.RUNNING,
    SessionPhase.ENDING: TreadmillState.RUNNING,
    SessionPhase.PAUSED: TreadmillState.PAUSED,
    SessionPhase.LATCHED: TreadmillState.LATCHED,
    SessionPhase.FINISHED: TreadmillState.FINISHED,
}


@dataclass(frozen=True, slots=True)
class StateView:
    """The content of the ``state`` topic; published again only when it changes."""

    state: TreadmillState
    phase: SessionPhase
    reason: LatchReason | None

    @classmethod
    def of(cls, snapshot: SessionSnapshot) -> StateView:
        """The state shown for ``snapshot``; ``reason`` only while latched."""
        state = _STATE_OF_PHASE[snapshot.phase]
        reason = snapshot.latch_reason if state is TreadmillState.LATCHED else None
        return cls(state=state, phase=snapshot.phase, reason=reason)

    def to_json(self) -> bytes:
        """``{"state": ..., "phase": ..., "reason": ...}``."""
        reason = self.reason.label if self.reason is not None else None
        return _dumps({"state": self.state, "phase": self.phase, "reason": reason})


def telemetry_json(snapshot: SessionSnapshot) -> bytes:
    """The ``telemetry`` payload: belt figures, segment and direction of one snapshot."""
    return _dumps(
        {
            "t_s": _round(snapshot.t_s, 3),
            "state": _STATE_OF_PHASE[snapshot.phase],
            "phase": snapshot.phase,
            "profile": snapshot.profile_name,
            "belt_speed_kmh": _round(snapshot.belt_speed_kmh, 2),
            "target_speed_kmh": _round(snapshot.target_speed_kmh, 2),
            "incline_pct": _round(snapshot.incline_pct, 1),
            "distance_m": _round(snapshot.distance_m, 1),
            "elapsed_s": _round(snapshot.elapsed_s, 1),
            "heart_rate_bpm": snapshot.heart_rate_bpm,
            "direction": snapshot.direction,
            "segment": _segment(snapshot.segment, snapshot),
            "session_remaining_s": _round(snapshot.session_remaining_s, 1),
            "link_up": snapshot.link_up,
        }
    )


def event_json(event: SessionEvent) -> bytes:
    """The ``event`` payload: ``{"kind": ..., "t_s": ..., "fields": {...}}``.

    Field values JSON cannot hold (bytes, enums, dataclasses...) are written as text,
    so an event is never lost because of one odd field.
    """
    return _dumps({"kind": event.kind, "t_s": _round(event.t_s, 3), "fields": _plain(event.fields)})


def _segment(segment: SegmentView | None, snapshot: SessionSnapshot) -> dict[str, object] | None:
    if segment is None:
        return None
    return {
        "index": segment.index,
        "count": snapshot.segment_count,
        "direction": segment.direction,
        "speed_kmh": _round(segment.speed_kmh, 2),
        "incline_pct": _round(segment.incline_pct, 1),
        "duration_s": _round(segment.duration_s, 1),
        "remaining_s": _round(snapshot.segment_remaining_s, 1),
        "description": segment.describe(),
    }


def _round(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _plain(fields: Mapping[str, object]) -> dict[str, object]:
    return {str(key): _plain_value(value) for key, value in fields.items()}


def _plain_value(value: object) -> object:
    result: object
    match value:
        case None | bool() | int() | str():
            result = value
        case Enum():
            result = value.value if isinstance(value.value, str | int) else value.name
        case float():
            result = value if math.isfinite(value) else None
        case bytes():
            result = value.hex()
        case dict():
            result = {str(k): _plain_value(v) for k, v in value.items()}
        case list() | tuple() | set() | frozenset():
            result = [_plain_value(v) for v in value]
        case _:
            result = str(value)
    return result


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()

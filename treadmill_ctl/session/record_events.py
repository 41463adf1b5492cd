"""The record's events from what happened: governor state changes, the belt, the link.

:class:`RecordEvents` writes the events that history, reports and exports read
(:class:`~treadmill_ctl.session.events.RecordEvent`) from what the governor decided
and what the treadmill and the link reported, never from a request (the governor may
refuse it):

* pauses, resumes and turn-arounds (:meth:`RecordEvents.state_changed`): a turn-around
  runs from the governor's TURNING_AROUND until the belt runs again, the pause it may
  end in included; any other pause is a pause; a latch or the end closes either;
* latches and re-arms, from the same state changes;
* the device and the plan at the start, each segment as the belt first runs it;
* the belt stopping and moving again, from the treadmill's own speed
  (:meth:`RecordEvents.belt_speed`);
* the link lost and back, once each (:meth:`RecordEvents.link_down`, :meth:`RecordEvents.link_up`).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Final

import structlog

from treadmill_ctl.safety.states import GovernorState
from treadmill_ctl.session.events import RecordEvent

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.ftms.link_events import MachineInfo
    from treadmill_ctl.ftms.observations import TreadmillData
    from treadmill_ctl.profiles import Plan, PlannedSegment
    from treadmill_ctl.safety import StateChanged
    from treadmill_ctl.safety.states import Direction

__all__ = ["STOPPED_KMH", "Emit", "RecordEvents"]

_log = structlog.get_logger("treadmill_ctl.session")

STOPPED_KMH: Final = 0.05
"""A reported belt speed at or below this is a stopped belt."""


type Emit = Callable[..., None]
"""The session's event output, ``emit(kind, *, log=True, **fields)``: logged, recorded, observed."""


class _Hold(Enum):
    """A stretch of the session the belt is held still or slow on purpose."""

    PAUSE = "pause"
    TURN_AROUND = "turn_around"


class RecordEvents:
    """Writes the record's events for one session (see the module's docstring).

    Args:
        emit: The session's event output.
    """

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._holding: _Hold | None = None
        self._belt_stopped: bool | None = None
        self._link_lost = False
        self.latches: list[str] = []
        """Every latch so far, by reason (lower-case names), for the summary."""

    def device(self, info: MachineInfo) -> None:
        """The treadmill connected, as it described itself."""
        self._emit(
            RecordEvent.DEVICE,
            name=info.name,
            address=info.address,
            information=dict(info.device_information),
        )

    def plan(self, plan: Plan) -> None:
        """The plan about to be walked."""
        self._emit(
            RecordEvent.PLAN,
            name=plan.name,
            segments=[
                {
                    "index": segment.index,
                    "direction": str(segment.direction),
                    "speed_kmh": segment.speed_kmh,
                    "incline_pct": segment.incline_pct,
                    "duration_s": segment.duration_s,
                    "hr_zone_bpm": segment.hr_zone_bpm,
                }
                for segment in plan.segments
            ],
        )

    def segment_started(self, segment: PlannedSegment) -> None:
        """The belt runs in ``segment`` for the first time."""
        self._emit(
            RecordEvent.SEGMENT_STARTED,
            index=segment.index,
            direction=str(segment.direction),
            speed_kmh=segment.speed_kmh,
            incline_pct=segment.incline_pct,
            duration_s=segment.duration_s,
            cue=segment.cue,
            hr_zone_bpm=segment.hr_zone_bpm,
        )

    def state_changed(self, change: StateChanged, pending_direction: Direction | None) -> None:
        """A governor state change; ``pending_direction``: where a turn-around turns to."""
        self._holds(change, pending_direction)
        if change.new is GovernorState.LATCHED and change.latch_reason is not None:
            reason = change.latch_reason.label
            self.latches.append(reason)
            _log.error(RecordEvent.LATCHED, reason=reason, detail=change.reason)
            self._emit(RecordEvent.LATCHED, log=False, reason=reason, detail=change.reason)
        elif change.old is GovernorState.LATCHED and change.new is GovernorState.IDLE:
            self._emit(RecordEvent.REARMED)

    def _holds(self, change: StateChanged, pending_direction: Direction | None) -> None:
        old, new = change.old, change.new
        if new is GovernorState.PAUSED:
            if old is GovernorState.TURNING_AROUND and pending_direction is None:
                return  # the turn-around's own wait for the resume
            if self._holding is _Hold.TURN_AROUND:
                self._emit(RecordEvent.TURN_AROUND_ENDED, outcome="paused")
            self._holding = _Hold.PAUSE
            self._emit(RecordEvent.PAUSED, reason=change.reason, during=str(old))
            return
        if self._holding is _Hold.PAUSE:
            if new is GovernorState.RUNNING:
                self._emit(RecordEvent.RESUMED, reason=change.reason)
            self._holding = None
        elif self._holding is _Hold.TURN_AROUND and new is not GovernorState.TURNING_AROUND:
            self._emit(RecordEvent.TURN_AROUND_ENDED, outcome=str(new))
            self._holding = None
        if new is GovernorState.TURNING_AROUND and self._holding is None:
            self._holding = _Hold.TURN_AROUND
            self._emit(
                RecordEvent.TURN_AROUND_STARTED,
                direction=str(pending_direction) if pending_direction is not None else None,
            )

    def belt_data(self, data: TreadmillData) -> None:
        """A Treadmill Data record (logged), and the belt stopping or moving again."""
        if data.speed_kmh is not None:
            self.belt_speed(data.speed_kmh)
        _log.info(
            RecordEvent.BELT_DATA,
            speed_kmh=data.speed_kmh,
            incline_pct=data.incline_pct,
            distance_m=data.distance_m,
            elapsed_s=data.elapsed_s,
            heart_rate_bpm=data.heart_rate_bpm,
            heart_rate_source="treadmill" if data.heart_rate_bpm is not None else None,
        )

    def belt_speed(self, speed_kmh: float) -> None:
        """The treadmill's own word that the belt stopped or moves again."""
        stopped = speed_kmh <= STOPPED_KMH
        if self._belt_stopped is None:
            self._belt_stopped = stopped
        elif stopped is not self._belt_stopped:
            self._belt_stopped = stopped
            kind = RecordEvent.BELT_STOPPED if stopped else RecordEvent.BELT_MOVING
            self._emit(kind, speed_kmh=speed_kmh)

    def link_down(self, reason: str) -> None:
        """The link was lost (written once until it is back)."""
        if not self._link_lost:
            self._link_lost = True
            self._emit(RecordEvent.LINK_LOST, reason=reason)

    def link_up(self) -> None:
        """The link is up (written only as the end of a loss)."""
        if self._link_lost:
            self._link_lost = False
            self._emit(RecordEvent.LINK_BACK)

"""The session's state as observers see it: one :class:`SessionSnapshot` from its parts.

Pure: :func:`build_snapshot` reads the plan cursor, the governor, the last belt data
and the :class:`ShownState` it is given and builds the snapshot the dashboard, the
MQTT bridge and the cue player are shown each tick; :class:`ShownState` follows the
governor's state changes into what a person is shown (the phase, a turn-around's
countdown and the resume after it, a latch's detail).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from treadmill_ctl.safety.states import GovernorState
from treadmill_ctl.session.events import SegmentView, SessionPhase, SessionSnapshot

if TYPE_CHECKING:
    from treadmill_ctl.ftms.observations import TreadmillData
    from treadmill_ctl.profiles import PlannedSegment
    from treadmill_ctl.safety import Direction, SafetyGovernor, StateChanged
    from treadmill_ctl.session.plan_cursor import PlanCursor

__all__ = ["ShownState", "build_snapshot", "segment_view"]

_HOLDING: Final = frozenset({GovernorState.TURNING_AROUND, GovernorState.PAUSED})

_PHASES: Final = {
    GovernorState.IDLE: SessionPhase.WAITING_FOR_START,
    GovernorState.RUNNING: SessionPhase.RUNNING,
    GovernorState.TURNING_AROUND: SessionPhase.TURNING_AROUND,
    GovernorState.PAUSED: SessionPhase.PAUSED,
    GovernorState.ENDING: SessionPhase.ENDING,
    GovernorState.LATCHED: SessionPhase.LATCHED,
    GovernorState.FINISHED: SessionPhase.FINISHED,
}


@dataclass(slots=True)
class ShownState:
    """What a person is shown of the governor's state, kept from its state changes.

    Attributes:
        phase: Where the session is.
        paused_after_turn: The belt waits for the person's resume after a turn-around.
        countdown: The last turn-around countdown said: (seconds left, when said).
        latch_detail: Why the governor latched, in its words (shown while latched).
    """

    phase: SessionPhase = SessionPhase.CONNECTING
    paused_after_turn: bool = False
    countdown: tuple[int, float] | None = None
    latch_detail: str | None = None

    def state_changed(self, change: StateChanged) -> None:
        """Follow one governor state change."""
        self.phase = _PHASES[change.new]
        self.paused_after_turn = (
            change.old is GovernorState.TURNING_AROUND and change.new is GovernorState.PAUSED
        )
        if change.new is GovernorState.TURNING_AROUND:
            self.countdown = None  # each turn-around counts down its own hold
        if change.new is GovernorState.LATCHED:
            self.latch_detail = change.reason


def build_snapshot(
    *,
    now_s: float,
    started_s: float,
    shown: ShownState,
    plan_name: str,
    cursor: PlanCursor,
    governor: SafetyGovernor | None,
    data: TreadmillData | None,
    distance_m: float | None,
    heart_rate_bpm: int | None,
    link_up: bool,
    heart_rate_ceiling_bpm: int | None = None,
    heart_rate_watched: bool = False,
) -> SessionSnapshot:
    """The session now."""
    segment = cursor.current
    phase, countdown, paused_after_turn = shown.phase, shown.countdown, shown.paused_after_turn
    countdown_s: float | None = None
    if (
        countdown is not None
        and governor is not None
        and governor.pending_direction is not None
        and governor.state in _HOLDING
    ):
        seconds_left, given_s = countdown
        countdown_s = max(0.0, seconds_left - (now_s - given_s))
    return SessionSnapshot(
        t_s=now_s - started_s,
        phase=phase,
        profile_name=plan_name,
        latch_reason=governor.latch_reason if governor is not None else None,
        segment=segment_view(segment),
        next_segment=segment_view(cursor.next_segment if segment is not None else None),
        segment_count=len(cursor.segments),
        segment_remaining_s=cursor.segment_remaining_s,
        session_remaining_s=cursor.session_remaining_s,
        direction=governor.direction if governor is not None else None,
        target_speed_kmh=governor.commanded_speed_kmh if governor is not None else 0.0,
        belt_speed_kmh=data.speed_kmh if data is not None else None,
        incline_pct=data.incline_pct if data is not None else None,
        distance_m=distance_m,
        elapsed_s=now_s - started_s,
        heart_rate_bpm=heart_rate_bpm,
        heart_rate_ceiling_bpm=heart_rate_ceiling_bpm,
        heart_rate_watched=heart_rate_watched,
        link_up=link_up,
        turnaround_countdown_s=countdown_s,
        turning_to=_turning_to(governor, paused_after_turn=paused_after_turn),
        resume_after_turn=(
            paused_after_turn and governor is not None and governor.state is GovernorState.PAUSED
        ),
        latch_detail=shown.latch_detail if phase is SessionPhase.LATCHED else None,
    )


def _turning_to(governor: SafetyGovernor | None, *, paused_after_turn: bool) -> Direction | None:
    """The direction being turned to: while turning, and while waiting to walk it."""
    if governor is None:
        return None
    if governor.pending_direction is not None and governor.state in _HOLDING:
        return governor.pending_direction
    if paused_after_turn and governor.state is GovernorState.PAUSED:
        return governor.direction
    return None


@functools.lru_cache(maxsize=8)
def segment_view(segment: PlannedSegment | None) -> SegmentView | None:
    """A planned segment as observers see it.

    Both views are asked for every tick, of the same one or two segments for minutes
    on end: the view (immutable, equal for equal segments) is remembered.
    """
    if segment is None:
        return None
    return SegmentView(
        index=segment.index,
        direction=segment.direction,
        speed_kmh=segment.speed_kmh,
        incline_pct=segment.incline_pct,
        duration_s=segment.duration_s,
        cue=segment.cue,
    )

"""The profile's plan as time passes: pure, with no asyncio and no I/O.

:class:`PlanCursor` knows where the session is in its plan: the segment walked now,
how long it has been walked, the one after it, what is left, and when the heads-up
for the segment's end is due. Time is passed in (the walking time the runner counts
while the governor runs the belt); what happens is returned as :data:`PlanStep`
values for the runner to act on (record, cue, request), never done here.

The segment's target (:func:`segment_target`) is the plan's wish as the governor is
asked for it: raised to the treadmill's slowest speed where the plan is slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from treadmill_ctl.safety import SetTarget
from treadmill_ctl.safety.states import CueKind, Direction
from treadmill_ctl.session.events import Cue, Utterance
from treadmill_ctl.session.speech import (
    HEADS_UP_MARGIN_S,
    HEADS_UP_MAX_LEAD_S,
    HeadsUp,
    SpeechTiming,
    plan_heads_up,
    spoken,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from treadmill_ctl.profiles import PlannedSegment
    from treadmill_ctl.safety import MachineRanges

__all__ = [
    "HEADS_UP_START_LATE_S",
    "HEADS_UP_START_S",
    "HeadsUpDue",
    "PlanCursor",
    "PlanStep",
    "SegmentBegun",
    "SegmentDone",
    "heads_up_cue",
    "segment_target",
]

HEADS_UP_START_S: Final = 3.0
"""Room left at a segment's start for what is said there (its cue, "walk backward now")."""

HEADS_UP_START_LATE_S: Final = 0.5
"""A heads-up that says "in N seconds" starts at most this late, or a variant without
the number is said instead."""


@dataclass(frozen=True, slots=True)
class SegmentBegun:
    """The belt runs in ``segment`` for the first time: record it, say its cue."""

    segment: PlannedSegment


@dataclass(frozen=True, slots=True)
class HeadsUpDue:
    """The heads-up for the segment's end is due, ``left_s`` before that end."""

    heads_up: HeadsUp
    left_s: float


@dataclass(frozen=True, slots=True)
class SegmentDone:
    """``segment`` has been walked whole; ``following`` is next (None: the plan is done)."""

    segment: PlannedSegment
    following: PlannedSegment | None


type PlanStep = SegmentBegun | HeadsUpDue | SegmentDone
"""What moving the plan on did, in the order it happened."""


class PlanCursor:
    """Where the session is in its plan.

    Args:
        segments: The plan's segments, in order.
        speech_timing: How long a sentence takes to say (heads-ups end before their event).
    """

    def __init__(self, segments: Sequence[PlannedSegment], speech_timing: SpeechTiming) -> None:
        self._segments = tuple(segments)
        self._timing = speech_timing
        durations = [segment.duration_s for segment in self._segments]
        # planned time after each segment, for "session left"
        self._time_after_s = [sum(durations[i + 1 :]) for i in range(len(durations))]
        self._index = 0
        self._elapsed_s = 0.0
        self._begun = False
        self._heads_up: HeadsUp | None = None
        self._heads_up_given = False
        self._finished = 0
        self._time_by_direction = {Direction.FORWARD: 0.0, Direction.BACKWARD: 0.0}

    # -- where the plan is -------------------------------------------------------------

    @property
    def segments(self) -> tuple[PlannedSegment, ...]:
        """Every segment of the plan."""
        return self._segments

    @property
    def done(self) -> bool:
        """Whether every segment has been walked."""
        return self._index >= len(self._segments)

    @property
    def current(self) -> PlannedSegment | None:
        """The segment walked now (or next, when it has not begun); None once done."""
        index, segments = self._index, self._segments  # read five times a tick: no `done`
        return segments[index] if index < len(segments) else None

    @property
    def walking(self) -> PlannedSegment | None:
        """The segment being walked: begun and not done (None between segments)."""
        return self.current if self._begun else None

    @property
    def next_segment(self) -> PlannedSegment | None:
        """The segment after the current one, if any."""
        index = self._index + 1
        return self._segments[index] if index < len(self._segments) else None

    @property
    def elapsed_s(self) -> float:
        """Walking time in the current segment."""
        return self._elapsed_s

    @property
    def segment_remaining_s(self) -> float | None:
        """What is left of the current segment (None once done)."""
        segment = self.current
        return None if segment is None else max(0.0, segment.duration_s - self._elapsed_s)

    @property
    def session_remaining_s(self) -> float:
        """What is left of the plan: this segment's rest and every later one."""
        remaining = self.segment_remaining_s
        return 0.0 if remaining is None else remaining + self._time_after_s[self._index]

    @property
    def finished_count(self) -> int:
        """Segments walked whole."""
        return self._finished

    @property
    def time_by_direction(self) -> Mapping[Direction, float]:
        """Walking time so far, by the direction the plan had the person face."""
        return self._time_by_direction

    # -- time passes -------------------------------------------------------------------

    def advance(self, dt_s: float) -> list[PlanStep]:
        """``dt_s`` more seconds of walking (the belt running the plan); what happened."""
        segment = self.current
        if segment is None:
            return []
        steps: list[PlanStep] = []
        if not self._begun:
            self._begun = True
            self._heads_up = self._plan_heads_up(segment)
            steps.append(SegmentBegun(segment))
        self._elapsed_s += dt_s
        self._time_by_direction[Direction(segment.direction)] += dt_s
        left_s = segment.duration_s - self._elapsed_s
        following = self.next_segment
        heads_up = self._heads_up
        if not self._heads_up_given and heads_up is not None and left_s <= heads_up.lead_s:
            self._heads_up_given = True
            steps.append(HeadsUpDue(heads_up, left_s))
        if left_s > 0:
            return steps
        self._finished += 1
        self._index += 1
        self._elapsed_s = 0.0
        self._begun = False
        self._heads_up_given = False
        steps.append(SegmentDone(segment, following))
        return steps

    def _plan_heads_up(self, segment: PlannedSegment) -> HeadsUp | None:
        """The heads-up for this segment's end, to be heard whole before it.

        It may start no earlier than the segment's start plus what is said there.
        """
        busy_s = HEADS_UP_START_S
        if segment.cue:
            busy_s += self._timing.duration_s(spoken(segment.cue))
        return plan_heads_up(
            segment,
            self.next_segment,
            self._timing,
            max_lead_s=min(HEADS_UP_MAX_LEAD_S, segment.duration_s - busy_s),
        )


def heads_up_cue(heads_up: HeadsUp, left_s: float, now_s: float) -> Cue:
    """The heads-up as said, to end before the segment does (``left_s`` from ``now_s``)."""
    speech = [Utterance(text) for text in heads_up.shorter]
    if heads_up.timed:
        speech.insert(0, Utterance(heads_up.timed, start_by_s=now_s + HEADS_UP_START_LATE_S))
    return Cue(
        CueKind.HEADS_UP,
        heads_up.text,
        speech=tuple(speech),
        end_by_s=now_s + left_s - HEADS_UP_MARGIN_S,
    )


def segment_target(segment: PlannedSegment, ranges: MachineRanges) -> SetTarget:
    """The segment's target, raised to the treadmill's slowest speed.

    (``MachineRanges.raised_to_minimum``: below the minimum the governor would pause
    the belt, and every resume would start it again.)
    """
    return SetTarget(
        speed_kmh=ranges.raised_to_minimum(segment.speed_kmh),
        direction=Direction(segment.direction),
        incline_pct=segment.incline_pct,
    )

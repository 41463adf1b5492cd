"""A session cut into laps, the same way for every export: FIT and TCX agree.

The activity runs from the person's first start to the end of their last walking
stretch: the wait before the first start is not part of it. Each segment of the plan
that ran is a lap (an automatic lap, triggered by time); each turn-around is a lap
of its own, a rest, from the governor's slowing down until the belt runs the other
way. A lap's timer time is the time the person walked in it: pauses and latch waits
inside a lap count in its elapsed time, not in its timer time; turn-arounds count
as walking (the person is on the belt, turning round at a standstill or a crawl).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from treadmill_ctl.history.errors import NothingToExport

if TYPE_CHECKING:
    from treadmill_ctl.history.session_log import Sample, SegmentRun, SessionLog, Span


@dataclass(frozen=True, slots=True)
class Lap:
    """One lap of the activity.

    Attributes:
        start_t_s: Session time it began.
        end_t_s: Session time it ended.
        timer_s: Time the person walked in it.
        distance_m: Distance walked in it.
        samples: The belt samples in it while the person walked.
        segment: The plan's segment it ran, ``None`` for a turn-around.
    """

    start_t_s: float
    end_t_s: float
    timer_s: float
    distance_m: float
    samples: tuple[Sample, ...]
    segment: SegmentRun | None

    @property
    def elapsed_s(self) -> float:
        """Session time from its start to its end (pauses and latches included)."""
        return max(0.0, self.end_t_s - self.start_t_s)

    @property
    def rest(self) -> bool:
        """A turn-around, not a segment of the plan."""
        return self.segment is None


def require_samples(log: SessionLog) -> None:
    """Refuse a record without a single belt sample: its export would be empty.

    Raises:
        NothingToExport: The record has no belt sample.
    """
    if not log.samples:
        raise NothingToExport(
            f"{log.path.name}: the record holds no belt data (the treadmill never "
            "reported): there is no activity to export"
        )


def activity_span(log: SessionLog) -> tuple[float, float]:
    """Where the activity begins (the first start) and ends (the last walking moment).

    A record in which the belt never started spans its whole session time.
    """
    if not log.timer_spans:
        return log.start_t_s, log.end_t_s
    return log.timer_spans[0].start_t_s, log.timer_spans[-1].end_t_s


def timer_between(log: SessionLog, start_t_s: float, end_t_s: float) -> float:
    """Time the person walked between two session times."""
    return sum(_overlap(span, start_t_s, end_t_s) for span in log.timer_spans)


def _overlap(span: Span, start_t_s: float, end_t_s: float) -> float:
    return max(0.0, min(span.end_t_s, end_t_s) - max(span.start_t_s, start_t_s))


def distance_at(log: SessionLog, t_s: float, *, inclusive: bool = False) -> float:
    """The session's distance reached before ``t_s`` (0 before any sample).

    ``inclusive`` counts a sample at ``t_s`` itself too (for the activity's end).
    """
    reached = 0.0
    for sample in log.samples:
        if sample.t_s > t_s or (sample.t_s == t_s and not inclusive):
            break
        reached = sample.distance_m
    return reached


def laps(log: SessionLog) -> list[Lap]:
    """The activity's laps in order, segments and turn-arounds, covering it whole."""
    start, end = activity_span(log)
    marks: list[tuple[float, SegmentRun | None]] = [
        (segment.start_t_s, segment) for segment in log.segments
    ]
    marks += [(turn.start_t_s, None) for turn in log.turn_arounds]
    marks.sort(key=lambda mark: mark[0])
    if not marks or marks[0][1] is None:
        marks.insert(0, (start, log.segments[0] if log.segments else None))
    out: list[Lap] = []
    for position, (mark_t_s, segment) in enumerate(marks):
        lap_start = start if position == 0 else min(max(mark_t_s, start), end)
        following = marks[position + 1][0] if position + 1 < len(marks) else end
        lap_end = min(max(following, lap_start), end)
        if segment is None and lap_end <= lap_start:
            continue  # a turn-around the activity's end cut off
        last = position == len(marks) - 1
        samples = tuple(
            sample
            for sample in log.samples
            if sample.timer_running
            and (lap_start <= sample.t_s < lap_end or (last and sample.t_s == lap_end))
        )
        out.append(
            Lap(
                start_t_s=lap_start,
                end_t_s=lap_end,
                timer_s=timer_between(log, lap_start, lap_end),
                distance_m=max(
                    0.0,
                    distance_at(log, lap_end, inclusive=last) - distance_at(log, lap_start),
                ),
                samples=samples,
                segment=segment,
            )
        )
    return out

"""The plan cursor: the profile's plan as walking time passes, with no loop and no I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadmill_ctl.profiles import build_plan, parse_profile
from treadmill_ctl.safety import MachineRanges
from treadmill_ctl.safety.states import Direction
from treadmill_ctl.session.plan_cursor import (
    HEADS_UP_START_LATE_S,
    HeadsUpDue,
    PlanCursor,
    SegmentBegun,
    SegmentDone,
    heads_up_cue,
    segment_target,
)
from treadmill_ctl.session.speech import HEADS_UP_MARGIN_S, RateModel

PROFILE = """
name = "three"

[[step]]
direction = "forward"
speed_kmh = 3.0
duration = "1m"
cue = "Warm up."

[[step]]
direction = "backward"
speed_kmh = 1.5
duration = "30s"

[[step]]
direction = "backward"
speed_kmh = 2.0
duration = "20s"
"""


def _cursor() -> PlanCursor:
    return PlanCursor(build_plan(parse_profile(PROFILE, source="three.toml")).segments, RateModel())


class TestWhereThePlanIs:
    def test_before_any_walking_the_first_segment_is_current_and_not_begun(self) -> None:
        """The first segment is shown before the start, whole; nothing is walked yet."""
        cursor = _cursor()
        assert cursor.current is not None
        assert cursor.current.index == 0
        assert cursor.walking is None
        assert cursor.next_segment is not None
        assert cursor.next_segment.index == 1
        assert cursor.segment_remaining_s == 60.0
        assert cursor.session_remaining_s == 110.0
        assert cursor.finished_count == 0

    def test_walking_time_moves_the_segment_and_the_session_left(self) -> None:
        """Ten seconds walked are ten seconds less of the segment and of the session."""
        cursor = _cursor()
        cursor.advance(10.0)
        assert cursor.walking is cursor.current
        assert cursor.elapsed_s == 10.0
        assert cursor.segment_remaining_s == 50.0
        assert cursor.session_remaining_s == 100.0
        assert cursor.time_by_direction[Direction.FORWARD] == 10.0
        assert cursor.time_by_direction[Direction.BACKWARD] == 0.0

    def test_the_end_of_the_last_segment_is_the_end_of_the_plan(self) -> None:
        """Once every segment is walked nothing is current and nothing more happens."""
        cursor = _cursor()
        for _ in range(3):
            cursor.advance(100.0)
        assert cursor.done
        assert cursor.current is None
        assert cursor.segment_remaining_s is None
        assert cursor.session_remaining_s == 0.0
        assert cursor.finished_count == 3
        assert cursor.advance(1.0) == []


class TestWhatHappens:
    def test_a_segment_begins_once_and_ends_with_the_next_one_named(self) -> None:
        """Begun on its first walking tick; done when its time is up, naming the next."""
        cursor = _cursor()
        first = cursor.advance(0.1)
        assert [type(step) for step in first] == [SegmentBegun]
        assert not any(isinstance(step, SegmentBegun) for step in cursor.advance(0.1))
        steps = cursor.advance(60.0)
        done = [step for step in steps if isinstance(step, SegmentDone)]
        assert len(done) == 1
        assert done[0].segment.index == 0
        assert done[0].following is not None
        assert done[0].following.index == 1
        assert cursor.walking is None  # the next has not begun: the belt may not run yet

    def test_the_last_segment_done_names_no_following(self) -> None:
        """The plan's end is a SegmentDone without a following segment."""
        cursor = _cursor()
        steps = [step for dt in (0.1, 60.0, 0.1, 30.0, 0.1, 20.0) for step in cursor.advance(dt)]
        done = [step for step in steps if isinstance(step, SegmentDone)]
        assert [step.segment.index for step in done] == [0, 1, 2]
        assert done[-1].following is None

    def test_the_heads_up_is_due_once_at_its_lead_before_the_end(self) -> None:
        """Said once, when what is left first reaches its lead (never after the end)."""
        cursor = _cursor()
        due: list[HeadsUpDue] = []
        while cursor.finished_count == 0:
            due.extend(step for step in cursor.advance(0.1) if isinstance(step, HeadsUpDue))
        assert len(due) == 1
        heads_up = due[0]
        assert 0 < heads_up.left_s <= heads_up.heads_up.lead_s
        assert "turn around" in heads_up.heads_up.text

    @given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=100))
    def test_walking_time_is_counted_whole_whatever_the_ticks(self, ticks: list[float]) -> None:
        """However time is cut (short of the plan's end), all of it is counted by direction."""
        cursor = _cursor()
        for dt in ticks:
            cursor.advance(dt)
        assert sum(cursor.time_by_direction.values()) == pytest.approx(sum(ticks))
        assert cursor.time_by_direction[Direction.FORWARD] == pytest.approx(
            min(sum(ticks), 60.0), abs=1.0
        )


class TestTheSegmentsTarget:
    def test_a_segment_slower_than_the_treadmill_is_walked_at_its_slowest(self) -> None:
        """Below the minimum the belt would pause; the target is the minimum instead."""
        segment = _cursor().segments[1]
        target = segment_target(segment, _ranges(min_speed_kmh=2.0))
        assert target.speed_kmh == 2.0
        assert target.direction is Direction.BACKWARD
        assert segment_target(segment, _ranges(min_speed_kmh=1.0)).speed_kmh == 1.5


def _ranges(*, min_speed_kmh: float) -> MachineRanges:
    return MachineRanges(min_speed_kmh=min_speed_kmh, max_speed_kmh=12.0, speed_increment_kmh=0.1)


def test_the_heads_up_cue_ends_before_the_segment_and_starts_its_number_on_time() -> None:
    """The timed sentence must start on time; every variant must end before the change."""
    cursor = _cursor()
    steps = [step for _ in range(700) for step in cursor.advance(0.1)]
    (due,) = [step for step in steps if isinstance(step, HeadsUpDue)]
    cue = heads_up_cue(due.heads_up, due.left_s, now_s=100.0)
    assert cue.end_by_s == pytest.approx(100.0 + due.left_s - HEADS_UP_MARGIN_S)
    assert cue.speech[0].start_by_s == 100.0 + HEADS_UP_START_LATE_S
    assert cue.kind == "heads_up"

"""The next session: grow slowly after a good one, hold or ease after a bad one."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_history_fixtures import START, SyntheticRecord

from treadmill_ctl.history.errors import HistoryError, NoSessionYet
from treadmill_ctl.history.progression import (
    EQUIPMENT_LATCHES,
    MAX_BACKWARD_INTERVAL_S,
    PERSON_LATCHES,
    Outcome,
    format_proposal,
    judge,
    profile_to_toml,
    propose_next,
    write_proposal,
)
from treadmill_ctl.history.record import parse_record, read_record
from treadmill_ctl.history.session_log import Ending, SessionLog
from treadmill_ctl.profiles import Profile, Repeat, Segment, load_profile, parse_profile
from treadmill_ctl.safety import Direction, LatchReason, Limits

if TYPE_CHECKING:
    from person_runs import ScriptedRun

pytest_plugins = ["scripted_runs"]

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
BEGINNER = PROFILES / "backward-beginner.toml"


def _log(name: str = "20250314-093000-b.jsonl", **options: object) -> SessionLog:
    record = SyntheticRecord(profile_path=str(BEGINNER), **options)  # type: ignore[arg-type]
    return parse_record(record.build(), path=Path(name))


def _backward(profile: Profile) -> list[Segment]:
    return [s for s in profile.iter_segments() if s.direction is Direction.BACKWARD]


class TestJudge:
    def test_a_session_completed_without_a_stop_grows(self) -> None:
        assert judge(_log())[0] is Outcome.GROW

    @pytest.mark.parametrize("reason", ["emergency_stop", "safety_key", "heart_rate"])
    def test_a_latch_the_person_caused_eases(self, reason: str) -> None:
        outcome, why = judge(_log(latch_at_s=100, latch_reason=reason))
        assert outcome is Outcome.EASE
        assert reason in why

    @pytest.mark.parametrize(
        "reason",
        [
            "link_lost",
            "stale_data",
            "unrequested_speed_change",
            "control_lost",
            "stop_not_confirmed",
            "heart_rate_unknown",
        ],
    )
    def test_a_technical_latch_keeps_the_session_the_same(self, reason: str) -> None:
        """A lost strap ("heart rate unknown") is the equipment's, not the person's body."""
        outcome, why = judge(_log(latch_at_s=100, latch_reason=reason))
        assert outcome is Outcome.SAME
        assert "did not cause" in why

    def test_every_latch_reason_is_the_persons_or_the_equipments(self) -> None:
        """A new latch reason cannot be forgotten: each is classified, exactly once."""
        names = {reason.name.lower() for reason in LatchReason}
        assert names == PERSON_LATCHES | EQUIPMENT_LATCHES
        assert not PERSON_LATCHES & EQUIPMENT_LATCHES
        assert "heart_rate" in PERSON_LATCHES
        assert "heart_rate_unknown" in EQUIPMENT_LATCHES

    def test_a_session_cut_short_keeps_it_the_same(self) -> None:
        outcome, why = judge(_log(cut_at_s=100))
        assert outcome is Outcome.SAME
        assert "cut short" in why

    def test_a_pause_keeps_it_the_same(self, paused_run: ScriptedRun) -> None:
        log = read_record(paused_run.record)  # a real session, paused once
        assert log.ending is Ending.COMPLETED
        assert len(log.pauses) == 1
        assert judge(log)[0] is Outcome.SAME

    def test_an_early_stop_before_most_of_the_backward_time_eases(self) -> None:
        log = _log(end="stopped_by_person")
        early = dataclasses.replace(log, summary=dataclasses.replace(log.summary, backward_s=20.0))
        assert judge(early)[0] is Outcome.EASE
        late = dataclasses.replace(log, summary=dataclasses.replace(log.summary, backward_s=55.0))
        assert judge(late)[0] is Outcome.SAME


class TestPropose:
    def test_after_a_good_session_backward_intervals_get_15_seconds_longer(self) -> None:
        proposal = propose_next([_log()])
        assert proposal.outcome is Outcome.GROW
        assert {s.duration_s for s in _backward(proposal.profile)} == {45.0}
        assert {s.speed_kmh for s in _backward(proposal.profile)} == {1.2}
        assert proposal.changes == ("backward intervals 30s -> 45s",)
        forward_before = [
            s for s in proposal.base_profile.iter_segments() if s.direction == "forward"
        ]
        forward_after = [s for s in proposal.profile.iter_segments() if s.direction == "forward"]
        assert forward_after == forward_before

    def test_intervals_at_their_longest_get_a_little_faster_instead(self) -> None:
        base = _profile(duration_s=MAX_BACKWARD_INTERVAL_S, speed_kmh=2.0)
        proposal = propose_next([_log()], profile=base)
        assert {(s.duration_s, s.speed_kmh) for s in _backward(proposal.profile)} == {
            (MAX_BACKWARD_INTERVAL_S, 2.2)
        }

    def test_speed_never_grows_past_the_backward_cap(self) -> None:
        base = _profile(duration_s=MAX_BACKWARD_INTERVAL_S, speed_kmh=2.9)
        grown = propose_next([_log()], profile=base)
        assert {s.speed_kmh for s in _backward(grown.profile)} == {3.0}
        again = propose_next([_log()], profile=grown.profile)
        assert again.outcome is Outcome.SAME
        assert "backward cap of 3 km/h" in again.reason
        assert {s.speed_kmh for s in _backward(again.profile)} == {3.0}

    def test_a_tighter_cap_in_the_profile_is_respected(self) -> None:
        base = _profile(
            duration_s=MAX_BACKWARD_INTERVAL_S,
            speed_kmh=1.9,
            limits=Limits(backward_max_speed_kmh=2.0),
        )
        proposal = propose_next([_log()], profile=base)
        assert {s.speed_kmh for s in _backward(proposal.profile)} == {2.0}

    def test_after_an_emergency_stop_the_backward_speed_comes_down(self) -> None:
        proposal = propose_next([_log(latch_at_s=100)], profile=_profile(speed_kmh=1.8))
        assert proposal.outcome is Outcome.EASE
        assert {s.speed_kmh for s in _backward(proposal.profile)} == {1.6}

    def test_easing_at_the_slowest_speed_shortens_the_intervals(self) -> None:
        base = _profile(speed_kmh=1.0, duration_s=45.0)
        proposal = propose_next([_log(latch_at_s=100)], profile=base)
        assert {s.duration_s for s in _backward(proposal.profile)} == {30.0}
        assert {s.speed_kmh for s in _backward(proposal.profile)} == {1.0}

    def test_the_newest_session_decides_and_failed_connects_are_skipped(self) -> None:
        old = _log("20250310-080000-b.jsonl", latch_at_s=100)
        good = _log("20250312-080000-b.jsonl", started_at=START + timedelta(days=2))
        failed = _log(
            "20250314-080000-b.jsonl", started_at=START + timedelta(days=4), end="connect_failed"
        )
        proposal = propose_next([failed, old, good])
        assert proposal.based_on is good
        assert proposal.outcome is Outcome.GROW

    def test_with_no_session_walked_there_is_nothing_to_build_on(self) -> None:
        with pytest.raises(NoSessionYet):
            propose_next([])
        with pytest.raises(NoSessionYet):
            propose_next([_log(end="connect_failed")])

    def test_a_profile_that_cannot_be_found_asks_for_one(self) -> None:
        log = dataclasses.replace(_log(), profile_path="/nowhere/gone.toml")
        with pytest.raises(HistoryError, match="--profile PATH"):
            propose_next([log])

    def test_the_proposal_is_named_as_the_next_of_its_base(self) -> None:
        first = propose_next([_log()])
        assert first.profile.name == "Backward walking: first session (next 1)"
        second = propose_next([_log()], profile=first.profile)
        assert second.profile.name == "Backward walking: first session (next 2)"

    def test_the_text_says_what_changes_and_why(self) -> None:
        text = format_proposal(propose_next([_log()]))
        assert "Next session: a little more" in text
        assert "completed without a stop" in text
        assert "backward intervals 30s -> 45s" in text
        assert "cap 3 km/h" in text

    @given(
        speed=st.floats(min_value=1.0, max_value=3.0),
        duration=st.floats(min_value=15, max_value=600),
        rounds=st.integers(min_value=1, max_value=20),
        good=st.booleans(),
    )
    def test_a_proposal_stays_within_the_limits_and_loads_back(
        self, speed: float, duration: float, rounds: int, *, good: bool
    ) -> None:
        base = _profile(speed_kmh=round(speed, 2), duration_s=round(duration), times=rounds)
        log = _log() if good else _log(latch_at_s=100)
        proposal = propose_next([log], profile=base)
        for new, old in zip(_backward(proposal.profile), _backward(base), strict=True):
            assert new.speed_kmh <= base.limits.backward_max_speed_kmh
            assert abs(new.speed_kmh - old.speed_kmh) <= 0.2 + 1e-9
            assert abs(new.duration_s - old.duration_s) <= 15
        loaded = parse_profile(profile_to_toml(proposal.profile), source="next.toml")
        assert loaded.steps == proposal.profile.steps


class TestWriting:
    def test_a_written_proposal_loads_back_as_the_same_profile(self, tmp_path: Path) -> None:
        proposal = propose_next([_log()])
        path = write_proposal(proposal, tmp_path / "next.toml")
        loaded = load_profile(path)
        assert loaded.name == proposal.profile.name
        assert loaded.steps == proposal.profile.steps
        assert loaded.limits == proposal.profile.limits
        assert path.read_text(encoding="utf-8").startswith("# Proposed by `treadmill-ctl next`")

    def test_tightened_limits_and_the_weight_are_written_and_kept(self, tmp_path: Path) -> None:
        base = _profile(limits=Limits(backward_max_speed_kmh=2.5, heart_rate_max_bpm=140))
        base = dataclasses.replace(base, weight_kg=82.5)
        path = tmp_path / "p.toml"
        path.write_text(profile_to_toml(base), encoding="utf-8")
        loaded = load_profile(path)
        assert loaded.limits == base.limits
        assert loaded.weight_kg == 82.5

    def test_limits_are_written_against_the_users_own_limits(self, tmp_path: Path) -> None:
        user = Limits(backward_max_speed_kmh=2.5)
        base = _profile(limits=user)
        path = tmp_path / "p.toml"
        path.write_text(profile_to_toml(base, base_limits=user), encoding="utf-8")
        assert "[limits]" not in path.read_text(encoding="utf-8")
        assert load_profile(path, limits=user).limits == user

    def test_every_shipped_profile_survives_the_trip_through_toml(self) -> None:
        for source in sorted(PROFILES.rglob("*.toml")):
            profile = load_profile(source)
            again = parse_profile(profile_to_toml(profile), source=str(source))
            assert again.steps == profile.steps, source
            assert again.description == profile.description


def _profile(
    *,
    speed_kmh: float = 1.2,
    duration_s: float = 30.0,
    times: int = 3,
    limits: Limits | None = None,
) -> Profile:
    return Profile(
        name="Test profile",
        description='Quotes " and \\ and a\nnew line survive.',
        steps=(
            Segment(Direction.FORWARD, 2.5, 0.0, 60.0, cue="Warm up."),
            Repeat(
                times=times,
                segments=(
                    Segment(Direction.BACKWARD, speed_kmh, 0.0, duration_s, cue="Turn round."),
                    Segment(Direction.FORWARD, 2.5, 1.0, 60.0),
                ),
            ),
        ),
        limits=limits or Limits(),
    )

"""The dashboard, rendered to text for each phase of a session."""

from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from rich.console import Console

from treadmill_ctl.session.events import (
    Cue,
    SegmentView,
    SessionEvent,
    SessionPhase,
    SessionSnapshot,
)
from treadmill_ctl.ui.dashboard import (
    Dashboard,
    block_letters,
    format_duration,
    render_dashboard,
)
from treadmill_ctl.ui.keys import Bindings

BACKWARD = SegmentView(index=2, direction="backward", speed_kmh=1.5, incline_pct=0, duration_s=30)
FORWARD = SegmentView(index=3, direction="forward", speed_kmh=3.0, incline_pct=1, duration_s=60)


def running(**changes: object) -> SessionSnapshot:
    snapshot = SessionSnapshot(
        t_s=100.0,
        phase=SessionPhase.RUNNING,
        profile_name="First session",
        segment=BACKWARD,
        next_segment=FORWARD,
        segment_count=12,
        segment_remaining_s=12.3,
        session_remaining_s=605.0,
        direction="backward",
        target_speed_kmh=1.5,
        belt_speed_kmh=1.4,
        incline_pct=0.0,
        distance_m=123.4,
        link_up=True,
    )
    return dataclasses.replace(snapshot, **changes)  # type: ignore[arg-type]


def text_of(renderable: object, *, width: int = 80) -> str:
    output = StringIO()
    Console(file=output, width=width, color_system=None).print(renderable)
    return output.getvalue()


def big(word: str) -> str:
    letters = block_letters(word)
    assert letters is not None
    return letters.splitlines()[0].strip()


class TestPhases:
    def test_a_backward_segment_shows_backward_in_block_letters(self) -> None:
        text = text_of(render_dashboard(running()))
        assert big("BACKWARD") in text
        assert big("FORWARD") not in text
        assert "face away from the console" in text

    def test_a_forward_segment_shows_forward_in_block_letters(self) -> None:
        text = text_of(render_dashboard(running(direction="forward", segment=FORWARD)))
        assert big("FORWARD") in text
        assert "face the console" in text

    def test_a_narrow_terminal_still_shows_the_direction_as_a_word(self) -> None:
        text = text_of(render_dashboard(running()), width=40)
        assert "BACKWARD" in text
        assert "█" not in text

    def test_running_shows_times_speeds_incline_distance_and_next_segment(self) -> None:
        text = text_of(render_dashboard(running()))
        for expected in (
            "Segment 3/12 left",
            "0:12",
            "Session left",
            "10:05",
            "Target speed",
            "1.5 km/h",
            "Belt speed",
            "1.4 km/h",
            "Incline",
            "0.0 %",
            "123 m",
            "Next: FORWARD 3.0 km/h for 60 s at 1 %",
            "Safety: armed",
        ):
            assert expected in text

    def test_heart_rate_is_shown_only_when_known(self) -> None:
        assert "Heart rate" not in text_of(render_dashboard(running()))
        assert "97 bpm" in text_of(render_dashboard(running(heart_rate_bpm=97)))

    def test_waiting_for_start_says_how_to_start_safely(self) -> None:
        text = text_of(render_dashboard(running(phase=SessionPhase.WAITING_FOR_START)))
        assert big("READY") in text
        assert "side rails" in text
        assert "safety key" in text
        assert "Press  Enter  to start" in text
        assert "Enter start" in text

    def test_a_latch_says_why_in_a_stop_banner_and_how_to_rearm(self) -> None:
        text = text_of(
            render_dashboard(running(phase=SessionPhase.LATCHED, latch_reason="stale_data"))
        )
        assert big("STOP") in text
        assert "STOPPED (latched): stale data" in text
        assert "Press r to re-arm" in text
        assert "Safety: armed" not in text

    def test_a_latch_is_drawn_in_red(self) -> None:
        output = StringIO()
        console = Console(file=output, width=80, color_system="standard", force_terminal=True)
        console.print(render_dashboard(running(phase=SessionPhase.LATCHED)))
        assert "41m" in output.getvalue()  # a red background

    def test_turning_around_counts_down_to_the_next_direction(self) -> None:
        text = text_of(
            render_dashboard(running(phase=SessionPhase.TURNING_AROUND, turnaround_countdown_s=3.2))
        )
        assert big("TURN") in text
        assert "turn around: FORWARD in 3 s" in text

    def test_a_coming_turn_around_is_counted_down_while_still_running(self) -> None:
        text = text_of(render_dashboard(running(turnaround_countdown_s=4.6)))
        assert "Turn around in 5 s" in text

    @pytest.mark.parametrize(
        ("phase", "word"),
        [
            (SessionPhase.CONNECTING, "CONNECTING"),
            (SessionPhase.PAUSED, "PAUSED"),
            (SessionPhase.ENDING, "ENDING"),
            (SessionPhase.FINISHED, "DONE"),
        ],
    )
    def test_every_other_phase_has_its_own_banner(self, phase: SessionPhase, word: str) -> None:
        assert big(word) in text_of(render_dashboard(running(phase=phase)))

    def test_before_the_first_snapshot_it_says_connecting(self) -> None:
        assert big("CONNECTING") in text_of(render_dashboard(None))

    def test_the_last_segment_says_the_session_ends_next(self) -> None:
        assert "ramp down and stop" in text_of(render_dashboard(running(next_segment=None)))


class TestLegend:
    def test_the_legend_lists_the_stop_keys_and_the_other_actions_once_running(self) -> None:
        text = text_of(render_dashboard(running()))
        assert "STOP: Space Esc Enter s PgUp PgDn b . F5" in text
        for expected in ("p pause/resume", "r re-arm", "q end", "+ faster", "- slower"):
            assert expected in text

    def test_the_legend_follows_configured_bindings(self) -> None:
        bindings = Bindings.from_config({"emergency_stop": ["space", "x"], "rearm": "a"})
        text = text_of(render_dashboard(running(phase=SessionPhase.LATCHED), bindings=bindings))
        assert "STOP: Space x" in text
        assert "Press a to re-arm" in text


class TestCuesAndNotes:
    def test_the_latest_cue_is_shown_as_text(self) -> None:
        cue = Cue("turn", "Turn around. Backward in 3, 2, 1")
        assert "Cue: Turn around. Backward in 3, 2, 1" in text_of(
            render_dashboard(running(), last_cue=cue)
        )

    def test_a_cue_asking_to_resume_names_the_key(self) -> None:
        cue = Cue("press_resume", "Turned round: press resume to walk backward.")
        text = text_of(render_dashboard(running(phase=SessionPhase.PAUSED), last_cue=cue))
        assert "press resume to walk backward. (key: p)" in text

    def test_the_observer_keeps_the_latest_snapshot_cue_and_notable_events(self) -> None:
        dashboard = Dashboard(console=Console(file=StringIO(), width=80))
        dashboard.on_snapshot(running(phase=SessionPhase.LATCHED, latch_reason="safety_key"))
        dashboard.on_cue(Cue("stop", "Stop", urgent=True))
        dashboard.on_event(SessionEvent("governor.latched", 61.0, {"reason": "safety_key"}))
        dashboard.on_event(SessionEvent("segment.started", 62.0, {"index": 4}))
        text = text_of(dashboard.renderable())
        assert "STOPPED (latched): safety key" in text
        assert "Cue: Stop" in text
        assert "1:01  governor.latched reason=safety_key" in text
        assert "segment.started" not in text

    def test_the_end_of_session_note_shows_how_it_ended_not_the_raw_summary(self) -> None:
        dashboard = Dashboard(console=Console(file=StringIO(), width=80))
        dashboard.on_snapshot(running(phase=SessionPhase.FINISHED))
        summary = {"end": "completed", "duration_s": 108.1, "latches": ()}
        dashboard.on_event(
            SessionEvent(
                "session.ended", 108.1, {"end": "completed", "exit_status": 0, "summary": summary}
            )
        )
        text = text_of(dashboard.renderable())
        assert "1:48  session.ended end=completed exit_status=0" in text
        assert "duration_s" not in text

    def test_the_live_display_draws_the_final_state_when_it_closes(self) -> None:
        output = StringIO()
        console = Console(file=output, width=80, color_system=None, force_terminal=True)
        with Dashboard(console=console, refresh_per_second=1) as dashboard:
            dashboard.on_snapshot(running(phase=SessionPhase.FINISHED))
        assert big("DONE") in output.getvalue()


def test_durations_read_as_minutes_and_seconds() -> None:
    assert [format_duration(s) for s in (None, 0, 59.6, 75.4, 3725)] == [
        "-",
        "0:00",
        "1:00",
        "1:15",
        "1:02:05",
    ]


def test_text_from_a_profile_is_shown_as_text_never_as_markup_or_raw_escapes() -> None:
    """A name with rich markup or escape sequences: shown escaped, and nothing breaks."""
    hostile = "[/][bold red]\x1b[2J\x1b]0;owned\x07Demo"
    shown = text_of(
        render_dashboard(
            running(profile_name=hostile),
            last_cue=Cue("segment", "walk \x1b[31mred\x1b[0m"),
            notes=("0:10  governor.latched detail=\x1b[2J",),
        ),
        width=120,
    )
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "[/][bold red]\\x1b[2J\\x1b]0;owned\\x07Demo" in shown
    assert "walk \\x1b[31mred\\x1b[0m" in shown

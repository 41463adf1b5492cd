"""The dashboard, rendered to text for each phase of a session."""

from __future__ import annotations

import dataclasses
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from treadmill_ctl.session.events import (
    Cue,
    CueKind,
    Direction,
    LatchReason,
    RecordEvent,
    SegmentView,
    SessionEvent,
    SessionPhase,
    SessionSnapshot,
)
from treadmill_ctl.ui.banner import block_letters
from treadmill_ctl.ui.dashboard import (
    Dashboard,
    DeviceSettings,
    format_duration,
    note_for,
    render_dashboard,
)
from treadmill_ctl.ui.keys import Bindings

BACKWARD = SegmentView(
    index=2, direction=Direction.BACKWARD, speed_kmh=1.5, incline_pct=0, duration_s=30
)
FORWARD = SegmentView(
    index=3, direction=Direction.FORWARD, speed_kmh=3.0, incline_pct=1, duration_s=60
)


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
        direction=Direction.BACKWARD,
        target_speed_kmh=1.5,
        belt_speed_kmh=1.4,
        incline_pct=0.0,
        distance_m=123.4,
        link_up=True,
    )
    return dataclasses.replace(snapshot, **changes)  # type: ignore[arg-type]


def text_of(renderable: object, *, width: int = 80, height: int = 100) -> str:
    output = StringIO()
    Console(file=output, width=width, height=height, color_system=None).print(renderable)
    return output.getvalue()


def words(text: str) -> str:
    """The text as read, without panel borders and line breaks."""
    return " ".join(text.replace("│", " ").split())


def screen_of(renderable: object, *, width: int, height: int) -> list[str]:
    """What a terminal of this size shows: the live display crops below ``height``."""
    lines = text_of(renderable, width=width, height=height).splitlines()
    assert all(len(line) <= width for line in lines)
    return lines[:height]


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
        text = text_of(render_dashboard(running(direction=Direction.FORWARD, segment=FORWARD)))
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

    def test_a_missing_heart_rate_is_shown_when_a_ceiling_watches_it(self) -> None:
        watched = running(heart_rate_watched=True, heart_rate_ceiling_bpm=140)
        text = text_of(render_dashboard(watched))
        assert "Heart rate" in text
        assert "unknown (max 140)" in text
        known = running(heart_rate_bpm=97, heart_rate_watched=True, heart_rate_ceiling_bpm=140)
        assert "97 bpm (max 140)" in text_of(render_dashboard(known))

    def test_waiting_for_start_says_how_to_start_safely(self) -> None:
        text = text_of(render_dashboard(running(phase=SessionPhase.WAITING_FOR_START)))
        assert big("READY") in text
        assert "side rails" in text
        assert "safety key" in text
        assert "Press  Enter  to start" in text
        assert "Enter start" in text

    def test_a_latch_says_why_in_a_stop_banner_and_how_to_rearm(self) -> None:
        text = text_of(
            render_dashboard(
                running(phase=SessionPhase.LATCHED, latch_reason=LatchReason.STALE_DATA)
            )
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

    def test_turning_around_names_the_direction_turned_to_and_counts_its_hold_down(
        self,
    ) -> None:
        """The segment after the turn is not the direction: the one turned to is."""
        turning = running(
            phase=SessionPhase.TURNING_AROUND,
            segment=BACKWARD,
            next_segment=FORWARD,
            turning_to=Direction.BACKWARD,
            turnaround_countdown_s=2.9,
        )
        text = text_of(render_dashboard(turning))
        assert big("TURN") in text
        assert "turn round: walk BACKWARD in 3 s" in text
        assert "FORWARD in" not in text

    def test_before_the_hold_starts_the_turn_banner_shows_no_stale_countdown(self) -> None:
        slowing = running(phase=SessionPhase.TURNING_AROUND, turning_to=Direction.FORWARD)
        text = text_of(render_dashboard(slowing))
        assert "slowing down, then turn round to walk FORWARD" in text
        assert " in 0 s" not in text

    def test_after_a_turn_the_banner_names_the_key_to_walk_on(self) -> None:
        waiting = running(
            phase=SessionPhase.PAUSED, turning_to=Direction.BACKWARD, resume_after_turn=True
        )
        assert "Press p to walk BACKWARD" in text_of(render_dashboard(waiting))
        bindings = Bindings.from_config({"pause_toggle": "f7"})
        assert "Press F7 to walk BACKWARD" in text_of(render_dashboard(waiting, bindings=bindings))

    def test_a_pause_the_person_asked_for_says_how_to_resume(self) -> None:
        text = text_of(render_dashboard(running(phase=SessionPhase.PAUSED)))
        assert big("PAUSED") in text
        assert "Press p to resume" in text

    def test_a_latch_for_mph_says_where_to_set_speed_unit(self) -> None:
        latched = running(
            phase=SessionPhase.LATCHED,
            latch_reason=LatchReason.UNREQUESTED_SPEED_CHANGE,
            latch_detail='it likely reports mph in its km/h fields; set speed_unit = "mph"',
        )
        where = DeviceSettings(Path("/home/me/.config/treadmill-ctl/settings.toml"), "AA:BB:CC")
        text = words(text_of(render_dashboard(latched, device_settings=where)))
        assert 'set speed_unit = "mph" under [devices."AA:BB:CC"] in' in text
        assert "/home/me/.config/treadmill-ctl/settings.toml" in text

    def test_a_coming_turn_around_is_counted_down_while_still_running(self) -> None:
        text = text_of(render_dashboard(running(turnaround_countdown_s=4.6)))
        assert "Turn around in 5 s" in text

    @pytest.mark.parametrize(
        ("phase", "word"),
        [
            (SessionPhase.CONNECTING, "CONNECTING"),
            (SessionPhase.ENDING, "ENDING"),
            (SessionPhase.FINISHED, "DONE"),
        ],
    )
    def test_every_other_phase_has_its_own_banner(self, phase: SessionPhase, word: str) -> None:
        assert big(word) in text_of(render_dashboard(running(phase=phase)))

    def test_before_the_first_snapshot_it_says_connecting(self) -> None:
        assert big("CONNECTING") in text_of(render_dashboard(None))

    def test_while_connecting_it_offers_no_key_that_does_nothing_yet(self) -> None:
        text = text_of(render_dashboard(None))
        assert "Enter" not in text
        assert "Ctrl-C cancel" in text

    def test_the_last_segment_says_the_session_ends_next(self) -> None:
        assert "ramp down and stop" in text_of(render_dashboard(running(next_segment=None)))


class TestLegend:
    def test_the_legend_lists_the_stop_keys_and_the_other_actions_once_running(self) -> None:
        text = text_of(render_dashboard(running()))
        assert "STOP:  Space Esc Enter s PgUp PgDn b . F5" in text
        for expected in ("p pause/resume", "r re-arm", "q end", "+ faster", "- slower"):
            assert expected in text

    def test_the_legend_follows_configured_bindings(self) -> None:
        bindings = Bindings.from_config({"emergency_stop": ["space", "x"], "rearm": "a"})
        text = text_of(render_dashboard(running(phase=SessionPhase.LATCHED), bindings=bindings))
        assert "STOP:  Space x" in text
        assert "Press a to re-arm" in text


class TestCuesAndNotes:
    def test_the_latest_cue_is_shown_as_text(self) -> None:
        cue = Cue(CueKind.TURN_AROUND_COUNTDOWN, "Turn around. Backward in 3, 2, 1")
        assert "Cue: Turn around. Backward in 3, 2, 1" in text_of(
            render_dashboard(running(), last_cue=cue)
        )

    def test_the_observer_keeps_the_latest_snapshot_cue_and_notable_events(self) -> None:
        dashboard = Dashboard(console=Console(file=StringIO(), width=80))
        dashboard.on_snapshot(
            running(phase=SessionPhase.LATCHED, latch_reason=LatchReason.SAFETY_KEY)
        )
        dashboard.on_cue(Cue(CueKind.ALARM, "Stop", urgent=True))
        dashboard.on_event(SessionEvent(RecordEvent.LATCHED, 61.0, {"reason": "safety_key"}))
        dashboard.on_event(SessionEvent(RecordEvent.SEGMENT_STARTED, 62.0, {"index": 4}))
        text = text_of(dashboard.renderable())
        assert "STOPPED (latched): safety key" in text
        assert "Cue: Stop" in text
        assert "1:01  stopped: safety key" in text
        assert "governor.latched" not in text  # no raw log lines on the person's screen
        assert "segment" not in text.split("Cue: Stop")[1]

    @pytest.mark.parametrize(
        ("kind", "line"),
        [
            (RecordEvent.LINK_LOST, "0:05  session link lost"),
            (RecordEvent.LINK_BACK, "0:05  session link back"),
            (RecordEvent.HEART_RATE_LOST, "0:05  heart rate lost"),
            (RecordEvent.HEART_RATE_BACK, "0:05  heart rate back"),
            (RecordEvent.HEART_RATE_LINK_LOST, "0:05  heart rate link lost"),
            (RecordEvent.HEART_RATE_START_REFUSED, None),
            (RecordEvent.HEART_RATE_CONFIRMED_WITHOUT, None),
            (RecordEvent.CONNECTING, None),
            (RecordEvent.BELT_STOPPED, None),
        ],
    )
    def test_what_was_lost_and_what_came_back_is_noted_and_nothing_else(
        self, kind: RecordEvent, line: str | None
    ) -> None:
        """Chosen by the event's kind, never by words in its name."""
        assert note_for(SessionEvent(kind, 5.0, {})) == line

    @pytest.mark.parametrize(
        ("end", "latches", "word", "line"),
        [
            ("completed", [], "DONE", "session completed"),
            ("safety_latch", ["stale_data"], "STOPPED", "safety stops: stale data"),
            ("stopped_by_person", [], "STOPPED", "stopped by you"),
        ],
    )
    def test_the_final_screen_says_how_it_ended_and_nothing_stale(
        self, end: str, latches: list[str], word: str, line: str
    ) -> None:
        dashboard = Dashboard(console=Console(file=StringIO(), width=80))
        dashboard.on_snapshot(running(phase=SessionPhase.ENDING))
        summary = {
            "end": end,
            "duration_s": 108.1,
            "backward_s": 30.0,
            "forward_s": 60.0,
            "distance_m": 44.0,
            "segments_completed": 3,
            "segment_count": 3,
            "latches": latches,
        }
        dashboard.on_event(
            SessionEvent(
                RecordEvent.ENDED, 108.1, {"end": end, "exit_status": 0, "summary": summary}
            )
        )
        text = text_of(dashboard.renderable())
        assert big(word) in text
        assert line in text
        assert "time 1:48, backward 0:30, forward 1:00, distance 44 m, segments 3/3" in text
        for stale in ("now:", "Next:", "STOP:", "pause/resume", "Belt speed", "duration_s"):
            assert stale not in text

    def test_the_live_display_draws_the_final_state_when_it_closes(self) -> None:
        output = StringIO()
        console = Console(file=output, width=80, color_system=None, force_terminal=True)
        with Dashboard(console=console, refresh_per_second=1) as dashboard:
            dashboard.on_snapshot(running(phase=SessionPhase.FINISHED))
            dashboard.on_event(SessionEvent(RecordEvent.ENDED, 1.0, {"end": "completed"}))
        assert big("DONE") in output.getvalue()


SIZES = [(100, 30), (80, 24), (60, 20)]
LONG_CUE = Cue(
    CueKind.HEADS_UP, "In 9 seconds, turn around: the belt stops, then walk backward at 1.2 km/h."
)
NOTES = ("1:01  stopped: stale data", "1:30  re-armed: the belt waits for your start")


class TestLayout:
    """What a person sees on a terminal of each size: the STOP keys, always."""

    @pytest.mark.parametrize(("width", "height"), SIZES)
    @pytest.mark.parametrize(
        "snapshot",
        [
            running(),
            running(
                phase=SessionPhase.TURNING_AROUND,
                turning_to=Direction.FORWARD,
                turnaround_countdown_s=2,
            ),
            running(
                phase=SessionPhase.PAUSED, turning_to=Direction.BACKWARD, resume_after_turn=True
            ),
            running(phase=SessionPhase.ENDING),
            running(heart_rate_bpm=120),
            running(
                phase=SessionPhase.LATCHED,
                latch_reason=LatchReason.UNREQUESTED_SPEED_CHANGE,
                latch_detail="it likely reports mph in its km/h fields",
            ),
        ],
        ids=["running", "turning", "after-turn", "ending", "heart-rate", "latched-mph"],
    )
    def test_the_stop_keys_and_the_banner_are_always_on_screen(
        self, width: int, height: int, snapshot: SessionSnapshot
    ) -> None:
        where = DeviceSettings(Path("/home/me/.config/treadmill-ctl/settings.toml"), "AA:BB")
        screen = screen_of(
            render_dashboard(snapshot, last_cue=LONG_CUE, notes=NOTES, device_settings=where),
            width=width,
            height=height,
        )
        text = "\n".join(screen)
        assert "STOP:  Space Esc Enter s PgUp PgDn b . F5" in text
        assert len(screen) <= height
        assert screen[0].startswith("╭")  # the banner's top edge, never scrolled away
        if snapshot.phase is SessionPhase.LATCHED:
            assert "STOPPED (latched)" in text
            assert "Press r to re-arm" in words(text)
            assert 'speed_unit = "mph" under [devices."AA:BB"]' in words(text)

    @pytest.mark.parametrize(("width", "height"), SIZES)
    def test_a_roomy_terminal_shows_everything_and_a_small_one_what_matters(
        self, width: int, height: int
    ) -> None:
        screen = "\n".join(
            screen_of(
                render_dashboard(running(), last_cue=LONG_CUE, notes=NOTES),
                width=width,
                height=height,
            )
        )
        assert "Cue: In 9 seconds" in screen
        assert "Belt speed" in screen
        if height >= 30:
            assert "stopped: stale data" in screen
            assert "p pause/resume" in screen

    def test_a_very_short_terminal_keeps_the_stop_keys_with_the_word_in_capitals(self) -> None:
        screen = screen_of(render_dashboard(running(), last_cue=LONG_CUE), width=60, height=8)
        text = "\n".join(screen)
        assert "BACKWARD" in text
        assert "STOP:  Space Esc" in text

    @pytest.mark.parametrize(("width", "height"), SIZES)
    def test_waiting_for_start_shows_how_to_start_at_every_size(
        self, width: int, height: int
    ) -> None:
        screen = "\n".join(
            screen_of(
                render_dashboard(running(phase=SessionPhase.WAITING_FOR_START)),
                width=width,
                height=height,
            )
        )
        assert "Press  Enter  to start" in screen
        assert "safety key" in screen


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
            last_cue=Cue(CueKind.SEGMENT, "walk \x1b[31mred\x1b[0m"),
            notes=("0:10  governor.latched detail=\x1b[2J",),
        ),
        width=120,
    )
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "[/][bold red]\\x1b[2J\\x1b]0;owned\\x07Demo" in shown
    assert "walk \\x1b[31mred\\x1b[0m" in shown


def test_the_final_screen_shows_a_hostile_profile_name_as_text() -> None:
    """A name with markup or escape sequences is shown escaped, never interpreted."""
    dashboard = Dashboard(console=Console(file=StringIO(), width=80))
    dashboard.on_snapshot(running(phase=SessionPhase.ENDING, profile_name="[red]x\x1b[2J"))
    dashboard.on_event(SessionEvent(RecordEvent.ENDED, 1.0, {"end": "completed", "summary": {}}))
    text = text_of(dashboard.renderable())
    assert "[red]x\\x1b[2J" in text
    assert "\x1b[2J" not in text

"""Plain lines for a run without a terminal, and the wiring of a session's interface."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import termios
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import structlog.testing
from fakes import RecordingControl

from treadmill_ctl.session.clock import run_accelerated
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
from treadmill_ctl.ui import cues
from treadmill_ctl.ui.dashboard import DeviceSettings
from treadmill_ctl.ui.plain import PlainObserver
from treadmill_ctl.ui.terminal import ObserverGroup, is_interactive, open_session_ui

if TYPE_CHECKING:
    import pytest

FIRST = SegmentView(
    index=0, direction=Direction.BACKWARD, speed_kmh=1.0, incline_pct=0, duration_s=30
)
SECOND = SegmentView(
    index=1, direction=Direction.FORWARD, speed_kmh=3.0, incline_pct=0, duration_s=60
)


def at(
    t_s: float, phase: SessionPhase = SessionPhase.RUNNING, **changes: object
) -> SessionSnapshot:
    snapshot = SessionSnapshot(
        t_s=t_s,
        phase=phase,
        profile_name="demo",
        segment=FIRST,
        next_segment=SECOND,
        segment_count=2,
        segment_remaining_s=30.0 - t_s,
        session_remaining_s=90.0 - t_s,
        direction=Direction.BACKWARD,
        target_speed_kmh=1.0,
        belt_speed_kmh=0.9,
        distance_m=12.0,
    )
    return dataclasses.replace(snapshot, **changes)  # type: ignore[arg-type]


class TestPlainLines:
    def test_phase_and_segment_changes_are_written_once_each(self) -> None:
        out = StringIO()
        plain = PlainObserver(out, progress_every_s=0)
        plain.on_snapshot(at(0.0, SessionPhase.WAITING_FOR_START))
        for t_s in (5.0, 5.5, 6.0):
            plain.on_snapshot(at(t_s))
        plain.on_snapshot(at(35.0, segment=SECOND, next_segment=None))
        assert out.getvalue().splitlines() == [
            "[0:00] phase: waiting_for_start",
            "[0:00] segment 1/2: BACKWARD 1.0 km/h for 30 s (next: FORWARD 3.0 km/h for 60 s)",
            "[0:05] phase: running",
            "[0:35] segment 2/2: FORWARD 3.0 km/h for 60 s",
        ]

    def test_a_latch_is_written_with_its_reason(self) -> None:
        out = StringIO()
        plain = PlainObserver(out, progress_every_s=0)
        plain.on_snapshot(at(10.0))
        plain.on_snapshot(at(12.0, SessionPhase.LATCHED, latch_reason=LatchReason.LINK_LOST))
        assert "[0:12] STOPPED (latched): link lost" in out.getvalue()

    def test_a_latch_for_mph_says_where_to_set_speed_unit(self) -> None:
        out = StringIO()
        where = DeviceSettings(Path("/etc/me/settings.toml"), "F0:7E:AD:00:00:01")
        plain = PlainObserver(out, progress_every_s=0, device_settings=where)
        plain.on_snapshot(at(10.0))
        detail = 'it likely reports mph in its km/h fields; set speed_unit = "mph" for it'
        latched = at(
            12.0,
            SessionPhase.LATCHED,
            latch_reason=LatchReason.UNREQUESTED_SPEED_CHANGE,
            latch_detail=detail,
        )
        plain.on_snapshot(latched)
        assert (
            '[0:12] This treadmill seems to count in mph: set speed_unit = "mph" under '
            '[devices."F0:7E:AD:00:00:01"] in /etc/me/settings.toml, then start again.'
        ) in out.getvalue().splitlines()

    def test_another_latch_gives_no_mph_advice(self) -> None:
        out = StringIO()
        plain = PlainObserver(out, progress_every_s=0)
        plain.on_snapshot(at(12.0, SessionPhase.LATCHED, latch_reason=LatchReason.LINK_LOST))
        assert "mph" not in out.getvalue()

    def test_a_progress_line_is_written_every_period_of_session_time(self) -> None:
        out = StringIO()
        plain = PlainObserver(out, progress_every_s=10)
        for tenth in range(251):
            plain.on_snapshot(at(tenth / 10, heart_rate_bpm=95))
        progress = [line for line in out.getvalue().splitlines() if "progress" in line]
        assert [line[:6] for line in progress] == ["[0:10]", "[0:20]"]
        assert "target 1.0 km/h, belt 0.9 km/h" in progress[0]
        assert "heart rate 95 bpm" in progress[0]
        assert "segment left 0:20, session left 1:20" in progress[0]

    def test_a_watched_heart_rate_that_is_missing_is_said(self) -> None:
        out = StringIO()
        plain = PlainObserver(out, progress_every_s=10)
        for tenth in range(101):
            plain.on_snapshot(at(tenth / 10, heart_rate_watched=True, heart_rate_ceiling_bpm=140))
        progress = [line for line in out.getvalue().splitlines() if "progress" in line]
        assert "heart rate unknown (ceiling 140 bpm)" in progress[0]

    def test_cues_are_written_with_the_latest_session_time(self) -> None:
        out = StringIO()
        plain = PlainObserver(out, progress_every_s=0)
        plain.on_snapshot(at(25.0))
        plain.on_cue(Cue(CueKind.TURN_AROUND_COUNTDOWN, "Turn around. Forward in 3, 2, 1"))
        plain.on_cue(Cue(CueKind.ALARM, "Stop", urgent=True))
        assert out.getvalue().splitlines()[-2:] == [
            "[0:25] cue: Turn around. Forward in 3, 2, 1",
            "[0:25] CUE: STOP",
        ]

    def test_events_are_written_only_when_asked(self) -> None:
        event = SessionEvent(RecordEvent.LATCHED, 12.0, {"reason": "stale_data"})
        quiet, loud = StringIO(), StringIO()
        PlainObserver(quiet).on_event(event)
        PlainObserver(loud, show_events=True).on_event(event)
        assert quiet.getvalue() == ""
        assert loud.getvalue() == "[0:12] governor.latched reason=stale_data\n"

    def test_a_closed_output_never_raises_into_the_session(self) -> None:
        out = StringIO()
        out.close()
        PlainObserver(out).on_snapshot(at(0.0))


class ExplodingObserver:
    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        raise RuntimeError(f"cannot draw {snapshot.phase}")

    def on_event(self, event: SessionEvent) -> None:
        raise RuntimeError(event.kind)

    def on_cue(self, cue: Cue) -> None:
        raise RuntimeError(cue.text)


class TestWiring:
    def test_a_failing_display_does_not_keep_the_others_from_their_updates(self) -> None:
        out = StringIO()
        group = ObserverGroup((ExplodingObserver(), PlainObserver(out, progress_every_s=0)))
        group.on_snapshot(at(0.0))
        group.on_event(SessionEvent(RecordEvent.CONNECTING, 0.0))
        group.on_cue(Cue(CueKind.SEGMENT, "hello"))
        assert "phase: running" in out.getvalue()
        assert "cue: hello" in out.getvalue()

    def test_without_a_terminal_the_session_gets_plain_lines(
        self, control: RecordingControl
    ) -> None:
        async def main() -> str:
            out = StringIO()
            async with open_session_ui(control, stdin=StringIO(), stdout=out, speech=False) as ui:
                ui.on_snapshot(at(3.0))
                ui.on_cue(Cue(CueKind.SPEED_FLOOR, "Speed up"))
            return out.getvalue()

        assert run_accelerated(main()).splitlines() == [
            "[0:03] phase: running",
            "[0:03] segment 1/2: BACKWARD 1.0 km/h for 30 s (next: FORWARD 3.0 km/h for 60 s)",
            "[0:03] cue: Speed up",
        ]

    def test_speech_without_an_audio_device_is_said_on_screen_and_in_the_record(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """espeak-ng exits 0 with no sound device: the person is told, not left in silence."""
        monkeypatch.setattr(cues, "find_espeak", lambda: "/usr/bin/espeak-ng")
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no sound server there
        monkeypatch.delenv("PULSE_SERVER", raising=False)
        monkeypatch.delenv("PIPEWIRE_REMOTE", raising=False)
        monkeypatch.setattr(
            cues,
            "audio_output_problem",
            functools.partial(cues.audio_output_problem, sound_devices=tmp_path / "snd"),
        )

        async def main() -> str:
            out = StringIO()
            async with open_session_ui(RecordingControl(), stdin=StringIO(), stdout=out) as ui:
                ui.on_snapshot(at(3.0))
            return out.getvalue()

        with structlog.testing.capture_logs() as logged:
            text = run_accelerated(main())
        assert "speech is off: no audio device" in text
        assert "cues ring the bell instead" in text
        assert [e for e in logged if e["event"] == "speech.unavailable"]

    def test_on_a_terminal_keys_reach_the_session_and_the_terminal_is_restored(
        self, control: RecordingControl
    ) -> None:
        master, slave = os.openpty()

        async def main(tty_in: TextIO, tty_out: TextIO) -> None:
            loop = asyncio.get_running_loop()
            loop.add_reader(master, os.read, master, 65536)  # the screen: drained, unread
            async with open_session_ui(control, stdin=tty_in, stdout=tty_out, speech=False) as ui:
                ui.on_snapshot(at(0.0, SessionPhase.WAITING_FOR_START))
                os.write(master, b"\r")
                await control.wait_for_calls(1)
                ui.on_snapshot(at(1.0))
                os.write(master, b" ")
                await control.wait_for_calls(2)
            loop.remove_reader(master)

        try:
            before = termios.tcgetattr(slave)
            with (
                open(slave, closefd=False) as tty_in,
                open(slave, "w", closefd=False) as tty_out,
            ):
                assert is_interactive(tty_in, tty_out)
                asyncio.run(main(tty_in, tty_out))
            after = termios.tcgetattr(slave)
        finally:
            os.close(master)
            os.close(slave)
        assert control.calls == [("start", "hotkey"), ("emergency_stop", "hotkey")]
        assert after == before


def test_plain_lines_never_carry_raw_control_characters() -> None:
    out = StringIO()
    plain = PlainObserver(out, progress_every_s=0)
    plain.on_cue(Cue(CueKind.SEGMENT, "walk \x1b]0;owned\x07 now"))
    plain.on_event(SessionEvent(RecordEvent.LATCHED, 1.0, {"detail": "\x1b[2J"}))
    written = out.getvalue()
    assert "\x1b" not in written
    assert "\x07" not in written
    assert "walk \\x1b]0;owned\\x07 now" in written

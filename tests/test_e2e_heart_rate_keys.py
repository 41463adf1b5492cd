"""The heart-rate ceiling's refusal to start, as a person meets it in a real terminal.

``treadmill-ctl run`` runs as its own process on a pseudo-terminal (the dashboard
drawn, keys read in cbreak mode) and the test presses Enter as the person would.
With a heart-rate ceiling in the profile and no heart rate anywhere (a treadmill
without a handgrip sensor, no strap), the belt must stay still: the first press is
asked to wait for a strap still connecting, the next one is told why the belt stays
still and how to go on without, and only a further press of the person starts it.
With the simulator's strap on, the first press starts the belt.
"""

from __future__ import annotations

import re
import sys
import textwrap
from typing import TYPE_CHECKING, Final

from e2e_support import START_WRITE, STOPPED_KMH, Witnesses, number, speed_kmh
from test_e2e_hotkeys import EXIT_STOPPED_BY_PERSON, WAIT_S, run_in_terminal, wait_until

from treadmill_ctl.session.heart_rate import STRAP_GRACE_S

if TYPE_CHECKING:
    from pathlib import Path

SPEEDUP: Final = "5"
PROFILE: Final = """
    name = "Ceiling walk"
    [limits]
    heart_rate_max_bpm = 140
    [[step]]
    direction = "forward"
    speed_kmh = 3.0
    duration = "3m"
"""
WAITING: Final = "Waiting for a heart rate from the treadmill: press start again in a moment."
REFUSED: Final = (
    "No heart rate from the treadmill, and your heart-rate ceiling is 140 bpm: the belt "
    "stays still."
)
GO_ON: Final = "press start again to go on without heart-rate protection"
ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def command(tmp_path: Path, *options: str) -> list[str]:
    profile = tmp_path / "ceiling.toml"
    profile.write_text(textwrap.dedent(PROFILE))
    return [
        sys.executable,
        "-m",
        "treadmill_ctl",
        "run",
        str(profile),
        "--simulator",
        "--speedup",
        SPEEDUP,
        "--quiet",
        "--sim-trace",
        str(tmp_path / "trace.jsonl"),
        "--record",
        str(tmp_path / "session.jsonl"),
        *options,
    ]


def assert_belt_still(seen: Witnesses) -> None:
    assert not any(w["data_hex"] == START_WRITE for w in seen.writes())
    assert all(speed_kmh(w) is None for w in seen.writes())
    assert all(number(s, "belt_speed_kmh") <= STOPPED_KMH for s in seen.samples())


def test_no_heart_rate_anywhere_keeps_the_belt_still_until_the_person_goes_on_without(
    tmp_path: Path,
) -> None:
    seen = Witnesses(tmp_path / "session.jsonl", tmp_path / "trace.jsonl")
    run = command(tmp_path, "--sim-quirk", "no-heart-rate")
    with run_in_terminal(tmp_path, run) as terminal:
        wait_until(lambda: bool(seen.refresh().events("session.plan")), "the plan")

        def refusals() -> list[str]:
            return [str(e["detail"]) for e in seen.refresh().events("heart_rate.start_refused")]

        # 1. the person's first Enter: a strap could still be connecting
        terminal.press(b"\r")
        wait_until(lambda: len(refusals()) == 1, "the first refusal")
        assert refusals() == [WAITING]
        first_t = number(seen.events("heart_rate.start_refused")[0], "t")

        # 2. after the grace, Enter again: told why the belt stays still, and how to go on
        refused_trace_s = seen.refresh().trace_now_s()
        wait_until(
            lambda: seen.refresh().trace_now_s() > refused_trace_s + STRAP_GRACE_S + 1,
            "the strap's grace to pass",
        )
        terminal.press(b"\r")
        wait_until(lambda: len(refusals()) == 2, "the second refusal")
        second = refusals()[1]
        assert second.startswith(REFUSED)
        assert GO_ON in second
        assert number(seen.events("heart_rate.start_refused")[1], "t") - first_t >= STRAP_GRACE_S
        assert not seen.events("heart_rate.confirmed_without")
        assert_belt_still(seen)

        def on_screen(text: str) -> bool:
            return text in " ".join(ANSI.sub("", terminal.screen_text()).split())

        wait_until(lambda: on_screen("the belt stays still"), "the refusal on the screen")

        # 3. the person presses once more: their choice, said, and the belt starts slowly
        terminal.press(b"\r")
        wait_until(lambda: seen.refresh().belt_moving_after(0.0), "the belt to move")
        terminal.press(b"q")
        status = terminal.process.wait(timeout=WAIT_S)
    seen.refresh()
    assert status == EXIT_STOPPED_BY_PERSON
    (confirmed,) = seen.events("heart_rate.confirmed_without")
    assert confirmed["ceiling_bpm"] == 140
    said = [str(c["text"]) for c in seen.events("cue.given")]
    assert "Going on without heart-rate protection." in said
    keys = [(e["key"], e["action"]) for e in seen.events("hotkey.pressed")]
    assert keys == [("enter", "start")] * 3 + [("q", "end")]
    starts = [w for w in seen.writes() if w["data_hex"] == START_WRITE]
    assert number(starts[0], "t") >= number(confirmed, "t") - seen.offset_bound_s()


def test_with_the_strap_on_the_first_enter_starts_the_belt(tmp_path: Path) -> None:
    seen = Witnesses(tmp_path / "session.jsonl", tmp_path / "trace.jsonl")
    run = command(tmp_path, "--sim-quirk", "no-heart-rate", "--sim-hr-strap")
    with run_in_terminal(tmp_path, run) as terminal:
        wait_until(
            lambda: len(seen.refresh().events("heart_rate.sample")) >= 3,
            "the strap's first heart rates",
        )
        terminal.press(b"\r")
        wait_until(lambda: seen.refresh().belt_moving_after(0.0), "the belt to move")
        terminal.press(b"q")
        status = terminal.process.wait(timeout=WAIT_S)
    seen.refresh()
    assert status == EXIT_STOPPED_BY_PERSON
    assert not seen.events("heart_rate.start_refused")
    assert not seen.events("heart_rate.confirmed_without")
    assert [e["action"] for e in seen.events("hotkey.pressed")] == ["start", "end"]
    assert {e["source"] for e in seen.events("heart_rate.sample")} == {"strap:F0:7E:AD:00:00:02"}

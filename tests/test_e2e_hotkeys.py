"""The emergency-stop hotkey as a person presses it: a real terminal, a real run.

Each test starts ``treadmill-ctl run profiles/demo.toml --simulator`` as a separate
process, the way a person starts it, and drives it from outside: through a
pseudo-terminal (so the dashboard is drawn and the keys are read in cbreak mode), or
through a pipe and a signal (a run without a terminal). What the belt did is then
read from the simulator's ground-truth trace; the session record tells when each key
was handled.

The runs use a modest ``--speedup``: a key is pressed while the session runs, so
session time must pass at a pace the test can follow. The trace's ``t`` and the
record's ``t`` are both seconds of the one session clock, counted from different
moments; :meth:`Witnesses.offset_bound_s` bounds the difference.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import pytest
from e2e_support import (
    CONTROL_TICK_S,
    REPO,
    START_WRITE,
    STOP_WRITE,
    STOPPED_KMH,
    Line,
    Witnesses,
    number,
    speed_kmh,
    stop_latency_s,
)

from treadmill_ctl.safety import Limits

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

SPEEDUP: Final = "5"
"""Session seconds per real second: fast enough for a short test, slow enough that
one control tick (0.1 s of session time) is 20 ms of real time for the stop to land."""
HOLD_S: Final = 2.0
"""Session seconds the test waits in a state (latched, re-armed) for a wrong command."""
WAIT_S: Final = 10.0
"""Real seconds the test waits for anything that should happen in a second or two."""
EXIT_STOPPED_BY_PERSON: Final = 3
ROWS, COLUMNS = 40, 120


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll ``condition`` (files another process writes) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def run_command(tmp_path: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "treadmill_ctl",
        "run",
        str(REPO / "profiles/demo.toml"),
        "--simulator",
        "--speedup",
        SPEEDUP,
        "--yes",
        "--quiet",
        "--sim-trace",
        str(tmp_path / "trace.jsonl"),
        "--record",
        str(tmp_path / "session.jsonl"),
        *options,
    ]


def child_env(tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "TREADMILL_CTL_CONFIG": str(tmp_path / "config.toml"),
        "TREADMILL_CTL_DATA_DIR": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
    }


def witnesses(tmp_path: Path) -> Witnesses:
    return Witnesses(tmp_path / "session.jsonl", tmp_path / "trace.jsonl")


def _take_terminal() -> None:
    """In the child, after setsid: make the pseudo-terminal on stdin its controlling one."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class Terminal:
    """The test's end of a pseudo-terminal with a ``treadmill-ctl run`` on the other."""

    master_fd: int
    process: subprocess.Popen[bytes]
    output: bytearray
    _stop_reading: threading.Event
    _reader: threading.Thread
    _closed: bool = False

    def press(self, keys: bytes) -> None:
        os.write(self.master_fd, keys)

    def local_modes(self) -> int:
        """The terminal's local modes (ICANON, ECHO...) as the program left them."""
        modes = termios.tcgetattr(self.master_fd)[3]
        assert isinstance(modes, int)
        return modes

    def screen_text(self) -> str:
        return bytes(self.output).decode("utf-8", "replace")

    def hang_up(self) -> None:
        """Close the test's end, as closing the window or losing ssh does."""
        if self._closed:
            return
        self._closed = True
        self._stop_reading.set()
        self._reader.join(timeout=WAIT_S)
        os.close(self.master_fd)


@contextlib.contextmanager
def run_in_terminal(tmp_path: Path, command: list[str] | None = None) -> Iterator[Terminal]:
    """Run the session in a new pseudo-terminal; kill it if the test leaves early.

    ``command`` is the demo run of :func:`run_command` unless given. A thread keeps
    reading the terminal's output, so the dashboard never blocks on a full terminal
    buffer.
    """
    master_fd, slave_fd = os.openpty()
    fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    try:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command or run_command(tmp_path),
            stdin=slave_fd,
            stdout=slave_fd,
            stderr=slave_fd,
            cwd=REPO,
            env=child_env(tmp_path),
            start_new_session=True,
            preexec_fn=_take_terminal,  # noqa: PLW1509 - no other threads yet; pty setup needs it
        )
    finally:
        os.close(slave_fd)
    output = bytearray()
    stop_reading = threading.Event()

    def drain() -> None:
        while not stop_reading.is_set():
            ready, _, _ = select.select([master_fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master_fd, 65536)
            except OSError:  # EIO: every copy of the other end is closed
                return
            if not chunk:
                return
            output.extend(chunk)

    reader = threading.Thread(target=drain, name="pty-drain", daemon=True)
    reader.start()
    terminal = Terminal(master_fd, process, output, stop_reading, reader)
    try:
        yield terminal
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=WAIT_S)
        terminal.hang_up()


def wait_for_event(seen: Witnesses, name: str) -> None:
    wait_until(lambda: bool(seen.refresh().events(name)), name)


def hold(seen: Witnesses) -> None:
    """Let HOLD_S of session time pass, for a wrong command (or the stand-in) to show up."""
    since_s = seen.trace_now_s()
    wait_until(lambda: seen.refresh().trace_now_s() > since_s + HOLD_S, "session time to pass")


def assert_still_until_the_persons_start(seen: Witnesses, stop: Line, request_t: float) -> None:
    """After ``stop``, no speed reached the belt until the person's start, which began slow."""
    writes = seen.writes()
    after_stop = writes[writes.index(stop) + 1 :]
    restart = next(index for index, w in enumerate(after_stop) if w["data_hex"] == START_WRITE)
    latched = after_stop[:restart]
    assert all(speed_kmh(w) is None for w in latched), latched
    restarts = [
        e["source"] for e in seen.events("session.start_requested") if number(e, "t") > request_t
    ]
    assert restarts == ["hotkey"]
    restarted_at_s = number(after_stop[restart], "t")
    at_rest = [s for s in seen.samples(number(stop, "t")) if number(s, "t") < restarted_at_s]
    assert number(at_rest[-1], "belt_speed_kmh") <= STOPPED_KMH
    speeds = [speed_kmh(w) for w in after_stop[restart:]]
    first_speed_kmh = next(speed for speed in speeds if speed is not None)
    assert first_speed_kmh <= Limits().starting_speed_kmh


def test_space_stops_the_belt_at_once_and_nothing_moves_it_until_rearm_and_enter(
    tmp_path: Path,
) -> None:
    """Space latches a stop within a tick; only r then Enter start again, slowly; q ends."""
    seen = witnesses(tmp_path)
    with run_in_terminal(tmp_path) as terminal:
        wait_until(lambda: seen.refresh().belt_moving_after(0.0), "the belt to move")
        cbreak_modes = terminal.local_modes()

        for key, event in ((b" ", "governor.latched"), (b"r", "governor.rearmed")):
            terminal.press(key)
            wait_for_event(seen, event)
            hold(seen)
        writes_before_enter = len(seen.writes())

        def restarted_and_moving() -> bool:
            later = seen.refresh().writes()[writes_before_enter:]
            starts = [w for w in later if w["data_hex"] == START_WRITE]
            return bool(starts) and seen.belt_moving_after(number(starts[0], "t"))

        terminal.press(b"\r")
        wait_until(restarted_and_moving, "the belt to move again")

        terminal.press(b"q")
        status = terminal.process.wait(timeout=WAIT_S)
        restored_modes = terminal.local_modes()
        screen = terminal.screen_text()
    seen.refresh()

    # The dashboard and the raw keys were in use, and the terminal was given back.
    assert not cbreak_modes & (termios.ICANON | termios.ECHO)
    assert restored_modes & termios.ICANON
    assert restored_modes & termios.ECHO
    assert "FORWARD" in screen
    assert "STOP:" in screen

    # q is the person ending the session: a ramp down, then "stopped by person" (3).
    assert status == EXIT_STOPPED_BY_PERSON
    (ended,) = seen.events("session.ended")
    assert ended["end"] == "stopped_by_person"
    keys = [(e["key"], e["action"]) for e in seen.events("hotkey.pressed")]
    assert keys == [("space", "emergency_stop"), ("r", "rearm"), ("enter", "start"), ("q", "end")]
    assert [e["reason"] for e in seen.events("governor.latched")] == ["emergency_stop"]

    # The Stop reached the belt within one control tick of the key ...
    (stop_request,) = seen.events("session.emergency_stop")
    assert stop_request["source"] == "hotkey"
    latency_s, stop = stop_latency_s(seen, number(stop_request, "t"))
    assert latency_s <= CONTROL_TICK_S, latency_s
    # ... nothing moved the belt again until the person's Enter after r, which began
    # at the starting speed; and the belt was stopped at the end.
    assert_still_until_the_persons_start(seen, stop, number(stop_request, "t"))
    assert seen.writes()[-1]["data_hex"] == STOP_WRITE
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH


def test_ctrl_c_in_the_terminal_stops_the_belt_and_gives_the_terminal_back(
    tmp_path: Path,
) -> None:
    """Cbreak mode keeps Ctrl-C: it stops the belt first, ends the run and restores the tty."""
    seen = witnesses(tmp_path)
    with run_in_terminal(tmp_path) as terminal:
        wait_until(lambda: seen.refresh().belt_moving_after(0.0), "the belt to move")
        terminal.press(b"\x03")
        status = terminal.process.wait(timeout=WAIT_S)
        restored_modes = terminal.local_modes()
    seen.refresh()

    assert status == EXIT_STOPPED_BY_PERSON
    assert restored_modes & termios.ICANON
    assert restored_modes & termios.ECHO
    (interrupt,) = seen.events("session.emergency_stop")
    assert interrupt["source"] == "sigint"
    latency_s, _ = stop_latency_s(seen, number(interrupt, "t"))
    assert latency_s <= CONTROL_TICK_S, latency_s
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH


def test_closing_the_terminal_mid_session_stops_the_belt(tmp_path: Path) -> None:
    """A closed window or a lost ssh session takes the stop keys away: the belt must stop."""
    seen = witnesses(tmp_path)
    with run_in_terminal(tmp_path) as terminal:
        wait_until(lambda: seen.refresh().belt_moving_after(0.0), "the belt to move")
        terminal.hang_up()
        status = terminal.process.wait(timeout=WAIT_S)
    seen.refresh()

    stop_requests = seen.events("session.emergency_stop")
    assert stop_requests, "the run ended without asking for a stop"
    assert {e["source"] for e in stop_requests} <= {"terminal", "sighup"}
    latency_s, _ = stop_latency_s(seen, number(stop_requests[0], "t"))
    assert latency_s <= CONTROL_TICK_S, latency_s
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH
    (ended,) = seen.events("session.ended")
    assert ended["end"] == "stopped_by_person"
    assert status == EXIT_STOPPED_BY_PERSON


def test_without_a_terminal_sigint_stops_the_belt_and_ends_the_session(tmp_path: Path) -> None:
    """Piped, with plain lines: Ctrl-C (SIGINT) still stops the belt first, then exits 3."""
    seen = witnesses(tmp_path)
    with (tmp_path / "stdout.txt").open("wb") as stdout:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            run_command(tmp_path),
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=child_env(tmp_path),
        )
        try:
            wait_until(lambda: seen.refresh().belt_moving_after(0.0), "the belt to move")
            process.send_signal(signal.SIGINT)
            status = process.wait(timeout=WAIT_S)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=WAIT_S)
            if process.stdin is not None:
                process.stdin.close()
    seen.refresh()
    printed = (tmp_path / "stdout.txt").read_text(encoding="utf-8")

    assert status == EXIT_STOPPED_BY_PERSON
    assert "\x1b[" not in printed
    assert "phase: running" in printed
    (interrupt,) = seen.events("session.emergency_stop")
    assert interrupt["source"] == "sigint"
    (ended,) = seen.events("session.ended")
    assert ended["end"] == "stopped_by_person"
    latency_s, _ = stop_latency_s(seen, number(interrupt, "t"))
    assert latency_s <= CONTROL_TICK_S, latency_s
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH

"""The rig of the BlueZ tests: virtual controllers, the simulator, a terminal.

A fresh virtual controller pair has the simulated treadmill on one side and BlueZ's
adapter on the other; ``treadmill-ctl`` runs in a pseudo-terminal as a person runs it.

Only inside the test guest (``make test-bluez``): it needs ``/dev/vhci``, a system
D-Bus and ``bluetoothd``, and it changes the machine's Bluetooth adapters.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, override

from e2e_support import REPO, Line, Witnesses

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

CONTROLLER_PORT: Final = 6402
SIM_NAME: Final = "SIM-TREADMILL"
ADAPTER: Final = Path("/sys/class/bluetooth/hci0")
PROFILES: Final = Path(__file__).resolve().parent / "profiles"
ROWS, COLUMNS = 40, 120
SETUP_S: Final = 180.0
"""Real seconds allowed for a controller, an adapter or a process to come up."""
EXIT_S: Final = 20.0
POLL_S: Final = 0.1
"""How often the tests look at the files: often enough to time a key, rarely enough
to leave the emulated CPU to the programs under test."""


class RigError(AssertionError):
    """The rig did not come up (or down) in time: the test fails, it is not skipped."""


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    """Poll ``condition`` until it holds, or fail naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RigError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(POLL_S)


def _take_terminal() -> None:
    """In the child, after setsid: the pseudo-terminal on stdin becomes its terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@dataclass
class Terminal:
    """A process on the far side of a pseudo-terminal, and everything it printed."""

    process: subprocess.Popen[bytes]
    master_fd: int
    output: bytearray = field(default_factory=bytearray)
    _done: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    def press(self, keys: bytes) -> None:
        os.write(self.master_fd, keys)

    def text(self) -> str:
        return bytes(self.output).decode("utf-8", "replace")

    def _drain(self) -> None:
        while not self._done.is_set():
            ready, _, _ = select.select([self.master_fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.master_fd, 65536)
            except OSError:  # EIO: the other end is closed
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def close(self, log: Path) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=EXIT_S)
        self._done.set()
        if self._reader is not None:
            self._reader.join(timeout=EXIT_S)
        os.close(self.master_fd)
        log.write_bytes(bytes(self.output))


@contextlib.contextmanager
def in_terminal(argv: Sequence[str], env: dict[str, str], log: Path) -> Iterator[Terminal]:
    """Run ``argv`` in a new pseudo-terminal; its output is saved to ``log`` at the end."""
    master_fd, slave_fd = os.openpty()
    fcntl.ioctl(slave_fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    try:
        process = subprocess.Popen(  # noqa: S603 - our own command lines
            argv,
            stdin=slave_fd,
            stdout=slave_fd,
            stderr=slave_fd,
            cwd=REPO,
            env=env,
            start_new_session=True,
            preexec_fn=_take_terminal,  # noqa: PLW1509 - pty setup needs it
        )
    finally:
        os.close(slave_fd)
    terminal = Terminal(process, master_fd)
    terminal._reader = threading.Thread(target=terminal._drain, name="pty", daemon=True)
    terminal._reader.start()
    try:
        yield terminal
    finally:
        terminal.close(log)


def _adapter_powered() -> bool:
    shown = subprocess.run(
        ["bluetoothctl", "show"],  # noqa: S607 - the guest's PATH is ours
        capture_output=True,
        text=True,
        timeout=EXIT_S,
        check=False,
    )
    return "Powered: yes" in shown.stdout


@contextlib.contextmanager
def controllers(out: Path, *, keep_features: bool = False) -> Iterator[None]:
    """A fresh pair of linked virtual controllers, BlueZ's side powered on.

    A fresh treadmill needs a fresh controller: a simulator restarted on an old one
    leaves a link BlueZ cannot get past.
    """
    argv = [sys.executable, str(Path(__file__).with_name("linked_controllers.py"))]
    argv += ["--port", str(CONTROLLER_PORT)]
    if keep_features:
        argv.append("--keep-features")
    with (out / "controllers.log").open("w", encoding="utf-8") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)  # noqa: S603
        try:
            assert process.stdout is not None
            ready = process.stdout.readline()
            if ready.strip() != "ready":
                raise RigError(f"the virtual controllers did not start (see {log.name})")
            wait_until(ADAPTER.exists, "the kernel's hci0 on /dev/vhci", SETUP_S)
            subprocess.run(
                ["btmgmt", "--index", "0", "power", "on"],  # noqa: S607
                capture_output=True,
                timeout=EXIT_S,
                check=False,
            )
            wait_until(_adapter_powered, "bluetoothd to power hci0 on", SETUP_S)
            yield
        finally:
            # Power off first: BlueZ closes its connections in order. Pulling the
            # controller from under a live connection can crash the guest's kernel
            # (list corruption in hci_chan_del, Linux 6.1).
            subprocess.run(
                ["btmgmt", "--index", "0", "power", "off"],  # noqa: S607
                capture_output=True,
                timeout=EXIT_S,
                check=False,
            )
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=EXIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=EXIT_S)
            wait_until(lambda: not ADAPTER.exists(), "hci0 to go away", SETUP_S)


def child_env(out: Path) -> dict[str, str]:
    """The environment of a program the tests start: its own settings and data."""
    return os.environ | {
        "TREADMILL_CTL_CONFIG": str(out / "config.toml"),
        "TREADMILL_CTL_DATA_DIR": str(out / "data"),
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
    }


@contextlib.contextmanager
def treadmill_sim(out: Path, *options: str) -> Iterator[Terminal]:
    """``treadmill-sim tcp-client:...`` in a terminal (its console keys work), tracing."""
    argv = [sys.executable, "-m", "simulator", f"tcp-client:127.0.0.1:{CONTROLLER_PORT}"]
    argv += ["--trace", str(out / "trace.jsonl"), *options]
    with in_terminal(argv, child_env(out), out / "treadmill-sim.log") as sim:
        wait_until(lambda: "advertising as" in sim.text(), "treadmill-sim to advertise", SETUP_S)
        yield sim
        sim.press(b"q")
        with contextlib.suppress(subprocess.TimeoutExpired):
            sim.process.wait(timeout=EXIT_S)


@contextlib.contextmanager
def treadmill_ctl_run(out: Path, profile: str) -> Iterator[Terminal]:
    """``treadmill-ctl run PROFILE --device SIM-TREADMILL`` in a terminal, recording."""
    argv = [sys.executable, "-m", "treadmill_ctl", "run", str(PROFILES / profile)]
    argv += ["--device", SIM_NAME, "--quiet", "--record", str(out / "session.jsonl")]
    with in_terminal(argv, child_env(out), out / "treadmill-ctl.log") as run:
        yield run


class Tail:
    """The complete JSON lines of a growing file, read a piece at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[Line] = []
        self._offset = 0
        self._partial = b""

    def read(self) -> list[Line]:
        try:
            with self.path.open("rb") as file:
                file.seek(self._offset)
                chunk = file.read()
        except FileNotFoundError:
            return self.lines
        self._offset += len(chunk)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        self.lines.extend(json.loads(line) for line in complete if line)
        return self.lines


class GrowingWitnesses(Witnesses):
    """The witnesses, read incrementally: the guest's CPU is the scarce thing.

    Re-reading and re-parsing whole files every poll would compete with the very
    processes under test on an emulated machine.
    """

    def __init__(self, record_path: Path, trace_path: Path) -> None:
        super().__init__(record_path, trace_path)
        self._record = Tail(record_path)
        self._trace = Tail(trace_path)

    @override
    def refresh(self) -> Witnesses:
        self.record = self._record.read()
        self.trace = self._trace.read()
        return self


def witnesses(out: Path) -> Witnesses:
    return GrowingWitnesses(out / "session.jsonl", out / "trace.jsonl")

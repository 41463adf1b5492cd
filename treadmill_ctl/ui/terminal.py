"""The user interface of one run, wired in one place: dashboard and hotkeys, or plain lines.

The runner does not need to know which pieces exist: it opens :func:`open_session_ui`
around the session, registers the observer it yields, and keeps publishing
snapshots, events and cues. With a terminal on both ends the person gets the live
dashboard and the hotkeys; without one (piped, under a service manager) plain log
lines, and the runner's Ctrl-C/SIGTERM handlers remain the way to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import TYPE_CHECKING, TextIO

import structlog

from treadmill_ctl.session.events import RequestSource
from treadmill_ctl.ui.cues import CuePlayer
from treadmill_ctl.ui.dashboard import Dashboard, DeviceSettings
from treadmill_ctl.ui.keys import DEFAULT_BINDINGS, Bindings, HotkeyDispatcher, terminal_keys
from treadmill_ctl.ui.plain import PlainObserver

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator, Sequence

    from treadmill_ctl.session.events import (
        Cue,
        SessionControl,
        SessionEvent,
        SessionObserver,
        SessionSnapshot,
    )

_log = structlog.get_logger(__name__)


class ObserverGroup:
    """One observer that hands everything to several, each shielded from the others.

    A fault in a display (a rendering bug, a closed pipe) is logged and never
    reaches the session loop that called it.
    """

    def __init__(self, observers: Sequence[SessionObserver]) -> None:
        self.observers = tuple(observers)

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Pass the snapshot to each observer."""
        for observer in self.observers:
            try:
                observer.on_snapshot(snapshot)
            except Exception as error:  # noqa: BLE001  (a display must not stop the loop)
                _log.warning(
                    "ui.observer_failed", observer=type(observer).__name__, error=repr(error)
                )

    def on_event(self, event: SessionEvent) -> None:
        """Pass the event to each observer."""
        for observer in self.observers:
            try:
                observer.on_event(event)
            except Exception as error:  # noqa: BLE001  (a display must not stop the loop)
                _log.warning(
                    "ui.observer_failed", observer=type(observer).__name__, error=repr(error)
                )

    def on_cue(self, cue: Cue) -> None:
        """Pass the cue to each observer."""
        for observer in self.observers:
            try:
                observer.on_cue(cue)
            except Exception as error:  # noqa: BLE001  (a display must not stop the loop)
                _log.warning(
                    "ui.observer_failed", observer=type(observer).__name__, error=repr(error)
                )


def is_interactive(stdin: TextIO, stdout: TextIO) -> bool:
    """Whether both ends are a terminal, so the dashboard and hotkeys can be used."""
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.asynccontextmanager
async def open_session_ui(
    control: SessionControl,
    *,
    bindings: Bindings = DEFAULT_BINDINGS,
    quiet: bool = False,
    speech: bool = True,
    plain: bool = False,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    device_settings: DeviceSettings | None = None,
) -> AsyncIterator[ObserverGroup]:
    """Run the interface of one session for an ``async with`` block.

    Yields the observer to register with the runner. Interactive (both ends a
    terminal and not ``plain``): the terminal in cbreak mode with the hotkeys, the
    live dashboard and the cue player. Otherwise: plain lines and the cue player.
    Leaving the block, however it ends, stops the cue player (cutting off speech),
    gives the terminal back in its old mode and draws the last dashboard state.

    If the terminal's input ends during the session (the window closed), the
    person's stop keys are gone, so an emergency stop is requested (source
    ``"terminal"``).

    Args:
        control: the session, for the hotkeys' requests.
        bindings: the keys in force.
        quiet: ``--quiet``: no speech; ordinary cues are text only.
        speech: whether speaking makes sense at all (not in accelerated time).
        plain: plain lines even on a terminal (``--plain``).
        stdin: the keyboard side (default ``sys.stdin``).
        stdout: the screen side (default ``sys.stdout``).
        device_settings: where this treadmill's settings go (the mph advice).

    When speech cannot be heard (espeak-ng is there, an audio device is not), the
    screen and the record say so and the bell stands in for it.
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    async with asyncio.TaskGroup() as tasks:
        if plain or not is_interactive(stdin, stdout):
            lines = PlainObserver(stdout, device_settings=device_settings)
            player = _cue_player(
                quiet=quiet, speech=speech, bell=None, on_problem=_reporting(lines.note)
            )
            cues = tasks.create_task(player.run(), name="ui.cues")
            try:
                yield ObserverGroup((lines, player))
            finally:
                cues.cancel()
            return
        dispatcher = HotkeyDispatcher(control, bindings)

        def terminal_lost() -> None:
            control.emergency_stop(RequestSource.TERMINAL)

        with (
            _library_logs_to_record(),
            Dashboard(bindings=bindings, device_settings=device_settings) as dashboard,
        ):
            player = _cue_player(
                quiet=quiet,
                speech=speech,
                bell=dashboard.console.bell,
                on_problem=_reporting(dashboard.note),
            )
            cues = tasks.create_task(player.run(), name="ui.cues")
            try:
                with terminal_keys(stdin.fileno(), dispatcher.on_key, on_close=terminal_lost):
                    yield ObserverGroup((dispatcher, dashboard, player))
            finally:
                cues.cancel()


def _cue_player(
    *,
    quiet: bool,
    speech: bool,
    bell: Callable[[], None] | None,
    on_problem: Callable[[str], None],
) -> CuePlayer:
    if speech:
        return CuePlayer.for_terminal(quiet=quiet, bell=bell, on_problem=on_problem)
    return CuePlayer(None, bell=bell, quiet=quiet)


def _reporting(show: Callable[[str], None]) -> Callable[[str], None]:
    """Say a speech problem on screen and in the record."""

    def report(problem: str) -> None:
        _log.warning("speech.unavailable", problem=problem)
        show(problem)

    return report


class _ToStructlog(logging.Handler):
    """Library log records (bleak, bumble) into the session record, not onto the screen."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # logging must never take the session down
            _log.warning("library.log", logger=record.name, message=record.getMessage())


@contextlib.contextmanager
def _library_logs_to_record() -> Iterator[None]:
    """While the dashboard draws, warnings of libraries go to the record, not the terminal.

    Without a handler, Python prints them to standard error, which the live display
    would show above the dashboard as raw log lines.
    """
    root = logging.getLogger()
    handler = _ToStructlog(logging.WARNING)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)

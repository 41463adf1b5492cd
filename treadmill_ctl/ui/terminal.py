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
import sys
from typing import TYPE_CHECKING, TextIO

import structlog

from treadmill_ctl.ui.cues import CuePlayer
from treadmill_ctl.ui.dashboard import Dashboard
from treadmill_ctl.ui.keys import DEFAULT_BINDINGS, Bindings, HotkeyDispatcher, terminal_keys
from treadmill_ctl.ui.plain import PlainObserver

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

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
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    async with asyncio.TaskGroup() as tasks:
        if plain or not is_interactive(stdin, stdout):
            player = _cue_player(quiet=quiet, speech=speech, bell=None)
            cues = tasks.create_task(player.run(), name="ui.cues")
            try:
                yield ObserverGroup((PlainObserver(stdout), player))
            finally:
                cues.cancel()
            return
        dispatcher = HotkeyDispatcher(control, bindings)

        def terminal_lost() -> None:
            control.emergency_stop("terminal")

        with Dashboard(bindings=bindings) as dashboard:
            player = _cue_player(quiet=quiet, speech=speech, bell=dashboard.console.bell)
            cues = tasks.create_task(player.run(), name="ui.cues")
            try:
                with terminal_keys(stdin.fileno(), dispatcher.on_key, on_close=terminal_lost):
                    yield ObserverGroup((dispatcher, dashboard, player))
            finally:
                cues.cancel()


def _cue_player(*, quiet: bool, speech: bool, bell: Callable[[], None] | None) -> CuePlayer:
    if speech:
        return CuePlayer.for_terminal(quiet=quiet, bell=bell)
    return CuePlayer(None, bell=bell, quiet=quiet)

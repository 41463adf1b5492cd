"""Whole sessions with a scripted person at the keys, in virtual time.

The real runner drives the real simulator over bumble's virtual radio, with the real
link, governor and session record, on the accelerated loop's virtual clock (a
session of minutes takes a second or two). Only the person is scripted: a
:class:`ScriptedPerson` watches the snapshots as the dashboard does and presses
what a person would press (start, pause, resume, the emergency stop, re-arm), each
as a key press would, from the event loop, from the person (``RequestSource.HOTKEY``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import structlog

from simulator import open_virtual_treadmill
from treadmill_ctl.cli_run import log_session_started
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.session.clock import LoopClock, run_accelerated
from treadmill_ctl.session.events import RequestSource, SessionPhase
from treadmill_ctl.session.recorder import SessionRecord, configure_logging
from treadmill_ctl.session.runner import SessionRunner

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.session.events import Cue, SessionEvent, SessionSnapshot
    from treadmill_ctl.session.runner import SessionSummary

KEY = RequestSource.HOTKEY
REACTION_S = 1.0
"""How long the scripted person takes to press resume when asked."""


@dataclass(frozen=True, slots=True)
class Script:
    """What the person does, in session time.

    Attributes:
        start_after_s: Waits this long at the start before pressing start.
        pause_at_s: Presses pause once the session time passes this (while walking).
        pause_for_s: Presses resume this long after their pause.
        stop_at_s: Presses the emergency stop once the session time passes this.
        rearm_after_s: Re-arms this long after the latch.
        restart_after_s: Presses start this long after re-arming.
    """

    start_after_s: float = 5.0
    pause_at_s: float | None = None
    pause_for_s: float = 4.0
    stop_at_s: float | None = None
    rearm_after_s: float = 6.0
    restart_after_s: float = 3.0


class ScriptedPerson:
    """Presses keys by a :class:`Script`, reading snapshots like the dashboard does."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._runner: SessionRunner | None = None
        self._next_press_s = script.start_after_s
        self._done: set[str] = set()
        self.presses: list[tuple[float, str]] = []

    def attach(self, runner: SessionRunner) -> None:
        self._runner = runner

    def _press(self, t_s: float, what: str, action: Callable[[RequestSource], object]) -> None:
        self.presses.append((t_s, what))
        self._next_press_s = t_s + REACTION_S
        asyncio.get_running_loop().call_soon(action, KEY)

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        runner, script, t_s = self._runner, self._script, snapshot.t_s
        if runner is None or t_s < self._next_press_s:
            return
        phase = snapshot.phase
        if phase is SessionPhase.WAITING_FOR_START:
            self._press(t_s, "start", runner.start)
        elif phase is SessionPhase.RUNNING and self._due(script.stop_at_s, t_s, "stop"):
            self._press(t_s, "emergency_stop", runner.emergency_stop)
            self._next_press_s = t_s + script.rearm_after_s
        elif phase is SessionPhase.RUNNING and self._due(script.pause_at_s, t_s, "pause"):
            self._press(t_s, "pause", runner.pause)
            self._next_press_s = t_s + script.pause_for_s
        elif phase is SessionPhase.PAUSED:
            self._press(t_s, "resume", runner.resume)
        elif phase is SessionPhase.LATCHED:
            self._press(t_s, "rearm", runner.rearm)
            self._next_press_s = t_s + script.restart_after_s

    def _due(self, at_s: float | None, t_s: float, what: str) -> bool:
        """Whether a once-only press ``what`` planned for ``at_s`` is due now."""
        if at_s is None or t_s < at_s or what in self._done:
            return False
        self._done.add(what)
        return True

    def on_event(self, event: SessionEvent) -> None:
        """Events are not for the person."""

    def on_cue(self, cue: Cue) -> None:
        """The person hears the cues; the script does not need them."""


def run_with_person(
    profile_path: Path, *, record: Path, trace: Path, script: Script
) -> tuple[SessionSummary, ScriptedPerson]:
    """Run ``profile_path`` on the simulator with a scripted person; the record says what."""
    profile = load_profile(profile_path)
    plan = build_plan(profile, weight_kg=70.0)
    person = ScriptedPerson(script)

    async def session() -> SessionSummary:
        clock = LoopClock()
        with SessionRecord(record, clock=clock) as session_record:
            configure_logging(record=session_record, console=None)
            structlog.contextvars.bind_contextvars(session_id="scripted")
            async with open_virtual_treadmill(trace=trace) as sim:
                log_session_started(
                    plan,
                    profile_path=str(profile_path),
                    device=sim.ble_device,
                    simulator=True,
                )
                link = FtmsLink(
                    sim.ble_device,
                    clock=clock,
                    client_backend=sim.client_backend,
                )
                runner = SessionRunner(
                    plan=plan,
                    limits=profile.limits,
                    link=link,
                    clock=clock,
                    observers=[person],
                    interactive=True,
                )
                person.attach(runner)
                return await runner.run()

    try:
        return run_accelerated(session(), speedup=None), person
    finally:
        structlog.contextvars.unbind_contextvars("session_id")
        structlog.reset_defaults()


@dataclass(frozen=True, slots=True)
class ScriptedRun:
    """A finished scripted session: its record, the simulator's trace, what was pressed."""

    record: Path
    trace: Path
    summary: SessionSummary
    presses: tuple[tuple[float, str], ...]


DEMO: Final = Path(__file__).resolve().parent.parent / "profiles" / "demo.toml"
PAUSE_AT_S: Final = 15.0
PAUSE_FOR_S: Final = 4.0
STOP_AT_S: Final = 20.0
START_AFTER_S: Final = 5.0

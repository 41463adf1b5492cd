"""Who may start the belt (SAFETY.md invariant 7): a property of the request's source.

The source is a :class:`RequestSource`, not a string, so the rule is written once
and no caller can make up a name that the runner would take for the person. These
tests hold it in three places: the type itself, the MQTT commands (every one of
them arrives as a remote source), and whole sessions on the simulator, where a
start or resume from anyone but the person (or the dry run's stand-in) never
reaches the treadmill, and the stand-in never confirms for the person.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from simulator import open_virtual_treadmill
from simulator.model import MachineConfig
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.session.clock import LoopClock, run_accelerated
from treadmill_ctl.session.events import RequestSource, SessionPhase
from treadmill_ctl.session.runner import SessionRunner
from treadmill_ctl.telemetry.commands import CommandName, RemoteCommand, dispatch

if TYPE_CHECKING:
    from fakes import RecordingControl

    from treadmill_ctl.session.events import Cue, SessionEvent, SessionSnapshot

DEMO: Final = Path(__file__).resolve().parent.parent / "profiles" / "demo.toml"

PERSON: Final = frozenset({RequestSource.HOTKEY})
"""The person's own act at the treadmill: the only source that confirms for them."""
MAY_START: Final = frozenset({RequestSource.HOTKEY, RequestSource.STAND_IN})
"""Whose start and resume the governor may follow."""
NEVER_STARTS: Final = tuple(source for source in RequestSource if source not in MAY_START)

START_WRITE: Final = "07"
"""FTMS Start or Resume on the control point, as the simulator's trace writes it."""


class TestTheType:
    def test_only_the_persons_keys_are_the_person(self) -> None:
        """The stand-in, MQTT, signals and the session's own stops are not the person."""
        assert {source for source in RequestSource if source.is_person} == PERSON

    def test_only_the_person_and_the_stand_in_may_start_the_belt(self) -> None:
        """``--yes`` stands in for the person's start; nothing remote or automatic does."""
        assert {source for source in RequestSource if source.counts_as_person} == MAY_START

    def test_the_record_keeps_its_names(self) -> None:
        """Old records stay readable: each source is written as it was before it was a type."""
        assert [str(source) for source in RequestSource] == [
            "hotkey",
            "stand-in",
            "mqtt",
            "terminal",
            "sigint",
            "sigterm",
            "sighup",
            "record-failed",
            "dry-run-guard",
            "heart-rate-refusal",
        ]


@pytest.mark.parametrize(
    "command",
    [
        RemoteCommand(CommandName.STOP),
        RemoteCommand(CommandName.PAUSE),
        RemoteCommand(CommandName.END),
        RemoteCommand(CommandName.RESUME),
        RemoteCommand(CommandName.TOGGLE_PAUSE),
        RemoteCommand(CommandName.NUDGE_SPEED, delta_kmh=0.5),
    ],
    ids=lambda command: str(command.name),
)
def test_every_mqtt_command_reaches_the_session_as_a_remote_source(
    command: RemoteCommand, control: RecordingControl
) -> None:
    """Whatever the command, the session is told it came from MQTT: never the person."""
    dispatch(command, control)
    [(_, source)] = control.calls
    assert source is RequestSource.MQTT
    assert isinstance(source, RequestSource)
    assert not source.counts_as_person


class _Asker:
    """Asks the session to start and to resume from one source while it waits, then ends it.

    ``presses`` are session times; at ``end_at_s`` the session is ended (from the
    terminal, so that the end is nobody's start).
    """

    def __init__(
        self, source: RequestSource, *, presses: tuple[float, ...], end_at_s: float
    ) -> None:
        self.source = source
        self._presses = list(presses)
        self._end_at_s = end_at_s
        self._ended = False
        self.runner: SessionRunner | None = None
        self.phases: set[SessionPhase] = set()
        self.heart_rate_shown: set[tuple[int | None, bool, int | None]] = set()

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        runner = self.runner
        if runner is None:
            return
        self.phases.add(snapshot.phase)
        self.heart_rate_shown.add(
            (snapshot.heart_rate_bpm, snapshot.heart_rate_watched, snapshot.heart_rate_ceiling_bpm)
        )
        if self._presses and snapshot.t_s >= self._presses[0]:
            self._presses.pop(0)
            runner.start(self.source)
            runner.resume(self.source)
        if snapshot.t_s >= self._end_at_s and not self._ended:
            self._ended = True
            runner.end(RequestSource.TERMINAL)

    def on_event(self, event: SessionEvent) -> None:
        """Events do not change what is asked."""

    def on_cue(self, cue: Cue) -> None:
        """Nor do cues."""


def _session(
    source: RequestSource,
    *,
    presses: tuple[float, ...],
    end_at_s: float,
    heart_rate_max_bpm: float | None = None,
) -> tuple[list[str], _Asker]:
    """The control point writes of a session asked to start by ``source``, and its phases.

    No stand-in and no key reader: only ``source`` asks. The simulated treadmill has
    no heart-rate sensor, so a ceiling finds no heart rate.
    """
    profile = load_profile(DEMO)
    limits = profile.limits
    if heart_rate_max_bpm is not None:
        limits = limits.tightened({"heart_rate_max_bpm": heart_rate_max_bpm})
    asker = _Asker(source, presses=presses, end_at_s=end_at_s)

    async def main() -> list[str]:
        config = MachineConfig(heart_rate=False)
        async with open_virtual_treadmill(config=config) as sim:
            link = FtmsLink(sim.ble_device, clock=LoopClock(), client_backend=sim.client_backend)
            runner = SessionRunner(
                plan=build_plan(profile),
                limits=limits,
                link=link,
                clock=LoopClock(),
                observers=[asker],
            )
            asker.runner = runner
            await runner.run()
            return [
                str(record["data_hex"])
                for record in sim.trace.records
                if record["kind"] == "control_point_write"
            ]

    return run_accelerated(main()), asker


@pytest.mark.parametrize("source", NEVER_STARTS, ids=str)
def test_a_start_or_resume_from_anyone_but_the_person_never_reaches_the_treadmill(
    source: RequestSource,
) -> None:
    """MQTT, a signal, the terminal or the session itself: no Start is written, ever."""
    writes, asker = _session(source, presses=(2.0, 4.0, 8.0), end_at_s=12.0)
    assert not [write for write in writes if write.startswith(START_WRITE)]
    assert SessionPhase.RUNNING not in asker.phases


@pytest.mark.parametrize("source", sorted(MAY_START), ids=str)
def test_the_persons_start_and_the_stand_ins_reach_the_treadmill(source: RequestSource) -> None:
    """The same session, asked by the person or by the stand-in, starts the belt."""
    writes, asker = _session(source, presses=(2.0,), end_at_s=12.0)
    assert [write for write in writes if write.startswith(START_WRITE)]
    assert SessionPhase.RUNNING in asker.phases


@pytest.mark.parametrize("source", sorted(MAY_START), ids=str)
def test_only_the_person_confirms_going_on_without_a_heart_rate(source: RequestSource) -> None:
    """With a ceiling and no heart rate, a second start confirms only from the person.

    The first press is refused while a strap may still be connecting, the second
    (after the grace) is refused with the offer to go on without, the third
    within the window confirms it: from the person's keys, never from the stand-in.
    """
    writes, asker = _session(
        source, presses=(2.0, 14.0, 20.0), end_at_s=40.0, heart_rate_max_bpm=140
    )
    started = bool([write for write in writes if write.startswith(START_WRITE)])
    assert started is source.is_person
    assert (SessionPhase.RUNNING in asker.phases) is source.is_person


def test_with_a_ceiling_and_no_heart_rate_the_screen_says_it_is_unknown() -> None:
    """The observers are told a heart rate is expected and missing, and the ceiling."""
    _, asker = _session(RequestSource.HOTKEY, presses=(2.0,), end_at_s=6.0, heart_rate_max_bpm=140)
    assert asker.heart_rate_shown == {(None, True, 140)}
    _, asker = _session(RequestSource.HOTKEY, presses=(2.0,), end_at_s=6.0)
    assert asker.heart_rate_shown == {(None, False, None)}

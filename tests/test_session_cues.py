"""What the person hears in whole sessions: in time, whole, never late.

Each session runs against the simulator on the virtual clock, with a speaker whose
sentences take as long as espeak-ng really needs for them (rendered to a wav where
espeak-ng is installed, else the rate model). The runner plans with the rate model
as in production; the cue player checks every saying against the real length.

For every shipped profile, and for a lost link and a stop the belt ignores:

- every heads-up ends before the segment change it announces;
- every countdown word is said within 0.3 s of its second, or not at all;
- every alarm is heard whole at least once;
- no ordinary cue is cut off (only an alarm may cut one off).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from speech_support import TimedSpeaker

from simulator import open_virtual_treadmill
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.session.clock import LoopClock, run_accelerated
from treadmill_ctl.session.events import SessionPhase
from treadmill_ctl.session.runner import SessionRunner
from treadmill_ctl.session.speech import COUNTDOWN_START_S, SpokenKeys
from treadmill_ctl.ui.banner import banner_for
from treadmill_ctl.ui.cues import CuePlayer, Heard

if TYPE_CHECKING:
    from treadmill_ctl.session.events import Cue, SessionEvent, SessionSnapshot

REPO = Path(__file__).resolve().parent.parent
PROFILES = sorted(
    [*REPO.glob("profiles/*.toml"), *REPO.glob("profiles/six-week-progression/*.toml")]
)


@dataclass
class Listener:
    """Notes, on the session clock, when each segment ended and when each cue was given."""

    clock: LoopClock
    segment_ends_s: list[float] = field(default_factory=list)
    given: list[tuple[float, Cue]] = field(default_factory=list)
    _index: int | None = None

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        now = self.clock.now_s()
        index = snapshot.segment.index if snapshot.segment is not None else None
        if self._index is not None and index != self._index:
            self.segment_ends_s.append(now)  # the plan moved on: the belt changes now
        self._index = index

    def on_event(self, event: SessionEvent) -> None:
        del event

    def on_cue(self, cue: Cue) -> None:
        self.given.append((self.clock.now_s(), cue))


@dataclass
class Heard_:  # noqa: N801 - what one session gave and what was heard
    listener: Listener
    player: CuePlayer
    end: str


def run_session(
    profile_path: Path, *, faults: tuple[str, ...] = (), quirks: tuple[str, ...] = ()
) -> Heard_:
    profile = load_profile(profile_path)
    clock = LoopClock()

    async def main() -> Heard_:
        async with open_virtual_treadmill(faults=faults, quirks=quirks) as sim:
            link = FtmsLink(sim.ble_device, clock=clock, client_backend=sim.client_backend)
            listener = Listener(clock)
            player = CuePlayer(TimedSpeaker(), clock=clock)
            runner = SessionRunner(
                plan=build_plan(profile),
                limits=profile.limits,
                link=link,
                clock=clock,
                observers=[listener, player],
                stand_in_person=True,
                stand_in_listens=True,
            )
            async with asyncio.TaskGroup() as tasks:
                speaking = tasks.create_task(player.run())
                summary = await runner.run()
                await asyncio.sleep(10)  # what was being said ends
                speaking.cancel()
            return Heard_(listener, player, str(summary.end))

    return run_accelerated(main())


def heads_ups(heard: list[Heard]) -> list[Heard]:
    return [h for h in heard if h.kind == "heads_up"]


def assert_heard_in_time(run: Heard_) -> None:
    heard = run.player.heard
    ends = run.listener.segment_ends_s
    for saying in heads_ups(heard):
        following = [end for end in ends if end > saying.start_s]
        assert following, f"a heads-up with no segment change after it: {saying}"
        assert saying.whole, saying
        assert saying.end_s <= following[0], (
            f"heads-up {saying.text!r} ended {saying.end_s - following[0]:.2f} s "
            "after the change it announced"
        )
    countdown_given = [
        (given_s, cue) for given_s, cue in run.listener.given if cue.kind == "turn_around_countdown"
    ]
    for saying in (h for h in heard if h.kind == "turn_around_countdown"):
        seconds = [
            given_s
            for given_s, cue in countdown_given
            if cue.speech[0].text == saying.text and given_s <= saying.start_s
        ]
        assert seconds, saying
        assert saying.start_s - seconds[-1] <= COUNTDOWN_START_S + 1e-9, saying
        assert saying.whole
    cut = [h for h in heard if not h.whole and not h.urgent]
    for saying in cut:
        # only an alarm may cut off an ordinary cue, and one was given at that moment
        assert any(
            cue.urgent and saying.start_s <= given_s <= saying.end_s + 1e-9
            for given_s, cue in run.listener.given
        ), f"{saying.text!r} was cut off without an alarm"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda path: path.stem)
def test_every_shipped_profile_is_heard_in_time_and_whole(profile: Path) -> None:
    run = run_session(profile)
    assert run.end == "completed"
    assert_heard_in_time(run)
    heard = run.player.heard
    assert run.player.cut_off == []
    # the heads-ups are not simply all dropped: most segment changes get one
    assert len(heads_ups(heard)) >= len(run.listener.segment_ends_s) // 2
    turns = [c for _, c in run.listener.given if c.kind == "turn_around_countdown"]
    words = [h for h in heard if h.kind == "turn_around_countdown"]
    if turns:
        assert words, "no countdown word was ever heard"


@pytest.mark.parametrize(
    ("fault", "quirk"),
    [("disconnect@45:10", None), ("stall@45:10", None), (None, "ignores-stop")],
    ids=["link-lost", "stale-data", "stop-ignored"],
)
def test_alarms_are_heard_whole_at_least_once(fault: str | None, quirk: str | None) -> None:
    run = run_session(
        REPO / "profiles" / "demo.toml",
        faults=(fault,) if fault else (),
        quirks=(quirk,) if quirk else (),
    )
    alarms = {cue.text for _, cue in run.listener.given if cue.urgent}
    assert alarms, "no alarm was given"
    heard_whole = {h.text for h in run.player.heard if h.urgent and h.whole}
    for text in alarms:
        assert any(text.startswith(said.split(".")[0]) for said in heard_whole), text
    assert all(h.whole for h in run.player.heard if h.urgent)
    assert_heard_in_time(run)


def test_an_alarm_says_what_to_do_first() -> None:
    run = run_session(REPO / "profiles" / "demo.toml", quirks=("ignores-stop",))
    alarms = [cue.text for _, cue in run.listener.given if cue.urgent]
    assert "PULL THE SAFETY KEY NOW." in [text.split(" The")[0] for text in alarms]


class BannerWatcher:
    """Reads the TURN banner at every tick of a real session."""

    def __init__(self) -> None:
        self.turns: list[list[str]] = []
        self._phase: SessionPhase | None = None

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        turning = snapshot.phase is SessionPhase.TURNING_AROUND or snapshot.resume_after_turn
        if turning and self._phase is SessionPhase.RUNNING:
            self.turns.append([])
        if turning and self.turns:
            self.turns[-1].append(banner_for(snapshot).subtitle)
        self._phase = snapshot.phase

    def on_event(self, event: SessionEvent) -> None:
        del event

    def on_cue(self, cue: Cue) -> None:
        del cue


def test_each_turn_around_banner_names_the_direction_turned_to_and_counts_down_its_hold() -> None:
    """Forward -> backward -> forward: BACKWARD at the first turn, FORWARD at the second."""
    profile = load_profile(REPO / "profiles" / "demo.toml")
    watcher = BannerWatcher()

    async def main() -> None:
        async with open_virtual_treadmill() as sim:
            clock = LoopClock()
            link = FtmsLink(sim.ble_device, clock=clock, client_backend=sim.client_backend)
            runner = SessionRunner(
                plan=build_plan(profile),
                limits=profile.limits,
                link=link,
                clock=clock,
                observers=[watcher],
                stand_in_person=True,
                keys=SpokenKeys(start="Enter", resume="p"),
                stand_in_listens=True,  # a person hears "Press p..." before pressing it
            )
            await runner.run()

    run_accelerated(main())
    assert len(watcher.turns) == 2
    for subtitles, heading in zip(watcher.turns, ("BACKWARD", "FORWARD"), strict=True):
        other = "FORWARD" if heading == "BACKWARD" else "BACKWARD"
        assert all(heading in line and other not in line for line in subtitles), subtitles
        assert subtitles[0] == f"slowing down, then turn round to walk {heading}"
        seconds = [int(m) for line in subtitles for m in re.findall(r"in (\d+) s", line)]
        assert seconds[0] == round(profile.limits.turnaround_hold_s)  # from the real hold
        assert seconds == sorted(seconds, reverse=True)  # counting down, never reset mid-way
        assert seconds[-1] >= 1  # never "in 0 s" while waiting
        assert subtitles[-1] == f"Press p to walk {heading}"

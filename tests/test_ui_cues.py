"""Spoken cues: queued without waiting, said in order, cut off by urgent ones."""

from __future__ import annotations

import asyncio
import inspect
import os
import stat
from typing import TYPE_CHECKING

import pytest

from treadmill_ctl.session.clock import run_accelerated
from treadmill_ctl.session.events import Cue
from treadmill_ctl.ui.cues import CuePlayer, EspeakSpeaker

if TYPE_CHECKING:
    from pathlib import Path


class FakeSpeaker:
    """A speaker that takes ``seconds_per_char`` of (virtual) time per character."""

    def __init__(self, seconds_per_char: float = 0.1) -> None:
        self.seconds_per_char = seconds_per_char
        self.started: list[str] = []
        self.finished: list[str] = []
        self.silenced: list[str] = []

    async def say(self, text: str) -> None:
        self.started.append(text)
        try:
            await asyncio.sleep(len(text) * self.seconds_per_char)
        except asyncio.CancelledError:
            self.silenced.append(text)
            raise
        self.finished.append(text)


class Bell:
    def __init__(self) -> None:
        self.rings = 0

    def __call__(self) -> None:
        self.rings += 1


TURN = Cue("turn", "Turn around. Backward in 3, 2, 1")
SPEED = Cue("speed", "Speed up")
STOP = Cue("stop", "Stop", urgent=True)


async def play(player: CuePlayer, *cues: Cue, settle_s: float = 60.0) -> None:
    """Run the player, hand it the cues, let (virtual) time pass, then cancel it."""
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(player.run())
        for cue in cues:
            player.on_cue(cue)
        await asyncio.sleep(settle_s)
        task.cancel()


class TestQueueing:
    def test_on_cue_is_a_plain_function_that_returns_without_a_running_loop(self) -> None:
        player = CuePlayer(FakeSpeaker())
        assert not inspect.iscoroutinefunction(player.on_cue)
        for _ in range(10):
            assert player.on_cue(TURN) is None  # type: ignore[func-returns-value]
        assert len(player.pending) == 2  # stale cues are dropped, not piled up

    def test_on_cue_returns_while_the_speaker_is_busy(self) -> None:
        async def main() -> tuple[float, list[str]]:
            speaker = FakeSpeaker(seconds_per_char=100.0)  # each cue takes many minutes
            player = CuePlayer(speaker)
            async with asyncio.TaskGroup() as tasks:
                task = tasks.create_task(player.run())
                player.on_cue(TURN)
                await asyncio.sleep(1)
                loop = asyncio.get_running_loop()
                before_s = loop.time()
                player.on_cue(SPEED)  # no await: it cannot wait for the speaker
                after_s = loop.time()
                task.cancel()
            return after_s - before_s, speaker.started

        elapsed_s, started = run_accelerated(main())
        assert elapsed_s == 0.0
        assert started == [TURN.text]

    def test_cues_are_said_in_order(self) -> None:
        speaker = FakeSpeaker()
        player = CuePlayer(speaker)
        run_accelerated(play(player, TURN, SPEED))
        assert speaker.finished == [TURN.text, SPEED.text]
        assert player.said == [TURN.text, SPEED.text]

    def test_when_cues_pile_up_the_oldest_ordinary_one_is_dropped(self) -> None:
        player = CuePlayer(FakeSpeaker(), max_pending=2)
        for text in ("one", "two", "three"):
            player.on_cue(Cue("note", text))
        assert [cue.text for cue in player.pending] == ["two", "three"]


class TestUrgentCues:
    def test_an_urgent_cue_cuts_off_the_current_one_and_jumps_the_queue(self) -> None:
        async def main() -> tuple[FakeSpeaker, CuePlayer]:
            speaker = FakeSpeaker()
            player = CuePlayer(speaker)
            async with asyncio.TaskGroup() as tasks:
                task = tasks.create_task(player.run())
                player.on_cue(TURN)
                player.on_cue(SPEED)
                await asyncio.sleep(1.0)  # TURN is being said (it takes 3.2 s)
                player.on_cue(STOP)
                await asyncio.sleep(60)
                task.cancel()
            return speaker, player

        speaker, player = run_accelerated(main())
        assert speaker.silenced == [TURN.text]
        assert speaker.started == [TURN.text, STOP.text]
        assert speaker.finished == [STOP.text]
        assert player.cut_off == [TURN.text]

    def test_an_urgent_cue_is_never_dropped_for_an_ordinary_one(self) -> None:
        player = CuePlayer(FakeSpeaker(), max_pending=1)
        player.on_cue(STOP)
        player.on_cue(SPEED)
        assert player.pending == (STOP,)


class TestWithoutSpeech:
    def test_without_a_speaker_each_cue_rings_the_bell(self) -> None:
        bell = Bell()
        run_accelerated(play(CuePlayer(None, bell=bell), TURN, SPEED))
        assert bell.rings == 2

    def test_quiet_neither_speaks_nor_rings_for_ordinary_cues(self) -> None:
        speaker, bell = FakeSpeaker(), Bell()
        run_accelerated(play(CuePlayer(speaker, bell=bell, quiet=True), TURN, SPEED))
        assert speaker.started == []
        assert bell.rings == 0

    def test_quiet_still_rings_the_bell_for_an_urgent_cue(self) -> None:
        speaker, bell = FakeSpeaker(), Bell()
        run_accelerated(play(CuePlayer(speaker, bell=bell, quiet=True), TURN, STOP))
        assert speaker.started == []
        assert bell.rings == 1

    def test_a_speaker_that_fails_falls_back_to_the_bell(self) -> None:
        class BrokenSpeaker:
            async def say(self, text: str) -> None:
                raise OSError(f"cannot say {text}")

        bell = Bell()
        run_accelerated(play(CuePlayer(BrokenSpeaker(), bell=bell), TURN))
        assert bell.rings == 1


class TestStopping:
    def test_cancelling_the_player_silences_the_current_cue(self) -> None:
        async def main() -> FakeSpeaker:
            speaker = FakeSpeaker(seconds_per_char=100.0)
            player = CuePlayer(speaker)
            task = asyncio.create_task(player.run())
            player.on_cue(TURN)
            await asyncio.sleep(1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return speaker

        assert run_accelerated(main()).silenced == [TURN.text]


def fake_espeak(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in ``espeak-ng`` program that records its input (the speaker is outside)."""
    heard = tmp_path / "heard.txt"
    program = tmp_path / "espeak-ng"
    program.write_text(f'#!/bin/sh\ncat > "{heard}"\n')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program, heard


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for espeak-ng")
def test_espeak_gets_the_text_on_standard_input(tmp_path: Path) -> None:
    program, heard = fake_espeak(tmp_path)

    async def main() -> None:
        await EspeakSpeaker(str(program)).say("-v turn around")

    asyncio.run(main())
    assert heard.read_text() == "-v turn around"


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for espeak-ng")
def test_a_cue_that_takes_too_long_is_cut_off_and_its_process_reaped(tmp_path: Path) -> None:
    program = tmp_path / "espeak-ng"
    program.write_text("#!/bin/sh\nexec sleep 1000\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)

    async def main() -> None:
        await EspeakSpeaker(str(program), timeout_s=5).say("hello")

    with pytest.raises(TimeoutError):
        run_accelerated(main())  # virtual time: the 5 s pass at once; the kill is real

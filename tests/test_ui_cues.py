"""Spoken cues: said whole and in time, or not at all; alarms first, heard whole."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import stat
from typing import TYPE_CHECKING

import pytest
from speech_support import ESPEAK, TimedSpeaker, real_duration_s

from treadmill_ctl.session.clock import run_accelerated
from treadmill_ctl.session.events import Cue, CueKind, Utterance
from treadmill_ctl.session.speech import RateModel, spoken
from treadmill_ctl.ui.cues import (
    ALARM_GAP_S,
    MAX_WAIT_S,
    CuePlayer,
    EspeakSpeaker,
    SpeechUnavailable,
    audio_output_problem,
    render_duration_s,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path


class Bell:
    def __init__(self) -> None:
        self.rings = 0

    def __call__(self) -> None:
        self.rings += 1


TURN = Cue(CueKind.TURN_AROUND_COUNTDOWN, "Turn around soon, then walk backward.")
SPEED = Cue(CueKind.SPEED_FLOOR, "Speed up")
ALARM = Cue(CueKind.ALARM, "Pull the safety key now. The belt may not have stopped.", urgent=True)


async def play(
    player: CuePlayer,
    *cues: Cue,
    settle_s: float = 60.0,
    during: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the player, hand it the cues, let (virtual) time pass, then cancel it."""
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(player.run())
        for cue in cues:
            player.on_cue(cue)
        if during is not None:
            await during()
        await asyncio.sleep(settle_s)
        task.cancel()


class TestQueueing:
    def test_on_cue_is_a_plain_function_that_returns_without_a_running_loop(self) -> None:
        player = CuePlayer(TimedSpeaker())
        assert not inspect.iscoroutinefunction(player.on_cue)
        for _ in range(10):
            assert player.on_cue(TURN) is None  # type: ignore[func-returns-value]
        assert len(player.pending) == 2  # stale cues are dropped, not piled up

    def test_on_cue_returns_while_the_speaker_is_busy(self) -> None:
        async def main() -> tuple[float, list[str]]:
            speaker = TimedSpeaker(fixed_s=1000.0)
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
        assert started == [spoken(TURN.text)]

    def test_cues_are_said_in_order_and_whole(self) -> None:
        speaker = TimedSpeaker()
        player = CuePlayer(speaker)
        run_accelerated(play(player, TURN, SPEED))
        assert speaker.finished == [TURN.text, SPEED.text]
        assert [heard.whole for heard in player.heard] == [True, True]

    def test_an_ordinary_cue_waits_for_the_one_being_said_instead_of_cutting_it_off(
        self,
    ) -> None:
        speaker = TimedSpeaker()
        player = CuePlayer(speaker)
        run_accelerated(play(player, TURN, SPEED))
        first, second = player.heard
        assert second.start_s >= first.end_s
        assert speaker.silenced == []

    def test_an_ordinary_cue_that_waited_too_long_is_dropped_not_said_late(self) -> None:
        speaker = TimedSpeaker(fixed_s=MAX_WAIT_S + 1)
        player = CuePlayer(speaker)
        run_accelerated(play(player, TURN, SPEED))
        assert speaker.finished == [TURN.text]
        assert player.dropped == [SPEED.text]

    def test_when_cues_pile_up_the_oldest_ordinary_one_is_dropped(self) -> None:
        player = CuePlayer(TimedSpeaker(), max_pending=2)
        for text in ("one", "two", "three"):
            player.on_cue(Cue(CueKind.SEGMENT, text))
        assert [cue.text for cue in player.pending] == ["two", "three"]

    def test_units_are_spoken_as_words(self) -> None:
        speaker = TimedSpeaker()
        run_accelerated(play(CuePlayer(speaker), Cue(CueKind.SEGMENT, "Walk at 1.2 km/h, 2 % up.")))
        assert speaker.finished == ["Walk at 1.2 kilometres per hour, 2 percent up."]


class TestInTime:
    def test_a_variant_that_would_end_after_its_event_is_not_said_a_shorter_one_is(
        self,
    ) -> None:
        long = "In 3 seconds, turn around: the belt stops, then walk backward at 1.2 km/h."
        short = "Turn around soon."

        async def main() -> tuple[CuePlayer, float]:
            speaker = TimedSpeaker()
            player = CuePlayer(speaker)
            now = asyncio.get_running_loop().time()
            event_s = now + real_duration_s(short) + 0.5
            cue = Cue(
                CueKind.HEADS_UP,
                long,
                speech=(Utterance(spoken(long)), Utterance(short)),
                end_by_s=event_s,
            )
            await play(player, cue)
            return player, event_s

        player, event_s = run_accelerated(main())
        [heard] = player.heard
        assert heard.text == "Turn around soon."
        assert heard.whole
        assert heard.end_s <= event_s

    def test_a_cue_that_cannot_end_before_its_event_is_dropped(self) -> None:
        async def main() -> CuePlayer:
            player = CuePlayer(TimedSpeaker())
            now = asyncio.get_running_loop().time()
            await play(player, Cue(CueKind.HEADS_UP, "Turn around soon.", end_by_s=now + 0.2))
            return player

        player = run_accelerated(main())
        assert player.heard == []
        assert player.dropped == ["Turn around soon."]

    def test_a_countdown_word_is_said_on_its_second_or_not_at_all(self) -> None:
        """A word whose second has passed (the speaker was busy) is skipped."""
        seconds_at: dict[str, float] = {}

        async def main() -> CuePlayer:
            player = CuePlayer(TimedSpeaker())
            loop = asyncio.get_running_loop()

            async def countdown() -> None:
                for word in ("five", "four", "three", "two", "one"):
                    now = loop.time()
                    seconds_at[word] = now
                    player.on_cue(
                        Cue(
                            CueKind.TURN_AROUND_COUNTDOWN,
                            f"Turn round: {word}",
                            speech=(Utterance(word, start_by_s=now + 0.3),),
                            end_by_s=now + 1.2,
                        )
                    )
                    await asyncio.sleep(1.0)

            # a long sentence is being said when the countdown begins
            player.on_cue(Cue(CueKind.SEGMENT, "Slowing down: turn round to walk backward."))
            await play(player, during=countdown)
            return player

        player = run_accelerated(main())
        words = [h for h in player.heard if h.kind == "turn_around_countdown"]
        assert words, "the countdown was never heard"
        assert "five" not in [h.text for h in words]  # its second was taken
        for word in words:
            assert word.start_s - seconds_at[word.text] <= 0.3
        assert all(h.whole for h in player.heard)


class TestAlarms:
    def test_an_alarm_cuts_off_an_ordinary_cue_and_jumps_the_queue(self) -> None:
        async def main() -> tuple[TimedSpeaker, CuePlayer]:
            speaker = TimedSpeaker()
            player = CuePlayer(speaker)
            async with asyncio.TaskGroup() as tasks:
                task = tasks.create_task(player.run())
                player.on_cue(TURN)
                player.on_cue(SPEED)
                await asyncio.sleep(0.5)  # TURN is being said
                player.on_cue(ALARM)
                await asyncio.sleep(60)
                task.cancel()
            return speaker, player

        speaker, player = run_accelerated(main())
        assert speaker.silenced == [spoken(TURN.text)]
        assert speaker.finished == [ALARM.text]
        assert player.cut_off == [TURN.text]

    def test_a_repeated_alarm_never_cuts_off_the_one_before_and_comes_after_a_pause(
        self,
    ) -> None:
        """Repeated every 2 s while it takes 4 s to say: each is heard whole."""

        async def main() -> CuePlayer:
            player = CuePlayer(TimedSpeaker())

            async def repeat() -> None:
                for _ in range(6):
                    player.on_cue(ALARM)
                    await asyncio.sleep(2.0)

            await play(player, during=repeat)
            return player

        player = run_accelerated(main())
        alarms = [h for h in player.heard if h.urgent]
        assert len(alarms) >= 2
        assert all(h.whole for h in alarms)
        assert all(
            h.end_s - h.start_s == pytest.approx(real_duration_s(ALARM.text)) for h in alarms
        )
        for before, after in itertools.pairwise(alarms):
            assert after.start_s >= before.end_s + ALARM_GAP_S - 1e-9

    def test_an_alarm_is_never_dropped_for_an_ordinary_cue(self) -> None:
        player = CuePlayer(TimedSpeaker(), max_pending=1)
        player.on_cue(ALARM)
        player.on_cue(SPEED)
        assert player.pending == (ALARM,)


class TestWithoutSpeech:
    def test_without_a_speaker_each_cue_rings_the_bell(self) -> None:
        bell = Bell()
        run_accelerated(play(CuePlayer(None, bell=bell), TURN, SPEED))
        assert bell.rings == 2

    def test_quiet_neither_speaks_nor_rings_for_ordinary_cues(self) -> None:
        speaker, bell = TimedSpeaker(), Bell()
        run_accelerated(play(CuePlayer(speaker, bell=bell, quiet=True), TURN, SPEED))
        assert speaker.started == []
        assert bell.rings == 0

    def test_quiet_still_rings_the_bell_for_an_alarm(self) -> None:
        speaker, bell = TimedSpeaker(), Bell()
        run_accelerated(play(CuePlayer(speaker, bell=bell, quiet=True), TURN, ALARM))
        assert speaker.started == []
        assert bell.rings == 1

    def test_a_speaker_that_fails_falls_back_to_the_bell(self) -> None:
        class BrokenSpeaker(TimedSpeaker):
            async def say(self, text: str) -> None:
                raise OSError(f"cannot say {text}")

        bell = Bell()
        run_accelerated(play(CuePlayer(BrokenSpeaker(), bell=bell), TURN))
        assert bell.rings == 1

    def test_speech_that_reaches_no_audio_device_is_reported_once_and_the_bell_takes_over(
        self,
    ) -> None:
        class NoDevice(TimedSpeaker):
            async def say(self, text: str) -> None:
                del text
                raise SpeechUnavailable("ALSA lib pcm.c: Unknown PCM default")

        bell, problems = Bell(), list[str]()
        player = CuePlayer(NoDevice(), bell=bell, on_problem=problems.append)
        run_accelerated(play(player, TURN, SPEED))
        assert bell.rings == 2
        assert len(problems) == 1
        assert "speech is off" in problems[0]


class TestAudioDevice:
    def test_no_sound_card_and_no_sound_server_is_a_problem(self, tmp_path: Path) -> None:
        problem = audio_output_problem({}, sound_devices=tmp_path / "snd")
        assert problem is not None
        assert "no audio device" in problem

    def test_a_playback_device_is_enough(self, tmp_path: Path) -> None:
        (tmp_path / "snd").mkdir()
        (tmp_path / "snd" / "pcmC0D0p").touch()
        assert audio_output_problem({}, sound_devices=tmp_path / "snd") is None

    def test_a_capture_device_alone_is_not(self, tmp_path: Path) -> None:
        (tmp_path / "snd").mkdir()
        (tmp_path / "snd" / "pcmC0D0c").touch()
        assert audio_output_problem({}, sound_devices=tmp_path / "snd") is not None

    def test_a_pulseaudio_or_pipewire_server_is_enough(self, tmp_path: Path) -> None:
        (tmp_path / "pipewire-0").touch()
        environ = {"XDG_RUNTIME_DIR": str(tmp_path)}
        assert audio_output_problem(environ, sound_devices=tmp_path / "none") is None


class TestStopping:
    def test_cancelling_the_player_silences_the_current_cue(self) -> None:
        async def main() -> TimedSpeaker:
            speaker = TimedSpeaker(fixed_s=1000.0)
            player = CuePlayer(speaker)
            task = asyncio.create_task(player.run())
            player.on_cue(TURN)
            await asyncio.sleep(1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return speaker

        assert run_accelerated(main()).silenced == [spoken(TURN.text)]


needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")

CUE_SENTENCES = (
    "In 9 seconds, turn around: the belt stops, then walk backward at 1.2 km/h.",
    "Soon: turn around to walk backward.",
    "In 6 seconds, speed up to 3.5 km/h.",
    "In 5 seconds, the belt slows down and stops.",
    "Slowing down: turn round to walk forward.",
    "Press p to walk backward.",
    "Pull the safety key now. The belt may not have stopped.",
    "Stop the belt at the console or pull the safety key: the connection is lost.",
    "Stand on the side rails and clip the safety key to your clothes. Press Enter to begin.",
    "five",
    "three",
    "one",
)


@needs_espeak
@pytest.mark.parametrize("sentence", CUE_SENTENCES)
def test_the_rate_model_never_falls_short_of_espeak_and_is_not_far_off(sentence: str) -> None:
    said = spoken(sentence)
    real_s = real_duration_s(said)
    model_s = RateModel().duration_s(said)
    assert real_s <= model_s <= 1.6 * real_s + 0.2, (real_s, model_s)


@needs_espeak
def test_espeak_renders_a_sentence_to_its_real_length_without_playing_it() -> None:
    assert ESPEAK is not None
    short = render_duration_s(ESPEAK, "one")
    long = render_duration_s(ESPEAK, spoken(CUE_SENTENCES[0]))
    assert 0.3 < short < 1.5
    assert 5.0 < long < 12.0
    slower = render_duration_s(ESPEAK, spoken(CUE_SENTENCES[0]), words_per_minute=100)
    assert slower > long


@needs_espeak
def test_the_espeak_speaker_measures_before_saying_and_caches() -> None:
    assert ESPEAK is not None
    speaker = EspeakSpeaker(ESPEAK)

    async def main() -> tuple[float, float]:
        return await speaker.duration_s("one"), await speaker.duration_s("one")

    first, again = asyncio.run(main())
    assert first == again == pytest.approx(render_duration_s(ESPEAK, "one"))


def fake_espeak(tmp_path: Path, body: str) -> Path:
    """A stand-in ``espeak-ng`` program (the speaker is outside)."""
    program = tmp_path / "espeak-ng"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for espeak-ng")
def test_espeak_gets_the_text_on_standard_input(tmp_path: Path) -> None:
    heard = tmp_path / "heard.txt"
    program = fake_espeak(tmp_path, f'cat > "{heard}"')

    async def main() -> None:
        await EspeakSpeaker(str(program)).say("-v turn around")

    asyncio.run(main())
    assert heard.read_text() == "-v turn around"


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for espeak-ng")
def test_espeak_exiting_0_without_an_audio_device_is_speech_unavailable(tmp_path: Path) -> None:
    program = fake_espeak(
        tmp_path, "cat > /dev/null; echo 'ALSA lib pcm.c:2666: Unknown PCM default' >&2; exit 0"
    )

    async def main() -> None:
        await EspeakSpeaker(str(program)).say("turn around")

    with pytest.raises(SpeechUnavailable):
        asyncio.run(main())


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for espeak-ng")
def test_a_cue_that_takes_too_long_is_cut_off_and_its_process_reaped(tmp_path: Path) -> None:
    program = fake_espeak(tmp_path, "exec sleep 1000")

    async def main() -> None:
        await EspeakSpeaker(str(program), timeout_s=5).say("hello")

    with pytest.raises(TimeoutError):
        run_accelerated(main())  # virtual time: the 5 s pass at once; the kill is real


@needs_espeak
@pytest.mark.skipif(audio_output_problem() is None, reason="this machine has a sound device")
def test_the_real_espeak_without_a_sound_device_is_caught_though_it_exits_0() -> None:
    """Where there is no sound device, real espeak-ng says so only on standard error."""
    assert ESPEAK is not None

    async def main() -> None:
        await EspeakSpeaker(ESPEAK).say("one")

    with pytest.raises(SpeechUnavailable):
        asyncio.run(main())

"""Spoken cues for a person who faces away from the screen.

The runner publishes :class:`Cue` values; :class:`CuePlayer` says them through a
:class:`Speaker` (espeak-ng when it is installed and an audio device is there) or
rings the terminal bell when it cannot speak. Showing the cue's text is the
dashboard's and the plain observer's job, so it is shown even when nothing is heard.

The rule the player keeps (SAFETY.md): **a warning is heard whole and before the
event it warns of.** So:

- it asks the speaker how long a sentence lasts *before* saying it, and says no
  variant that would end after the cue's ``end_by_s`` or start after its
  ``start_by_s``: a shorter variant, or nothing, rather than a warning said late;
- an alarm (an urgent cue) cuts off an ordinary cue being said, never another alarm:
  a repeat waits until the alarm before it has been heard whole, then a pause;
- an ordinary cue is never cut off by another ordinary one; it waits, or is dropped
  when it has waited too long (:data:`MAX_WAIT_S`).

A cue never delays a command: :meth:`CuePlayer.on_cue` only queues the cue and
returns; a background task (:meth:`CuePlayer.run`, owned by whoever starts the
session's tasks) does the talking.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, Self, TextIO

import structlog

from treadmill_ctl.session.clock import LoopClock
from treadmill_ctl.session.events import Utterance
from treadmill_ctl.session.speech import WORDS_PER_MINUTE, RateModel, spoken

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.session.events import Cue, CueKind, SessionEvent, SessionSnapshot

_log = structlog.get_logger(__name__)

#: Cues waiting to be said, at most; older non-urgent ones are dropped first.
DEFAULT_MAX_PENDING: Final = 2

MAX_WAIT_S: Final = 3.0
"""An ordinary cue not begun this long after it was given is dropped, not said late."""

ALARM_GAP_S: Final = 1.5
"""The pause between an alarm heard whole and its repeat."""


class Speaker(Protocol):
    """Something that can say a sentence out loud, and knows how long it takes."""

    async def duration_s(self, text: str) -> float:
        """How long :meth:`say` takes for ``text``, found without saying it."""
        ...

    async def say(self, text: str) -> None:
        """Say ``text``; return when done. Cancelling it must silence it at once.

        Raises:
            OSError: it could not be said (no program, no audio device).
        """
        ...


class SpeechUnavailable(OSError):
    """espeak-ng ran but could not reach an audio device (it exits 0 all the same)."""


def wav_duration_s(path: Path) -> float:
    """The playing time of a wav file, from its header (frames / rate)."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def _render_command(program: str, words_per_minute: int, path: Path) -> list[str]:
    return [program, "-s", str(words_per_minute), "-w", str(path), "--stdin"]


def render_duration_s(
    program: str, text: str, *, words_per_minute: int = WORDS_PER_MINUTE
) -> float:
    """How long espeak-ng takes to say ``text``: rendered to a wav, never played.

    Blocking (a process, tens of milliseconds): for tests and tools, not the loop.

    Raises:
        OSError: the program could not be run or wrote no readable wav.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cue.wav"
        subprocess.run(  # noqa: S603 - our own argument list, the text on stdin
            _render_command(program, words_per_minute, path),
            input=text.encode(),
            check=True,
            capture_output=True,
            timeout=20,
        )
        try:
            return wav_duration_s(path)
        except (wave.Error, EOFError) as error:
            raise OSError(f"espeak-ng wrote no readable wav: {error}") from None


# What espeak-ng writes when it could not play at all, with exit status 0 all the same
# (no sound card: "Unknown PCM default", "error: No such file or directory"; no sound
# server: "Connection refused"). Other ALSA chatter does not mean silence.
_AUDIO_ERRORS: Final = ("Unknown PCM", "error:", "cannot find card", "Connection refused")


class EspeakSpeaker:
    """Speaks through the ``espeak-ng`` program, one process per cue.

    The text goes in on standard input (never as an argument, so a cue cannot be
    taken for an option). Cancelling :meth:`say` kills the process, which is how an
    alarm cuts off an ordinary cue. :meth:`duration_s` renders the sentence to a
    wav file without playing it and reads its length from the header, once per
    sentence (cached); if that fails, the :class:`RateModel` answers.

    Args:
        program: the path of ``espeak-ng`` (see :func:`find_espeak`).
        words_per_minute: speaking rate; a little slower than espeak's default.
        timeout_s: the longest one cue may take before it is cut off.
    """

    def __init__(
        self,
        program: str,
        *,
        words_per_minute: int = WORDS_PER_MINUTE,
        timeout_s: float = 20.0,
    ) -> None:
        self.program = program
        self._words_per_minute = words_per_minute
        self._timeout_s = timeout_s
        self._model = RateModel(words_per_minute)
        self._durations: dict[str, float] = {}

    async def duration_s(self, text: str) -> float:
        """The sentence's length as espeak-ng renders it (cached per sentence)."""
        known = self._durations.get(text)
        if known is not None:
            return known
        try:
            duration_s = await self._render(text)
        except (OSError, wave.Error, EOFError, TimeoutError) as error:
            _log.warning("speech.measure_failed", text=text, error=repr(error))
            return self._model.duration_s(text)
        self._durations[text] = duration_s
        return duration_s

    async def _render(self, text: str) -> float:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "cue.wav"
            process = await asyncio.create_subprocess_exec(
                *_render_command(self.program, self._words_per_minute, path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                async with asyncio.timeout(self._timeout_s):
                    await process.communicate(text.encode())
            finally:
                await _reap(process)
            return wav_duration_s(path)

    async def say(self, text: str) -> None:
        """Say ``text``. On cancellation or timeout the process is killed and reaped.

        Raises:
            OSError: the program could not be started.
            SpeechUnavailable: it ran but reached no audio device.
        """
        process = await asyncio.create_subprocess_exec(
            self.program,
            "-s",
            str(self._words_per_minute),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                _, errors = await process.communicate(text.encode())
        finally:
            await _reap(process)
        complaint = errors.decode(errors="replace").strip()
        if any(sign in complaint for sign in _AUDIO_ERRORS):
            raise SpeechUnavailable(complaint.splitlines()[-1])


async def _reap(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        # reaping a killed process is immediate; shield it from a second cancel
        await asyncio.shield(process.wait())


def find_espeak() -> str | None:
    """The path of ``espeak-ng`` (or the older ``espeak``), or ``None`` if neither is installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def audio_output_problem(
    environ: Mapping[str, str] | None = None, sound_devices: Path = Path("/dev/snd")
) -> str | None:
    """Why speech would not be heard here, or ``None`` when an audio output is there.

    espeak-ng exits 0 when it cannot play, so this looks for what it would play
    through: a PulseAudio or PipeWire server, or an ALSA playback device.
    """
    env = os.environ if environ is None else environ
    if env.get("PULSE_SERVER") or env.get("PIPEWIRE_REMOTE"):
        return None
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and any((Path(runtime) / name).exists() for name in ("pulse/native", "pipewire-0")):
        return None
    with contextlib.suppress(OSError):
        if any(sound_devices.glob("pcmC*D*p")):
            return None
    return f"no audio device (no sound card in {sound_devices}, no PulseAudio or PipeWire)"


def terminal_bell(stream: TextIO | None = None) -> Callable[[], None]:
    """A bell that writes BEL to ``stream`` (standard output by default)."""

    def ring() -> None:
        out = stream if stream is not None else sys.stdout
        with contextlib.suppress(OSError, ValueError):
            out.write("\a")
            out.flush()

    return ring


@dataclass(frozen=True, slots=True)
class Heard:
    """One saying, as the person heard it (for the record and for tests).

    Attributes:
        kind: the cue's kind.
        text: what was said.
        start_s: when saying began (session clock).
        end_s: when it ended or was cut off.
        whole: said to its end (not cut off).
        urgent: an alarm.
    """

    kind: CueKind
    text: str
    start_s: float
    end_s: float
    whole: bool
    urgent: bool


@dataclass(frozen=True, slots=True)
class _Waiting:
    cue: Cue
    given_s: float | None


class CuePlayer:
    """A session observer that says cues out loud, never holding up the caller.

    What happens to each cue:

    ============================  ===============================================
    speaker, not quiet            said (the first variant that starts and ends
                                  in time), or dropped; an alarm cuts off an
                                  ordinary cue, never another alarm
    no speaker, not quiet         the bell rings
    quiet                         nothing is heard, except that urgent cues
                                  (stop, alarm) still ring the bell: SAFETY.md
                                  asks for a loud alarm when a stop fails
    ============================  ===============================================

    Start :meth:`run` as a task in the session's task group and cancel it at the
    end; until it runs, cues wait in the queue.

    Args:
        speaker: how to speak, or ``None`` when there is no speech.
        bell: how to ring the bell (e.g. :func:`terminal_bell` or a rich
            ``Console.bell``), or ``None`` for silence.
        quiet: ``--quiet``: no speech, no bell for ordinary cues.
        max_pending: at most this many cues wait; older ordinary ones are dropped.
        clock: the session clock the cues' times are on.
        on_problem: told once, in one line, when speech turns out not to work
            (then the bell stands in for it).
    """

    def __init__(
        self,
        speaker: Speaker | None,
        *,
        bell: Callable[[], None] | None = None,
        quiet: bool = False,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Clock | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self._speaker = speaker
        self._bell = bell
        self._quiet = quiet
        self._max_pending = max(1, max_pending)
        self._clock: Clock = clock if clock is not None else LoopClock()
        self._on_problem = on_problem
        self._pending: deque[_Waiting] = deque()
        self._wakeup = asyncio.Event()
        self._utterance: asyncio.Task[None] | None = None
        self._saying: Cue | None = None
        self._alarm_heard_s: float | None = None
        self.said: list[str] = []
        """Texts said or belled so far, in order (for the record and for tests)."""
        self.cut_off: list[str] = []
        """Texts cut off by an alarm before they were finished."""
        self.dropped: list[str] = []
        """Cues not said: no variant could start and end in time."""
        self.heard: list[Heard] = []
        """Every saying with its times, in order."""

    @classmethod
    def for_terminal(
        cls,
        *,
        quiet: bool,
        bell: Callable[[], None] | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> Self:
        """A player that speaks through espeak-ng if it can be heard, else rings ``bell``.

        Pass the bell of the terminal the person hears (a rich ``Console.bell``, or
        :func:`terminal_bell`); ``None`` when there is none (output to a log).
        ``on_problem`` hears why there is no speech, when espeak-ng is installed
        but there is no audio device to hear it through.
        """
        program = None if quiet else find_espeak()
        if program is not None:
            problem = audio_output_problem()
            if problem is not None:
                if on_problem is not None:
                    on_problem(f"speech is off: {problem}; cues ring the bell instead")
                program = None
        return cls(
            EspeakSpeaker(program) if program else None,
            bell=bell,
            quiet=quiet,
            on_problem=on_problem,
        )

    @property
    def pending(self) -> tuple[Cue, ...]:
        """The cues waiting to be said, next first."""
        return tuple(waiting.cue for waiting in self._pending)

    def on_cue(self, cue: Cue) -> None:
        """Queue a cue and return at once; an alarm cuts off an ordinary cue being said."""
        waiting = _Waiting(cue, self._now())
        if cue.urgent:
            if any(w.cue.urgent and w.cue.text == cue.text for w in self._pending):
                return  # the same alarm is already waiting: one repeat is enough
            kept = [w for w in self._pending if w.cue.urgent]
            self._pending.clear()
            self._pending.extend(kept)
            saying = self._saying
            if (
                saying is not None
                and not saying.urgent
                and self._utterance is not None
                and not self._utterance.done()
            ):
                self._utterance.cancel()
        elif len(self._pending) >= self._max_pending:
            ordinary = next((w for w in self._pending if not w.cue.urgent), None)
            if ordinary is None:
                return  # only urgent cues wait: they matter more than this one
            self._pending.remove(ordinary)
            self.dropped.append(ordinary.cue.text)
            _log.debug("cue.dropped", kind=ordinary.cue.kind, text=ordinary.cue.text)
        self._pending.append(waiting)
        self._wakeup.set()

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Snapshots are not spoken."""

    def on_event(self, event: SessionEvent) -> None:
        """Events are not spoken; the runner turns what matters into cues."""

    async def run(self) -> None:
        """Say queued cues one after another, until cancelled.

        On cancellation the current utterance is cut off (its process killed) before
        the cancellation propagates.
        """
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                waiting = self._pending.popleft()
                try:
                    await self._deliver(waiting)
                except OSError as error:  # a terminal gone (hang-up) must not end the session
                    _log.warning("cue.failed", text=waiting.cue.text, error=repr(error))

    def _now(self) -> float | None:
        try:
            return self._clock.now_s()
        except RuntimeError:  # no running loop yet: the cue waits for run()
            return None

    async def _deliver(self, waiting: _Waiting) -> None:
        cue = waiting.cue
        speaker = None if self._quiet else self._speaker
        if speaker is None:
            if self._bell is not None and (cue.urgent or not self._quiet):
                self._bell()
                self.said.append(cue.text)
            return
        if cue.urgent and self._alarm_heard_s is not None:
            # a repeat comes after a pause, never on top of the alarm before it
            await self._clock.sleep(self._alarm_heard_s + ALARM_GAP_S - self._clock.now_s())
        text = await self._choose(speaker, waiting)
        if text is None:
            self.dropped.append(cue.text)
            _log.info("cue.not_said", kind=cue.kind, text=cue.text, reason="too late")
            return
        await self._say(speaker, cue, text)

    async def _choose(self, speaker: Speaker, waiting: _Waiting) -> str | None:
        """The first variant that can start and end in time, or ``None``."""
        cue = waiting.cue
        options = cue.speech or (Utterance(spoken(cue.text)),)
        for option in options:
            start_by_s = option.start_by_s
            if start_by_s is None and not cue.urgent and waiting.given_s is not None:
                start_by_s = waiting.given_s + MAX_WAIT_S
            if start_by_s is not None and self._clock.now_s() > start_by_s:
                continue
            duration_s = await speaker.duration_s(option.text)
            now = self._clock.now_s()
            if start_by_s is not None and now > start_by_s:
                continue
            if cue.end_by_s is not None and now + duration_s > cue.end_by_s:
                continue
            return option.text
        return None

    async def _say(self, speaker: Speaker, cue: Cue, text: str) -> None:
        start_s = self._clock.now_s()
        utterance = asyncio.create_task(speaker.say(text), name=f"cue.say:{cue.kind}")
        self._utterance, self._saying = utterance, cue
        try:
            await asyncio.wait({utterance})
        finally:
            # leaving early means this task was cancelled: silence the speaker first
            if not utterance.done():
                utterance.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await utterance
            self._utterance, self._saying = None, None
        end_s = self._clock.now_s()
        whole = not utterance.cancelled() and utterance.exception() is None
        self.heard.append(Heard(cue.kind, text, start_s, end_s, whole, cue.urgent))
        if utterance.cancelled():
            self.cut_off.append(cue.text)
        elif (error := utterance.exception()) is not None:
            self._speech_failed(cue, error)
        else:
            self.said.append(cue.text)
            if cue.urgent:
                self._alarm_heard_s = end_s

    def _speech_failed(self, cue: Cue, error: BaseException) -> None:
        _log.warning("cue.speech_failed", text=cue.text, error=repr(error))
        if isinstance(error, SpeechUnavailable):
            # nothing will be heard: from now on the bell stands in for speech
            self._speaker = None
            if self._on_problem is not None:
                self._on_problem(f"speech is off: {error}; cues ring the bell instead")
        if self._bell is not None:
            self._bell()

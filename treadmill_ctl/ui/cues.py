"""Spoken cues for a person who faces away from the screen.

The runner publishes :class:`Cue` values ("Turn around. Backward in 3, 2, 1", "Speed
up", "Stop"); :class:`CuePlayer` says them through a :class:`Speaker` (espeak-ng
when it is installed) or rings the terminal bell when it cannot speak. Showing the
cue's text is the dashboard's and the plain observer's job, so it is shown even when
nothing is heard.

A cue never delays a command: :meth:`CuePlayer.on_cue` only puts the cue in a small
queue and returns; a background task (:meth:`CuePlayer.run`, owned by whoever starts
the session's tasks) does the talking. An urgent cue (a stop, an alarm) cuts off
whatever is being said and jumps the queue. Stale cues are dropped rather than said
late: "Backward in 3, 2, 1" said ten seconds late is worse than not said.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
from collections import deque
from typing import TYPE_CHECKING, Final, Protocol, Self, TextIO

import structlog

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.session.events import Cue, SessionEvent, SessionSnapshot

_log = structlog.get_logger(__name__)

#: Cues waiting to be said, at most; older non-urgent ones are dropped first.
DEFAULT_MAX_PENDING: Final = 2


class Speaker(Protocol):
    """Something that can say a sentence out loud."""

    async def say(self, text: str) -> None:
        """Say ``text``; return when done. Cancelling it must silence it at once."""
        ...


class EspeakSpeaker:
    """Speaks through the ``espeak-ng`` program, one process per cue.

    The text goes in on standard input (never as an argument, so a cue cannot be
    taken for an option). Cancelling :meth:`say` kills the process, which is how an
    urgent cue cuts off the one being said.

    Args:
        program: the path of ``espeak-ng`` (see :func:`find_espeak`).
        words_per_minute: speaking rate; a little slower than espeak's default.
        timeout_s: the longest one cue may take before it is cut off.
    """

    def __init__(
        self, program: str, *, words_per_minute: int = 150, timeout_s: float = 20.0
    ) -> None:
        self.program = program
        self._words_per_minute = words_per_minute
        self._timeout_s = timeout_s

    async def say(self, text: str) -> None:
        """Say ``text``. On cancellation or timeout the process is killed and reaped.

        Raises:
            OSError: the program could not be started.
        """
        process = await asyncio.create_subprocess_exec(
            self.program,
            "-s",
            str(self._words_per_minute),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            async with asyncio.timeout(self._timeout_s):
                await process.communicate(text.encode())
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                # reaping a killed process is immediate; shield it from a second cancel
                await asyncio.shield(process.wait())


def find_espeak() -> str | None:
    """The path of ``espeak-ng`` (or the older ``espeak``), or ``None`` if neither is installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def terminal_bell(stream: TextIO | None = None) -> Callable[[], None]:
    """A bell that writes BEL to ``stream`` (standard output by default)."""

    def ring() -> None:
        out = stream if stream is not None else sys.stdout
        with contextlib.suppress(OSError, ValueError):
            out.write("\a")
            out.flush()

    return ring


class CuePlayer:
    """A session observer that says cues out loud, never holding up the caller.

    What happens to each cue:

    ============================  ===============================================
    speaker, not quiet            said; an urgent cue cuts off the current one
    no speaker, not quiet         the bell rings
    quiet                         nothing is heard, except that urgent cues
                                  (stop, alarm) still ring the bell: SAFETY.md
                                  asks for a loud alarm when a stop fails
    ============================  ===============================================

    Start :meth:`run` as a task in the session's task group and cancel it at the
    end; until it runs, cues wait in the queue.

    Args:
        speaker: how to speak, or ``None`` when there is no speech (no espeak-ng).
        bell: how to ring the bell (e.g. :func:`terminal_bell` or a rich
            ``Console.bell``), or ``None`` for silence.
        quiet: ``--quiet``: no speech, no bell for ordinary cues.
        max_pending: at most this many cues wait; older ordinary ones are dropped.
    """

    def __init__(
        self,
        speaker: Speaker | None,
        *,
        bell: Callable[[], None] | None = None,
        quiet: bool = False,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._speaker = speaker
        self._bell = bell
        self._quiet = quiet
        self._max_pending = max(1, max_pending)
        self._pending: deque[Cue] = deque()
        self._wakeup = asyncio.Event()
        self._utterance: asyncio.Task[None] | None = None
        self.said: list[str] = []
        """Texts said or belled so far, in order (for the record and for tests)."""
        self.cut_off: list[str] = []
        """Texts cut off by an urgent cue before they were finished."""

    @classmethod
    def for_terminal(cls, *, quiet: bool, bell: Callable[[], None] | None = None) -> Self:
        """A player that speaks through espeak-ng if it is installed, else rings ``bell``.

        Pass the bell of the terminal the person hears (a rich ``Console.bell``, or
        :func:`terminal_bell`); ``None`` when there is none (output to a log).
        """
        program = None if quiet else find_espeak()
        return cls(EspeakSpeaker(program) if program else None, bell=bell, quiet=quiet)

    @property
    def pending(self) -> tuple[Cue, ...]:
        """The cues waiting to be said, next first."""
        return tuple(self._pending)

    def on_cue(self, cue: Cue) -> None:
        """Queue a cue and return at once; an urgent cue cuts off the current one."""
        if cue.urgent:
            kept = [waiting for waiting in self._pending if waiting.urgent]
            self._pending.clear()
            self._pending.extend(kept)
            if self._utterance is not None and not self._utterance.done():
                self._utterance.cancel()
        elif len(self._pending) >= self._max_pending:
            ordinary = next((waiting for waiting in self._pending if not waiting.urgent), None)
            if ordinary is None:
                return  # only urgent cues wait: they matter more than this one
            self._pending.remove(ordinary)
            _log.debug("cue.dropped", kind=ordinary.kind, text=ordinary.text)
        self._pending.append(cue)
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
                cue = self._pending.popleft()
                try:
                    await self._deliver(cue)
                except OSError as error:  # a terminal gone (hang-up) must not end the session
                    _log.warning("cue.failed", text=cue.text, error=repr(error))

    async def _deliver(self, cue: Cue) -> None:
        speaker = None if self._quiet else self._speaker
        if speaker is None:
            if self._bell is not None and (cue.urgent or not self._quiet):
                self._bell()
                self.said.append(cue.text)
            return
        utterance = asyncio.create_task(speaker.say(cue.text), name=f"cue.say:{cue.kind}")
        self._utterance = utterance
        try:
            await asyncio.wait({utterance})
        finally:
            # leaving early means this task was cancelled: silence the speaker first
            if not utterance.done():
                utterance.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await utterance
            self._utterance = None
        if utterance.cancelled():
            self.cut_off.append(cue.text)
        elif (error := utterance.exception()) is not None:
            _log.warning("cue.speech_failed", text=cue.text, error=repr(error))
            if self._bell is not None:
                self._bell()
        else:
            self.said.append(cue.text)

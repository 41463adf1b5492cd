"""A speaker for tests that takes as long as espeak-ng really needs for each sentence.

Where espeak-ng is installed, each sentence is rendered to a wav (never played) and
its length read from the header; elsewhere the rate model answers (a test checks
the model against espeak-ng where both are there). Saying a sentence then takes
that long on the loop's clock, virtual in tests.
"""

from __future__ import annotations

import asyncio
import functools

from treadmill_ctl.session.speech import RateModel
from treadmill_ctl.ui.cues import find_espeak, render_duration_s

ESPEAK = find_espeak()


@functools.cache
def real_duration_s(text: str) -> float:
    """How long espeak-ng takes for ``text`` (rendered), else the rate model's answer."""
    if ESPEAK is None:
        return RateModel().duration_s(text)
    return render_duration_s(ESPEAK, text)


class TimedSpeaker:
    """A speaker whose sentences take their real length; it records what it did."""

    def __init__(self, *, fixed_s: float | None = None) -> None:
        self.fixed_s = fixed_s
        self.started: list[str] = []
        self.finished: list[str] = []
        self.silenced: list[str] = []

    def length_s(self, text: str) -> float:
        return self.fixed_s if self.fixed_s is not None else real_duration_s(text)

    async def duration_s(self, text: str) -> float:
        return self.length_s(text)

    async def say(self, text: str) -> None:
        self.started.append(text)
        try:
            await asyncio.sleep(self.length_s(text))
        except asyncio.CancelledError:
            self.silenced.append(text)
            raise
        self.finished.append(text)

"""The governor's cues as the person hears them.

The governor says what to tell the person (:class:`treadmill_ctl.safety.Cue`); here
it is worded for a person walking backwards who cannot see the screen: a countdown is
one word per second, said on its second or not at all; the key to press is named (no
"press" at all where no key is read); the turn-around's first words are short, so
that the countdown is not taken by them. Pure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from treadmill_ctl.safety.states import CueKind
from treadmill_ctl.session.events import Cue, Utterance
from treadmill_ctl.session.speech import (
    COUNTDOWN_END_S,
    COUNTDOWN_START_S,
    SpokenKeys,
    countdown_word,
    name_keys,
)

if TYPE_CHECKING:
    from treadmill_ctl.safety import SafetyGovernor

__all__ = ["governor_cue"]


def governor_cue(cue: Cue, governor: SafetyGovernor, keys: SpokenKeys | None, now_s: float) -> Cue:
    """``cue`` as said at ``now_s`` (``keys``: the keys the person can press, if read)."""
    if cue.seconds_left is not None:
        word = Utterance(countdown_word(cue.seconds_left), start_by_s=now_s + COUNTDOWN_START_S)
        return replace(cue, speech=(word,), end_by_s=now_s + COUNTDOWN_END_S)
    text = cue.text
    if cue.kind is CueKind.PRESS_RESUME:
        text = name_keys(f"Press resume to walk {governor.direction}.", keys)
        text = text or f"Turned round: the belt waits to walk {governor.direction}."
    elif cue.kind is CueKind.TURN_AROUND_SLOWING and governor.pending_direction is not None:
        text = f"Slowing down: turn round to walk {governor.pending_direction}."
        return replace(cue, text=text, speech=(Utterance("Slowing down to turn round."),))
    else:
        text = name_keys(text, keys) or text
    return replace(cue, text=text)

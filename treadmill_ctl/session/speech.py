"""What the person hears, worded to be heard and planned against the time it takes.

The person walks backwards, facing away from the screen: what they hear is the
interface. The rule this module serves (SAFETY.md): **a warning is heard whole and
before the event it warns of.** A heads-up said while the belt already slows is worse
than none, and an instruction at the end of a sentence that is cut off is never heard.
So:

- every sentence has a length in seconds known before it is said
  (:class:`RateModel` here; the cue player measures espeak-ng's own rendering);
- a heads-up is planned to end before its event (:func:`plan_heads_up`): it says "in
  N seconds" only when it starts N seconds before the event, and has shorter variants
  for when the time is short; the cue player says none that would end late;
- a countdown is one short word per second (:func:`countdown_word`);
- units are spoken as words (:func:`spoken`), and what is said names the key the
  person can press where they are (:func:`name_keys`), or no key when none reads.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from treadmill_ctl.profiles import PlannedSegment

WORDS_PER_MINUTE: Final = 150
"""The speaking rate: a little slower than espeak-ng's default of 175."""

HEADS_UP_MARGIN_S: Final = 0.5
"""A heads-up ends at least this long before its event (speech start-up, a late tick)."""

HEADS_UP_MAX_LEAD_S: Final = 12.0
"""A heads-up starts at most this long before its event: earlier is forgotten."""

COUNTDOWN_START_S: Final = 0.3
"""A countdown word starts within this of its second, or is not said."""

COUNTDOWN_END_S: Final = 1.2
"""A countdown word ends within this of its second (the next one is due at 1 s)."""


class SpeechTiming(Protocol):
    """How long a sentence takes to say, known before it is said."""

    def duration_s(self, text: str) -> float:
        """Seconds from the start of saying ``text`` to its end."""
        ...


_UNITS: Final = (
    (re.compile(r"\bkm/h\b"), "kilometres per hour"),
    (re.compile(r"\bmph\b"), "miles per hour"),
    (re.compile(r"\bbpm\b"), "beats per minute"),
    (re.compile(r"(\d)\s*%"), r"\1 percent"),
    (re.compile(r"(\d)\s*s\b"), r"\1 seconds"),
    (re.compile(r"(\d)\s*m\b"), r"\1 metres"),
)


def spoken(text: str) -> str:
    """``text`` with its units as words: "1.2 km/h" is "1.2 kilometres per hour".

    espeak-ng reads "km/h" as "K M slash H", which nobody understands on a belt.
    """
    for pattern, words in _UNITS:
        text = pattern.sub(words, text)
    return text


_NUMBER_WORDS: Final = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
)


def countdown_word(seconds: int) -> str:
    """The one word said for a countdown's second: ``3`` is "three"."""
    if 0 <= seconds < len(_NUMBER_WORDS):
        return _NUMBER_WORDS[seconds]
    return str(seconds)


@dataclass(frozen=True, slots=True)
class SpokenKeys:
    """The keys the person can press where they are, as said out loud.

    Attributes:
        start: the label of the start key ("Enter"), or ``None`` when none is bound.
        resume: the label of the pause/resume key ("p"), or ``None``.
    """

    start: str | None = None
    resume: str | None = None


_PRESS: Final = re.compile(r"(?i)\bpress (resume|start)\b")
_PRESS_SENTENCE: Final = re.compile(r"\s*(?i:press (?:resume|start))\b[^.]*\.")


def name_keys(text: str, keys: SpokenKeys | None) -> str:
    """Name the real key in "press resume"/"press start", or drop the sentence.

    With no terminal reading keys (``keys`` is ``None``) there is nothing to press:
    "Paused. Press resume to continue." becomes "Paused." A key that is not bound
    drops its sentence too.
    """

    def label(match: re.Match[str]) -> str:
        assert keys is not None  # noqa: S101 - only called when keys are known
        key = keys.resume if match.group(1).lower() == "resume" else keys.start
        return f"{match.group(0)[0]}ress {key}"

    if keys is not None:
        needed = {m.group(1).lower() for m in _PRESS.finditer(text)}
        if all((keys.resume if n == "resume" else keys.start) for n in needed):
            return _PRESS.sub(label, text)
    kept = _PRESS_SENTENCE.sub("", text).strip()
    # "Turned round: press resume to..." leaves "Turned round:"; end it as a sentence
    return re.sub(r"[:;,]$", ".", kept)


_WORD: Final = re.compile(r"[A-Za-z]+|\d+")
_VOWELS: Final = re.compile(r"[aeiouy]+")
_PAUSES: Final = re.compile(r"[.,;:!?]")


def _syllables(word: str) -> int:
    if word.isdigit():
        return sum(_syllables(w) for w in _digits_words(word))
    word = word.lower()
    if len(word) <= 2:  # noqa: PLR2004 - "p", "km": a letter or two is one syllable each
        return max(1, len(word)) if not _VOWELS.search(word) else 1
    count = len(_VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(1, count)


def _digits_words(number: str) -> list[str]:
    value = int(number)
    if value < len(_NUMBER_WORDS):
        return [_NUMBER_WORDS[value]]
    return [_NUMBER_WORDS[int(digit)] for digit in number]


@dataclass(frozen=True, slots=True)
class RateModel:
    """How long espeak-ng takes for a sentence, from its syllables and pauses.

    A model for when espeak-ng is not there to ask (and for planning, which must
    not wait for a process): a fixed start, a time per word and per syllable at the
    rate, and a pause per punctuation mark. Fitted to espeak-ng 1.51 at 150 words
    per minute so as never to fall short on the cues' sentences (it says up to
    half as long again), and checked against espeak-ng by a test where it is
    installed: a plan made with it leaves room rather than runs late.
    """

    words_per_minute: int = WORDS_PER_MINUTE

    def duration_s(self, text: str) -> float:
        """Seconds espeak-ng needs to say ``text`` (a little more, rather than less)."""
        text = spoken(text).replace(".", " point ").replace("/", " ")
        text = re.sub(r" point (\s|$)", r".\1", text)  # a full stop is not "point"
        words = _WORD.findall(text)
        syllables = sum(_syllables(word) for word in words)
        pauses = len(_PAUSES.findall(text))
        scale = WORDS_PER_MINUTE / self.words_per_minute
        return 0.6 + scale * (0.18 * len(words) + 0.16 * syllables + 0.15 * pauses)


@dataclass(frozen=True, slots=True)
class HeadsUp:
    """What to say before a segment change, and how long before it.

    Attributes:
        lead_s: start saying :attr:`timed` this long before the change (whole seconds,
            the number it says).
        text: what the screen shows.
        timed: the sentence that says "in N seconds"; only right when started on time.
        shorter: variants without a time, shortest last, for when the timed one
            cannot start on time or cannot end before the change.
    """

    lead_s: float
    text: str
    timed: str
    shorter: tuple[str, ...]


def _kmh(speed_kmh: float) -> str:
    return f"{speed_kmh:g} km/h"


def _heads_up_sentences(
    segment: PlannedSegment, following: PlannedSegment | None
) -> tuple[str, tuple[str, ...]]:
    """A template with ``{n}`` for the seconds, and the shorter variants."""
    if following is None:
        return "In {n} seconds, the belt slows down and stops.", ("Nearly done.",)
    if following.direction != segment.direction:
        walk = f"walk {following.direction} at {_kmh(following.speed_kmh)}"
        return (
            f"In {{n}} seconds, turn around: the belt stops, then {walk}.",
            (f"Soon: turn around to walk {following.direction}.", "Turn around soon."),
        )
    if following.speed_kmh > segment.speed_kmh:
        return (
            f"In {{n}} seconds, speed up to {_kmh(following.speed_kmh)}.",
            ("Speeding up soon.",),
        )
    if following.speed_kmh < segment.speed_kmh:
        return (
            f"In {{n}} seconds, slow down to {_kmh(following.speed_kmh)}.",
            ("Slowing down soon.",),
        )
    return "In {n} seconds, next segment, same speed.", ("Next segment soon.",)


def plan_heads_up(
    segment: PlannedSegment,
    following: PlannedSegment | None,
    timing: SpeechTiming,
    *,
    max_lead_s: float = HEADS_UP_MAX_LEAD_S,
) -> HeadsUp | None:
    """The heads-up for the end of ``segment``, planned to end before it.

    The timed sentence starts ``n`` whole seconds before the change and says so;
    ``n`` is the smallest that leaves the sentence :data:`HEADS_UP_MARGIN_S` to
    spare. When even that would start more than ``max_lead_s`` early (a short
    segment), a shorter variant is planned instead; when none fits, there is none.
    """
    template, shorter = _heads_up_sentences(segment, following)
    for n in range(2, math.floor(max_lead_s) + 1):
        timed = template.format(n=n)
        if timing.duration_s(spoken(timed)) + HEADS_UP_MARGIN_S <= n:
            return HeadsUp(float(n), timed, spoken(timed), shorter)
    for variant in shorter:
        lead_s = math.ceil(timing.duration_s(variant) + HEADS_UP_MARGIN_S)
        if lead_s <= max_lead_s:
            index = shorter.index(variant)
            return HeadsUp(float(lead_s), variant, "", shorter[index:])
    return None

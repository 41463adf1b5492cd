"""The big word at the top of the dashboard: FORWARD, BACKWARD, TURN, STOP.

The person may glance at it over a shoulder while walking backwards, so it is one
huge word in a full-width coloured band (:class:`Banner`), drawn in a 5-row block
alphabet when the terminal is wide enough, with one line under it.
:func:`banner_for` picks the word for a snapshot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from rich.align import Align
from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text

from treadmill_ctl.session.events import SessionPhase
from treadmill_ctl.ui.keys import DEFAULT_BINDINGS, Bindings, HotkeyAction, key_label

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import ConsoleOptions, RenderableType, RenderResult

    from treadmill_ctl.session.events import SessionSnapshot

# --- the big word ---------------------------------------------------------------------

# A 5-row block alphabet, drawn for this dashboard: readable from a few metres away.
_GLYPHS: Final[dict[str, tuple[str, ...]]] = {
    "A": (" ███ ", "█   █", "█████", "█   █", "█   █"),
    "B": ("████ ", "█   █", "████ ", "█   █", "████ "),
    "C": (" ████", "█    ", "█    ", "█    ", " ████"),
    "D": ("████ ", "█   █", "█   █", "█   █", "████ "),
    "E": ("█████", "█    ", "████ ", "█    ", "█████"),
    "F": ("█████", "█    ", "████ ", "█    ", "█    "),
    "G": (" ████", "█    ", "█  ██", "█   █", " ████"),
    "H": ("█   █", "█   █", "█████", "█   █", "█   █"),
    "I": ("█████", "  █  ", "  █  ", "  █  ", "█████"),
    "J": ("  ███", "    █", "    █", "█   █", " ███ "),
    "K": ("█   █", "█  █ ", "███  ", "█  █ ", "█   █"),
    "L": ("█    ", "█    ", "█    ", "█    ", "█████"),
    "M": ("█   █", "██ ██", "█ █ █", "█   █", "█   █"),
    "N": ("█   █", "██  █", "█ █ █", "█  ██", "█   █"),
    "O": (" ███ ", "█   █", "█   █", "█   █", " ███ "),
    "P": ("████ ", "█   █", "████ ", "█    ", "█    "),
    "Q": (" ███ ", "█   █", "█ █ █", "█  █ ", " ██ █"),
    "R": ("████ ", "█   █", "████ ", "█  █ ", "█   █"),
    "S": (" ████", "█    ", " ███ ", "    █", "████ "),
    "T": ("█████", "  █  ", "  █  ", "  █  ", "  █  "),
    "U": ("█   █", "█   █", "█   █", "█   █", " ███ "),
    "V": ("█   █", "█   █", "█   █", " █ █ ", "  █  "),
    "W": ("█   █", "█   █", "█ █ █", "██ ██", "█   █"),
    "X": ("█   █", " █ █ ", "  █  ", " █ █ ", "█   █"),
    "Y": ("█   █", " █ █ ", "  █  ", "  █  ", "  █  "),
    "Z": ("█████", "   █ ", "  █  ", " █   ", "█████"),
    " ": ("   ", "   ", "   ", "   ", "   "),
}
_GLYPH_ROWS: Final = 5


def block_letters(word: str) -> str | None:
    """``word`` in 5-row block letters, or ``None`` if a character has no glyph."""
    glyphs = [_GLYPHS.get(char) for char in word.upper()]
    if not all(glyphs):
        return None
    rows = (" ".join(glyph[row] for glyph in glyphs if glyph) for row in range(_GLYPH_ROWS))
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Banner:
    """A full-width coloured band with one word, in block letters when they fit.

    Attributes:
        word: the word (``"BACKWARD"``); also the plain-text fallback.
        style: the band's rich style, e.g. ``"bold white on blue"``.
        subtitle: one line under the word (what to do, what comes next).
    """

    word: str
    style: str
    subtitle: str = ""
    compact: bool = False
    """One line for the word and one for the subtitle (a short terminal)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Block letters if the console is wide (and tall) enough, else the word in capitals."""
        del console
        big = None if self.compact else block_letters(self.word)
        inner_width = options.max_width - 4  # the panel's border and padding
        fits = big is not None and max(len(row) for row in big.splitlines()) <= inner_width
        word = Text(big, no_wrap=True) if fits and big else Text(self.word.upper(), style="bold")
        lines: list[RenderableType] = [Align.center(word)]
        if self.subtitle:
            if not self.compact:
                lines.append(Text(""))
            lines.append(Text(self.subtitle, justify="center"))
        yield Panel(Group(*lines), style=self.style, expand=True)


_DIRECTION_BANNERS: Final = {
    "forward": ("FORWARD", "bold black on green", "face the console"),
    "backward": (
        "BACKWARD",
        "bold white on blue",
        "face away from the console, hands on the rails",
    ),
}


def banner_for(snapshot: SessionSnapshot | None, bindings: Bindings = DEFAULT_BINDINGS) -> Banner:
    """The big word for a snapshot's phase (and direction while running)."""
    if snapshot is None:
        return Banner("CONNECTING", "bold white on grey23", "finding the treadmill")
    if snapshot.phase is SessionPhase.RUNNING:
        direction = _direction(snapshot)
        word, style, hint = _DIRECTION_BANNERS.get(
            direction, (direction.upper() or "RUNNING", "bold black on white", "")
        )
        return Banner(word, style, hint)
    if snapshot.phase is SessionPhase.PAUSED:
        return _paused_banner(snapshot, bindings)
    word, style, subtitle = _PHASE_BANNERS[snapshot.phase]
    return Banner(word, style, subtitle(snapshot))


def _paused_banner(snapshot: SessionSnapshot, bindings: Bindings) -> Banner:
    keys = bindings.keys_for(HotkeyAction.PAUSE_TOGGLE)
    press = f"Press {key_label(keys[0])}" if keys else None
    if snapshot.resume_after_turn:
        heading = (snapshot.turning_to or snapshot.direction or "on").upper()
        what = f"{press} to walk {heading}" if press else f"waiting to walk {heading}"
        return Banner("TURN", "bold black on yellow", what)
    what = f"{press} to resume" if press else "the belt is stopping or stopped"
    return Banner("PAUSED", "bold black on yellow", what)


def _direction(snapshot: SessionSnapshot) -> str:
    if snapshot.direction:
        return snapshot.direction.lower()
    if snapshot.segment is not None:
        return snapshot.segment.direction.lower()
    return ""


def latch_reason_text(snapshot: SessionSnapshot) -> str:
    """Why the governor latched, in words (``"emergency stop"`` when it did not say)."""
    reason = snapshot.latch_reason
    return reason.label.replace("_", " ") if reason is not None else "emergency stop"


def _start_subtitle(snapshot: SessionSnapshot) -> str:
    first = snapshot.segment or snapshot.next_segment
    return f"first: {first.describe()}" if first is not None else "waiting for you"


def _turn_subtitle(snapshot: SessionSnapshot) -> str:
    """Where the turn goes (the direction being turned to), and the hold's countdown."""
    turning_to = snapshot.turning_to or (
        snapshot.segment.direction if snapshot.segment is not None else None
    )
    heading = turning_to.upper() if turning_to else "the other way"
    if snapshot.turnaround_countdown_s is None:
        return f"slowing down, then turn round to walk {heading}"
    seconds = max(0, math.ceil(snapshot.turnaround_countdown_s - 0.05))
    return f"turn round: walk {heading} in {seconds} s"


_PHASE_BANNERS: Final[dict[SessionPhase, tuple[str, str, Callable[[SessionSnapshot], str]]]] = {
    SessionPhase.CONNECTING: (
        "CONNECTING",
        "bold white on grey23",
        lambda _: "finding the treadmill",
    ),
    SessionPhase.WAITING_FOR_START: ("READY", "bold black on cyan", _start_subtitle),
    SessionPhase.RUNNING: ("RUNNING", "bold black on white", lambda _: ""),
    SessionPhase.TURNING_AROUND: ("TURN", "bold black on yellow", _turn_subtitle),
    SessionPhase.PAUSED: ("PAUSED", "bold black on yellow", lambda _: ""),
    SessionPhase.LATCHED: (
        "STOP",
        "bold white on red",
        lambda snapshot: f"stopped: {latch_reason_text(snapshot)}",
    ),
    SessionPhase.ENDING: ("ENDING", "bold black on cyan", lambda _: "slowing down to a stop"),
    SessionPhase.FINISHED: (
        "DONE",
        "bold black on green",
        lambda _: "the belt is stopped; well done",
    ),
}

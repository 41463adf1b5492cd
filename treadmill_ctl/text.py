r"""Text from files, shown to a person: never raw control characters, wrapped in linear time.

A profile's name, description and cues, a settings key, a record's profile name: any
of them may hold an escape sequence that would clear the screen, set the window title
or move the cursor. :func:`escape_text` is the one helper every path from a file to a
terminal goes through (``check``, the dashboard, plain output, every error line); it
shows such characters as ``\x1b``-style escapes instead. Only the standard library.
"""

from __future__ import annotations

import re
from typing import Final

_CONTROL: Final = re.compile(
    # C0 controls and DEL, C1 controls, and the bidirectional overrides and isolates
    # (they reorder what follows them on screen).
    "[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)
_CONTROL_KEEPING_LINES: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"  # noqa: PLR2004 - one byte


def escape_text(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` with every control character shown as an escape, never sent raw.

    Args:
        text: Anything that came from a file, a record, a broker or the command line.
        keep_newlines: Keep ``\n`` as a line break (whole messages of several lines);
            otherwise it is escaped too (a name or a cue is one line).
    """
    pattern = _CONTROL_KEEPING_LINES if keep_newlines else _CONTROL
    return pattern.sub(_escaped, text)


def wrap_words(text: str, width: int) -> list[str]:
    """Wrap ``text`` to lines of at most ``width`` characters, in linear time.

    Words are separated by any whitespace; a word longer than a line is cut. Unlike
    :func:`textwrap.wrap`, a 10 MB word takes as long as reading it once.
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    lines: list[str] = []
    current: list[str] = []
    length = 0
    for whole in text.split():
        word = whole
        if len(whole) > width:
            if current:
                lines.append(" ".join(current))
                current, length = [], 0
            cut = (len(whole) - 1) // width * width  # the last piece may take more words
            lines.extend(whole[start : start + width] for start in range(0, cut, width))
            word = whole[cut:]
        extra = len(word) + (1 if current else 0)
        if length + extra > width:
            lines.append(" ".join(current))
            current, length = [word], len(word)
        else:
            current.append(word)
            length += extra
    if current:
        lines.append(" ".join(current))
    return lines

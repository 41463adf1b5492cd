"""The VT100 key decoder: the bytes terminals and presenters send, turned into key names.

Pure and incremental, with no notion of time: a lone Esc is told apart from the
start of a sequence by the reader (:mod:`.reader`), which calls
:meth:`KeyDecoder.flush` after a short timeout on the loop's clock.

Why our own decoder and not prompt_toolkit's ``Vt100Parser`` (installed with bumble,
with the same feed/flush shape): fed the sequences of ``tests/test_ui_keys.py``,
prompt_toolkit 3.0.53 decodes PageUp, PageDown, F5, the Linux console's F5, split
sequences and a lone Esc (after flush) as we do, but:

- Shift+F5 (``ESC [ 15 ; 2 ~``, which some presenters send) is F17, so that
  presenter's stop key would do nothing;
- keypad application mode is unknown to it, and what it does not know it spills as
  Esc followed by the sequence's characters, each a key: keypad Enter (``ESC O M``)
  is Esc, ``O``, ``M``; keypad 1 (``ESC O q``) is Esc, then ``q``, which ends the
  session; keypad 0 (``ESC O p``) is Esc, then ``p``; Alt+F4 (``ESC [ 1 ; 3 S``)
  ends in ``S``; a terminal report such as ``ESC [ ? 1 ; 2 c`` ends in ``c``;
- CR LF is two keys (Enter, then Ctrl-J): a terminal that sends both would start
  the belt and stop it again;
- modifiers make other keys (Ctrl+Up is ``c-up``, Shift+F4 is F16), where a stop key
  must stay itself.

Each is a key the person relies on that would not work, or a key nobody pressed, so
the decoder below stays (docs/ARCHITECTURE.md, "Hotkeys").
"""

from __future__ import annotations

import codecs
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from treadmill_ctl.ui.keys.names import UNKNOWN_KEY

_ESC: Final = "\x1b"
_MAX_SEQUENCE_CHARS: Final = 16

# CSI <number> ~  (xterm, VT220, rxvt, the Linux console)
_TILDE_KEYS: Final = MappingProxyType(
    {
        1: "home",
        2: "insert",
        3: "delete",
        4: "end",
        5: "page_up",
        6: "page_down",
        7: "home",
        8: "end",
        11: "f1",
        12: "f2",
        13: "f3",
        14: "f4",
        15: "f5",
        17: "f6",
        18: "f7",
        19: "f8",
        20: "f9",
        21: "f10",
        23: "f11",
        24: "f12",
    }
)

# CSI [params] <letter>  and  SS3 <letter> (application cursor and keypad modes)
_FINAL_KEYS: Final = MappingProxyType(
    {
        "A": "up",
        "B": "down",
        "C": "right",
        "D": "left",
        "E": "begin",
        "H": "home",
        "F": "end",
        "P": "f1",
        "Q": "f2",
        "R": "f3",
        "S": "f4",
        "Z": "backtab",
    }
)

# SS3 <letter> in keypad application mode: numeric keypads and some presenters.
_KEYPAD_KEYS: Final = MappingProxyType(
    {
        "M": "enter",
        "k": "+",
        "m": "-",
        "n": ".",
        "j": "*",
        "o": "/",
        "X": "=",
        **{chr(ord("p") + digit): str(digit) for digit in range(10)},
    }
)

# The Linux console's F1-F5: ESC [ [ A .. ESC [ [ E
_LINUX_CONSOLE_KEYS: Final = MappingProxyType(
    {"A": "f1", "B": "f2", "C": "f3", "D": "f4", "E": "f5"}
)

_CONTROL_KEYS: Final = MappingProxyType(
    {
        "\r": "enter",
        "\n": "enter",
        "\t": "tab",
        "\x7f": "backspace",
        "\x08": "backspace",
        " ": "space",
    }
)


class _State(StrEnum):
    GROUND = "ground"
    ESCAPE = "escape"  # seen ESC
    CSI = "csi"  # seen ESC [
    SS3 = "ss3"  # seen ESC O
    LINUX_CONSOLE = "linux_console"  # seen ESC [ [


class KeyDecoder:
    """Turns the bytes a terminal sends into key names, one chunk at a time.

    Sequences may be split across reads anywhere (even inside a UTF-8 character);
    the decoder keeps what it has until the sequence is complete. A sequence that
    starts with ESC and is not finished stays *pending*: the caller decides, after a
    short timeout, that it was the Esc key by calling :meth:`flush`.

    Deliberate choices, for a program whose Esc is a stop key:

    - ESC followed by anything that cannot continue a sequence is Esc, then that
      key (never Alt+key), so a quick Esc + space is two stops, not one unknown key.
    - An escape sequence cut short (flushed, or broken by an unexpected byte) is Esc:
      the person pressed a key that starts with Esc.
    - CR LF is one Enter, so a terminal that sends both cannot start and then stop.
    - Modifiers are ignored (Shift+F5 is F5, which some presenters send).
    """

    __slots__ = ("_after_cr", "_buffer", "_state", "_utf8")

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._state = _State.GROUND
        self._buffer = ""
        self._after_cr = False

    @property
    def pending(self) -> bool:
        """Whether an escape sequence has begun and is waiting for more bytes."""
        return self._state is not _State.GROUND

    def feed(self, data: bytes) -> list[str]:
        """Decode a chunk of input; return the keys it completes, in order."""
        keys: list[str] = []
        for char in self._utf8.decode(data):
            self._step(char, keys)
        return keys

    def flush(self) -> list[str]:
        """End a pending sequence (its timeout passed): it was the Esc key."""
        if not self.pending:
            return []
        self._reset()
        return ["escape"]

    def _reset(self) -> None:
        self._state = _State.GROUND
        self._buffer = ""

    def _step(self, char: str, keys: list[str]) -> None:
        match self._state:
            case _State.GROUND:
                self._ground(char, keys)
            case _State.ESCAPE:
                self._after_escape(char, keys)
            case _State.CSI:
                self._in_csi(char, keys)
            case _State.SS3:
                self._in_ss3(char, keys)
            case _State.LINUX_CONSOLE:
                self._reset()
                keys.append(_LINUX_CONSOLE_KEYS.get(char, UNKNOWN_KEY))

    def _ground(self, char: str, keys: list[str]) -> None:
        after_cr, self._after_cr = self._after_cr, char == "\r"
        if char == _ESC:
            self._state = _State.ESCAPE
        elif char == "\n" and after_cr:
            return
        elif char in _CONTROL_KEYS:
            keys.append(_CONTROL_KEYS[char])
        elif ord(char) < 0x20:  # noqa: PLR2004  (C0 control characters are Ctrl+letter)
            keys.append(f"ctrl+{chr(ord(char) + 0x60)}")
        elif char.isprintable():
            keys.append(char.lower())

    def _after_escape(self, char: str, keys: list[str]) -> None:
        if char == "[":
            self._state = _State.CSI
        elif char == "O":
            self._state = _State.SS3
        else:
            self._reset()
            keys.append("escape")
            self._ground(char, keys)

    def _in_csi(self, char: str, keys: list[str]) -> None:
        if char == "[" and not self._buffer:
            self._state = _State.LINUX_CONSOLE
        elif "\x20" <= char <= "\x3f" and len(self._buffer) < _MAX_SEQUENCE_CHARS:
            self._buffer += char  # parameters and intermediates: "15", "1;5"
        elif "\x40" <= char <= "\x7e":
            params = self._buffer
            self._reset()
            keys.append(_decode_csi(params, char))
        else:
            self._broken(char, keys)

    def _in_ss3(self, char: str, keys: list[str]) -> None:
        if ("0" <= char <= "9" or char == ";") and len(self._buffer) < _MAX_SEQUENCE_CHARS:
            self._buffer += char  # xterm's modified F1-F4: ESC O 1 ; 2 P
        elif char in _FINAL_KEYS or char in _KEYPAD_KEYS:
            self._reset()
            keys.append(_FINAL_KEYS.get(char) or _KEYPAD_KEYS[char])
        elif "\x40" <= char <= "\x7e":
            self._reset()
            keys.append(UNKNOWN_KEY)
        else:
            self._broken(char, keys)

    def _broken(self, char: str, keys: list[str]) -> None:
        """A sequence interrupted by a byte that cannot continue it: Esc, then that byte."""
        self._reset()
        keys.append("escape")
        self._ground(char, keys)


def _decode_csi(params: str, final: str) -> str:
    if final == "~":
        first = params.split(";", 1)[0]
        return _TILDE_KEYS.get(int(first), UNKNOWN_KEY) if first.isdigit() else UNKNOWN_KEY
    if params.startswith(("<", ">", "=", "?")):
        return UNKNOWN_KEY  # mouse and terminal reports, not keys
    return _FINAL_KEYS.get(final, UNKNOWN_KEY)

"""Key names: the canonical names of keys, the spellings a config file may use, labels.

A canonical name is what the decoder (:mod:`.vt100`) emits and what bindings are
written in: one printable character (letters in lower case: ``"b"``, ``"+"``) or a
named key (``"enter"``, ``"escape"``, ``"page_up"``, ``"f5"``, ``"ctrl+x"``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from treadmill_ctl.errors import ConfigError

#: The key name emitted for an escape sequence the decoder does not know.
UNKNOWN_KEY: Final = "unknown"


_NAMED_KEYS: Final = frozenset(
    {
        "enter",
        "space",
        "escape",
        "tab",
        "backtab",
        "backspace",
        "up",
        "down",
        "left",
        "right",
        "home",
        "end",
        "insert",
        "delete",
        "page_up",
        "page_down",
        "begin",
        *(f"f{number}" for number in range(1, 13)),
        *(f"ctrl+{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"),
    }
)

_ALIASES: Final = MappingProxyType(
    {
        "return": "enter",
        "esc": "escape",
        "spacebar": "space",
        " ": "space",
        "pageup": "page_up",
        "page-up": "page_up",
        "pgup": "page_up",
        "prior": "page_up",
        "pagedown": "page_down",
        "page-down": "page_down",
        "pgdn": "page_down",
        "next": "page_down",
        "del": "delete",
        "ins": "insert",
        "plus": "+",
        "minus": "-",
        "period": ".",
        "dot": ".",
        "arrow_up": "up",
        "arrow_down": "down",
        "arrow_left": "left",
        "arrow_right": "right",
    }
)

_LABELS: Final = MappingProxyType(
    {
        "enter": "Enter",
        "space": "Space",
        "escape": "Esc",
        "tab": "Tab",
        "backspace": "Backspace",
        "page_up": "PgUp",
        "page_down": "PgDn",
        "up": "Up",
        "down": "Down",
        "left": "Left",
        "right": "Right",
        "home": "Home",
        "end": "End",
        "insert": "Ins",
        "delete": "Del",
    }
)


def parse_key_name(name: str) -> str:
    """Return the canonical name of a key written in a config file.

    Canonical names are the ones :class:`KeyDecoder` emits: a single printable
    character (letters in lower case: ``"b"``, ``"+"``, ``"."``) or a named key
    (``"enter"``, ``"escape"``, ``"page_up"``, ``"f5"``, ``"ctrl+x"``...). Common
    spellings are accepted (``"Esc"``, ``"PageUp"``, ``"PgDn"``, ``"F5"``, ``" "``).

    Raises:
        ConfigError: ``name`` is not a key a terminal can send.
    """
    if len(name) == 1 and name.isprintable():
        return _ALIASES.get(name, name.lower())
    folded = name.strip().lower().replace(" ", "_")
    folded = _ALIASES.get(folded, folded)
    if folded in _NAMED_KEYS or (len(folded) == 1 and folded in _ALIASES.values()):
        return folded
    raise ConfigError(
        f"unknown key name {name!r}: use one character such as 'b' or '+', or a name "
        "such as 'enter', 'space', 'escape', 'page_up', 'page_down', 'f5', 'up'"
    )


def key_label(key: str) -> str:
    """A short label for a key name, as printed on a keyboard (``"PgUp"``, ``"F5"``)."""
    if key in _LABELS:
        return _LABELS[key]
    if key.startswith("f") and key[1:].isdigit():
        return key.upper()
    if key.startswith("ctrl+"):
        return "Ctrl-" + key.removeprefix("ctrl+").upper()
    return key

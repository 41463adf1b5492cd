"""Hotkeys: the terminal in cbreak mode, key decoding, bindings, and their dispatch.

The person on the belt faces away from the screen and may need to stop *now*, often
with a wireless presenter in the hand. So the keys are read without ever blocking the
event loop (``loop.add_reader`` on the terminal), decoded from the bytes terminals
and presenters really send, and turned into :class:`SessionControl` requests at once.

One module per idea, from the outside in; every public name is importable from
``treadmill_ctl.ui.keys`` itself:

- :mod:`.terminal_mode`: :class:`TerminalMode` puts a terminal into cbreak mode (no
  echo, no line editing, Ctrl-C still interrupts, Ctrl-Z and Ctrl-backslash disabled
  so the program cannot be suspended or killed without stopping the belt) and
  restores it however the program ends: on exit of the ``with``, at interpreter
  exit, and on SIGTERM/SIGHUP when no one else handles them.
- :mod:`.reader`: :class:`KeyReader` reads the terminal on the running loop and
  tells a lone Esc from the start of a sequence by a short timeout on the loop's
  clock; :func:`terminal_keys` is both for a ``with`` block.
- :mod:`.vt100`: :class:`KeyDecoder`, a pure, incremental decoder of bytes into key
  names (``"enter"``, ``"page_up"``, ``"f5"``, ``"b"``...), and why it is ours and
  not prompt_toolkit's.
- :mod:`.names`: the canonical key names, the spellings a config file may use
  (:func:`parse_key_name`) and the labels shown on screen (:func:`key_label`).
- :mod:`.bindings`: :class:`Bindings` maps key names to :class:`HotkeyAction`
  values, as data; the config file's ``[hotkeys]`` table can replace any action's keys.
- :mod:`.dispatch`: :class:`HotkeyDispatcher` turns a key into a
  :class:`SessionControl` call, knowing from the latest snapshot whether the belt
  has started (Enter starts before, stops after).
"""

from treadmill_ctl.ui.keys.bindings import DEFAULT_BINDINGS, Bindings, HotkeyAction
from treadmill_ctl.ui.keys.dispatch import DEFAULT_NUDGE_STEP_KMH, HotkeyDispatcher
from treadmill_ctl.ui.keys.names import UNKNOWN_KEY, key_label, parse_key_name
from treadmill_ctl.ui.keys.reader import DEFAULT_ESCAPE_TIMEOUT_S, KeyReader, terminal_keys
from treadmill_ctl.ui.keys.terminal_mode import TerminalMode
from treadmill_ctl.ui.keys.vt100 import KeyDecoder

__all__ = [
    "DEFAULT_BINDINGS",
    "DEFAULT_ESCAPE_TIMEOUT_S",
    "DEFAULT_NUDGE_STEP_KMH",
    "UNKNOWN_KEY",
    "Bindings",
    "HotkeyAction",
    "HotkeyDispatcher",
    "KeyDecoder",
    "KeyReader",
    "TerminalMode",
    "key_label",
    "parse_key_name",
    "terminal_keys",
]

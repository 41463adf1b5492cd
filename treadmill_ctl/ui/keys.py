"""Hotkeys: the terminal in cbreak mode, key decoding, bindings, and their dispatch.

The person on the belt faces away from the screen and may need to stop *now*, often
with a wireless presenter in the hand. So the keys are read without ever blocking the
event loop (``loop.add_reader`` on the terminal), decoded from the bytes terminals
and presenters really send, and turned into :class:`SessionControl` requests at once.

Four pieces, from the outside in:

- :class:`TerminalMode` puts a terminal into cbreak mode (no echo, no line editing,
  Ctrl-C still interrupts, Ctrl-Z and Ctrl-backslash disabled so the program cannot be
  suspended or killed without stopping the belt) and restores it however the program
  ends: on exit of the ``with``, at interpreter exit, and on SIGTERM/SIGHUP when no
  one else handles them.
- :class:`KeyDecoder` is a pure, incremental decoder of bytes into key names
  (``"enter"``, ``"page_up"``, ``"f5"``, ``"b"``...). It has no notion of time: a lone
  Esc is told apart from the start of a sequence by :class:`KeyReader`, which calls
  :meth:`KeyDecoder.flush` after a short timeout on the loop's clock.
- :class:`Bindings` maps key names to :class:`HotkeyAction` values, as data; the
  config file's ``[hotkeys]`` table can replace any action's keys.
- :class:`HotkeyDispatcher` turns a key into a :class:`SessionControl` call, knowing
  from the latest snapshot whether the belt has started (Enter starts before, stops
  after).
"""

from __future__ import annotations

import asyncio
import atexit
import codecs
import contextlib
import os
import signal
import termios
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Self

import structlog

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.session.events import SessionPhase

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from types import FrameType, TracebackType

    from treadmill_ctl.session.events import Cue, SessionControl, SessionEvent, SessionSnapshot

_log = structlog.get_logger(__name__)

#: The key name emitted for an escape sequence the decoder does not know.
UNKNOWN_KEY: Final = "unknown"

#: Default seconds to wait after a lone ESC byte for the rest of a sequence.
#: Terminals send a whole sequence in one write; 50 ms tells a person's Esc from a
#: PageUp even over ssh, and keeps the Esc stop fast.
DEFAULT_ESCAPE_TIMEOUT_S: Final = 0.05


class HotkeyAction(StrEnum):
    """What a key asks of the session; the value is the name used in the config file."""

    EMERGENCY_STOP = "emergency_stop"
    START = "start"
    PAUSE_TOGGLE = "pause_toggle"
    REARM = "rearm"
    END = "end"
    SPEED_UP = "speed_up"
    SPEED_DOWN = "speed_down"


# --- key names -------------------------------------------------------------------

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


# --- decoding ----------------------------------------------------------------------

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


# --- bindings ----------------------------------------------------------------------

_DEFAULT_KEYS: Final[Mapping[HotkeyAction, tuple[str, ...]]] = MappingProxyType(
    {
        HotkeyAction.START: ("enter",),
        HotkeyAction.EMERGENCY_STOP: (
            "space",
            "escape",
            "enter",
            "s",
            "page_up",
            "page_down",
            "b",
            ".",
            "f5",
        ),
        HotkeyAction.PAUSE_TOGGLE: ("p",),
        HotkeyAction.REARM: ("r",),
        HotkeyAction.END: ("q",),
        HotkeyAction.SPEED_UP: ("+",),
        HotkeyAction.SPEED_DOWN: ("-",),
    }
)


@dataclass(frozen=True, slots=True)
class Bindings:
    """Which key does what, before the belt has started and after.

    ``before_start`` and ``after_start`` map canonical key names to actions. A key
    bound to :attr:`HotkeyAction.START` starts the belt while the session waits for
    the person; once the belt has started, the same key does what ``after_start``
    says (by default Enter becomes an emergency stop). Other actions work in both.

    Build them with :meth:`from_actions` or :meth:`from_config`, which check them.
    """

    before_start: Mapping[str, HotkeyAction]
    after_start: Mapping[str, HotkeyAction]

    @classmethod
    def from_actions(cls, keys_by_action: Mapping[HotkeyAction, Iterable[str]]) -> Self:
        """Build bindings from each action's keys (canonical or common names).

        Raises:
            ConfigError: a key name is unknown, a key has two actions, or no key
                starts or stops the belt.
        """
        after_start: dict[str, HotkeyAction] = {}
        before_start: dict[str, HotkeyAction] = {}
        for action, names in keys_by_action.items():
            for name in names:
                try:
                    key = parse_key_name(name)
                except ConfigError as error:
                    raise ConfigError(f"hotkeys.{action.value}: {error}") from None
                table = before_start if action is HotkeyAction.START else after_start
                if table.get(key, action) is not action:
                    raise ConfigError(
                        f"hotkeys.{action.value}: key {name!r} is already bound to "
                        f"{table[key].value}"
                    )
                table[key] = action
        for required in (HotkeyAction.START, HotkeyAction.EMERGENCY_STOP):
            if required not in before_start.values() and required not in after_start.values():
                raise ConfigError(
                    f"hotkeys.{required.value}: at least one key must be bound to {required.value}"
                )
        return cls(
            before_start=MappingProxyType(after_start | before_start),
            after_start=MappingProxyType(after_start),
        )

    @classmethod
    def from_config(cls, table: Mapping[str, object]) -> Self:
        """Build bindings from the config file's ``[hotkeys]`` table over the defaults.

        Two kinds of entry, which may be mixed::

            [hotkeys]
            x = "emergency_stop"        # key = "action": x also stops (taken from
                                        # whatever it did before)
            end = ["q", "e"]            # action = key or keys: replaces the action's
            speed_up = ["+", "="]       # default keys ([] unbinds the action)

        An entry whose value is an action's name is the first kind; any other entry
        must be named after an action. At least one key must start the belt and one
        must stop it.

        Raises:
            ConfigError: naming the entry, for an unknown action, an unknown key
                name, a value that is not a key name or a list of them, or no key
                left to start or to stop.
        """
        keys_by_action: dict[HotkeyAction, tuple[str, ...]] = dict(_DEFAULT_KEYS)
        extra: list[tuple[str, HotkeyAction]] = []
        for entry, value in table.items():
            if isinstance(value, str) and value in _ACTION_NAMES:
                try:
                    extra.append((parse_key_name(entry), HotkeyAction(value)))
                except ConfigError as error:
                    raise ConfigError(f"hotkeys.{entry}: {error}") from None
            elif entry in _ACTION_NAMES:
                keys_by_action[HotkeyAction(entry)] = _key_names(entry, value)
            else:
                known = ", ".join(sorted(_ACTION_NAMES))
                raise ConfigError(
                    f"hotkeys.{entry}: unknown action {value!r} (known: {known})"
                    if isinstance(value, str)
                    else f"hotkeys.{entry}: unknown action (known: {known})"
                )
        for key, action in extra:
            starts = action is HotkeyAction.START
            for other, keys in keys_by_action.items():
                if (other is HotkeyAction.START) is starts:
                    keys_by_action[other] = tuple(k for k in keys if parse_key_name(k) != key)
            keys_by_action[action] = (*keys_by_action[action], key)
        return cls.from_actions(keys_by_action)

    def action_for(self, key: str, *, belt_started: bool) -> HotkeyAction | None:
        """The action of a decoded key, or ``None`` when the key is not bound."""
        return (self.after_start if belt_started else self.before_start).get(key)

    def keys_for(self, action: HotkeyAction) -> tuple[str, ...]:
        """The keys bound to ``action``, in the order they were given."""
        table = self.before_start if action is HotkeyAction.START else self.after_start
        return tuple(key for key, bound in table.items() if bound is action)


_ACTION_NAMES: Final = frozenset(action.value for action in HotkeyAction)


def _key_names(entry: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(str(item) for item in value)
    raise ConfigError(f"hotkeys.{entry}: expected a key name or a list of key names")


#: The bindings in force without a ``[hotkeys]`` table (see the issue on hotkeys).
DEFAULT_BINDINGS: Final = Bindings.from_actions(_DEFAULT_KEYS)

# --- dispatching ---------------------------------------------------------------------

#: Phases in which the belt has not been started (or was re-armed and waits again).
_BEFORE_START_PHASES: Final = frozenset({SessionPhase.CONNECTING, SessionPhase.WAITING_FOR_START})

#: Default change of target speed for one press of ``+`` or ``-``.
DEFAULT_NUDGE_STEP_KMH: Final = 0.1


class HotkeyDispatcher:
    """Turns decoded keys into :class:`SessionControl` requests, with source ``"hotkey"``.

    It is also a session observer: it keeps the phase of the latest snapshot, to
    know whether the belt has started (before any snapshot, it has not). Every call
    returns at once; the control methods return at once too.

    Args:
        control: the session to ask.
        bindings: which key does what.
        nudge_step_kmh: the change of target speed for one ``+``/``-`` press.
        source: the requester name recorded with each request.
    """

    def __init__(
        self,
        control: SessionControl,
        bindings: Bindings = DEFAULT_BINDINGS,
        *,
        nudge_step_kmh: float = DEFAULT_NUDGE_STEP_KMH,
        source: str = "hotkey",
    ) -> None:
        if not nudge_step_kmh > 0:
            raise ConfigError(f"hotkeys: the speed nudge must be positive, not {nudge_step_kmh}")
        self._control = control
        self.bindings = bindings
        self._nudge_step_kmh = nudge_step_kmh
        self._source = source
        self._phase: SessionPhase | None = None

    @property
    def belt_started(self) -> bool:
        """Whether the latest snapshot says the belt has been started."""
        return self._phase is not None and self._phase not in _BEFORE_START_PHASES

    def on_key(self, key: str) -> HotkeyAction | None:
        """Act on one decoded key; return the action taken, or ``None`` if unbound."""
        action = self.bindings.action_for(key, belt_started=self.belt_started)
        source = self._source
        match action:
            case HotkeyAction.EMERGENCY_STOP:
                self._control.emergency_stop(source)
            case HotkeyAction.START:
                self._control.start(source)
            case HotkeyAction.PAUSE_TOGGLE:
                self._control.toggle_pause(source)
            case HotkeyAction.REARM:
                self._control.rearm(source)
            case HotkeyAction.END:
                self._control.end(source)
            case HotkeyAction.SPEED_UP:
                self._control.nudge_speed(self._nudge_step_kmh, source)
            case HotkeyAction.SPEED_DOWN:
                self._control.nudge_speed(-self._nudge_step_kmh, source)
            case None:
                _log.debug("hotkey.unbound", key=key, phase=self._phase)
                return None
        _log.info("hotkey.pressed", key=key, action=action.value, phase=self._phase)
        return action

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Keep the session phase (start before the belt moves, stop after)."""
        self._phase = snapshot.phase

    def on_event(self, event: SessionEvent) -> None:
        """Events do not change what keys do."""

    def on_cue(self, cue: Cue) -> None:
        """Cues do not change what keys do."""


# --- the terminal --------------------------------------------------------------------

_RESTORE_ON_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)


class TerminalMode:
    """Cbreak mode on a terminal for the time of a ``with`` block, restored however it ends.

    Keys arrive one at a time without echo; output processing is kept (so rich can
    draw), and Ctrl-C still raises SIGINT for the runner's stop-then-exit handler.
    Ctrl-Z (suspend) and Ctrl-backslash (quit with a core dump) are disabled, and so is
    XON/XOFF flow control: none of them may freeze or end the program while the belt
    runs. Ctrl-S and Ctrl-Q arrive as keys.

    The saved attributes are written back on leaving the block, by an ``atexit``
    hook if the block is never left, and by a SIGTERM/SIGHUP handler that restores
    and then dies of the signal as before, installed only while no one else handles
    those signals (the runner's own handlers, installed later, take precedence and
    leave through the ``with``).

    Args:
        fd: a terminal file descriptor, usually ``sys.stdin.fileno()``.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None
        self._signal_handlers: dict[int, object] = {}

    def __enter__(self) -> Self:
        saved = termios.tcgetattr(self.fd)
        termios.tcsetattr(self.fd, termios.TCSANOW, _cbreak_attributes(self.fd, saved))
        self._saved = saved
        atexit.register(self.restore)
        self._install_signal_handlers()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()
        atexit.unregister(self.restore)
        self._remove_signal_handlers()

    def restore(self) -> None:
        """Write the saved attributes back (once; harmless if the terminal is gone)."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def _install_signal_handlers(self) -> None:
        for signum in _RESTORE_ON_SIGNALS:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                if signal.getsignal(signum) is signal.SIG_DFL:
                    signal.signal(signum, self._restore_and_die)
                    self._signal_handlers[signum] = self._restore_and_die

    def _remove_signal_handlers(self) -> None:
        for signum, handler in self._signal_handlers.items():
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signum) == handler:
                    signal.signal(signum, signal.SIG_DFL)
        self._signal_handlers.clear()

    def _restore_and_die(self, signum: int, _frame: FrameType | None) -> None:
        self.restore()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _cbreak_attributes(fd: int, saved: list[Any]) -> list[Any]:
    """The attributes of ``saved`` with cbreak mode and the dangerous keys disabled."""
    attributes = list(saved)
    iflag, lflag, cc = attributes[0], attributes[3], attributes[6]
    if not (isinstance(iflag, int) and isinstance(lflag, int) and isinstance(cc, list)):
        raise TypeError("unexpected termios attributes")
    attributes[0] = iflag & ~(termios.IXON | termios.IXOFF)
    attributes[3] = lflag & ~(termios.ECHO | termios.ICANON)
    try:
        disabled = os.fpathconf(fd, "PC_VDISABLE")
    except (OSError, ValueError):
        disabled = 0
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    for control in (termios.VSUSP, termios.VQUIT):
        cc[control] = bytes([disabled])
    attributes[6] = cc
    return attributes


class KeyReader:
    """Reads keys from a file descriptor on the running loop, without ever blocking it.

    While the ``with`` block is open, the loop calls back when bytes arrive; they are
    decoded and each key is handed to ``on_key`` at once. A lone Esc is reported when
    no more bytes follow within ``escape_timeout_s`` of the loop's clock (virtual
    time under the accelerated loop). The descriptor's terminal mode is not touched:
    wrap the reader in :class:`TerminalMode` (or use :func:`terminal_keys`).

    Args:
        fd: the descriptor to read (a terminal, or a pipe in tests).
        on_key: called with each key name; must return at once.
        on_close: called once if the input ends (the terminal went away), after
            which no more keys can arrive: the runner should treat it as a reason to
            stop, since the person's stop keys are gone.
        escape_timeout_s: how long a started escape sequence may wait for its rest.
    """

    def __init__(
        self,
        fd: int,
        on_key: Callable[[str], object],
        *,
        on_close: Callable[[], object] | None = None,
        escape_timeout_s: float = DEFAULT_ESCAPE_TIMEOUT_S,
    ) -> None:
        self.fd = fd
        self._on_key = on_key
        self._on_close = on_close
        self._escape_timeout_s = escape_timeout_s
        self._decoder = KeyDecoder()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._escape_timer: asyncio.TimerHandle | None = None

    def __enter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._on_readable)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_reading()

    def _stop_reading(self) -> None:
        if self._escape_timer is not None:
            self._escape_timer.cancel()
            self._escape_timer = None
        if self._loop is not None:
            self._loop.remove_reader(self.fd)
            self._loop = None

    def _on_readable(self) -> None:
        try:
            data = os.read(self.fd, 1024)
        except BlockingIOError:
            return
        except OSError:  # EIO: the terminal hung up
            data = b""
        if not data:
            self._closed()
            return
        if self._escape_timer is not None:
            self._escape_timer.cancel()
            self._escape_timer = None
        self._deliver(self._decoder.feed(data))
        if self._decoder.pending and self._loop is not None:
            self._escape_timer = self._loop.call_later(self._escape_timeout_s, self._on_timeout)

    def _on_timeout(self) -> None:
        self._escape_timer = None
        self._deliver(self._decoder.flush())

    def _closed(self) -> None:
        self._deliver(self._decoder.flush())
        self._stop_reading()
        _log.warning("hotkey.input_closed", fd=self.fd)
        if self._on_close is not None:
            self._on_close()

    def _deliver(self, keys: list[str]) -> None:
        for key in keys:
            self._on_key(key)


@contextlib.contextmanager
def terminal_keys(
    fd: int,
    on_key: Callable[[str], object],
    *,
    on_close: Callable[[], object] | None = None,
    escape_timeout_s: float = DEFAULT_ESCAPE_TIMEOUT_S,
) -> Iterator[KeyReader]:
    """Put the terminal ``fd`` in cbreak mode and read its keys, for a ``with`` block.

    Must be entered inside the running event loop. The terminal is restored on
    leaving, whatever ends the block (see :class:`TerminalMode`).
    """
    with (
        TerminalMode(fd),
        KeyReader(fd, on_key, on_close=on_close, escape_timeout_s=escape_timeout_s) as reader,
    ):
        yield reader

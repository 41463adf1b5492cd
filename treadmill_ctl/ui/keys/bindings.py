"""Bindings: which key does what, as data; the config file's ``[hotkeys]`` table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Self

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.ui.keys.names import parse_key_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


class HotkeyAction(StrEnum):
    """What a key asks of the session; the value is the name used in the config file."""

    EMERGENCY_STOP = "emergency_stop"
    START = "start"
    PAUSE_TOGGLE = "pause_toggle"
    REARM = "rearm"
    END = "end"
    SPEED_UP = "speed_up"
    SPEED_DOWN = "speed_down"


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

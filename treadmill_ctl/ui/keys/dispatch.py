"""The dispatcher: a decoded key turned into a :class:`SessionControl` request at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import structlog

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.session.events import RequestSource, SessionPhase
from treadmill_ctl.ui.keys.bindings import DEFAULT_BINDINGS, Bindings, HotkeyAction

if TYPE_CHECKING:
    from treadmill_ctl.session.events import Cue, SessionControl, SessionEvent, SessionSnapshot

_log = structlog.get_logger(__name__)

#: Phases in which the belt has not been started (or was re-armed and waits again).
_BEFORE_START_PHASES: Final = frozenset({SessionPhase.CONNECTING, SessionPhase.WAITING_FOR_START})

#: Default change of target speed for one press of ``+`` or ``-``.
DEFAULT_NUDGE_STEP_KMH: Final = 0.1


class HotkeyDispatcher:
    """Turns decoded keys into :class:`SessionControl` requests from the person (``HOTKEY``).

    It is also a session observer: it keeps the phase of the latest snapshot, to
    know whether the belt has started (before any snapshot, it has not). Every call
    returns at once; the control methods return at once too.

    Args:
        control: the session to ask.
        bindings: which key does what.
        nudge_step_kmh: the change of target speed for one ``+``/``-`` press.
        source: who the requests come from (the person at the keys, unless a test says).
    """

    def __init__(
        self,
        control: SessionControl,
        bindings: Bindings = DEFAULT_BINDINGS,
        *,
        nudge_step_kmh: float = DEFAULT_NUDGE_STEP_KMH,
        source: RequestSource = RequestSource.HOTKEY,
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

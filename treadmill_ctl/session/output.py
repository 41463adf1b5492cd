"""What the session tells its observers: events, cues and snapshots, in one place.

:class:`SessionOutput` hands every :class:`~treadmill_ctl.session.events.SessionEvent`,
:class:`~treadmill_ctl.session.events.Cue` and
:class:`~treadmill_ctl.session.events.SessionSnapshot` to every observer (dashboard,
MQTT bridge, cue player, strap follower), logs events and cues, and keeps when what
was said will have been heard (:attr:`SessionOutput.said_until_s`), for a stand-in
that waits for it as a person would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from treadmill_ctl.session.events import RecordEvent, SessionEvent
from treadmill_ctl.session.speech import spoken

if TYPE_CHECKING:
    from collections.abc import Sequence

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.session.events import Cue, SessionObserver, SessionSnapshot
    from treadmill_ctl.session.speech import SpeechTiming

__all__ = ["SessionOutput"]

_log = structlog.get_logger("treadmill_ctl.session")


class SessionOutput:
    """The session's observers, and what is said to them.

    Args:
        clock: The session clock (events are stamped from :attr:`started_s`).
        speech_timing: How long a sentence takes to say.
        observers: The observers known when the session is built.
    """

    def __init__(
        self, clock: Clock, speech_timing: SpeechTiming, observers: Sequence[SessionObserver]
    ) -> None:
        self._clock = clock
        self._timing = speech_timing
        self._observers = list(observers)
        self.started_s = 0.0
        """When the session started, on the session clock."""
        self.said_until_s = 0.0
        """When everything said so far will have been heard (session clock)."""

    def add(self, observer: SessionObserver) -> None:
        """One more observer, from now on."""
        self._observers.append(observer)

    def emit(self, kind: RecordEvent, *, log: bool = True, **fields: object) -> None:
        """An event for the record and every observer (logged unless ``log`` is false)."""
        if log:
            _log.info(str(kind), **fields)
        event = SessionEvent(kind, self._clock.now_s() - self.started_s, fields)
        for observer in self._observers:
            observer.on_event(event)

    def cue(self, cue: Cue) -> None:
        """Something for the person to hear and see."""
        _log.info("cue.given", kind=cue.kind, text=cue.text, urgent=cue.urgent)
        now = self._clock.now_s()
        said = cue.speech[0].text if cue.speech else spoken(cue.text)
        self.said_until_s = max(self.said_until_s, now) + self._timing.duration_s(said)
        for observer in self._observers:
            observer.on_cue(cue)

    def publish(self, snapshot: SessionSnapshot) -> None:
        """The session's state now, to every observer."""
        for observer in self._observers:
            observer.on_snapshot(snapshot)

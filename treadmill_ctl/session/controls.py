"""What the outside may ask of a session, turned into the governor's requests.

:class:`SessionControls` is the :class:`~treadmill_ctl.session.events.SessionControl`
half of the runner: the dashboard's keys, the MQTT bridge, the signals and the
record's failure ask here, and each ask becomes a request to the safety governor
(which decides; the answer is what it decided, never what was asked). It keeps what
people asked that decides how the session ends (an interrupt, an end, a pause only a
person may resume). The runner supplies the governor and acts on its decisions
(:meth:`SessionControls._request`); nothing here writes to the treadmill.

Sources whose start and resume count as a person's own action at the treadmill are
the source's own :attr:`~treadmill_ctl.safety.RequestSource.counts_as_person` (SAFETY.md:
the belt never starts without a person).
"""

from __future__ import annotations

import abc
import asyncio
import math
from typing import TYPE_CHECKING, Final

import structlog

from treadmill_ctl.safety import EmergencyStop, End, Pause, Rearm, Resume, SetTarget, Start
from treadmill_ctl.safety.states import CueKind, GovernorState
from treadmill_ctl.session.events import (
    ControlOutcome,
    Cue,
    RecordEvent,
    RequestSource,
    SessionPhase,
)
from treadmill_ctl.session.summary import outcome_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.safety import Decision, SafetyGovernor
    from treadmill_ctl.session.heart_rate import HeartRateSession
    from treadmill_ctl.session.record_events import Emit

__all__ = ["HR_WAIT_S", "GovernorRequest", "SessionControls"]

_log = structlog.get_logger("treadmill_ctl.session")

HR_WAIT_S: Final = 30.0
"""Unattended, how long a start refused for want of a heart rate waits for one."""

type GovernorRequest = EmergencyStop | SetTarget | Start | Resume | Pause | End | Rearm
"""What the session may ask of the governor."""


class SessionControls(abc.ABC):
    """The asks of a session (see the module's docstring); the runner is one.

    Args:
        clock: The session clock.
        interactive: A person can re-arm after a latch, and confirm going on
            without a heart rate (a key reader is attached).
    """

    _governor: SafetyGovernor | None
    _heart_rate: HeartRateSession
    _emit: Emit
    _cue: Callable[[Cue], None]

    def __init__(self, *, clock: Clock, interactive: bool) -> None:
        self._clock = clock
        self._interactive = interactive
        self._interrupted_by: RequestSource | None = None
        self._end_requested_by: RequestSource | None = None
        self._person_paused = False
        self._record_failure: str | None = None
        self._refused_for_heart_rate = False

    @property
    @abc.abstractmethod
    def phase(self) -> SessionPhase:
        """Where the session is now."""

    @abc.abstractmethod
    def _request(self, request: GovernorRequest, now: float | None = None) -> list[Decision]:
        """Ask the governor, act on its decisions and return them."""

    @abc.abstractmethod
    def _starting_target(self) -> SetTarget | None:
        """The target to set before a start from idle (the plan's current segment)."""

    @property
    def record_failure(self) -> str | None:
        """Why the session record could not be written, if it could not."""
        return self._record_failure

    def emergency_stop(self, source: RequestSource) -> ControlOutcome:
        """Latch and write Stop now, ahead of anything queued; log it after."""
        self._request(EmergencyStop(source))
        _log.warning("session.emergency_stop", source=source)
        return ControlOutcome(accepted=True)

    def interrupt(self, source: RequestSource) -> None:
        """Ctrl-C, SIGTERM: stop now and end the session (no re-arm)."""
        self._interrupted_by = source
        self.emergency_stop(source)

    def start(self, source: RequestSource) -> ControlOutcome:
        """The person's start, or start again after a re-arm."""
        return self._begin(Start(by_person=source.counts_as_person), source)

    def resume(self, source: RequestSource) -> ControlOutcome:
        """Resume after a pause or a turn-around; a person's action."""
        return self._begin(Resume(by_person=source.counts_as_person), source)

    def pause(self, source: RequestSource) -> ControlOutcome:
        """Pause the belt; log it after."""
        if source is not RequestSource.STAND_IN:
            self._person_paused = True  # only the person resumes it (never --yes)
        request = Pause()
        outcome = outcome_of(request, self._request(request))
        _log.info("session.pause_requested", source=source)
        return outcome

    def toggle_pause(self, source: RequestSource) -> ControlOutcome:
        """Pause when moving, resume when paused."""
        if self.phase is SessionPhase.PAUSED:
            return self.resume(source)
        return self.pause(source)

    def rearm(self, source: RequestSource) -> ControlOutcome:
        """Leave a latch; the belt stays still until the person starts again."""
        _log.info("governor.rearm_requested", source=source)
        request = Rearm()
        outcome = outcome_of(request, self._request(request))
        self._heart_rate.rearm()
        return outcome

    def end(self, source: RequestSource) -> ControlOutcome:
        """End the session with a normal ramp down and a stop."""
        _log.info("session.end_requested", source=source)
        self._end_requested_by = source
        request = End()
        return outcome_of(request, self._request(request))

    def record_failed(self, error: Exception) -> None:
        """The session record can no longer be written: stop the belt, end the session.

        Called by the record from inside whatever was logging: the stop is requested
        on the loop's next turn (never in the middle of another decision), and the
        session ends once the belt has stopped, with the reason in its summary.
        """
        if self._record_failure is not None:
            return
        strerror = error.strerror if isinstance(error, OSError) else None
        self._record_failure = strerror or str(error) or type(error).__name__
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.interrupt(RequestSource.RECORD_FAILED)
        else:
            loop.call_soon(self.interrupt, RequestSource.RECORD_FAILED)

    def nudge_speed(self, delta_kmh: float, source: RequestSource) -> ControlOutcome:
        """Change the current target a little; the governor keeps it within the caps.

        A slow-down never goes below the treadmill's minimum speed (below it the
        belt would pause, and every resume start it again): it stops there, and says so.
        """
        governor = self._governor
        if governor is None:
            return ControlOutcome(accepted=False, detail="the treadmill is not connected yet")
        if not math.isfinite(delta_kmh):
            return ControlOutcome(accepted=False, detail=f"{delta_kmh!r} is not a speed change")
        current = governor.target_speed_kmh or 0.0
        direction = governor.pending_direction or governor.direction
        wanted = current + delta_kmh
        floor_kmh = governor.ranges.min_speed_kmh
        if wanted < floor_kmh:
            if delta_kmh < 0 and current <= floor_kmh:
                text = f"Already at the slowest speed, {floor_kmh:g} km/h."
                self._cue(Cue(CueKind.SPEED_FLOOR, text))
                return ControlOutcome(
                    accepted=False, detail=f"already at the slowest speed, {floor_kmh:g} km/h"
                )
            wanted = governor.ranges.raised_to_minimum(wanted)
            if delta_kmh < 0:
                self._cue(Cue(CueKind.SPEED_FLOOR, f"Slowest speed: {floor_kmh:g} km/h."))
        _log.info("session.speed_nudged", source=source, delta_kmh=delta_kmh)
        self._heart_rate.speed_changed_by_person(self._clock.now_s())
        request = SetTarget(max(0.0, wanted), direction)
        return outcome_of(request, self._request(request))

    def _begin(self, request: Start | Resume, source: RequestSource) -> ControlOutcome:
        governor = self._governor
        if governor is None:
            return ControlOutcome(accepted=False, detail="the treadmill is not connected yet")
        now = self._clock.now_s()
        refusal = self._heart_rate.start_refusal(now, by_person=source.is_person)
        if refusal is not None:
            self._emit(RecordEvent.HEART_RATE_START_REFUSED, source=source, detail=refusal)
            self._cue(Cue(CueKind.HEART_RATE, refusal, urgent=True))
            first = self._heart_rate.first_refusal_s()
            if not self._interactive and first is not None and now - first > HR_WAIT_S:
                # nobody can confirm, and no heart rate came: the session does not start
                self._refused_for_heart_rate = True
                self.end(RequestSource.HEART_RATE_REFUSAL)
            return ControlOutcome(accepted=False, detail=refusal)
        target = self._starting_target()
        if governor.state is GovernorState.IDLE and target is not None:
            self._request(target)
        _log.info("session.start_requested", source=source, kind=type(request).__name__.lower())
        return outcome_of(request, self._request(request))

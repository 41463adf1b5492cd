"""The session's heart rate: sources in, the ceiling and the zone guide out, as requests.

:class:`HeartRateSession` sits beside the :class:`~treadmill_ctl.session.runner.SessionRunner`
and turns heart rate into the governor's own requests, so nothing reaches the belt
around the governor:

* readings come from the strap's link (:class:`~treadmill_ctl.ftms.heart_rate_link.HeartRateLink`,
  in its own task: it never delays a treadmill command) or, with no strap set, from
  the treadmill's own heart-rate field (handgrips: unreliable walking backward, but
  what the person has); every reading is recorded with its source;
* each control tick the pure :class:`~treadmill_ctl.safety.heart_rate.HeartRateMonitor`
  judges the robust rate: a stop verdict becomes ``End(latch=...)``, the governor's
  controlled ramp-down and latch;
* on a guided segment (``hr_zone``) the pure
  :class:`~treadmill_ctl.safety.heart_rate.ZoneController` proposes small steps,
  which become ordinary ``SetTarget`` requests (the governor caps and ramps them);
* with a ceiling set and no valid heart rate at start, the start is refused until
  the person confirms by pressing start again (or ran with ``--without-heart-rate``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

import structlog

from treadmill_ctl.ftms.heart_rate import SensorContact
from treadmill_ctl.ftms.heart_rate_link import (
    HeartRateConnected,
    HeartRateEvent,
    HeartRateLost,
    HeartRateReceived,
)
from treadmill_ctl.safety import End, SetTarget
from treadmill_ctl.safety.heart_rate import (
    HeartRateMonitor,
    HeartRateNews,
    HeartRateReading,
    HeartRateVerdict,
    ZoneController,
)
from treadmill_ctl.safety.states import CueKind, Direction, GovernorState, LatchReason
from treadmill_ctl.session.events import Cue, RecordEvent

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.ftms.heart_rate_link import HeartRateLink
    from treadmill_ctl.profiles import PlannedSegment
    from treadmill_ctl.safety import Limits, SafetyGovernor

__all__ = ["CONFIRM_WINDOW_S", "STRAP_GRACE_S", "HeartRateSession"]

_log = structlog.get_logger("treadmill_ctl.session.heart_rate")

CONFIRM_WINDOW_S: Final = 30.0
"""A second start within this time of a refusal confirms going on without heart rate."""

STRAP_GRACE_S: Final = 10.0
"""After the first refused start, how long a strap may take to connect before the person
is offered to go on without it: an impatient double press at the very start must not
switch the protection off."""

_LATCHES: Final = {
    HeartRateVerdict.ABOVE_CEILING: LatchReason.HEART_RATE,
    HeartRateVerdict.UNKNOWN: LatchReason.HEART_RATE_UNKNOWN,
}
_NEWS: Final = {
    HeartRateNews.LOST: RecordEvent.HEART_RATE_LOST,
    HeartRateNews.BACK: RecordEvent.HEART_RATE_BACK,
}
_MOVING: Final = frozenset(
    {GovernorState.RUNNING, GovernorState.TURNING_AROUND, GovernorState.ENDING}
)


class HeartRateSession:
    """Heart rate for one session.

    Args:
        limits: The limits in force (``heart_rate_max_bpm`` is the ceiling).
        link: The strap's link, or None to use the treadmill's own heart rate.
        confirmed_without: The person said before the start to go on without a
            heart-rate source (``--without-heart-rate``).
        emit: The runner's event output (``kind``, fields): recorded and observed.
        cue: The runner's cue output, for the person.
    """

    def __init__(
        self,
        *,
        limits: Limits,
        link: HeartRateLink | None,
        confirmed_without: bool,
        emit: Callable[..., None],
        cue: Callable[[Cue], None],
    ) -> None:
        self.link = link
        self.monitor = HeartRateMonitor(
            ceiling_bpm=limits.heart_rate_max_bpm, require_source=not confirmed_without
        )
        self._emit = emit
        self._cue = cue
        self._refused_at_s: float | None = None
        self._first_refusal_s: float | None = None
        self._zone: ZoneController | None = None
        self._zone_segment: int | None = None

    @property
    def ceiling_bpm(self) -> float | None:
        """The heart-rate ceiling, if one is set."""
        return self.monitor.ceiling_bpm

    def first_refusal_s(self) -> float | None:
        """When the start was first refused for want of a heart rate (None: never)."""
        return self._first_refusal_s

    # -- sources ------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the strap connected and feed its readings in, until cancelled.

        The strap's link runs in a task of this group (it owns its event stream);
        cancelled, both stop.
        """
        link = self.link
        if link is None:
            return
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(link.run(), name="session.heart_rate_link")
            async for event in link.events():
                self._handle(event)

    def _handle(self, event: HeartRateEvent) -> None:
        match event:
            case HeartRateReceived(measurement=value, source=source, at_s=at_s):
                contact = value.contact is not SensorContact.NOT_DETECTED
                reading = HeartRateReading(value.heart_rate_bpm, contact=contact, source=source)
                accepted = self.monitor.feed(reading, at_s)
                _log.info(
                    RecordEvent.HEART_RATE_SAMPLE,
                    heart_rate_bpm=value.heart_rate_bpm,
                    source=source,
                    contact=value.contact.value,
                    rr_s=[round(rr, 4) for rr in value.plausible_rr_intervals_s],
                    accepted=accepted,
                    notes=list(value.notes) or None,
                )
            case HeartRateConnected(name=name, address=address, location=location):
                self._emit(
                    RecordEvent.HEART_RATE_CONNECTED,
                    name=name,
                    address=address,
                    location=None if location is None else location.name.lower(),
                )
            case HeartRateLost(reason=reason):
                self._emit(RecordEvent.HEART_RATE_LINK_LOST, reason=reason)

    def treadmill_heart_rate(self, heart_rate_bpm: int | None, now_s: float) -> None:
        """The treadmill's own heart rate: a source only when no strap is set."""
        if self.link is not None or heart_rate_bpm is None:
            return
        self.monitor.feed(HeartRateReading(heart_rate_bpm, source="treadmill"), now_s)

    def display_bpm(self, now_s: float) -> int | None:
        """The robust heart rate to show, or None when unknown."""
        value = self.monitor.robust.value_bpm(now_s)
        return None if value is None else round(value)

    # -- start, re-arm ----------------------------------------------------------------

    def start_refusal(self, now_s: float, *, by_person: bool) -> str | None:
        """Why the belt may not start for want of a heart rate, or None when it may.

        A ceiling is set, it needs a source, and no valid heart rate is there: the
        start is refused with words saying so. For :data:`STRAP_GRACE_S` after the
        first refusal the strap may still be connecting: the person is asked to wait.
        After that, the refusal offers going on without, and the person's next start
        within :data:`CONFIRM_WINDOW_S` confirms it (never a stand-in's).
        """
        monitor = self.monitor
        if (
            monitor.ceiling_bpm is None
            or not monitor.requires_source
            or monitor.robust.value_bpm(now_s) is not None
        ):
            return None
        if (
            by_person
            and self._refused_at_s is not None
            and now_s - self._refused_at_s <= CONFIRM_WINDOW_S
        ):
            monitor.requires_source = False
            self._emit(RecordEvent.HEART_RATE_CONFIRMED_WITHOUT, ceiling_bpm=monitor.ceiling_bpm)
            self._cue(Cue(CueKind.HEART_RATE, "Going on without heart-rate protection."))
            return None
        if self._first_refusal_s is None:
            self._first_refusal_s = now_s
        source = self.link.label if self.link is not None else "the treadmill"
        if now_s - self._first_refusal_s < STRAP_GRACE_S:
            return f"Waiting for a heart rate from {source}: press start again in a moment."
        self._refused_at_s = now_s
        return (
            f"No heart rate from {source}, and your heart-rate ceiling is "
            f"{monitor.ceiling_bpm:g} bpm: the belt stays still. Check the strap, or press "
            "start again to go on without heart-rate protection."
        )

    def rearm(self) -> None:
        """The person re-armed: the ceiling may stop the belt again."""
        self.monitor.rearm()

    def speed_changed_by_person(self, now_s: float) -> None:
        """The person nudged the speed: the zone guide holds off for a while."""
        if self._zone is not None:
            self._zone.changed_from_outside(now_s)

    # -- each tick ---------------------------------------------------------------------

    def tick(
        self, now_s: float, governor: SafetyGovernor, segment: PlannedSegment | None
    ) -> list[End | SetTarget]:
        """Judge the heart rate now; return the requests for the governor.

        Args:
            now_s: The clock's time.
            governor: The governor (read only: its state, speeds and caps).
            segment: The segment running now (None between segments or when not running).
        """
        moving = governor.state in _MOVING and governor.commanded_speed_kmh > 0
        update = self.monitor.update(now_s, moving=moving)
        requests: list[End | SetTarget] = []
        if update.news is not None:
            self._emit(_NEWS[update.news], detail=update.why)
            if update.news is HeartRateNews.LOST and update.stop is None:
                # (with a stop, its alarm says so: this cue would only be cut off by it)
                self._cue(Cue(CueKind.HEART_RATE, "Heart rate lost: check the strap."))
        if update.stop is not None:
            self._emit(RecordEvent.HEART_RATE_STOP, verdict=update.stop.value, detail=update.why)
            requests.append(End(latch=_LATCHES[update.stop], why=update.why))
            return requests
        step = self._zone_step(now_s, governor, segment, update.heart_rate_bpm)
        if step is not None:
            requests.append(step)
        return requests

    def _zone_step(
        self,
        now_s: float,
        governor: SafetyGovernor,
        segment: PlannedSegment | None,
        heart_rate_bpm: float | None,
    ) -> SetTarget | None:
        if segment is None or segment.hr_zone_bpm is None:
            self._zone = None
            self._zone_segment = None
            return None
        direction = Direction(segment.direction)
        if self._zone_segment != segment.index or self._zone is None:
            top = min(segment.max_speed_kmh or segment.speed_kmh, governor.speed_cap_kmh(direction))
            self._zone = ZoneController(
                zone_bpm=segment.hr_zone_bpm,
                max_speed_kmh=top,
                min_speed_kmh=max(0.5, governor.ranges.min_speed_kmh),
                backward=direction is Direction.BACKWARD,
                now_s=now_s,
            )
            self._zone_segment = segment.index
        if governor.state is not GovernorState.RUNNING or governor.direction is not direction:
            return None
        speed_kmh = governor.target_speed_kmh or segment.speed_kmh
        step = self._zone.update(now_s, heart_rate_bpm, speed_kmh)
        if step is None:
            return None
        self._emit(
            RecordEvent.ZONE_STEP,
            speed_kmh=step.speed_kmh,
            zone_bpm=list(segment.hr_zone_bpm),
            heart_rate_bpm=None if heart_rate_bpm is None else round(heart_rate_bpm),
            detail=step.why,
        )
        self._cue(Cue(CueKind.HEART_RATE_ZONE, step.said))
        return SetTarget(step.speed_kmh, direction, segment.incline_pct)

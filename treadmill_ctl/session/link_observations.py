"""What the treadmill's link reports, as the safety governor understands it.

Pure translations, at the seam between ``ftms`` and ``safety``: the link's events to
the governor's observations (:func:`to_observation`), and the treadmill's reported
ranges to the governor's (:func:`ranges_from`), checked and never trusted.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import structlog

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.ftms import link_events as ftms_link
from treadmill_ctl.ftms.observations import MachineStatusCode, StopPauseKind
from treadmill_ctl.safety import (
    BeltData,
    ControlLost,
    LinkDown,
    LinkUp,
    MachineRanges,
    SafetyKeyPulled,
    StartedByUser,
    StoppedByUser,
    TargetSpeedChanged,
)

if TYPE_CHECKING:
    from treadmill_ctl.ftms.link_events import LinkEvent, MachineInfo
    from treadmill_ctl.safety import Observation

__all__ = ["ranges_from", "to_observation"]

_log = structlog.get_logger("treadmill_ctl.session")


def ranges_from(info: MachineInfo) -> MachineRanges:
    """The governor's view of the treadmill's ranges; conservative when not usable.

    :class:`MachineRanges` checks the values; a range it refuses is replaced (a flat
    deck for a bad incline range, the fallback for a bad speed range), never trusted.
    """
    speed, incline = info.speed_range, info.incline_range
    if speed is None:
        _log.warning("session.ranges_fallback", reason="no Supported Speed Range")
        return MachineRanges.fallback()
    speeds = {
        "min_speed_kmh": speed.min_kmh,
        "max_speed_kmh": speed.max_kmh,
        "speed_increment_kmh": speed.increment_kmh,
    }
    if incline is not None:
        with contextlib.suppress(ConfigError):
            return MachineRanges(
                **speeds,
                min_incline_pct=incline.min_pct,
                max_incline_pct=incline.max_pct,
                incline_increment_pct=incline.increment_pct,
            )
        _log.warning("session.ranges_fallback", reason=f"unusable incline range {incline}")
    try:
        return MachineRanges(**speeds)
    except ConfigError as error:
        _log.warning("session.ranges_fallback", reason=str(error))
        return MachineRanges.fallback()


def to_observation(event: LinkEvent) -> Observation | None:
    """Translate what the link reports into what the governor understands."""
    match event:
        case ftms_link.DataReceived(data=data):
            if data.speed_kmh is None:
                return None
            return BeltData(
                speed_kmh=data.speed_kmh,
                incline_pct=data.incline_pct,
                elapsed_s=data.elapsed_s,
                heart_rate_bpm=data.heart_rate_bpm,
                frame=data.raw,
                distance_m=data.distance_m,
            )
        case ftms_link.StatusReceived(status=status):
            return _status_observation(status.code, status.stop_pause, status.target_speed_kmh)
        case ftms_link.LinkConnected():
            return LinkUp()
        case ftms_link.LinkLost():
            return LinkDown()
        case _:
            return None


def _status_observation(
    code: MachineStatusCode | None, stop_pause: StopPauseKind | None, target_kmh: float | None
) -> Observation | None:
    match code:
        case MachineStatusCode.STOPPED_OR_PAUSED_BY_USER:
            return StoppedByUser(paused=stop_pause is StopPauseKind.PAUSE)
        case MachineStatusCode.STOPPED_BY_SAFETY_KEY:
            return SafetyKeyPulled()
        case MachineStatusCode.STARTED_OR_RESUMED_BY_USER:
            return StartedByUser()
        case MachineStatusCode.TARGET_SPEED_CHANGED if target_kmh is not None:
            return TargetSpeedChanged(target_kmh)
        case MachineStatusCode.CONTROL_PERMISSION_LOST:
            return ControlLost()
        case _:
            return None

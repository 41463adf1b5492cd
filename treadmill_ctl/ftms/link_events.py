"""The FTMS link's events, what the treadmill is, and the clock that stamps them.

Every value the treadmill sends becomes one :data:`LinkEvent` in the link's own
stream (:class:`~treadmill_ctl.ftms.event_stream.EventStream`); :func:`droppable`
is that stream's overflow rule: a belt data frame or an answer may go (the next of its
kind replaces it), a link going down or coming back, or a machine status, never.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadmill_ctl.ftms.observations import (
        ControlPointResponse,
        InclineRange,
        MachineFeatures,
        MachineStatus,
        SpeedRange,
        TrainingStatus,
        TreadmillData,
    )

__all__ = [
    "AnswerReceived",
    "DataReceived",
    "DecodeFailed",
    "LinkConnected",
    "LinkEvent",
    "LinkLost",
    "MachineInfo",
    "StatusReceived",
    "TrainingStatusReceived",
    "droppable",
]


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """What the treadmill told us about itself when we connected."""

    name: str
    address: str
    device_information: dict[str, str]
    features: MachineFeatures | None
    speed_range: SpeedRange | None
    incline_range: InclineRange | None
    has_control_point: bool


@dataclass(frozen=True, slots=True)
class LinkConnected:
    """The link is connected and subscribed; commands can be sent.

    What the link reports, with the machine's information and when; the session
    tells the governor only that the link is up (``safety.observations.LinkUp``).
    """

    info: MachineInfo
    at_s: float


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The link was lost (or closed); nothing reaches the treadmill until it is back.

    With the reason and when; the governor is told only ``safety.observations.LinkDown``.
    """

    reason: str
    at_s: float


@dataclass(frozen=True, slots=True)
class DataReceived:
    """A complete, valid Treadmill Data record (split records already merged)."""

    data: TreadmillData
    at_s: float


@dataclass(frozen=True, slots=True)
class StatusReceived:
    """A Fitness Machine Status notification."""

    status: MachineStatus
    at_s: float


@dataclass(frozen=True, slots=True)
class TrainingStatusReceived:
    """A Training Status value (read at connect, then notified)."""

    status: TrainingStatus
    at_s: float


@dataclass(frozen=True, slots=True)
class AnswerReceived:
    """A control point answer (``80 <op> <result>``), matched or not to a command."""

    response: ControlPointResponse
    at_s: float


@dataclass(frozen=True, slots=True)
class DecodeFailed:
    """A notification that could not be decoded: counted, logged, never a command."""

    characteristic: str
    raw: bytes
    error: str
    at_s: float


type LinkEvent = (
    LinkConnected
    | LinkLost
    | DataReceived
    | StatusReceived
    | TrainingStatusReceived
    | AnswerReceived
    | DecodeFailed
)


def droppable(event: LinkEvent) -> bool:
    """What a full event stream may drop: what the next of its kind replaces."""
    return isinstance(event, DataReceived | AnswerReceived | TrainingStatusReceived | DecodeFailed)

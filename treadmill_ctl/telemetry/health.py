"""The broker connection's health: up, down, flapping or taken over, and when to retry.

:class:`LinkHealth` tells a connection's recent history as one :class:`StatusReport`
(the dashboard's MQTT line); :func:`backoff_delays` spaces the reconnects;
:func:`run_client_id` names each run so nobody can take the connection over by
guessing its id; :func:`describe_error` and :func:`first_error` put what went wrong
into one line; :class:`BridgeStats` counts what the bridge did. Pure apart from
the randomness the callers may inject.
"""

from __future__ import annotations

import random
import secrets
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

import aiomqtt

if TYPE_CHECKING:
    from collections.abc import Iterator

SHORT_LIVED_S: Final = 10.0
"""A connection the broker closes sooner than this after it was made counts as short-lived."""
FLAP_WINDOW_S: Final = 60.0
FLAP_COUNT: Final = 3
"""This many losses within :data:`FLAP_WINDOW_S` is flapping; this many short-lived
connections in a row is a takeover."""
CLIENT_ID_PREFIX: Final = "tmctl"


@dataclass(slots=True)
class BridgeStats:
    """Counters for the dashboard, the record and tests; the bridge updates them."""

    connections: int = 0
    connect_failures: int = 0
    telemetry_published: int = 0
    states_published: int = 0
    events_published: int = 0
    events_dropped: int = 0
    commands_accepted: int = 0
    commands_refused: int = 0
    commands_dropped: int = 0


def run_client_id(treadmill_id: str, *, rng: random.Random | None = None) -> str:
    """A client id for one run: ``tmctl-<end of the treadmill id>-<8 random hex digits>``.

    At most 23 characters, the length every MQTT 3.1.1 broker must accept, and
    unpredictable, so nobody can take the connection over by guessing it.
    """
    suffix = f"{rng.getrandbits(32):08x}" if rng is not None else secrets.token_hex(4)
    return f"{CLIENT_ID_PREFIX}-{treadmill_id[-8:]}-{suffix}"


class MqttStatus(StrEnum):
    """The broker connection as the dashboard's MQTT line shows it."""

    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    FLAPPING = "flapping"
    TAKEN_OVER = "taken_over"


@dataclass(frozen=True, slots=True)
class StatusReport:
    """One status and the sentence that explains it."""

    status: MqttStatus
    detail: str = ""

    def line(self) -> str:
        """E.g. ``"up"`` or ``"TAKEN OVER: the broker closed..."``."""
        if self.status in {MqttStatus.UP, MqttStatus.CONNECTING}:
            return str(self.status)
        word = self.status.replace("_", " ").upper()
        return f"{word}: {self.detail}" if self.detail else word


class LinkHealth:
    """The broker connection's recent history, told as up, down, flapping or taken over.

    Pure: every method takes the time. A takeover cannot be told apart from other
    trouble with certainty over MQTT 3.1.1 (the broker just closes the socket), so
    it is inferred from its signature: connections that are accepted and then closed
    by the broker within :data:`SHORT_LIVED_S`, :data:`FLAP_COUNT` times in a row.
    """

    def __init__(self, client_id: str) -> None:
        self._client_id = client_id
        self._connected_at: float | None = None
        self._losses: deque[float] = deque(maxlen=FLAP_COUNT * 4)
        self._short_in_a_row = 0
        self._ever_tried = False
        self._last_error = ""

    def connected(self, now: float) -> None:
        """The broker accepted a connection."""
        self._ever_tried = True
        self._connected_at = now

    def lost(self, now: float, error: str) -> None:
        """A connection that was up ended."""
        lived_s = now - self._connected_at if self._connected_at is not None else 0.0
        self._short_in_a_row = self._short_in_a_row + 1 if lived_s < SHORT_LIVED_S else 0
        self._losses.append(now)
        self._connected_at = None
        self._last_error = error

    def connect_failed(self, error: str) -> None:
        """A connection attempt failed (refused, unreachable, timed out)."""
        self._ever_tried = True
        self._last_error = error

    def lived_long(self, now: float) -> bool:
        """Whether the current connection has been up for :data:`SHORT_LIVED_S` or more."""
        return self._connected_at is not None and now - self._connected_at >= SHORT_LIVED_S

    def report(self, now: float) -> StatusReport:
        """The status at ``now``."""
        if self.lived_long(now):
            self._short_in_a_row = 0
        recent = sum(1 for at in self._losses if now - at <= FLAP_WINDOW_S)
        if self._short_in_a_row >= FLAP_COUNT:
            return StatusReport(
                MqttStatus.TAKEN_OVER,
                f"the broker closed the connection {self._short_in_a_row} times right after"
                f" it was made: another client is probably using client id"
                f" {self._client_id!r}",
            )
        if recent >= FLAP_COUNT:
            return StatusReport(
                MqttStatus.FLAPPING,
                f"{recent} connection losses in the last {FLAP_WINDOW_S:g} s"
                f" (last: {self._last_error or 'connection lost'})",
            )
        if self._connected_at is not None:
            return StatusReport(MqttStatus.UP)
        if not self._ever_tried:
            return StatusReport(MqttStatus.CONNECTING)
        return StatusReport(MqttStatus.DOWN, self._last_error or "not connected")


def backoff_delays(
    min_s: float, max_s: float, *, rng: random.Random | None = None
) -> Iterator[float]:
    """Reconnect delays: doubling from ``min_s`` up to ``max_s``, each jittered.

    Each delay is drawn between half and all of the current ceiling, so controllers
    that lost the same broker at the same moment do not all come back at once.
    """
    draw = rng or random.Random()
    ceiling_s = min_s
    while True:
        yield draw.uniform(ceiling_s / 2, ceiling_s)
        ceiling_s = min(max_s, ceiling_s * 2)


def describe_error(exc: aiomqtt.MqttError) -> str:
    """The broker error in one line, its cause included when aiomqtt wraps one."""
    text = str(exc)
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return text[:200]


def first_error(group: ExceptionGroup[Exception]) -> Exception:
    """The first leaf of a task group's errors: a broker error if there is one."""
    leaves: list[Exception] = []
    stack: list[Exception] = [group]
    while stack:
        current = stack.pop()
        if isinstance(current, ExceptionGroup):
            stack.extend(reversed(current.exceptions))
        else:
            leaves.append(current)
    broker_errors = [leaf for leaf in leaves if isinstance(leaf, aiomqtt.MqttError)]
    return (broker_errors or leaves)[0]

"""Remote commands from arrival to reply: the intake, the inbox, acting and answering.

Commands are read on arrival, never queued behind others: the bridge's own queue
for aiomqtt (:func:`intake_for`) stores nothing and hands each message to
:meth:`CommandDesk.arrive` as the packet is read. A stop is acted on there and then,
and its reply goes ahead of every other; other commands wait in a bounded
:class:`CommandInbox` for the bridge's answering task, and those beyond its bound are
not acted on but answered together ("dropped"). No payload can make the desk raise,
so none can drop the connection. Publishing the replies is the bridge's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import aiomqtt

from treadmill_ctl.telemetry.commands import (
    CommandName,
    RefusalReason,
    Refused,
    RemoteCommand,
    decide,
    dispatch,
    dropped_reply_json,
    printable,
    reply_json,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from structlog.typing import FilteringBoundLogger

    from treadmill_ctl.session.events import SessionControl
    from treadmill_ctl.telemetry.health import BridgeStats
    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings
    from treadmill_ctl.telemetry.topics import Topics

DEFAULT_INBOX: Final = 256
"""Commands (other than stops) waiting for an answer; more at once are dropped, and said so."""
URGENT_REPLIES: Final = 256
"""Stop replies waiting to be sent; beyond that, further stops (still acted on) share one."""
MAX_DROPPED_IDS: Final = 32
REPLY_BATCH: Final = 8


@dataclass(slots=True)
class Pending:
    """One command between its arrival and its reply."""

    outcome: RemoteCommand | Refused
    topic: str
    payload: bytes
    acted: bool = False
    """Already handed to the session (a stop, on arrival)."""
    reply: bytes | None = None


@dataclass(slots=True)
class Dropped:
    """Commands not acted on because the inbox was full; answered in one reply."""

    topic: str
    count: int = 0
    request_ids: list[str | int] = field(default_factory=list)
    closing: bool = False
    """Left waiting when the bridge closed, rather than beyond the inbox's bound."""


type Answerable = Pending | Dropped | int
"""What the inbox hands out: one command, the dropped ones, or a count of merged stops."""


class CommandInbox:
    """Commands waiting for their answer: stops (already acted on) first, others bounded.

    Args:
        capacity: how many commands other than stops may wait; one more is dropped
            (not acted on) and counted, to be answered as dropped.
    """

    def __init__(self, capacity: int = DEFAULT_INBOX) -> None:
        self._capacity = max(1, capacity)
        self._urgent: deque[Pending] = deque()
        self._normal: deque[Pending] = deque()
        self._dropped: Dropped | None = None
        self._merged_stops = 0
        self._merged_topic = ""
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        """Items waiting (a batch of dropped commands counts as one)."""
        extra = (self._dropped is not None) + (self._merged_stops > 0)
        return len(self._urgent) + len(self._normal) + extra

    def put(self, item: Pending, *, urgent: bool) -> bool:
        """Keep ``item`` for an answer; ``False`` when it was dropped instead."""
        if urgent:
            if len(self._urgent) < URGENT_REPLIES:
                self._urgent.append(item)
            else:
                self._merged_stops += 1
                self._merged_topic = item.topic
            self._ready.set()
            return True
        if len(self._normal) >= self._capacity:
            self._drop(item)
            return False
        self._normal.append(item)
        self._ready.set()
        return True

    def close(self) -> None:
        """The bridge is closing: what still waits is not acted on, but answered as one."""
        while self._normal:
            self._drop(self._normal.popleft(), closing=True)

    def _drop(self, item: Pending, *, closing: bool = False) -> None:
        dropped = self._dropped or Dropped(item.topic)
        dropped.count += 1
        dropped.closing = dropped.closing or closing
        if item.outcome.request_id is not None and len(dropped.request_ids) < MAX_DROPPED_IDS:
            dropped.request_ids.append(item.outcome.request_id)
        self._dropped = dropped
        self._ready.set()

    def put_back(self, item: Pending) -> None:
        """Return an item whose reply could not be sent, to be sent first next time."""
        self._urgent.appendleft(item)
        self._ready.set()

    def take(self) -> Answerable | None:
        """The next thing to answer: a stop, the stops merged, the dropped, a command."""
        if self._urgent:
            return self._urgent.popleft()
        if self._merged_stops:
            merged, self._merged_stops = self._merged_stops, 0
            return merged
        if self._dropped is not None:
            dropped, self._dropped = self._dropped, None
            return dropped
        if self._normal:
            return self._normal.popleft()
        self._ready.clear()
        return None

    @property
    def merged_topic(self) -> str:
        """The topic of the latest stop whose reply was merged."""
        return self._merged_topic

    async def wait(self) -> None:
        """Return once something may be waiting."""
        await self._ready.wait()


def intake_for(receive: Callable[[aiomqtt.Message], None]) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A queue class for aiomqtt that queues nothing: each message goes to ``receive``.

    aiomqtt puts every incoming message in its queue from the socket's read callback;
    this one hands it on at once, so the bridge sees (and acts on) a stop as soon as
    its packet is read, whatever arrived before it. Its ``get`` never returns, so
    iterating ``client.messages`` only waits for the connection to end.
    """

    class Intake(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            receive(item)

    return Intake


class CommandDesk:
    """Takes each command as it arrives, acts on it in turn and builds its reply.

    Args:
        settings: the broker settings (the treadmill id, whether remote control is allowed).
        topics: the command topics listened on.
        control: where accepted commands go (the session runner).
        stats: the bridge's counters, updated here for commands.
        log: the bridge's logger.
        inbox_capacity: commands other than stops that may wait for their turn.
    """

    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        control: SessionControl,
        *,
        stats: BridgeStats,
        log: FilteringBoundLogger,
        inbox_capacity: int = DEFAULT_INBOX,
    ) -> None:
        self._settings = settings
        self._topics = topics
        self._control = control
        self._stats = stats
        self._log = log
        self._command_topics = frozenset({topics.cmd, topics.broadcast_cmd})
        self.inbox = CommandInbox(inbox_capacity)
        """What waits for an answer."""

    def arrive(self, message: aiomqtt.Message) -> None:
        """Called by aiomqtt as each message is read; never raises, never waits.

        A stop goes to the session here and now; other commands wait in the inbox
        for the bridge's answering task (or are dropped, and answered so, when it is full).
        """
        try:
            topic = str(message.topic)
            if topic not in self._command_topics:  # brokers may deliver more than asked
                self._log.debug("mqtt.message_ignored", topic=printable(topic[:120]))
                return
            payload = message.payload if isinstance(message.payload, bytes) else b""
            outcome = decide(
                payload,
                allow_remote_control=self._settings.allow_remote_control,
                broadcast=topic == self._topics.broadcast_cmd,
                retained=bool(message.retain),
            )
            item = Pending(outcome, topic, payload[:120])
            if isinstance(outcome, RemoteCommand) and outcome.name is CommandName.STOP:
                item.outcome = self._dispatch(outcome)
                item.acted = True
                self.inbox.put(item, urgent=True)
            elif not self.inbox.put(item, urgent=False):
                self._stats.commands_dropped += 1
                self._log.warning(
                    "mqtt.command_dropped",
                    topic=topic,
                    request_id=_shown_id(outcome.request_id),
                    waiting=len(self.inbox),
                )
        except Exception:  # noqa: BLE001 - nothing that arrives may break the connection
            self._log.exception("mqtt.arrival_failed")

    def take_batch(self) -> list[tuple[Answerable, bytes]]:
        """Up to :data:`REPLY_BATCH` waiting items, each acted on, with its reply."""
        batch: list[tuple[Answerable, bytes]] = []
        while len(batch) < REPLY_BATCH and (item := self.inbox.take()) is not None:
            batch.append((item, self._reply_payload(item)))
        return batch

    def _reply_payload(self, item: Answerable) -> bytes:
        if isinstance(item, Dropped):
            return dropped_reply_json(
                self._settings.treadmill_id,
                count=item.count,
                request_ids=item.request_ids,
                topic=item.topic,
                closing=item.closing,
            )
        if isinstance(item, int):
            merged = RemoteCommand(
                CommandName.STOP,
                detail=f"{item} more stop(s) arrived at once and were taken; one reply for them",
            )
            return reply_json(self._settings.treadmill_id, merged, topic=self.inbox.merged_topic)
        return self._answer(item)

    def _answer(self, item: Pending) -> bytes:
        """Act on ``item`` if not yet done, log the outcome and build its reply (once)."""
        if item.reply is not None:
            return item.reply
        outcome = item.outcome
        if isinstance(outcome, RemoteCommand) and not item.acted:
            outcome = self._dispatch(outcome)
            item.acted = True
        if isinstance(outcome, RemoteCommand):
            self._stats.commands_accepted += 1
            self._log.info(
                "mqtt.command_accepted",
                command=outcome.name,
                request_id=_shown_id(outcome.request_id),
                detail=outcome.detail,
                topic=item.topic,
            )
        else:
            self._stats.commands_refused += 1
            self._log.warning(
                "mqtt.command_refused",
                command=outcome.command,
                reason=outcome.reason,
                detail=outcome.detail,
                request_id=_shown_id(outcome.request_id),
                topic=item.topic,
                payload=printable(item.payload.decode("utf-8", "replace")),
            )
        item.reply = reply_json(self._settings.treadmill_id, outcome, topic=item.topic)
        return item.reply

    def _dispatch(self, command: RemoteCommand) -> RemoteCommand | Refused:
        try:
            return dispatch(command, self._control)
        except Exception as exc:  # noqa: BLE001 - reported to the sender and logged
            self._log.exception("mqtt.command_failed", command=command.name)
            return Refused(
                RefusalReason.SESSION_ERROR,
                f"the session could not take {command.name}: {type(exc).__name__}",
                command=command.name,
                request_id=command.request_id,
            )

    def drop_unanswered(self) -> None:
        """At the end: log what could not be answered (the broker was gone)."""
        unanswered = 0
        self.inbox.close()
        while (item := self.inbox.take()) is not None:
            if isinstance(item, Pending):
                unanswered += 1
            else:
                unanswered += item.count if isinstance(item, Dropped) else item
        if unanswered:
            self._log.warning("mqtt.replies_unsent", count=unanswered)

    # -- status -----------------------------------------------------------------------


def _shown_id(request_id: str | int | None) -> str | int | None:
    return printable(request_id) if isinstance(request_id, str) else request_id

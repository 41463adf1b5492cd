"""The MQTT bridge: the session's state out to a broker, remote stops in.

The bridge is a :class:`~treadmill_ctl.session.events.SessionObserver`. The runner
calls :meth:`MqttBridge.on_snapshot` and :meth:`MqttBridge.on_event` from its control
loop; they only store the value (the latest snapshot in a one-value slot, events in
a bounded deque that drops the oldest) and return. A background task does all the
network work: it connects with aiomqtt, announces itself (availability, Home
Assistant discovery, the retained state), publishes, takes commands from the ``cmd``
topics and reconnects with capped, jittered back-off when the broker is down or goes
away. So a slow or absent broker never delays a control step, and the session runs
on safely without one.

Commands are read on arrival, never queued behind others: the bridge's own queue
for aiomqtt (:func:`_intake_for`) stores nothing and hands each message to
:meth:`MqttBridge._on_arrival` as the packet is read. A stop is acted on there and
then, and its reply goes ahead of every other; other commands wait in a bounded
:class:`CommandInbox` for the answering task, and those beyond its bound are not
acted on but answered together ("dropped"). No payload can make the bridge raise,
so none can drop the connection.

The connection's health is watched (:class:`LinkHealth`): up, down, flapping, or
taken over (the broker closes it right after each connect, which is what a second
client with our client id does). Each change is logged (so it is in the session
record) and handed to the status observers (the dashboard's MQTT line).

Use it as an async context manager around the session (one use per bridge)::

    async with MqttBridge(settings, control) as bridge:
        runner.add_observer(bridge)
        ...  # the session

or run :meth:`MqttBridge.run` in a task group of your own and call
:meth:`MqttBridge.close` at the end.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Self

import aiomqtt
import structlog

from treadmill_ctl.session.events import RecordEvent, SessionEvent
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
from treadmill_ctl.telemetry.discovery import (
    TreadmillDevice,
    discovery_messages,
    removal_messages,
)
from treadmill_ctl.telemetry.payloads import StateView, event_json, telemetry_json
from treadmill_ctl.telemetry.topics import OFFLINE, ONLINE, Topics

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

    from treadmill_ctl.session.events import (
        Cue,
        SessionControl,
        SessionObserver,
        SessionSnapshot,
    )
    from treadmill_ctl.telemetry.discovery import DiscoveryMessage
    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

DEFAULT_EVENT_BUFFER: Final = 256
_QOS_AT_LEAST_ONCE: Final = 1
_QOS_AT_MOST_ONCE: Final = 0
DEFAULT_INBOX: Final = 256
"""Commands (other than stops) waiting for an answer; more at once are dropped, and said so."""
_URGENT_REPLIES: Final = 256
"""Stop replies waiting to be sent; beyond that, further stops (still acted on) share one."""
_MAX_DROPPED_IDS: Final = 32
_REPLY_BATCH: Final = 8
"""Commands acted on, and replies published at once, per turn of the answering task
(aiomqtt warns above 10 publishes waiting for the broker at once)."""
SHORT_LIVED_S: Final = 10.0
"""A connection the broker closes sooner than this after it was made counts as short-lived."""
FLAP_WINDOW_S: Final = 60.0
FLAP_COUNT: Final = 3
"""This many losses within :data:`FLAP_WINDOW_S` is flapping; this many short-lived
connections in a row is a takeover."""
_HEALTH_CHECK_S: Final = 1.0
CLIENT_ID_PREFIX: Final = "tmctl"
STATUS_EVENT: Final = "mqtt.status"
"""The kind of the :class:`SessionEvent` status observers receive."""


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


@dataclass(slots=True)
class _Pending:
    """One command between its arrival and its reply."""

    outcome: RemoteCommand | Refused
    topic: str
    payload: bytes
    acted: bool = False
    """Already handed to the session (a stop, on arrival)."""
    reply: bytes | None = None


@dataclass(slots=True)
class _Dropped:
    """Commands not acted on because the inbox was full; answered in one reply."""

    topic: str
    count: int = 0
    request_ids: list[str | int] = field(default_factory=list)
    closing: bool = False
    """Left waiting when the bridge closed, rather than beyond the inbox's bound."""


class CommandInbox:
    """Commands waiting for their answer: stops (already acted on) first, others bounded.

    Args:
        capacity: how many commands other than stops may wait; one more is dropped
            (not acted on) and counted, to be answered as dropped.
    """

    def __init__(self, capacity: int = DEFAULT_INBOX) -> None:
        self._capacity = max(1, capacity)
        self._urgent: deque[_Pending] = deque()
        self._normal: deque[_Pending] = deque()
        self._dropped: _Dropped | None = None
        self._merged_stops = 0
        self._merged_topic = ""
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        """Items waiting (a batch of dropped commands counts as one)."""
        extra = (self._dropped is not None) + (self._merged_stops > 0)
        return len(self._urgent) + len(self._normal) + extra

    def put(self, item: _Pending, *, urgent: bool) -> bool:
        """Keep ``item`` for an answer; ``False`` when it was dropped instead."""
        if urgent:
            if len(self._urgent) < _URGENT_REPLIES:
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

    def _drop(self, item: _Pending, *, closing: bool = False) -> None:
        dropped = self._dropped or _Dropped(item.topic)
        dropped.count += 1
        dropped.closing = dropped.closing or closing
        if item.outcome.request_id is not None and len(dropped.request_ids) < _MAX_DROPPED_IDS:
            dropped.request_ids.append(item.outcome.request_id)
        self._dropped = dropped
        self._ready.set()

    def put_back(self, item: _Pending) -> None:
        """Return an item whose reply could not be sent, to be sent first next time."""
        self._urgent.appendleft(item)
        self._ready.set()

    def take(self) -> _Pending | _Dropped | int | None:
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


def _intake_for(receive: Callable[[aiomqtt.Message], None]) -> type[asyncio.Queue[aiomqtt.Message]]:
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


class MqttBridge:
    """Publishes a session to MQTT and hands remote stops to its :class:`SessionControl`.

    The observer methods must be called on the event loop's thread (the runner's);
    they never await and never raise. Accepted commands call ``control`` from the
    bridge's task on the same loop, with ``source="mqtt"``.

    Args:
        settings: the broker, the topics and what remote commands may do.
        control: where accepted commands go (the session runner).
        device_name: the Home Assistant device name (default "Treadmill <id>").
        model: the treadmill model for Home Assistant, when known.
        remove_discovery_at_end: a dry run: remove the Home Assistant entries when
            the bridge closes, so no simulated device stays.
        event_buffer: how many events to keep while the broker is slow or away; the
            oldest are dropped beyond that (counted in :attr:`stats`).
        inbox_capacity: commands other than stops that may wait for their turn; more
            at once are dropped and answered as dropped (a stop never waits).
        rng: jitter source for the reconnect back-off and the client id (tests pass a
            seeded one).
    """

    def __init__(
        self,
        settings: MqttSettings,
        control: SessionControl,
        *,
        device_name: str | None = None,
        model: str | None = None,
        remove_discovery_at_end: bool = False,
        event_buffer: int = DEFAULT_EVENT_BUFFER,
        inbox_capacity: int = DEFAULT_INBOX,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._control = control
        self._topics = Topics.for_settings(settings)
        self._discovery = (
            discovery_messages(settings, device_name=device_name, model=model)
            if settings.discovery
            else []
        )
        self._remove_discovery = remove_discovery_at_end
        self._rng = rng
        self.client_id = settings.client_id or run_client_id(settings.treadmill_id, rng=rng)
        """The client id of this run: the pinned one, or a fresh random one."""
        # Unbound until each call, so logging configured later (the session record) applies.
        self._log = structlog.get_logger(
            "treadmill_ctl.telemetry.bridge",
            treadmill_id=settings.treadmill_id,
            broker=settings.describe(),
        )
        self.stats = BridgeStats()
        self._command_topics = frozenset({self._topics.cmd, self._topics.broadcast_cmd})
        self._inbox = CommandInbox(inbox_capacity)
        self._intake = _intake_for(self._on_arrival)
        self._health = LinkHealth(self.client_id)
        self._status = StatusReport(MqttStatus.CONNECTING)
        self._status_observers: list[SessionObserver] = []
        self._last_t_s = 0.0
        self._events: deque[SessionEvent] = deque(maxlen=max(1, event_buffer))
        self._snapshot: SessionSnapshot | None = None
        self._state: StateView | None = None
        self._state_dirty = False
        self._next_telemetry_s = 0.0
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._connected = asyncio.Event()
        self._running = False
        self._task_group: asyncio.TaskGroup | None = None
        self._run_task: asyncio.Task[None] | None = None

    @property
    def topics(self) -> Topics:
        """The topics this bridge publishes and listens on."""
        return self._topics

    @property
    def is_connected(self) -> bool:
        """Connected and subscribed to commands (a stop works from here on)."""
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        """Return once the bridge is connected (wrap it in a timeout)."""
        await self._connected.wait()

    @property
    def status(self) -> StatusReport:
        """The connection's health: up, down, flapping, taken over."""
        return self._status

    def add_status_observer(self, observer: SessionObserver) -> None:
        """Give ``observer`` a :data:`STATUS_EVENT` event now and at every status change.

        The event's fields: ``status`` (a :class:`MqttStatus` value), ``detail`` and
        ``line`` (the text for a status line). Faults in the observer are logged.
        """
        self._status_observers.append(observer)
        self._tell(observer, self._status_event())

    # -- SessionObserver: called from the control loop; store and return --------------

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Keep the latest snapshot; a newer one replaces one not yet published."""
        had_snapshot = self._snapshot is not None
        self._snapshot = snapshot
        self._last_t_s = snapshot.t_s
        state = StateView.of(snapshot)
        if state != self._state:
            self._state = state
            self._state_dirty = True
            self._wake.set()
        elif not had_snapshot:
            self._wake.set()

    def on_event(self, event: SessionEvent) -> None:
        """Queue ``event`` for the ``event`` topic, dropping the oldest when full."""
        if len(self._events) == self._events.maxlen:
            self.stats.events_dropped += 1
        self._events.append(event)
        self._wake.set()

    def on_cue(self, cue: Cue) -> None:
        """Cues are for the person on the belt, not for the broker."""

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start :meth:`run` in a task group owned by this context."""
        if self._task_group is not None or self._running:
            raise RuntimeError("an MqttBridge runs once; make a new one")
        task_group = asyncio.TaskGroup()
        await task_group.__aenter__()
        self._task_group = task_group
        self._run_task = task_group.create_task(
            self.run(), name=f"mqtt-bridge-{self._settings.treadmill_id}"
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Publish what is pending and ``offline``, then disconnect.

        Waits at most ``settings.close_timeout_s``, then drops the connection (the
        broker then publishes the last will). The exception of the ``async with``
        body, if any, goes on unchanged.
        """
        task_group, run_task = self._task_group, self._run_task
        if task_group is None or run_task is None:
            return
        self.close()
        try:
            async with asyncio.timeout(self._settings.close_timeout_s):
                await run_task
        except TimeoutError:
            self._log.warning("mqtt.close_timed_out", timeout_s=self._settings.close_timeout_s)
        finally:
            await task_group.__aexit__(None, None, None)

    def close(self) -> None:
        """Ask :meth:`run` to publish what is pending, say ``offline`` and return."""
        self._closing.set()
        self._wake.set()

    async def run(self) -> None:
        """Connect, publish and take commands, reconnecting until :meth:`close`.

        Never raises for broker trouble: a lost or refused connection is logged and
        retried after a back-off. Cancelling it drops the connection at once
        (CancelledError is re-raised; the broker sends the last will).
        """
        if self._running:
            raise RuntimeError("MqttBridge.run is already running")
        self._running = True
        if self._settings.client_id is not None:
            self._log.warning(
                "mqtt.client_id_pinned",
                client_id=self.client_id,
                detail="a second client with this id makes the broker drop one of them",
            )
        try:
            async with asyncio.TaskGroup() as watchers:
                health = watchers.create_task(self._watch_health(), name="mqtt-health")
                await self._connect_until_closed()
                health.cancel()
        finally:
            self._connected.clear()
        self._drop_unanswered()
        if self._events:
            self._log.warning("mqtt.events_unsent", count=len(self._events))
        self._log.info("mqtt.closed")

    async def _connect_until_closed(self) -> None:
        loop = asyncio.get_running_loop()
        delays = self._fresh_delays()
        while not self._closing.is_set():
            error = await self._serve_once()
            if error is None:
                return  # closed, with everything published
            if self._health.lived_long(loop.time()):
                # A connection that lasted resets the back-off; one the broker closes
                # at once (a takeover, a flap) does not, so we back off instead.
                delays = self._fresh_delays()
            if self.is_connected:
                self._health.lost(loop.time(), error)
            else:
                self._health.connect_failed(error)
            self._connected.clear()
            self._update_status()
            if self._closing.is_set():
                return
            delay_s = next(delays)
            self._log.info("mqtt.reconnect_scheduled", delay_s=round(delay_s, 2))
            try:
                async with asyncio.timeout(delay_s):
                    await self._closing.wait()
            except TimeoutError:
                pass

    async def _serve_once(self) -> str | None:
        """One connection, served until closed (``None``) or lost (what went wrong)."""
        try:
            await self._serve_one_connection()
        except aiomqtt.MqttError as exc:
            error = _describe(exc)
            self._log_lost(error)
            return error
        except Exception:  # noqa: BLE001 - a bridge bug must not end the session
            self._log.exception("mqtt.bridge_failed")
            return "internal error (see the log)"
        return None

    def _fresh_delays(self) -> Iterator[float]:
        return backoff_delays(
            self._settings.reconnect_min_s, self._settings.reconnect_max_s, rng=self._rng
        )

    async def _watch_health(self) -> None:
        """Re-tell the status as time passes (a flap ages out, a takeover ends)."""
        while True:
            await asyncio.sleep(_HEALTH_CHECK_S)
            self._update_status()

    # -- one connection -------------------------------------------------------------------

    async def _serve_one_connection(self) -> None:
        settings, topics = self._settings, self._topics
        tls = aiomqtt.TLSParameters(
            ca_certs=str(settings.ca_file) if settings.ca_file else None,
            certfile=str(settings.cert_file) if settings.cert_file else None,
            keyfile=str(settings.key_file) if settings.key_file else None,
        )
        client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=self.client_id,
            will=aiomqtt.Will(topics.availability, OFFLINE, qos=_QOS_AT_LEAST_ONCE, retain=True),
            clean_session=True,
            keepalive=settings.keepalive_s,
            timeout=settings.timeout_s,
            tls_params=tls if settings.tls else None,
            queue_type=self._intake,
        )
        try:
            async with client:
                await self._announce(client)
                try:
                    async with asyncio.TaskGroup() as task_group:
                        ended = task_group.create_task(
                            self._until_disconnected(client),
                            name=f"mqtt-watch-{settings.treadmill_id}",
                        )
                        answers = task_group.create_task(
                            self._answer_commands(client),
                            name=f"mqtt-replies-{settings.treadmill_id}",
                        )
                        await self._publish_until_closed(client)
                        await self._flush_answers(client)
                        ended.cancel()
                        answers.cancel()
                except ExceptionGroup as group:
                    raise _first_error(group) from None
                await client.publish(
                    topics.availability, OFFLINE, qos=_QOS_AT_LEAST_ONCE, retain=True
                )
                if self._remove_discovery:  # after "offline": that one matters most
                    await self._publish_discovery(client, removal_messages(self._discovery))
        except aiomqtt.MqttError:
            if not self.is_connected:
                self.stats.connect_failures += 1
            raise

    async def _announce(self, client: aiomqtt.Client) -> None:
        """Subscribe first (a stop must work as soon as possible), then say who we are."""
        topics = self._topics
        await client.subscribe(
            [(topics.cmd, _QOS_AT_LEAST_ONCE), (topics.broadcast_cmd, _QOS_AT_LEAST_ONCE)]
        )
        self.stats.connections += 1
        self._connected.set()
        self._health.connected(asyncio.get_running_loop().time())
        self._update_status()
        self._log.info("mqtt.connected", client_id=self.client_id)
        await client.publish(topics.availability, ONLINE, qos=_QOS_AT_LEAST_ONCE, retain=True)
        await self._publish_discovery(client, self._discovery)
        self._state_dirty = self._state is not None

    @staticmethod
    async def _publish_discovery(client: aiomqtt.Client, messages: list[DiscoveryMessage]) -> None:
        for message in messages:
            await client.publish(
                message.topic, message.payload, qos=_QOS_AT_LEAST_ONCE, retain=True
            )

    async def _publish_until_closed(self, client: aiomqtt.Client) -> None:
        """Publish events, state changes and throttled telemetry until closed and drained."""
        topics, interval_s = self._topics, self._settings.telemetry_interval_s
        loop = asyncio.get_running_loop()
        while True:
            if self._events:
                event = self._events.popleft()
                try:
                    await client.publish(topics.event, event_json(event), qos=_QOS_AT_LEAST_ONCE)
                except aiomqtt.MqttError:
                    self._requeue(event)
                    raise
                self.stats.events_published += 1
                if event.kind == RecordEvent.DEVICE and self._discovery:
                    # the treadmill's Device Information, read at connect: the device again
                    device = TreadmillDevice.from_event(event.fields)
                    self._discovery = discovery_messages(self._settings, device=device)
                    await self._publish_discovery(client, self._discovery)
                continue
            if self._state_dirty and self._state is not None:
                self._state_dirty = False
                await client.publish(
                    topics.state, self._state.to_json(), qos=_QOS_AT_LEAST_ONCE, retain=True
                )
                self.stats.states_published += 1
                continue
            wait_s: float | None = None
            if self._snapshot is not None:
                wait_s = self._next_telemetry_s - loop.time()
                if wait_s <= 0 or self._closing.is_set():
                    snapshot, self._snapshot = self._snapshot, None
                    self._next_telemetry_s = loop.time() + interval_s
                    await client.publish(
                        topics.telemetry, telemetry_json(snapshot), qos=_QOS_AT_MOST_ONCE
                    )
                    self.stats.telemetry_published += 1
                    continue
            if self._closing.is_set():
                return
            self._wake.clear()
            try:
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()
            except TimeoutError:
                pass

    @staticmethod
    async def _until_disconnected(client: aiomqtt.Client) -> None:
        """Wait for the connection to end (raises MqttError); messages never queue here."""
        async for _ in client.messages:  # the intake hands each one on; nothing comes out
            pass

    # -- commands: acted on at arrival (stops) or in turn, always answered ------------------

    def _on_arrival(self, message: aiomqtt.Message) -> None:
        """Called by aiomqtt as each message is read; never raises, never waits.

        A stop goes to the session here and now; other commands wait in the inbox
        for :meth:`_answer_commands` (or are dropped, and answered so, when it is full).
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
            item = _Pending(outcome, topic, payload[:120])
            if isinstance(outcome, RemoteCommand) and outcome.name is CommandName.STOP:
                item.outcome = self._dispatch(outcome)
                item.acted = True
                self._inbox.put(item, urgent=True)
            elif not self._inbox.put(item, urgent=False):
                self.stats.commands_dropped += 1
                self._log.warning(
                    "mqtt.command_dropped",
                    topic=topic,
                    request_id=_shown_id(outcome.request_id),
                    waiting=len(self._inbox),
                )
        except Exception:  # noqa: BLE001 - nothing that arrives may break the connection
            self._log.exception("mqtt.arrival_failed")

    async def _answer_commands(self, client: aiomqtt.Client) -> None:
        """Act on what waits, a batch at a time, then publish the batch's replies.

        Acting on a batch before publishing keeps commands that arrive together
        together (two pauses in a row meet the same session state), and a batch of
        replies costs one round trip to the broker, not one each.
        """
        while True:
            batch = self._take_batch()
            if not batch:
                await self._inbox.wait()
                continue
            await self._publish_replies(client, batch)

    async def _flush_answers(self, client: aiomqtt.Client) -> None:
        """At closing: stops' replies, then one reply for every command still waiting."""
        self._inbox.close()
        while batch := self._take_batch():
            await self._publish_replies(client, batch)

    def _take_batch(self) -> list[tuple[_Pending | _Dropped | int, bytes]]:
        batch: list[tuple[_Pending | _Dropped | int, bytes]] = []
        while len(batch) < _REPLY_BATCH and (item := self._inbox.take()) is not None:
            batch.append((item, self._reply_payload(item)))
        return batch

    async def _publish_replies(
        self, client: aiomqtt.Client, batch: list[tuple[_Pending | _Dropped | int, bytes]]
    ) -> None:
        topic = self._topics.reply
        try:
            async with asyncio.TaskGroup() as publishing:
                for _, payload in batch:
                    publishing.create_task(client.publish(topic, payload, qos=_QOS_AT_LEAST_ONCE))
        except ExceptionGroup as group:
            # Sent again after the reconnect (a reply twice is better than none).
            for item, _ in reversed(batch):
                if isinstance(item, _Pending):
                    self._inbox.put_back(item)
            raise _first_error(group) from None

    def _reply_payload(self, item: _Pending | _Dropped | int) -> bytes:
        if isinstance(item, _Dropped):
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
            return reply_json(self._settings.treadmill_id, merged, topic=self._inbox.merged_topic)
        return self._answer(item)

    def _answer(self, item: _Pending) -> bytes:
        """Act on ``item`` if not yet done, log the outcome and build its reply (once)."""
        if item.reply is not None:
            return item.reply
        outcome = item.outcome
        if isinstance(outcome, RemoteCommand) and not item.acted:
            outcome = self._dispatch(outcome)
            item.acted = True
        if isinstance(outcome, RemoteCommand):
            self.stats.commands_accepted += 1
            self._log.info(
                "mqtt.command_accepted",
                command=outcome.name,
                request_id=_shown_id(outcome.request_id),
                detail=outcome.detail,
                topic=item.topic,
            )
        else:
            self.stats.commands_refused += 1
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

    def _drop_unanswered(self) -> None:
        """At the end: log what could not be answered (the broker was gone)."""
        unanswered = 0
        self._inbox.close()
        while (item := self._inbox.take()) is not None:
            if isinstance(item, _Pending):
                unanswered += 1
            else:
                unanswered += item.count if isinstance(item, _Dropped) else item
        if unanswered:
            self._log.warning("mqtt.replies_unsent", count=unanswered)

    # -- status -----------------------------------------------------------------------

    def _update_status(self) -> None:
        report = self._health.report(asyncio.get_running_loop().time())
        if report == self._status:
            return
        self._status = report
        log = (
            self._log.info
            if report.status in {MqttStatus.UP, MqttStatus.CONNECTING}
            else (self._log.warning)
        )
        log("mqtt.status", status=report.status, detail=report.detail, client_id=self.client_id)
        event = self._status_event()
        for observer in self._status_observers:
            self._tell(observer, event)

    def _status_event(self) -> SessionEvent:
        report = self._status
        return SessionEvent(
            STATUS_EVENT,
            self._last_t_s,
            {"status": str(report.status), "detail": report.detail, "line": report.line()},
        )

    def _tell(self, observer: SessionObserver, event: SessionEvent) -> None:
        try:
            observer.on_event(event)
        except Exception as exc:  # noqa: BLE001 - a display must not break the bridge
            self._log.warning("mqtt.status_observer_failed", error=repr(exc))

    def _requeue(self, event: SessionEvent) -> None:
        """Put back an event whose publish failed, to be sent after the reconnect."""
        if len(self._events) == self._events.maxlen:
            self.stats.events_dropped += 1  # newer events are kept rather than this one
        else:
            self._events.appendleft(event)

    def _log_lost(self, error: str) -> None:
        if self.is_connected:
            self._log.warning("mqtt.connection_lost", error=error)
        else:
            self._log.info("mqtt.connect_failed", error=error)


def _shown_id(request_id: str | int | None) -> str | int | None:
    return printable(request_id) if isinstance(request_id, str) else request_id


def _describe(exc: aiomqtt.MqttError) -> str:
    """The broker error in one line, its cause included when aiomqtt wraps one."""
    text = str(exc)
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return text[:200]


def _first_error(group: ExceptionGroup[Exception]) -> Exception:
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

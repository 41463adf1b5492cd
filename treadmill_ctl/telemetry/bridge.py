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
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self

import aiomqtt
import structlog

from treadmill_ctl.session.events import RecordEvent
from treadmill_ctl.telemetry.commands import (
    RefusalReason,
    Refused,
    RemoteCommand,
    decide,
    dispatch,
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
    from collections.abc import Iterator
    from types import TracebackType

    from treadmill_ctl.session.events import (
        Cue,
        SessionControl,
        SessionEvent,
        SessionSnapshot,
    )
    from treadmill_ctl.telemetry.discovery import DiscoveryMessage
    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

DEFAULT_EVENT_BUFFER: Final = 256
_QOS_AT_LEAST_ONCE: Final = 1
_QOS_AT_MOST_ONCE: Final = 0
_INCOMING_QUEUE: Final = 64


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
        rng: jitter source for the reconnect back-off (tests pass a seeded one).
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
        # Unbound until each call, so logging configured later (the session record) applies.
        self._log = structlog.get_logger(
            "treadmill_ctl.telemetry.bridge",
            treadmill_id=settings.treadmill_id,
            broker=settings.describe(),
        )
        self.stats = BridgeStats()
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
        """Connected, subscribed to commands and announced ``online``."""
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        """Return once the bridge is connected (wrap it in a timeout)."""
        await self._connected.wait()

    # -- SessionObserver: called from the control loop; store and return --------------

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Keep the latest snapshot; a newer one replaces one not yet published."""
        had_snapshot = self._snapshot is not None
        self._snapshot = snapshot
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
        delays = backoff_delays(
            self._settings.reconnect_min_s, self._settings.reconnect_max_s, rng=self._rng
        )
        while not self._closing.is_set():
            try:
                await self._serve_one_connection()
            except aiomqtt.MqttError as exc:
                self._log_lost(exc)
            except Exception:  # noqa: BLE001 - a bridge bug must not end the session
                self._log.exception("mqtt.bridge_failed")
            else:
                break  # closed, with everything published
            finally:
                if self.is_connected:
                    delays = backoff_delays(
                        self._settings.reconnect_min_s,
                        self._settings.reconnect_max_s,
                        rng=self._rng,
                    )
                self._connected.clear()
            if self._closing.is_set():
                break
            delay_s = next(delays)
            self._log.info("mqtt.reconnect_scheduled", delay_s=round(delay_s, 2))
            try:
                async with asyncio.timeout(delay_s):
                    await self._closing.wait()
            except TimeoutError:
                pass
        if self._events:
            self._log.warning("mqtt.events_unsent", count=len(self._events))
        self._log.info("mqtt.closed")

    # -- one connection -------------------------------------------------------------------

    async def _serve_one_connection(self) -> None:
        settings, topics = self._settings, self._topics
        tls = aiomqtt.TLSParameters(ca_certs=str(settings.ca_file) if settings.ca_file else None)
        client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=settings.effective_client_id,
            will=aiomqtt.Will(topics.availability, OFFLINE, qos=_QOS_AT_LEAST_ONCE, retain=True),
            clean_session=True,
            keepalive=settings.keepalive_s,
            timeout=settings.timeout_s,
            tls_params=tls if settings.tls else None,
            max_queued_incoming_messages=_INCOMING_QUEUE,
        )
        try:
            async with client:
                await self._announce(client)
                try:
                    async with asyncio.TaskGroup() as task_group:
                        commands = task_group.create_task(
                            self._receive_commands(client),
                            name=f"mqtt-commands-{settings.treadmill_id}",
                        )
                        await self._publish_until_closed(client)
                        commands.cancel()
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
        await client.publish(topics.availability, ONLINE, qos=_QOS_AT_LEAST_ONCE, retain=True)
        await self._publish_discovery(client, self._discovery)
        self._state_dirty = self._state is not None
        self.stats.connections += 1
        self._connected.set()
        self._log.info("mqtt.connected", client_id=self._settings.effective_client_id)

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

    async def _receive_commands(self, client: aiomqtt.Client) -> None:
        command_topics = {self._topics.cmd, self._topics.broadcast_cmd}
        async for message in client.messages:
            if str(message.topic) in command_topics:
                await self._handle_command(client, message)
            else:  # some brokers deliver more than was asked for; never act on it
                self._log.debug("mqtt.message_ignored", topic=str(message.topic))

    async def _handle_command(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        topic = str(message.topic)
        payload = message.payload if isinstance(message.payload, bytes) else b""
        outcome = decide(
            payload,
            allow_remote_control=self._settings.allow_remote_control,
            broadcast=topic == self._topics.broadcast_cmd,
            retained=message.retain,
        )
        if isinstance(outcome, RemoteCommand):
            outcome = self._dispatch(outcome)
        if isinstance(outcome, RemoteCommand):
            self.stats.commands_accepted += 1
            self._log.info(
                "mqtt.command_accepted",
                command=outcome.name,
                request_id=outcome.request_id,
                topic=topic,
            )
        else:
            self.stats.commands_refused += 1
            self._log.warning(
                "mqtt.command_refused",
                command=outcome.command,
                reason=outcome.reason,
                detail=outcome.detail,
                request_id=outcome.request_id,
                topic=topic,
                payload=payload[:120].decode("utf-8", "replace"),
            )
        await client.publish(
            self._topics.reply,
            reply_json(self._settings.treadmill_id, outcome, topic=topic),
            qos=_QOS_AT_LEAST_ONCE,
        )

    def _dispatch(self, command: RemoteCommand) -> RemoteCommand | Refused:
        try:
            dispatch(command, self._control)
        except Exception as exc:  # noqa: BLE001 - reported to the sender and logged
            self._log.exception("mqtt.command_failed", command=command.name)
            return Refused(
                RefusalReason.SESSION_ERROR,
                f"the session could not take {command.name}: {exc}",
                command=command.name,
                request_id=command.request_id,
            )
        return command

    def _requeue(self, event: SessionEvent) -> None:
        """Put back an event whose publish failed, to be sent after the reconnect."""
        if len(self._events) == self._events.maxlen:
            self.stats.events_dropped += 1  # newer events are kept rather than this one
        else:
            self._events.appendleft(event)

    def _log_lost(self, exc: aiomqtt.MqttError) -> None:
        if self.is_connected:
            self._log.warning("mqtt.connection_lost", error=str(exc))
        else:
            self._log.info("mqtt.connect_failed", error=str(exc))


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

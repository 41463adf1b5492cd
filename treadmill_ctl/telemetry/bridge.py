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

Commands are read on arrival, never queued behind others
(:class:`~treadmill_ctl.telemetry.answering.CommandDesk`): a stop is acted on as its
packet is read and its reply goes ahead of every other. No payload can make the
bridge raise, so none can drop the connection.

The connection's health is watched
(:class:`~treadmill_ctl.telemetry.health.LinkHealth`): up, down, flapping, or
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
from collections import deque
from typing import TYPE_CHECKING, Final, Self

import aiomqtt
import structlog

from treadmill_ctl.session.events import RecordEvent, SessionEvent
from treadmill_ctl.telemetry.answering import DEFAULT_INBOX, CommandDesk, Pending, intake_for
from treadmill_ctl.telemetry.discovery import (
    TreadmillDevice,
    discovery_messages,
    removal_messages,
)
from treadmill_ctl.telemetry.health import (
    BridgeStats,
    LinkHealth,
    MqttStatus,
    StatusReport,
    backoff_delays,
    describe_error,
    first_error,
    run_client_id,
)
from treadmill_ctl.telemetry.payloads import StateView, event_json, telemetry_json
from treadmill_ctl.telemetry.topics import OFFLINE, ONLINE, Topics

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator
    from types import TracebackType

    from treadmill_ctl.session.events import (
        Cue,
        SessionControl,
        SessionObserver,
        SessionSnapshot,
    )
    from treadmill_ctl.telemetry.answering import Answerable
    from treadmill_ctl.telemetry.discovery import DiscoveryMessage
    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

DEFAULT_EVENT_BUFFER: Final = 256
_QOS_AT_LEAST_ONCE: Final = 1
_QOS_AT_MOST_ONCE: Final = 0
_HEALTH_CHECK_S: Final = 1.0


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
        self._desk = CommandDesk(
            settings,
            self._topics,
            control,
            stats=self.stats,
            log=self._log,
            inbox_capacity=inbox_capacity,
        )
        self._intake = intake_for(self._desk.arrive)
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
        """Give ``observer`` a :attr:`~RecordEvent.MQTT_STATUS` event now and at each status change.

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
        self._desk.drop_unanswered()
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
            error = describe_error(exc)
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
                    raise first_error(group) from None
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

    async def _answer_commands(self, client: aiomqtt.Client) -> None:
        """Act on what waits, a batch at a time, then publish the batch's replies.

        Acting on a batch before publishing keeps commands that arrive together
        together (two pauses in a row meet the same session state), and a batch of
        replies costs one round trip to the broker, not one each.
        """
        while True:
            batch = self._desk.take_batch()
            if not batch:
                await self._desk.inbox.wait()
                continue
            await self._publish_replies(client, batch)

    async def _flush_answers(self, client: aiomqtt.Client) -> None:
        """At closing: stops' replies, then one reply for every command still waiting."""
        self._desk.inbox.close()
        while batch := self._desk.take_batch():
            await self._publish_replies(client, batch)

    async def _publish_replies(
        self, client: aiomqtt.Client, batch: list[tuple[Answerable, bytes]]
    ) -> None:
        topic = self._topics.reply
        try:
            async with asyncio.TaskGroup() as publishing:
                for _, payload in batch:
                    publishing.create_task(client.publish(topic, payload, qos=_QOS_AT_LEAST_ONCE))
        except ExceptionGroup as group:
            # Sent again after the reconnect (a reply twice is better than none).
            for item, _ in reversed(batch):
                if isinstance(item, Pending):
                    self._desk.inbox.put_back(item)
            raise first_error(group) from None

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
        log(
            RecordEvent.MQTT_STATUS,
            status=report.status,
            detail=report.detail,
            client_id=self.client_id,
        )
        event = self._status_event()
        for observer in self._status_observers:
            self._tell(observer, event)

    def _status_event(self) -> SessionEvent:
        report = self._status
        return SessionEvent(
            RecordEvent.MQTT_STATUS,
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

"""The MQTT bridge against a real broker process on 127.0.0.1.

These tests use real time because the broker is real I/O; each waits at most a
couple of seconds, and only for something that should arrive at once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import textwrap
import uuid
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Final

import aiomqtt
import pytest
import structlog
from fakes import RecordingControl
from rich.console import Console

from treadmill_ctl.session.events import (
    Direction,
    LatchReason,
    RecordEvent,
    SegmentView,
    SessionEvent,
    SessionPhase,
    SessionSnapshot,
)
from treadmill_ctl.telemetry.bridge import MqttBridge
from treadmill_ctl.telemetry.discovery import STOP_PRESS_PAYLOAD
from treadmill_ctl.telemetry.health import MqttStatus
from treadmill_ctl.telemetry.mqtt_settings import GUARANTEED_CLIENT_ID_CHARS, MqttSettings
from treadmill_ctl.telemetry.topics import Topics
from treadmill_ctl.ui.dashboard import Dashboard

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from mqtt_broker import BrokerProcess

pytest_plugins = ["mqtt_broker"]
pytestmark = pytest.mark.asyncio

WAIT_S: Final = 2.0


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds, for what the bridge offers no event."""
    async with asyncio.timeout(WAIT_S):
        while not condition():  # noqa: ASYNC110 - polling a plain attribute
            await asyncio.sleep(0.01)


def settings_for(broker: BrokerProcess, **changes: object) -> MqttSettings:
    """Settings for a treadmill of its own on ``broker``, with short test timings."""
    settings = MqttSettings.from_url(
        broker.url, treadmill_id=f"tm-{uuid.uuid4().hex[:8]}", telemetry_interval_s=0.05
    )
    fast = {
        "timeout_s": 1.0,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "close_timeout_s": 1.0,
    }
    return replace(settings, **(fast | changes))  # type: ignore[arg-type]


def snapshot(phase: SessionPhase = SessionPhase.RUNNING, **fields: object) -> SessionSnapshot:
    values: dict[str, object] = {
        "t_s": 12.5,
        "phase": phase,
        "profile_name": "intervals",
        "segment": SegmentView(
            index=1, direction=Direction.BACKWARD, speed_kmh=2.0, incline_pct=0.0, duration_s=60
        ),
        "segment_count": 4,
        "direction": "backward",
        "target_speed_kmh": 2.0,
        "belt_speed_kmh": 1.96,
        "incline_pct": 0.0,
        "distance_m": 41.2,
        "elapsed_s": 75.0,
        "heart_rate_bpm": 97,
        "link_up": True,
    }
    return SessionSnapshot(**(values | fields))  # type: ignore[arg-type]


class Listener:
    """A test client subscribed to some topics, collecting what arrives."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self._queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()

    async def collect(self) -> None:
        async for message in self.client.messages:
            self._queue.put_nowait(message)

    async def next_on(self, topic: str) -> aiomqtt.Message:
        async with asyncio.timeout(WAIT_S):
            while True:
                message = await self._queue.get()
                if str(message.topic) == topic:
                    return message

    async def next_json(self, topic: str) -> dict[str, object]:
        payload = json.loads((await self.next_on(topic)).payload)
        assert isinstance(payload, dict)
        return payload

    async def command(self, topic: str, payload: str | bytes) -> None:
        await self.client.publish(topic, payload, qos=1)


@asynccontextmanager
async def listening(broker: BrokerProcess, *topics: str) -> AsyncIterator[Listener]:
    async with aiomqtt.Client(broker.host, broker.port, timeout=WAIT_S) as client:
        listener = Listener(client)
        for topic in topics:
            await client.subscribe(topic, qos=1)
        async with asyncio.TaskGroup() as task_group:
            collector = task_group.create_task(listener.collect())
            yield listener
            collector.cancel()


@asynccontextmanager
async def connected_bridge(
    settings: MqttSettings, control: RecordingControl | None = None, **options: int
) -> AsyncIterator[MqttBridge]:
    async with MqttBridge(settings, control or RecordingControl(), **options) as bridge:  # type: ignore[arg-type]
        async with asyncio.timeout(WAIT_S):
            await bridge.wait_connected()
        yield bridge


class TestPublishing:
    async def test_telemetry_arrives_with_the_belt_figures(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        async with (
            connected_bridge(settings) as bridge,
            listening(mqtt_broker, bridge.topics.telemetry) as listener,
        ):
            bridge.on_snapshot(snapshot())
            telemetry = await listener.next_json(bridge.topics.telemetry)
        assert telemetry["belt_speed_kmh"] == 1.96
        assert telemetry["target_speed_kmh"] == 2.0
        assert telemetry["distance_m"] == 41.2
        assert telemetry["elapsed_s"] == 75.0
        assert telemetry["heart_rate_bpm"] == 97
        assert telemetry["direction"] == "backward"
        assert telemetry["incline_pct"] == 0.0
        assert telemetry["segment"] == {
            "index": 1,
            "count": 4,
            "direction": "backward",
            "speed_kmh": 2.0,
            "incline_pct": 0.0,
            "duration_s": 60.0,
            "remaining_s": None,
            "description": "BACKWARD 2.0 km/h for 60 s",
        }

    async def test_telemetry_is_throttled_to_the_interval_and_keeps_the_newest(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker, telemetry_interval_s=0.3)
        async with (
            connected_bridge(settings) as bridge,
            listening(mqtt_broker, bridge.topics.telemetry) as listener,
        ):
            bridge.on_snapshot(snapshot(belt_speed_kmh=1.0))
            first = await listener.next_json(bridge.topics.telemetry)
            for speed_kmh in (1.1, 1.2, 1.3, 1.4):
                bridge.on_snapshot(snapshot(belt_speed_kmh=speed_kmh))
            second = await listener.next_json(bridge.topics.telemetry)
        assert (first["belt_speed_kmh"], second["belt_speed_kmh"]) == (1.0, 1.4)
        assert bridge.stats.telemetry_published == 2

    async def test_state_is_retained_for_a_subscriber_that_comes_later(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        async with connected_bridge(settings) as bridge:
            bridge.on_snapshot(snapshot(SessionPhase.LATCHED, latch_reason=LatchReason.SAFETY_KEY))
            async with listening(mqtt_broker, bridge.topics.state) as first:
                await first.next_on(bridge.topics.state)
            async with listening(mqtt_broker, bridge.topics.state) as later:
                message = await later.next_on(bridge.topics.state)
        assert message.retain
        assert json.loads(message.payload) == {
            "state": "latched",
            "phase": "latched",
            "reason": "safety_key",
        }

    async def test_state_is_published_when_it_changes_not_every_tick(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        async with (
            connected_bridge(settings) as bridge,
            listening(mqtt_broker, bridge.topics.state) as listener,
        ):
            bridge.on_snapshot(snapshot(SessionPhase.WAITING_FOR_START))
            assert (await listener.next_json(bridge.topics.state))["state"] == "idle"
            for t_s in (1.0, 2.0, 3.0):
                bridge.on_snapshot(snapshot(SessionPhase.RUNNING, t_s=t_s))
                await asyncio.sleep(0.02)
            bridge.on_snapshot(snapshot(SessionPhase.PAUSED))
            states = [await listener.next_json(bridge.topics.state) for _ in range(2)]
        assert [state["state"] for state in states] == ["running", "paused"]

    async def test_state_changes_between_two_publishes_leave_only_the_latest(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        async with (
            connected_bridge(settings) as bridge,
            listening(mqtt_broker, bridge.topics.state) as listener,
        ):
            bridge.on_snapshot(snapshot(SessionPhase.RUNNING))
            bridge.on_snapshot(
                snapshot(SessionPhase.LATCHED, latch_reason=LatchReason.EMERGENCY_STOP)
            )
            latest = await listener.next_json(bridge.topics.state)
        assert latest == {"state": "latched", "phase": "latched", "reason": "emergency_stop"}
        assert bridge.stats.states_published == 1

    async def test_events_arrive_in_order_on_the_event_topic(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        async with (
            connected_bridge(settings) as bridge,
            listening(mqtt_broker, bridge.topics.event) as listener,
        ):
            bridge.on_event(SessionEvent(RecordEvent.SEGMENT_STARTED, 30.0, {"index": 2}))
            bridge.on_event(SessionEvent(RecordEvent.LATCHED, 31.5, {"reason": "stale_data"}))
            first = await listener.next_json(bridge.topics.event)
            second = await listener.next_json(bridge.topics.event)
        assert first == {"kind": "segment.started", "t_s": 30.0, "fields": {"index": 2}}
        assert second["kind"] == "governor.latched"
        assert second["fields"] == {"reason": "stale_data"}

    async def test_closing_sends_the_last_events_and_says_offline(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        topics = Topics.for_settings(settings)
        async with listening(mqtt_broker, topics.event, topics.availability) as listener:
            async with connected_bridge(settings) as bridge:
                assert (await listener.next_on(topics.availability)).payload == b"online"
                bridge.on_event(SessionEvent(RecordEvent.ENDED, 600.0, {"distance_m": 512.0}))
            summary = await listener.next_json(topics.event)
            offline = await listener.next_on(topics.availability)
        assert summary["kind"] == "session.ended"
        assert offline.payload == b"offline"

    async def test_discovery_configs_are_retained_and_point_at_the_treadmill_topics(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        node = f"treadmill_ctl_{settings.treadmill_id}"
        async with connected_bridge(settings) as bridge:
            topics = bridge.topics
            async with listening(mqtt_broker, f"homeassistant/+/{node}/+/config") as listener:
                speed = await listener.next_json(f"homeassistant/sensor/{node}/belt_speed/config")
                button = await listener.next_json(
                    f"homeassistant/button/{node}/emergency_stop/config"
                )
        assert speed["state_topic"] == topics.telemetry
        assert speed["unique_id"] == f"{node}_belt_speed"
        assert speed["availability_topic"] == topics.availability
        assert button["command_topic"] == topics.cmd
        assert button["device"] == speed["device"]


class TestCommands:
    async def test_a_stop_command_calls_emergency_stop_and_is_acknowledged(
        self, mqtt_broker: BrokerProcess, control: RecordingControl
    ) -> None:
        async with (
            connected_bridge(settings_for(mqtt_broker), control) as bridge,
            listening(mqtt_broker, bridge.topics.reply) as listener,
        ):
            await listener.command(bridge.topics.cmd, '{"command": "stop", "id": "r-1"}')
            reply = await listener.next_json(bridge.topics.reply)
        assert control.calls == [("emergency_stop", "mqtt")]
        assert reply["accepted"] is True
        assert reply["id"] == "r-1"
        assert reply["command"] == "stop"

    async def test_the_home_assistant_button_payload_is_an_emergency_stop(
        self, mqtt_broker: BrokerProcess, control: RecordingControl
    ) -> None:
        async with (
            connected_bridge(settings_for(mqtt_broker), control) as bridge,
            listening(mqtt_broker) as listener,
        ):
            await listener.command(bridge.topics.cmd, STOP_PRESS_PAYLOAD)
            await control.wait_for_calls(1, timeout_s=WAIT_S)
        assert control.calls == [("emergency_stop", "mqtt")]

    async def test_stop_all_reaches_every_treadmill_under_the_prefix(
        self, mqtt_broker: BrokerProcess, make_control: Callable[[], RecordingControl]
    ) -> None:
        controls = [make_control(), make_control()]
        async with (
            connected_bridge(settings_for(mqtt_broker), controls[0]) as bridge,
            connected_bridge(settings_for(mqtt_broker), controls[1]),
            listening(mqtt_broker) as listener,
        ):
            await listener.command(bridge.topics.broadcast_cmd, '{"command": "stop"}')
            for control in controls:
                await control.wait_for_calls(1, timeout_s=WAIT_S)
        assert [control.calls for control in controls] == [[("emergency_stop", "mqtt")]] * 2

    async def test_a_pause_is_accepted(
        self, mqtt_broker: BrokerProcess, control: RecordingControl
    ) -> None:
        async with (
            connected_bridge(settings_for(mqtt_broker), control) as bridge,
            listening(mqtt_broker, bridge.topics.reply) as listener,
        ):
            await listener.command(bridge.topics.cmd, '{"command": "pause"}')
            reply = await listener.next_json(bridge.topics.reply)
        assert reply["accepted"] is True
        assert control.calls == [("pause", "mqtt")]

    @pytest.mark.parametrize(
        ("payload", "reason"),
        [
            ('{"command": "start"}', "needs_person_at_treadmill"),
            ('{"command": "resume"}', "needs_person_at_treadmill"),
            ('{"command": "nudge_speed", "delta_kmh": 0.5}', "remote_control_disabled"),
            ('{"command": "set_speed", "speed_kmh": 4}', "remote_control_disabled"),
            ('{"command": "rearm"}', "needs_person_at_treadmill"),
        ],
    )
    async def test_commands_that_would_move_the_belt_are_refused_with_a_reply(
        self, mqtt_broker: BrokerProcess, payload: str, reason: str, control: RecordingControl
    ) -> None:
        async with (
            connected_bridge(settings_for(mqtt_broker), control) as bridge,
            listening(mqtt_broker, bridge.topics.reply) as listener,
        ):
            await listener.command(bridge.topics.cmd, payload)
            reply = await listener.next_json(bridge.topics.reply)
        assert (reply["accepted"], reply["reason"]) == (False, reason)
        assert control.calls == []

    async def test_start_is_refused_even_when_remote_control_is_allowed(
        self, mqtt_broker: BrokerProcess, control: RecordingControl
    ) -> None:
        settings = settings_for(mqtt_broker, allow_remote_control=True)
        async with (
            connected_bridge(settings, control) as bridge,
            listening(mqtt_broker, bridge.topics.reply) as listener,
        ):
            await listener.command(bridge.topics.cmd, '{"command": "start", "id": 7}')
            refused = await listener.next_json(bridge.topics.reply)
            await listener.command(
                bridge.topics.cmd, '{"command": "nudge_speed", "delta_kmh": 0.2, "id": 8}'
            )
            accepted = await listener.next_json(bridge.topics.reply)
        assert (refused["id"], refused["reason"]) == (7, "needs_person_at_treadmill")
        assert (accepted["id"], accepted["accepted"]) == (8, True)
        assert control.calls == [("nudge_speed(+0.2)", "mqtt")]

    @pytest.mark.parametrize(
        ("payload", "reason"),
        [
            (b"{not json", "malformed_json"),
            (b"\xff\xfe", "malformed_json"),
            (b"[1, 2]", "not_an_object"),
            (b'{"id": "x"}', "missing_command"),
            (b'{"command": "jump"}', "unknown_command"),
            (b'{"command": "pause", "speed_kmh": 9}', "bad_argument"),
        ],
    )
    async def test_malformed_and_unknown_commands_are_answered_and_never_reach_the_control(
        self, mqtt_broker: BrokerProcess, payload: bytes, reason: str, control: RecordingControl
    ) -> None:
        with structlog.testing.capture_logs() as logs:
            async with (
                connected_bridge(settings_for(mqtt_broker), control) as bridge,
                listening(mqtt_broker, bridge.topics.reply) as listener,
            ):
                await listener.command(bridge.topics.cmd, payload)
                reply = await listener.next_json(bridge.topics.reply)
        assert (reply["accepted"], reply["reason"]) == (False, reason)
        assert control.calls == []
        refused = [log for log in logs if log["event"] == "mqtt.command_refused"]
        assert [log["reason"] for log in refused] == [reason]

    async def test_a_retained_stop_is_not_replayed_when_the_bridge_connects(
        self, mqtt_broker: BrokerProcess, control: RecordingControl
    ) -> None:
        settings = settings_for(mqtt_broker)
        cmd_topic = f"{settings.prefix}/{settings.treadmill_id}/cmd"
        async with listening(
            mqtt_broker, f"{settings.prefix}/{settings.treadmill_id}/reply"
        ) as lis:
            await lis.client.publish(cmd_topic, '{"command": "stop"}', qos=1, retain=True)
            async with connected_bridge(settings, control) as bridge:
                reply = await lis.next_json(bridge.topics.reply)
            await lis.client.publish(cmd_topic, b"", qos=1, retain=True)  # clear it
        assert reply["reason"] == "retained"
        assert control.calls == []


class TestBrokerTrouble:
    async def test_the_bridge_reconnects_after_the_broker_dies_and_observers_never_block(
        self, restartable_mqtt_broker: BrokerProcess, control: RecordingControl
    ) -> None:
        broker = restartable_mqtt_broker
        async with connected_bridge(settings_for(broker), control, event_buffer=8) as bridge:
            broker.kill()
            await until(lambda: not bridge.is_connected)
            # the control loop goes on: every call returns at once, the loop never stalls
            longest_gap_s = 0.0
            loop = asyncio.get_running_loop()
            for tick in range(40):
                before = loop.time()
                bridge.on_snapshot(snapshot(t_s=float(tick)))
                for index in range(5):
                    bridge.on_event(
                        SessionEvent(RecordEvent.BELT_DATA, float(tick), {"n": tick * 5 + index})
                    )
                await asyncio.sleep(0.005)
                longest_gap_s = max(longest_gap_s, loop.time() - before)
            assert bridge.stats.events_dropped == 200 - 8
            broker.start()
            async with listening(broker, bridge.topics.event, bridge.topics.reply) as listener:
                async with asyncio.timeout(WAIT_S):
                    await bridge.wait_connected()
                await listener.command(bridge.topics.cmd, '{"command": "stop"}')
                assert (await listener.next_json(bridge.topics.reply))["accepted"] is True
                bridge.on_event(SessionEvent(RecordEvent.LINK_BACK, 50.0))
                kinds = [(await listener.next_json(bridge.topics.event))["kind"]]
                while kinds[-1] != "session.link_back":
                    kinds.append((await listener.next_json(bridge.topics.event))["kind"])
        assert longest_gap_s < 0.25
        assert control.calls == [("emergency_stop", "mqtt")]
        assert bridge.stats.connections == 2

    async def test_without_a_broker_the_bridge_keeps_trying_and_closes_promptly(self) -> None:
        settings = MqttSettings.from_url("mqtt://127.0.0.1:9", treadmill_id="nobody")
        settings = replace(settings, reconnect_min_s=0.02, reconnect_max_s=0.05, timeout_s=0.5)
        loop = asyncio.get_running_loop()
        async with MqttBridge(settings, RecordingControl()) as bridge:
            async with asyncio.timeout(WAIT_S):
                while bridge.stats.connect_failures < 3:
                    bridge.on_snapshot(snapshot())
                    await asyncio.sleep(0.01)
            closing_at = loop.time()
        assert loop.time() - closing_at < 0.5
        assert not bridge.is_connected

    async def test_the_last_will_says_offline_when_the_controller_is_killed(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        availability = f"{settings.prefix}/{settings.treadmill_id}/availability"
        script = textwrap.dedent(
            """
            import asyncio, sys
            from treadmill_ctl.telemetry.bridge import MqttBridge
            from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

            class Control:
                def __getattr__(self, name):
                    return lambda *args: None

            async def main() -> None:
                settings = MqttSettings.from_url(sys.argv[1], treadmill_id=sys.argv[2])
                async with MqttBridge(settings, Control()) as bridge:
                    await bridge.wait_connected()
                    print("connected", flush=True)
                    await asyncio.sleep(30)

            asyncio.run(main())
            """
        )
        controller = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            mqtt_broker.url,
            settings.treadmill_id,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert controller.stdout is not None
            async with asyncio.timeout(5):  # the child's log lines come first
                while (line := await controller.stdout.readline()) not in {b"connected\n", b""}:
                    pass
            assert line == b"connected\n"
            async with listening(mqtt_broker, availability) as listener:
                assert (await listener.next_on(availability)).payload == b"online"
                controller.send_signal(signal.SIGKILL)
                will = await listener.next_on(availability)
        finally:
            if controller.returncode is None:
                controller.kill()
            await controller.wait()
        assert will.payload == b"offline"


class StatusWatcher:
    """A status observer, as the dashboard is one: keeps every status event."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        pass

    def on_event(self, event: SessionEvent) -> None:
        self.events.append(event)

    def on_cue(self, cue: object) -> None:
        pass

    @property
    def statuses(self) -> list[str]:
        return [str(event.fields["status"]) for event in self.events]


class TestHostileNetwork:
    """A hostile or merely busy network cannot silence the bridge or hide a stop."""

    async def test_an_overflowing_number_is_answered_and_the_next_stop_gets_through(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        control = RecordingControl()
        overflow = '{"command": "nudge_speed", "delta_kmh": ' + "9" * 400 + ', "id": "big"}'
        async with (
            connected_bridge(settings_for(mqtt_broker), control) as bridge,
            listening(mqtt_broker, bridge.topics.reply) as listener,
        ):
            for _ in range(10):
                await listener.command(bridge.topics.cmd, overflow)
            await listener.command(bridge.topics.cmd, '{"command": "stop", "id": "s"}')
            replies = [await listener.next_json(bridge.topics.reply) for _ in range(11)]
            still_connected = bridge.is_connected
        # the stop may overtake refusals still waiting: stops are answered first
        (stop,) = [r for r in replies if r["id"] == "s"]
        assert stop["accepted"] is True
        assert [r["reason"] for r in replies if r["id"] == "big"] == ["bad_argument"] * 10
        assert control.calls == [("emergency_stop", "mqtt")]
        assert still_connected
        assert bridge.stats.connections == 1

    async def test_a_stop_after_a_burst_of_300_is_acted_on_and_answered(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        control = RecordingControl()
        settings = settings_for(mqtt_broker)
        async with (
            connected_bridge(settings, control, inbox_capacity=16) as bridge,
            listening(mqtt_broker, bridge.topics.reply) as listener,
        ):
            for index in range(300):  # QoS 0: as fast as the socket takes them
                await listener.client.publish(
                    bridge.topics.cmd, json.dumps({"command": "pause", "id": index}), qos=0
                )
            await listener.command(bridge.topics.cmd, '{"command": "stop", "id": "after"}')
            await control.wait_for_calls(1)
            stop_reply: dict[str, object] | None = None
            answered: set[object] = set()
            dropped = 0
            async with asyncio.timeout(WAIT_S * 3):
                while stop_reply is None or len(answered) + dropped < 300:
                    reply = await listener.next_json(bridge.topics.reply)
                    if reply["id"] == "after":
                        stop_reply = reply
                    elif reply.get("reason") == "dropped":
                        dropped += int(reply["dropped"])  # type: ignore[call-overload]
                    else:
                        answered.add(reply["id"])
            still_connected = bridge.is_connected
        assert stop_reply["accepted"] is True
        assert ("emergency_stop", "mqtt") in control.calls
        # every message of the burst was answered, one by one or as dropped, never silence
        assert len(answered) + dropped == 300
        assert dropped > 0, "the burst never filled the inbox of 16; the test means nothing"
        assert bridge.stats.commands_dropped == dropped
        assert still_connected
        assert bridge.stats.connections == 1

    async def test_a_pause_while_paused_is_answered_as_the_session_decided(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        async with (
            connected_bridge(settings_for(mqtt_broker)) as bridge,
            listening(mqtt_broker, bridge.topics.reply) as listener,
        ):
            await listener.command(bridge.topics.cmd, '{"command": "pause", "id": 1}')
            first = await listener.next_json(bridge.topics.reply)
            await listener.command(bridge.topics.cmd, '{"command": "pause", "id": 2}')
            second = await listener.next_json(bridge.topics.reply)
        assert first["accepted"] is True
        assert (second["accepted"], second["reason"]) == (False, "declined")
        assert second["detail"] == "nothing to pause while paused"


class TestClientId:
    async def test_each_run_gets_its_own_short_random_client_id(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        settings = settings_for(mqtt_broker)
        watchers = [StatusWatcher(), StatusWatcher()]
        async with (
            connected_bridge(settings) as first,
            connected_bridge(settings) as second,  # the same treadmill id
        ):
            first.add_status_observer(watchers[0])
            second.add_status_observer(watchers[1])
            await asyncio.sleep(0.5)  # long enough for a takeover to knock one off
            both_up = (first.is_connected, second.is_connected)
        assert first.client_id != second.client_id
        assert all(
            len(b.client_id) <= GUARANTEED_CLIENT_ID_CHARS and b.client_id.startswith("tmctl-")
            for b in (first, second)
        )
        assert both_up == (True, True)
        assert [w.statuses for w in watchers] == [["up"], ["up"]]

    async def test_a_takeover_of_a_pinned_client_id_is_detected_logged_and_shown(
        self, mqtt_broker: BrokerProcess
    ) -> None:
        pinned = f"pinned-{uuid.uuid4().hex[:8]}"
        settings = settings_for(mqtt_broker, client_id=pinned)
        watcher = StatusWatcher()
        console = Console(width=120, record=True, color_system=None)
        dashboard = Dashboard(console=console)  # never entered: no live drawing in a test
        dashboard.on_snapshot(snapshot())
        with structlog.testing.capture_logs() as logs:
            async with connected_bridge(settings) as bridge:
                bridge.add_status_observer(watcher)
                bridge.add_status_observer(dashboard)
                async with asyncio.timeout(WAIT_S * 2):
                    while bridge.status.status is not MqttStatus.TAKEN_OVER:
                        await bridge.wait_connected()
                        # another client with our id: the broker drops the older one (us)
                        async with aiomqtt.Client(
                            mqtt_broker.host, mqtt_broker.port, identifier=pinned
                        ):
                            await until(lambda: not bridge.is_connected)
                line = bridge.status.line()
        assert watcher.statuses[0] == "up"
        assert "taken_over" in watcher.statuses
        taken = next(e for e in watcher.events if e.fields["status"] == "taken_over")
        assert taken.kind == RecordEvent.MQTT_STATUS
        assert pinned in str(taken.fields["detail"])
        assert line.startswith("TAKEN OVER: ")
        console.print(dashboard.renderable())
        assert "MQTT TAKEN OVER: the broker closed the connection" in console.export_text()
        statuses = [log for log in logs if log["event"] == "mqtt.status"]
        assert any(
            log["status"] == "taken_over" and log["log_level"] == "warning" for log in statuses
        )
        assert any(log["event"] == "mqtt.client_id_pinned" for log in logs)

"""MQTT as a home or gym uses it: the real command line, a real broker, the simulator.

Each test starts ``treadmill-ctl run profiles/demo.toml --simulator --mqtt URL`` as a
separate process, the way a person or a service manager starts it, against its own
broker process on 127.0.0.1 (so retained messages never leak between tests), and
watches it from outside: as an MQTT subscriber and publisher (aiomqtt), through the
session record, and through the simulator's ground-truth trace of the belt.

The runs use ``--speedup`` 10 or 20: the broker is real I/O in real time, and the
test acts while the session runs. Reading the record and the trace, and timing a Stop
against the request that caused it, is shared with ``test_e2e_hotkeys``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import aiomqtt
import pytest
from e2e_support import (
    CONTROL_TICK_S,
    REPO,
    START_WRITE,
    STOP_WRITE,
    STOPPED_KMH,
    Line,
    Witnesses,
    number,
    speed_kmh,
    stop_latency_s,
)
from ha_rules import check_config

from simulator.radio import DEFAULT_ADDRESS
from treadmill_ctl.telemetry.mqtt_settings import DEFAULT_PREFIX, topic_safe_id
from treadmill_ctl.telemetry.topics import OFFLINE, ONLINE, Topics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from mqtt_broker import BrokerProcess

pytest_plugins = ["mqtt_broker"]
pytestmark = pytest.mark.asyncio

TOPICS: Final = Topics(prefix=DEFAULT_PREFIX, treadmill_id=topic_safe_id(DEFAULT_ADDRESS))
DISCOVERY_NODE: Final = f"treadmill_ctl_{TOPICS.treadmill_id}"
WAIT_S: Final = 10.0
"""Real seconds to wait for anything that should happen within a second or two."""
SESSION_S: Final = 20.0
"""Real seconds a whole demo session may take at ``--speedup 20`` on a busy machine."""
PLAN_TOP_KMH: Final = 2.0
FIRST_SEGMENT_STEADY_UNTIL_S: Final = 29.0
"""The demo's first segment holds 2.0 km/h until 30 s: no write is due before that."""
EXIT_COMPLETED: Final = 0
EXIT_STOPPED_BY_PERSON: Final = 3


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> dict[str, object]:
        value = json.loads(self.payload)
        assert isinstance(value, dict), self
        return value


@dataclass
class Subscriber:
    """A test client on the broker, keeping every message of the treadmill's topics."""

    client: aiomqtt.Client
    messages: list[Received] = field(default_factory=list)

    async def collect(self) -> None:
        with contextlib.suppress(aiomqtt.MqttError):  # the broker may be killed under it
            async for message in self.client.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                self.messages.append(Received(str(message.topic), payload, message.retain))

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic]

    async def first(
        self, topic: str, what: str, matches: Callable[[Received], bool] = lambda _: True
    ) -> Received:
        """The first message on ``topic`` that ``matches``, waiting for it if need be."""
        found: list[Received] = []

        def seen() -> bool:
            found[:] = [m for m in self.on(topic) if matches(m)]
            return bool(found)

        await until(seen, what)
        return found[0]

    async def publish(self, topic: str, payload: dict[str, object]) -> None:
        await self.client.publish(topic, json.dumps(payload), qos=1)


@contextlib.asynccontextmanager
async def subscribed(broker: BrokerProcess) -> AsyncIterator[Subscriber]:
    """A subscriber to the treadmill's topics and its Home Assistant discovery."""
    async with aiomqtt.Client(broker.host, broker.port, timeout=WAIT_S) as client:
        subscriber = Subscriber(client)
        await client.subscribe(
            [(f"{TOPICS.base}/#", 1), (f"homeassistant/+/{DISCOVERY_NODE}/#", 1)]
        )
        async with asyncio.TaskGroup() as tasks:
            collector = tasks.create_task(subscriber.collect())
            yield subscriber
            collector.cancel()


async def until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll ``condition`` (files another process writes, messages) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Controller:
    """A ``treadmill-ctl run`` process and the files it writes."""

    process: asyncio.subprocess.Process
    seen: Witnesses

    async def exit_status(self, timeout_s: float = WAIT_S) -> int:
        async with asyncio.timeout(timeout_s):
            return await self.process.wait()

    async def belt_moving(self) -> None:
        await until(lambda: self.seen.refresh().belt_moving_after(0.0), "the belt to move")

    async def session_time(self, at_least_s: float) -> None:
        """Wait until the simulated treadmill's clock reaches ``at_least_s``."""
        await until(
            lambda: self.seen.refresh().trace_now_s() >= at_least_s,
            f"session time {at_least_s} s",
            timeout_s=SESSION_S,
        )


@contextlib.asynccontextmanager
async def controller(
    tmp_path: Path, broker: BrokerProcess, *, speedup: int
) -> AsyncIterator[Controller]:
    """Run the demo profile with ``--mqtt`` on ``broker``; kill it if the test leaves early."""
    seen = Witnesses(tmp_path / "session.jsonl", tmp_path / "trace.jsonl")
    env = os.environ | {
        "TREADMILL_CTL_CONFIG": str(tmp_path / "config.toml"),
        "TREADMILL_CTL_DATA_DIR": str(tmp_path / "data"),
    }
    with (tmp_path / "output.txt").open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "treadmill_ctl",
            "run",
            str(REPO / "profiles/demo.toml"),
            "--simulator",
            "--speedup",
            str(speedup),
            "--yes",
            "--plain",
            "--quiet",
            "--mqtt",
            broker.url,
            "--sim-trace",
            str(seen.trace_path),
            "--record",
            str(seen.record_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            cwd=REPO,
            env=env,
        )
    try:
        yield Controller(process, seen)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        seen.refresh()


def stop_writes(seen: Witnesses) -> list[Line]:
    return [w for w in seen.writes() if w["data_hex"] == STOP_WRITE]


async def test_telemetry_state_and_discovery_arrive_and_the_state_is_retained(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """A whole session publishes telemetry, events, a retained state and discovery."""
    broker = restartable_mqtt_broker
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=20) as run:
        await run.belt_moving()
        moving = await watcher.first(
            TOPICS.telemetry,
            "telemetry of a moving belt",
            lambda m: m.json()["belt_speed_kmh"] not in {None, 0},
        )
        async with subscribed(broker) as latecomer:
            retained_state = await latecomer.first(TOPICS.state, "the retained state")
        status = await run.exit_status(SESSION_S)
    async with subscribed(broker) as after:
        final_state = await after.first(TOPICS.state, "the retained final state")
        availability = await after.first(TOPICS.availability, "the retained availability")
    seen = run.seen

    assert status == EXIT_COMPLETED
    telemetry = moving.json()
    assert telemetry["state"] == "running"
    assert telemetry["profile"] == "Demo: forward, backward, forward"
    assert telemetry["direction"] == "forward"
    assert telemetry["link_up"] is True
    belt_speeds = [number(s, "belt_speed_kmh") for s in seen.samples()]
    assert 0 < number(telemetry, "belt_speed_kmh") <= max(belt_speeds) + 0.05
    directions = {m.json()["direction"] for m in watcher.on(TOPICS.telemetry)}
    assert {"forward", "backward"} <= directions

    assert retained_state.retain
    assert retained_state.json()["state"] == "running"
    assert final_state.retain
    assert final_state.json()["state"] == "finished"
    assert (availability.retain, availability.payload) == (True, OFFLINE.encode())
    assert ONLINE.encode() in [m.payload for m in watcher.on(TOPICS.availability)]

    kinds = [m.json()["kind"] for m in watcher.on(TOPICS.event)]
    assert kinds.count("segment.started") == 3
    assert kinds[-1] == "session.ended"

    speed = latest_json(watcher, f"homeassistant/sensor/{DISCOVERY_NODE}/belt_speed/config")
    button = latest_json(watcher, f"homeassistant/button/{DISCOVERY_NODE}/emergency_stop/config")
    assert speed["state_topic"] == TOPICS.telemetry
    assert speed["availability_topic"] == TOPICS.availability
    assert button["command_topic"] == TOPICS.cmd


async def test_home_assistant_sees_the_treadmill_and_a_dry_run_leaves_no_device_behind(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """By Home Assistant's rules, the simulator's DIS as the device; removed when it ends."""
    broker = restartable_mqtt_broker
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=10) as run:
        status = await run.exit_status(2 * SESSION_S)
    async with subscribed(broker) as after:
        await after.first(TOPICS.availability, "the retained availability")
        await asyncio.sleep(0.2)  # retained messages arrive together on subscribing
    assert status == EXIT_COMPLETED, (tmp_path / "output.txt").read_text()[-2000:]
    configs = [m for m in watcher.messages if m.topic.startswith("homeassistant/")]
    announced = [m for m in configs if m.payload]
    assert announced
    checked = {m.topic: check_config(m.topic, m.payload) for m in announced}
    last = checked  # the latest config of each topic (the device once its DIS was read)
    device = last[f"homeassistant/sensor/{DISCOVERY_NODE}/belt_speed/config"]["device"]
    assert device == {
        "identifiers": [DISCOVERY_NODE],
        "name": "SIM-TREADMILL",
        "connections": [["bluetooth", DEFAULT_ADDRESS.lower()]],
        "manufacturer": "treadmill_ctl",  # what the simulator's Device Information says
        "model": "SIM-FTMS-1",
        "serial_number": "SIM-0001",
        "hw_version": "sim",
        "sw_version": "1.0.0",
    }
    kinds = {topic.split("/")[1] for topic in last}
    assert kinds == {"sensor", "binary_sensor", "button"}
    removed = {m.topic for m in configs if not m.payload}
    assert removed == set(last), "every entity of the dry run is removed at its end"
    assert [m for m in after.messages if m.topic.startswith("homeassistant/")] == []


def latest_json(subscriber: Subscriber, topic: str) -> dict[str, object]:
    """The latest non-empty message already received on ``topic``, as JSON."""
    messages = [m for m in subscriber.on(topic) if m.payload]
    assert messages, topic
    return messages[-1].json()


async def test_a_published_stop_stops_the_belt_and_latches_the_session(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """{"command": "stop"} on the cmd topic: a Stop within a tick, a latch, exit 3."""
    broker = restartable_mqtt_broker
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=10) as run:
        await watcher.first(
            TOPICS.availability, "the controller online", lambda m: m.payload == b"online"
        )
        await run.belt_moving()
        assert stop_writes(run.seen.refresh()) == []
        await watcher.publish(TOPICS.cmd, {"command": "stop", "id": "e2e-stop"})
        reply = (await watcher.first(TOPICS.reply, "the reply")).json()
        status = await run.exit_status()
        await watcher.first(
            TOPICS.state, "the latched state", lambda m: m.json()["state"] == "latched"
        )
    seen = run.seen

    assert (reply["accepted"], reply["id"], reply["command"]) == (True, "e2e-stop", "stop")
    # An emergency stop is a person's stop, even from afar: "stopped by person" (3).
    assert status == EXIT_STOPPED_BY_PERSON
    (request,) = seen.events("session.emergency_stop")
    assert request["source"] == "mqtt"
    assert [e["reason"] for e in seen.events("governor.latched")] == ["emergency_stop"]
    (ended,) = seen.events("session.ended")
    assert ended["end"] == "stopped_by_person"
    latency_s, stop = stop_latency_s(seen, number(request, "t"))
    assert latency_s <= CONTROL_TICK_S, latency_s
    writes = seen.writes()
    assert all(speed_kmh(w) is None for w in writes[writes.index(stop) :]), writes
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH
    latched = [m.json() for m in watcher.on(TOPICS.state) if m.json()["state"] == "latched"]
    assert latched[0]["reason"] == "emergency_stop"


async def test_commands_that_would_move_the_belt_are_answered_and_never_reach_it(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """A remote start or speed-up is refused on the reply topic; the belt gets no write."""
    broker = restartable_mqtt_broker
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=10) as run:
        await watcher.first(
            TOPICS.availability, "the controller online", lambda m: m.payload == b"online"
        )
        await until(
            lambda: any(
                number(s, "target_speed_kmh") >= PLAN_TOP_KMH for s in run.seen.refresh().samples()
            ),
            "the belt at the first segment's speed",
        )
        writes_before = run.seen.writes()
        await watcher.publish(TOPICS.cmd, {"command": "start", "id": "c-start"})
        await watcher.publish(
            TOPICS.cmd, {"command": "nudge_speed", "delta_kmh": 0.5, "id": "c-up"}
        )
        await until(lambda: len(watcher.on(TOPICS.reply)) == 2, "two replies")
        # A tick or ten for a command that got through to show up on the belt.
        await run.session_time(run.seen.trace_now_s() + 1.0)
        writes_after = run.seen.writes()
        still_steady = run.seen.trace_now_s() < FIRST_SEGMENT_STEADY_UNTIL_S
        await watcher.publish(TOPICS.cmd, {"command": "stop"})
        status = await run.exit_status()
    seen = run.seen

    replies = {m.json()["id"]: m.json() for m in watcher.on(TOPICS.reply)}
    assert (replies["c-start"]["accepted"], replies["c-start"]["reason"]) == (
        False,
        "needs_person_at_treadmill",
    )
    assert (replies["c-up"]["accepted"], replies["c-up"]["reason"]) == (
        False,
        "remote_control_disabled",
    )
    assert still_steady, "the window left the steady first segment; the check means nothing"
    assert writes_after == writes_before
    assert [w["data_hex"] for w in seen.writes()].count(START_WRITE) == 1
    assert max(s for w in seen.writes() if (s := speed_kmh(w)) is not None) <= PLAN_TOP_KMH
    mqtt_requests = [
        e
        for e in seen.record
        if e.get("source") == "mqtt" and e["event"] != "session.emergency_stop"
    ]
    assert mqtt_requests == []
    refused = [e["reason"] for e in seen.events("mqtt.command_refused")]
    assert refused == ["needs_person_at_treadmill", "remote_control_disabled"]
    assert status == EXIT_STOPPED_BY_PERSON


async def test_the_broker_dying_mid_session_changes_nothing_for_the_belt(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """Broker killed and restarted: the plan runs on untouched and telemetry resumes."""
    broker = restartable_mqtt_broker
    async with controller(tmp_path, broker, speedup=20) as run:
        async with subscribed(broker) as before:
            await before.first(TOPICS.telemetry, "telemetry")
            await run.session_time(8.0)
        broker.kill()
        killed_at_s = run.seen.trace_now_s()
        await until(
            lambda: bool(run.seen.refresh().events("mqtt.connection_lost")), "the bridge to notice"
        )
        await run.session_time(killed_at_s + 10.0)
        broker.start()
        restarted_at_s = run.seen.trace_now_s()
        async with subscribed(broker) as after:
            resumed = await after.first(TOPICS.telemetry, "telemetry again")
        async with subscribed(broker) as latecomer:
            # The new broker knows nothing retained: the bridge announced itself again.
            online = await latecomer.first(TOPICS.availability, "the retained availability")
        status = await run.exit_status(SESSION_S)
    seen = run.seen

    assert (online.retain, online.payload) == (True, ONLINE.encode())
    assert number(resumed.json(), "t_s") > killed_at_s
    assert status == EXIT_COMPLETED
    (ended,) = seen.events("session.ended")
    assert ended["end"] == "completed"
    summary = ended["summary"]
    assert isinstance(summary, dict)
    assert summary["segments_completed"] == 3
    assert seen.events("governor.latched") == []
    assert seen.events("session.emergency_stop") == []
    assert len(seen.events("mqtt.connected")) >= 2
    # The belt went on at the plan's speed while the broker was away, stopped only at the end.
    away = [
        number(s, "belt_speed_kmh")
        for s in seen.samples(killed_at_s)
        if number(s, "t") <= restarted_at_s
    ]
    assert away
    assert all(abs(speed - PLAN_TOP_KMH) <= 0.05 for speed in away), away
    stops = stop_writes(seen)
    assert stops == [seen.writes()[-1]]
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH


async def test_the_last_will_says_offline_when_the_controller_is_killed(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """SIGKILL leaves no chance to say goodbye: the broker's last will says offline."""
    broker = restartable_mqtt_broker
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=10) as run:
        await watcher.first(TOPICS.availability, "online", lambda m: m.payload == b"online")
        await run.belt_moving()
        run.process.send_signal(signal.SIGKILL)
        will = await watcher.first(
            TOPICS.availability, "the will", lambda m: m.payload == b"offline"
        )
        status = await run.exit_status()
    async with subscribed(broker) as later:
        retained = await later.first(TOPICS.availability, "the retained availability")

    assert status == -signal.SIGKILL
    assert will.payload == OFFLINE.encode()
    assert (retained.retain, retained.payload) == (True, OFFLINE.encode())
    assert run.seen.events("session.ended") == []

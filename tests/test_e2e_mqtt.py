"""MQTT as a home or gym uses it: the real command line, a real broker, the simulator.

Each test starts ``treadmill-ctl run profiles/demo.toml --simulator --mqtt URL`` as a
separate process, the way a person or a service manager starts it, against its own
broker process on 127.0.0.1 (so retained messages never leak between tests), and
watches it from outside: as an MQTT subscriber and publisher (aiomqtt), through the
session record, and through the simulator's ground-truth trace of the belt.

The runs use ``--speedup`` 2 to 20: the broker is real I/O in real time, and the
test acts while the session runs. The runs that time a stop or flood the bridge use 2
or 5, so a hiccup of a shared machine stays a fraction of a control tick. Reading the
record and the trace, and timing a Stop against the request that caused it, is shared
with ``test_e2e_hotkeys``.
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
from ha_rules import PAYLOAD_NONE, check_config, render

from simulator.radio import DEFAULT_ADDRESS
from treadmill_ctl.telemetry.mqtt_settings import DEFAULT_PREFIX, topic_safe_id
from treadmill_ctl.telemetry.topics import OFFLINE, ONLINE, Topics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from mqtt_broker import BrokerProcess, GymBroker

pytest_plugins = ["mqtt_broker"]
pytestmark = pytest.mark.asyncio

TOPICS: Final = Topics(prefix=DEFAULT_PREFIX, treadmill_id=topic_safe_id(DEFAULT_ADDRESS))
DISCOVERY_NODE: Final = f"treadmill_ctl_{TOPICS.treadmill_id}"
WAIT_S: Final = 10.0
"""Real seconds to wait for anything that should happen within a second or two."""
SESSION_S: Final = 30.0
"""Real seconds a whole demo session (about 100 s) may take at ``--speedup 10`` on a
busy machine. (At 20, a stall of the machine is seconds of session time and trips the
stale-data latch.)"""
PLAN_TOP_KMH: Final = 2.0
FIRST_SEGMENT_STEADY_UNTIL_S: Final = 29.0
"""The demo's first segment holds 2.0 km/h until 30 s: no write is due before that."""
BUSY_STOP_S: Final = 1.0
"""Session time from a stop request to the Stop write while the bridge is flooded, on a
machine shared with other tests: 500 ms of real time at ``--speedup 2``. That the stop
goes ahead of the flood is checked exactly, without timing, in ``test_mqtt_health``;
here it is the whole way to the belt. (The flooded runs use ``--speedup 2``: at 10, a
hiccup of the machine is seconds of session time and trips the stale-data latch.)"""
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
    tmp_path: Path,
    broker: BrokerProcess | None,
    *,
    speedup: int,
    mqtt_url: str | None = None,
    profile: Path = REPO / "profiles/demo.toml",
    options: tuple[str, ...] = (),
) -> AsyncIterator[Controller]:
    """Run a profile (the demo's) with ``--mqtt`` on ``broker``; kill it if the test leaves early.

    ``mqtt_url=""`` leaves ``--mqtt`` out: the settings file's ``[mqtt]`` table is used.
    ``options`` go on the command line after the others (``--sim-hr-strap``...).
    """
    url = mqtt_url if mqtt_url is not None else broker.url if broker is not None else ""
    mqtt = ["--mqtt", url] if url else []
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
            str(profile),
            "--simulator",
            "--speedup",
            str(speedup),
            "--yes",
            "--plain",
            "--quiet",
            *mqtt,
            "--sim-trace",
            str(seen.trace_path),
            "--record",
            str(seen.record_path),
            *options,
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
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=10) as run:
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
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=2) as run:
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
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=5) as run:
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
    async with controller(tmp_path, broker, speedup=10) as run:
        async with subscribed(broker) as before:
            await before.first(TOPICS.telemetry, "telemetry")
            # the belt at the first segment's speed (on a busy machine the start comes later
            # in the simulator's time, which runs 20 times faster than the wall clock)
            await until(
                lambda: any(
                    abs(number(s, "belt_speed_kmh") - PLAN_TOP_KMH) <= 0.05
                    for s in run.seen.refresh().samples()
                ),
                "the belt at the first segment's speed",
                timeout_s=SESSION_S,
            )
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


async def test_hostile_payloads_and_a_burst_never_hide_the_stop(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """Overflowing numbers, then 300 messages at once, then a stop: the belt stops at once."""
    broker = restartable_mqtt_broker
    overflow = b'{"command": "nudge_speed", "delta_kmh": ' + b"9" * 400 + b"}"
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=2) as run:
        await watcher.first(
            TOPICS.availability, "the controller online", lambda m: m.payload == b"online"
        )
        await run.belt_moving()
        for _ in range(10):
            await watcher.client.publish(TOPICS.cmd, overflow, qos=1)
        for index in range(300):
            await watcher.client.publish(
                TOPICS.cmd, json.dumps({"command": "jump", "id": index}), qos=0
            )
        await watcher.publish(TOPICS.cmd, {"command": "stop", "id": "after-burst"})
        reply = await watcher.first(
            TOPICS.reply, "the stop's reply", lambda m: m.json()["id"] == "after-burst"
        )
        status = await run.exit_status()

        def burst_answered() -> int:
            """Burst messages answered one by one or counted in a "dropped" reply."""
            replies = [m.json() for m in watcher.on(TOPICS.reply)]
            dropped = [r["dropped"] for r in replies if r.get("reason") == "dropped"]
            ones = sum(
                1 for r in replies if isinstance(r["id"], int) and r.get("reason") != "dropped"
            )
            return ones + sum(d for d in dropped if isinstance(d, int))

        await until(lambda: burst_answered() >= 300, "every burst message answered")
        replies = [m.json() for m in watcher.on(TOPICS.reply)]
    seen = run.seen

    assert reply.json()["accepted"] is True
    assert status == EXIT_STOPPED_BY_PERSON
    (request,) = seen.events("session.emergency_stop")
    latency_s, _ = stop_latency_s(seen, number(request, "t"))
    assert latency_s <= BUSY_STOP_S, latency_s
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH
    # never knocked off the broker: one connection the whole session
    assert len(seen.events("mqtt.connected")) == 1
    assert seen.events("mqtt.connection_lost") == []
    refused = [r for r in replies if r.get("reason") == "bad_argument"]
    assert len(refused) >= 10
    assert burst_answered() == 300  # every one answered, none twice, none in silence


async def test_a_remote_pause_while_paused_is_answered_with_what_the_governor_decided(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """The second of two pauses is refused by the governor: the reply says so."""
    broker = restartable_mqtt_broker
    # --speedup 2: the dry run's stand-in resumes a pause at its next tick (50 ms real
    # here), and both pauses must meet the paused session.
    async with subscribed(broker) as watcher, controller(tmp_path, broker, speedup=2) as run:
        await watcher.first(
            TOPICS.availability, "the controller online", lambda m: m.payload == b"online"
        )
        await run.belt_moving()
        async with asyncio.TaskGroup() as together:  # on the wire back to back
            together.create_task(watcher.publish(TOPICS.cmd, {"command": "pause", "id": "p1"}))
            together.create_task(watcher.publish(TOPICS.cmd, {"command": "pause", "id": "p2"}))
        await until(lambda: len(watcher.on(TOPICS.reply)) >= 2, "two replies")
        await watcher.publish(TOPICS.cmd, {"command": "stop"})
        status = await run.exit_status()
    replies = {m.json()["id"]: m.json() for m in watcher.on(TOPICS.reply)}

    assert replies["p1"]["accepted"] is True
    assert (replies["p2"]["accepted"], replies["p2"]["reason"]) == (False, "declined")
    assert "nothing to pause" in str(replies["p2"]["detail"])
    refusals = [e for e in run.seen.events("governor.refused") if e["item"] == "Pause"]
    assert len(refusals) == 1
    assert status == EXIT_STOPPED_BY_PERSON


# --- a gym's broker: passwords, the ACL of docs/, TLS with client certificates -------

GYM_TOPICS: Final = Topics(prefix=DEFAULT_PREFIX, treadmill_id="lane7")


def write_gym_settings(tmp_path: Path, broker: GymBroker) -> None:
    """The controller's settings file: user lane7, its password in a file of its own."""
    password_file = tmp_path / "lane7.pw"
    password_file.write_text(broker.passwords["lane7"] + "\n", encoding="utf-8")
    password_file.chmod(0o600)
    folder = broker.folder
    config = tmp_path / "config.toml"
    config.write_text(
        "[mqtt]\n"
        f'url = "{broker.url}"\n'
        'username = "lane7"\n'
        'treadmill_id = "lane7"\n'
        'password_file = "lane7.pw"\n'
        f'ca_file = "{folder / "ca.pem"}"\n'
        f'cert_file = "{folder / "client.pem"}"\n'
        f'key_file = "{folder / "client.key"}"\n'
        "discovery = false\n"
    )
    config.chmod(0o600)


def password_forms(password: str) -> set[str]:
    """The ways a password could show up in text: as it is, JSON-escaped, URL-encoded."""
    from urllib.parse import quote  # noqa: PLC0415

    return {password, json.dumps(password)[1:-1], quote(password, safe=""), quote(password)}


async def test_a_gym_broker_with_passwords_an_acl_and_tls_lets_staff_stop_and_no_one_else(
    tmp_path: Path, gym_broker: GymBroker
) -> None:
    """The ACL of docs/: staff stop all treadmills; a display and strangers cannot."""
    broker = gym_broker
    write_gym_settings(tmp_path, broker)
    topics = GYM_TOPICS
    async with (
        broker.client("staff", broker.passwords["staff"]) as staff,
        controller(tmp_path, broker, speedup=2, mqtt_url="") as run,
    ):
        watcher = Subscriber(staff)
        await staff.subscribe(f"{topics.base}/#", qos=1)
        async with asyncio.TaskGroup() as tasks:
            collector = tasks.create_task(watcher.collect())
            await watcher.first(
                topics.availability, "lane7 online over TLS", lambda m: m.payload == b"online"
            )
            await run.belt_moving()

            # the broker refuses a wrong password, and a client without a certificate
            with pytest.raises(aiomqtt.MqttError):
                async with broker.client("staff", "wrong"):
                    pass
            with pytest.raises(aiomqtt.MqttError):
                async with broker.client("staff", broker.passwords["staff"], certificate=False):
                    pass
            # a display may connect, but its stops never reach the treadmill
            async with broker.client("display", broker.passwords["display"]) as display:
                for topic in (topics.cmd, topics.broadcast_cmd):
                    await display.publish(topic, json.dumps({"command": "stop", "id": "d"}), qos=1)
            await watcher.publish(topics.cmd, {"command": "jump", "id": "marker"})
            await watcher.first(  # the display's stop, if let through, comes first
                topics.reply, "the marker's reply", lambda m: m.json()["id"] in {"marker", "d"}
            )
            display_got_through = [m for m in watcher.on(topics.reply) if m.json()["id"] == "d"]
            assert display_got_through == [], "the ACL let a display stop the treadmill"
            assert stop_writes(run.seen.refresh()) == []

            await watcher.publish(topics.broadcast_cmd, {"command": "stop", "id": "staff-all"})
            reply = await watcher.first(
                topics.reply, "the staff stop's reply", lambda m: m.json()["id"] == "staff-all"
            )
            status = await run.exit_status()
            collector.cancel()
    seen = run.seen

    assert reply.json()["accepted"] is True
    assert reply.json()["topic"] == topics.broadcast_cmd
    assert status == EXIT_STOPPED_BY_PERSON
    (accepted,) = seen.events("mqtt.command_accepted")
    assert accepted["request_id"] == "staff-all"
    (request,) = seen.events("session.emergency_stop")
    stop_latency_s(seen, number(request, "t"))  # a Stop reached the belt, none before
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH
    assert seen.events("mqtt.settings_warning") == []  # both files are 0600

    # The password is nowhere: not in the output, the record, the trace, the broker's log.
    texts = files_under(tmp_path, but=tmp_path / "lane7.pw")
    assert set(texts) >= {"output.txt", "session.jsonl", "trace.jsonl", "broker/broker-1.log"}
    assert "lane7" in texts["broker/broker-1.log"]  # the log is there, and it is verbose
    for name, text in texts.items():
        for form in password_forms(broker.passwords["lane7"]):
            assert form not in text, name


def files_under(folder: Path, *, but: Path) -> dict[str, str]:
    """Every file under ``folder`` but one, by name, as text."""
    return {
        str(path.relative_to(folder)): path.read_bytes().decode("utf-8", "replace")
        for path in folder.rglob("*")
        if path.is_file() and path != but
    }


async def test_a_password_in_a_bad_mqtt_url_is_never_printed(tmp_path: Path) -> None:
    """An unencoded / or @ in --mqtt's password: the error quotes the URL redacted."""
    secret = "pa/ss@word"  # noqa: S105 - a test value
    url = f"mqtt://user:{secret}@127.0.0.1:9/x"  # refused before any broker is tried
    async with controller(tmp_path, None, speedup=20, mqtt_url=url) as run:
        status = await run.exit_status(SESSION_S)
    texts = files_under(tmp_path, but=tmp_path / "none")
    assert status != 0
    assert "MQTT URL" in texts["output.txt"]
    for part in (secret, "pa/ss", "ss@word"):
        for name, text in texts.items():
            assert part not in text, name


async def test_a_password_file_others_can_read_is_warned_about_and_never_printed(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """[mqtt] password_file at mode 0644: a one-line warning, and the password nowhere."""
    broker = restartable_mqtt_broker
    secret = "open/to@all:0644"  # noqa: S105 - a test value
    password_file = tmp_path / "mqtt.pw"
    password_file.write_text(secret + "\n")
    password_file.chmod(0o644)
    (tmp_path / "config.toml").write_text(
        f'[mqtt]\nurl = "{broker.url}"\nusername = "lane"\npassword_file = "mqtt.pw"\n'
    )
    async with (
        subscribed(broker) as watcher,
        controller(tmp_path, broker, speedup=5, mqtt_url="") as run,
    ):
        await watcher.first(TOPICS.availability, "online", lambda m: m.payload == b"online")
        await watcher.publish(TOPICS.cmd, {"command": "stop"})
        status = await run.exit_status()
    texts = files_under(tmp_path, but=password_file)
    warnings = [line for line in texts["output.txt"].splitlines() if line.startswith("WARNING: ")]

    assert status == EXIT_STOPPED_BY_PERSON
    (warning,) = warnings
    assert "can be read by other users" in warning
    assert "chmod 600" in warning
    (logged,) = run.seen.events("mqtt.settings_warning")
    assert logged["warning"] == warning.removeprefix("WARNING: ")
    for name, text in texts.items():
        for form in password_forms(secret):
            assert form not in text, name


HEART_PROFILE: Final = """
name = "Heart rate to Home Assistant"
[[step]]
direction = "forward"
speed_kmh = 4.0
duration = "80s"
"""
CONTACT_LOST: Final = (40.0, 15.0)
"""The strap loses skin contact 40 s in, for 15 s (it sends zeros)."""


def _values_near(lines: list[dict[str, object]], t_s: float, window_s: float) -> list[float]:
    return [
        number(line, "heart_rate_bpm")
        for line in lines
        if abs(number(line, "t") - t_s) <= window_s and line.get("heart_rate_bpm")
    ]


async def test_home_assistants_heart_rate_follows_the_strap_not_the_handgrips(
    tmp_path: Path, restartable_mqtt_broker: BrokerProcess
) -> None:
    """With a strap, HA's heart-rate sensor shows the strap's rate; lost contact is unknown.

    The simulated treadmill relays a heart rate of its own (its handgrips), 5-10 bpm
    above the strap's after the first 20 s: the sensor must show the strap's, and while
    the strap has no contact it must go unknown, never fall back to the handgrips'.
    """
    profile = tmp_path / "heart.toml"
    profile.write_text(HEART_PROFILE)
    start_s, length_s = CONTACT_LOST
    options = ("--sim-hr-strap", "--sim-fault", f"strap-contact@{start_s:g}:{length_s:g}")
    async with (
        subscribed(restartable_mqtt_broker) as watcher,
        controller(
            tmp_path, restartable_mqtt_broker, speedup=10, profile=profile, options=options
        ) as run,
    ):
        status = await run.exit_status(SESSION_S)
    assert status == EXIT_COMPLETED, (tmp_path / "output.txt").read_text()[-2000:]
    record = [json.loads(line) for line in run.seen.record_path.read_text().splitlines()]
    strap = [
        line
        for line in record
        if line["event"] == "heart_rate.sample" and line["accepted"] and line["heart_rate_bpm"]
    ]
    handgrips = [line for line in record if line["event"] == "belt.data"]
    sensor = latest_json(watcher, f"homeassistant/sensor/{DISCOVERY_NODE}/heart_rate/config")
    assert sensor["state_topic"] == TOPICS.telemetry
    template = str(sensor["value_template"])
    shown: list[tuple[float, str]] = []
    for message in watcher.on(TOPICS.telemetry):
        elapsed = message.json().get("elapsed_s")
        if isinstance(elapsed, int | float):
            shown.append((float(elapsed), render(template, message.payload)))
    assert len(shown) >= 5

    window_s = 4.0  # telemetry's elapsed time and the record's clock, a tick or two apart
    told_apart = 0
    for elapsed, value in shown:
        near = _values_near(strap, elapsed, window_s)
        if value == PAYLOAD_NONE or not near:
            continue
        assert min(near) - 1 <= float(value) <= max(near) + 1, (elapsed, value, near)
        grips = _values_near(handgrips, elapsed, window_s)
        told_apart += bool(grips) and not min(grips) - 1 <= float(value) <= max(grips) + 1
    assert told_apart >= 3, shown

    no_contact = [v for e, v in shown if start_s + 7 <= e <= start_s + length_s - 3]
    assert no_contact, shown
    assert set(no_contact) == {PAYLOAD_NONE}, shown  # unknown, not the handgrips' figure
    assert _values_near(handgrips, start_s + 10, 3.0), "the handgrips had a figure to show"
    assert any(v != PAYLOAD_NONE for e, v in shown if e >= start_s + length_s + 5), shown

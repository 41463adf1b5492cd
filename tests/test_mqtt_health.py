"""The bridge's pure parts: the command inbox and the connection's health, on given times."""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

import aiomqtt
import structlog
from hypothesis import example, given, settings
from hypothesis import strategies as st

from treadmill_ctl.session.events import ControlOutcome, SessionPhase, SessionSnapshot

if TYPE_CHECKING:
    from collections.abc import Callable
from treadmill_ctl.telemetry.answering import CommandInbox, Dropped, Pending
from treadmill_ctl.telemetry.bridge import MqttBridge
from treadmill_ctl.telemetry.commands import CommandName, RemoteCommand, decide
from treadmill_ctl.telemetry.health import (
    FLAP_WINDOW_S,
    SHORT_LIVED_S,
    LinkHealth,
    MqttStatus,
    run_client_id,
)
from treadmill_ctl.telemetry.mqtt_settings import MqttSettings
from treadmill_ctl.telemetry.topics import Topics
from treadmill_ctl.ui.dashboard import render_dashboard


def _pending(name: CommandName, request_id: int) -> Pending:
    return Pending(RemoteCommand(name, request_id=request_id), "p/tm/cmd", b"")


class TestCommandInbox:
    def test_stops_come_out_first_and_the_overflow_is_one_dropped_batch(self) -> None:
        inbox = CommandInbox(capacity=3)
        kept = [inbox.put(_pending(CommandName.PAUSE, i), urgent=False) for i in range(5)]
        assert inbox.put(_pending(CommandName.STOP, 99), urgent=True)
        taken = []
        while (item := inbox.take()) is not None:
            taken.append(item)
        assert kept == [True, True, True, False, False]
        first, batch, *rest = taken
        assert isinstance(first, Pending)
        assert first.outcome.request_id == 99
        assert isinstance(batch, Dropped)
        assert (batch.count, batch.request_ids) == (2, [3, 4])
        assert [item.outcome.request_id for item in rest if isinstance(item, Pending)] == [
            0,
            1,
            2,
        ]

    def test_a_stop_is_kept_even_when_the_inbox_is_full(self) -> None:
        inbox = CommandInbox(capacity=1)
        inbox.put(_pending(CommandName.PAUSE, 1), urgent=False)
        assert inbox.put(_pending(CommandName.STOP, 2), urgent=True)
        item = inbox.take()
        assert isinstance(item, Pending)
        assert isinstance(item.outcome, RemoteCommand)
        assert item.outcome.name is CommandName.STOP

    def test_a_reply_that_could_not_be_sent_goes_first_next_time(self) -> None:
        inbox = CommandInbox(capacity=4)
        inbox.put(_pending(CommandName.PAUSE, 1), urgent=False)
        inbox.put_back(_pending(CommandName.END, 2))
        item = inbox.take()
        assert isinstance(item, Pending)
        assert item.outcome.request_id == 2


class TestLinkHealth:
    def test_a_steady_connection_is_up_and_one_loss_is_down(self) -> None:
        health = LinkHealth("tmctl-x")
        assert health.report(0.0).status is MqttStatus.CONNECTING
        health.connected(1.0)
        assert health.report(100.0).status is MqttStatus.UP
        health.lost(200.0, "connection lost")
        report = health.report(200.0)
        assert (report.status, report.detail) == (MqttStatus.DOWN, "connection lost")

    def test_connections_the_broker_closes_at_once_three_times_are_a_takeover(self) -> None:
        health = LinkHealth("pinned-id")
        now = 0.0
        for _ in range(3):
            health.connected(now)
            now += 0.3
            health.lost(now, "Unexpected disconnection")
            now += 0.2
        report = health.report(now)
        assert report.status is MqttStatus.TAKEN_OVER
        assert "'pinned-id'" in report.detail
        assert report.line().startswith("TAKEN OVER: the broker closed the connection 3 times")

    def test_a_takeover_ends_once_a_connection_lasts(self) -> None:
        health = LinkHealth("pinned-id")
        for start in (0.0, 1.0, 2.0):
            health.connected(start)
            health.lost(start + 0.5, "gone")
        health.connected(3.0)
        assert health.report(3.0 + SHORT_LIVED_S - 1).status is MqttStatus.TAKEN_OVER
        later = 3.0 + SHORT_LIVED_S + FLAP_WINDOW_S
        assert health.report(later).status is MqttStatus.UP

    def test_losses_of_long_connections_close_together_are_flapping_then_age_out(self) -> None:
        health = LinkHealth("tmctl-x")
        now = 0.0
        for _ in range(3):
            health.connected(now)
            now += SHORT_LIVED_S + 1
            health.lost(now, "keepalive timeout")
        assert health.report(now).status is MqttStatus.FLAPPING
        health.connected(now)
        assert health.report(now + FLAP_WINDOW_S + 1).status is MqttStatus.UP


class TestClientIdAndDashboard:
    def test_run_client_ids_differ_fit_23_bytes_and_keep_the_treadmill_ids_end(self) -> None:
        ids = {run_client_id("aa_bb_cc_dd_ee_ff", rng=random.Random(seed)) for seed in range(50)}
        assert len(ids) == 50
        assert all(len(i.encode()) <= 23 and i.startswith("tmctl-dd_ee_ff-") for i in ids)

    def test_the_dashboard_shows_the_mqtt_line(self) -> None:
        from rich.console import Console  # noqa: PLC0415

        snapshot = SessionSnapshot(t_s=1.0, phase=SessionPhase.RUNNING, profile_name="p")
        console = Console(width=100, record=True, color_system=None)
        line = "TAKEN OVER: another client is probably using client id 'x'"
        console.print(render_dashboard(snapshot, mqtt=line))
        shown = console.export_text()
        assert f"MQTT {line}" in shown
        console.print(render_dashboard(snapshot))
        assert "MQTT" not in console.export_text()


class _Control:
    """Records the session requests that reach it, answering like the runner."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Callable[..., ControlOutcome]:
        def request(*_: object) -> ControlOutcome:
            self.calls.append(name)
            return ControlOutcome(accepted=True)

        return request


_SETTINGS = MqttSettings.from_url("mqtt://127.0.0.1:9", treadmill_id="fuzz")
_TOPICS = Topics.for_settings(_SETTINGS)


class TestArrivalFuzz:
    """Whatever arrives, on whatever topic: the arrival path never fails, stops act at once."""

    @given(
        st.binary(max_size=1100)
        | st.sampled_from([b"stop", b'{"command":"stop"}', b'{"command":"pause"}'])
        | st.builds(
            lambda name, value: json.dumps({"command": name, "delta_kmh": value}).encode(),
            st.sampled_from(["stop", "nudge_speed", "pause", "start", "x"]),
            st.integers() | st.floats() | st.text(max_size=5),
        ),
        st.sampled_from([_TOPICS.cmd, _TOPICS.broadcast_cmd, _TOPICS.state, "other/topic"]),
        st.booleans(),
    )
    @example(b'{"command": "nudge_speed", "delta_kmh": ' + b"9" * 400 + b"}", _TOPICS.cmd, False)  # noqa: FBT003
    @example(b"[" * 900, _TOPICS.broadcast_cmd, False)  # noqa: FBT003
    @settings(max_examples=300, deadline=None)
    def test_fuzz_no_message_breaks_the_arrival_path(
        self,
        payload: bytes,
        topic: str,
        retain: bool,  # noqa: FBT001 - drawn by hypothesis
    ) -> None:
        control = _Control()
        bridge = MqttBridge(_SETTINGS, control)
        message = aiomqtt.Message(topic, payload, qos=1, retain=retain, mid=1, properties=None)
        with structlog.testing.capture_logs() as logs:
            bridge._desk.arrive(message)
        assert [log for log in logs if log["event"] == "mqtt.arrival_failed"] == []
        is_command_topic = topic in {_TOPICS.cmd, _TOPICS.broadcast_cmd}
        waiting = len(bridge._desk.inbox)
        assert waiting == (1 if is_command_topic else 0)
        outcome = decide(
            payload,
            allow_remote_control=False,
            broadcast=topic == _TOPICS.broadcast_cmd,
            retained=retain,
        )
        is_stop = isinstance(outcome, RemoteCommand) and outcome.name is CommandName.STOP
        assert control.calls == (["emergency_stop"] if is_stop and is_command_topic else [])


def test_a_stop_behind_a_full_inbox_is_acted_on_at_arrival_and_answered_first() -> None:
    """No task runs here: what a stop gets, it gets in the arrival callback itself."""
    control = _Control()
    bridge = MqttBridge(_SETTINGS, control, inbox_capacity=256)
    arrive = bridge._desk.arrive
    for index in range(300):
        payload = json.dumps({"command": "pause", "id": index}).encode()
        arrive(aiomqtt.Message(_TOPICS.cmd, payload, qos=0, retain=False, mid=0, properties=None))
    assert control.calls == []  # pauses wait for the answering task
    stop = b'{"command": "stop", "id": "late"}'
    arrive(aiomqtt.Message(_TOPICS.cmd, stop, qos=1, retain=False, mid=1, properties=None))
    assert control.calls == ["emergency_stop"]
    first = bridge._desk.inbox.take()
    second = bridge._desk.inbox.take()
    assert isinstance(first, Pending)
    assert first.outcome.request_id == "late"
    assert isinstance(second, Dropped)
    assert (second.count, bridge.stats.commands_dropped) == (44, 44)

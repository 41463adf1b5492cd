"""What the bridge publishes: state, telemetry and event JSON, and the discovery configs."""

from __future__ import annotations

import json
import math
from enum import Enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treadmill_ctl.session.events import SessionEvent, SessionPhase, SessionSnapshot
from treadmill_ctl.telemetry.discovery import STOP_PRESS_PAYLOAD, discovery_messages
from treadmill_ctl.telemetry.mqtt_settings import MqttSettings
from treadmill_ctl.telemetry.payloads import StateView, TreadmillState, event_json, telemetry_json


def _settings(treadmill_id: str = "lane1") -> MqttSettings:
    return MqttSettings.from_url("mqtt://b", treadmill_id=treadmill_id, prefix="gym")


class TestState:
    @pytest.mark.parametrize(
        ("phase", "state"),
        [
            (SessionPhase.CONNECTING, TreadmillState.IDLE),
            (SessionPhase.WAITING_FOR_START, TreadmillState.IDLE),
            (SessionPhase.RUNNING, TreadmillState.RUNNING),
            (SessionPhase.TURNING_AROUND, TreadmillState.RUNNING),
            (SessionPhase.ENDING, TreadmillState.RUNNING),
            (SessionPhase.PAUSED, TreadmillState.PAUSED),
            (SessionPhase.LATCHED, TreadmillState.LATCHED),
            (SessionPhase.FINISHED, TreadmillState.FINISHED),
        ],
    )
    def test_every_phase_shows_as_one_state(
        self, phase: SessionPhase, state: TreadmillState
    ) -> None:
        assert StateView.of(SessionSnapshot(0.0, phase, "p")).state is state

    def test_a_latch_carries_its_reason_and_other_states_none(self) -> None:
        latched = SessionSnapshot(0.0, SessionPhase.LATCHED, "p", latch_reason="lost_link")
        assert json.loads(StateView.of(latched).to_json())["reason"] == "lost_link"
        stale = SessionSnapshot(0.0, SessionPhase.RUNNING, "p", latch_reason="lost_link")
        assert StateView.of(stale).reason is None


class TestTelemetry:
    def test_missing_figures_are_null_not_zero(self) -> None:
        telemetry = json.loads(telemetry_json(SessionSnapshot(3.0, SessionPhase.CONNECTING, "p")))
        assert telemetry["belt_speed_kmh"] is None
        assert telemetry["distance_m"] is None
        assert telemetry["segment"] is None
        assert telemetry["state"] == "idle"

    @given(
        st.floats(allow_nan=True, allow_infinity=True) | st.none(),
        st.floats(allow_nan=True, allow_infinity=True),
    )
    @settings(derandomize=True, max_examples=200, deadline=None)
    def test_telemetry_is_always_strict_json(self, belt: float | None, target: float) -> None:
        snapshot = SessionSnapshot(
            1.0, SessionPhase.RUNNING, "p", belt_speed_kmh=belt, target_speed_kmh=target
        )
        telemetry = json.loads(telemetry_json(snapshot))
        assert telemetry["belt_speed_kmh"] is None or math.isfinite(telemetry["belt_speed_kmh"])


class _Code(Enum):
    SAFETY_KEY = 3


class TestEvents:
    def test_odd_field_values_are_written_as_text_not_lost(self) -> None:
        event = SessionEvent(
            "command.sent",
            1.0,
            {"payload": b"\x08\x01", "code": _Code.SAFETY_KEY, "ratio": math.nan, "obj": object},
        )
        fields = json.loads(event_json(event))["fields"]
        assert fields["payload"] == "0801"
        assert fields["code"] == 3
        assert fields["ratio"] is None
        assert fields["obj"].startswith("<class")


class TestDiscovery:
    def test_every_config_is_retained_json_with_what_home_assistant_needs(self) -> None:
        messages = discovery_messages(_settings())
        assert messages
        for message in messages:
            config = json.loads(message.payload)
            component, node, _object_id, last = message.topic.split("/")[1:]
            assert message.topic.startswith("homeassistant/")
            assert (node, last) == ("treadmill_ctl_lane1", "config")
            assert config["unique_id"].startswith("treadmill_ctl_lane1_")
            assert config["availability_topic"] == "gym/lane1/availability"
            assert config["device"]["identifiers"] == ["treadmill_ctl_lane1"]
            if component == "sensor":
                assert config["state_topic"] in {"gym/lane1/telemetry", "gym/lane1/state"}
                assert config["value_template"].startswith("{{ value_json.")

    def test_sensors_cover_speed_distance_state_and_direction(self) -> None:
        object_ids = {m.topic.split("/")[3] for m in discovery_messages(_settings())}
        assert {"belt_speed", "distance", "state", "direction", "emergency_stop"} <= object_ids

    def test_the_button_presses_an_emergency_stop_on_the_treadmill_cmd_topic(self) -> None:
        (button,) = [m for m in discovery_messages(_settings()) if "/button/" in m.topic]
        config = json.loads(button.payload)
        assert config["command_topic"] == "gym/lane1/cmd"
        assert json.loads(config["payload_press"])["command"] == "stop"
        assert config["payload_press"] == STOP_PRESS_PAYLOAD

    def test_two_treadmills_on_one_broker_never_share_an_id_or_a_topic(self) -> None:
        first, second = (
            discovery_messages(_settings("lane1")),
            discovery_messages(_settings("lane2")),
        )
        ids = [json.loads(m.payload)["unique_id"] for m in first + second]
        topics = [m.topic for m in first + second]
        assert len(set(ids)) == len(ids)
        assert len(set(topics)) == len(topics)

    def test_the_state_sensor_lists_every_state_as_an_option(self) -> None:
        (state,) = [m for m in discovery_messages(_settings()) if "/state/config" in m.topic]
        assert json.loads(state.payload)["options"] == [s.value for s in TreadmillState]

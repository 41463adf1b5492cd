"""What the bridge publishes: state, telemetry and event JSON, and the discovery configs."""

from __future__ import annotations

import json
import math
from enum import Enum

import pytest
from ha_rules import PAYLOAD_NONE, check_config, render
from hypothesis import given
from hypothesis import strategies as st

import treadmill_ctl
from treadmill_ctl.safety import LatchReason
from treadmill_ctl.session.events import (
    Direction,
    RecordEvent,
    SessionEvent,
    SessionPhase,
    SessionSnapshot,
)
from treadmill_ctl.telemetry.discovery import (
    NO_VALUE,
    STOP_PRESS_PAYLOAD,
    TreadmillDevice,
    discovery_messages,
    removal_messages,
)
from treadmill_ctl.telemetry.mqtt_settings import MqttSettings
from treadmill_ctl.telemetry.payloads import StateView, TreadmillState, event_json, telemetry_json


def _settings(treadmill_id: str = "lane1") -> MqttSettings:
    return MqttSettings.from_url("mqtt://b", treadmill_id=treadmill_id, prefix="gym")


TREADMILL = TreadmillDevice(
    name="KS-X21",
    address="C4:7A:0D:11:22:33",
    manufacturer="Kingsmith",
    model="X21",
    serial_number="KS123",
    hw_version="B",
    sw_version="2.0.1",
)


def _configs(device: TreadmillDevice | None = TREADMILL) -> dict[str, dict[str, object]]:
    """Object id -> config, each checked against Home Assistant's discovery rules."""
    return {
        m.topic.split("/")[3]: check_config(m.topic, m.payload)
        for m in discovery_messages(_settings(), device=device)
    }


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
        lost = LatchReason.LINK_LOST
        latched = SessionSnapshot(0.0, SessionPhase.LATCHED, "p", latch_reason=lost)
        assert json.loads(StateView.of(latched).to_json())["reason"] == "link_lost"
        stale = SessionSnapshot(0.0, SessionPhase.RUNNING, "p", latch_reason=lost)
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
            RecordEvent.ALARM,
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


class TestDiscoveryByHomeAssistantsRules:
    def test_every_config_follows_the_documented_rules(self) -> None:
        configs = _configs()
        assert {"elapsed", "remaining", "link", "direction", "latch_reason"} <= set(configs)
        ids = [config["unique_id"] for config in configs.values()]
        assert len(set(ids)) == len(ids)

    def test_the_device_is_the_treadmill_with_its_bluetooth_address(self) -> None:
        device = _configs()["belt_speed"]["device"]
        assert device == {
            "identifiers": ["treadmill_ctl_lane1"],
            "name": "KS-X21",
            "connections": [["bluetooth", "c4:7a:0d:11:22:33"]],
            "manufacturer": "Kingsmith",
            "model": "X21",
            "serial_number": "KS123",
            "hw_version": "B",
            "sw_version": "2.0.1",
        }

    def test_the_origin_is_this_program_and_never_the_device(self) -> None:
        config = _configs()["belt_speed"]
        origin = config["origin"]
        assert isinstance(origin, dict)
        assert origin["name"] == "treadmill_ctl"
        assert origin["sw_version"] == treadmill_ctl.__version__
        device = config["device"]
        assert isinstance(device, dict)
        assert device.get("manufacturer") != "treadmill_ctl"

    def test_a_device_info_event_from_the_runner_gives_the_device(self) -> None:
        fields = {
            "name": "KS-X21",
            "address": "C4:7A:0D:11:22:33",
            "information": {
                "manufacturer": "Kingsmith",
                "model": "X21",
                "serial_number": "KS123",
                "hardware_revision": "B",
                "firmware_revision": "2.0.1",
            },
        }
        assert TreadmillDevice.from_event(fields) == TREADMILL

    @pytest.mark.parametrize(
        ("snapshot", "expected"),
        [
            (SessionSnapshot(0.0, SessionPhase.CONNECTING, "p"), NO_VALUE),
            (
                SessionSnapshot(0.0, SessionPhase.RUNNING, "p", direction=Direction.BACKWARD),
                "backward",
            ),
            (
                SessionSnapshot(0.0, SessionPhase.RUNNING, "p", direction=Direction.FORWARD),
                "forward",
            ),
        ],
    )
    def test_the_direction_sensor_shows_only_its_declared_options(
        self, snapshot: SessionSnapshot, expected: str
    ) -> None:
        config = _configs()["direction"]
        shown = render(str(config["value_template"]), telemetry_json(snapshot))
        assert shown == expected
        assert shown in config["options"]  # type: ignore[operator]

    @pytest.mark.parametrize("reason", [None, *LatchReason], ids=str)
    def test_the_stop_reason_shows_only_its_declared_options(
        self, reason: LatchReason | None
    ) -> None:
        config = _configs()["latch_reason"]
        phase = SessionPhase.LATCHED if reason else SessionPhase.RUNNING
        state = StateView.of(SessionSnapshot(0.0, phase, "p", latch_reason=reason)).to_json()
        shown = render(str(config["value_template"]), state)
        assert shown == (reason.label if reason else NO_VALUE)
        assert shown in config["options"]  # type: ignore[operator]

    def test_elapsed_and_remaining_are_durations_in_seconds(self) -> None:
        snapshot = SessionSnapshot(
            0.0, SessionPhase.RUNNING, "p", elapsed_s=61.26, session_remaining_s=30.0
        )
        configs = _configs()
        for object_id, value in (("elapsed", "61.3"), ("remaining", "30.0")):
            config = configs[object_id]
            assert (config["device_class"], config["unit_of_measurement"]) == ("duration", "s")
            assert render(str(config["value_template"]), telemetry_json(snapshot)) == value

    def test_a_missing_number_renders_as_home_assistants_none(self) -> None:
        snapshot = SessionSnapshot(0.0, SessionPhase.CONNECTING, "p")
        config = _configs()["heart_rate"]
        assert render(str(config["value_template"]), telemetry_json(snapshot)) == PAYLOAD_NONE

    def test_the_link_is_a_connectivity_binary_sensor(self) -> None:
        config = _configs()["link"]
        assert config["device_class"] == "connectivity"
        template = str(config["value_template"])
        up = SessionSnapshot(0.0, SessionPhase.RUNNING, "p", link_up=True)
        down = SessionSnapshot(0.0, SessionPhase.RUNNING, "p", link_up=False)
        assert render(template, telemetry_json(up)) == config["payload_on"]
        assert render(template, telemetry_json(down)) == config["payload_off"]

    def test_telemetry_sensors_expire_and_retained_ones_do_not(self) -> None:
        configs = _configs()
        for config in configs.values():
            if config.get("state_topic") == "gym/lane1/telemetry":
                assert config["expire_after"] == 10
            else:
                assert "expire_after" not in config

    def test_numbers_suggest_a_display_precision(self) -> None:
        configs = _configs()
        assert configs["belt_speed"]["suggested_display_precision"] == 1
        assert configs["distance"]["suggested_display_precision"] == 0

    def test_before_the_treadmill_is_read_the_device_still_follows_the_rules(self) -> None:
        device = _configs(None)["state"]["device"]
        assert device == {"identifiers": ["treadmill_ctl_lane1"], "name": "Treadmill lane1"}

    def test_removal_is_an_empty_retained_config_on_every_topic(self) -> None:
        messages = discovery_messages(_settings(), device=TREADMILL)
        removals = removal_messages(messages)
        assert [m.topic for m in removals] == [m.topic for m in messages]
        assert {m.payload for m in removals} == {b""}

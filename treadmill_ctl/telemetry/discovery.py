"""Home Assistant MQTT discovery: sensors and an emergency-stop button per treadmill.

Home Assistant creates entities from retained JSON configs published on
``<discovery_prefix>/<component>/<node_id>/<object_id>/config``. Each treadmill
gets its own device (``identifiers``) and its own ``unique_id`` per entity, so a
gym with several treadmills on one broker shows several devices. Every entity uses
the treadmill's availability topic, so a crashed controller shows unavailable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from treadmill_ctl import __version__
from treadmill_ctl.telemetry.payloads import TreadmillState
from treadmill_ctl.telemetry.topics import OFFLINE, ONLINE, Topics

if TYPE_CHECKING:
    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

STOP_PRESS_PAYLOAD: Final = '{"command": "stop", "id": "homeassistant"}'
"""What the Home Assistant button publishes on the ``cmd`` topic."""


@dataclass(frozen=True, slots=True)
class DiscoveryMessage:
    """One retained discovery config to publish."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Sensor:
    object_id: str
    name: str
    topic: str  # "telemetry" or "state"
    value_template: str
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    icon: str | None = None
    options: tuple[str, ...] | None = None


_SENSORS: Final = (
    _Sensor(
        "belt_speed",
        "Belt speed",
        "telemetry",
        "{{ value_json.belt_speed_kmh }}",
        unit="km/h",
        device_class="speed",
        state_class="measurement",
    ),
    _Sensor(
        "target_speed",
        "Target speed",
        "telemetry",
        "{{ value_json.target_speed_kmh }}",
        unit="km/h",
        device_class="speed",
        state_class="measurement",
    ),
    _Sensor(
        "distance",
        "Distance",
        "telemetry",
        "{{ value_json.distance_m }}",
        unit="m",
        device_class="distance",
        state_class="total_increasing",
    ),
    _Sensor(
        "incline",
        "Incline",
        "telemetry",
        "{{ value_json.incline_pct }}",
        unit="%",
        state_class="measurement",
        icon="mdi:slope-uphill",
    ),
    _Sensor(
        "heart_rate",
        "Heart rate",
        "telemetry",
        "{{ value_json.heart_rate_bpm }}",
        unit="bpm",
        state_class="measurement",
        icon="mdi:heart-pulse",
    ),
    _Sensor(
        "direction",
        "Direction",
        "telemetry",
        "{{ value_json.direction if value_json.direction else 'none' }}",
        icon="mdi:swap-vertical",
    ),
    _Sensor(
        "state",
        "State",
        "state",
        "{{ value_json.state }}",
        device_class="enum",
        icon="mdi:run",
        options=tuple(TreadmillState),
    ),
    _Sensor(
        "latch_reason",
        "Stop reason",
        "state",
        "{{ value_json.reason if value_json.reason else 'none' }}",
        icon="mdi:alert-octagon",
    ),
)


def discovery_messages(
    settings: MqttSettings, *, device_name: str | None = None, model: str | None = None
) -> list[DiscoveryMessage]:
    """All retained discovery configs for the treadmill ``settings`` names.

    Args:
        settings: gives the topics, the treadmill id and the discovery prefix.
        device_name: the device's name in Home Assistant (default: "Treadmill <id>").
        model: the treadmill's model, if known (e.g. from the FTMS device name).
    """
    topics = Topics.for_settings(settings)
    node_id = f"treadmill_ctl_{settings.treadmill_id}"
    common: dict[str, object] = {
        "availability_topic": topics.availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device": {
            "identifiers": [node_id],
            "name": device_name or f"Treadmill {settings.treadmill_id}",
            "manufacturer": "treadmill_ctl",
            "model": model or "FTMS treadmill",
            "sw_version": __version__,
        },
        "origin": {"name": "treadmill_ctl", "sw_version": __version__},
    }
    messages = [
        _message(
            settings, "sensor", node_id, sensor.object_id, common | _sensor_config(sensor, topics)
        )
        for sensor in _SENSORS
    ]
    button = {
        "name": "Emergency stop",
        "command_topic": topics.cmd,
        "payload_press": STOP_PRESS_PAYLOAD,
        "icon": "mdi:stop-circle",
        "qos": 1,
        "retain": False,
    }
    messages.append(_message(settings, "button", node_id, "emergency_stop", common | button))
    return messages


def _sensor_config(sensor: _Sensor, topics: Topics) -> dict[str, object]:
    config: dict[str, object] = {
        "name": sensor.name,
        "state_topic": topics.state if sensor.topic == "state" else topics.telemetry,
        "value_template": sensor.value_template,
    }
    optional = {
        "unit_of_measurement": sensor.unit,
        "device_class": sensor.device_class,
        "state_class": sensor.state_class,
        "icon": sensor.icon,
        "options": list(sensor.options) if sensor.options else None,
    }
    config.update({key: value for key, value in optional.items() if value is not None})
    return config


def _message(
    settings: MqttSettings, component: str, node_id: str, object_id: str, config: dict[str, object]
) -> DiscoveryMessage:
    config = {"unique_id": f"{node_id}_{object_id}"} | config
    topic = f"{settings.discovery_prefix}/{component}/{node_id}/{object_id}/config"
    return DiscoveryMessage(topic=topic, payload=json.dumps(config, separators=(",", ":")).encode())

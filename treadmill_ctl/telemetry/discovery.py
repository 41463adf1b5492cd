"""Home Assistant MQTT discovery: the treadmill as a device, its sensors and a stop button.

Home Assistant creates entities from retained JSON configs published on
``<discovery_prefix>/<component>/<node_id>/<object_id>/config`` and removes them when
an empty retained payload replaces the config. Following its documented rules:

* the ``device`` is the treadmill, not this program: its ``identifiers`` (one per
  treadmill, so a gym with several on one broker shows several devices), its
  Bluetooth address as ``connections: [["bluetooth", MAC]]`` (so it merges with the
  device Home Assistant's own Bluetooth integration sees), and what its Device
  Information service says (manufacturer, model, serial number, hardware and
  firmware revisions) once the session has read it;
* ``origin`` is this program (name, version and, when the package declares one, a
  support URL);
* every entity has its own ``unique_id`` and uses the treadmill's availability
  topic, so a crashed controller shows unavailable;
* enum sensors (direction, state, stop reason) have ``device_class: enum`` and the
  ``options`` they can take, with no unit or state class; a sensor with nothing to
  say shows a declared option (``none``), never free text;
* elapsed and remaining time are ``duration`` sensors in seconds; the link is a
  ``connectivity`` binary sensor;
* sensors fed by the telemetry topic have ``expire_after``, so a value that stops
  coming shows unavailable instead of frozen, and numbers carry
  ``suggested_display_precision``.

A dry run against the simulator removes its entries when it ends
(:func:`removal_messages`), so no simulated device stays in Home Assistant.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from treadmill_ctl import __version__
from treadmill_ctl.safety.states import Direction, LatchReason
from treadmill_ctl.telemetry.payloads import TreadmillState
from treadmill_ctl.telemetry.topics import OFFLINE, ONLINE, Topics

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

STOP_PRESS_PAYLOAD: Final = '{"command": "stop", "id": "homeassistant"}'
"""What the Home Assistant button publishes on the ``cmd`` topic."""

NO_VALUE: Final = "none"
"""The declared option an enum sensor shows when there is nothing to say."""

DIRECTION_OPTIONS: Final = (*(direction.value for direction in Direction), NO_VALUE)
STOP_REASON_OPTIONS: Final = (*(reason.label for reason in LatchReason), NO_VALUE)

MIN_EXPIRE_AFTER_S: Final = 10
"""Telemetry sensors expire after this long without a value, at the least."""

_ORIGIN_NAME: Final = "treadmill_ctl"
_SUPPORT_LABELS: Final = ("issues", "bug tracker", "homepage", "source", "repository")


@dataclass(frozen=True, slots=True)
class DiscoveryMessage:
    """One retained discovery config to publish (an empty payload removes it)."""

    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class TreadmillDevice:
    """The treadmill as Home Assistant's device registry describes it.

    Attributes:
        name: Its advertised name.
        address: Its Bluetooth address (``AA:BB:CC:DD:EE:FF``).
        manufacturer: From its Device Information service, if it has one.
        model: From its Device Information service.
        serial_number: From its Device Information service.
        hw_version: Its hardware revision.
        sw_version: Its firmware (or software) revision.
    """

    name: str | None = None
    address: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial_number: str | None = None
    hw_version: str | None = None
    sw_version: str | None = None

    @classmethod
    def from_event(cls, fields: Mapping[str, object]) -> TreadmillDevice:
        """From the runner's ``session.device`` event (name, address, ``information``)."""
        raw = fields.get("information")
        information: Mapping[str, object] = raw if isinstance(raw, dict) else {}

        def text(source: Mapping[str, object], key: str) -> str | None:
            value = source.get(key)
            return value.strip() or None if isinstance(value, str) else None

        return cls(
            name=text(fields, "name"),
            address=text(fields, "address"),
            manufacturer=text(information, "manufacturer"),
            model=text(information, "model"),
            serial_number=text(information, "serial_number"),
            hw_version=text(information, "hardware_revision"),
            sw_version=text(information, "firmware_revision")
            or text(information, "software_revision"),
        )


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
    precision: int | None = None


def _enum_template(key: str, options: Iterable[str]) -> str:
    listed = ", ".join(f"'{option}'" for option in options if option != NO_VALUE)
    return f"{{{{ value_json.{key} if value_json.{key} in [{listed}] else '{NO_VALUE}' }}}}"


_SENSORS: Final = (
    _Sensor(
        "belt_speed",
        "Belt speed",
        "telemetry",
        "{{ value_json.belt_speed_kmh }}",
        unit="km/h",
        device_class="speed",
        state_class="measurement",
        precision=1,
    ),
    _Sensor(
        "target_speed",
        "Target speed",
        "telemetry",
        "{{ value_json.target_speed_kmh }}",
        unit="km/h",
        device_class="speed",
        state_class="measurement",
        precision=1,
    ),
    _Sensor(
        "distance",
        "Distance",
        "telemetry",
        "{{ value_json.distance_m }}",
        unit="m",
        device_class="distance",
        state_class="total_increasing",
        precision=0,
    ),
    _Sensor(
        "incline",
        "Incline",
        "telemetry",
        "{{ value_json.incline_pct }}",
        unit="%",
        state_class="measurement",
        icon="mdi:slope-uphill",
        precision=1,
    ),
    _Sensor(
        "heart_rate",
        "Heart rate",
        "telemetry",
        "{{ value_json.heart_rate_bpm }}",
        unit="bpm",
        state_class="measurement",
        icon="mdi:heart-pulse",
        precision=0,
    ),
    _Sensor(
        "elapsed",
        "Elapsed time",
        "telemetry",
        "{{ value_json.elapsed_s }}",
        unit="s",
        device_class="duration",
        state_class="measurement",
        precision=0,
    ),
    _Sensor(
        "remaining",
        "Time left",
        "telemetry",
        "{{ value_json.session_remaining_s }}",
        unit="s",
        device_class="duration",
        state_class="measurement",
        precision=0,
    ),
    _Sensor(
        "direction",
        "Direction",
        "telemetry",
        _enum_template("direction", DIRECTION_OPTIONS),
        device_class="enum",
        icon="mdi:swap-vertical",
        options=DIRECTION_OPTIONS,
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
        _enum_template("reason", STOP_REASON_OPTIONS),
        device_class="enum",
        icon="mdi:alert-octagon",
        options=STOP_REASON_OPTIONS,
    ),
)


def support_url() -> str | None:
    """The project's support URL from its package metadata, if it declares one."""
    try:
        urls = importlib.metadata.metadata("treadmill-ctl").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    found = {}
    for entry in urls:
        label, _, url = entry.partition(",")
        found[label.strip().lower()] = url.strip()
    return next((found[label] for label in _SUPPORT_LABELS if found.get(label)), None)


def node_id(settings: MqttSettings) -> str:
    """The treadmill's node id in discovery topics and the prefix of its unique ids."""
    return f"treadmill_ctl_{settings.treadmill_id}"


def expire_after_s(settings: MqttSettings) -> int:
    """How long a telemetry sensor keeps its value without a new one."""
    return max(MIN_EXPIRE_AFTER_S, math.ceil(5 * settings.telemetry_interval_s))


def discovery_messages(
    settings: MqttSettings,
    *,
    device_name: str | None = None,
    model: str | None = None,
    device: TreadmillDevice | None = None,
) -> list[DiscoveryMessage]:
    """All retained discovery configs for the treadmill ``settings`` names.

    Args:
        settings: gives the topics, the treadmill id and the discovery prefix.
        device_name: the device's name in Home Assistant when ``device`` has none
            (default: "Treadmill <id>").
        model: the treadmill's model when ``device`` has none.
        device: the treadmill: its address and Device Information, once known.
    """
    topics = Topics.for_settings(settings)
    node = node_id(settings)
    device = device or TreadmillDevice()
    block: dict[str, object] = {
        "identifiers": [node],
        "name": device.name or device_name or f"Treadmill {settings.treadmill_id}",
    }
    if device.address:
        block["connections"] = [["bluetooth", device.address.lower()]]
    optional = {
        "manufacturer": device.manufacturer,
        "model": device.model or model,
        "serial_number": device.serial_number,
        "hw_version": device.hw_version,
        "sw_version": device.sw_version,
    }
    block.update({key: value for key, value in optional.items() if value})
    origin: dict[str, object] = {"name": _ORIGIN_NAME, "sw_version": __version__}
    if url := support_url():
        origin["support_url"] = url
    common: dict[str, object] = {
        "availability_topic": topics.availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device": block,
        "origin": origin,
    }
    expire_s = expire_after_s(settings)
    messages = [
        _message(
            settings,
            "sensor",
            sensor.object_id,
            common | _sensor_config(sensor, topics, expire_s),
        )
        for sensor in _SENSORS
    ]
    link = {
        "name": "Treadmill link",
        "state_topic": topics.telemetry,
        "value_template": "{{ 'ON' if value_json.link_up else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "connectivity",
        "expire_after": expire_s,
    }
    messages.append(_message(settings, "binary_sensor", "link", common | link))
    button = {
        "name": "Emergency stop",
        "command_topic": topics.cmd,
        "payload_press": STOP_PRESS_PAYLOAD,
        "icon": "mdi:stop-circle",
        "qos": 1,
        "retain": False,
    }
    messages.append(_message(settings, "button", "emergency_stop", common | button))
    return messages


def removal_messages(messages: Iterable[DiscoveryMessage]) -> list[DiscoveryMessage]:
    """Empty retained payloads on the same topics: Home Assistant removes those entities."""
    return [DiscoveryMessage(topic=message.topic, payload=b"") for message in messages]


def _sensor_config(sensor: _Sensor, topics: Topics, expire_s: int) -> dict[str, object]:
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
        "suggested_display_precision": sensor.precision,
        "expire_after": expire_s if sensor.topic == "telemetry" else None,
    }
    config.update({key: value for key, value in optional.items() if value is not None})
    return config


def _message(
    settings: MqttSettings, component: str, object_id: str, config: dict[str, object]
) -> DiscoveryMessage:
    node = node_id(settings)
    config = {"unique_id": f"{node}_{object_id}"} | config
    topic = f"{settings.discovery_prefix}/{component}/{node}/{object_id}/config"
    return DiscoveryMessage(topic=topic, payload=json.dumps(config, separators=(",", ":")).encode())

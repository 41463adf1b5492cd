"""Home Assistant's MQTT discovery rules, as its documentation states them, for the tests.

A config is checked the way Home Assistant would take it: the topic's shape, the
``device`` and ``origin`` blocks, each component's keys, and for sensors the
documented combinations of device class, unit, state class and options. Value
templates are rendered with Jinja2 (Home Assistant's template engine) against real
payloads, so an enum sensor can be shown to produce only its declared options.
"""

from __future__ import annotations

import json
import re
from typing import Final

import jinja2

TOPIC: Final = re.compile(
    r"^(?P<prefix>[^/#+]+)/(?P<component>[a-z_]+)/(?P<node>[a-zA-Z0-9_-]+)/"
    r"(?P<object>[a-zA-Z0-9_-]+)/config$"
)
STATE_CLASSES: Final = {"measurement", "measurement_angle", "total", "total_increasing"}
UNITS: Final = {
    "duration": {"d", "h", "min", "s", "ms"},
    "speed": {"km/h", "m/s", "mph", "ft/s", "in/d", "in/h", "in/s", "kn", "mm/d", "mm/h", "mm/s"},
    "distance": {"km", "m", "cm", "mm", "mi", "nmi", "yd", "ft", "in"},
}
NUMERIC_CLASSES: Final = set(UNITS)
BINARY_CLASSES: Final = {"connectivity", "problem", "running", "moving", "safety"}
PAYLOAD_NONE: Final = "None"
"""What a template renders for a missing value; Home Assistant shows it as unknown."""


def check_config(topic: str, payload: bytes) -> dict[str, object]:
    """Check one discovery message; return its config. Fails with the rule broken."""
    match = TOPIC.match(topic)
    assert match, f"{topic}: not <prefix>/<component>/<node_id>/<object_id>/config"
    config = json.loads(payload)
    assert isinstance(config, dict), topic
    assert isinstance(config.get("unique_id"), str), f"{topic}: needs a unique_id"
    _check_device(topic, config.get("device"))
    _check_origin(topic, config.get("origin"))
    assert config.get("availability_topic"), f"{topic}: no availability topic"
    match match["component"]:
        case "sensor":
            _check_sensor(topic, config)
        case "binary_sensor":
            _check_binary_sensor(topic, config)
        case "button":
            assert config.get("command_topic"), f"{topic}: a button needs a command_topic"
        case other:
            raise AssertionError(f"{topic}: unexpected component {other}")
    if "expire_after" in config:
        expire = config["expire_after"]
        assert isinstance(expire, int), f"{topic}: expire_after must be whole seconds"
        assert expire > 0, topic
    return config


def _check_device(topic: str, device: object) -> None:
    assert isinstance(device, dict), f"{topic}: no device block"
    identifiers = device.get("identifiers")
    connections = device.get("connections")
    assert identifiers or connections, f"{topic}: a device needs identifiers or connections"
    if identifiers is not None:
        assert isinstance(identifiers, list), topic
        assert all(isinstance(item, str) and item for item in identifiers), topic
    if connections is not None:
        assert isinstance(connections, list), topic
        for pair in connections:
            assert isinstance(pair, list), f"{topic}: a connection is [type, id]"
            assert len(pair) == 2, f"{topic}: a connection is [type, id]"
            assert all(isinstance(part, str) and part for part in pair), topic


def _check_origin(topic: str, origin: object) -> None:
    assert isinstance(origin, dict), f"{topic}: no origin block"
    assert isinstance(origin.get("name"), str), f"{topic}: origin needs a name"
    url = origin.get("support_url")
    if url is not None:
        assert isinstance(url, str), topic
        assert url.startswith(("http://", "https://")), topic


def _check_sensor(topic: str, config: dict[str, object]) -> None:
    assert config.get("state_topic"), f"{topic}: a sensor needs a state_topic"
    device_class = config.get("device_class")
    unit = config.get("unit_of_measurement")
    state_class = config.get("state_class")
    options = config.get("options")
    if device_class == "enum":
        assert isinstance(options, list), f"{topic}: an enum sensor lists its options"
        assert options, topic
        assert all(isinstance(option, str) for option in options), topic
        assert unit is None, f"{topic}: an enum sensor has no unit"
        assert state_class is None, f"{topic}: an enum sensor has no state class"
        assert "suggested_display_precision" not in config, topic
    else:
        assert options is None, f"{topic}: options only go with device_class enum"
    if isinstance(device_class, str) and device_class in UNITS:
        assert unit in UNITS[device_class], f"{topic}: {unit!r} is not a {device_class} unit"
    if state_class is not None:
        assert state_class in STATE_CLASSES, f"{topic}: state class {state_class!r}"
    precision = config.get("suggested_display_precision")
    if precision is not None:
        assert isinstance(precision, int), topic
        assert precision >= 0, topic


def _check_binary_sensor(topic: str, config: dict[str, object]) -> None:
    assert config.get("state_topic"), f"{topic}: a binary sensor needs a state_topic"
    assert config.get("device_class") in BINARY_CLASSES, topic
    assert config.get("payload_on", "ON") != config.get("payload_off", "OFF"), topic


def render(template: str, payload: bytes) -> str:
    """A ``value_template`` rendered against a JSON payload, as Home Assistant does."""
    environment = jinja2.Environment(autoescape=False)  # noqa: S701 - not HTML
    return environment.from_string(template).render(value_json=json.loads(payload))

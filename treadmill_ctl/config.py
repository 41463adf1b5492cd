"""The user's settings file: limits, body weight, MQTT, hotkeys, per-treadmill quirks.

One TOML file in the platform's config directory (``treadmill-ctl config`` prints
where); ``TREADMILL_CTL_CONFIG`` points elsewhere (tests, several users). A missing
file means the defaults. A bad value is an error that names the file and the key:
nothing runs on settings we could not read.

Example::

    weight_kg = 72

    [limits]                      # may only tighten SAFETY.md's hard ceilings...
    backward_max_speed_kmh = 2.5
    heart_rate_max_bpm = 140

    [mqtt]
    url = "mqtt://user:secret@broker.local:1883"

    [hotkeys]
    x = "emergency_stop"

    [devices."AA:BB:CC:DD:EE:FF"]  # a treadmill that reports mph in km/h fields
    speed_unit = "mph"

    [heart_rate]                  # a chest strap or watch (treadmill-ctl scan lists them)
    sensor = "Polar H10 8C4A2B1D"
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

import platformdirs

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.safety.limits import HARD_CEILINGS, Limits, Override

if TYPE_CHECKING:
    from collections.abc import Mapping

APP_NAME: Final = "treadmill-ctl"
CONFIG_ENV: Final = "TREADMILL_CTL_CONFIG"
DATA_ENV: Final = "TREADMILL_CTL_DATA_DIR"
SESSIONS_FOLDER: Final = "sessions"
_KNOWN_KEYS: Final = frozenset({"weight_kg", "limits", "mqtt", "hotkeys", "devices", "heart_rate"})
_HEART_RATE_KEYS: Final = ("sensor",)


def config_path() -> Path:
    """Where the settings file is (it may not exist)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The program's data folder: ``$TREADMILL_CTL_DATA_DIR`` or the platform's own.

    Args:
        environ: The environment to read (``os.environ`` when ``None``).
    """
    override = (os.environ if environ is None else environ).get(DATA_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME))


def sessions_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where session records are kept, one JSON-lines file each (may not exist yet)."""
    return data_dir(environ) / SESSIONS_FOLDER


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything read from the settings file, checked.

    Attributes:
        path: The file these came from.
        exists: Whether the file exists (else these are the defaults).
        limits: The limits in force before any profile tightens them.
        overrides: Limits set past a hard ceiling with ``allow_override``.
        weight_kg: Body weight for energy estimates, if given.
        mqtt: The ``[mqtt]`` table, checked by the MQTT bridge.
        hotkeys: The ``[hotkeys]`` table, checked by the key bindings.
        devices: Per-treadmill tables keyed by address or name (``speed_unit``).
        heart_rate_sensor: The heart-rate strap or watch (name or address) from
            ``[heart_rate] sensor``, if any.
    """

    path: Path
    exists: bool
    limits: Limits = field(default_factory=Limits)
    overrides: tuple[Override, ...] = ()
    weight_kg: float | None = None
    mqtt: Mapping[str, object] = field(default_factory=dict)
    hotkeys: Mapping[str, object] = field(default_factory=dict)
    devices: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    heart_rate_sensor: str | None = None

    def device_settings(self, *keys: str) -> Mapping[str, object]:
        """The ``[devices."..."]`` table for a treadmill known by any of ``keys``."""
        lowered = {k.lower(): v for k, v in self.devices.items()}
        for key in keys:
            if key.lower() in lowered:
                return lowered[key.lower()]
        return {}


def load_settings(path: Path | None = None, *, allow_override: bool = False) -> Settings:
    """Read and check the settings file; the defaults when it does not exist.

    Raises:
        ConfigError: the file cannot be read or parsed, or a value is bad (the
            message names the file and the key).
    """
    path = path or config_path()
    if not path.exists():
        return Settings(path=path, exists=False)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the settings file: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None

    unknown = sorted(set(document) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(sorted(_KNOWN_KEYS))}"
        )
    limits, overrides = Limits.from_mapping(
        _table(document, "limits", path),
        allow_override=allow_override,
        source=f"{path} [limits]",
    )
    devices_table = _table(document, "devices", path)
    devices: dict[str, Mapping[str, object]] = {}
    for name, table in devices_table.items():
        if not isinstance(table, dict):
            raise ConfigError(f'{path}: [devices."{name}"] must be a table')
        devices[name] = table
    return Settings(
        path=path,
        exists=True,
        limits=limits,
        overrides=tuple(overrides),
        weight_kg=_weight(document.get("weight_kg"), path),
        mqtt=_table(document, "mqtt", path),
        hotkeys=_table(document, "hotkeys", path),
        devices=devices,
        heart_rate_sensor=_heart_rate_sensor(_table(document, "heart_rate", path), path),
    )


def _heart_rate_sensor(table: Mapping[str, object], path: Path) -> str | None:
    unknown = sorted(set(table) - set(_HEART_RATE_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r} in [heart_rate]; known: "
            + ", ".join(_HEART_RATE_KEYS)
        )
    sensor = table.get("sensor")
    if sensor is None:
        return None
    if not isinstance(sensor, str) or not sensor.strip():
        raise ConfigError(
            f"{path}: [heart_rate] sensor must be the strap's name or address, "
            'e.g. sensor = "Polar H10 8C4A2B1D" (treadmill-ctl scan lists them)'
        )
    return sensor.strip()


def load_settings_reporting_overrides(*, allow_override: bool, warn: TextIO) -> Settings:
    """:func:`load_settings` for a command, warning loudly about overridden limits.

    Each limit past its hard ceiling (allowed only by the explicit ``allow_override``)
    is written to ``warn``.
    """
    settings = load_settings(allow_override=allow_override)
    for override in settings.overrides:
        print(
            f"WARNING: {override.key} = {override.value:g} is past its hard ceiling "
            f"{_show(override.hard_limit)} ({override.source}); allowed by --override-limits",
            file=warn,
        )
    return settings


def _table(document: Mapping[str, object], key: str, path: Path) -> dict[str, object]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key} must be a table ([{key}])")
    return value


def _weight(value: object, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{path}: weight_kg must be a number of kilograms")
    weight_kg = float(value)
    if not (math.isfinite(weight_kg) and 20 <= weight_kg <= 350):  # noqa: PLR2004
        raise ConfigError(f"{path}: weight_kg = {value} is not a plausible body weight")
    return weight_kg


def describe_settings(settings: Settings | None = None) -> str:
    """Human text for ``treadmill-ctl config``: the file, and the limits in force."""
    settings = settings or load_settings()
    state = "" if settings.exists else "  (not there: the defaults apply)"
    lines = [f"settings file: {settings.path}{state}", f"session records: {sessions_dir()}", ""]
    lines.append("limits in force (default -> yours; hard ceiling):")
    defaults = Limits()
    for name in Limits.__dataclass_fields__:
        value = getattr(settings.limits, name)
        default = getattr(defaults, name)
        ceiling = HARD_CEILINGS.get(name)
        mark = "" if value == default else "   <- set in the settings file"
        ceiling_text = "" if ceiling is None else f"; ceiling {ceiling:g}"
        lines.append(f"  {name:<34} {_show(value):>6}{ceiling_text}{mark}")
    lines.extend(
        f"  WARNING: {override.key} = {override.value:g} is past its hard ceiling "
        f"{_show(override.hard_limit)}"
        for override in settings.overrides
    )
    if settings.weight_kg is not None:
        lines.append(f"\nbody weight: {settings.weight_kg:g} kg")
    if settings.heart_rate_sensor is not None:
        lines.append(f"\nheart-rate sensor: {settings.heart_rate_sensor}")
    return "\n".join(lines)


def _show(value: float | None) -> str:
    return "off" if value is None else f"{value:g}"

"""The user's settings file: limits, body weight, MQTT, hotkeys, per-treadmill quirks.

One TOML file in the platform's config directory (``treadmill-ctl config`` prints
where); ``TREADMILL_CTL_CONFIG`` points elsewhere (tests, several users). A missing
file means the defaults. A bad value is an error that names the file and the key:
nothing runs on settings we could not read.

Every table is checked here, when the file is read (by ``config``, and by ``run``
before anything connects), each by the parser that uses it: ``[limits]`` by
:class:`Limits`, ``[mqtt]`` by the MQTT settings, ``[hotkeys]`` by the key bindings,
``[devices."..."]`` here. The file itself is read bounded (:mod:`treadmill_ctl.files`:
a regular file of at most 1 MiB, UTF-8, numbers and nesting within bounds).

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

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

import platformdirs

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.files import InputFileError, load_toml, read_text_file
from treadmill_ctl.safety.limits import HARD_CEILINGS, Limits, Override
from treadmill_ctl.text import escape_text

if TYPE_CHECKING:
    from collections.abc import Mapping

APP_NAME: Final = "treadmill-ctl"
CONFIG_ENV: Final = "TREADMILL_CTL_CONFIG"
DATA_ENV: Final = "TREADMILL_CTL_DATA_DIR"
SESSIONS_FOLDER: Final = "sessions"
_KNOWN_KEYS: Final = frozenset({"weight_kg", "limits", "mqtt", "hotkeys", "devices", "heart_rate"})
_HEART_RATE_KEYS: Final = ("sensor",)
DEVICE_KEYS: Final = frozenset({"speed_unit"})
"""What a ``[devices."..."]`` table may set."""
SPEED_UNITS: Final = ("kmh", "mph")


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
    if not path.exists() and not path.is_symlink():
        return Settings(path=path, exists=False)
    try:
        return _load(path, allow_override=allow_override)
    except ConfigError as error:
        # one line: a key quoted from the file may hold a line break or an escape
        raise ConfigError(escape_text(str(error))) from None


def _load(path: Path, *, allow_override: bool) -> Settings:
    document = _read_document(path)
    unknown = sorted(set(document) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: {_unknown(unknown[0], sorted(_KNOWN_KEYS), 'setting')}")
    limits_table = _table(document, "limits", path)
    _refuse_unknown(limits_table, tuple(Limits.__dataclass_fields__), path, "[limits]", "limit")
    limits, overrides = Limits.from_mapping(
        limits_table, allow_override=allow_override, source=f"{path}: [limits]"
    )
    mqtt = _table(document, "mqtt", path)
    _check_mqtt(mqtt, path)
    hotkeys = _table(document, "hotkeys", path)
    _check_hotkeys(hotkeys, path)
    devices_table = _table(document, "devices", path)
    devices: dict[str, Mapping[str, object]] = {}
    for name, table in devices_table.items():
        if not isinstance(table, dict):
            raise ConfigError(f'{path}: [devices."{name}"] must be a table')
        devices[name] = _device_table(name, table, path)
    return Settings(
        path=path,
        exists=True,
        limits=limits,
        overrides=tuple(overrides),
        weight_kg=_weight(document.get("weight_kg"), path),
        mqtt=mqtt,
        hotkeys=hotkeys,
        devices=devices,
        heart_rate_sensor=_heart_rate_sensor(_table(document, "heart_rate", path), path),
    )


def _read_document(path: Path) -> dict[str, object]:
    try:
        return load_toml(read_text_file(path))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except InputFileError as error:
        raise ConfigError(f"{path}: {error}") from None
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read the settings file: {error.strerror or error}"
        ) from None


def _unknown(key: str, known: list[str] | tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"? ' if close else ""
    return f"unknown {what} {key!r}; {hint}known: {', '.join(known)}"


def _refuse_unknown(
    table: Mapping[str, object], known: tuple[str, ...], path: Path, where: str, what: str
) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: {where} {_unknown(key, known, what)}")


def _check_mqtt(table: Mapping[str, object], path: Path) -> None:
    """The ``[mqtt]`` table, checked now by the parser the bridge uses (not at connect)."""
    if not table:
        return
    from treadmill_ctl.telemetry import mqtt_settings  # noqa: PLC0415 - lazily

    # The parser's own list of keys, for a "did you mean"; the parser refuses unknown
    # keys itself in any case.
    known_keys = getattr(mqtt_settings, "_TABLE_KEYS", None)
    if isinstance(known_keys, frozenset):
        _refuse_unknown(table, tuple(sorted(known_keys)), path, "[mqtt]", "key")
    try:
        mqtt_settings.MqttSettings.from_mapping(
            table, treadmill_id="settings-check", settings_path=path
        )
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def _check_hotkeys(table: Mapping[str, object], path: Path) -> None:
    """The ``[hotkeys]`` table, checked now by the parser the key bindings use."""
    if not table:
        return
    from treadmill_ctl.ui.keys import Bindings, HotkeyAction  # noqa: PLC0415 - lazily

    actions = [action.value for action in HotkeyAction]
    for entry, value in table.items():
        if entry not in actions and not (isinstance(value, str) and value in actions):
            named = value if isinstance(value, str) else entry
            raise ConfigError(f"{path}: [hotkeys] {entry}: {_unknown(named, actions, 'action')}")
    try:
        Bindings.from_config(table)
    except ConfigError as error:
        message = str(error)
        for prefix in ("hotkeys.", "hotkeys: ", "hotkeys"):
            message = message.removeprefix(prefix)
        raise ConfigError(f"{path}: [hotkeys] {message}") from None


def _device_table(name: str, table: Mapping[str, object], path: Path) -> Mapping[str, object]:
    where = f'[devices."{name}"]'
    _refuse_unknown(table, tuple(sorted(DEVICE_KEYS)), path, where, "key")
    unit = table.get("speed_unit", "kmh")
    if not isinstance(unit, str) or unit.lower() not in SPEED_UNITS:
        raise ConfigError(f'{path}: {where} speed_unit must be "kmh" or "mph", not {unit!r}')
    return {**table, "speed_unit": unit.lower()}


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

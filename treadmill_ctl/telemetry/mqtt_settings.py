"""How to reach the MQTT broker, and what this controller may accept from it.

Settings come from ``--mqtt URL`` on the command line or from the config file's
``[mqtt]`` table; both end up as one frozen :class:`MqttSettings` value that the
bridge takes as it is (it never reads a file or the environment itself). Every
problem is a :class:`~treadmill_ctl.errors.ConfigError` whose message says which
part of the URL or which key is wrong and what would be accepted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import parse_qs, unquote, urlsplit

from treadmill_ctl.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_PREFIX: Final = "treadmill_ctl"
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"
BROADCAST_ID: Final = "all"
"""The topic level that addresses every treadmill at once (``<prefix>/all/cmd``)."""

_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}
_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_QUERY_KEYS: Final = frozenset({"client_id", "ca_file"})
_TABLE_KEYS: Final = frozenset(
    {
        "url",
        "client_id",
        "ca_file",
        "prefix",
        "treadmill_id",
        "allow_remote_control",
        "discovery",
        "discovery_prefix",
        "telemetry_interval_s",
        "keepalive_s",
    }
)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Everything the MQTT bridge needs, checked once.

    Attributes:
        host: broker host name or address.
        port: broker TCP port.
        tls: whether to speak TLS (``mqtts://``).
        treadmill_id: this treadmill's topic level and Home Assistant id; letters,
            digits, ``_`` and ``-`` (see :func:`topic_safe_id`).
        username: user name, if the broker wants one.
        password: password, never shown in ``repr`` or logs.
        client_id: MQTT client id; unique per controller, or brokers drop the older one.
        ca_file: CA certificate file to verify a TLS broker against (system CAs if
            ``None``).
        prefix: first topic levels, e.g. ``treadmill_ctl`` or ``gym/floor1``.
        allow_remote_control: lets MQTT resume a paused belt and nudge its speed up.
            Off by default. A remote ``start`` is refused even when this is on: a
            person at the treadmill must start it.
        discovery: publish Home Assistant discovery configs.
        discovery_prefix: Home Assistant's discovery prefix.
        telemetry_interval_s: at most one telemetry message per this many seconds.
        keepalive_s: MQTT keepalive; the broker sends the last will after about
            1.5 times this when the controller vanishes without closing its socket.
        timeout_s: how long one broker operation (connect, a QoS 1 publish) may take.
        reconnect_min_s: first back-off delay after a failed or lost connection.
        reconnect_max_s: back-off cap.
        close_timeout_s: how long closing the bridge waits for its last messages.
    """

    host: str
    port: int
    tls: bool
    treadmill_id: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    ca_file: Path | None = None
    prefix: str = DEFAULT_PREFIX
    allow_remote_control: bool = False
    discovery: bool = True
    discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX
    telemetry_interval_s: float = 1.0
    keepalive_s: int = 30
    timeout_s: float = 10.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    close_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("MQTT broker host is empty")
        if not 0 < self.port < 65536:  # noqa: PLR2004 - the TCP port range
            raise ConfigError(f"MQTT port {self.port} is not between 1 and 65535")
        _check_id(self.treadmill_id)
        _check_prefix(self.prefix, what="prefix")
        _check_prefix(self.discovery_prefix, what="discovery_prefix")
        if self.client_id is not None and not self.client_id:
            raise ConfigError("MQTT client_id is empty; leave it out to get a default")
        if self.ca_file is not None and not self.tls:
            raise ConfigError("an MQTT CA file needs a TLS broker: use mqtts:// in the URL")
        for name in ("telemetry_interval_s", "timeout_s", "reconnect_min_s", "close_timeout_s"):
            _check_positive(name, getattr(self, name))
        _check_positive("keepalive_s", self.keepalive_s)
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ConfigError("MQTT reconnect_max_s must be at least reconnect_min_s")

    @property
    def effective_client_id(self) -> str:
        """The client id sent to the broker: the configured one or one per treadmill."""
        return self.client_id or f"{DEFAULT_PREFIX}-{self.treadmill_id}"

    def describe(self) -> str:
        """The broker as a URL without the password, for logs and people."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        treadmill_id: str,
        ca_file: Path | str | None = None,
        client_id: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        allow_remote_control: bool = False,
        discovery: bool = True,
        discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX,
        telemetry_interval_s: float = 1.0,
        keepalive_s: int = 30,
    ) -> Self:
        """Parse ``mqtt[s]://[user[:password]@]host[:port][?client_id=ID&ca_file=PATH]``.

        User name and password are percent-decoded. ``client_id`` and ``ca_file``
        given as arguments win over the same query parameters.

        Raises:
            ConfigError: the URL or an option cannot be used; the message says why.
        """
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _PORTS:
            raise ConfigError(
                f"MQTT URL {_redact(url)!r}: scheme must be mqtt:// or mqtts://,"
                f" not {parts.scheme or 'missing'!r}"
            )
        if parts.path not in {"", "/"} or parts.fragment:
            raise ConfigError(
                f"MQTT URL {_redact(url)!r}: no path is allowed after the host (the topic"
                " prefix is an option of its own)"
            )
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"MQTT URL {_redact(url)!r}: the port is not a number") from None
        query = _parse_query(url, parts.query)
        tls = scheme == "mqtts"
        ca = ca_file if ca_file is not None else query.get("ca_file")
        return cls(
            host=parts.hostname or "",
            port=port if port is not None else _PORTS[scheme],
            tls=tls,
            treadmill_id=treadmill_id,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            client_id=client_id if client_id is not None else query.get("client_id"),
            ca_file=_check_ca_file(ca, tls=tls) if ca is not None else None,
            prefix=prefix,
            allow_remote_control=allow_remote_control,
            discovery=discovery,
            discovery_prefix=discovery_prefix,
            telemetry_interval_s=telemetry_interval_s,
            keepalive_s=keepalive_s,
        )

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, object], *, treadmill_id: str, where: str = "[mqtt]"
    ) -> Self:
        """Build settings from the config file's ``[mqtt]`` table.

        Keys: ``url`` (required), ``client_id``, ``ca_file``, ``prefix``,
        ``treadmill_id`` (overrides the argument), ``allow_remote_control``,
        ``discovery``, ``discovery_prefix``, ``telemetry_interval_s``, ``keepalive_s``.

        Args:
            table: the parsed TOML table.
            treadmill_id: the id to use when the table does not name one.
            where: how to name the table in error messages.

        Raises:
            ConfigError: an unknown key, a value of the wrong type, or a bad URL.
        """
        unknown = sorted(set(table) - _TABLE_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)};"
                f" known keys are {', '.join(sorted(_TABLE_KEYS))}"
            )
        reader = _TableReader(table, where)
        url = reader.string("url")
        if url is None:
            raise ConfigError(f"{where}: 'url' is required, e.g. url = \"mqtt://broker:1883\"")
        try:
            return cls.from_url(
                url,
                treadmill_id=reader.string("treadmill_id") or treadmill_id,
                ca_file=reader.string("ca_file"),
                client_id=reader.string("client_id"),
                prefix=reader.string("prefix") or DEFAULT_PREFIX,
                allow_remote_control=reader.boolean("allow_remote_control", default=False),
                discovery=reader.boolean("discovery", default=True),
                discovery_prefix=reader.string("discovery_prefix") or DEFAULT_DISCOVERY_PREFIX,
                telemetry_interval_s=reader.number("telemetry_interval_s", default=1.0),
                keepalive_s=int(reader.number("keepalive_s", default=30)),
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def topic_safe_id(name: str) -> str:
    """Turn a device name or address into a treadmill id usable in topics and unique ids.

    ``"AA:BB:CC:DD:EE:FF"`` becomes ``"aa_bb_cc_dd_ee_ff"``; ``"KS-ST A1"`` becomes
    ``"ks-st_a1"``. Raises :class:`ConfigError` when nothing usable is left.
    """
    slug = re.sub(r"[^a-z0-9_-]+", "_", name.strip().lower()).strip("_")[:64]
    if not slug or slug == BROADCAST_ID:
        raise ConfigError(f"cannot make a treadmill id from {name!r}; give one explicitly")
    return slug


class _TableReader:
    """Typed access to a TOML table, with errors naming the key."""

    def __init__(self, table: Mapping[str, object], where: str) -> None:
        self._table = table
        self._where = where

    def string(self, key: str) -> str | None:
        value = self._table.get(key)
        if value is None or isinstance(value, str):
            return value
        raise ConfigError(f"{self._where}.{key} must be a string, not {value!r}")

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._table.get(key, default)
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{self._where}.{key} must be true or false, not {value!r}")

    def number(self, key: str, *, default: float) -> float:
        value = self._table.get(key, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{self._where}.{key} must be a number, not {value!r}")


def _parse_query(url: str, query: str) -> dict[str, str]:
    try:
        pairs = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"MQTT URL {_redact(url)!r}: the query cannot be parsed") from None
    unknown = sorted(set(pairs) - _QUERY_KEYS)
    if unknown:
        raise ConfigError(
            f"MQTT URL {_redact(url)!r}: unknown parameter(s) {', '.join(unknown)};"
            " known: client_id, ca_file"
        )
    repeated = sorted(key for key, values in pairs.items() if len(values) > 1)
    if repeated:
        raise ConfigError(f"MQTT URL {_redact(url)!r}: {', '.join(repeated)} given twice")
    return {key: values[0] for key, values in pairs.items()}


def _check_ca_file(ca_file: Path | str, *, tls: bool) -> Path:
    if not tls:
        raise ConfigError("an MQTT CA file needs a TLS broker: use mqtts:// in the URL")
    path = Path(ca_file).expanduser()
    if not path.is_file():
        raise ConfigError(f"MQTT CA file {str(path)!r} does not exist or is not a file")
    return path


def _check_id(treadmill_id: str) -> None:
    if not _ID_PATTERN.fullmatch(treadmill_id):
        raise ConfigError(
            f"treadmill id {treadmill_id!r} must be 1-64 letters, digits, '_' or '-'"
            " (it becomes a topic level and a Home Assistant id)"
        )
    if treadmill_id == BROADCAST_ID:
        raise ConfigError(f"treadmill id {BROADCAST_ID!r} is reserved for 'stop all' commands")


def _check_prefix(prefix: str, *, what: str) -> None:
    levels = prefix.split("/")
    if not prefix or any(not level for level in levels):
        raise ConfigError(f"MQTT {what} {prefix!r} must be non-empty topic levels joined by '/'")
    if any(char in prefix for char in "+#\0"):
        raise ConfigError(f"MQTT {what} {prefix!r} must not contain the wildcards '+' or '#'")


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"MQTT {name} must be a positive number, not {value!r}")


def _redact(url: str) -> str:
    """The URL with any password replaced, so errors can quote it."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)

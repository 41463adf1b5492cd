"""How to reach the MQTT broker, and what this controller may accept from it.

Settings come from ``--mqtt URL`` on the command line or from the config file's
``[mqtt]`` table; both end up as one frozen :class:`MqttSettings` value that the
bridge takes as it is (it never reads a file or the environment itself). Every
problem is a :class:`~treadmill_ctl.errors.ConfigError` whose message says which
part of the URL or which key is wrong and what would be accepted.

:func:`check_mqtt_table` checks a whole ``[mqtt]`` table before anything connects
(``treadmill-ctl config`` and ``run`` call it). Every value is bounded, numbers
before any conversion: a keepalive MQTT can carry (1-65535 s), a client id of at
most :data:`MAX_CLIENT_ID_CHARS`, topic prefixes without wildcards.

A password is never shown: not in ``repr``, not in :meth:`MqttSettings.describe`,
not in any error (a URL is quoted with everything between ``://`` and its last
``@`` replaced, so a password with an unencoded ``/`` or ``@`` does not leak).
It comes from the settings file (``url`` or ``password``) or a ``password_file``;
a password on the command line works but is warned about, since every user of the
machine can read it in ``/proc/<pid>/cmdline``. Warnings go in
:attr:`MqttSettings.warnings` for the command to print.
"""

from __future__ import annotations

import math
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.telemetry.commands import printable

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_PREFIX: Final = "treadmill_ctl"
DEFAULT_DISCOVERY_PREFIX: Final = "homeassistant"
BROADCAST_ID: Final = "all"
"""The topic level that addresses every treadmill at once (``<prefix>/all/cmd``)."""

MAX_CLIENT_ID_CHARS: Final = 128
"""Longest client id accepted. MQTT 3.1.1 only promises 23 bytes (longer ids get a
warning); its length field allows 65,535, but no broker setup needs more than 128
(AWS IoT's own limit), and a longer one is a typo or an attack."""
GUARANTEED_CLIENT_ID_CHARS: Final = 23
MAX_KEEPALIVE_S: Final = 65535
"""MQTT carries the keepalive in 16 bits."""
MAX_PREFIX_CHARS: Final = 200
MAX_URL_CHARS: Final = 2048
MAX_PASSWORD_FILE_BYTES: Final = 4096
_MAX_HOST_CHARS: Final = 253
_MAX_CREDENTIAL_CHARS: Final = 1024
_TELEMETRY_INTERVAL_S: Final = (0.05, 3600.0)
_PORTS: Final = {"mqtt": 1883, "mqtts": 8883}
_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CLIENT_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_.:-]+")
_QUERY_KEYS: Final = frozenset({"client_id", "ca_file"})
_TABLE_KEYS: Final = frozenset(
    {
        "url",
        "username",
        "password",
        "password_file",
        "client_id",
        "ca_file",
        "cert_file",
        "key_file",
        "prefix",
        "treadmill_id",
        "allow_remote_control",
        "discovery",
        "discovery_prefix",
        "telemetry_interval_s",
        "keepalive_s",
    }
)
_CHECK_ID: Final = "check"
"""The treadmill id :func:`check_mqtt_table` uses when the table names none."""


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
        client_id: a pinned MQTT client id; ``None`` (the default) gives a fresh
            random one each run. Two clients with one id knock each other off.
        ca_file: CA certificate file to verify a TLS broker against (system CAs if
            ``None``).
        cert_file: client certificate (PEM) for brokers that want one (mqtts only).
        key_file: its private key (PEM); with ``cert_file`` only.
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
        warnings: things a person should know (a pinned client id, a password on
            the command line, a file others can read); the command prints them.
    """

    host: str
    port: int
    tls: bool
    treadmill_id: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
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
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_broker(self.host, self.port)
        _check_id(self.treadmill_id)
        _check_prefix(self.prefix, what="prefix")
        _check_prefix(self.discovery_prefix, what="discovery_prefix")
        if self.client_id is not None:
            _check_client_id(self.client_id)
        for what, value in (("username", self.username), ("password", self.password)):
            if value is not None and len(value) > _MAX_CREDENTIAL_CHARS:
                raise ConfigError(f"MQTT {what} is longer than {_MAX_CREDENTIAL_CHARS} characters")
        self._check_tls_files()
        for name in ("telemetry_interval_s", "timeout_s", "reconnect_min_s", "close_timeout_s"):
            _check_positive(name, getattr(self, name))
        _check_keepalive(self.keepalive_s)
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ConfigError("MQTT reconnect_max_s must be at least reconnect_min_s")

    def _check_tls_files(self) -> None:
        for what, path in (("CA", self.ca_file), ("certificate", self.cert_file)):
            if path is not None and not self.tls:
                raise ConfigError(
                    f"an MQTT {what} file needs a TLS broker: use mqtts:// in the URL"
                )
        if (self.cert_file is None) != (self.key_file is None):
            raise ConfigError("MQTT cert_file and key_file go together: give both or neither")

    def describe(self) -> str:
        """The broker as a URL without the password, for logs and people."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"

    def redact(self, text: str) -> str:
        """``text`` with this password (as given, or percent-encoded) replaced by ``***``."""
        return redact_secret(text, self.password)

    @classmethod
    def from_command_line(
        cls, url: str, *, treadmill_id: str, ca_file: Path | str | None = None
    ) -> Self:
        """:meth:`from_url` for ``--mqtt URL``, warning about a password in it."""
        settings = cls.from_url(url, treadmill_id=treadmill_id, ca_file=ca_file)
        if settings.password is None:
            return settings
        warning = (
            "the MQTT password given in --mqtt is visible to every user of this machine"
            " (ps, /proc/<pid>/cmdline); put it in the settings file's [mqtt] table"
            " (password or password_file) instead"
        )
        return replace(settings, warnings=(*settings.warnings, warning))

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
        if len(url) > MAX_URL_CHARS:
            raise ConfigError(f"MQTT URL is longer than {MAX_URL_CHARS} characters")
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
            raise ConfigError(
                f"MQTT URL {_redact(url)!r}: the port is not a number between 1 and 65535"
            ) from None
        query = _parse_query(url, parts.query)
        tls = scheme == "mqtts"
        ca = ca_file if ca_file is not None else query.get("ca_file")
        client_id = client_id if client_id is not None else query.get("client_id")
        return cls(
            host=parts.hostname or "",
            port=port if port is not None else _PORTS[scheme],
            tls=tls,
            treadmill_id=treadmill_id,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            client_id=client_id,
            ca_file=_check_file("CA", ca, tls=tls) if ca is not None else None,
            prefix=prefix,
            allow_remote_control=allow_remote_control,
            discovery=discovery,
            discovery_prefix=discovery_prefix,
            telemetry_interval_s=telemetry_interval_s,
            keepalive_s=keepalive_s,
            warnings=_client_id_warnings(client_id),
        )

    @classmethod
    def from_mapping(
        cls,
        table: Mapping[str, object],
        *,
        treadmill_id: str,
        where: str = "[mqtt]",
        settings_path: Path | None = None,
    ) -> Self:
        """Build settings from the config file's ``[mqtt]`` table.

        Keys: ``url`` (required), ``username``, ``password`` or ``password_file``
        (or the password in ``url``), ``client_id``, ``ca_file``, ``cert_file``,
        ``key_file``, ``prefix``, ``treadmill_id`` (overrides the argument),
        ``allow_remote_control``, ``discovery``, ``discovery_prefix``,
        ``telemetry_interval_s``, ``keepalive_s``.

        Reads ``password_file`` if given (a regular file of at most
        :data:`MAX_PASSWORD_FILE_BYTES`; its first line is the password) and warns
        when it, or the settings file holding a password, can be read by others.

        Args:
            table: the parsed TOML table.
            treadmill_id: the id to use when the table does not name one.
            where: how to name the table in error messages.
            settings_path: the settings file, to check who may read its password.

        Raises:
            ConfigError: an unknown key, a value of the wrong type or out of range,
                or a bad URL; the message names the key.
        """
        unknown = sorted(set(table) - _TABLE_KEYS)
        if unknown:
            shown = ", ".join(printable(key)[:40] for key in unknown[:5])
            raise ConfigError(
                f"{where}: unknown key(s) {shown}; known keys are {', '.join(sorted(_TABLE_KEYS))}"
            )
        reader = _TableReader(table, where)
        url = reader.string("url")
        if url is None:
            raise ConfigError(f"{where}: 'url' is required, e.g. url = \"mqtt://broker:1883\"")
        keepalive_s = reader.integer("keepalive_s", default=30, low=1, high=MAX_KEEPALIVE_S)
        interval_s = reader.number("telemetry_interval_s", 1.0, *_TELEMETRY_INTERVAL_S)
        password, password_warnings = _table_password(reader, where, settings_path)
        username = reader.string("username")
        try:
            settings = cls.from_url(
                url,
                treadmill_id=reader.string("treadmill_id") or treadmill_id,
                ca_file=reader.string("ca_file"),
                client_id=reader.string("client_id"),
                prefix=reader.string("prefix") or DEFAULT_PREFIX,
                allow_remote_control=reader.boolean("allow_remote_control", default=False),
                discovery=reader.boolean("discovery", default=True),
                discovery_prefix=reader.string("discovery_prefix") or DEFAULT_DISCOVERY_PREFIX,
                telemetry_interval_s=interval_s,
                keepalive_s=keepalive_s,
            )
            if password is not None and settings.password is not None:
                raise ConfigError(  # noqa: TRY301 - one place adds the table's name
                    "the password is given twice (in url and in password or password_file);"
                    " keep one"
                )
            if username is not None and settings.username is not None:
                raise ConfigError("username is given twice (in url and username); keep one")  # noqa: TRY301
            tls_files = {
                key: _check_file(what, value, tls=settings.tls)
                for key, what in (("cert_file", "certificate"), ("key_file", "key"))
                if (value := reader.string(key)) is not None
            }
            settings = replace(
                settings,
                username=username if username is not None else settings.username,
                password=password if password is not None else settings.password,
                cert_file=tls_files.get("cert_file"),
                key_file=tls_files.get("key_file"),
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}: {redact_secret(str(exc), password)}") from None
        warnings = list(settings.warnings) + password_warnings
        if password is None and settings.password is not None and settings_path is not None:
            warnings.extend(_readable_by_others(settings_path, "the settings file"))
        return replace(settings, warnings=tuple(warnings))


def check_mqtt_table(
    table: Mapping[str, object],
    *,
    where: str = "[mqtt]",
    settings_path: Path | None = None,
    treadmill_id: str | None = None,
) -> MqttSettings:
    """Check a whole ``[mqtt]`` table, before anything connects.

    The same checks as :meth:`MqttSettings.from_mapping`; when the treadmill is not
    known yet (``treadmill-ctl config``), a stand-in id is used, so a table without
    ``treadmill_id`` still passes. Reads ``password_file`` (and the files' modes)
    and nothing else.

    Raises:
        ConfigError: the first problem, naming ``where`` and the key.
    """
    return MqttSettings.from_mapping(
        table, treadmill_id=treadmill_id or _CHECK_ID, where=where, settings_path=settings_path
    )


def redact_secret(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (as given and percent-encoded) replaced by ``***``."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe=""), quote(secret)}:
        text = text.replace(form, "***")
    return text


def _table_password(
    reader: _TableReader, where: str, settings_path: Path | None
) -> tuple[str | None, list[str]]:
    """The password of ``password`` or ``password_file`` (not both), and warnings."""
    password = reader.string("password")
    password_file = reader.string("password_file")
    if password is not None and password_file is not None:
        raise ConfigError(f"{where}: give password or password_file, not both")
    if password is not None:
        warnings = (
            [] if settings_path is None else _readable_by_others(settings_path, "the settings file")
        )
        return password, warnings
    if password_file is None:
        return None, []
    path = Path(password_file).expanduser()
    if settings_path is not None and not path.is_absolute():
        path = settings_path.parent / path
    return _read_password_file(path, where), _readable_by_others(path, "the MQTT password file")


def _read_password_file(path: Path, where: str) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{where}.password_file {str(path)!r} is not a regular file")
        if info.st_size > MAX_PASSWORD_FILE_BYTES:
            raise ConfigError(
                f"{where}.password_file {str(path)!r} is larger than"
                f" {MAX_PASSWORD_FILE_BYTES} bytes; it should hold only the password"
            )
        with path.open("rb") as file:
            raw = file.read(MAX_PASSWORD_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(
            f"{where}.password_file {str(path)!r} cannot be read: {error.strerror}"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}.password_file {str(path)!r} is not UTF-8 text") from None
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise ConfigError(f"{where}.password_file {str(path)!r} is empty")
    return password


def _readable_by_others(path: Path, what: str) -> list[str]:
    """A warning when ``path`` (holding a password) may be read by group or others."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if mode & 0o077:
        return [
            (
                f"{what} {str(path)!r} holds the MQTT password and can be read by other"
                f" users (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
            )
        ]
    return []


def _client_id_warnings(client_id: str | None) -> tuple[str, ...]:
    if client_id is None:
        return ()
    warnings = [
        (
            f"MQTT client_id {client_id!r} is pinned: if another client connects with it,"
            " the broker drops one of the two each time the other connects (remote stops"
            " may be lost); leave client_id out for a new random one each run"
        )
    ]
    if len(client_id.encode()) > GUARANTEED_CLIENT_ID_CHARS:
        warnings.append(
            f"MQTT client_id is longer than {GUARANTEED_CLIENT_ID_CHARS} bytes; mosquitto"
            " accepts it, but an MQTT 3.1.1 broker may refuse it"
        )
    return tuple(warnings)


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
        if value is None:
            return None
        if isinstance(value, str):
            if "\0" in value:
                raise ConfigError(f"{self._where}.{key} must not contain a NUL character")
            return value
        raise ConfigError(f"{self._where}.{key} must be a string, not {_shown(value)}")

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self._table.get(key, default)
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{self._where}.{key} must be true or false, not {_shown(value)}")

    def number(self, key: str, default: float, low: float, high: float) -> float:
        """A number in ``low..high``; ints are range-checked before conversion."""
        value = self._table.get(key, default)
        problem = f"{self._where}.{key} must be a number between {low:g} and {high:g}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{problem}, not {_shown(value)}")
        if isinstance(value, int) and not -(10**9) < value < 10**9:
            raise ConfigError(f"{problem}, not {_shown(value)}")
        number = float(value)
        if not (math.isfinite(number) and low <= number <= high):
            raise ConfigError(f"{problem}, not {number!r}")
        return number

    def integer(self, key: str, *, default: int, low: int, high: int) -> int:
        """A whole number in ``low..high`` (a float is refused, an inf too)."""
        value = self._table.get(key, default)
        problem = f"{self._where}.{key} must be a whole number between {low} and {high}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{problem}, not {_shown(value)}")
        if not low <= value <= high:
            raise ConfigError(f"{problem}, not {_shown(value)}")
        return value


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


def _check_file(what: str, name: Path | str, *, tls: bool) -> Path:
    if not tls:
        raise ConfigError(f"an MQTT {what} file needs a TLS broker: use mqtts:// in the URL")
    path = Path(name).expanduser()
    if not path.is_file():
        raise ConfigError(f"MQTT {what} file {str(path)!r} does not exist or is not a file")
    return path


def _check_broker(host: str, port: int) -> None:
    if not host:
        raise ConfigError("MQTT broker host is empty")
    if len(host) > _MAX_HOST_CHARS or not host.isprintable():
        raise ConfigError("MQTT broker host is not a host name or address")
    if not 0 < port < 65536:  # noqa: PLR2004 - the TCP port range
        raise ConfigError(f"MQTT port {port} is not between 1 and 65535")


def _check_keepalive(keepalive_s: object) -> None:
    if isinstance(keepalive_s, bool) or not isinstance(keepalive_s, int):
        raise ConfigError(f"MQTT keepalive_s must be whole seconds, not {_shown(keepalive_s)}")
    if not 1 <= keepalive_s <= MAX_KEEPALIVE_S:
        raise ConfigError(
            f"MQTT keepalive_s = {_shown(keepalive_s)} is not between 1 and {MAX_KEEPALIVE_S}"
        )


def _check_client_id(client_id: str) -> None:
    if not client_id:
        raise ConfigError("MQTT client_id is empty; leave it out for a random one each run")
    if len(client_id) > MAX_CLIENT_ID_CHARS:
        raise ConfigError(
            f"MQTT client_id is {len(client_id)} characters long; at most"
            f" {MAX_CLIENT_ID_CHARS} are accepted (MQTT 3.1.1 promises only"
            f" {GUARANTEED_CLIENT_ID_CHARS})"
        )
    if not _CLIENT_ID_PATTERN.fullmatch(client_id):
        raise ConfigError(
            f"MQTT client_id {printable(client_id)!r} may only hold letters, digits,"
            " '_', '-', '.' and ':'"
        )


def _shown(value: object) -> str:
    """A TOML value for an error message: short, and never a huge number in full."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**12:
        return "a number that long"
    return printable(repr(value))[:60]


def _check_id(treadmill_id: str) -> None:
    if not _ID_PATTERN.fullmatch(treadmill_id):
        raise ConfigError(
            f"treadmill id {treadmill_id!r} must be 1-64 letters, digits, '_' or '-'"
            " (it becomes a topic level and a Home Assistant id)"
        )
    if treadmill_id == BROADCAST_ID:
        raise ConfigError(f"treadmill id {BROADCAST_ID!r} is reserved for 'stop all' commands")


def _check_prefix(prefix: str, *, what: str) -> None:
    shown = printable(prefix[:60])
    if len(prefix) > MAX_PREFIX_CHARS:
        raise ConfigError(f"MQTT {what} is longer than {MAX_PREFIX_CHARS} characters")
    levels = prefix.split("/")
    if not prefix or any(not level for level in levels):
        raise ConfigError(f"MQTT {what} {shown!r} must be non-empty topic levels joined by '/'")
    if any(char in prefix for char in "+#"):
        raise ConfigError(f"MQTT {what} {shown!r} must not contain the wildcards '+' or '#'")
    if not prefix.isprintable():
        raise ConfigError(f"MQTT {what} {shown!r} must not contain control characters (or NUL)")
    if prefix.startswith("$"):
        raise ConfigError(f"MQTT {what} {shown!r} must not start with '$' (broker topics)")


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"MQTT {name} must be a positive number, not {value!r}")


def _redact(url: str) -> str:
    """The URL with its user part replaced, so errors can quote it.

    Everything between ``://`` and the last ``@`` is credentials, however the
    password is written (an unencoded ``/``, ``@`` or ``?`` included); only the user
    name before the first ``:`` is kept.
    """
    url = printable(url[:MAX_URL_CHARS])
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0] if ":" in userinfo else userinfo
    user = user.split("/", 1)[0]
    return f"{head}://{user}:***@{host}"

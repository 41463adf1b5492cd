"""A real MQTT broker process on 127.0.0.1 for tests and benchmarks.

mosquitto when it is on the PATH (``.ci/run`` installs it), otherwise amqtt's broker
(a dev dependency) in a separate Python process, so the tests run on a fresh
machine too. ``TREADMILL_MQTT_BROKER=amqtt`` (or ``mosquitto``) forces one.

Use the fixtures with ``pytest_plugins = ["mqtt_broker"]`` in a test module:
``mqtt_broker`` is shared by a module (give each test its own treadmill id, since
retained messages stay), ``restartable_mqtt_broker`` is a test's own, to kill.
``gym_broker`` is mosquitto set up as a gym would: no anonymous clients, passwords
(mosquitto_passwd), the ACL of ``docs/mosquitto-gym.acl`` and TLS with client
certificates made by ``openssl`` for the test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import aiomqtt
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

BrokerKind = Literal["mosquitto", "amqtt"]
HOST: Final = "127.0.0.1"
READY_TIMEOUT_S: Final = 10.0

_AMQTT_MAIN: Final = """
import asyncio, logging, sys
from amqtt.broker import Broker

logging.basicConfig(level=logging.WARNING)

async def main(port: int) -> None:
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""


def broker_kind() -> BrokerKind:
    """The broker the tests use here: forced by the environment, else the best found."""
    forced = os.environ.get("TREADMILL_MQTT_BROKER", "")
    if forced in {"mosquitto", "amqtt"}:
        return "mosquitto" if forced == "mosquitto" else "amqtt"
    return "mosquitto" if shutil.which("mosquitto") else "amqtt"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class BrokerProcess:
    """One broker process on ``127.0.0.1:port``, which can be killed and started again.

    Args:
        workdir: where its configuration and log go.
        kind: which broker; see :func:`broker_kind`.
        port: the port, kept across restarts; a free one by default.
    """

    def __init__(self, workdir: Path, *, kind: BrokerKind | None = None, port: int = 0) -> None:
        self.kind: BrokerKind = kind or broker_kind()
        self.host = HOST
        self.port = port or free_port()
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        if self.running:
            return
        self._starts += 1
        log = (self._workdir / f"broker-{self._starts}.log").open("wb")
        with log:
            self._process = subprocess.Popen(  # noqa: S603 - a fixed command line
                self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self._workdir
            )
        self._wait_ready()

    def kill(self) -> None:
        """SIGKILL the broker, as a crash or a pulled cable would end it."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=READY_TIMEOUT_S)
        self._process = None

    def stop(self) -> None:
        """End the broker politely (SIGTERM), or kill it if it does not go."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.kill()
        self._process = None

    def restart(self) -> None:
        """Kill the broker and start it again on the same port (retained state is lost)."""
        self.kill()
        self.start()

    def _command(self) -> list[str]:
        if self.kind == "amqtt":
            return [sys.executable, "-c", _AMQTT_MAIN, str(self.port)]
        config = self._workdir / "mosquitto.conf"
        lines = [
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        config.write_text("\n".join(lines) + "\n")
        mosquitto = shutil.which("mosquitto") or "mosquitto"
        return [mosquitto, "-c", str(config)]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.kind} exited at start; see {self._workdir}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"{self.kind} did not listen on {self.port} within {READY_TIMEOUT_S} s")


@pytest.fixture(scope="module")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    """A broker shared by the tests of a module."""
    broker = BrokerProcess(tmp_path_factory.mktemp("broker"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def restartable_mqtt_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker of the test's own, which it may kill and restart."""
    broker = BrokerProcess(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# --- a gym's broker ---------------------------------------------------------------

GYM_ACL: Final = Path(__file__).resolve().parent.parent / "docs/mosquitto-gym.acl"
CONTROLLER_PASSWORD: Final = "gym/pa@ss:w\u00f6rd?#%41 1"  # noqa: S105 - a test value
"""Every character a URL or a shell would mind: it must never be printed anywhere."""
STAFF_PASSWORD: Final = "staff-secret-2"  # noqa: S105 - a test value
DISPLAY_PASSWORD: Final = "display-secret-3"  # noqa: S105 - a test value


def _run(*command: str, cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)  # noqa: S603


def make_certificates(folder: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with openssl."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _run(
        "openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=treadmill_ctl test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    for name, usage in (("server", "serverAuth"), ("client", "clientAuth")):
        extensions = folder / f"{name}.ext"
        extensions.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            f"extendedKeyUsage={usage}\nsubjectAltName=IP:127.0.0.1\n"
            "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
        )
        _run(
            "openssl", "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}", cwd=folder,
        )  # fmt: skip
        _run(
            "openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey",
            "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", extensions.name, cwd=folder,
        )  # fmt: skip


class GymBroker(BrokerProcess):
    """mosquitto with no anonymous access, a password file, the gym ACL and TLS only."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, kind="mosquitto")
        self.folder = workdir
        self.passwords = {
            "lane7": CONTROLLER_PASSWORD,
            "staff": STAFF_PASSWORD,
            "display": DISPLAY_PASSWORD,
        }
        """Each user's password (the controller's has every character URLs mind)."""

    @property
    def url(self) -> str:
        """``mqtts://127.0.0.1:<port>``."""
        return f"mqtts://{self.host}:{self.port}"

    def _command(self) -> list[str]:
        folder = self.folder
        lines = [
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {folder / 'passwd'}",
            f"acl_file {GYM_ACL}",
            f"listener {self.port} {self.host}",
            f"cafile {folder / 'ca.pem'}",
            f"certfile {folder / 'server.pem'}",
            f"keyfile {folder / 'server.key'}",
            "require_certificate true",
            "persistence false",
            "log_dest stderr",
            "log_type all",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        config = folder / "gym.conf"
        config.write_text("\n".join(lines) + "\n")
        return [shutil.which("mosquitto") or "mosquitto", "-c", str(config)]

    def client(
        self, username: str | None, password: str | None, *, certificate: bool = True
    ) -> aiomqtt.Client:
        folder = self.folder
        tls = aiomqtt.TLSParameters(
            ca_certs=str(folder / "ca.pem"),
            certfile=str(folder / "client.pem") if certificate else None,
            keyfile=str(folder / "client.key") if certificate else None,
        )
        return aiomqtt.Client(
            self.host,
            self.port,
            username=username,
            password=password,
            tls_params=tls,
            timeout=READY_TIMEOUT_S,
        )


@pytest.fixture
def gym_broker(tmp_path: Path) -> Iterator[GymBroker]:
    """The gym's broker; mosquitto, mosquitto_passwd and openssl are needed (.ci/run)."""
    for tool in ("mosquitto", "mosquitto_passwd", "openssl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the gym broker test; .ci/run installs it")
    folder = tmp_path / "broker"
    folder.mkdir()
    make_certificates(folder)
    passwd = str(folder / "passwd")
    _run("mosquitto_passwd", "-c", "-b", passwd, "lane7", CONTROLLER_PASSWORD, cwd=folder)
    _run("mosquitto_passwd", "-b", passwd, "staff", STAFF_PASSWORD, cwd=folder)
    _run("mosquitto_passwd", "-b", passwd, "display", DISPLAY_PASSWORD, cwd=folder)
    broker = GymBroker(folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()

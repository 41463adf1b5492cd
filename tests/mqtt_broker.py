"""A real MQTT broker process on 127.0.0.1 for tests and benchmarks.

mosquitto when it is on the PATH (``.ci/run`` installs it), otherwise amqtt's broker
(a dev dependency) in a separate Python process, so the tests run on a fresh
machine too. ``TREADMILL_MQTT_BROKER=amqtt`` (or ``mosquitto``) forces one.

Use the fixtures with ``pytest_plugins = ["mqtt_broker"]`` in a test module:
``mqtt_broker`` is shared by a module (give each test its own treadmill id, since
retained messages stay), ``restartable_mqtt_broker`` is a test's own, to kill.
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
from typing import TYPE_CHECKING, Final, Literal

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

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

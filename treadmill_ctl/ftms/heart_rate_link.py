"""The heart-rate link: one BLE connection to a strap or watch, beside the treadmill's.

:class:`HeartRateLink` finds a Heart Rate Service (0x180D) sensor by name or address
(or takes the simulator's device), subscribes to Heart Rate Measurement (0x2A37),
and puts every decoded value in its own bounded stream, which the session reads
with ``async for event in link.events()`` (a lost strap is never dropped). It never
touches the treadmill's link: it runs in its own task, so connecting, losing or
re-finding the strap never delays a command to the treadmill. When the link drops
it reconnects with capped, jittered exponential backoff until cancelled.

:func:`scan_devices` is the one scan for ``treadmill-ctl scan``: FTMS machines and
heart-rate sensors heard in one listen.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import structlog
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from treadmill_ctl.errors import DecodeError, LinkError
from treadmill_ctl.ftms.discovery import DiscoveredMachine, machine_from_advertisement
from treadmill_ctl.ftms.event_stream import EventStream
from treadmill_ctl.ftms.heart_rate import (
    BODY_SENSOR_LOCATION,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
    BodySensorLocation,
    HeartRateMeasurement,
    decode_body_sensor_location,
    decode_heart_rate_measurement,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

    from treadmill_ctl.clock import Clock

__all__ = [
    "DiscoveredSensor",
    "HeartRateConnected",
    "HeartRateEvent",
    "HeartRateLink",
    "HeartRateLost",
    "HeartRateReceived",
    "find_sensor",
    "scan_devices",
]

_log = structlog.get_logger("treadmill_ctl.ftms.heart_rate")

CONNECT_TIMEOUT_S: Final = 10.0
"""How long one connection attempt may take."""
FIND_TIMEOUT_S: Final = 5.0
"""How long one scan for the sensor listens."""
FIRST_RETRY_S: Final = 0.5
MAX_RETRY_S: Final = 8.0


@dataclass(frozen=True, slots=True)
class DiscoveredSensor:
    """One heart-rate sensor heard during a scan."""

    device: BLEDevice
    name: str
    address: str
    rssi_dbm: int


@dataclass(frozen=True, slots=True)
class HeartRateConnected:
    """The sensor is connected and notifying."""

    name: str
    address: str
    location: BodySensorLocation | None
    at_s: float


@dataclass(frozen=True, slots=True)
class HeartRateReceived:
    """One decoded Heart Rate Measurement.

    Attributes:
        measurement: The value.
        source: ``"strap:<address>"``, recorded beside every heart rate.
        at_s: When it arrived (the session's clock).
    """

    measurement: HeartRateMeasurement
    source: str
    at_s: float


@dataclass(frozen=True, slots=True)
class HeartRateLost:
    """The sensor's link dropped, or it could not be reached."""

    reason: str
    at_s: float


type HeartRateEvent = HeartRateConnected | HeartRateReceived | HeartRateLost


def _sensor_from(device: BLEDevice, adv: AdvertisementData) -> DiscoveredSensor | None:
    if HEART_RATE_SERVICE not in {u.lower() for u in adv.service_uuids}:
        return None
    return DiscoveredSensor(
        device=device,
        name=adv.local_name or device.name or device.address,
        address=device.address,
        rssi_dbm=adv.rssi,
    )


async def scan_devices(
    *, timeout_s: float = 5.0, scanner_backend: type[BaseBleakScanner] | None = None
) -> tuple[list[DiscoveredMachine], list[DiscoveredSensor]]:
    """Listen once for FTMS machines and heart-rate sensors, strongest first.

    Raises:
        LinkError: There is no Bluetooth to scan with (what to check is said).
    """
    machines: dict[str, DiscoveredMachine] = {}
    sensors: dict[str, DiscoveredSensor] = {}

    def seen(device: BLEDevice, adv: AdvertisementData) -> None:
        machine = machine_from_advertisement(device, adv)
        if machine is not None:
            machines[machine.address] = machine
        sensor = _sensor_from(device, adv)
        if sensor is not None:
            sensors[sensor.address] = sensor

    try:
        async with BleakScanner(seen, backend=scanner_backend):
            await asyncio.sleep(timeout_s)
    except (OSError, RuntimeError, BleakError) as error:
        raise LinkError(
            f"cannot scan: Bluetooth is not available here ({error}); is the adapter on "
            "and the Bluetooth service running? (for a dry run, add --simulator)"
        ) from error
    return (
        sorted(machines.values(), key=lambda m: m.rssi_dbm, reverse=True),
        sorted(sensors.values(), key=lambda s: s.rssi_dbm, reverse=True),
    )


async def find_sensor(
    name_or_address: str,
    *,
    timeout_s: float = FIND_TIMEOUT_S,
    scanner_backend: type[BaseBleakScanner] | None = None,
) -> DiscoveredSensor:
    """Find the heart-rate sensor with this name or address.

    Raises:
        LinkError: It was not heard (what to check is said).
    """
    _, sensors = await scan_devices(timeout_s=timeout_s, scanner_backend=scanner_backend)
    wanted = name_or_address.strip().lower()
    for sensor in sensors:
        if wanted in {sensor.address.lower(), sensor.name.lower()}:
            return sensor
    heard = ", ".join(f"{s.name} ({s.address})" for s in sensors) or "none"
    raise LinkError(
        f"no heart-rate sensor named or at {name_or_address!r} heard in {timeout_s:g} s "
        f"(heard: {heard}); is the strap moist and worn, or the watch broadcasting?"
    )


class HeartRateLink:
    """One heart-rate sensor, kept connected until cancelled.

    Args:
        sensor: The sensor's name or address (found by a scan), or its device.
        clock: The session's clock (stamps and backoff waits).
        client_backend: A bleak client backend; None for the platform's.
        scanner_backend: A bleak scanner backend; None for the platform's.
    """

    def __init__(
        self,
        sensor: str | BLEDevice,
        *,
        clock: Clock,
        client_backend: type[BaseBleakClient] | None = None,
        scanner_backend: type[BaseBleakScanner] | None = None,
    ) -> None:
        self._sensor = sensor
        # a lost strap is never dropped from a full stream; readings and news are
        self._events: EventStream[HeartRateEvent] = EventStream(
            droppable=lambda event: not isinstance(event, HeartRateLost)
        )
        self._clock = clock
        self._client_backend = client_backend
        self._scanner_backend = scanner_backend
        self._connected = False
        self._was_up = False
        self.decode_errors = 0
        self.attempts = 0
        """Connection attempts so far (the first included)."""

    def events(self) -> AsyncIterator[HeartRateEvent]:
        """Every :data:`HeartRateEvent`, in order, as it comes; for one reader.

        Bounded like the treadmill link's: the oldest readings go first when nobody
        reads; a :class:`HeartRateLost` is never dropped.
        """
        return self._events.events()

    @property
    def label(self) -> str:
        """The sensor as the person named it."""
        sensor = self._sensor
        return sensor if isinstance(sensor, str) else (sensor.name or sensor.address)

    @property
    def is_connected(self) -> bool:
        """Whether the sensor is connected and notifying now."""
        return self._connected

    async def run(self) -> None:
        """Connect, listen, and reconnect after every loss, until cancelled.

        Cancelled, it disconnects and re-raises.
        """
        delay_s = FIRST_RETRY_S
        while True:
            self.attempts += 1
            self._was_up = False
            try:
                await self._connect_and_listen()
            except LinkError as error:
                if self._was_up:
                    delay_s = FIRST_RETRY_S  # it was up: start the backoff again
                _log.warning("heart_rate.connect_failed", sensor=self.label, error=str(error))
                self._events.put(HeartRateLost(str(error), self._clock.now_s()))
            await self._clock.sleep(delay_s * random.uniform(0.5, 1.0))
            delay_s = min(delay_s * 2, MAX_RETRY_S)

    async def _device(self) -> BLEDevice:
        if not isinstance(self._sensor, str):
            return self._sensor
        found = await find_sensor(self._sensor, scanner_backend=self._scanner_backend)
        return found.device

    async def _connect_and_listen(self) -> None:
        device = await self._device()
        lost = asyncio.Event()
        source = f"strap:{device.address}"
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                client = BleakClient(
                    device,
                    disconnected_callback=lambda _: lost.set(),
                    backend=self._client_backend,
                )
                await client.connect()
        except (BleakError, TimeoutError, OSError) as error:
            raise LinkError(f"cannot connect to {self.label}: {error or 'timed out'}") from None
        try:
            location = await self._read_location(client)

            def on_value(_char: BleakGATTCharacteristic, value: bytearray) -> None:
                self._on_value(bytes(value), source)

            await client.start_notify(HEART_RATE_MEASUREMENT, on_value)
            self._connected = self._was_up = True
            _log.info("heart_rate.up", sensor=self.label, address=device.address)
            self._events.put(
                HeartRateConnected(
                    device.name or device.address, device.address, location, self._clock.now_s()
                )
            )
            await lost.wait()
            raise LinkError(f"the link to {self.label} dropped")
        except (BleakError, OSError) as error:
            raise LinkError(f"{self.label}: {error}") from None
        finally:
            self._connected = False
            with contextlib.suppress(BleakError, OSError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await client.disconnect()

    @staticmethod
    async def _read_location(client: BleakClient) -> BodySensorLocation | None:
        if client.services.get_characteristic(BODY_SENSOR_LOCATION) is None:
            return None
        try:
            return decode_body_sensor_location(
                await client.read_gatt_char(BODY_SENSOR_LOCATION)
            ).location
        except DecodeError:
            return None

    def _on_value(self, raw: bytes, source: str) -> None:
        try:
            measurement = decode_heart_rate_measurement(raw)
        except DecodeError as error:
            self.decode_errors += 1
            _log.warning("heart_rate.decode_failed", raw=raw.hex(), error=str(error))
            return
        self._events.put(HeartRateReceived(measurement, source, self._clock.now_s()))

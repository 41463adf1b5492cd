"""Bleak backends over a virtual radio: bleak's API, bumble's GATT client underneath.

bleak picks its backend class itself (``BleakClient(device, backend=cls)``), so the
radio a backend talks to travels either in the class (see :func:`client_backend_for`
and :func:`scanner_backend_for`) or in ``BLEDevice.details`` as a
:class:`VirtualDeviceDetails` (what the virtual scanner reports). The details are
deliberately not a dict: bleak-retry-connector treats a dict with a ``"path"`` as a
BlueZ device and goes to D-Bus.

Everything a caller sees follows bleak's own contract (``BaseBleakClient``): ATT
errors become :class:`bleak.exc.BleakGATTProtocolError` (whose text names the ATT
error, e.g. "Procedure Already in Progress"), a link dropped by the peripheral calls
the disconnected callback once, and an operation cut short by a dropped link raises
:class:`bleak.exc.BleakError` instead of leaking bumble's internal cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, override

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_16, normalize_uuid_32, normalize_uuid_str
from bumble import att, core, gatt
from bumble.device import Connection, Peer
from bumble.hci import Address

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bleak.args import SizedBuffer
    from bleak.assigned_numbers import CharacteristicPropertyName
    from bumble.device import Advertisement, Device
    from bumble.gatt_client import CharacteristicProxy, ServiceProxy


__all__ = [
    "VirtualBleakClient",
    "VirtualBleakScanner",
    "VirtualDeviceDetails",
    "advertisement_data_from",
    "client_backend_for",
    "scanner_backend_for",
]

_LOG = logging.getLogger(__name__)

_CCCD_UUID = normalize_uuid_16(0x2902)
_CCCD_NOTIFY = 0x0001
_CCCD_INDICATE = 0x0002
# What a client asks for in the MTU exchange (BlueZ and Android use 517; 247 fits
# one LE data packet and is what most treadmill firmware accepts).
_REQUESTED_MTU = 247
_MIN_ATT_MTU = 23
_WRITE_COMMAND_OVERHEAD = 3

_PROPERTY_NAMES: tuple[tuple[gatt.Characteristic.Properties, CharacteristicPropertyName], ...] = (
    (gatt.Characteristic.Properties.BROADCAST, "broadcast"),
    (gatt.Characteristic.Properties.READ, "read"),
    (gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (gatt.Characteristic.Properties.WRITE, "write"),
    (gatt.Characteristic.Properties.NOTIFY, "notify"),
    (gatt.Characteristic.Properties.INDICATE, "indicate"),
    (gatt.Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (gatt.Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


class VirtualRadio(Protocol):
    """What the backends need of a virtual radio (``simulator.radio.VirtualRadio``)."""

    def create_device(self, name: str, address: str | None = None) -> Device:
        """A new bumble device on its own controller, joined to the radio."""
        ...

    def remove_device(self, device: Device) -> None:
        """Take a device off the radio."""
        ...


@dataclass(frozen=True, slots=True)
class VirtualDeviceDetails:
    """``BLEDevice.details`` of a device on a virtual radio: which radio to reach it on."""

    radio: VirtualRadio


def client_backend_for(radio: VirtualRadio) -> type[VirtualBleakClient]:
    """Return a bleak client backend class whose clients connect over ``radio``."""

    class _VirtualBleakClientOnRadio(VirtualBleakClient):
        default_radio = radio

    _VirtualBleakClientOnRadio.__name__ = VirtualBleakClient.__name__
    return _VirtualBleakClientOnRadio


def scanner_backend_for(radio: VirtualRadio) -> type[VirtualBleakScanner]:
    """Return a bleak scanner backend class whose scanners listen on ``radio``."""

    class _VirtualBleakScannerOnRadio(VirtualBleakScanner):
        default_radio = radio

    _VirtualBleakScannerOnRadio.__name__ = VirtualBleakScanner.__name__
    return _VirtualBleakScannerOnRadio


def _bleak_uuid(value: core.UUID) -> str:
    return normalize_uuid_str(value.to_hex_str("-"))


def _property_names(properties: gatt.Characteristic.Properties) -> list[CharacteristicPropertyName]:
    return [name for flag, name in _PROPERTY_NAMES if properties & flag]


class VirtualBleakClient(BaseBleakClient):
    """A bleak client backend that is a bumble central on a virtual radio.

    Each instance brings its own controller onto the radio when it connects and
    takes it off again when the link ends, like a phone that comes into the room.
    """

    default_radio: ClassVar[VirtualRadio | None] = None

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        **kwargs: object,
    ) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=disconnected_callback,
            timeout=timeout,
            **kwargs,
        )
        details = (
            address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._radio = details.radio if isinstance(details, VirtualDeviceDetails) else None
        if self._radio is None:
            self._radio = self.default_radio
        self._device_name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._central: Device | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._link_lost = False
        self._closing = False
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}
        wanted = kwargs.get("services")
        self._wanted_services: frozenset[str] = (
            frozenset(normalize_uuid_str(str(u)) for u in wanted)
            if isinstance(wanted, set | frozenset | list | tuple)
            else frozenset()
        )

    @property
    @override
    def name(self) -> str:
        return self._device_name or self.address

    @property
    @override
    def mtu_size(self) -> int:
        if self._connection is None:
            return _MIN_ATT_MTU
        return int(self._connection.att_mtu)

    @property
    @override
    def is_connected(self) -> bool:
        return self._connection is not None and not self._link_lost

    @override
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover every service.

        Raises:
            TimeoutError: the peripheral did not accept a connection within the
                time-out (it is not advertising, e.g. during a dropped-link fault).
            BleakError: there is no virtual radio to connect over.
        """
        if self.is_connected:
            return
        if self._radio is None:
            raise BleakError(
                f"{self.address} is not on a virtual radio: pass a BLEDevice from the "
                "simulator or use the backend returned by client_backend_for(radio)"
            )
        if pair:
            _LOG.info("pairing skipped: the virtual radio needs no bonding")
        timeout = kwargs.get("timeout")
        timeout_s = float(timeout) if isinstance(timeout, int | float) else self._timeout
        central = self._radio.create_device("bleak-client")
        self._central = central
        self._link_lost = False
        self._closing = False
        self._subscriptions.clear()
        try:
            await central.power_on()
            async with asyncio.timeout(timeout_s):
                connection = await central.connect(Address(self.address))
            self._connection = connection
            connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
            peer = Peer(connection)
            self._peer = peer
            await self._gatt(peer.request_mtu(_REQUESTED_MTU))
            self.services = await self._discover(peer)
        except BaseException:
            await self._teardown()
            raise

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        """Discover services (only those asked for with ``services=``, if any)."""
        collection = BleakGATTServiceCollection()
        for service in await self._gatt(peer.discover_services()):
            wanted = self._wanted_services
            if wanted and _bleak_uuid(service.uuid) not in wanted:
                continue
            await self._add_service(collection, service)
        return collection

    async def _add_service(
        self, collection: BleakGATTServiceCollection, service: ServiceProxy
    ) -> None:
        bleak_service = BleakGATTService(service, service.handle, _bleak_uuid(service.uuid))
        collection.add_service(bleak_service)
        characteristics: list[CharacteristicProxy[bytes]] = await self._gatt(
            service.discover_characteristics()
        )
        for characteristic in characteristics:
            bleak_characteristic = BleakGATTCharacteristic(
                characteristic,
                characteristic.handle,
                _bleak_uuid(characteristic.uuid),
                _property_names(characteristic.properties),
                self._max_write_without_response_size,
                bleak_service,
            )
            collection.add_characteristic(bleak_characteristic)
            for descriptor in await self._gatt(characteristic.discover_descriptors()):
                collection.add_descriptor(
                    BleakGATTDescriptor(
                        descriptor,
                        descriptor.handle,
                        _bleak_uuid(descriptor.type),
                        bleak_characteristic,
                    )
                )

    def _max_write_without_response_size(self) -> int:
        return self.mtu_size - _WRITE_COMMAND_OVERHEAD

    def _on_disconnection(self, _reason: int) -> None:
        """Bumble saw the link end: tell bleak's user once, unless we asked for it."""
        self._link_lost = True
        if self._closing:
            return
        _LOG.debug("link to %s lost", self.address)
        asyncio.get_running_loop().call_soon(self._finish_lost_link)

    def _finish_lost_link(self) -> None:
        if self._central is not None and self._radio is not None:
            self._radio.remove_device(self._central)
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    @override
    async def disconnect(self) -> None:
        """End the link (if any) and leave the radio; safe to call more than once."""
        self._closing = True
        connection = self._connection
        if connection is not None and not self._link_lost:
            with contextlib.suppress(core.BaseBumbleError):
                await connection.disconnect()
        await self._teardown()

    async def _teardown(self) -> None:
        self._closing = True
        if self._central is not None and self._radio is not None:
            self._radio.remove_device(self._central)
        self._central = None
        self._connection = None
        self._peer = None
        self._subscriptions.clear()

    @override
    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Do nothing: the simulated treadmill, like most treadmills, needs no bonding."""
        _LOG.info("pairing skipped: the virtual radio needs no bonding")

    @override
    async def unpair(self) -> None:
        """Do nothing: nothing is ever bonded on a virtual radio."""

    def _require_peer(self) -> Peer:
        if self._peer is None or self._link_lost:
            raise BleakError("Not connected")
        return self._peer

    async def _gatt[T](self, operation: Awaitable[T]) -> T:
        """Await one bumble GATT operation with bleak's error contract."""
        try:
            return await operation
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(error.error_code) from None
        except core.TimeoutError as error:
            raise TimeoutError(str(error)) from None
        except asyncio.CancelledError:
            # Bumble cancels a pending request when the link drops; only a
            # cancellation of our own task is a real cancellation.
            task = asyncio.current_task()
            if self._link_lost and task is not None and task.cancelling() == 0:
                raise BleakError("Not connected: the link to the peripheral was lost") from None
            raise

    @override
    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._gatt(peer.gatt_client.read_value(characteristic.handle)))

    @override
    async def read_gatt_descriptor(
        self,
        descriptor: BleakGATTDescriptor,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._gatt(peer.gatt_client.read_value(descriptor.handle)))

    @override
    async def write_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        data: SizedBuffer,
        response: bool,
    ) -> None:
        peer = self._require_peer()
        await self._gatt(
            peer.gatt_client.write_value(characteristic.handle, bytes(data), with_response=response)
        )

    @override
    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        await self._gatt(
            peer.gatt_client.write_value(descriptor.handle, bytes(data), with_response=True)
        )

    @override
    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        """Write the CCCD (notify preferred, else indicate) and route values to ``callback``.

        Values are delivered whether the peripheral sends them as notifications or
        as indications, as BlueZ and CoreBluetooth do: some treadmills answer on an
        indicate-only characteristic with notifications.
        """
        peer = self._require_peer()
        cccd = characteristic.get_descriptor(_CCCD_UUID)
        if cccd is None:
            raise BleakError(f"Characteristic {characteristic.uuid} has no CCCD to subscribe")
        if "notify" in characteristic.properties:
            bits = _CCCD_NOTIFY
        elif "indicate" in characteristic.properties:
            bits = _CCCD_INDICATE
        else:
            raise BleakError(f"Characteristic {characteristic.uuid} neither notifies nor indicates")

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        client = peer.gatt_client
        self._unroute(characteristic.handle)
        self._subscriptions[characteristic.handle] = deliver
        client.notification_subscribers.setdefault(characteristic.handle, set()).add(deliver)
        client.indication_subscribers.setdefault(characteristic.handle, set()).add(deliver)
        try:
            await self._gatt(
                client.write_value(cccd.handle, struct.pack("<H", bits), with_response=True)
            )
        except BaseException:
            self._unroute(characteristic.handle)
            raise

    @override
    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        cccd = characteristic.get_descriptor(_CCCD_UUID)
        if cccd is None:
            raise BleakError(f"Characteristic {characteristic.uuid} has no CCCD to unsubscribe")
        self._unroute(characteristic.handle)
        await self._gatt(peer.gatt_client.write_value(cccd.handle, b"\x00\x00", with_response=True))

    def _unroute(self, handle: int) -> None:
        deliver = self._subscriptions.pop(handle, None)
        if deliver is None or self._peer is None:
            return
        client = self._peer.gatt_client
        for subscribers in (client.notification_subscribers, client.indication_subscribers):
            routed = subscribers.get(handle)
            if routed is not None:
                routed.discard(deliver)
                if not routed:
                    del subscribers[handle]


class VirtualBleakScanner(BaseBleakScanner):
    """A bleak scanner backend that listens to advertisements on a virtual radio."""

    default_radio: ClassVar[VirtualRadio | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        **kwargs: object,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        del kwargs  # bluez= / cb= arguments mean nothing here
        self._active = scanning_mode == "active"
        self._listener: Device | None = None

    @override
    async def start(self) -> None:
        """Join the radio and report every advertisement heard until :meth:`stop`."""
        radio = self.default_radio
        if radio is None:
            raise BleakError("this scanner backend is not bound to a virtual radio")
        self.seen_devices = {}
        listener = radio.create_device("bleak-scanner")
        self._listener = listener
        listener.on(listener.EVENT_ADVERTISEMENT, self._on_advertisement)
        await listener.power_on()
        await listener.start_scanning(active=self._active)

    @override
    async def stop(self) -> None:
        """Stop scanning and leave the radio."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        with contextlib.suppress(core.BaseBumbleError):
            await listener.stop_scanning()
        radio = self.default_radio
        if radio is not None:
            radio.remove_device(listener)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        radio = self.default_radio
        if radio is None:  # pragma: no cover - start() refuses to run without one
            return
        data = advertisement_data_from(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(
            address, address, data.local_name, VirtualDeviceDetails(radio), data
        )
        self.call_detection_callbacks(device, data)


def _uuid_list(ad_type: int, value: bytes) -> list[str]:
    """Decode a 16-, 32- or 128-bit service UUID list (AD types 0x02-0x07)."""
    if ad_type in {0x02, 0x03}:
        return [
            normalize_uuid_16(u) for (u,) in struct.iter_unpack("<H", value[: len(value) // 2 * 2])
        ]
    if ad_type in {0x04, 0x05}:
        return [
            normalize_uuid_32(u) for (u,) in struct.iter_unpack("<I", value[: len(value) // 4 * 4])
        ]
    return [str(uuid.UUID(bytes=value[i : i + 16][::-1])) for i in range(0, len(value) - 15, 16)]


_SERVICE_DATA_UUID_BYTES = {0x16: 2, 0x20: 4, 0x21: 16}


def _service_data(ad_type: int, value: bytes) -> tuple[str, bytes] | None:
    """Decode one service data structure (AD types 0x16, 0x20, 0x21) into (uuid, data)."""
    size = _SERVICE_DATA_UUID_BYTES[ad_type]
    if len(value) < size:
        return None
    raw = value[:size]
    if size == 16:  # noqa: PLR2004 - a full 128-bit UUID
        key = str(uuid.UUID(bytes=raw[::-1]))
    elif size == 4:  # noqa: PLR2004 - a 32-bit UUID
        key = normalize_uuid_32(int.from_bytes(raw, "little"))
    else:
        key = normalize_uuid_16(int.from_bytes(raw, "little"))
    return key, value[size:]


def advertisement_data_from(advertisement: Advertisement) -> AdvertisementData:
    """Decode the AD structures of one bumble advertisement into bleak's form.

    Only the structures a BLE central reports are decoded (Core Supplement, Part A):
    names, service UUID lists, service data, manufacturer data, TX power.
    """
    local_name: str | None = None
    service_uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    manufacturer_data: dict[int, bytes] = {}
    tx_power: int | None = None
    for ad_type, value in advertisement.data.ad_structures:
        if ad_type == 0x09 or (ad_type == 0x08 and local_name is None):  # noqa: PLR2004 - complete name wins
            local_name = value.decode("utf-8", errors="replace")
        elif 0x02 <= ad_type <= 0x07:  # noqa: PLR2004 - the service UUID lists
            service_uuids += _uuid_list(ad_type, value)
        elif ad_type in _SERVICE_DATA_UUID_BYTES and (entry := _service_data(ad_type, value)):
            service_data[entry[0]] = entry[1]
        elif ad_type == 0xFF and len(value) >= 2:  # noqa: PLR2004 - company id, two bytes
            manufacturer_data[int.from_bytes(value[:2], "little")] = value[2:]
        elif ad_type == 0x0A and len(value) == 1:  # noqa: PLR2004 - TX power level
            tx_power = int.from_bytes(value, "little", signed=True)
    return AdvertisementData(
        local_name=local_name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(service_uuids)),
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )

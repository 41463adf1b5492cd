"""The virtual radio: an in-process "air" that bumble controllers share.

Every party on a virtual radio (the simulated treadmill, each bleak client, each
scanner) gets its own bumble :class:`~bumble.controller.Controller` and
:class:`~bumble.device.Device`, and the controllers are joined by one bumble
:class:`~bumble.link.LocalLink`. What crosses the link is real link-layer traffic:
advertising PDUs, connection requests, ACL data carrying ATT. Deliveries are
``call_soon`` callbacks on the running loop, so the radio needs no thread and no
timer of its own and follows the loop's (possibly virtual) time.

:func:`open_virtual_treadmill` puts a simulated FTMS treadmill on such a radio and
hands out bleak backends bound to it, so that any bleak-based client connects to it
with ``BleakClient(sim.ble_device, backend=sim.client_backend)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import TYPE_CHECKING, Final

from bleak.backends.device import BLEDevice
from bumble.device import Device
from bumble.hci import HCI_CONNECTION_TIMEOUT_ERROR, Address
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink, Transport

from simulator.bleak_backend import (
    VirtualBleakClient,
    VirtualBleakScanner,
    VirtualDeviceDetails,
    client_backend_for,
    scanner_backend_for,
)
from simulator.errors import FaultSpecError
from simulator.faults import Fault, FaultSchedule, parse_fault
from simulator.gatt_server import DeviceInformation, TreadmillPeripheral
from simulator.hci_logging import QuietController, QuietHost
from simulator.heart_rate_strap import (
    HRM_ADDRESS,
    HRM_NAME,
    HeartRateStrap,
    StrapFault,
    is_strap_fault,
    parse_strap_fault,
)
from simulator.model import MachineConfig, TreadmillModel
from simulator.person import HeartRatePerson, PersonConfig
from simulator.quirks import Quirk, parse_quirks
from simulator.trace import TraceWriter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine, Iterable
    from pathlib import Path

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_NAME",
    "VirtualHeartRateStrap",
    "VirtualRadio",
    "VirtualTreadmill",
    "open_virtual_treadmill",
]

DEFAULT_NAME: Final = "SIM-TREADMILL"
"""The simulated treadmill's advertised name unless told otherwise."""

DEFAULT_ADDRESS: Final = "F0:7E:AD:00:00:01"
"""The simulated treadmill's random static address unless told otherwise."""

# Random static addresses (Core Vol 6, Part B, 1.3.2.1): the two top bits are 1.
_CENTRAL_ADDRESS_PREFIX = "C0:51:AD"


class VirtualRadio:
    """One shared piece of air: a bumble LocalLink and the devices attached to it.

    Devices created here can see each other's advertisements and connect to each
    other, exactly as two radios in one room would.
    """

    def __init__(self) -> None:
        self._link = LocalLink()  # type: ignore[no-untyped-call]  # bumble leaves it untyped
        self._serials = itertools.count(1)
        self._controllers: dict[int, QuietController] = {}

    def create_device(self, name: str, address: str | None = None) -> Device:
        """Attach a new bumble device (its own controller and host) to this radio.

        Args:
            name: a label for logs, also the device's GAP name.
            address: a random static address (``"F0:..."``); a fresh unique one
                when omitted.

        Returns:
            The device, not yet powered on.
        """
        serial = next(self._serials)
        if address is None:
            low = serial.to_bytes(3, "big")
            address = f"{_CENTRAL_ADDRESS_PREFIX}:{low[0]:02X}:{low[1]:02X}:{low[2]:02X}"
        controller = QuietController(f"{name}#{serial}", link=self._link, public_address=address)
        device = Device(
            name=name,
            address=Address(address),
            host=QuietHost(controller, AsyncPipeSink(controller)),
        )
        self._controllers[id(device)] = controller
        return device

    def create_transport(self, name: str = "hci") -> Transport:
        """A bumble transport to a new controller on this radio, as if it were a USB dongle.

        What ``treadmill-sim`` opens with ``usb:0`` on real hardware; tests use it
        to serve the command-line peripheral over the virtual radio.
        """
        serial = next(self._serials)
        controller = QuietController(f"{name}#{serial}", link=self._link)
        return Transport(controller, AsyncPipeSink(controller))

    def time_out_links(self, device: Device) -> None:
        """Every link of ``device`` times out, as when a radio goes out of range.

        No word crosses the air: each end's controller gives up on its own (HCI
        reason 0x08, connection timeout), and whatever was in flight is lost.
        """
        controller = self._controllers.get(id(device))
        if controller is None:
            return
        ours = {bytes(controller.public_address), bytes(controller.random_address)}
        for other in list(self._link.controllers):
            if other is controller:
                continue
            for connection in list(other.le_connections.values()):
                if bytes(connection.peer_address) in ours:
                    other.on_le_disconnected(connection, HCI_CONNECTION_TIMEOUT_ERROR)
        for connection in list(controller.le_connections.values()):
            controller.on_le_disconnected(connection, HCI_CONNECTION_TIMEOUT_ERROR)

    def remove_device(self, device: Device) -> None:
        """Take a device's controller off the air (it can no longer be seen or reached)."""
        controller = self._controllers.pop(id(device), None)
        if controller is not None and controller in self._link.controllers:
            self._link.remove_controller(controller)


class VirtualTreadmill:
    """A simulated treadmill on a virtual radio, and the handles a test needs.

    Made by :func:`open_virtual_treadmill`; valid inside its ``async with`` block.

    Attributes:
        ble_device: The treadmill as bleak sees it after a scan.
        client_backend: The bleak client backend class that reaches it
            (``BleakClient(sim.ble_device, backend=sim.client_backend)``).
        scanner_backend: The bleak scanner backend class that hears it
            (``BleakScanner(backend=sim.scanner_backend)``).
        model: The physical machine (``model.belt_speed_kmh``, ``model.state``...).
        peripheral: The GATT server.
        trace: The ground-truth trace (``trace.records`` when kept in memory).
        radio: The virtual radio.
    """

    def __init__(
        self,
        *,
        radio: VirtualRadio,
        peripheral: TreadmillPeripheral,
        trace: TraceWriter,
        address: str,
        name: str,
        hr_strap: VirtualHeartRateStrap | None = None,
    ) -> None:
        self.radio: Final = radio
        self.hr_strap: Final = hr_strap
        """The heart-rate strap on the same radio, if one was asked for."""
        self.peripheral: Final = peripheral
        self.model: Final = peripheral.model
        self.trace: Final = trace
        self.ble_device: Final = BLEDevice(address, name, VirtualDeviceDetails(radio))
        self.client_backend: Final[type[VirtualBleakClient]] = client_backend_for(radio)
        self.scanner_backend: Final[type[VirtualBleakScanner]] = scanner_backend_for(radio)

    @property
    def address(self) -> str:
        """The treadmill's Bluetooth address."""
        return self.ble_device.address

    @property
    def name(self) -> str:
        """The advertised name."""
        return self.peripheral.name

    @property
    def session_s(self) -> float:
        """Seconds since the simulator opened (the time fault specifications use)."""
        return self.peripheral.session_s

    @property
    def link_up(self) -> bool:
        """Whether a client is connected."""
        return self.peripheral.link_up

    # The person at the machine. Each action updates the model at the current
    # time and wakes the server, which sends the resulting status at once.

    def _act(self, action: str, *args: float) -> None:
        self.model.advance(asyncio.get_running_loop().time())
        getattr(self.model, action)(*args)
        self.peripheral.wake()

    def pull_safety_key(self) -> None:
        """Pull the safety key: the belt stops fast, status 0x03."""
        self._act("pull_safety_key")

    def insert_safety_key(self) -> None:
        """Put the safety key back: the machine is idle; nothing starts by itself."""
        self._act("insert_safety_key")

    def press_start(self) -> None:
        """Press start on the console (status 0x04)."""
        self._act("press_start")

    def press_stop(self) -> None:
        """Press stop on the console (status 0x02 0x01 unless ``stop-unannounced``)."""
        self._act("press_stop")

    def press_pause(self) -> None:
        """Press pause on the console (status 0x02 0x02)."""
        self._act("press_pause")

    def press_speed_up(self) -> None:
        """Press + on the console (status 0x05)."""
        self._act("press_speed_up")

    def press_speed_down(self) -> None:
        """Press - on the console (status 0x05)."""
        self._act("press_speed_down")

    def console_set_speed(self, speed_kmh: float) -> None:
        """Set a speed on the console: the belt goes there by itself (status 0x05)."""
        self._act("console_set_speed", speed_kmh)

    def revoke_control(self) -> None:
        """Take control away from the client (status 0xFF)."""
        self._act("revoke_control")

    async def drop_link(self, down_s: float = 5.0) -> None:
        """Drop the link now; the treadmill advertises again after ``down_s`` seconds.

        Returns once the link is down (a connected client hears of it at once).
        """
        await self.peripheral.drop_link(down_s)

    def time_out_link(self) -> None:
        """The link times out with nothing said (out of range, a dead radio).

        Unlike :meth:`drop_link`, no disconnect is exchanged: each side notices on
        its own, and an operation in flight is cut short. The treadmill advertises
        again as after any lost link.
        """
        self.radio.time_out_links(self.peripheral.device)


class VirtualHeartRateStrap:
    """The simulated heart-rate strap on a treadmill's virtual radio.

    Attributes:
        ble_device: The strap as bleak sees it after a scan.
        peripheral: Its GATT server.
        person: The heart it measures (``person.heart_rate_bpm``; set ``person.backward``).
    """

    def __init__(self, *, radio: VirtualRadio, strap: HeartRateStrap, address: str) -> None:
        self.peripheral: Final = strap
        self.person: Final = strap.person
        self.ble_device: Final = BLEDevice(address, strap.name, VirtualDeviceDetails(radio))

    @property
    def link_up(self) -> bool:
        """Whether a client is connected to the strap."""
        return self.peripheral.link_up


def _schedule(faults: FaultSchedule | Iterable[Fault | str]) -> FaultSchedule:
    if isinstance(faults, FaultSchedule):
        return faults
    return FaultSchedule(
        f if isinstance(f, Fault) else parse_fault(f)
        for f in faults
        if isinstance(f, Fault) or not is_strap_fault(f)
    )


def _strap_faults(faults: FaultSchedule | Iterable[Fault | str]) -> list[StrapFault]:
    if isinstance(faults, FaultSchedule):
        return []
    return [parse_strap_fault(f) for f in faults if isinstance(f, str) and is_strap_fault(f)]


def _strap_on(
    radio: VirtualRadio,
    model: TreadmillModel,
    *,
    faults: list[StrapFault],
    trace: TraceWriter,
    person: PersonConfig | None,
) -> VirtualHeartRateStrap:
    """A strap on ``radio``, worn by a person walking on ``model``'s belt."""
    loop = asyncio.get_running_loop()
    start_s = loop.time()

    def belt() -> tuple[float, float]:
        model.advance(loop.time())
        return model.belt_speed_kmh, model.incline_pct

    return VirtualHeartRateStrap(
        radio=radio,
        strap=HeartRateStrap(
            radio.create_device(HRM_NAME, HRM_ADDRESS),
            belt=belt,
            clock=lambda: loop.time() - start_s,
            faults=faults,
            trace=trace,
            person=HeartRatePerson(person, now_s=0.0),
        ),
        address=HRM_ADDRESS,
    )


async def _all(waits: list[Coroutine[object, object, None]]) -> None:
    for wait in waits:
        await wait


def _trace_writer(trace: TraceWriter | str | Path | None) -> tuple[TraceWriter, bool]:
    if isinstance(trace, TraceWriter):
        return trace, False
    return TraceWriter(trace), True


@contextlib.asynccontextmanager
async def open_virtual_treadmill(
    *,
    quirks: Iterable[Quirk | str] = (),
    faults: FaultSchedule | Iterable[Fault | str] = (),
    trace: TraceWriter | str | Path | None = None,
    name: str = DEFAULT_NAME,
    address: str = DEFAULT_ADDRESS,
    config: MachineConfig | None = None,
    device_information: DeviceInformation | None = None,
    data_interval_s: float = 1.0,
    response_delay_s: float = 0.05,
    hr_strap: bool = False,
    person: PersonConfig | None = None,
) -> AsyncIterator[VirtualTreadmill]:
    """Run a simulated FTMS treadmill on a fresh virtual radio.

    Session time (the ``T`` of fault specifications) starts when this is entered,
    on the running loop's clock, so under an accelerated loop every fault and
    every notification happens in virtual time.

    Args:
        quirks: Quirks (or their names, as for ``--sim-quirk``) to imitate.
        faults: A fault schedule, or faults / specifications (``"stall@30:5"``).
        trace: Where to write the ground-truth trace: a writer, a path, or None
            to keep the records in memory (``sim.trace.records``).
        name: The advertised local name.
        address: The treadmill's random static address.
        config: The machine's ranges and motors.
        device_information: What the Device Information service reports.
        data_interval_s: Treadmill Data period.
        response_delay_s: How long the machine takes to answer a control point
            command (a slow treadmill answers late).
        hr_strap: Also put a heart-rate strap (``SIM-HRM``) on the radio, worn by a
            simulated person walking on the belt (``sim.hr_strap``); ``strap-...``
            faults go to it.
        person: The simulated person wearing the strap.

    Yields:
        The running treadmill. On exit the link is dropped, the server stops and
        a trace file opened here is closed.

    Raises:
        simulator.errors.QuirkSpecError: a quirk name is unknown.
        simulator.errors.FaultSpecError: a fault specification is malformed.
    """
    quirk_set = parse_quirks(str(q) for q in quirks)
    faults = faults if isinstance(faults, FaultSchedule) else list(faults)
    schedule = _schedule(faults)
    strap_faults = _strap_faults(faults)
    if strap_faults and not hr_strap:
        raise FaultSpecError(
            f"fault {strap_faults[0]}: strap faults need the simulated strap (--sim-hr-strap)"
        )
    writer, owned = _trace_writer(trace)
    radio = VirtualRadio()
    model = TreadmillModel(
        config, quirks=quirk_set, faults=schedule, start_s=asyncio.get_running_loop().time()
    )
    peripheral = TreadmillPeripheral(
        radio.create_device(name, address),
        model,
        name=name,
        trace=writer,
        device_information=device_information,
        data_interval_s=data_interval_s,
        response_delay_s=response_delay_s,
    )
    strap = (
        _strap_on(radio, model, faults=strap_faults, trace=writer, person=person)
        if hr_strap
        else None
    )
    sim = VirtualTreadmill(
        radio=radio,
        peripheral=peripheral,
        trace=writer,
        address=address,
        name=name,
        hr_strap=strap,
    )
    try:
        servers = [asyncio.create_task(peripheral.run(), name="sim.peripheral")]
        waits = [peripheral.wait_started()]
        if strap is not None:
            servers.append(asyncio.create_task(strap.peripheral.run(), name="sim.hr-strap"))
            waits.append(strap.peripheral.wait_started())
        try:
            started = asyncio.create_task(_all(waits), name="sim.started")
            await asyncio.wait({*servers, started}, return_when=asyncio.FIRST_COMPLETED)
            if not started.done():
                started.cancel()
                for server in servers:
                    if server.done():
                        server.result()  # a server ended before it started: raise why
            yield sim
        finally:
            for server in servers:
                server.cancel()
            for server in servers:
                with contextlib.suppress(asyncio.CancelledError):
                    await server
    finally:
        if owned:
            writer.close()

"""The simulated treadmill as a BLE peripheral: an FTMS GATT server on a bumble device.

:class:`TreadmillPeripheral` puts a :class:`~simulator.model.TreadmillModel` on the
air. It owns only what a radio adds to the machine:

- the GATT database: Fitness Machine Service 0x1826 (FTMS v1.0 section 4) and
  Device Information 0x180A;
- advertising with the FTMS service UUID, the FTMS service data (FTMS 3.1.1) and
  the name, restarted after every disconnection;
- the control point's transport rules (FTMS 4.16.1): writing while indications are
  off is the ATT error "CCCD improperly configured" (0xFD), writing while the
  previous procedure has not been answered is "procedure already in progress"
  (0xFE); the answer ``80 <op> <result>`` goes by indication;
- the transport quirks (``cp-notify``, ``cp-mute``, ``no-control-point``) and the
  link faults (``disconnect``, ``stall``, ``cp-silent``).

Everything else (what a command does, result codes, status, the wire values,
``frozen`` and ``cp-reject``) is the model's. Time is the running loop's
``time()``: real on a normal loop, virtual under an accelerated one, so a 60-minute
session runs in seconds in tests without the server knowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from bumble import att, core, gatt, hci
from bumble.core import AdvertisingData
from bumble.profiles.device_information_service import DeviceInformationService

from simulator.encoding import ftms_service_data
from simulator.faults import MODEL_FAULTS, Fault, FaultKind
from simulator.quirks import Quirk

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from bumble.device import Connection, Device

    from simulator.encoding import FitnessMachineStatus
    from simulator.model import ControlOutcome, TreadmillModel
    from simulator.trace import TraceWriter

__all__ = ["DeviceInformation", "TreadmillPeripheral"]

_LOG = logging.getLogger(__name__)

FTMS_SERVICE_UUID: Final = "1826"
FEATURE_UUID: Final = "2ACC"
TREADMILL_DATA_UUID: Final = "2ACD"
TRAINING_STATUS_UUID: Final = "2AD3"
SPEED_RANGE_UUID: Final = "2AD4"
INCLINATION_RANGE_UUID: Final = "2AD5"
CONTROL_POINT_UUID: Final = "2AD9"
MACHINE_STATUS_UUID: Final = "2ADA"

_CCCD_NOTIFY = 0x01
_CCCD_INDICATE = 0x02
_LEGACY_ADVERTISING_MAX_BYTES = 31
_AD_HEADER_BYTES = 2
# LE General Discoverable Mode, BR/EDR Not Supported (Core Supplement, Part A, 1.3).
_AD_FLAGS = bytes([0x06])
_ADVERTISING_INTERVAL_MS = 100.0
# Slack when comparing session times computed along different float paths.
_TIME_SLACK_S = 1e-6
# How long the controller gets to carry out a disconnection or stop advertising.
_HCI_TIMEOUT_S = 2.0


async def _to_the_end(procedure: Coroutine[object, object, None]) -> None:
    """Run an HCI procedure to its end, even when the caller is cancelled meanwhile.

    bumble cannot take a cancellation while a command's answer is on its way: the
    answer then lands on a cancelled future and an InvalidStateError traceback ends
    the program (it did at the end of every dry run whose shutdown took a moment,
    e.g. with an MQTT broker that cannot be reached). The caller's cancellation still
    propagates, once the procedure is over (bounded by the HCI timeout).
    """
    task = asyncio.ensure_future(procedure)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task}, timeout=_HCI_TIMEOUT_S)
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a failure while being cancelled is not news
        raise


Properties = gatt.Characteristic.Properties
Permissions = gatt.Characteristic.Permissions


@dataclass(frozen=True, slots=True)
class DeviceInformation:
    """What the Device Information service (0x180A) says about the machine."""

    manufacturer: str = "treadmill_ctl"
    model: str = "SIM-FTMS-1"
    serial_number: str = "SIM-0001"
    firmware_revision: str = "1.0.0"
    hardware_revision: str = "sim"
    software_revision: str = "1.0.0"


def advertising_data(name: str) -> bytes:
    """The legacy advertising payload: flags, FTMS UUID, FTMS service data, name.

    The name is shortened (AD type 0x08) when the whole payload would not fit in
    the 31 bytes of a legacy advertisement.
    """
    service_uuid = struct.pack("<H", 0x1826)
    fixed: list[tuple[int, bytes]] = [
        (AdvertisingData.FLAGS, _AD_FLAGS),
        (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, service_uuid),
        (AdvertisingData.SERVICE_DATA_16_BIT_UUID, service_uuid + ftms_service_data()),
    ]
    used = sum(_AD_HEADER_BYTES + len(value) for _, value in fixed)
    room = _LEGACY_ADVERTISING_MAX_BYTES - used - _AD_HEADER_BYTES
    encoded = name.encode()
    name_type = AdvertisingData.COMPLETE_LOCAL_NAME
    if len(encoded) > room:
        encoded = encoded[:room]
        name_type = AdvertisingData.SHORTENED_LOCAL_NAME
    return bytes(AdvertisingData([*fixed, (name_type, encoded)]))


def _refuse_read(_connection: Connection) -> bytes:
    """Answer a read of a notify- or write-only characteristic as the spec says."""
    raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)


class TreadmillPeripheral:
    """A :class:`TreadmillModel` served over GATT on a bumble :class:`Device`.

    Run it with :meth:`run` (until cancelled). It serves one central at a time, as
    treadmills do: advertising stops while a client is connected.

    Args:
        device: The bumble device to serve on (virtual or on a real transport);
            not yet powered on.
        model: The machine; its quirks and fault schedule apply to the server too.
        name: The advertised local name.
        trace: Where to record the ground truth (samples, control point writes,
            link events), or None.
        device_information: What the Device Information service reports.
        data_interval_s: Treadmill Data notification period (about 1 Hz on real
            machines).
        sample_interval_s: Physics and trace sampling period.
        response_delay_s: How long the machine takes to answer a control point
            write; a second write in that window gets "procedure already in
            progress".
    """

    def __init__(
        self,
        device: Device,
        model: TreadmillModel,
        *,
        name: str,
        trace: TraceWriter | None = None,
        device_information: DeviceInformation | None = None,
        data_interval_s: float = 1.0,
        sample_interval_s: float = 0.1,
        response_delay_s: float = 0.05,
    ) -> None:
        self.device: Final = device
        self.model: Final = model
        self.name: Final = name
        self.trace: Final = trace
        self._data_interval_s = data_interval_s
        self._sample_interval_s = sample_interval_s
        self._response_delay_s = response_delay_s
        self._quirks = model.quirks
        self._connection: Connection | None = None
        self._procedure_pending = False
        self._advertising_blocked_until_s = 0.0
        self._waking: asyncio.Future[None] | None = None
        self._started = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._advertising: asyncio.Future[None] | None = None
        self._last_training_status = model.training_status()

        self._treadmill_data: gatt.Characteristic[bytes] = gatt.Characteristic(
            TREADMILL_DATA_UUID,
            Properties.NOTIFY,
            Permissions(0),
            gatt.CharacteristicValue(read=_refuse_read),
        )
        self._training_status: gatt.Characteristic[bytes] = gatt.Characteristic(
            TRAINING_STATUS_UUID,
            Properties.READ | Properties.NOTIFY,
            Permissions.READABLE,
            gatt.CharacteristicValue(read=self._read_training_status),
        )
        self._machine_status: gatt.Characteristic[bytes] = gatt.Characteristic(
            MACHINE_STATUS_UUID,
            Properties.NOTIFY,
            Permissions(0),
            gatt.CharacteristicValue(read=_refuse_read),
        )
        self._control_point: gatt.Characteristic[bytes] | None = None
        characteristics: list[gatt.Characteristic[bytes]] = [
            gatt.Characteristic(
                FEATURE_UUID,
                Properties.READ,
                Permissions.READABLE,
                gatt.CharacteristicValue(read=lambda _: bytes(self.model.feature())),
            ),
            self._treadmill_data,
            self._training_status,
            gatt.Characteristic(
                SPEED_RANGE_UUID,
                Properties.READ,
                Permissions.READABLE,
                gatt.CharacteristicValue(read=lambda _: bytes(self.model.speed_range())),
            ),
            gatt.Characteristic(
                INCLINATION_RANGE_UUID,
                Properties.READ,
                Permissions.READABLE,
                gatt.CharacteristicValue(read=lambda _: bytes(self.model.inclination_range())),
            ),
            self._machine_status,
        ]
        if Quirk.NO_CONTROL_POINT not in self._quirks:
            self._control_point = gatt.Characteristic(
                CONTROL_POINT_UUID,
                Properties.WRITE | Properties.INDICATE,
                Permissions.WRITEABLE,
                gatt.CharacteristicValue(read=_refuse_read, write=self._on_control_point_write),
            )
            characteristics.append(self._control_point)
        info = device_information or DeviceInformation()
        device.add_services(
            [
                gatt.Service(FTMS_SERVICE_UUID, characteristics),
                DeviceInformationService(
                    manufacturer_name=info.manufacturer,
                    model_number=info.model,
                    serial_number=info.serial_number,
                    hardware_revision=info.hardware_revision,
                    firmware_revision=info.firmware_revision,
                    software_revision=info.software_revision,
                ),
            ]
        )
        device.on(device.EVENT_CONNECTION, self._on_connection)

    # -- observable state -------------------------------------------------------

    @property
    def link_up(self) -> bool:
        """Whether a central is connected."""
        return self._connection is not None

    @property
    def session_s(self) -> float:
        """Session time now (the machine is brought up to date first)."""
        self.model.advance(asyncio.get_running_loop().time())
        return self.model.session_s

    # -- running ------------------------------------------------------------------

    async def run(self) -> None:
        """Power on, advertise and serve until cancelled.

        On cancellation the link (if any) is dropped, advertising stops and the
        cancellation propagates.
        """
        await self.device.power_on()
        self._trace_event("power_on", name=self.name)
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                await self._start_advertising()
                self._started.set()
                tasks.create_task(self._physics_loop(), name="sim.physics")
                tasks.create_task(self._data_loop(), name="sim.treadmill-data")
                tasks.create_task(self._disconnect_faults(), name="sim.disconnect-faults")
        finally:
            self._tasks = None
            await self._shut_down()

    async def wait_started(self) -> None:
        """Return once :meth:`run` has powered on and started advertising."""
        await self._started.wait()

    async def _shut_down(self) -> None:
        """Leave the air: drop the link and stop advertising, each bounded in time."""
        if self._advertising is not None and not self._advertising.done():
            with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                async with asyncio.timeout(_HCI_TIMEOUT_S):
                    await self._advertising
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                async with asyncio.timeout(_HCI_TIMEOUT_S):
                    await connection.disconnect()
        with contextlib.suppress(core.BaseBumbleError, TimeoutError):
            async with asyncio.timeout(_HCI_TIMEOUT_S):
                await self.device.stop_advertising()

    async def _start_advertising(self) -> None:
        if self._connection is not None or self.device.is_advertising:
            return
        # Shielded: an HCI command cancelled half-way (the server shut down just after
        # a disconnection) leaves bumble's host with an answer it can no longer take.
        self._advertising = asyncio.ensure_future(
            self.device.start_advertising(
                advertising_data=advertising_data(self.name),
                auto_restart=False,
                advertising_interval_min=_ADVERTISING_INTERVAL_MS,
                advertising_interval_max=_ADVERTISING_INTERVAL_MS,
            )
        )
        await asyncio.shield(self._advertising)
        self._trace_event("advertising", advertising=True)

    def _spawn(self, coroutine: Coroutine[object, object, None], name: str) -> None:
        """Start a short task in the server's task group (dropped when not running)."""
        if self._tasks is None:
            coroutine.close()
            return
        self._tasks.create_task(coroutine, name=name)

    # -- link -----------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._procedure_pending = False
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._trace_event("link", link_state="up", peer=str(connection.peer_address))

    def _on_disconnection(self, reason: int) -> None:
        connection = self._connection
        self._connection = None
        self._procedure_pending = False
        if connection is not None:
            self.model.client_disconnected(connection.handle)
        self._trace_event("link", link_state="down", reason=int(reason))
        if self.session_s + _TIME_SLACK_S >= self._advertising_blocked_until_s:
            self._spawn(self._start_advertising(), "sim.advertise")

    async def drop_link(self, down_s: float) -> None:
        """Drop the link from the peripheral side and stay silent for ``down_s`` seconds.

        Returns once the link is down. No advertising while down, so a client
        cannot reconnect until then; after that the machine advertises again (the
        server's own task does it, so cancelling this call changes nothing).
        """
        self._advertising_blocked_until_s = self.session_s + down_s
        self._trace_event("fault", fault=FaultKind.DISCONNECT.value, down_s=down_s)
        with contextlib.suppress(core.BaseBumbleError, TimeoutError):
            async with asyncio.timeout(_HCI_TIMEOUT_S):
                await self.device.stop_advertising()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                async with asyncio.timeout(_HCI_TIMEOUT_S):
                    await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)
        self._spawn(self._come_back_after(down_s), "sim.come-back")

    def inject(self, kind: FaultKind, duration_s: float) -> None:
        """Start a link or data fault now, for ``duration_s`` (a key at the console).

        ``disconnect`` drops the link as :meth:`drop_link` does; ``stall``,
        ``frozen``, ``cp-silent`` and ``cp-reject`` are added to the schedule from
        this moment. The model's one-shot faults have their own keys.

        Raises:
            ValueError: ``kind`` is not a fault with a duration.
        """
        if kind is FaultKind.DISCONNECT:
            self._spawn(self.drop_link(duration_s), "sim.drop-link")
            return
        if kind in MODEL_FAULTS:
            raise ValueError(f"{kind} is not a fault with a duration")
        self.model.faults.add(Fault(kind, self.session_s, duration_s=duration_s))
        self._trace_event("fault", fault=kind.value, duration_s=duration_s)
        self.wake()

    async def _come_back_after(self, down_s: float) -> None:
        await asyncio.sleep(down_s)
        if self.session_s + _TIME_SLACK_S >= self._advertising_blocked_until_s:
            await self._start_advertising()

    async def _disconnect_faults(self) -> None:
        for fault in self.model.faults.faults:
            if fault.kind is not FaultKind.DISCONNECT:
                continue
            wait_s = fault.at_s - self.session_s
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            await self.drop_link(fault.duration_s)

    # -- periodic work --------------------------------------------------------------

    def wake(self) -> None:
        """Ask the physics loop to run now (after a console button or a fault).

        Heard while the loop waits between samples; the loop's own next pass, when it
        is not waiting, sees the change anyway.
        """
        waking = self._waking
        if waking is not None and not waking.done():
            waking.set_result(None)

    async def _physics_loop(self) -> None:
        while True:
            session_s = self.session_s
            for status in self.model.take_status_events():
                await self._notify_status(status)
            training_status = self.model.training_status()  # encoded only when it changed
            if training_status != self._last_training_status:
                self._last_training_status = training_status
                await self._notify(self._training_status, bytes(training_status))
            if self.trace is not None:
                self.trace.sample(session_s, self.model, link_up=self.link_up)
            await self._until_woken_or(self._sample_interval_s)

    async def _until_woken_or(self, interval_s: float) -> None:
        """Wait ``interval_s``, or less if :meth:`wake` is called meanwhile.

        One future and one timer per wait: this runs ten times a simulated second, and
        a timeout scope around an event costs several times as much (a cancellation
        and an exception every time it expires).
        """
        loop = asyncio.get_running_loop()
        waking = loop.create_future()
        self._waking = waking
        timer = loop.call_later(interval_s, _resolve, waking)
        try:
            await waking
        finally:
            timer.cancel()
            self._waking = None

    async def _data_loop(self) -> None:
        while True:
            await asyncio.sleep(self._data_interval_s)
            session_s = self.session_s
            if self._connection is None:
                continue
            if self.model.faults.is_active(FaultKind.STALL, session_s):
                continue
            for frame in self.model.treadmill_data_frames():
                await self._notify(self._treadmill_data, frame)

    async def _notify(self, characteristic: gatt.Characteristic[bytes], value: bytes) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(core.BaseBumbleError):
            await self.device.notify_subscriber(connection, characteristic, value)

    async def _notify_status(self, status: FitnessMachineStatus) -> None:
        value = bytes(status)
        self._trace_event("machine_status", op=status.op.name, data_hex=value.hex())
        await self._notify(self._machine_status, value)

    def _read_training_status(self, _connection: Connection) -> bytes:
        self.model.advance(asyncio.get_running_loop().time())
        return bytes(self.model.training_status())

    # -- control point -----------------------------------------------------------------

    def _cccd_bits(self, connection: Connection, characteristic: gatt.Characteristic[bytes]) -> int:
        cccd = self.device.gatt_server.read_cccd(connection, characteristic)
        return int.from_bytes(cccd, "little")

    async def _on_control_point_write(self, connection: Connection, value: bytes) -> None:
        """Handle one write to 0x2AD9 (FTMS 4.16.1); raising ATT_Error answers with it."""
        control_point = self._control_point
        assert control_point is not None  # noqa: S101 - only registered with a control point
        session_s = self.session_s
        data = bytes(value)
        enabled = _CCCD_INDICATE | (_CCCD_NOTIFY if Quirk.CP_NOTIFY in self._quirks else 0)
        if not self._cccd_bits(connection, control_point) & enabled:
            self._trace_att_error(session_s, data, att.ErrorCode.CCCD_IMPROPERLY_CONFIGURED)
            raise att.ATT_Error(att.ErrorCode.CCCD_IMPROPERLY_CONFIGURED)
        if self._procedure_pending:
            self._trace_att_error(session_s, data, att.ErrorCode.PROCEDURE_ALREADY_IN_PROGRESS)
            raise att.ATT_Error(att.ErrorCode.PROCEDURE_ALREADY_IN_PROGRESS)
        outcome = self.model.handle_control_point(data, client=connection.handle)
        if self.trace is not None:
            self.trace.control_point_write(session_s, data, outcome.result)
        silent = Quirk.CP_MUTE in self._quirks or self.model.faults.is_active(
            FaultKind.CP_SILENT, session_s
        )
        if silent:
            self._trace_event("control_point_unanswered", op_code=outcome.op_code)
            self._spawn(self._announce(outcome), "sim.status")
            return
        self._procedure_pending = True
        self._spawn(self._answer(connection, control_point, outcome), "sim.cp-answer")

    async def _answer(
        self,
        connection: Connection,
        control_point: gatt.Characteristic[bytes],
        outcome: ControlOutcome,
    ) -> None:
        """Send the control point response, then the status the procedure caused."""
        try:
            await asyncio.sleep(self._response_delay_s)
            if self._connection is not connection:
                return
            response = bytes(outcome.response)
            with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                if Quirk.CP_NOTIFY in self._quirks:
                    await self.device.notify_subscriber(
                        connection, control_point, response, force=True
                    )
                else:
                    await self.device.indicate_subscriber(connection, control_point, response)
        finally:
            if self._connection is connection:
                self._procedure_pending = False
        await self._announce(outcome)

    async def _announce(self, outcome: ControlOutcome) -> None:
        for status in outcome.statuses:
            await self._notify_status(status)

    # -- trace ------------------------------------------------------------------------

    def _trace_event(self, kind: str, **fields: str | float | bool | None) -> None:
        if self.trace is not None:
            self.trace.event(self.session_s, kind, **fields)

    def _trace_att_error(self, session_s: float, data: bytes, error: att.ErrorCode) -> None:
        if self.trace is not None:
            self.trace.event(
                session_s,
                "control_point_att_error",
                data_hex=data.hex(),
                att_error=error.name,
                att_error_code=int(error),
            )


def _resolve(waking: asyncio.Future[None]) -> None:
    if not waking.done():
        waking.set_result(None)

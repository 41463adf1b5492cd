"""The FTMS link: one BLE connection to a treadmill, and the only code that writes to it.

:class:`FtmsLink` is a facade in the manner of bleak's ``BleakClient``: the transport
is chosen in one place (the ``client_backend`` argument, ``None`` for the platform's
own Bluetooth stack, the simulator's backend for dry runs and tests), and everything
above it sees typed events and awaitable commands.

This module is the connection's life cycle: connect (read what the treadmill is,
subscribe, and take control), reconnect with capped, jittered backoff, disconnect,
and what a lost connection forgets. The rest lives beside it:

* the control point (:mod:`treadmill_ctl.ftms.control_point`): commands with their
  answers and time-outs, Request Control, and the priority stop path
  (:meth:`FtmsLink.stop_now`, :meth:`FtmsLink.pause_now`, the stop pending for a new
  connection), which takes no lock and waits for no answer;
* the notifications (:mod:`treadmill_ctl.ftms.notifications`): bleak's callbacks
  only decode and hand off, each value one event in the link's own stream
  (:class:`~treadmill_ctl.ftms.event_stream.EventStream`), which the session reads
  with ``async for event in link.events()``;
* the events themselves (:mod:`treadmill_ctl.ftms.link_events`). The stream is
  bounded and never drops a link going down or coming back, nor a machine status;
  the stop path never waits on it (:meth:`FtmsLink.stop_now` writes whatever the
  stream holds).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import TYPE_CHECKING, Final, Self

import structlog
from bleak import BleakClient
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from treadmill_ctl.errors import DecodeError, LinkError
from treadmill_ctl.ftms import commands, uuids
from treadmill_ctl.ftms.control_point import DEFAULT_COMMAND_TIMEOUT_S, ControlPoint
from treadmill_ctl.ftms.decode import (
    decode_features,
    decode_incline_range,
    decode_speed_range,
)
from treadmill_ctl.ftms.event_stream import EventStream
from treadmill_ctl.ftms.link_events import LinkConnected, LinkLost, MachineInfo, droppable
from treadmill_ctl.ftms.notifications import Notifications
from treadmill_ctl.ftms.quirks import ClientQuirks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from types import TracebackType

    from bleak.backends.client import BaseBleakClient
    from bleak.backends.device import BLEDevice

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.ftms.link_events import LinkEvent
    from treadmill_ctl.ftms.observations import ControlPointResponse

__all__ = ["FtmsLink"]

_log = structlog.get_logger("treadmill_ctl.ftms.link")

_DISCONNECT_TIMEOUT_S: Final = 5.0
"""A disconnect the stack does not confirm in this time is taken as done."""

_DEVICE_INFORMATION_FIELDS: Final = {
    "manufacturer": uuids.MANUFACTURER_NAME,
    "model": uuids.MODEL_NUMBER,
    "serial_number": uuids.SERIAL_NUMBER,
    "hardware_revision": uuids.HARDWARE_REVISION,
    "firmware_revision": uuids.FIRMWARE_REVISION,
    "software_revision": uuids.SOFTWARE_REVISION,
}


class FtmsLink:
    """One connection to one FTMS treadmill.

    Args:
        device: the treadmill, as found by a scan (or the simulator's ``ble_device``).
        clock: stamps events with the session's time.
        client_backend: a bleak client backend class; ``None`` for the platform's.
        quirks: client-side settings for treadmills that deviate from FTMS.
        command_timeout_s: how long a command waits for the treadmill's answer.
        connect_attempts: connection attempts before :meth:`connect` gives up.
    """

    def __init__(
        self,
        device: BLEDevice,
        *,
        clock: Clock,
        client_backend: type[BaseBleakClient] | None = None,
        quirks: ClientQuirks | None = None,
        command_timeout_s: float = DEFAULT_COMMAND_TIMEOUT_S,
        connect_attempts: int = 3,
    ) -> None:
        self._device = device
        self._events: EventStream[LinkEvent] = EventStream(droppable=droppable)
        self._clock = clock
        self._client_backend = client_backend
        self.quirks = quirks or ClientQuirks()
        self._connect_attempts = connect_attempts
        self._client: BleakClient | None = None
        self._info: MachineInfo | None = None
        self._closing = False
        self._in_context = False
        self._log = _log.bind(device=device.address)
        self._control = ControlPoint(
            client=lambda: self._client,
            machine_known=lambda: self._info is not None,
            command_timeout_s=command_timeout_s,
            log=self._log,
        )
        self._notifications = Notifications(
            events=self._events,
            clock=clock,
            quirks=self.quirks,
            answered=self._control.answered,
            log=self._log,
        )

    # -- as a context manager --------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Connect (as :meth:`connect`); the link is closed when the block ends.

        Reusable, not reentrant: a link already inside an ``async with`` refuses a
        second one. Leaving the block closes the link and nothing else: commanding
        the belt to stop first is the session's part (SAFETY.md invariant 6).

        Raises:
            LinkError: the treadmill cannot be reached.
        """
        if self._in_context:
            raise RuntimeError("this FtmsLink is already open in an async with block")
        self._in_context = True
        try:
            await self.connect()
        except BaseException:
            self._in_context = False
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.disconnect()
        finally:
            self._in_context = False

    # -- events ---------------------------------------------------------------------

    def events(self) -> AsyncIterator[LinkEvent]:
        """Every :data:`LinkEvent`, in order, as it comes; for one reader (the session).

        Bounded: when nobody reads, the oldest data frames and answers go first; a
        :class:`LinkConnected`, :class:`LinkLost` or :class:`StatusReceived` is never dropped.
        Cancelled, the reader stops; the events go on being kept for the next.
        """
        return self._events.events()

    # -- state ---------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Whether the link is up now."""
        return self._client is not None and self._client.is_connected

    @property
    def info(self) -> MachineInfo | None:
        """What the treadmill reported at the last connect."""
        return self._info

    @property
    def stop_pending(self) -> bool:
        """Whether a stop is waiting for the link to come back."""
        return self._control.stop_pending

    @property
    def decode_errors(self) -> int:
        """Values that could not be decoded so far (notified, or read at connect)."""
        return self._notifications.decode_errors

    # -- connection ----------------------------------------------------------------

    async def connect(self) -> MachineInfo:
        """Connect, read what the treadmill is, subscribe, and take control.

        A stop requested while the link was down goes out first: control is
        requested, then the stop written, before anything else.

        Raises:
            LinkError: when the treadmill cannot be reached after the attempts.

        Cancelled, it leaves the link disconnected.
        """
        self._closing = False
        try:
            client = await establish_connection(
                BleakClient,
                self._device,
                self._device.name or self._device.address,
                disconnected_callback=self._on_disconnected,
                max_attempts=self._connect_attempts,
                backend=self._client_backend,
            )
        except (BleakError, TimeoutError) as error:
            raise LinkError(
                f"cannot connect to {self._device.name or self._device.address}: {error}"
            ) from error
        self._client = client
        self._control.setting_up = True
        try:
            info = await self._set_up(client)
        except BaseException:
            await self._drop_client()
            raise
        finally:
            self._control.setting_up = False
        self._info = info
        self._log.info("link.up", name=info.name, has_control_point=info.has_control_point)
        self._events.put(LinkConnected(info, self._clock.now_s()))
        return info

    async def reconnect(
        self, *, max_attempts: int | None = None, first_delay_s: float = 0.5, max_delay_s: float = 8
    ) -> MachineInfo:
        """Connect again with capped, jittered exponential backoff.

        Args:
            max_attempts: give up (LinkError) after this many tries; ``None``: never.
            first_delay_s: wait before the second try.
            max_delay_s: the cap on the wait between tries.

        Cancelled, it stops trying.
        """
        attempt = 0
        delay_s = first_delay_s
        while True:
            attempt += 1
            try:
                return await self.connect()
            except LinkError as error:
                if max_attempts is not None and attempt >= max_attempts:
                    raise
                self._log.warning("link.reconnect_failed", attempt=attempt, error=str(error))
            await self._clock.sleep(delay_s * random.uniform(0.5, 1.0))
            delay_s = min(delay_s * 2, max_delay_s)

    async def disconnect(self) -> None:
        """Close the link on purpose (reported as :class:`LinkLost`)."""
        self._closing = True
        await self._drop_client()

    async def _drop_client(self) -> None:
        client = self._client
        if client is None:
            return
        with contextlib.suppress(BleakError, TimeoutError):
            async with asyncio.timeout(_DISCONNECT_TIMEOUT_S):
                await client.disconnect()
        if self._client is client:
            self._lost("closed")

    def _on_disconnected(self, client: BleakClient) -> None:
        if client is self._client:
            self._lost("closed" if self._closing else "disconnected")

    def _lost(self, reason: str) -> None:
        self._client = None
        self._control.lost(reason)
        self._notifications.reset()
        self._log.warning("link.lost", reason=reason)
        self._events.put(LinkLost(reason, self._clock.now_s()))

    async def _set_up(self, client: BleakClient) -> MachineInfo:
        services = client.services
        device_information: dict[str, str] = {}
        for field, uuid in _DEVICE_INFORMATION_FIELDS.items():
            if services.get_characteristic(uuid) is not None:
                raw = await client.read_gatt_char(uuid)
                device_information[field] = bytes(raw).decode("utf-8", "replace").strip("\0 ")

        features = await self._read_optional(client, uuids.FEATURES, decode_features)
        speed_range = await self._read_optional(client, uuids.SPEED_RANGE, decode_speed_range)
        incline_range = await self._read_optional(client, uuids.INCLINE_RANGE, decode_incline_range)
        if speed_range is not None:
            speed_range = self.quirks.speed_range_in_kmh(speed_range)

        control_point = services.get_characteristic(uuids.CONTROL_POINT)
        self._control.characteristic = control_point
        notifications = self._notifications
        if control_point is not None:
            await client.start_notify(control_point, notifications.on_control_point)
        if services.get_characteristic(uuids.MACHINE_STATUS) is not None:
            await client.start_notify(uuids.MACHINE_STATUS, notifications.on_machine_status)
        if services.get_characteristic(uuids.TRAINING_STATUS) is not None:
            await client.start_notify(uuids.TRAINING_STATUS, notifications.on_training_status)
        if services.get_characteristic(uuids.TREADMILL_DATA) is None:
            raise LinkError(
                f"{self._device.name or self._device.address} has no Treadmill Data "
                "characteristic: it is not an FTMS treadmill"
            )
        await client.start_notify(uuids.TREADMILL_DATA, notifications.on_treadmill_data)

        info = MachineInfo(
            name=client.name or self._device.name or self._device.address,
            address=self._device.address,
            device_information=device_information,
            features=features,
            speed_range=speed_range,
            incline_range=incline_range,
            has_control_point=self._control.characteristic is not None,
        )
        self._info = info
        # the control point as it is now: the link may have been lost meanwhile
        if self._control.characteristic is not None and self._control.stop_pending:
            await self._control.send_pending_stop()
        return info

    async def _read_optional[T](
        self, client: BleakClient, uuid: str, decode: Callable[[bytes], T]
    ) -> T | None:
        if client.services.get_characteristic(uuid) is None:
            return None
        raw = bytes(await client.read_gatt_char(uuid))
        try:
            return decode(raw)
        except DecodeError as error:
            self._notifications.read_failed(uuid, raw, error)
            return None

    # -- the stop path (the control point's: no lock, no answer awaited) ------------

    async def stop_now(self) -> None:
        """Write FTMS Stop (``08 01``) at once; never waits behind another command.

        If the link is down (or still being set up), or the write fails, the stop is
        remembered and written first thing when the link is back, after Request
        Control. The treadmill's answer is not awaited:
        the belt's own speed is the witness (the governor watches it).

        Cancelled, the stop stays pending for the next connection.
        """
        await self._control.stop_now()

    async def pause_now(self) -> None:
        """Write FTMS Pause (``08 02``) at once, like :meth:`stop_now`.

        Unlike a stop it is not kept for a reconnect: a lost link latches a stop. A
        pause halts the belt while the person turns round: it must not wait behind a
        speed command whose answer is slow or never comes.
        """
        await self._control.pause_now()

    # -- commands -----------------------------------------------------------------

    async def command(self, payload: bytes) -> ControlPointResponse:
        """Write one control point command and wait for its answer.

        Requests control first when we do not hold it (and again once on a
        "control not permitted" answer).

        Raises:
            CommandRefused: the treadmill has no control point, or the link is down.
            commands.CommandRejected: the treadmill answered with a failure result code.
            CommandTimeout: no answer came within the timeout.
        """
        return await self._control.command(payload)

    def control_lost(self) -> None:
        """Forget that we hold control (status 0xFF): the next command requests it again."""
        self._control.control_lost()

    async def request_control(self) -> ControlPointResponse:
        """Ask for control of the treadmill (FTMS 4.16.2.1)."""
        return await self.command(commands.request_control())

    async def start_resume(self) -> ControlPointResponse:
        """Start or resume the belt. Only ever after a person's action (governor's rule)."""
        return await self.command(commands.start_resume())

    async def pause(self) -> ControlPointResponse:
        """Pause the belt (``08 02``)."""
        return await self.command(commands.pause())

    async def reset(self) -> ControlPointResponse:
        """Reset the treadmill's control (drops our control)."""
        return await self.command(commands.reset())

    async def set_target_speed(self, speed_kmh: float) -> ControlPointResponse:
        """Set the belt's target speed, quantised to the treadmill's increment."""
        speed_range = self._info.speed_range if self._info else None
        payload = commands.set_target_speed(
            speed_kmh, speed_range=speed_range, unit=self.quirks.speed_unit
        )
        return await self.command(payload)

    async def set_target_inclination(self, incline_pct: float) -> ControlPointResponse:
        """Set the deck's target inclination, quantised to the treadmill's increment."""
        incline_range = self._info.incline_range if self._info else None
        return await self.command(
            commands.set_target_inclination(incline_pct, incline_range=incline_range)
        )

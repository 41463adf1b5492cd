"""The FTMS link: one BLE connection to a treadmill, and the only code that writes to it.

:class:`FtmsLink` is a facade in the manner of bleak's ``BleakClient``: the transport
is chosen in one place (the ``client_backend`` argument, ``None`` for the platform's
own Bluetooth stack, the simulator's backend for dry runs and tests), and everything
above it sees typed events and awaitable commands.

Two paths write to the control point:

* :meth:`FtmsLink.command` and its helpers take a lock, write, and wait for the
  treadmill's answer (an indication, or a notification on some machines) with a
  timeout. One procedure at a time, as FTMS asks.
* :meth:`FtmsLink.stop_now` takes no lock and waits for no answer: it writes Stop
  (``08 01``) at once, even while another command is still waiting for an answer
  that may never come. If the link is down, the stop is remembered and written the
  moment the link is back: right after control is requested again, before anything
  else (a new connection holds no control, and a treadmill refuses a stop from a
  client without it). Whether the belt really stops is judged from its data by the
  governor, not from this write.

Bleak's callbacks only decode and hand off: each value becomes one event in the
link's own stream (:class:`~treadmill_ctl.ftms.event_stream.EventStream`), which the
session reads with ``async for event in link.events()``. The stream is bounded and
never drops a link going down or coming back, nor a machine status; the stop path
never waits on it (:meth:`FtmsLink.stop_now` writes whatever the stream holds).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self

import structlog
from bleak import BleakClient
from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bleak_retry_connector import establish_connection

from treadmill_ctl.errors import (
    CommandRefused,
    CommandTimeout,
    DecodeError,
    LinkError,
)
from treadmill_ctl.ftms import commands, uuids
from treadmill_ctl.ftms.decode import (
    TreadmillDataAssembler,
    decode_features,
    decode_incline_range,
    decode_machine_status,
    decode_speed_range,
    decode_training_status,
    parse_control_point_response,
)
from treadmill_ctl.ftms.event_stream import EventStream
from treadmill_ctl.ftms.quirks import ClientQuirks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from types import TracebackType

    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.device import BLEDevice

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.ftms.observations import (
        ControlPointResponse,
        InclineRange,
        MachineFeatures,
        MachineStatus,
        SpeedRange,
        TrainingStatus,
        TreadmillData,
    )

_log = structlog.get_logger("treadmill_ctl.ftms.link")

DEFAULT_COMMAND_TIMEOUT_S: Final = 2.0
"""How long a command waits for its answer (pyftms waits the same)."""

MUTE_AFTER_UNANSWERED: Final = 2
"""After this many commands in a row without an answer, the treadmill is taken as
one that never answers (KingSmith MC-21, the ``cp-mute`` quirk) ..."""

MUTE_ANSWER_TIMEOUT_S: Final = 0.3
"""... and commands wait only this long for an answer, so a mute treadmill is not
driven two seconds late; any answer restores the full time-out."""

PENDING_STOP_CONTROL_WAIT_S: Final = 0.5
"""On a new connection with a stop pending, the longest wait for Request Control's
answer before the stop is written anyway: the belt may be running, and a treadmill
that answers at all answers well within it."""

STOP_WRITE_TIMEOUT_S: Final = 1.0
"""The stop write itself must not hang the caller; the governor verifies the belt."""

_DISCONNECT_TIMEOUT_S: Final = 5.0
"""A disconnect the stack does not confirm in this time is taken as done."""

_BUSY_RETRY_S: Final = 0.02
"""Pause before writing again to a control point still busy with its last answer."""

_DEVICE_INFORMATION_FIELDS: Final = {
    "manufacturer": uuids.MANUFACTURER_NAME,
    "model": uuids.MODEL_NUMBER,
    "serial_number": uuids.SERIAL_NUMBER,
    "hardware_revision": uuids.HARDWARE_REVISION,
    "firmware_revision": uuids.FIRMWARE_REVISION,
    "software_revision": uuids.SOFTWARE_REVISION,
}


@dataclass(frozen=True, slots=True)
class MachineInfo:
    """What the treadmill told us about itself when we connected."""

    name: str
    address: str
    device_information: dict[str, str]
    features: MachineFeatures | None
    speed_range: SpeedRange | None
    incline_range: InclineRange | None
    has_control_point: bool


@dataclass(frozen=True, slots=True)
class LinkConnected:
    """The link is connected and subscribed; commands can be sent.

    What the link reports, with the machine's information and when; the session
    tells the governor only that the link is up (``safety.observations.LinkUp``).
    """

    info: MachineInfo
    at_s: float


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The link was lost (or closed); nothing reaches the treadmill until it is back.

    With the reason and when; the governor is told only ``safety.observations.LinkDown``.
    """

    reason: str
    at_s: float


@dataclass(frozen=True, slots=True)
class DataReceived:
    """A complete, valid Treadmill Data record (split records already merged)."""

    data: TreadmillData
    at_s: float


@dataclass(frozen=True, slots=True)
class StatusReceived:
    """A Fitness Machine Status notification."""

    status: MachineStatus
    at_s: float


@dataclass(frozen=True, slots=True)
class TrainingStatusReceived:
    """A Training Status value (read at connect, then notified)."""

    status: TrainingStatus
    at_s: float


@dataclass(frozen=True, slots=True)
class AnswerReceived:
    """A control point answer (``80 <op> <result>``), matched or not to a command."""

    response: ControlPointResponse
    at_s: float


@dataclass(frozen=True, slots=True)
class DecodeFailed:
    """A notification that could not be decoded: counted, logged, never a command."""

    characteristic: str
    raw: bytes
    error: str
    at_s: float


type LinkEvent = (
    LinkConnected
    | LinkLost
    | DataReceived
    | StatusReceived
    | TrainingStatusReceived
    | AnswerReceived
    | DecodeFailed
)


def _droppable(event: LinkEvent) -> bool:
    """What a full event stream may drop: what the next of its kind replaces."""
    return isinstance(event, DataReceived | AnswerReceived | TrainingStatusReceived | DecodeFailed)


def _retrieved(task: asyncio.Task[object]) -> None:
    """Take a finished write's error, so asyncio never reports it as never retrieved.

    A write outliving its cancelled caller fails unseen on purpose: the caller has
    already given up on it (and says so), and the belt's own data is the witness.
    """
    if not task.cancelled():
        task.exception()


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
        self._events: EventStream[LinkEvent] = EventStream(droppable=_droppable)
        self._clock = clock
        self._client_backend = client_backend
        self.quirks = quirks or ClientQuirks()
        self._command_timeout_s = command_timeout_s
        self._connect_attempts = connect_attempts
        self._client: BleakClient | None = None
        self._control_point: BleakGATTCharacteristic | None = None
        self._info: MachineInfo | None = None
        self._command_lock = asyncio.Lock()
        self._answers: dict[commands.ControlOpCode, asyncio.Future[ControlPointResponse]] = {}
        self._has_control = False
        self._stop_pending = False
        self._setting_up = False
        self._closing = False
        self._in_context = False
        self._assembler = TreadmillDataAssembler()
        self.decode_errors = 0
        self._unanswered = 0
        self._log = _log.bind(device=device.address)

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
        return self._stop_pending

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
        self._setting_up = True
        try:
            info = await self._set_up(client)
        except BaseException:
            await self._drop_client()
            raise
        finally:
            self._setting_up = False
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
        self._control_point = None
        self._has_control = False
        self._assembler = TreadmillDataAssembler()
        for future in self._answers.values():
            if not future.done():
                future.set_exception(LinkError(f"link lost ({reason})"))
        self._answers.clear()
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

        self._control_point = services.get_characteristic(uuids.CONTROL_POINT)
        if self._control_point is not None:
            await client.start_notify(self._control_point, self._on_control_point)
        if services.get_characteristic(uuids.MACHINE_STATUS) is not None:
            await client.start_notify(uuids.MACHINE_STATUS, self._on_machine_status)
        if services.get_characteristic(uuids.TRAINING_STATUS) is not None:
            await client.start_notify(uuids.TRAINING_STATUS, self._on_training_status)
        if services.get_characteristic(uuids.TREADMILL_DATA) is None:
            raise LinkError(
                f"{self._device.name or self._device.address} has no Treadmill Data "
                "characteristic: it is not an FTMS treadmill"
            )
        await client.start_notify(uuids.TREADMILL_DATA, self._on_treadmill_data)

        info = MachineInfo(
            name=client.name or self._device.name or self._device.address,
            address=self._device.address,
            device_information=device_information,
            features=features,
            speed_range=speed_range,
            incline_range=incline_range,
            has_control_point=self._control_point is not None,
        )
        self._info = info
        if self._control_point is not None and self._stop_pending:
            await self._send_pending_stop()
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
            self.decode_errors += 1
            self._log.warning("decode.failed", characteristic=uuid, raw=raw.hex(), error=str(error))
            return None

    async def _send_pending_stop(self) -> None:
        """Write the stop that waited for the link: control first, then the stop.

        A new connection holds no control, and a treadmill refuses commands from a
        client without it ("control not permitted"), so Request Control goes first.
        Its answer (or, for a treadmill that never answers, at most
        :data:`PENDING_STOP_CONTROL_WAIT_S`) is the only wait; the stop is written
        whatever the answer, since some machines obey without granting control.
        """
        # eager: Request Control goes out before anything is logged about it
        exchange = asyncio.Task(
            self._exchange(
                commands.request_control(), answer_timeout_s=PENDING_STOP_CONTROL_WAIT_S
            ),
            loop=asyncio.get_running_loop(),
            name="link.request_control",
            eager_start=True,
        )
        self._log.warning("command.stop_on_reconnect")
        try:
            response = await exchange
        except CommandTimeout:
            self._log.warning("control.unconfirmed", reason="no answer to request control")
        except (CommandRefused, LinkError) as error:
            self._log.error("command.stop_failed", error=str(error))
            return
        else:
            if response.result is not commands.ResultCode.SUCCESS:
                self._log.warning(
                    "control.unconfirmed",
                    reason=f"request control answered {response.result.name}",
                )
        client, control_point = self._client, self._control_point
        if client is not None and control_point is not None:
            await self._write_stop(client, control_point)

    # -- notifications (bleak callbacks: decode, hand off, return) -----------------

    def _on_treadmill_data(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        raw = bytes(value)
        try:
            data = self._assembler.feed(raw)
        except DecodeError as error:
            self._decode_failed("treadmill-data", raw, error)
            return
        if data is not None:
            self._events.put(DataReceived(self.quirks.treadmill_data_in_kmh(data), self._now()))

    def _on_machine_status(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        raw = bytes(value)
        try:
            status = decode_machine_status(raw)
        except DecodeError as error:
            self._decode_failed("machine-status", raw, error)
            return
        self._events.put(StatusReceived(self.quirks.machine_status_in_kmh(status), self._now()))

    def _on_training_status(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        raw = bytes(value)
        try:
            status = decode_training_status(raw)
        except DecodeError as error:
            self._decode_failed("training-status", raw, error)
            return
        self._events.put(TrainingStatusReceived(status, self._now()))

    def _on_control_point(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        raw = bytes(value)
        try:
            response = parse_control_point_response(raw)
        except DecodeError as error:
            self._decode_failed("control-point", raw, error)
            return
        future = self._answers.pop(response.request_op_code, None)
        if future is not None and not future.done():
            future.set_result(response)
        self._events.put(AnswerReceived(response, self._now()))

    def _decode_failed(self, characteristic: str, raw: bytes, error: DecodeError) -> None:
        self.decode_errors += 1
        self._log.warning(
            "decode.failed", characteristic=characteristic, raw=raw.hex(), error=str(error)
        )
        self._events.put(DecodeFailed(characteristic, raw, str(error), self._now()))

    def _now(self) -> float:
        return self._clock.now_s()

    # -- the stop path --------------------------------------------------------------

    async def stop_now(self) -> None:
        """Write FTMS Stop (``08 01``) at once; never waits behind another command.

        If the link is down (or still being set up), or the write fails, the stop is
        remembered and written first thing when the link is back, after Request
        Control. The treadmill's answer is not awaited:
        the belt's own speed is the witness (the governor watches it).

        Cancelled, the stop stays pending for the next connection.
        """
        if self._setting_up:
            # Connected but not yet set up: the set-up writes the stop itself, right
            # after Request Control (a stop before it would be refused).
            self._stop_pending = True
            self._log.warning("command.stop_deferred", reason="connecting")
            return
        client, control_point = self._client, self._control_point
        if client is not None and client.is_connected and control_point is None:
            # A treadmill without a control point cannot be stopped from here at all.
            self._log.error("command.stop_impossible", reason="no control point")
            return
        self._stop_pending = True
        if client is None or control_point is None or not client.is_connected:
            self._log.warning("command.stop_deferred", reason="link down")
            return
        await self._write_stop(client, control_point)

    async def _write_stop(
        self, client: BleakClient, control_point: BleakGATTCharacteristic
    ) -> None:
        """Write Stop within its bound; it stays pending if the write fails."""
        try:
            async with asyncio.timeout(STOP_WRITE_TIMEOUT_S):
                await self._write_control_point(client, control_point, commands.stop())
        except (BleakError, TimeoutError) as error:
            self._log.error("command.stop_failed", error=str(error) or type(error).__name__)
            return
        self._stop_pending = False
        self._log.info("command.sent", command="stop", path="priority")

    async def pause_now(self) -> None:
        """Write FTMS Pause (``08 02``) at once, like :meth:`stop_now`.

        Unlike a stop it is not kept for a reconnect: a lost link latches a stop. A
        pause halts the belt while the person turns round: it must not wait behind a
        speed command whose answer is slow or never comes.
        """
        client, control_point = self._client, self._control_point
        if client is None or control_point is None or not client.is_connected:
            self._log.warning("command.pause_dropped", reason="link down")
            return
        try:
            async with asyncio.timeout(STOP_WRITE_TIMEOUT_S):
                await self._write_control_point(client, control_point, commands.pause())
        except (BleakError, TimeoutError) as error:
            self._log.error("command.pause_failed", error=str(error) or type(error).__name__)
            return
        self._log.info("command.sent", command="pause", path="priority")

    @staticmethod
    async def _write_control_point(
        client: BleakClient, control_point: BleakGATTCharacteristic, payload: bytes
    ) -> None:
        """Write with response, again every few milliseconds while the treadmill is busy.

        A treadmill still indicating its previous answer refuses the write with
        "procedure already in progress"; that clears by itself. The caller bounds the
        whole with a timeout.

        A write on the wire is never cut off: cancelled (a halt dropping a speed, a
        timeout), the caller stops waiting but the ATT request runs to its response.
        Cut off, its late response would be taken as the answer to the next write (a
        stop believed written that the treadmill had refused as "busy").
        """
        while True:
            try:
                # eager: the write starts now, not on the loop's next turn (a stop's
                # write must not wait behind what the caller does next)
                write = asyncio.Task(
                    client.write_gatt_char(control_point, payload, response=True),
                    loop=asyncio.get_running_loop(),
                    name="link.control_point_write",
                    eager_start=True,
                )
                write.add_done_callback(_retrieved)  # its failure may outlive the caller
                await asyncio.shield(write)
            except BleakGATTProtocolError as error:
                if error.code is not BleakGATTProtocolErrorCode.PROCEDURE_ALREADY_IN_PROGRESS:
                    raise
                await asyncio.sleep(_BUSY_RETRY_S)
            else:
                return

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
        op_code = commands.ControlOpCode(payload[0])
        async with self._command_lock:
            if op_code is not commands.ControlOpCode.REQUEST_CONTROL and not self._has_control:
                await self._take_control()
            response = await self._exchange(payload)
            if response.result is commands.ResultCode.CONTROL_NOT_PERMITTED and (
                op_code is not commands.ControlOpCode.REQUEST_CONTROL
            ):
                self._has_control = False
                await self._take_control()
                response = await self._exchange(payload)
        if response.result is not commands.ResultCode.SUCCESS:
            raise commands.CommandRejected(
                f"treadmill answered {op_code.name.lower()} with {response.result.name.lower()}",
                result_code=response.result,
            )
        return response

    async def _take_control(self) -> None:
        """Request control before a command, and go on with the command whatever comes.

        Some treadmills refuse the request yet obey (KingSmith MC-21 answers
        ``80 00 04`` and then starts), others never answer at all: the command itself,
        and the belt's own data, tell whether the treadmill obeys. Control is asked for
        again only for a reason: status 0xFF, a reset, a reconnect, or a command
        answered "control not permitted".
        """
        try:
            response = await self._exchange(commands.request_control())
        except CommandTimeout:
            self._log.warning("control.unconfirmed", reason="no answer to request control")
        else:
            if response.result is commands.ResultCode.SUCCESS:
                return
            self._log.warning(
                "control.unconfirmed", reason=f"request control answered {response.result.name}"
            )
        self._has_control = True

    async def _exchange(
        self, payload: bytes, *, answer_timeout_s: float | None = None
    ) -> ControlPointResponse:
        """Write one command and wait for its answer.

        ``answer_timeout_s`` shortens the wait for the answer (never lengthens it).
        """
        client, control_point = self._client, self._control_point
        op_code = commands.ControlOpCode(payload[0])
        if control_point is None and self._info is not None:
            raise CommandRefused("this treadmill has no control point: it can only be watched")
        if client is None or control_point is None or not client.is_connected:
            raise CommandRefused(f"cannot send {op_code.name.lower()}: the link is down")
        future: asyncio.Future[ControlPointResponse] = asyncio.get_running_loop().create_future()
        self._answers[op_code] = future
        try:
            async with asyncio.timeout(self._command_timeout_s):
                await self._write_control_point(client, control_point, payload)
            self._log.debug("command.sent", command=op_code.name.lower(), payload=payload.hex())
            wait_s = (
                MUTE_ANSWER_TIMEOUT_S
                if self._unanswered >= MUTE_AFTER_UNANSWERED
                else self._command_timeout_s
            )
            if answer_timeout_s is not None:
                wait_s = min(wait_s, answer_timeout_s)
            async with asyncio.timeout(wait_s):
                response = await future
        except TimeoutError:
            self._unanswered += 1
            if self._unanswered == MUTE_AFTER_UNANSWERED:
                self._log.warning(
                    "link.control_point_mute",
                    detail="commands go unanswered: the belt's own data is the only witness",
                )
            raise CommandTimeout(
                f"no answer to {op_code.name.lower()} within {wait_s:g} s"
            ) from None
        except BleakError as error:
            raise LinkError(f"writing {op_code.name.lower()} failed: {error}") from error
        finally:
            if self._answers.get(op_code) is future:
                del self._answers[op_code]
        self._unanswered = 0
        if op_code is commands.ControlOpCode.REQUEST_CONTROL:
            self._has_control = response.result is commands.ResultCode.SUCCESS
        elif op_code is commands.ControlOpCode.RESET:
            self._has_control = False
        self._log.info(
            "command.answered", command=op_code.name.lower(), result=response.result.name.lower()
        )
        return response

    def control_lost(self) -> None:
        """Forget that we hold control (status 0xFF): the next command requests it again."""
        self._has_control = False

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

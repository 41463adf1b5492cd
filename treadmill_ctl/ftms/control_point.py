"""The link's control point: every write to the treadmill, and who holds control.

Two paths write to the control point:

* :meth:`ControlPoint.command` takes a lock, writes, and waits for the treadmill's
  answer (an indication, or a notification on some machines) with a timeout. One
  procedure at a time, as FTMS asks. Control is requested first when we do not hold
  it; a treadmill that goes unanswered twice in a row is then waited for only briefly.
* :meth:`ControlPoint.stop_now` takes no lock and waits for no answer: it writes Stop
  (``08 01``) at once, even while another command is still waiting for an answer
  that may never come (:meth:`ControlPoint.pause_now` writes Pause the same way). If
  the link is down, the stop is remembered and written the moment the link is back:
  right after control is requested again, before anything else
  (:meth:`ControlPoint.send_pending_stop`; a new connection holds no control, and a
  treadmill refuses a stop from a client without it). Whether the belt really stops
  is judged from its data by the governor, not from this write.

A write on the wire is never cut off (:func:`write_control_point`): the caller may
stop waiting, the ATT request runs to its response.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode

from treadmill_ctl.errors import CommandRefused, CommandTimeout, LinkError
from treadmill_ctl.ftms import commands

if TYPE_CHECKING:
    from collections.abc import Callable

    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from structlog.typing import FilteringBoundLogger

    from treadmill_ctl.ftms.observations import ControlPointResponse

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT_S",
    "MUTE_AFTER_UNANSWERED",
    "MUTE_ANSWER_TIMEOUT_S",
    "PENDING_STOP_CONTROL_WAIT_S",
    "STOP_WRITE_TIMEOUT_S",
    "ControlPoint",
    "write_control_point",
]

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

_BUSY_RETRY_S: Final = 0.02
"""Pause before writing again to a control point still busy with its last answer."""


def _retrieved(task: asyncio.Task[object]) -> None:
    """Take a finished write's error, so asyncio never reports it as never retrieved.

    A write outliving its cancelled caller fails unseen on purpose: the caller has
    already given up on it (and says so), and the belt's own data is the witness.
    """
    if not task.cancelled():
        task.exception()


async def write_control_point(
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


class ControlPoint:
    """The control point of one link (see the module's docstring).

    The link tells it what it writes to: :attr:`characteristic` when a connection is
    set up (``None`` for a treadmill that can only be watched), :attr:`setting_up`
    while it is, and :meth:`lost` when the connection goes.

    Args:
        client: the link's client now (``None`` while the link is down).
        machine_known: whether the link has set up a connection once (a treadmill
            without a control point is then known to be one).
        command_timeout_s: how long a command waits for the treadmill's answer.
        log: the link's logger.
    """

    def __init__(
        self,
        *,
        client: Callable[[], BleakClient | None],
        machine_known: Callable[[], bool],
        command_timeout_s: float,
        log: FilteringBoundLogger,
    ) -> None:
        self._client = client
        self._machine_known = machine_known
        self._command_timeout_s = command_timeout_s
        self._log = log
        self.characteristic: BleakGATTCharacteristic | None = None
        """The Fitness Machine Control Point of the connection, once set up."""
        self.setting_up = False
        """Whether a new connection is being set up (a stop then waits for it)."""
        self._command_lock = asyncio.Lock()
        self._answers: dict[commands.ControlOpCode, asyncio.Future[ControlPointResponse]] = {}
        self._has_control = False
        self._stop_pending = False
        self._unanswered = 0

    @property
    def stop_pending(self) -> bool:
        """Whether a stop is waiting for the link to come back."""
        return self._stop_pending

    def lost(self, reason: str) -> None:
        """The connection went: no control point, no control, no answer will come."""
        self.characteristic = None
        self._has_control = False
        for future in self._answers.values():
            if not future.done():
                future.set_exception(LinkError(f"link lost ({reason})"))
        self._answers.clear()

    def answered(self, response: ControlPointResponse) -> None:
        """An answer came: it settles the command waiting for it, if any."""
        future = self._answers.pop(response.request_op_code, None)
        if future is not None and not future.done():
            future.set_result(response)

    # -- the stop path --------------------------------------------------------------

    async def stop_now(self) -> None:
        """Write FTMS Stop (``08 01``) at once; never waits behind another command.

        If the link is down (or still being set up), or the write fails, the stop is
        remembered and written first thing when the link is back, after Request
        Control. The treadmill's answer is not awaited:
        the belt's own speed is the witness (the governor watches it).

        Cancelled, the stop stays pending for the next connection.
        """
        if self.setting_up:
            # Connected but not yet set up: the set-up writes the stop itself, right
            # after Request Control (a stop before it would be refused).
            self._stop_pending = True
            self._log.warning("command.stop_deferred", reason="connecting")
            return
        client, control_point = self._client(), self.characteristic
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
                await write_control_point(client, control_point, commands.stop())
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
        client, control_point = self._client(), self.characteristic
        if client is None or control_point is None or not client.is_connected:
            self._log.warning("command.pause_dropped", reason="link down")
            return
        try:
            async with asyncio.timeout(STOP_WRITE_TIMEOUT_S):
                await write_control_point(client, control_point, commands.pause())
        except (BleakError, TimeoutError) as error:
            self._log.error("command.pause_failed", error=str(error) or type(error).__name__)
            return
        self._log.info("command.sent", command="pause", path="priority")

    async def send_pending_stop(self) -> None:
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
        client, control_point = self._client(), self.characteristic
        if client is not None and control_point is not None:
            await self._write_stop(client, control_point)

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

    def _writable(
        self, op_code: commands.ControlOpCode
    ) -> tuple[BleakClient, BleakGATTCharacteristic]:
        """The client and the control point to write ``op_code`` to, or why there are none."""
        client, control_point = self._client(), self.characteristic
        if client is None or not client.is_connected:
            # First: a lost link forgets its control point, and a treadmill that has one
            # must not read as one that can only be watched.
            raise CommandRefused(f"cannot send {op_code.name.lower()}: the link is down")
        if control_point is None and self._machine_known():
            raise CommandRefused("this treadmill has no control point: it can only be watched")
        if control_point is None:
            raise CommandRefused(f"cannot send {op_code.name.lower()}: the link is down")
        return client, control_point

    async def _exchange(
        self, payload: bytes, *, answer_timeout_s: float | None = None
    ) -> ControlPointResponse:
        """Write one command and wait for its answer.

        ``answer_timeout_s`` shortens the wait for the answer (never lengthens it).
        """
        op_code = commands.ControlOpCode(payload[0])
        client, control_point = self._writable(op_code)
        future: asyncio.Future[ControlPointResponse] = asyncio.get_running_loop().create_future()
        self._answers[op_code] = future
        try:
            async with asyncio.timeout(self._command_timeout_s):
                await write_control_point(client, control_point, payload)
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

"""The command writer: every command the governor decides, written to the link in order.

:class:`CommandWriter` owns the queue of commands that go through the link's one
procedure at a time (speed, incline, start) and the halts (stop, pause) that go ahead
of everything:

* commands are written in order by one task (:meth:`CommandWriter.run`), so a slow or
  silent treadmill delays only the next write, never the control loop; a newer speed
  replaces one still waiting (a slow treadmill is not fed a backlog of stale ramp
  steps), except the starting speed right after a start;
* a halt (:meth:`CommandWriter.halt`) drops every queued command and ends, at once,
  the write still waiting its turn (the command lock, Request Control's answer,
  control being taken back): no speed or start decided before a pause or a stop
  reaches the treadmill after it (SAFETY.md invariants 4 and 5). The write is ended
  with ``Task.cancel()`` on the spot, not by a timeout rescheduled to now (that fires
  on the loop's next turn, after a wake-up already scheduled, and the speed would go);
* a write already on the wire is never cut off: the link lets the ATT request run to
  its response (cut, its late response was taken for the stop's, and the belt ran
  on); only the wait for the treadmill's answer ends;
* the halt's own write starts eagerly (:meth:`SessionTasks.start_now
  <treadmill_ctl.session.tasks.SessionTasks.start_now>`), before anything about it is
  logged, shown or recorded (SAFETY.md invariant 6).

The ramp's pace is not here: the governor decides each step by the time since the
last speed was written (``SpeedWritten``), reported by ``on_speed_written`` once the
write is done (its answer come, or given up), so that a step is never sized for time
the write spent waiting inside the link.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Protocol

import structlog

from treadmill_ctl.errors import CommandRefused, CommandTimeout, LinkError
from treadmill_ctl.ftms.commands import CommandRejected
from treadmill_ctl.safety import SendIncline, SendSpeed, SendStart, SendStop

if TYPE_CHECKING:
    from collections.abc import Callable

    from treadmill_ctl.safety import Command, SendPause
    from treadmill_ctl.session.tasks import SessionTasks

__all__ = ["CommandLink", "CommandWriter"]

_log = structlog.get_logger("treadmill_ctl.session")


class CommandLink(Protocol):
    """What the writer needs of the treadmill's link (:class:`FtmsLink` is one)."""

    async def set_target_speed(self, speed_kmh: float, /) -> object:
        """Set the belt's target speed; waits for the treadmill's answer."""
        ...

    async def set_target_inclination(self, incline_pct: float, /) -> object:
        """Set the deck's target incline; waits for the treadmill's answer."""
        ...

    async def start_resume(self) -> object:
        """Start or resume the belt; waits for the treadmill's answer."""
        ...

    async def stop_now(self) -> None:
        """Write Stop at once, ahead of any command (kept for a reconnect)."""
        ...

    async def pause_now(self) -> None:
        """Write Pause at once, ahead of any command."""
        ...


class CommandWriter:
    """Writes the governor's commands to the link (see the module's docstring).

    Args:
        link: The treadmill's link.
        tasks: The session's task owner (halts start eagerly in its group).
        on_speed_written: Called with each speed once its write is done (answered or not).
        latched: Whether the governor is latched now (then nothing but a stop goes).
    """

    def __init__(
        self,
        link: CommandLink,
        *,
        tasks: SessionTasks,
        on_speed_written: Callable[[float], None],
        latched: Callable[[], bool],
    ) -> None:
        self._link = link
        self._tasks = tasks
        self._on_speed_written = on_speed_written
        self._latched = latched
        self._queue: deque[Command] = deque()
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._writing: Command | None = None
        self._dropping = False
        self._stop: asyncio.Task[None] | None = None

    @property
    def queued(self) -> tuple[Command, ...]:
        """The commands waiting to be written, in order."""
        return tuple(self._queue)

    @property
    def stop_in_flight(self) -> bool:
        """Whether the last stop's write is still on its way."""
        return self._stop is not None and not self._stop.done()

    # -- what the session asks --------------------------------------------------------

    def queue(self, command: Command) -> None:
        """Queue a speed, incline or start, to be written after those before it."""
        if isinstance(command, SendSpeed):
            # A newer ramp step replaces a speed still waiting: only the latest matters.
            # The starting speed right after a Start stays: every start begins there.
            for index, queued in enumerate(self._queue):
                before = self._queue[index - 1] if index > 0 else self._writing
                if isinstance(queued, SendSpeed) and not isinstance(before, SendStart):
                    self._queue[index] = command
                    self._ready.set()
                    return
        self._queue.append(command)
        self._ready.set()

    def halt(self, halt: SendStop | SendPause) -> asyncio.Task[None]:
        """Drop everything queued and the write waiting its turn; write the halt now.

        Returns the halt's write, already started (it runs up to the radio before this
        returns).
        """
        self._queue.clear()
        writer = self._writer
        if self._writing is not None and writer is not None and not self._dropping:
            if writer is asyncio.current_task():
                pass  # decided inside the write itself: it checks the halt count after
            else:
                self._dropping = True
                writer.cancel()  # ends its wait now, before any wake-up already due
        if isinstance(halt, SendStop):
            self._stop = self._tasks.start_now(self._link.stop_now(), "session.stop")
            return self._stop
        return self._tasks.start_now(self._link.pause_now(), "session.pause")

    def final_stop(self) -> asyncio.Task[None]:
        """The stop at the session's end, written now (the queue is over)."""
        self._queue.clear()
        self._stop = self._tasks.start_now(self._link.stop_now(), "session.final_stop")
        return self._stop

    # -- the writer task ------------------------------------------------------------

    async def run(self) -> None:
        """Write queued commands in order, until cancelled."""
        self._writer = asyncio.current_task()
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._queue:
                    await self._write_next()
        finally:
            self._writer = None

    async def _write_next(self) -> None:
        self._writing = command = self._queue.popleft()
        try:
            await self._write(command)
        except asyncio.CancelledError:
            writer = self._writer
            if not self._dropping or writer is None or writer.uncancel() > 0:
                raise  # the session's own cancellation, not a halt's
            _log.info("command.dropped", command=type(command).__name__, reason="halt")
        finally:
            self._writing = None
            self._dropping = False

    async def _write(self, command: Command) -> None:
        if self._latched():
            _log.warning("command.dropped", command=type(command).__name__, reason="latched")
            return
        try:
            match command:
                case SendSpeed(speed_kmh=speed_kmh):
                    # Reported once the write is done (answered, refused or timed out),
                    # never before: the governor sizes the next ramp step by the time
                    # since, and a write the treadmill made wait (Request Control asked
                    # again first) would otherwise be followed by a step sized for time
                    # the treadmill never had (the ramp as the treadmill receives it).
                    # A halt that ends the write resets the ramp itself.
                    try:
                        await self._link.set_target_speed(speed_kmh)
                    except (CommandRejected, CommandTimeout, CommandRefused, LinkError):
                        self._on_speed_written(speed_kmh)
                        raise
                    self._on_speed_written(speed_kmh)
                case SendIncline(incline_pct=incline_pct):
                    await self._link.set_target_inclination(incline_pct)
                case SendStart():
                    await self._link.start_resume()
                case _:
                    pass
        except (CommandRejected, CommandTimeout, CommandRefused, LinkError) as error:
            _log.warning("command.failed", command=type(command).__name__, error=str(error))

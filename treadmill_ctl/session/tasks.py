"""Who owns each of a session's tasks: one TaskGroup, for the whole of ``run()``.

Every task a session starts is a named task of one :class:`asyncio.TaskGroup`, entered
by :meth:`SessionTasks.group` around the whole session (connecting, the control loop
and the shutdown); the group's end waits for every one of them. Two ways in:

* :meth:`SessionTasks.start` for the helpers (the link's event pump, the command
  writer, the reconnection, the heart-rate strap): started on the loop's next turn,
  like any task; whoever starts one cancels it when its part of the session is over.
* :meth:`SessionTasks.start_now` for a halt's write (a stop or a pause): started
  *eagerly*, so the write runs up to the radio before the caller's next line (the stop
  goes to the link before the batch it came in is logged, shown or queued; SAFETY.md
  invariant 6). A group's ``create_task`` takes no ``eager_start`` before Python
  3.14, so the loop's task factory is swapped, for that one call and that one
  coroutine, for one that starts it eagerly (``asyncio.Task(..., eager_start=True)``);
  every other task created meanwhile is created as before. A halt's write never fails
  the group: an error the link did not expect is logged, never raised into the
  session (the stop must not end the stop path).

A halt is never dropped for want of a group: before the session's group is entered,
after it has ended, or while it is shutting down (a helper failed and the group is
cancelling the rest, and refuses new tasks), the write starts eagerly all the same,
is kept here until done, and :meth:`SessionTasks.wait_halts` waits for it like for
the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    import contextvars
    from collections.abc import AsyncIterator, Coroutine

__all__ = ["SessionTasks"]

_log = structlog.get_logger("treadmill_ctl.session")


class SessionTasks:
    """The owner of a session's tasks (see the module's docstring)."""

    def __init__(self) -> None:
        self._group: asyncio.TaskGroup | None = None
        self._halts: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def group(self) -> AsyncIterator[None]:
        """The session's TaskGroup, for the block; its end waits for every task in it."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            try:
                yield
            finally:
                self._group = None

    def start(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A helper task in the group, started on the loop's next turn.

        Raises:
            RuntimeError: There is no group (only a halt may run outside one).
        """
        if self._group is None:
            coro.close()
            raise RuntimeError(f"{name}: the session's tasks run in its group only")
        return self._group.create_task(coro, name=name)

    def start_now(self, write: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A halt's write, started eagerly: it runs up to its first wait before this returns."""
        group = self._group
        task: asyncio.Task[None] | None = None
        if group is not None:
            with contextlib.suppress(RuntimeError):  # shutting down: it refuses new tasks
                task = _create_eagerly(group, _guarded(write, name), name)
        if task is None:
            task = asyncio.Task(
                _guarded(write, name), loop=asyncio.get_running_loop(), name=name, eager_start=True
            )
            _log.info("session.halt_outside_group", task=name)
        if not task.done():
            self._halts.add(task)
            task.add_done_callback(self._halts.discard)
        return task

    async def wait_halts(self) -> None:
        """Wait for every halt's write still running (a stop or a pause on its way)."""
        for task in list(self._halts):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)


def _create_eagerly(
    group: asyncio.TaskGroup, coro: Coroutine[Any, Any, None], name: str
) -> asyncio.Task[None]:
    """``group.create_task(coro)``, with ``coro`` (and only it) started eagerly.

    Raises:
        RuntimeError: The group refuses new tasks (it closed ``coro``).
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(
        loop: asyncio.AbstractEventLoop,
        other: Coroutine[Any, Any, Any],
        *,
        context: contextvars.Context | None = None,
    ) -> asyncio.Future[Any]:
        if other is coro:
            return asyncio.Task(other, loop=loop, eager_start=True, context=context)
        if previous is None:
            return asyncio.Task(other, loop=loop, context=context)
        if context is None:
            return previous(loop, other)
        # the loop passes a context as a keyword (typeshed's protocol does not say so)
        return previous(loop, other, context=context)  # type: ignore[call-arg]

    loop.set_task_factory(factory)
    try:
        return group.create_task(coro, name=name)
    finally:
        loop.set_task_factory(previous)


async def _guarded(write: Coroutine[Any, Any, None], name: str) -> None:
    """Run a halt's write; an error the link did not expect is logged, not raised."""
    try:
        await write
    except Exception as error:  # noqa: BLE001 - the stop path must not end the session
        _log.error("command.halt_failed", task=name, exc_info=error)

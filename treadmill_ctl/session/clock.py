"""The clock's implementations, and event loops whose time runs faster than the wall clock.

Everything in a session reads time from one place, a
:class:`~treadmill_ctl.clock.Clock`. In production that place is the running event
loop's monotonic clock. For dry runs and tests, the event loop itself keeps a
*virtual* time: :class:`AcceleratedEventLoop` either paces it at a multiple of real
time (``--speedup 20``) or, with no factor, jumps straight to the next scheduled
timer whenever nothing is ready to run (``--speedup max``). Because the loop's own
``time()`` is virtual, every ``asyncio.sleep``, ``wait_for`` and timer in every
library on the loop (bleak, bumble, ours) follows it, and a 60-minute session runs
in seconds without any of them knowing.

In both modes virtual time moves only while the loop waits, never while it runs
callbacks. The simulator and the controller share this one clock, so a loop slowed
down by a busy machine slows the whole dry run down instead of ageing the data: a
Treadmill Data notification due at virtual second 10 is sent before the controller's
stale-data check at 10.1 runs, however long the loop took to get there.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from typing import TYPE_CHECKING, Self, override

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable, Coroutine


class LoopClock:
    """The running event loop's clock: real on a normal loop, virtual on an accelerated one.

    A :class:`~treadmill_ctl.clock.Clock`: the one every session takes.
    """

    __slots__ = ()

    def now_s(self) -> float:
        """Return the running loop's time."""
        return asyncio.get_running_loop().time()

    async def sleep(self, duration_s: float) -> None:
        """Sleep on the running loop (virtual time under :class:`AcceleratedEventLoop`)."""
        await asyncio.sleep(max(0.0, duration_s))


_THREAD_POLL_S = 0.01
"""While a thread works for the loop, virtual time stands still; poll this often."""


class _VirtualSelector(selectors.DefaultSelector):
    """A selector that advances virtual time instead of blocking when it can.

    ``select(timeout)`` first polls the real file descriptors without waiting. If none
    is ready, the loop would have slept until its next timer: with ``speedup=None``
    virtual time jumps there at once; with a factor, it waits ``timeout / speedup`` of
    real time and then moves virtual time on by what it waited, times the factor (at
    most ``timeout``). When no timer is scheduled at all (``timeout is None``) only
    outside I/O can wake the loop, so it waits for real.
    """

    def __init__(self, clock: _VirtualTime) -> None:
        super().__init__()
        self._clock = clock

    @override
    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events or (timeout is not None and timeout <= 0):
            return events
        speedup = self._clock.speedup
        if speedup is None:
            if timeout is None:
                return super().select(None)
            if self._clock.threads_busy:
                # Real work in another thread (a DNS lookup, joining the executor): its
                # answer wakes the loop; virtual time must not run ahead of it.
                return super().select(min(timeout, _THREAD_POLL_S))
            self._clock.advance(timeout)
            return []
        started_s = self._clock.real_s()
        events = super().select(None if timeout is None else timeout / speedup)
        waited_s = (self._clock.real_s() - started_s) * speedup
        if timeout is not None and (not events or waited_s > timeout):
            waited_s = timeout  # woken by the timer: exactly on it
        self._clock.advance(max(0.0, waited_s))
        return events


class _VirtualTime:
    """Virtual seconds: moved on by the selector only, while the loop waits."""

    def __init__(
        self,
        speedup: float | None,
        start_s: float = 0.0,
        real_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_speedup(speedup)
        self.speedup = speedup
        self.threads_busy = 0
        self.now_s = start_s
        """Read as an attribute: every timer and every ``loop.time()`` reads it."""
        self.real_s = real_clock

    def advance(self, duration_s: float) -> None:
        self.now_s += duration_s


def _check_speedup(speedup: float | None) -> None:
    if speedup is not None and not speedup > 0:
        raise ValueError(f"speedup must be positive, not {speedup}")


class AcceleratedEventLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual.

    Args:
        speedup: how many virtual seconds pass per real second of waiting; ``None``
            for "as fast as possible" (time jumps to the next timer whenever the loop
            would otherwise wait).
        real_clock: the wall clock a factor paces against (tests pass their own).
    """

    def __new__(
        cls, speedup: float | None = None, real_clock: Callable[[], float] = time.monotonic
    ) -> Self:
        """Check ``speedup`` before the loop exists: a half-built loop complains when collected."""
        del real_clock
        _check_speedup(speedup)
        return super().__new__(cls)

    def __init__(
        self, speedup: float | None = None, real_clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._virtual_time = _VirtualTime(speedup, real_clock=real_clock)
        super().__init__(_VirtualSelector(self._virtual_time))

    @property
    def speedup(self) -> float | None:
        """Virtual seconds per real second, or ``None`` for as fast as possible."""
        return self._virtual_time.speedup

    @override
    def time(self) -> float:
        return self._virtual_time.now_s

    @override
    def run_in_executor[T](
        self, executor: concurrent.futures.Executor | None, func: Callable[..., T], *args: object
    ) -> asyncio.Future[T]:
        """Run ``func`` in a thread; virtual time waits for it (it takes real time)."""
        future = super().run_in_executor(executor, func, *args)
        self._virtual_time.threads_busy += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _future: object) -> None:
        self._virtual_time.threads_busy -= 1

    @override
    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Join the executor's threads in real time, whatever the virtual clock does."""
        self._virtual_time.threads_busy += 1
        try:
            await super().shutdown_default_executor(timeout)
        finally:
            self._virtual_time.threads_busy -= 1


def loop_factory(speedup: float | None) -> Callable[[], asyncio.AbstractEventLoop]:
    """Return a factory for :class:`asyncio.Runner`: real time for ``speedup == 1``."""
    if speedup == 1:
        return asyncio.new_event_loop
    return lambda: AcceleratedEventLoop(speedup)


def run_accelerated[T](main: Coroutine[object, object, T], *, speedup: float | None = None) -> T:
    """Run ``main`` to completion on an :class:`AcceleratedEventLoop`."""
    with asyncio.Runner(loop_factory=loop_factory(speedup)) as runner:
        return runner.run(main)

"""The accelerated event loop: virtual time that every asyncio timer follows."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time

import pytest

from treadmill_ctl.session.clock import AcceleratedEventLoop, LoopClock, run_accelerated


def test_an_hour_of_sleeping_passes_in_virtual_time_at_once() -> None:
    async def main() -> float:
        clock = LoopClock()
        start_s = clock.now_s()
        for _ in range(3600):
            await clock.sleep(1.0)
        return clock.now_s() - start_s

    real_start = time.monotonic()
    elapsed_s = run_accelerated(main())
    assert elapsed_s == pytest.approx(3600.0)
    # generous: an hour of timers is a few thousand loop turns, not an hour
    assert time.monotonic() - real_start < 30


def test_timeouts_fire_in_virtual_time_in_order() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def after(delay_s: float, name: str) -> None:
            await asyncio.sleep(delay_s)
            order.append(name)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(after(30.0, "late"))
            tasks.create_task(after(2.5, "early"))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.Event().wait(), timeout=10.0)
            order.append("timeout")
        return order

    assert run_accelerated(main()) == ["early", "timeout", "late"]


def test_ready_callbacks_run_before_time_advances() -> None:
    async def main() -> tuple[int, float]:
        loop = asyncio.get_running_loop()
        start_s = loop.time()
        count = 0
        for _ in range(100):
            await asyncio.sleep(0)
            count += 1
        return count, loop.time() - start_s

    count, elapsed_s = run_accelerated(main())
    assert count == 100
    assert elapsed_s == 0.0


def test_a_speedup_factor_scales_real_time() -> None:
    loop = AcceleratedEventLoop(speedup=1000.0)
    try:
        real_start = time.monotonic()
        virtual_elapsed_s = loop.run_until_complete(_sleep_and_measure(5.0))
        real_elapsed_s = time.monotonic() - real_start
    finally:
        loop.close()
    assert virtual_elapsed_s >= 5.0
    assert real_elapsed_s < 2.0


def test_a_speedup_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        AcceleratedEventLoop(speedup=0)


async def _sleep_and_measure(duration_s: float) -> float:
    loop = asyncio.get_running_loop()
    start_s = loop.time()
    await asyncio.sleep(duration_s)
    return loop.time() - start_s


def test_virtual_time_waits_for_work_in_a_thread() -> None:
    """A blocking call in the executor takes real time; timers must not run ahead of it."""

    async def main() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        start_s = loop.time()
        work = loop.run_in_executor(None, time.sleep, 0.05)
        timer = asyncio.create_task(asyncio.sleep(300))
        await work
        done_first = not timer.done()
        timer.cancel()
        return done_first, loop.time() - start_s

    work_finished_first, elapsed_s = run_accelerated(main())
    assert work_finished_first
    assert elapsed_s < 300


class _SlowWallClock:
    """A wall clock on which a slow callback takes ``stall_s`` (a busy machine)."""

    def __init__(self) -> None:
        self.extra_s = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.extra_s

    def stall(self, stall_s: float) -> None:
        self.extra_s += stall_s


def test_a_slow_loop_under_a_speedup_factor_does_not_make_time_jump() -> None:
    """Callbacks that take long (real) time do not age what the loop is waiting for.

    Each second a callback stalls the loop for half a real second: at 20x, time that
    ran with the wall clock would jump 10 s each time, and a 1 Hz data stream would
    look 10 s stale to a check made right after.
    """
    wall = _SlowWallClock()

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        seen: list[float] = []
        for _ in range(5):
            await asyncio.sleep(1.0)
            seen.append(loop.time())
            wall.stall(0.5)  # this callback took half a real second
        return seen

    loop = AcceleratedEventLoop(speedup=20.0, real_clock=wall)
    try:
        seen = loop.run_until_complete(main())
    finally:
        loop.close()
    gaps = [after - before for before, after in itertools.pairwise(seen)]
    assert gaps == pytest.approx([1.0] * 4)


def test_under_a_speedup_factor_outside_io_wakes_the_loop_at_its_real_time() -> None:
    """Woken early by I/O, virtual time moves by what was waited, times the factor."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        reader, writer = socket.socketpair()
        got = asyncio.Event()
        loop.add_reader(reader.fileno(), got.set)
        loop.call_later(0.0, lambda: None)
        start_s = loop.time()
        threading.Timer(0.05, writer.send, args=(b"x",)).start()  # outside the loop
        async with asyncio.timeout(100.0):  # a timer far away
            await got.wait()
        loop.remove_reader(reader.fileno())
        reader.close()
        writer.close()
        return loop.time() - start_s

    loop = AcceleratedEventLoop(speedup=20.0)
    try:
        elapsed_s = loop.run_until_complete(main())
    finally:
        loop.close()
    assert 0.9 <= elapsed_s < 20.0  # 0.05 s of real waiting at 20x, not the 100 s timer

"""The accelerated event loop: virtual time that every asyncio timer follows."""

from __future__ import annotations

import asyncio
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

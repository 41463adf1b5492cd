"""How long an emergency stop takes to reach the treadmill, ours against pyftms's.

Measures, on the wall clock (``time.perf_counter`` on a normal asyncio loop: latency
is real time, so no accelerated loop here), the delay from asking for a stop to the
Stop write (``08 01``) arriving at the simulated treadmill's GATT server (the moment
the server hands the write to the machine, seen through its trace writer). Two
conditions, each for two clients:

* idle: the link is up and nothing else is in flight;
* behind a silent command: the simulator's ``cp-silent`` fault is on (writes are
  obeyed, never answered) and a Set Target Speed is waiting for its answer when the
  stop is asked for.

The clients are ours, ``FtmsLink.stop_now()`` (no lock, no wait for an answer), and
pyftms's own ``Treadmill.stop()`` (unmodified; its ``BleakClient`` is pointed at the
simulator's backend), which takes the same write lock as the pending command and so
waits out that command's 2 s timeout. pyftms's silent case costs about 2 s of real
time per run, so it runs fewer times (``--pyftms-silent-runs``).

Run: ``.venv/bin/python bench/bench_stop_latency.py [--runs 200] [--pyftms-silent-runs 15]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, override

import pyftms.client.client
import structlog
from bleak import BleakClient
from pyftms import Treadmill

from simulator import open_virtual_treadmill
from simulator.faults import FaultKind, FaultSchedule
from simulator.trace import TraceWriter
from treadmill_ctl.ftms import commands
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.ftms.link_events import AnswerReceived, LinkEvent
from treadmill_ctl.session.clock import LoopClock

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from simulator import VirtualTreadmill
    from simulator.encoding import ResultCode as SimResultCode
    from simulator.trace import TraceValue

STOP: Final = bytes([commands.ControlOpCode.STOP_OR_PAUSE, 0x01])
SET_TARGET_SPEED_OP: Final = int(commands.ControlOpCode.SET_TARGET_SPEED)
BELT_KMH: Final = 3.0
ARRIVAL_TIMEOUT_S: Final = 5.0
SETTLE_S: Final = 0.01
"""Pause after each run, so the server has finished its last procedure."""
IN_FLIGHT_S: Final = 0.02
"""After the pending command's write arrived: its write is answered, it awaits its answer."""


class ArrivalClock(TraceWriter):
    """A trace that keeps nothing but when control point writes reached the GATT server.

    The server calls :meth:`control_point_write` synchronously in its write handler,
    right after the machine took the write: that is the arrival being timed.
    """

    def __init__(self) -> None:
        super().__init__(None)
        self.stop_arrived = asyncio.Event()
        self.stop_arrived_s = 0.0
        self.speed_arrived = asyncio.Event()

    @override
    def event(self, t: float, kind: str, **fields: TraceValue) -> None:
        """Keep nothing: samples and events are not what this bench measures."""

    @override
    def control_point_write(self, t: float, data: bytes, result: SimResultCode | None) -> None:
        """Note the wall time of a Stop, and that a Set Target Speed came."""
        if bytes(data) == STOP:
            self.stop_arrived_s = time.perf_counter()
            self.stop_arrived.set()
        elif data and data[0] == SET_TARGET_SPEED_OP:
            self.speed_arrived.set()

    def reset(self) -> None:
        """Forget the last arrivals before the next run."""
        self.stop_arrived.clear()
        self.speed_arrived.clear()

    async def wait_stop(self) -> float:
        """Return the wall time the Stop arrived (after waiting for it)."""
        async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
            await self.stop_arrived.wait()
        return self.stop_arrived_s


class SilenceSwitch(FaultSchedule):
    """A fault schedule whose ``cp-silent`` fault the bench switches on and off by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.silent = False

    @override
    def is_active(self, kind: FaultKind, t_s: float) -> bool:
        return (kind is FaultKind.CP_SILENT and self.silent) or super().is_active(kind, t_s)


@dataclass(frozen=True, slots=True)
class Figures:
    """Stop latencies of one client in one condition, in milliseconds."""

    client: str
    condition: str
    latencies_ms: list[float]

    def row(self) -> str:
        """One table row: runs, p50, p99, max."""
        values = self.latencies_ms
        return (
            f"{self.client:<26s} {self.condition:<22s} {len(values):>5d}"
            f" {percentile(values, 0.5):>9.2f} {percentile(values, 0.99):>9.2f}"
            f" {max(values):>9.2f} {statistics.fmean(values):>9.2f}"
        )


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of ``values``, by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def pending_command(
    arrivals: ArrivalClock, send: Callable[[], Awaitable[object]]
) -> asyncio.Task[object]:
    """Start ``send`` (a Set Target Speed) and return once it awaits its (lost) answer."""

    async def run() -> object:
        return await send()

    task = asyncio.create_task(run())
    async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
        await arrivals.speed_arrived.wait()
    await asyncio.sleep(IN_FLIGHT_S)
    return task


async def finish(task: asyncio.Task[object]) -> None:
    """Cancel a command left waiting for an answer; its timeout or cancellation is expected."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
        await task


async def _read(link: FtmsLink, on_event: Callable[[LinkEvent], None]) -> None:
    """The link's own event stream, handed to ``on_event`` as it comes."""
    async for event in link.events():
        on_event(event)


async def bench_ours(idle_runs: int, silent_runs: int) -> list[Figures]:
    """Time ``FtmsLink.stop_now()`` on an idle link, then behind a silent command."""
    arrivals = ArrivalClock()
    silence = SilenceSwitch()
    stop_answered = asyncio.Event()

    def on_event(event: LinkEvent) -> None:
        if (
            isinstance(event, AnswerReceived)
            and event.response.request_op_code is commands.ControlOpCode.STOP_OR_PAUSE
        ):
            stop_answered.set()

    async with open_virtual_treadmill(trace=arrivals, faults=silence) as sim:
        link = FtmsLink(sim.ble_device, clock=LoopClock(), client_backend=sim.client_backend)
        reading = asyncio.create_task(_read(link, on_event), name="bench.link_events")
        await link.connect()
        try:
            await link.start_resume()
            await link.set_target_speed(BELT_KMH)
            idle: list[float] = []
            for _ in range(idle_runs):
                arrivals.reset()
                stop_answered.clear()
                asked_s = time.perf_counter()
                await link.stop_now()
                idle.append((await arrivals.wait_stop() - asked_s) * 1000)
                async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
                    await stop_answered.wait()
                await asyncio.sleep(SETTLE_S)
            silence.silent = True
            behind: list[float] = []
            for _ in range(silent_runs):
                arrivals.reset()
                speed = await pending_command(
                    arrivals, functools.partial(link.set_target_speed, BELT_KMH)
                )
                assert not speed.done(), "the Set Target Speed must still await its answer"
                asked_s = time.perf_counter()
                await link.stop_now()
                behind.append((await arrivals.wait_stop() - asked_s) * 1000)
                await finish(speed)
                await asyncio.sleep(SETTLE_S)
        finally:
            await link.disconnect()
            reading.cancel()
    return [
        Figures("ours FtmsLink.stop_now()", "idle link", idle),
        Figures("ours FtmsLink.stop_now()", "behind silent command", behind),
    ]


def point_pyftms_at(sim: VirtualTreadmill) -> None:
    """Make pyftms's BleakClient use the simulator's backend (pyftms code unchanged)."""
    pyftms.client.client.BleakClient = functools.partial(BleakClient, backend=sim.client_backend)


async def bench_pyftms(idle_runs: int, silent_runs: int) -> list[Figures]:
    """Time pyftms's ``Treadmill.stop()`` in the same two conditions."""
    arrivals = ArrivalClock()
    silence = SilenceSwitch()
    async with open_virtual_treadmill(trace=arrivals, faults=silence) as sim:
        point_pyftms_at(sim)
        treadmill = Treadmill(sim.ble_device)
        await treadmill.connect()
        try:
            await treadmill.start_resume()
            await treadmill.set_target_speed(BELT_KMH)
            idle: list[float] = []
            for _ in range(idle_runs):
                arrivals.reset()
                asked_s = time.perf_counter()
                await treadmill.stop()  # returns with the treadmill's answer
                idle.append((await arrivals.wait_stop() - asked_s) * 1000)
                await asyncio.sleep(SETTLE_S)
            silence.silent = True
            behind: list[float] = []
            for _ in range(silent_runs):
                arrivals.reset()
                speed = await pending_command(
                    arrivals, functools.partial(treadmill.set_target_speed, BELT_KMH)
                )
                assert not speed.done(), "the Set Target Speed must still await its answer"
                asked_s = time.perf_counter()
                stop = asyncio.create_task(treadmill.stop())
                behind.append((await arrivals.wait_stop() - asked_s) * 1000)
                await asyncio.sleep(IN_FLIGHT_S)  # let its write be acknowledged
                await finish(stop)  # its own answer never comes either
                await finish(speed)
                await asyncio.sleep(SETTLE_S)
        finally:
            await treadmill.disconnect()
    return [
        Figures("pyftms Treadmill.stop()", "idle link", idle),
        Figures("pyftms Treadmill.stop()", "behind silent command", behind),
    ]


async def bench(runs: int, pyftms_silent_runs: int) -> list[Figures]:
    """Both clients, both conditions, one after the other on one loop."""
    return [
        *await bench_ours(runs, runs),
        *await bench_pyftms(runs, pyftms_silent_runs),
    ]


def main() -> None:
    """Run the bench and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per client and condition")
    parser.add_argument(
        "--pyftms-silent-runs",
        type=int,
        default=15,
        help="runs of pyftms behind a silent command (about 2 s of real time each)",
    )
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    started_s = time.perf_counter()
    table = asyncio.run(bench(args.runs, min(args.runs, args.pyftms_silent_runs)))
    wall_s = time.perf_counter() - started_s
    print("stop latency: stop asked -> Stop (08 01) received by the simulator's GATT server")
    print("wall clock (time.perf_counter), normal asyncio loop, virtual radio in-process")
    print(
        f"{'client':<26s} {'condition':<22s} {'runs':>5s} {'p50 ms':>9s} {'p99 ms':>9s}"
        f" {'max ms':>9s} {'mean ms':>9s}"
    )
    for figures in table:
        print(figures.row())
    print(f"(bench took {wall_s:.1f} s)")


if __name__ == "__main__":
    main()

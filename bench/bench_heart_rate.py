"""The heart-rate strap beside the treadmill: does it delay the stop, and what does it cost?

Two figures:

* stop latency, on the wall clock: the delay from ``FtmsLink.stop_now()`` to the Stop
  write (``08 01``) reaching the simulated treadmill's GATT server, with and without
  a :class:`~treadmill_ctl.ftms.heart_rate_link.HeartRateLink` connected to the
  simulated strap on the same radio and notifying (its readings handed to a
  :class:`~treadmill_ctl.session.heart_rate.HeartRateSession` as in a session);
* the pure work per strap notification: decoding it and judging it (the robust
  filter, the ceiling monitor and the zone guide), in microseconds.

Run: ``.venv/bin/python bench/bench_heart_rate.py [--runs 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final, override

import structlog

from simulator import open_virtual_treadmill
from simulator.heart_rate_strap import encode_heart_rate_measurement
from simulator.trace import TraceWriter
from treadmill_ctl.ftms import commands
from treadmill_ctl.ftms.heart_rate import decode_heart_rate_measurement
from treadmill_ctl.ftms.heart_rate_link import HeartRateEvent, HeartRateLink, HeartRateReceived
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.ftms.link_events import AnswerReceived, LinkEvent
from treadmill_ctl.safety import Limits
from treadmill_ctl.safety.heart_rate import HeartRateMonitor, HeartRateReading, ZoneController
from treadmill_ctl.session.clock import LoopClock
from treadmill_ctl.session.heart_rate import HeartRateSession

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from simulator.encoding import ResultCode as SimResultCode
    from simulator.trace import TraceValue

STOP: Final = bytes([commands.ControlOpCode.STOP_OR_PAUSE, 0x01])
ARRIVAL_TIMEOUT_S: Final = 5.0
SETTLE_S: Final = 0.05


class StopArrival(TraceWriter):
    """A trace that keeps only when a Stop reached the GATT server, on the wall clock."""

    def __init__(self) -> None:
        super().__init__(None)
        self.arrived = asyncio.Event()
        self.arrived_s = 0.0

    @override
    def event(self, t: float, kind: str, **fields: TraceValue) -> None:
        """Keep nothing else."""

    @override
    def control_point_write(self, t: float, data: bytes, result: SimResultCode | None) -> None:
        """Note the wall time of a Stop."""
        if bytes(data) == STOP:
            self.arrived_s = time.perf_counter()
            self.arrived.set()


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values``, by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class _CountedStrap(HeartRateLink):
    """The strap's link, counting the readings the session takes from its stream."""

    readings = 0

    @override
    async def events(self) -> AsyncIterator[HeartRateEvent]:
        async for event in super().events():
            if isinstance(event, HeartRateReceived):
                self.readings += 1
            yield event


async def _read(link: FtmsLink, on_event: Callable[[LinkEvent], None]) -> None:
    """The link's own event stream, handed to ``on_event`` as it comes."""
    async for event in link.events():
        on_event(event)


async def stop_latencies_ms(runs: int, *, with_strap: bool) -> tuple[list[float], int]:
    """Stop latencies, and how many strap readings arrived meanwhile."""
    arrivals = StopArrival()
    answered = asyncio.Event()

    def on_event(event: LinkEvent) -> None:
        if (
            isinstance(event, AnswerReceived)
            and event.response.request_op_code is commands.ControlOpCode.STOP_OR_PAUSE
        ):
            answered.set()

    clock = LoopClock()
    async with open_virtual_treadmill(trace=arrivals, hr_strap=with_strap) as sim:
        link = FtmsLink(sim.ble_device, clock=clock, client_backend=sim.client_backend)
        reading = asyncio.create_task(_read(link, on_event), name="bench.link_events")
        strap_link = (
            _CountedStrap(
                sim.hr_strap.ble_device,
                clock=clock,
                client_backend=sim.client_backend,
            )
            if sim.hr_strap is not None
            else None
        )
        session = HeartRateSession(
            limits=Limits(heart_rate_max_bpm=150),
            link=strap_link,
            confirmed_without=False,
            emit=lambda *_, **__: None,
            cue=lambda _: None,
        )
        heart = asyncio.create_task(session.run())
        await link.connect()
        try:
            await link.start_resume()
            await link.set_target_speed(3.0)
            await asyncio.sleep(2.0)  # the strap connects and notifies
            latencies: list[float] = []
            for _ in range(runs):
                arrivals.arrived.clear()
                answered.clear()
                asked_s = time.perf_counter()
                await link.stop_now()
                async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
                    await arrivals.arrived.wait()
                latencies.append((arrivals.arrived_s - asked_s) * 1000)
                async with asyncio.timeout(ARRIVAL_TIMEOUT_S):
                    await answered.wait()
                await asyncio.sleep(SETTLE_S)
        finally:
            heart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heart
            await link.disconnect()
            reading.cancel()
    return latencies, strap_link.readings if strap_link is not None else 0


def judging_us(count: int) -> float:
    """Microseconds to decode and judge one strap notification (pure work)."""
    values = [
        encode_heart_rate_measurement(100 + i % 30, contact=True, rr_intervals_s=[0.6, 0.61])
        for i in range(count)
    ]
    monitor = HeartRateMonitor(ceiling_bpm=150)
    zone = ZoneController(zone_bpm=(100, 115), max_speed_kmh=5.5, now_s=0.0)
    started = time.perf_counter()
    for i, raw in enumerate(values):
        value = decode_heart_rate_measurement(raw)
        monitor.feed(HeartRateReading(value.heart_rate_bpm), float(i))
        update = monitor.update(float(i), moving=True)
        zone.update(float(i), update.heart_rate_bpm, 4.0)
    return (time.perf_counter() - started) / count * 1e6


async def main_async(runs: int) -> None:
    """Print the figures."""
    print(f"{'condition':<34s} {'runs':>5s} {'p50 ms':>9s} {'p99 ms':>9s} {'max ms':>9s}")
    for with_strap in (False, True):
        latencies, readings = await stop_latencies_ms(runs, with_strap=with_strap)
        label = f"stop, strap notifying ({readings} readings)" if with_strap else "stop, no strap"
        print(
            f"{label:<34s} {len(latencies):>5d} {percentile(latencies, 0.5):>9.2f}"
            f" {percentile(latencies, 0.99):>9.2f} {max(latencies):>9.2f}"
        )
    print(f"decode + judge one strap notification: {judging_us(20000):.1f} us")


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    asyncio.run(main_async(args.runs))


if __name__ == "__main__":
    main()

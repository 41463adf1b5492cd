"""Stop latency and connect time through BlueZ, against the in-process virtual radio.

Runs inside the BlueZ test guest (``make bench-bluez``), where both paths run on the
same emulated machine:

* virtual radio: ``FtmsLink`` over the simulator's own bleak backend, in-process (what
  ``make test`` uses);
* BlueZ: ``FtmsLink`` with bleak's BlueZ backend (D-Bus, bluetoothd, the kernel,
  ``/dev/vhci``), the simulator's GATT server on the other of two linked bumble
  controllers (``tests/bluez/linked_controllers.py``), in this same process.

Latency is the wall time (``time.perf_counter``) from ``FtmsLink.stop_now()`` being
called to the Stop (``08 01``) reaching the simulator's GATT server write handler.
The connect time is ``FtmsLink.connect()`` (connection, discovery, subscriptions)
through BlueZ, with the virtual controller's LL Privacy and Extended Advertising bits
cleared (the workaround) and, once, with them kept.

Run (in the guest): ``python bench/bluez_stop_latency.py [--runs 100] [--out FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import structlog
from bleak import BleakScanner
from bumble.transport import open_transport

from simulator import open_virtual_treadmill
from simulator.cli import serve_on
from treadmill_ctl.errors import LinkError
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.session.clock import LoopClock

sys.path[:0] = [str(Path(__file__).resolve().parent.parent / p) for p in ("tests", "tests/bluez")]
from bench_stop_latency import BELT_KMH, SETTLE_S, ArrivalClock, percentile  # noqa: E402
from bluez_support import CONTROLLER_PORT, SIM_NAME, controllers  # noqa: E402

if TYPE_CHECKING:
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.device import BLEDevice

FIND_S: Final = 60.0
STOP_ANSWER_S: Final = 5.0


async def stop_latencies_ms(link: FtmsLink, arrivals: ArrivalClock, runs: int) -> list[float]:
    """Start the belt, then time ``runs`` stops (each waits for the last one's answer)."""
    await link.start_resume()
    await link.set_target_speed(BELT_KMH)
    latencies: list[float] = []
    for _ in range(runs):
        arrivals.reset()
        asked_s = time.perf_counter()
        await link.stop_now()
        latencies.append((await arrivals.wait_stop() - asked_s) * 1000)
        await asyncio.sleep(SETTLE_S + 0.05)  # the answer's indication, then quiet
    return latencies


async def connect_timed(
    device: BLEDevice, backend: type[BaseBleakClient] | None
) -> tuple[FtmsLink, float]:
    """Connect a link (discovery, subscriptions, control point); return it and the time."""
    link = FtmsLink(device, clock=LoopClock(), client_backend=backend)
    started_s = time.perf_counter()
    await link.connect()
    return link, time.perf_counter() - started_s


async def virtual_radio(runs: int) -> tuple[list[float], float]:
    """The simulator's own backend, in-process: what ``make test`` drives."""
    arrivals = ArrivalClock()
    async with open_virtual_treadmill(trace=arrivals) as sim:
        link, connect_s = await connect_timed(sim.ble_device, sim.client_backend)
        try:
            return await stop_latencies_ms(link, arrivals, runs), connect_s
        finally:
            await link.disconnect()


async def through_bluez(runs: int) -> tuple[list[float], float]:
    """The simulator on the linked controller in this process, the client via BlueZ."""
    arrivals = ArrivalClock()
    stop = asyncio.Event()
    transport = await open_transport(f"tcp-client:127.0.0.1:{CONTROLLER_PORT}")
    async with transport:
        server = asyncio.create_task(serve_on(transport, trace=arrivals, stop=stop))
        try:
            device = await BleakScanner.find_device_by_name(SIM_NAME, timeout=FIND_S)
            if device is None:
                raise SystemExit(f"bluez_stop_latency: {SIM_NAME} not found through BlueZ")
            link, connect_s = await connect_timed(device, None)
            try:
                latencies = await stop_latencies_ms(link, arrivals, runs) if runs else []
            finally:
                await link.disconnect()
        finally:
            stop.set()
            await server
    return latencies, connect_s


def summary(latencies_ms: list[float]) -> dict[str, float]:
    """Runs, p50, p99, max and mean of one path's latencies."""
    return {
        "runs": len(latencies_ms),
        "p50_ms": round(percentile(latencies_ms, 0.5), 2),
        "p99_ms": round(percentile(latencies_ms, 0.99), 2),
        "max_ms": round(max(latencies_ms), 2),
        "mean_ms": round(statistics.fmean(latencies_ms), 2),
    }


def main() -> None:
    """Run both paths, print the table, write the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="stops timed per path")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    logs = Path(tempfile.mkdtemp(prefix="bluez-bench-"))
    virtual, virtual_connect_s = asyncio.run(virtual_radio(args.runs))
    with controllers(logs):
        bluez, bluez_connect_s = asyncio.run(through_bluez(args.runs))
    with controllers(logs, keep_features=True):
        started_s = time.perf_counter()
        try:
            _, stalled_connect_s = asyncio.run(through_bluez(0))
        except LinkError as error:  # the stall can outlast the connection attempts
            stalled_connect_s = time.perf_counter() - started_s
            print(f"without the workaround the connection failed: {error}")
    rows = {
        "virtual_radio": summary(virtual) | {"connect_s": round(virtual_connect_s, 2)},
        "bluez": summary(bluez) | {"connect_s": round(bluez_connect_s, 2)},
    }
    ratio_p50 = round(rows["bluez"]["p50_ms"] / rows["virtual_radio"]["p50_ms"], 2)
    ratio_p99 = round(rows["bluez"]["p99_ms"] / rows["virtual_radio"]["p99_ms"], 2)
    print("stop latency: FtmsLink.stop_now() -> Stop (08 01) at the simulator's GATT server")
    header = f"{'path':<16s} {'runs':>5s} {'p50 ms':>9s} {'p99 ms':>9s} {'max ms':>9s}"
    print(f"{header} {'connect s':>10s}")
    for name in ("virtual_radio", "bluez"):
        row = rows[name]
        print(
            f"{name:<16s} {row['runs']:>5.0f} {row['p50_ms']:>9.2f} {row['p99_ms']:>9.2f}"
            f" {row['max_ms']:>9.2f} {row['connect_s']:>10.2f}"
        )
    print(f"ratio BlueZ / virtual radio: p50 {ratio_p50}x, p99 {ratio_p99}x")
    print(
        "connect through BlueZ: "
        f"{bluez_connect_s:.2f} s with the feature-bit workaround, "
        f"{stalled_connect_s:.2f} s without"
    )
    if args.out:
        figures = rows | {
            "ratio": {"p50": ratio_p50, "p99": ratio_p99},
            "bluez_connect_s": {"workaround": bluez_connect_s, "without": stalled_connect_s},
        }
        args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    with contextlib.suppress(OSError):
        for path in logs.iterdir():
            path.unlink()
        logs.rmdir()


if __name__ == "__main__":
    main()

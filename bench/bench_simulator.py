"""How fast a 60-minute simulated session runs under the injected (virtual) clock.

A bleak client connects to the simulated treadmill over the virtual radio,
subscribes to Treadmill Data (1 Hz), Fitness Machine Status and the control point,
starts the belt and changes the target speed every minute, for 60 minutes of
session time. Prints the wall time, the session/wall ratio and what was received.

Run: ``.venv/bin/python bench/bench_simulator.py [minutes]``
"""

from __future__ import annotations

import asyncio
import sys
import time

from bleak import BleakClient

from simulator import open_virtual_treadmill
from treadmill_ctl.session.clock import run_accelerated

SESSION_MIN = 60.0


async def session(minutes: float) -> tuple[int, int, float]:
    """Run the session; return (data frames, control answers, final distance m)."""
    frames = 0
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    def on_data(_: object, __: bytearray) -> None:
        nonlocal frames
        frames += 1

    async def command(client: BleakClient, value: bytes) -> None:
        await client.write_gatt_char("2ad9", value, response=True)
        async with asyncio.timeout(2.0):
            answer = await answers.get()
        assert answer[2] == 0x01, f"command {value.hex()} answered {answer.hex()}"

    async with (
        open_virtual_treadmill() as sim,
        BleakClient(sim.ble_device, backend=sim.client_backend) as client,
    ):
        await client.start_notify("2acd", on_data)
        await client.start_notify("2ada", lambda _, __: None)
        await client.start_notify("2ad9", lambda _, value: answers.put_nowait(bytes(value)))
        await command(client, b"\x00")
        await command(client, b"\x07")
        for minute in range(int(minutes)):
            speed_kmh = 2.0 + minute % 4  # 2, 3, 4, 5 km/h in turn
            await command(client, b"\x02" + round(speed_kmh * 100).to_bytes(2, "little"))
            await asyncio.sleep(60.0 - sim.session_s % 60.0)
        await command(client, b"\x08\x01")
        return frames, len(sim.trace.records), sim.model.distance_m


def main() -> None:
    """Run the bench and print its figures."""
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else SESSION_MIN
    started = time.perf_counter()
    frames, records, distance_m = run_accelerated(session(minutes))
    wall_s = time.perf_counter() - started
    session_s = minutes * 60
    print(f"simulated session: {minutes:g} min ({session_s:.0f} s), 1 Hz Treadmill Data")
    print(f"wall time: {wall_s:.2f} s   session/wall: {session_s / wall_s:.0f}x")
    print(f"received {frames} data frames; trace {records} records; {distance_m:.0f} m walked")
    assert frames >= session_s * 0.99, "Treadmill Data must keep arriving at 1 Hz"


if __name__ == "__main__":
    main()

"""``treadmill-ctl scan``: list the FTMS machines and heart-rate sensors in range."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from treadmill_ctl.ftms.heart_rate_link import scan_devices

if TYPE_CHECKING:
    import argparse

    from treadmill_ctl.ftms.discovery import DiscoveredMachine
    from treadmill_ctl.ftms.heart_rate_link import DiscoveredSensor


def format_machines(
    machines: list[DiscoveredMachine], sensors: list[DiscoveredSensor] | None = None
) -> str:
    """One line per device: name, address, signal, and what kind of device it is."""
    sensors = sensors or []
    if not machines and not sensors:
        return "no FTMS machines found (is the treadmill on and not connected to another app?)"
    lines = [f"{'name':<24} {'address':<20} {'rssi':>5}  type"]
    for machine in machines:
        if machine.is_treadmill is None:
            kind = "unknown type (no FTMS service data)"
        elif machine.is_treadmill:
            kind = "treadmill"
        else:
            kind = "not a treadmill"
        if machine.advertisement is not None and not machine.advertisement.machine_available:
            kind += ", busy"
        lines.append(f"{machine.name:<24} {machine.address:<20} {machine.rssi_dbm:>5}  {kind}")
    lines.extend(
        f"{sensor.name:<24} {sensor.address:<20} {sensor.rssi_dbm:>5}  heart-rate sensor"
        for sensor in sensors
    )
    if not machines:
        lines.append("(no FTMS machines found: is the treadmill on and not connected elsewhere?)")
    return "\n".join(lines)


async def _scan_simulator(
    timeout_s: float,
) -> tuple[list[DiscoveredMachine], list[DiscoveredSensor]]:
    from simulator import open_virtual_treadmill  # noqa: PLC0415 - only when asked for

    async with open_virtual_treadmill(hr_strap=True) as sim:
        return await scan_devices(timeout_s=timeout_s, scanner_backend=sim.scanner_backend)


def scan_command(args: argparse.Namespace) -> int:
    """Scan and print; exit 0 even when nothing is found (the text says so)."""
    if args.simulator:
        from treadmill_ctl.session.clock import run_accelerated  # noqa: PLC0415

        machines, sensors = run_accelerated(_scan_simulator(args.timeout))
    else:
        machines, sensors = asyncio.run(scan_devices(timeout_s=args.timeout))
    print(format_machines(machines, sensors))  # noqa: T201 - the command's output
    return 0

"""``treadmill-ctl scan``: list the FTMS machines in range."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from treadmill_ctl.ftms.discovery import DiscoveredMachine, scan

if TYPE_CHECKING:
    import argparse


def format_machines(machines: list[DiscoveredMachine]) -> str:
    """One line per machine: name, address, signal, and what kind of machine it is."""
    if not machines:
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
    return "\n".join(lines)


async def _scan_simulator(timeout_s: float) -> list[DiscoveredMachine]:
    from simulator import open_virtual_treadmill  # noqa: PLC0415 - only when asked for

    async with open_virtual_treadmill() as sim:
        return await scan(timeout_s=timeout_s, scanner_backend=sim.scanner_backend)


def scan_command(args: argparse.Namespace) -> int:
    """Scan and print; exit 0 even when nothing is found (the text says so)."""
    if args.simulator:
        from treadmill_ctl.session.clock import run_accelerated  # noqa: PLC0415

        machines = run_accelerated(_scan_simulator(args.timeout))
    else:
        machines = asyncio.run(scan(timeout_s=args.timeout))
    print(format_machines(machines))  # noqa: T201 - the command's output
    return 0

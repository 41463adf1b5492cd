"""Finding FTMS treadmills on the air.

A fitness machine advertises the FTMS service (0x1826) and, usually, service data for
it: a flags byte (bit 0: machine available) and a 16-bit machine type (bit 0:
treadmill). Some treadmills send no service data; they are listed as "unknown type"
and confirmed at connect by the presence of Treadmill Data (0x2ACD).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import IntFlag
from typing import TYPE_CHECKING

from bleak import BleakScanner
from bleak.exc import BleakError

from treadmill_ctl.errors import LinkError
from treadmill_ctl.ftms import uuids

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData, BaseBleakScanner


class MachineType(IntFlag):
    """FTMS service data machine type bits (FTMS 3.1.1)."""

    TREADMILL = 1 << 0
    CROSS_TRAINER = 1 << 1
    STEP_CLIMBER = 1 << 2
    STAIR_CLIMBER = 1 << 3
    ROWER = 1 << 4
    INDOOR_BIKE = 1 << 5


@dataclass(frozen=True, slots=True)
class FtmsAdvertisement:
    """What the FTMS service data says, when a machine sends it."""

    machine_available: bool
    machine_type: MachineType


@dataclass(frozen=True, slots=True)
class DiscoveredMachine:
    """One FTMS machine seen during a scan."""

    device: BLEDevice
    name: str
    address: str
    rssi_dbm: int
    advertisement: FtmsAdvertisement | None

    @property
    def is_treadmill(self) -> bool | None:
        """True or False from the service data; None when the machine sent none."""
        if self.advertisement is None:
            return None
        return MachineType.TREADMILL in self.advertisement.machine_type


def parse_ftms_service_data(data: bytes) -> FtmsAdvertisement | None:
    """Parse FTMS service data (flags uint8, machine type uint16 LE); None if too short."""
    if len(data) < 3:  # noqa: PLR2004 - flags byte plus a 16-bit type
        return None
    return FtmsAdvertisement(
        machine_available=bool(data[0] & 0x01),
        machine_type=MachineType(int.from_bytes(data[1:3], "little") & 0x3F),
    )


def machine_from_advertisement(
    device: BLEDevice, adv: AdvertisementData
) -> DiscoveredMachine | None:
    """The FTMS machine an advertisement announces, or None for any other device."""
    service_uuids = {u.lower() for u in adv.service_uuids}
    service_data = adv.service_data.get(uuids.FTMS_SERVICE)
    if uuids.FTMS_SERVICE not in service_uuids and service_data is None:
        return None
    return DiscoveredMachine(
        device=device,
        name=adv.local_name or device.name or device.address,
        address=device.address,
        rssi_dbm=adv.rssi,
        advertisement=parse_ftms_service_data(service_data) if service_data else None,
    )


async def scan(
    *, timeout_s: float = 5.0, scanner_backend: type[BaseBleakScanner] | None = None
) -> list[DiscoveredMachine]:
    """Scan for FTMS machines, strongest signal first.

    Cancelled, the scan stops and nothing is returned.
    """
    found: dict[str, DiscoveredMachine] = {}

    def seen(device: BLEDevice, adv: AdvertisementData) -> None:
        machine = machine_from_advertisement(device, adv)
        if machine is not None:
            found[machine.address] = machine

    try:
        async with BleakScanner(seen, backend=scanner_backend):
            await asyncio.sleep(timeout_s)
    except (OSError, RuntimeError, BleakError) as error:
        # bleak raises these when the platform has no Bluetooth adapter or service
        # (on Linux: no BlueZ, or no D-Bus socket to reach it)
        raise LinkError(
            f"cannot scan for treadmills: Bluetooth is not available here ({error}); "
            "is the adapter on and the Bluetooth service running? "
            "(for a dry run without a treadmill, add --simulator)"
        ) from error
    return sorted(found.values(), key=lambda m: m.rssi_dbm, reverse=True)


async def find_treadmill(
    name_or_address: str | None,
    *,
    timeout_s: float = 10.0,
    scanner_backend: type[BaseBleakScanner] | None = None,
) -> DiscoveredMachine:
    """Find one treadmill by name or address, or the only one in range.

    Raises:
        LinkError: none found, or several and no name given.
    """
    machines = await scan(timeout_s=timeout_s, scanner_backend=scanner_backend)
    candidates = [m for m in machines if m.is_treadmill is not False]
    if name_or_address is not None:
        wanted = name_or_address.lower()
        candidates = [m for m in candidates if wanted in {m.address.lower(), m.name.lower()}]
        if not candidates:
            raise LinkError(
                f"no FTMS treadmill named or at {name_or_address!r} found in {timeout_s:g} s; "
                "is it on and not connected to another app?"
            )
        return candidates[0]
    if not candidates:
        raise LinkError(
            f"no FTMS treadmill found in {timeout_s:g} s; is it on, in range, and not "
            "connected to another app? (try: treadmill-ctl scan)"
        )
    if len(candidates) > 1:
        names = ", ".join(f"{m.name} ({m.address})" for m in candidates)
        raise LinkError(f"several treadmills in range: {names}; choose one with --device")
    return candidates[0]

"""Finding treadmills: real bleak scanner code over the simulator's virtual radio."""

from __future__ import annotations

import pytest

from simulator import open_virtual_treadmill
from treadmill_ctl.cli_scan import format_machines
from treadmill_ctl.errors import LinkError
from treadmill_ctl.ftms.discovery import (
    DiscoveredMachine,
    MachineType,
    find_treadmill,
    parse_ftms_service_data,
    scan,
)
from treadmill_ctl.session.clock import run_accelerated


def test_a_scan_finds_the_treadmill_with_its_service_data() -> None:
    async def main() -> list[DiscoveredMachine]:
        async with open_virtual_treadmill(name="RETRO-1") as sim:
            return await scan(timeout_s=2.0, scanner_backend=sim.scanner_backend)

    (machine,) = run_accelerated(main())
    assert machine.name == "RETRO-1"
    assert machine.is_treadmill is True
    assert machine.advertisement is not None
    assert machine.advertisement.machine_available
    assert "treadmill" in format_machines([machine])


def test_a_treadmill_is_found_by_name_or_address_and_a_wrong_name_is_a_clear_error() -> None:
    async def main() -> tuple[str, str]:
        async with open_virtual_treadmill(name="RETRO-1") as sim:
            by_name = await find_treadmill(
                "retro-1", timeout_s=2.0, scanner_backend=sim.scanner_backend
            )
            by_address = await find_treadmill(
                sim.address, timeout_s=2.0, scanner_backend=sim.scanner_backend
            )
            with pytest.raises(LinkError, match="no FTMS treadmill named"):
                await find_treadmill("other", timeout_s=2.0, scanner_backend=sim.scanner_backend)
            return by_name.address, by_address.name

    address, name = run_accelerated(main())
    assert address == "F0:7E:AD:00:00:01"
    assert name == "RETRO-1"


@pytest.mark.parametrize(
    ("data", "available", "kind"),
    [
        (bytes([0x01, 0x01, 0x00]), True, MachineType.TREADMILL),
        (bytes([0x00, 0x20, 0x00]), False, MachineType.INDOOR_BIKE),
        (bytes([0x01, 0x11, 0x00]), True, MachineType.TREADMILL | MachineType.ROWER),
    ],
)
def test_ftms_service_data_tells_treadmills_apart(
    data: bytes, *, available: bool, kind: MachineType
) -> None:
    advertisement = parse_ftms_service_data(data)
    assert advertisement is not None
    assert advertisement.machine_available is available
    assert advertisement.machine_type == kind


def test_short_service_data_is_no_advertisement_not_a_crash() -> None:
    assert parse_ftms_service_data(b"\x01") is None


def test_an_empty_scan_says_what_to_check() -> None:
    assert "not connected to another app" in format_machines([])

"""An FTMS client no one here wrote (pyftms, unmodified) accepts the simulator.

pyftms connects through bleak-retry-connector with bleak's ``BleakClient``; its
extra keyword arguments do not reach bleak's ``backend=``, so the test points the
``BleakClient`` name inside pyftms at one bound to the simulator's backend. Nothing
else of pyftms is touched: its codec, its control point procedure and its time-outs
(asyncio, so virtual here) are its own.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING

import pyftms.client.client
import pytest
from bleak import BleakClient
from pyftms import MachineType, Treadmill
from pyftms import ResultCode as PyftmsResult

from simulator import open_virtual_treadmill
from treadmill_ctl.session.clock import run_accelerated

if TYPE_CHECKING:
    from pyftms import FtmsEvents

    from simulator import VirtualTreadmill


def point_pyftms_at(monkeypatch: pytest.MonkeyPatch, sim: VirtualTreadmill) -> None:
    """Make pyftms's BleakClient use the simulator's backend (pyftms code unchanged)."""
    bound = functools.partial(BleakClient, backend=sim.client_backend)
    monkeypatch.setattr(pyftms.client.client, "BleakClient", bound)


def test_pyftms_treadmill_connects_takes_control_starts_and_reaches_the_set_speed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[FtmsEvents] = []

    async def scenario() -> None:
        async with open_virtual_treadmill() as sim:
            point_pyftms_at(monkeypatch, sim)
            treadmill = Treadmill(sim.ble_device, on_ftms_event=events.append)
            await treadmill.connect()
            try:
                assert treadmill.machine_type is MachineType.TREADMILL
                assert treadmill.device_info["manufacturer"] == "treadmill_ctl"
                assert treadmill.supported_ranges["target_speed"].max_value == 16.0
                assert await treadmill.start_resume() == PyftmsResult.SUCCESS
                assert await treadmill.set_target_speed(4.5) == PyftmsResult.SUCCESS
                await asyncio.sleep(8)
                assert treadmill.speed_instant == pytest.approx(4.5)
                assert sim.model.belt_speed_kmh == pytest.approx(4.5)
                assert treadmill.get_setting("target_speed") == pytest.approx(4.5)
                assert await treadmill.stop() == PyftmsResult.SUCCESS
                await asyncio.sleep(5)
                assert treadmill.speed_instant == 0.0
            finally:
                await treadmill.disconnect()

    run_accelerated(scenario())
    writes = [event for event in events if event.event_id == "start"]
    assert writes, "pyftms saw its start command confirmed"


def test_pyftms_sees_a_safety_key_stop_as_a_safety_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[FtmsEvents] = []

    async def scenario() -> None:
        async with open_virtual_treadmill(faults=["safety-key@10"]) as sim:
            point_pyftms_at(monkeypatch, sim)
            treadmill = Treadmill(sim.ble_device, on_ftms_event=events.append)
            await treadmill.connect()
            try:
                await treadmill.start_resume()
                await treadmill.set_target_speed(3.0)
                await asyncio.sleep(15)
            finally:
                await treadmill.disconnect()

    run_accelerated(scenario())
    stops = [event for event in events if event.event_id == "stop"]
    assert any(getattr(event, "event_source", None) == "safety" for event in stops)

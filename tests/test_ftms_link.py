"""The FTMS link, through real bleak client code, against the simulator's GATT server.

Every test runs on the accelerated event loop: the simulator's 1 Hz data, the
link's command time-outs and the faults' schedules all run in virtual time.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

import pytest
from link_events import collect

from simulator import open_virtual_treadmill
from treadmill_ctl.errors import CommandRefused, CommandTimeout, LinkError
from treadmill_ctl.ftms.commands import CommandRejected, ResultCode
from treadmill_ctl.ftms.control_point import PENDING_STOP_CONTROL_WAIT_S
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.ftms.link_events import (
    DataReceived,
    LinkConnected,
    LinkEvent,
    LinkLost,
    StatusReceived,
)
from treadmill_ctl.ftms.observations import MachineStatusCode
from treadmill_ctl.ftms.quirks import ClientQuirks, SpeedUnit
from treadmill_ctl.session.clock import LoopClock, run_accelerated

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from simulator.radio import VirtualTreadmill


type Scenario = Callable[[VirtualTreadmill, FtmsLink, list[LinkEvent]], Awaitable[None]]


def _run(
    scenario: Scenario,
    *,
    faults: tuple[str, ...] = (),
    quirks: tuple[str, ...] = (),
    client_quirks: ClientQuirks | None = None,
) -> None:
    async def main() -> None:
        events: list[LinkEvent] = []
        async with open_virtual_treadmill(faults=faults, quirks=quirks) as sim:
            link = FtmsLink(
                sim.ble_device,
                clock=LoopClock(),
                client_backend=sim.client_backend,
                quirks=client_quirks,
            )
            reading = collect(link.events(), events.append)
            await link.connect()
            await asyncio.sleep(0)  # the link's events reach the reader on the next turn
            try:
                await scenario(sim, link, events)
            finally:
                await link.disconnect()
                reading.cancel()

    run_accelerated(main())


def _writes(sim: VirtualTreadmill) -> list[str]:
    return [str(r["data_hex"]) for r in sim.trace.records if r["kind"] == "control_point_write"]


def _answered(sim: VirtualTreadmill) -> list[tuple[str, str]]:
    """Each control point write received, with the result the treadmill chose."""
    return [
        (str(r["data_hex"]), str(r["result"]))
        for r in sim.trace.records
        if r["kind"] == "control_point_write"
    ]


def _write_times(sim: VirtualTreadmill, data_hex: str) -> list[float]:
    return [
        float(r["t"])  # type: ignore[arg-type]
        for r in sim.trace.records
        if r["kind"] == "control_point_write" and r["data_hex"] == data_hex
    ]


def test_connecting_reads_what_the_treadmill_is_and_reports_the_link_up() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        info = link.info
        assert info is not None
        assert info.has_control_point
        assert info.speed_range is not None
        assert (info.speed_range.min_kmh, info.speed_range.max_kmh) == (0.5, 16.0)
        assert info.incline_range is not None
        assert info.incline_range.max_pct == 15.0
        assert info.features is not None
        assert info.features.speed_target_supported
        assert info.device_information["model"]
        assert isinstance(events[0], LinkConnected)

    _run(scenario)


def test_as_an_async_context_manager_the_link_is_up_inside_and_closed_after() -> None:
    async def main() -> tuple[list[LinkEvent], list[tuple[bool, bool]]]:
        events: list[LinkEvent] = []
        seen: list[tuple[bool, bool]] = []  # (the link's view, the treadmill's view)
        async with open_virtual_treadmill() as sim:
            link = FtmsLink(
                sim.ble_device,
                clock=LoopClock(),
                client_backend=sim.client_backend,
            )
            reading = collect(link.events(), events.append)
            async with link as entered:
                assert entered is link
                assert link.info is not None
                seen.append((link.is_connected, sim.link_up))
                with pytest.raises(RuntimeError, match="already open"):
                    await link.__aenter__()
                seen.append((link.is_connected, sim.link_up))  # the refusal changed nothing
            await asyncio.sleep(1)
            seen.append((link.is_connected, sim.link_up))
            async with link:  # reusable once closed
                seen.append((link.is_connected, sim.link_up))
            await asyncio.sleep(0)
            reading.cancel()
        return events, seen

    events, seen = run_accelerated(main())
    assert seen == [(True, True), (True, True), (False, False), (True, True)]
    assert [type(e) for e in events] == [LinkConnected, LinkLost, LinkConnected, LinkLost]
    assert [e.reason for e in events if isinstance(e, LinkLost)] == ["closed", "closed"]


def test_an_async_with_that_cannot_connect_raises_and_can_be_tried_again() -> None:
    async def main() -> None:
        async with open_virtual_treadmill() as sim:
            await sim.drop_link(down_s=3600)  # not advertising: nothing to connect to
            link = FtmsLink(
                sim.ble_device,
                clock=LoopClock(),
                client_backend=sim.client_backend,
                connect_attempts=1,
            )
            with pytest.raises(LinkError):
                async with link:
                    pytest.fail("the block must not run without a link")
            with pytest.raises(LinkError):  # not "already open": the failed entry left
                await link.__aenter__()

    run_accelerated(main())


def test_commands_are_answered_and_move_the_belt() -> None:
    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        assert (await link.request_control()).result is ResultCode.SUCCESS
        await link.start_resume()
        await link.set_target_speed(2.0)
        await link.set_target_inclination(1.5)
        await asyncio.sleep(5)
        assert sim.model.belt_speed_kmh == pytest.approx(2.0)
        assert sim.model.incline_pct == pytest.approx(1.5)
        await link.pause()
        await asyncio.sleep(3)
        assert sim.model.belt_speed_kmh == 0.0
        await link.reset()
        assert _writes(sim) == ["00", "07", "02c800", "030f00", "0802", "01"]

    _run(scenario)


def test_the_first_command_requests_control_by_itself() -> None:
    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        await link.start_resume()
        assert _writes(sim) == ["00", "07"]

    _run(scenario)


def test_control_taken_away_is_requested_again_once() -> None:
    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        await link.start_resume()
        sim.revoke_control()
        await asyncio.sleep(0.5)
        await link.set_target_speed(1.5)
        assert _writes(sim) == ["00", "07", "029600", "00", "029600"]

    _run(scenario)


def test_a_rejected_command_raises_with_the_result_code() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        await asyncio.sleep(3)
        with pytest.raises(CommandRejected) as rejected:
            await link.start_resume()
        assert rejected.value.result_code is ResultCode.OPERATION_FAILED

    _run(scenario, faults=("cp-reject@2:60",))


def test_a_command_without_an_answer_times_out() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        await link.start_resume()
        await asyncio.sleep(3)
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        with pytest.raises(CommandTimeout):
            await link.set_target_speed(2.0)
        assert loop.time() - started_s == pytest.approx(2.0, abs=0.2)

    _run(scenario, faults=("cp-silent@2:60",))


def test_stop_is_written_at_once_behind_a_command_that_is_never_answered() -> None:
    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        await link.start_resume()
        await link.set_target_speed(3.0)
        await asyncio.sleep(3)
        pending = asyncio.create_task(link.set_target_speed(4.0))
        await asyncio.sleep(0.2)
        assert not pending.done()
        stop_called_s = sim.session_s
        await link.stop_now()
        assert not link.stop_pending
        (stop_written_s,) = _write_times(sim, "0801")
        assert stop_written_s - stop_called_s < 0.01
        assert not pending.done()  # the stop did not wait for it
        with pytest.raises(CommandTimeout):
            await pending
        await asyncio.sleep(3)
        assert sim.model.belt_speed_kmh == 0.0

    _run(scenario, faults=("cp-silent@3:60",))


@pytest.mark.parametrize("speed_kmh", [-0.5, math.nan, math.inf, 16.5, 700.0])
def test_impossible_speeds_are_refused_without_a_write(speed_kmh: float) -> None:
    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        with pytest.raises(CommandRefused):
            await link.set_target_speed(speed_kmh)
        assert _writes(sim) == []

    _run(scenario)


def test_a_lost_link_is_reported_and_a_stop_waits_for_its_return() -> None:
    async def scenario(sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        await link.start_resume()
        await link.set_target_speed(2.0)
        await asyncio.sleep(4)
        assert any(isinstance(e, LinkLost) for e in events)
        assert not link.is_connected
        with pytest.raises(CommandRefused, match="the link is down"):
            await link.set_target_speed(1.0)  # the treadmill has a control point
        await link.stop_now()
        deferred = link.stop_pending
        assert deferred
        writes_before = len(_writes(sim))
        await link.reconnect()
        assert not link.stop_pending
        # On return: control first (a new connection holds none), then the stop, obeyed.
        assert _answered(sim)[writes_before:] == [("00", "SUCCESS"), ("0801", "SUCCESS")]
        await asyncio.sleep(3)
        assert sim.model.belt_speed_kmh == 0.0

    _run(scenario, faults=("disconnect@3:2",))


def test_stops_asked_for_while_the_link_is_being_set_up_wait_for_control() -> None:
    """The governor repeats its stop while the link comes back (BlueZ: seconds of set-up).

    A stop asked for after the connection is made but before the set-up is done must
    not go out ahead of Request Control, where it would be refused.
    """

    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        await link.start_resume()
        await link.set_target_speed(2.0)
        await asyncio.sleep(4)
        await link.stop_now()
        writes_before = len(_writes(sim))
        reconnect = asyncio.create_task(link.reconnect())
        asked_during_set_up = 0
        while not reconnect.done():
            if link._control.setting_up and link._control.characteristic is not None:
                await link.stop_now()
                asked_during_set_up += 1
            await asyncio.sleep(0.001)
        await reconnect
        assert asked_during_set_up > 0
        assert not link.stop_pending
        assert _answered(sim)[writes_before:] == [("00", "SUCCESS"), ("0801", "SUCCESS")]

    _run(scenario, faults=("disconnect@3:2",))


def test_a_stop_waiting_for_the_link_goes_out_even_if_control_is_never_answered() -> None:
    """A treadmill silent on its return: the stop follows Request Control's time-out."""

    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        await link.start_resume()
        await link.set_target_speed(2.0)
        await asyncio.sleep(4)
        await link.stop_now()
        deferred = link.stop_pending
        assert deferred
        writes_before = len(_writes(sim))
        await link.reconnect()
        assert not link.stop_pending
        assert _writes(sim)[writes_before:] == ["00", "0801"]
        (request_s,) = _write_times(sim, "00")[-1:]
        (stop_s,) = _write_times(sim, "0801")
        # No longer than the bounded wait for control (0.5 s, not the 2 s command
        # time-out), and the belt stops.
        assert PENDING_STOP_CONTROL_WAIT_S <= stop_s - request_s < PENDING_STOP_CONTROL_WAIT_S + 0.1
        await asyncio.sleep(3)
        assert sim.model.belt_speed_kmh == 0.0

    _run(scenario, faults=("disconnect@3:2", "cp-silent@4:20"))


def test_safety_key_and_console_changes_arrive_as_status_events() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        await link.start_resume()
        await asyncio.sleep(6)
        codes = [e.status.code for e in events if isinstance(e, StatusReceived)]
        assert MachineStatusCode.TARGET_SPEED_CHANGED in codes
        assert codes[-1] is MachineStatusCode.STOPPED_BY_SAFETY_KEY
        speeds = [
            e.status.target_speed_kmh
            for e in events
            if isinstance(e, StatusReceived)
            and e.status.code is MachineStatusCode.TARGET_SPEED_CHANGED
        ]
        assert 4.0 in speeds

    _run(scenario, faults=("console-speed@2:4.0", "safety-key@5"))


def _data_times(events: list[LinkEvent]) -> list[float]:
    return [e.at_s for e in events if isinstance(e, DataReceived)]


def test_a_stalled_stream_sends_nothing_while_the_link_stays_up() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        start_s = asyncio.get_running_loop().time()
        await asyncio.sleep(10)
        times = [t - start_s for t in _data_times(events)]
        assert not [t for t in times if 3.5 < t < 7.5]
        assert [t for t in times if t > 8]
        assert link.is_connected

    _run(scenario, faults=("stall@3:5",))


def test_frozen_frames_repeat_byte_for_byte() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        await link.start_resume()
        await asyncio.sleep(8)
        frames = [e.data.raw for e in events if isinstance(e, DataReceived)]
        assert any(a == b == c for a, b, c in zip(frames, frames[1:], frames[2:], strict=False))

    _run(scenario, faults=("frozen@3:4",))


def test_a_treadmill_without_control_point_can_only_be_watched() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        assert link.info is not None
        assert not link.info.has_control_point
        with pytest.raises(CommandRefused, match="no control point"):
            await link.start_resume()
        await link.stop_now()  # no control point: nothing to write, and no crash
        await asyncio.sleep(2)
        assert _data_times(events)

    _run(scenario, quirks=("no-control-point",))


def test_answers_sent_as_notifications_are_accepted() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        assert (await link.start_resume()).result is ResultCode.SUCCESS

    _run(scenario, quirks=("cp-notify",))


def test_a_treadmill_speaking_mph_is_driven_in_kmh() -> None:
    async def scenario(sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        await link.start_resume()
        await link.set_target_speed(3.0)
        await asyncio.sleep(6)
        assert sim.model.belt_speed_kmh == pytest.approx(3.0, abs=0.1)
        speeds = [e.data.speed_kmh for e in events if isinstance(e, DataReceived)]
        assert speeds[-1] == pytest.approx(3.0, abs=0.1)

    _run(scenario, quirks=("mph",), client_quirks=ClientQuirks(speed_unit=SpeedUnit.MPH))


def test_split_records_arrive_merged() -> None:
    async def scenario(_sim: VirtualTreadmill, link: FtmsLink, events: list[LinkEvent]) -> None:
        await link.start_resume()
        await asyncio.sleep(5)
        records = [e.data for e in events if isinstance(e, DataReceived)]
        assert records
        assert all(r.speed_kmh is not None and r.distance_m is not None for r in records)
        assert records[-1].speed_kmh == pytest.approx(1.0)

    _run(scenario, quirks=("split-records",))


def test_a_treadmill_that_never_answers_is_learnt_and_still_driven() -> None:
    """KingSmith MC-21 style: no answers at all, yet it obeys.

    After two silent commands the link stops waiting two seconds for each.
    """

    async def scenario(sim: VirtualTreadmill, link: FtmsLink, _events: list[LinkEvent]) -> None:
        loop = asyncio.get_running_loop()
        waits: list[float] = []
        for command in (link.start_resume, lambda: link.set_target_speed(2.0)):
            started_s = loop.time()
            with pytest.raises(CommandTimeout):
                await command()
            waits.append(loop.time() - started_s)
        started_s = loop.time()
        with pytest.raises(CommandTimeout):
            await link.set_target_speed(2.5)
        waits.append(loop.time() - started_s)
        await asyncio.sleep(5)
        assert waits[0] >= 2.0  # request control and start: both unanswered
        assert waits[-1] < 0.5
        assert sim.model.belt_speed_kmh == pytest.approx(2.5)

    _run(scenario, quirks=("cp-mute",))

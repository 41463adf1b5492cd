"""The simulated treadmill's FTMS GATT server, driven with plain bleak calls.

Every scenario runs on the accelerated (virtual-time) loop, over the virtual radio:
real ATT between a bumble peripheral and a bumble central behind bleak's API.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from typing import TYPE_CHECKING

import pytest
from bleak import BleakClient
from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bumble.core import UUID
from bumble.device import Peer
from bumble.hci import Address

from simulator import VirtualTreadmill, open_virtual_treadmill
from simulator.encoding import (
    TrainingStatus,
    TrainingStatusCode,
    TreadmillData,
    TreadmillDataFlag,
)
from simulator.faults import FaultKind
from simulator.model import KMH_PER_MPH, MachineState
from treadmill_ctl.session.clock import run_accelerated

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

FEATURE = "2acc"
TREADMILL_DATA = "2acd"
TRAINING_STATUS = "2ad3"
SPEED_RANGE = "2ad4"
INCLINATION_RANGE = "2ad5"
CONTROL_POINT = "2ad9"
MACHINE_STATUS = "2ada"


def run(scenario: Coroutine[object, object, None]) -> None:
    run_accelerated(scenario)


def now_s() -> float:
    return asyncio.get_running_loop().time()


class Probe:
    """A bleak client subscribed to everything, recording what arrives and when."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.data: list[tuple[float, bytes]] = []
        self.statuses: list[str] = []
        self.training: list[str] = []
        self.answers: asyncio.Queue[str] = asyncio.Queue()

    async def subscribe(self) -> None:
        await self.client.start_notify(
            TREADMILL_DATA, lambda _, value: self.data.append((now_s(), bytes(value)))
        )
        await self.client.start_notify(
            MACHINE_STATUS, lambda _, value: self.statuses.append(value.hex())
        )
        await self.client.start_notify(
            TRAINING_STATUS, lambda _, value: self.training.append(value.hex())
        )
        if self.client.services.get_characteristic(CONTROL_POINT) is not None:
            await self.client.start_notify(
                CONTROL_POINT, lambda _, value: self.answers.put_nowait(value.hex())
            )

    async def write(self, hex_value: str) -> None:
        await self.client.write_gatt_char(CONTROL_POINT, bytes.fromhex(hex_value), response=True)

    async def command(self, hex_value: str, timeout_s: float = 2.0) -> str:
        """Write one control point command and return its answer as hex."""
        await self.write(hex_value)
        async with asyncio.timeout(timeout_s):
            return await self.answers.get()

    async def no_answer_within(self, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                await self.answers.get()
        except TimeoutError:
            return True
        return False

    async def start_at(self, speed_hex: str) -> None:
        """Take control, start, and set a target speed (uint16 0.01 km/h, hex LE)."""
        assert await self.command("00") == "800001"
        assert await self.command("07") == "800701"
        assert await self.command("02" + speed_hex) == "800201"

    def speeds_kmh(self) -> list[float]:
        return [
            decoded.speed_kmh
            for _, frame in self.data
            if (decoded := TreadmillData.from_bytes(frame)).speed_kmh is not None
        ]


@contextlib.asynccontextmanager
async def connected(sim: VirtualTreadmill, *, subscribe: bool = True) -> AsyncIterator[Probe]:
    async with BleakClient(sim.ble_device, backend=sim.client_backend) as client:
        probe = Probe(client)
        if subscribe:
            await probe.subscribe()
        yield probe


async def belt_settles(seconds: float = 10.0) -> None:
    """Give the belt time to ramp to its target (1.5 km/h per s)."""
    await asyncio.sleep(seconds)


class TestReadableCharacteristics:
    def test_feature_says_distance_incline_elapsed_heart_rate_and_speed_incline_targets(
        self,
    ) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim, subscribe=False) as probe:
                machine, target = struct.unpack("<II", await probe.client.read_gatt_char(FEATURE))
                assert machine == (1 << 2) | (1 << 3) | (1 << 10) | (1 << 12)
                assert target == 0b11

        run(scenario())

    def test_speed_range_is_min_max_increment_in_hundredths_of_kmh(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim, subscribe=False) as probe:
                value = await probe.client.read_gatt_char(SPEED_RANGE)
                assert struct.unpack("<HHH", value) == (50, 1600, 10)

        run(scenario())

    def test_inclination_range_is_signed_tenths_of_percent(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim, subscribe=False) as probe:
                value = await probe.client.read_gatt_char(INCLINATION_RANGE)
                assert struct.unpack("<hhH", value) == (0, 150, 5)

        run(scenario())

    def test_training_status_reads_idle_then_manual_mode_once_running(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                idle = TrainingStatus.from_bytes(
                    bytes(await probe.client.read_gatt_char(TRAINING_STATUS))
                )
                await probe.start_at("f401")
                running = await probe.client.read_gatt_char(TRAINING_STATUS)
                assert idle.status is TrainingStatusCode.IDLE
                assert (
                    TrainingStatus.from_bytes(bytes(running)).status
                    is TrainingStatusCode.MANUAL_MODE
                )
                assert probe.training == ["000d"]

        run(scenario())

    def test_device_information_names_the_machine(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim, subscribe=False) as probe:
                read = probe.client.read_gatt_char
                assert await read("2a29") == b"treadmill_ctl"
                assert await read("2a24") == b"SIM-FTMS-1"
                assert await read("2a25") == b"SIM-0001"
                assert await read("2a26") == b"1.0.0"

        run(scenario())

    def test_mph_quirk_reports_its_speed_range_in_mph(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["mph"]) as sim,
                connected(sim, subscribe=False) as probe,
            ):
                lo, hi, _ = struct.unpack("<HHH", await probe.client.read_gatt_char(SPEED_RANGE))
                assert hi / 100 == pytest.approx(16.0 / KMH_PER_MPH, abs=0.1)
                assert lo / 100 == pytest.approx(0.5 / KMH_PER_MPH, abs=0.1)

        run(scenario())


class TestTreadmillData:
    def test_treadmill_data_arrives_about_once_a_second(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await asyncio.sleep(10.5)
                assert 9 <= len(probe.data) <= 11
                times = [t for t, _ in probe.data]
                assert all(0.9 <= b - a <= 1.1 for a, b in itertools.pairwise(times))

        run(scenario())

    def test_reported_speed_follows_the_belt_to_the_target(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await probe.start_at("f401")
                await belt_settles()
                assert sim.model.belt_speed_kmh == pytest.approx(5.0)
                assert probe.speeds_kmh()[-1] == pytest.approx(5.0)
                assert probe.speeds_kmh() == sorted(probe.speeds_kmh())

        run(scenario())

    def test_split_records_quirk_sends_a_more_data_part_before_the_speed(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["split-records"]) as sim,
                connected(sim) as probe,
            ):
                await asyncio.sleep(3.5)
                flags = [struct.unpack_from("<H", frame)[0] for _, frame in probe.data]
                assert flags[0] & TreadmillDataFlag.MORE_DATA
                assert not flags[1] & TreadmillDataFlag.MORE_DATA
                assert len(flags) == 6

        run(scenario())

    def test_step_count_quirk_sets_reserved_bit_13(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["step-count-bit13"]) as sim,
                connected(sim) as probe,
            ):
                await probe.start_at("f401")
                await asyncio.sleep(20)
                last = TreadmillData.from_bytes(probe.data[-1][1])
                assert last.flags & TreadmillDataFlag.STEP_COUNT
                assert last.step_count is not None
                assert last.step_count > 0

        run(scenario())


class TestControlPoint:
    def test_request_control_is_answered_success(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                assert await probe.command("00") == "800001"

        run(scenario())

    def test_a_command_without_control_is_answered_control_not_permitted(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                assert await probe.command("07") == "800705"
                assert sim.model.state is MachineState.IDLE

        run(scenario())

    def test_an_unknown_op_code_is_answered_op_code_not_supported(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                assert await probe.command("00") == "800001"
                assert await probe.command("55") == "805502"

        run(scenario())

    def test_a_wrong_parameter_is_answered_invalid_parameter(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                assert await probe.command("00") == "800001"
                assert await probe.command("0201") == "800203"
                assert await probe.command("02a00f") == "800203"  # 40 km/h, above the range

        run(scenario())

    def test_speed_before_start_fails_on_a_needs_start_machine(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["needs-start"]) as sim,
                connected(sim) as probe,
            ):
                assert await probe.command("00") == "800001"
                assert await probe.command("02f401") == "800204"
                assert await probe.command("07") == "800701"
                assert await probe.command("02f401") == "800201"

        run(scenario())

    def test_start_and_speed_announce_started_and_target_speed_changed(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await probe.start_at("f401")
                await asyncio.sleep(0.5)
                assert probe.statuses[:2] == ["04", "05f401"]
                assert sim.model.state is MachineState.RUNNING

        run(scenario())

    def test_set_target_inclination_moves_the_deck(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await probe.start_at("f401")
                assert await probe.command("031e00") == "800301"  # 3.0 %
                await asyncio.sleep(10)
                assert sim.model.incline_pct == pytest.approx(3.0)
                assert TreadmillData.from_bytes(probe.data[-1][1]).inclination_pct == 3.0

        run(scenario())

    def test_stop_stops_the_belt_and_is_announced(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await probe.start_at("f401")
                await belt_settles()
                assert await probe.command("0801") == "800801"
                await belt_settles()
                assert "0201" in probe.statuses
                assert sim.model.belt_speed_kmh == 0.0

        run(scenario())

    def test_reset_drops_control(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                assert await probe.command("00") == "800001"
                assert await probe.command("01") == "800101"
                assert await probe.command("07") == "800705"

        run(scenario())

    def test_writing_without_indications_enabled_is_cccd_improperly_configured(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim, subscribe=False) as probe:
                with pytest.raises(BleakGATTProtocolError, match="Improperly Configured") as error:
                    await probe.write("00")
                assert error.value.code is BleakGATTProtocolErrorCode.CCCD_IMPROPERLY_CONFIGURED
                assert sim.trace.records[-1]["kind"] == "control_point_att_error"

        run(scenario())

    def test_writing_before_the_previous_answer_is_procedure_already_in_progress(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await probe.write("00")
                with pytest.raises(BleakGATTProtocolError, match="Already in Progress") as error:
                    await probe.write("07")
                assert error.value.code is BleakGATTProtocolErrorCode.PROCEDURE_ALREADY_IN_PROGRESS
                assert await probe.answers.get() == "800001"
                assert await probe.command("07") == "800701"

        run(scenario())

    def test_control_point_answers_come_as_indications(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                assert await raw_answer_kind(sim) == "indication"

        run(scenario())

    def test_cp_notify_quirk_answers_with_notifications(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(quirks=["cp-notify"]) as sim:
                assert await raw_answer_kind(sim) == "notification"

        run(scenario())

    def test_a_bleak_client_still_gets_cp_notify_answers(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["cp-notify"]) as sim,
                connected(sim) as probe,
            ):
                assert await probe.command("00") == "800001"

        run(scenario())

    def test_cp_mute_quirk_never_answers_but_obeys(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(quirks=["cp-mute"]) as sim, connected(sim) as probe:
                await probe.write("00")
                await probe.write("07")
                assert await probe.no_answer_within(5.0)
                assert sim.model.state is MachineState.RUNNING

        run(scenario())

    def test_no_control_point_quirk_has_no_control_point(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["no-control-point"]) as sim,
                connected(sim) as probe,
            ):
                assert probe.client.services.get_characteristic(CONTROL_POINT) is None
                assert probe.client.services.get_characteristic(TREADMILL_DATA) is not None

        run(scenario())

    def test_every_write_is_in_the_trace_with_its_result(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await probe.command("00")
                await probe.command("55")
                writes = [r for r in sim.trace.records if r["kind"] == "control_point_write"]
                assert [(w["data_hex"], w["result"]) for w in writes] == [
                    ("00", "SUCCESS"),
                    ("55", "OP_CODE_NOT_SUPPORTED"),
                ]

        run(scenario())


class TestBehaviourQuirks:
    def test_start_toggles_quirk_pauses_a_running_belt_on_start(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["start-toggles"]) as sim,
                connected(sim) as probe,
            ):
                await probe.start_at("f401")
                assert await probe.command("07") == "800701"
                await asyncio.sleep(5)
                assert probe.statuses[-1] == "0202"
                assert sim.model.state is MachineState.PAUSED

        run(scenario())

    def test_ignores_stop_quirk_answers_success_and_keeps_the_belt_running(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["ignores-stop"]) as sim,
                connected(sim) as probe,
            ):
                await probe.start_at("f401")
                await belt_settles()
                assert await probe.command("0801") == "800801"
                await belt_settles()
                assert sim.model.belt_speed_kmh == pytest.approx(5.0)
                assert probe.speeds_kmh()[-1] == pytest.approx(5.0)

        run(scenario())

    def test_stop_unannounced_quirk_stops_from_the_console_without_status(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["stop-unannounced"]) as sim,
                connected(sim) as probe,
            ):
                sim.press_start()
                await asyncio.sleep(3)
                sim.press_stop()
                await asyncio.sleep(3)
                assert probe.statuses == ["04"]
                assert sim.model.belt_speed_kmh == 0.0

        run(scenario())

    def test_min_speed_snapback_quirk_accepts_a_low_target_then_snaps_to_the_minimum(
        self,
    ) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(quirks=["min-speed-snapback"]) as sim,
                connected(sim) as probe,
            ):
                await probe.start_at("1e00")  # 0.3 km/h, below the 0.5 minimum
                await asyncio.sleep(4)
                assert probe.statuses[-1] == "053200"
                assert sim.model.target_speed_kmh == pytest.approx(0.5)

        run(scenario())


async def raw_answer_kind(sim: VirtualTreadmill) -> str:
    """Subscribe to the control point with a bare bumble central; say how the answer came."""
    central = sim.radio.create_device("raw-central")
    await central.power_on()
    connection = await central.connect(Address(sim.address))
    peer = Peer(connection)
    await peer.discover_services()
    for service in peer.services:
        await service.discover_characteristics()
    (control_point,) = peer.gatt_client.get_characteristics_by_uuid(UUID("2AD9"))
    await peer.subscribe(control_point, prefer_notify=False)
    kinds: asyncio.Queue[str] = asyncio.Queue()
    client = peer.gatt_client
    client.indication_subscribers[control_point.handle] = {lambda _: kinds.put_nowait("indication")}
    client.notification_subscribers[control_point.handle] = {
        lambda _: kinds.put_nowait("notification")
    }
    await client.write_value(control_point, b"\x00", with_response=True)
    async with asyncio.timeout(2):
        kind = await kinds.get()
    await connection.disconnect()
    return kind


class TestFaults:
    def test_disconnect_drops_the_link_and_the_treadmill_comes_back_after_the_pause(
        self,
    ) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(faults=["disconnect@5:3"]) as sim:
                lost = asyncio.Event()
                client = BleakClient(
                    sim.ble_device, lambda _: lost.set(), backend=sim.client_backend
                )
                await client.connect()
                await lost.wait()
                assert sim.session_s == pytest.approx(5.0, abs=0.01)
                assert not client.is_connected
                with pytest.raises(TimeoutError):
                    await BleakClient(
                        sim.ble_device, backend=sim.client_backend, timeout=1.0
                    ).connect()
                await asyncio.sleep(3.0)
                async with BleakClient(sim.ble_device, backend=sim.client_backend) as again:
                    assert again.is_connected
                links = [r["link_state"] for r in sim.trace.records if r["kind"] == "link"]
                assert links[:3] == ["up", "down", "up"]

        run(scenario())

    def test_stall_sends_no_treadmill_data_for_its_duration(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(faults=["stall@3:4"]) as sim, connected(sim) as probe:
                await asyncio.sleep(12)
                times = [t for t, _ in probe.data]
                gaps = [b - a for a, b in itertools.pairwise(times)]
                assert max(gaps) >= 4.0
                assert sum(gap > 1.5 for gap in gaps) == 1
                assert sim.link_up

        run(scenario())

    def test_a_stall_started_by_hand_sends_no_data_from_that_moment(self) -> None:
        """The console's 'g' key: a stall from now on, as stall@now:4 would be."""

        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await asyncio.sleep(3)
                started_s = now_s()
                sim.peripheral.inject(FaultKind.STALL, 4.0)
                await asyncio.sleep(8)
                times = [t for t, _ in probe.data]
                gaps = [(a, b - a) for a, b in itertools.pairwise(times) if b - a > 1.5]
                ((gap_from_s, gap_s),) = gaps
                assert gap_from_s <= started_s + 0.01
                assert gap_s >= 4.0
                assert sim.link_up
                faults = [r for r in sim.trace.records if r["kind"] == "fault"]
                assert [(f["fault"], f["duration_s"]) for f in faults] == [("stall", 4.0)]

        run(scenario())

    def test_a_link_dropped_by_hand_comes_back_after_the_pause(self) -> None:
        """The console's 'd' key: the link drops now and returns after its duration."""

        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                lost = asyncio.Event()
                client = BleakClient(
                    sim.ble_device, lambda _: lost.set(), backend=sim.client_backend
                )
                await client.connect()
                await asyncio.sleep(2)
                dropped_s = sim.session_s
                sim.peripheral.inject(FaultKind.DISCONNECT, 3.0)
                await lost.wait()
                assert sim.session_s == pytest.approx(dropped_s, abs=0.1)
                with pytest.raises(TimeoutError):
                    await BleakClient(
                        sim.ble_device, backend=sim.client_backend, timeout=1.0
                    ).connect()
                await asyncio.sleep(3.0)
                async with BleakClient(sim.ble_device, backend=sim.client_backend) as again:
                    assert again.is_connected

        run(scenario())

    def test_only_faults_with_a_duration_are_started_by_hand(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                with pytest.raises(ValueError, match="safety-key"):
                    sim.peripheral.inject(FaultKind.SAFETY_KEY, 1.0)

        run(scenario())

    def test_frozen_sends_byte_identical_frames(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(faults=["frozen@6:4"]) as sim,
                connected(sim) as probe,
            ):
                await probe.start_at("f401")
                await asyncio.sleep(12)
                frames = [frame for _, frame in probe.data]
                repeats = [a == b for a, b in itertools.pairwise(frames)]
                assert sum(repeats) >= 3
                assert frames[-1] != frames[-2]

        run(scenario())

    def test_cp_silent_accepts_writes_without_answering_then_answers_again(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(faults=["cp-silent@2:5"]) as sim,
                connected(sim) as probe,
            ):
                await asyncio.sleep(3 - sim.session_s)
                await probe.write("00")
                await probe.write("07")
                assert await probe.no_answer_within(3.0)
                assert sim.model.state is MachineState.RUNNING
                await asyncio.sleep(2)
                assert await probe.command("0801") == "800801"

        run(scenario())

    def test_cp_reject_answers_every_command_operation_failed(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(faults=["cp-reject@2:5"]) as sim,
                connected(sim) as probe,
            ):
                await asyncio.sleep(3 - sim.session_s)
                assert await probe.command("00") == "800004"
                await asyncio.sleep(5)
                assert await probe.command("00") == "800001"

        run(scenario())

    def test_safety_key_stops_the_belt_and_announces_it(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(faults=["safety-key@12"]) as sim,
                connected(sim) as probe,
            ):
                await probe.start_at("f401")
                await asyncio.sleep(15)
                assert "03" in probe.statuses
                assert sim.model.belt_speed_kmh == 0.0
                assert not sim.model.safety_key_in
                assert await probe.command("07") == "800704"

        run(scenario())

    def test_console_speed_moves_the_belt_by_itself_and_announces_it(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill(faults=["console-speed@12:3"]) as sim,
                connected(sim) as probe,
            ):
                await probe.start_at("f401")
                await asyncio.sleep(15)
                assert probe.statuses[-1] == "052c01"
                assert sim.model.belt_speed_kmh == pytest.approx(3.0)
                assert probe.speeds_kmh()[-1] == pytest.approx(3.0)

        run(scenario())


class TestConsoleControls:
    def test_pulling_the_safety_key_from_a_test_is_announced_at_once(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                await probe.start_at("f401")
                await asyncio.sleep(0.5)
                sim.pull_safety_key()
                await asyncio.sleep(0.01)
                assert probe.statuses[-1] == "03"

        run(scenario())

    def test_console_start_and_speed_keys_are_announced(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim, connected(sim) as probe:
                sim.press_start()
                sim.press_speed_up()
                await asyncio.sleep(0.01)
                assert probe.statuses == ["04", "056e00"]

        run(scenario())

    def test_dropping_the_link_from_a_test_tells_the_client(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                lost = asyncio.Event()
                client = BleakClient(
                    sim.ble_device, lambda _: lost.set(), backend=sim.client_backend
                )
                await client.connect()
                await sim.drop_link(1.0)
                await asyncio.wait_for(lost.wait(), timeout=0.5)
                with pytest.raises(BleakError, match="Not connected"):
                    await client.read_gatt_char(FEATURE)

        run(scenario())

"""The virtual radio and its bleak backends behave like bleak on real hardware.

Scanning, connecting, service discovery, MTU, CCCD subscriptions, writes with and
without response, ATT errors and link loss, all through bleak's public API.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_16
from bumble import hci

from simulator import VirtualRadio, cli, open_virtual_treadmill
from simulator.bleak_backend import (
    VirtualBleakClient,
    VirtualBleakScanner,
    VirtualDeviceDetails,
    client_backend_for,
)
from simulator.radio import DEFAULT_ADDRESS
from simulator.trace import TraceWriter
from treadmill_ctl.session.clock import run_accelerated

if TYPE_CHECKING:
    from collections.abc import Coroutine

FTMS = normalize_uuid_16(0x1826)
CCCD = normalize_uuid_16(0x2902)


def run(scenario: Coroutine[object, object, None]) -> None:
    run_accelerated(scenario)


class TestScanner:
    def test_scanner_finds_the_treadmill_with_name_service_and_service_data(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(name="WALKER") as sim:
                found = await BleakScanner.find_device_by_filter(
                    lambda _, adv: FTMS in adv.service_uuids,
                    timeout=5.0,
                    backend=sim.scanner_backend,
                )
                assert found is not None
                assert found.address == sim.address
                assert found.name == "WALKER"
                async with BleakScanner(backend=sim.scanner_backend) as scanner:
                    await asyncio.sleep(1.0)
                    _, adv = scanner.discovered_devices_and_advertisement_data[sim.address]
                assert adv.local_name == "WALKER"
                assert adv.service_data[FTMS] == bytes([0x01, 0x01, 0x00])
                assert adv.rssi < 0

        run(scenario())

    def test_a_long_name_is_advertised_shortened(self) -> None:
        async def scenario() -> None:
            long_name = "A-VERY-LONG-TREADMILL-NAME-1234"
            async with open_virtual_treadmill(name=long_name) as sim:
                async with BleakScanner(backend=sim.scanner_backend) as scanner:
                    await asyncio.sleep(1.0)
                    _, adv = scanner.discovered_devices_and_advertisement_data[sim.address]
                assert adv.local_name is not None
                assert long_name.startswith(adv.local_name)
                assert FTMS in adv.service_uuids

        run(scenario())

    def test_a_service_filter_for_another_service_hides_the_treadmill(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                heart_rate = normalize_uuid_16(0x180D)
                async with BleakScanner(
                    service_uuids=[heart_rate], backend=sim.scanner_backend
                ) as scanner:
                    await asyncio.sleep(1.0)
                assert scanner.discovered_devices == []

        run(scenario())

    def test_a_scanned_device_connects_with_the_unbound_backend(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                found = await BleakScanner.find_device_by_address(
                    sim.address, timeout=5.0, backend=sim.scanner_backend
                )
                assert found is not None
                assert isinstance(found.details, VirtualDeviceDetails)
                async with BleakClient(found, backend=VirtualBleakClient) as client:
                    assert client.is_connected

        run(scenario())

    def test_a_scanner_without_a_radio_refuses_to_start(self) -> None:
        async def scenario() -> None:
            with pytest.raises(BleakError, match="virtual radio"):
                await BleakScanner(backend=VirtualBleakScanner).start()

        run(scenario())


class TestClient:
    def test_connect_negotiates_the_mtu_and_discovers_ftms_and_device_information(
        self,
    ) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill() as sim,
                BleakClient(sim.ble_device, backend=sim.client_backend) as client,
            ):
                assert client.mtu_size == 247
                assert client.services.get_service("1826") is not None
                assert client.services.get_service("180a") is not None
                data = client.services.get_characteristic("2acd")
                control_point = client.services.get_characteristic("2ad9")
                assert data is not None
                assert control_point is not None
                assert data.properties == ["notify"]
                assert control_point.properties == ["write", "indicate"]
                assert control_point.get_descriptor(CCCD) is not None
                assert control_point.max_write_without_response_size == 244

        run(scenario())

    def test_the_services_argument_limits_discovery(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill() as sim,
                BleakClient(
                    sim.ble_device, services=["1826"], backend=sim.client_backend
                ) as client,
            ):
                assert [s.uuid for s in client.services] == [FTMS]

        run(scenario())

    def test_start_notify_writes_the_cccd_for_notify_or_indicate_and_stop_clears_it(
        self,
    ) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill() as sim,
                BleakClient(sim.ble_device, backend=sim.client_backend) as client,
            ):
                data = client.services.get_characteristic("2acd")
                control_point = client.services.get_characteristic("2ad9")
                assert data is not None
                assert control_point is not None
                data_cccd = data.get_descriptor(CCCD)
                cp_cccd = control_point.get_descriptor(CCCD)
                assert data_cccd is not None
                assert cp_cccd is not None
                assert await client.read_gatt_descriptor(data_cccd.handle) == b"\x00\x00"
                await client.start_notify(data, lambda *_: None)
                await client.start_notify(control_point, lambda *_: None)
                assert await client.read_gatt_descriptor(data_cccd.handle) == b"\x01\x00"
                assert await client.read_gatt_descriptor(cp_cccd.handle) == b"\x02\x00"
                await client.stop_notify(data)
                assert await client.read_gatt_descriptor(data_cccd.handle) == b"\x00\x00"

        run(scenario())

    def test_no_values_arrive_after_stop_notify(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill() as sim,
                BleakClient(sim.ble_device, backend=sim.client_backend) as client,
            ):
                frames: list[bytearray] = []
                await client.start_notify("2acd", lambda _, value: frames.append(value))
                await asyncio.sleep(3.5)
                await client.stop_notify("2acd")
                seen = len(frames)
                await asyncio.sleep(3.0)
                assert seen == 3
                assert len(frames) == seen
                assert all(isinstance(frame, bytearray) for frame in frames)

        run(scenario())

    def test_write_without_response_reaches_the_peripheral(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill() as sim,
                BleakClient(sim.ble_device, backend=sim.client_backend) as client,
            ):
                answers: asyncio.Queue[bytes] = asyncio.Queue()
                await client.start_notify("2ad9", lambda _, v: answers.put_nowait(bytes(v)))
                await client.write_gatt_char("2ad9", b"\x00", response=False)
                async with asyncio.timeout(2):
                    assert await answers.get() == bytes.fromhex("800001")

        run(scenario())

    def test_an_att_error_becomes_bleaks_protocol_error_with_the_att_text(self) -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill() as sim,
                BleakClient(sim.ble_device, backend=sim.client_backend) as client,
            ):
                with pytest.raises(BleakGATTProtocolError, match="Improperly Configured"):
                    await client.write_gatt_char("2ad9", b"\x00", response=True)
                with pytest.raises(BleakGATTProtocolError, match="Read Not Permitted"):
                    await client.read_gatt_char("2ad9")

        run(scenario())

    def test_a_dropped_link_calls_the_disconnected_callback_once(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                calls: list[BleakClient] = []
                client = BleakClient(sim.ble_device, calls.append, backend=sim.client_backend)
                await client.connect()
                await sim.drop_link(2.0)
                await asyncio.sleep(0.1)
                assert calls == [client]
                assert not client.is_connected
                await client.disconnect()
                assert calls == [client]

        run(scenario())

    def test_an_operation_cut_short_by_a_lost_link_raises_bleak_error(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                calls: list[BleakClient] = []
                client = BleakClient(sim.ble_device, calls.append, backend=sim.client_backend)
                await client.connect()
                read = asyncio.create_task(client.read_gatt_char("2ad4"))
                await asyncio.sleep(0)  # the read request is on the air
                sim.time_out_link()  # each side gives up on its own, nothing said
                with pytest.raises(BleakError, match="link to the peripheral was lost"):
                    await read
                await asyncio.sleep(0.1)
                assert calls == [client]
                assert not sim.link_up  # the treadmill noticed too
                await client.connect()  # and the link can be made again
                assert await client.read_gatt_char("2ad4")
                await client.disconnect()

        run(scenario())

    def test_an_own_disconnect_does_not_call_the_disconnected_callback(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                calls: list[BleakClient] = []
                client = BleakClient(sim.ble_device, calls.append, backend=sim.client_backend)
                await client.connect()
                await client.disconnect()
                await client.disconnect()
                await asyncio.sleep(1.0)
                assert calls == []
                assert not client.is_connected
                assert sim.link_up is False

        run(scenario())

    def test_a_client_can_connect_again_after_disconnecting(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                client = BleakClient(sim.ble_device, backend=sim.client_backend)
                for _ in range(3):
                    await client.connect()
                    assert await client.read_gatt_char("2ad4")
                    await client.disconnect()

        run(scenario())

    def test_connecting_to_a_silent_treadmill_times_out(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill() as sim:
                await sim.drop_link(60.0)
                client = BleakClient(sim.ble_device, backend=sim.client_backend, timeout=5.0)
                with pytest.raises(TimeoutError):
                    await client.connect()
                assert sim.session_s < 10

        run(scenario())

    def test_an_address_with_no_radio_is_refused_clearly(self) -> None:
        async def scenario() -> None:
            with pytest.raises(BleakError, match="not on a virtual radio"):
                await BleakClient("F0:00:00:00:00:01", backend=VirtualBleakClient).connect()

        run(scenario())

    def test_a_backend_bound_to_an_empty_radio_finds_nobody(self) -> None:
        async def scenario() -> None:
            backend = client_backend_for(VirtualRadio())
            client = BleakClient("F0:00:00:00:00:01", backend=backend, timeout=2.0)
            with pytest.raises(TimeoutError):
                await client.connect()

        run(scenario())


class TestHciLogging:
    """bumble's per-packet debug lines cost nothing while off, and are all there when on."""

    @staticmethod
    def _connect_and_read() -> None:
        async def scenario() -> None:
            async with (
                open_virtual_treadmill() as sim,
                BleakClient(sim.ble_device, backend=sim.client_backend) as client,
            ):
                await client.read_gatt_char("2a24")  # the model number: ACL data both ways

        run(scenario())

    def test_with_debug_off_no_packet_is_described(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        described: list[str] = []

        def describe(packet: hci.HCI_Packet) -> str:
            described.append(type(packet).__name__)
            return "packet"

        for kind in (hci.HCI_AclDataPacket, hci.HCI_Command, hci.HCI_Event):
            monkeypatch.setattr(kind, "__str__", describe)
        with caplog.at_level(logging.INFO, logger="bumble"):
            self._connect_and_read()
        assert described == []

    def test_with_debug_on_every_packet_is_logged_both_ways(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.DEBUG, logger="bumble"):
            self._connect_and_read()
        for logger in ("bumble.controller", "bumble.host"):
            for way in ("HOST -> CONTROLLER", "CONTROLLER -> HOST"):
                acl = [
                    record
                    for record in caplog.records
                    if record.name == logger
                    and way in record.getMessage()
                    and "handle=0x" in record.getMessage()
                ]
                assert acl, f"{logger}: no ACL data packet {way} logged"


class TestCommandLine:
    def test_an_unopenable_transport_is_one_clear_line_and_exit_status_2(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli.main(["no-such-scheme:0", "--no-keys"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0
        assert err.startswith("treadmill-sim: cannot open transport 'no-such-scheme:0'")

    def test_an_unknown_quirk_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["vhci", "--sim-quirk", "warp-drive"])
        assert exit_info.value.code == 2
        assert "unknown simulator quirk 'warp-drive'" in capsys.readouterr().err

    def test_a_malformed_fault_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["vhci", "--sim-fault", "stall@soon"])
        assert exit_info.value.code == 2
        assert "stall@soon" in capsys.readouterr().err

    def test_the_command_line_can_serve_a_heart_rate_strap_on_a_second_transport(self) -> None:
        async def scenario() -> None:
            radio = VirtualRadio()
            stop = asyncio.Event()
            trace = TraceWriter()
            serving = asyncio.create_task(
                cli.serve_on(
                    radio.create_transport(),
                    name="CLI-SIM",
                    stop=stop,
                    trace=trace,
                    strap_transport=radio.create_transport(),
                )
            )
            strap = BLEDevice("F0:7E:AD:00:00:02", "SIM-HRM", VirtualDeviceDetails(radio))
            await asyncio.sleep(0.5)
            got: list[bytes] = []
            async with BleakClient(strap, backend=VirtualBleakClient) as client:
                await client.start_notify("2a37", lambda _, v: got.append(bytes(v)))
                await asyncio.sleep(5)
            stop.set()
            await serving
            assert len(got) >= 4
            assert all(value[0] & 0x06 == 0x06 and value[1] >= 60 for value in got)
            # the trace records what the strap sent, notification for notification
            sent = [r for r in trace.records if r["kind"] == "hr_strap" and r["sent"]]
            sent_hex = [r["data_hex"] for r in sent]
            got_hex = [v.hex() for v in got]
            assert any(sent_hex[i : i + len(got_hex)] == got_hex for i in range(len(sent_hex))), (
                sent_hex,
                got_hex,
            )

        run(scenario())

    def test_strap_faults_need_a_strap_transport(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["vhci", "--sim-fault", "strap-drop@5:5"])
        assert exit_info.value.code == 2
        assert "--hr-strap" in capsys.readouterr().err

    def test_the_command_line_peripheral_serves_ftms_on_a_transport(self) -> None:
        async def scenario() -> None:
            radio = VirtualRadio()
            stop = asyncio.Event()
            serving = asyncio.create_task(
                cli.serve_on(radio.create_transport(), name="CLI-SIM", stop=stop)
            )
            device = BLEDevice(DEFAULT_ADDRESS, "CLI-SIM", VirtualDeviceDetails(radio))
            await asyncio.sleep(0.5)
            async with BleakClient(device, backend=VirtualBleakClient) as client:
                answers: asyncio.Queue[bytes] = asyncio.Queue()
                await client.start_notify("2ad9", lambda _, v: answers.put_nowait(bytes(v)))
                for command in ("00", "07"):
                    await client.write_gatt_char("2ad9", bytes.fromhex(command), response=True)
                    assert (await answers.get())[2] == 0x01
                await asyncio.sleep(5)
            stop.set()
            peripheral = await serving
            assert peripheral.model.belt_speed_kmh == pytest.approx(1.0)

        run(scenario())

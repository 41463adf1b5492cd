"""The simulated heart-rate strap: its person, its own encoder, its faults, over the radio."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from bleak import BleakClient, BleakScanner
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import open_virtual_treadmill
from simulator.errors import FaultSpecError
from simulator.heart_rate_strap import (
    StrapFaultKind,
    encode_heart_rate_measurement,
    parse_strap_fault,
)
from simulator.person import BACKWARD_RATIO, HeartRatePerson, PersonConfig, walking_met
from treadmill_ctl.ftms.heart_rate import (
    BodySensorLocation,
    SensorContact,
    decode_body_sensor_location,
    decode_heart_rate_measurement,
)
from treadmill_ctl.session.clock import run_accelerated

if TYPE_CHECKING:
    from simulator.radio import VirtualTreadmill

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True)
MEASUREMENT = "00002a37-0000-1000-8000-00805f9b34fb"
LOCATION = "00002a38-0000-1000-8000-00805f9b34fb"


def walk(
    person: HeartRatePerson, seconds: float, speed_kmh: float, incline_pct: float = 0.0
) -> float:
    start = person._now_s
    t = start
    while t < start + seconds:
        t += 1.0
        person.advance(t, speed_kmh=speed_kmh, incline_pct=incline_pct)
    return person.heart_rate_bpm


class TestPerson:
    def test_backward_walking_costs_the_compendium_ratio(self) -> None:
        assert pytest.approx(1.395, abs=0.001) == BACKWARD_RATIO
        forward = walking_met(5.6, 0, backward=False)  # 3.5 mph
        assert forward == pytest.approx(3.67, abs=0.05)
        assert walking_met(5.6, 0, backward=True) == pytest.approx(forward * BACKWARD_RATIO)
        assert walking_met(0.0, 5, backward=True) == 1.0

    def test_the_rate_rises_with_speed_incline_and_backward_walking(self) -> None:
        person = HeartRatePerson(PersonConfig(drift_bpm_per_min=0))
        slow = person.steady_bpm(3.0, 0, backward=False)
        assert person.steady_bpm(5.0, 0, backward=False) > slow
        assert person.steady_bpm(3.0, 5, backward=False) > slow
        assert person.steady_bpm(3.0, 0, backward=True) > slow

    def test_the_rate_follows_with_a_lag_of_tens_of_seconds(self) -> None:
        person = HeartRatePerson(PersonConfig(drift_bpm_per_min=0, time_constant_s=30))
        goal = person.steady_bpm(5.0, 0, backward=False)
        rest = person.heart_rate_bpm
        after_30 = walk(person, 30, 5.0)
        # one time constant: about 63 % of the way
        assert (after_30 - rest) / (goal - rest) == pytest.approx(0.63, abs=0.03)
        assert walk(person, 300, 5.0) == pytest.approx(goal, abs=0.5)

    def test_the_rate_drifts_slowly_upward_while_walking(self) -> None:
        person = HeartRatePerson(PersonConfig(drift_bpm_per_min=0.2))
        settled = walk(person, 300, 4.0)
        later = walk(person, 600, 4.0)
        assert 1.5 < later - settled < 2.5

    def test_rr_intervals_agree_with_the_rate(self) -> None:
        person = HeartRatePerson()
        walk(person, 300, 5.0)
        person.take_beats()
        walk(person, 60, 5.0)
        beats = person.take_beats()
        assert len(beats) == pytest.approx(person.heart_rate_bpm, abs=3)
        assert 60 / (sum(beats) / len(beats)) == pytest.approx(person.heart_rate_bpm, abs=2)

    def test_a_rise_climbs_over_20_s_and_stays(self) -> None:
        person = HeartRatePerson()
        walk(person, 10, 3.0)
        person.rise_to(170)
        assert 110 < walk(person, 10, 3.0) < 170
        assert walk(person, 15, 3.0) == 170
        assert walk(person, 60, 0.0) == 170


class TestEncoder:
    @PROPERTY
    @given(
        st.integers(0, 0xFFFF),
        st.none() | st.booleans(),
        st.lists(st.floats(0.3, 2.4), max_size=12),
    )
    def test_the_clients_independent_decoder_reads_it_back(
        self,
        bpm: int,
        contact: bool | None,  # noqa: FBT001 - drawn by hypothesis
        rr: list[float],
    ) -> None:
        value = decode_heart_rate_measurement(
            encode_heart_rate_measurement(bpm, contact=contact, rr_intervals_s=rr)
        )
        assert value.heart_rate_bpm == bpm
        expected = {
            None: SensorContact.NOT_SUPPORTED,
            True: SensorContact.DETECTED,
            False: SensorContact.NOT_DETECTED,
        }[contact]
        assert value.contact is expected
        assert len(value.rr_intervals_s) == min(9, len(rr))
        for sent, read in zip(rr, value.rr_intervals_s, strict=False):
            assert read == pytest.approx(sent, abs=1 / 1024)
        assert value.notes == ()


class TestFaults:
    @pytest.mark.parametrize(
        ("spec", "kind", "at_s", "duration_s", "bpm"),
        [
            ("strap-drop@60:10", StrapFaultKind.DROP, 60, 10, None),
            ("strap-contact@5.5:8", StrapFaultKind.CONTACT, 5.5, 8, None),
            ("strap-spike@30:210", StrapFaultKind.SPIKE, 30, 0, 210),
            ("STRAP-RISE@90:165", StrapFaultKind.RISE, 90, 0, 165),
        ],
    )
    def test_specifications(
        self, spec: str, kind: StrapFaultKind, at_s: float, duration_s: float, bpm: float | None
    ) -> None:
        fault = parse_strap_fault(spec)
        assert (fault.kind, fault.at_s, fault.duration_s, fault.bpm) == (
            kind,
            at_s,
            duration_s,
            bpm,
        )

    @pytest.mark.parametrize(
        "spec", ["strap-drop@60", "strap-wobble@1:2", "strap-spike@x:1", "strap-rise@-1:150"]
    )
    def test_malformed_specifications_are_one_line_errors(self, spec: str) -> None:
        with pytest.raises(FaultSpecError, match=r"^fault ") as error:
            parse_strap_fault(spec)
        assert "\n" not in str(error.value)

    def test_strap_faults_without_a_strap_are_refused(self) -> None:
        async def scenario() -> None:
            with pytest.raises(FaultSpecError, match="--sim-hr-strap"):
                async with open_virtual_treadmill(faults=["strap-drop@1:1"]):
                    pass

        run_accelerated(scenario())


async def listen(sim: VirtualTreadmill, seconds: float) -> list[tuple[float, bytes]]:
    assert sim.hr_strap is not None
    got: list[tuple[float, bytes]] = []
    loop = asyncio.get_running_loop()
    async with BleakClient(sim.hr_strap.ble_device, backend=sim.client_backend) as client:
        location = decode_body_sensor_location(await client.read_gatt_char(LOCATION))
        assert location.location is BodySensorLocation.CHEST
        await client.start_notify(MEASUREMENT, lambda _, v: got.append((loop.time(), bytes(v))))
        await asyncio.sleep(seconds)
    return got


class TestOverTheRadio:
    def test_it_advertises_as_sim_hrm_with_the_heart_rate_service(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(hr_strap=True) as sim:
                found = await BleakScanner.discover(
                    timeout=2.0, backend=sim.scanner_backend, return_adv=True
                )
                names = {adv.local_name: adv.service_uuids for _, adv in found.values()}
                assert "0000180d-0000-1000-8000-00805f9b34fb" in names["SIM-HRM"]
                assert "SIM-TREADMILL" in names

        run_accelerated(scenario())

    def test_it_notifies_every_second_with_rr_and_the_trace_keeps_what_it_sent(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(hr_strap=True) as sim:
                got = await listen(sim, 20.0)
                assert 18 <= len(got) <= 21
                values = [decode_heart_rate_measurement(v) for _, v in got]
                assert all(v.is_valid and v.contact is SensorContact.DETECTED for v in values)
                assert sum(len(v.rr_intervals_s) for v in values) >= 15
                sent = [r for r in sim.trace.records if r["kind"] == "hr_strap" and r["sent"]]
                assert {bytes.fromhex(str(r["data_hex"])) for r in sent} >= {v for _, v in got}

        run_accelerated(scenario())

    def test_contact_loss_spike_and_drop(self) -> None:
        async def scenario() -> None:
            faults = ["strap-contact@5:4", "strap-spike@12:205", "strap-drop@16:6"]
            async with open_virtual_treadmill(hr_strap=True, faults=faults) as sim:
                got = await listen(sim, 15.0)
                values = [decode_heart_rate_measurement(v) for _, v in got]
                lost = [v for v in values if v.contact is SensorContact.NOT_DETECTED]
                assert 3 <= len(lost) <= 5
                assert all(v.heart_rate_bpm == 0 and not v.rr_intervals_s for v in lost)
                assert [v.heart_rate_bpm for v in values].count(205) == 1
                sent = [r for r in sim.trace.records if r["kind"] == "hr_strap"]
                lost_at = [float(str(r["t"])) for r in sent if r["contact"] is False]
                assert min(lost_at) >= 5
                assert max(lost_at) <= 9
                spiked = [float(str(r["t"])) for r in sent if r["heart_rate_bpm"] == 205]
                assert len(spiked) == 1
                assert 12 <= spiked[0] <= 13
                assert sim.hr_strap is not None
                await asyncio.sleep(3.0)
                assert not sim.hr_strap.link_up
                downs = [r for r in sim.trace.records if r["kind"] == "hr_strap_link"]
                assert downs

        run_accelerated(scenario())

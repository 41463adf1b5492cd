"""The simulated treadmill's physics, control point, console, quirks, faults and trace."""

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.encoding import (
    FitnessMachineStatus,
    MachineFeature,
    ResultCode,
    StopControl,
    TrainingStatusCode,
    TreadmillData,
    TreadmillDataFlag,
)
from simulator.errors import SimulatorError
from simulator.faults import FaultSchedule
from simulator.model import KMH_PER_MPH, MachineConfig, MachineState, TreadmillModel
from simulator.quirks import Quirk
from simulator.trace import TraceWriter


def speed_write(kmh: float) -> bytes:
    return b"\x02" + round(kmh * 100).to_bytes(2, "little")


def incline_write(pct: float) -> bytes:
    return b"\x03" + round(pct * 10).to_bytes(2, "little", signed=True)


def hexes(statuses: tuple[FitnessMachineStatus, ...] | list[FitnessMachineStatus]) -> list[str]:
    return [bytes(status).hex() for status in statuses]


def result_of(model: TreadmillModel, data: bytes) -> ResultCode:
    return model.handle_control_point(data).result


def controlled(
    *quirks: Quirk, config: MachineConfig | None = None, faults: FaultSchedule | None = None
) -> TreadmillModel:
    model = TreadmillModel(config, quirks=quirks, faults=faults)
    assert result_of(model, b"\x00") is ResultCode.SUCCESS
    return model


def running_at(kmh: float, *quirks: Quirk, faults: FaultSchedule | None = None) -> TreadmillModel:
    """A model with control taken, started, and its belt settled at ``kmh``."""
    model = controlled(*quirks, faults=faults)
    assert result_of(model, b"\x07") is ResultCode.SUCCESS
    assert result_of(model, speed_write(kmh)) is ResultCode.SUCCESS
    model.step(20.0)
    model.take_status_events()
    assert model.belt_speed_kmh == pytest.approx(kmh)
    return model


def frame(model: TreadmillModel) -> TreadmillData:
    (payload,) = model.treadmill_data_frames()
    return TreadmillData.from_bytes(payload)


class TestBeltPhysics:
    def test_a_new_machine_is_idle_with_the_belt_stopped(self) -> None:
        model = TreadmillModel()
        assert model.state is MachineState.IDLE
        assert model.belt_speed_kmh == 0.0
        assert model.safety_key_in

    def test_the_belt_speeds_up_at_the_configured_acceleration(self) -> None:
        model = controlled()
        model.handle_control_point(b"\x07")
        model.handle_control_point(speed_write(5.0))
        model.step(1.0)
        assert model.belt_speed_kmh == pytest.approx(1.5)
        model.step(1.0)
        assert model.belt_speed_kmh == pytest.approx(3.0)
        model.step(10.0)
        assert model.belt_speed_kmh == pytest.approx(5.0)

    def test_the_belt_slows_down_at_the_configured_deceleration(self) -> None:
        model = running_at(5.0)
        model.handle_control_point(speed_write(2.0))
        model.step(1.0)
        assert model.belt_speed_kmh == pytest.approx(3.5)

    def test_a_stop_slows_the_belt_faster_than_a_lower_target(self) -> None:
        model = running_at(6.0)
        model.handle_control_point(b"\x08\x01")
        model.step(1.0)
        assert model.belt_speed_kmh == pytest.approx(3.0)
        model.step(1.0)
        assert model.belt_speed_kmh == 0.0

    def test_acceleration_is_configurable(self) -> None:
        model = TreadmillModel(MachineConfig(accel_kmh_per_s=0.5))
        model.handle_control_point(b"\x00")
        model.handle_control_point(b"\x07")
        model.step(1.0)
        assert model.belt_speed_kmh == pytest.approx(0.5)

    def test_distance_is_the_integral_of_belt_speed(self) -> None:
        model = running_at(6.0)
        before_m = model.distance_m
        model.step(60.0)
        assert model.distance_m - before_m == pytest.approx(100.0)

    def test_distance_over_a_ramp_counts_the_average_speed(self) -> None:
        model = controlled()
        model.handle_control_point(b"\x07")
        model.handle_control_point(speed_write(3.0))
        model.step(2.0)  # 0 -> 3 km/h in exactly 2 s
        assert model.distance_m == pytest.approx(1.5 / 3.6 * 2.0)

    def test_one_big_step_equals_many_small_ones(self) -> None:
        big, small = running_at(3.0), running_at(3.0)
        for model in (big, small):
            model.handle_control_point(speed_write(9.0))
        big.step(30.0)
        for _ in range(300):
            small.step(0.1)
        assert big.distance_m == pytest.approx(small.distance_m)
        assert big.belt_speed_kmh == pytest.approx(small.belt_speed_kmh)
        assert big.elapsed_s == pytest.approx(small.elapsed_s)

    def test_elapsed_time_counts_only_while_running(self) -> None:
        model = running_at(3.0)
        assert model.elapsed_s == pytest.approx(20.0)
        model.handle_control_point(b"\x08\x02")
        model.step(30.0)
        assert model.elapsed_s == pytest.approx(20.0)
        model.handle_control_point(b"\x07")
        model.step(5.0)
        assert model.elapsed_s == pytest.approx(25.0)

    def test_advance_takes_absolute_time_and_ignores_going_back(self) -> None:
        model = TreadmillModel(start_s=100.0)
        model.advance(110.0)
        assert model.session_s == pytest.approx(10.0)
        model.advance(105.0)
        assert model.now_s == 110.0

    def test_a_negative_step_is_refused(self) -> None:
        with pytest.raises(SimulatorError):
            TreadmillModel().step(-1.0)

    def test_the_incline_motor_moves_at_its_rate(self) -> None:
        model = controlled()
        assert result_of(model, incline_write(5.0)) is ResultCode.SUCCESS
        model.step(4.0)
        assert model.incline_pct == pytest.approx(2.0)
        model.step(100.0)
        assert model.incline_pct == pytest.approx(5.0)

    def test_heart_rate_rises_with_speed_and_is_absent_without_a_sensor(self) -> None:
        model = running_at(6.0)
        resting = TreadmillModel().heart_rate_bpm
        assert resting is not None
        model.step(120.0)
        assert model.heart_rate_bpm is not None
        assert model.heart_rate_bpm > resting + 30
        bare = TreadmillModel(MachineConfig(heart_rate=False))
        assert bare.heart_rate_bpm is None
        assert frame(bare).heart_rate_bpm is None
        # the no-heart-rate quirk is such a machine, from the command line
        pad = running_at(6.0, Quirk.NO_HEART_RATE)
        pad.step(120.0)
        assert pad.heart_rate_bpm is None
        assert frame(pad).heart_rate_bpm is None
        assert not pad.feature().machine & MachineFeature.HEART_RATE_MEASUREMENT
        assert TreadmillModel().feature().machine & MachineFeature.HEART_RATE_MEASUREMENT

    def test_a_nonsense_config_is_refused(self) -> None:
        with pytest.raises(SimulatorError, match="accel_kmh_per_s"):
            MachineConfig(accel_kmh_per_s=0.0)
        with pytest.raises(SimulatorError):
            MachineConfig(min_speed_kmh=5.0, max_speed_kmh=1.0)


class TestControlPoint:
    def test_commands_before_request_control_are_not_permitted(self) -> None:
        model = TreadmillModel()
        for data in (b"\x07", speed_write(3.0), incline_write(1.0), b"\x08\x01", b"\x01"):
            assert result_of(model, data) is ResultCode.CONTROL_NOT_PERMITTED
        assert model.state is MachineState.IDLE

    def test_request_control_succeeds_and_is_answered_80_00_01(self) -> None:
        outcome = TreadmillModel().handle_control_point(b"\x00")
        assert bytes(outcome.response).hex() == "800001"
        assert outcome.statuses == ()

    def test_a_second_client_cannot_take_control(self) -> None:
        model = TreadmillModel()
        assert model.handle_control_point(b"\x00", client=1).result is ResultCode.SUCCESS
        assert model.handle_control_point(b"\x00", client=2).result is (
            ResultCode.CONTROL_NOT_PERMITTED
        )
        assert model.handle_control_point(b"\x07", client=2).result is (
            ResultCode.CONTROL_NOT_PERMITTED
        )
        assert model.has_control(1)
        assert not model.has_control(2)

    def test_control_is_lost_on_disconnect(self) -> None:
        model = controlled()
        model.client_disconnected()
        assert result_of(model, b"\x07") is ResultCode.CONTROL_NOT_PERMITTED

    def test_revoking_control_announces_ff(self) -> None:
        model = controlled()
        model.revoke_control()
        assert hexes(model.take_status_events()) == ["ff"]
        assert model.controller is None

    def test_start_runs_the_belt_and_announces_04(self) -> None:
        model = controlled()
        outcome = model.handle_control_point(b"\x07")
        assert bytes(outcome.response).hex() == "800701"
        assert hexes(outcome.statuses) == ["04"]
        assert model.state is MachineState.RUNNING
        model.step(10.0)
        assert model.belt_speed_kmh == pytest.approx(1.0)

    def test_start_on_a_running_belt_changes_nothing(self) -> None:
        model = running_at(4.0)
        outcome = model.handle_control_point(b"\x07")
        assert outcome.result is ResultCode.SUCCESS
        assert outcome.statuses == ()
        assert model.state is MachineState.RUNNING

    def test_a_target_set_while_idle_is_where_start_goes(self) -> None:
        model = controlled()
        model.handle_control_point(speed_write(2.5))
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0
        model.handle_control_point(b"\x07")
        model.step(5.0)
        assert model.belt_speed_kmh == pytest.approx(2.5)

    def test_set_target_speed_announces_05_with_the_target(self) -> None:
        outcome = controlled().handle_control_point(speed_write(4.5))
        assert outcome.result is ResultCode.SUCCESS
        assert hexes(outcome.statuses) == ["05c201"]

    def test_a_target_is_quantised_to_the_speed_increment(self) -> None:
        model = controlled()
        outcome = model.handle_control_point(speed_write(4.53))
        assert model.target_speed_kmh == pytest.approx(4.5)
        assert hexes(outcome.statuses) == ["05c201"]

    @pytest.mark.parametrize("kmh", [0.0, 0.49, 16.01, 655.35])
    def test_a_speed_outside_the_range_is_an_invalid_parameter(self, kmh: float) -> None:
        model = controlled()
        outcome = model.handle_control_point(speed_write(kmh))
        assert outcome.result is ResultCode.INVALID_PARAMETER
        assert outcome.statuses == ()
        assert model.target_speed_kmh == 0.0

    def test_set_target_inclination_is_quantised_and_announced_06(self) -> None:
        model = controlled()
        outcome = model.handle_control_point(incline_write(2.3))
        assert model.target_incline_pct == pytest.approx(2.5)
        assert hexes(outcome.statuses) == ["061900"]

    @pytest.mark.parametrize("pct", [-0.5, 15.5])
    def test_an_incline_outside_the_range_is_an_invalid_parameter(self, pct: float) -> None:
        assert result_of(controlled(), incline_write(pct)) is ResultCode.INVALID_PARAMETER

    def test_stop_stops_the_belt_and_announces_02_01(self) -> None:
        model = running_at(4.0)
        outcome = model.handle_control_point(b"\x08\x01")
        assert bytes(outcome.response).hex() == "800801"
        assert hexes(outcome.statuses) == ["0201"]
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0
        assert model.state is MachineState.IDLE
        assert model.target_speed_kmh == 0.0

    def test_pause_keeps_the_target_for_the_resume(self) -> None:
        model = running_at(4.0)
        outcome = model.handle_control_point(b"\x08\x02")
        assert hexes(outcome.statuses) == ["0202"]
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0
        assert model.state is MachineState.PAUSED
        resumed = model.handle_control_point(b"\x07")
        assert hexes(resumed.statuses) == ["04"]
        model.step(5.0)
        assert model.belt_speed_kmh == pytest.approx(4.0)

    def test_reset_stops_zeroes_announces_01_and_drops_control(self) -> None:
        model = running_at(4.0)
        outcome = model.handle_control_point(b"\x01")
        assert hexes(outcome.statuses) == ["01"]
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0
        assert model.distance_m < 5.0
        assert model.controller is None
        assert result_of(model, b"\x07") is ResultCode.CONTROL_NOT_PERMITTED

    def test_a_malformed_write_gets_its_result_even_without_control(self) -> None:
        model = TreadmillModel()
        assert bytes(model.handle_control_point(b"\x02\x01").response).hex() == "800203"
        assert bytes(model.handle_control_point(b"\x11").response).hex() == "801102"

    @given(
        st.lists(
            st.tuples(st.binary(max_size=4), st.floats(min_value=0.0, max_value=30.0)),
            max_size=25,
        )
    )
    def test_no_sequence_of_writes_crashes_or_drives_the_belt_out_of_range(
        self, writes: list[tuple[bytes, float]]
    ) -> None:
        model = TreadmillModel()
        for data, dt_s in writes:
            outcome = model.handle_control_point(data)
            assert isinstance(outcome.result, ResultCode)
            assert len(bytes(outcome.response)) == 3
            model.step(dt_s)
            assert 0.0 <= model.belt_speed_kmh <= model.config.max_speed_kmh + 1e-9
            assert 0.0 <= model.incline_pct <= model.config.max_incline_pct + 1e-9
            for payload in model.treadmill_data_frames():
                TreadmillData.from_bytes(payload)


class TestSafetyKeyAndConsole:
    def test_pulling_the_safety_key_stops_the_belt_fast_and_announces_03(self) -> None:
        model = running_at(10.0)
        model.pull_safety_key()
        assert hexes(model.take_status_events()) == ["03"]
        assert model.state is MachineState.STOPPED_BY_SAFETY_KEY
        model.step(1.0)
        assert model.belt_speed_kmh == pytest.approx(5.0)
        model.step(1.0)
        assert model.belt_speed_kmh == 0.0

    def test_nothing_starts_the_belt_while_the_key_is_out(self) -> None:
        model = running_at(3.0)
        model.pull_safety_key()
        assert result_of(model, b"\x07") is ResultCode.OPERATION_FAILED
        assert result_of(model, speed_write(3.0)) is ResultCode.OPERATION_FAILED
        model.press_start()
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0

    def test_putting_the_key_back_leaves_the_machine_idle(self) -> None:
        model = running_at(3.0)
        model.pull_safety_key()
        model.insert_safety_key()
        model.step(5.0)
        assert model.state is MachineState.IDLE
        assert model.belt_speed_kmh == 0.0
        assert result_of(model, b"\x07") is ResultCode.SUCCESS

    def test_console_start_announces_04(self) -> None:
        model = TreadmillModel()
        model.press_start()
        assert hexes(model.take_status_events()) == ["04"]
        assert model.state is MachineState.RUNNING

    def test_console_speed_keys_move_the_target_one_increment_and_announce_05(self) -> None:
        model = running_at(3.0)
        model.press_speed_up()
        assert model.target_speed_kmh == pytest.approx(3.1)
        model.press_speed_down()
        model.press_speed_down()
        assert model.target_speed_kmh == pytest.approx(2.9)
        assert hexes(model.take_status_events()) == ["053601", "052c01", "052201"]

    def test_console_stop_announces_02_01_and_pause_02_02(self) -> None:
        model = running_at(3.0)
        model.press_pause()
        model.press_start()
        model.press_stop()
        assert hexes(model.take_status_events()) == ["0202", "04", "0201"]
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0

    def test_the_outbox_empties_when_read(self) -> None:
        model = TreadmillModel()
        model.press_start()
        model.take_status_events()
        assert model.take_status_events() == []


class TestQuirks:
    def test_start_toggles_pauses_a_running_belt(self) -> None:
        model = running_at(3.0, Quirk.START_TOGGLES)
        outcome = model.handle_control_point(b"\x07")
        assert outcome.result is ResultCode.SUCCESS
        assert hexes(outcome.statuses) == ["0202"]
        model.step(5.0)
        assert model.state is MachineState.PAUSED
        assert model.belt_speed_kmh == 0.0

    def test_needs_start_refuses_speed_until_the_belt_runs(self) -> None:
        model = controlled(Quirk.NEEDS_START)
        assert result_of(model, speed_write(3.0)) is ResultCode.OPERATION_FAILED
        model.handle_control_point(b"\x07")
        assert result_of(model, speed_write(3.0)) is ResultCode.SUCCESS

    def test_mph_moves_the_belt_1_609_times_the_written_value(self) -> None:
        model = controlled(Quirk.MPH)
        model.handle_control_point(b"\x07")
        assert result_of(model, bytes.fromhex("026400")) is ResultCode.SUCCESS
        model.step(20.0)
        assert model.belt_speed_kmh == pytest.approx(KMH_PER_MPH)
        assert frame(model).speed_kmh == pytest.approx(1.0)

    def test_mph_reports_its_speed_range_in_mph(self) -> None:
        # 0.5..16 km/h is 0.31..9.94 mph, rounded inward to the 0.1 grid
        speed_range = TreadmillModel(quirks=[Quirk.MPH]).speed_range()
        assert bytes(speed_range).hex() == "2800de030a00"

    def test_mph_console_keys_step_and_announce_in_mph(self) -> None:
        model = controlled(Quirk.MPH)
        model.handle_control_point(bytes.fromhex("02c800"))  # 2.00 mph
        model.take_status_events()
        model.press_start()
        model.press_speed_up()
        assert hexes(model.take_status_events()) == ["04", "05d200"]
        assert model.target_speed_kmh == pytest.approx(2.1 * KMH_PER_MPH)

    def test_min_speed_snapback_accepts_a_low_target_then_snaps_back_after_3_s(self) -> None:
        model = running_at(2.0, Quirk.MIN_SPEED_SNAPBACK)
        assert result_of(model, speed_write(0.3)) is ResultCode.SUCCESS
        model.step(2.9)
        assert model.target_speed_kmh == pytest.approx(0.3)
        assert model.take_status_events() == []
        model.step(0.2)
        assert model.target_speed_kmh == pytest.approx(0.5)
        assert hexes(model.take_status_events()) == ["053200"]

    def test_without_snapback_a_new_target_cancels_nothing_and_low_is_invalid(self) -> None:
        assert result_of(running_at(2.0), speed_write(0.3)) is ResultCode.INVALID_PARAMETER

    def test_stop_unannounced_stops_silently_from_the_console(self) -> None:
        model = running_at(3.0, Quirk.STOP_UNANNOUNCED)
        model.press_stop()
        assert model.take_status_events() == []
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0

    def test_ignores_stop_answers_success_and_keeps_the_belt_running(self) -> None:
        model = running_at(4.0, Quirk.IGNORES_STOP)
        outcome = model.handle_control_point(b"\x08\x01")
        assert outcome.result is ResultCode.SUCCESS
        model.step(10.0)
        assert model.belt_speed_kmh == pytest.approx(4.0)
        model.pull_safety_key()
        model.step(5.0)
        assert model.belt_speed_kmh == 0.0

    def test_step_count_bit13_adds_a_step_count_to_the_data(self) -> None:
        model = running_at(4.2, Quirk.STEP_COUNT_BIT13)
        data = frame(model)
        assert data.flags & TreadmillDataFlag.STEP_COUNT
        assert data.step_count == int(model.distance_m / model.config.stride_m)
        assert data.step_count is not None
        assert data.step_count > 0
        assert frame(running_at(4.2)).step_count is None

    def test_split_records_sends_two_parts_with_more_data_on_the_first(self) -> None:
        model = running_at(4.0, Quirk.SPLIT_RECORDS)
        first, last = (TreadmillData.from_bytes(p) for p in model.treadmill_data_frames())
        assert first.flags & TreadmillDataFlag.MORE_DATA
        assert first.speed_kmh is None
        assert first.total_distance_m == int(model.distance_m)
        assert last.speed_kmh == pytest.approx(4.0)
        assert last.elapsed_s == 20


class TestFaultsInTheModel:
    def test_a_scheduled_safety_key_pull_happens_at_its_time_inside_a_long_step(self) -> None:
        model = running_at(10.0, faults=FaultSchedule.parse(["safety-key@21"]))
        model.step(1.5)  # t = 21.5: the key came out at 21.0
        assert model.state is MachineState.STOPPED_BY_SAFETY_KEY
        assert model.belt_speed_kmh == pytest.approx(7.5)
        assert hexes(model.take_status_events()) == ["03"]

    def test_a_console_speed_fault_moves_the_belt_by_itself_and_announces_05(self) -> None:
        model = running_at(3.0, faults=FaultSchedule.parse(["console-speed@25:4.5"]))
        model.step(10.0)
        assert model.belt_speed_kmh == pytest.approx(4.5)
        assert hexes(model.take_status_events()) == ["05c201"]

    def test_frozen_frames_are_byte_identical_until_the_fault_ends(self) -> None:
        model = running_at(3.0, faults=FaultSchedule.parse(["frozen@30:3"]))
        model.step(10.0)
        frozen = model.treadmill_data_frames()
        model.handle_control_point(speed_write(6.0))
        for _ in range(2):
            model.step(1.0)
            assert model.treadmill_data_frames() == frozen
        model.step(1.0)
        fresh = TreadmillData.from_bytes(model.treadmill_data_frames()[0])
        assert fresh.elapsed_s == 33
        assert fresh.speed_kmh == pytest.approx(6.0)

    def test_cp_reject_answers_operation_failed_and_changes_nothing(self) -> None:
        model = running_at(3.0, faults=FaultSchedule.parse(["cp-reject@20:5"]))
        outcome = model.handle_control_point(speed_write(5.0))
        assert bytes(outcome.response).hex() == "800204"
        assert outcome.statuses == ()
        model.step(5.0)
        assert model.target_speed_kmh == pytest.approx(3.0)
        assert result_of(model, speed_write(5.0)) is ResultCode.SUCCESS

    def test_the_model_applies_its_faults_even_if_the_server_drains_the_schedule(
        self,
    ) -> None:
        faults = FaultSchedule.parse(["disconnect@1", "safety-key@2"])
        model = TreadmillModel(faults=faults)
        assert [str(f) for f in faults.due(3.0)] == ["disconnect@1:5", "safety-key@2"]
        model.step(3.0)
        assert model.state is MachineState.STOPPED_BY_SAFETY_KEY

    def test_training_status_follows_the_state(self) -> None:
        model = TreadmillModel()
        assert model.training_status().status is TrainingStatusCode.IDLE
        model.press_start()
        assert model.training_status().status is TrainingStatusCode.MANUAL_MODE


class TestTrace:
    def test_a_sample_records_what_the_belt_really_did(self) -> None:
        trace = TraceWriter()
        model = running_at(3.0)
        trace.sample(20.0, model, link_up=False)
        (record,) = trace.records
        assert record["kind"] == "sample"
        assert record["belt_speed_kmh"] == pytest.approx(3.0)
        assert record["target_speed_kmh"] == pytest.approx(3.0)
        assert record["link_state"] == "down"
        assert record["state"] == "running"
        assert record["safety_key_in"] is True

    @given(
        t=st.floats(allow_nan=True, allow_infinity=True),
        numbers=st.lists(
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-9, 9)),
            min_size=5,
            max_size=5,
        ),
        key_in=st.booleans(),
        link_up=st.booleans(),
        state=st.sampled_from(MachineState),
    )
    def test_a_sample_line_in_a_file_is_the_json_of_the_sample_record(
        self,
        t: float,
        numbers: list[float],
        key_in: bool,  # noqa: FBT001 - drawn by hypothesis
        link_up: bool,  # noqa: FBT001 - drawn by hypothesis
        state: MachineState,
    ) -> None:
        machine = SimpleNamespace(
            belt_speed_kmh=numbers[0],
            target_speed_kmh=numbers[1],
            incline_pct=numbers[2],
            distance_m=numbers[3],
            elapsed_s=numbers[4],
            safety_key_in=key_in,
            state=state,
        )
        kept, stream = TraceWriter(), io.StringIO()
        kept.sample(t, machine, link_up=link_up)
        TraceWriter(stream).sample(t, machine, link_up=link_up)
        (record,) = kept.records
        assert stream.getvalue() == json.dumps(record, separators=(",", ":")) + "\n"

    def test_a_control_point_write_is_recorded_with_its_bytes_op_and_result(self) -> None:
        trace = TraceWriter()
        trace.control_point_write(1.25, bytes.fromhex("02f401"), ResultCode.SUCCESS)
        trace.control_point_write(2.0, b"\x42", ResultCode.OP_CODE_NOT_SUPPORTED)
        trace.control_point_write(3.0, b"\x07", None)
        assert trace.records[0] == {
            "t": 1.25,
            "kind": "control_point_write",
            "data_hex": "02f401",
            "op": "SET_TARGET_SPEED",
            "op_code": 2,
            "result": "SUCCESS",
            "result_code": 1,
        }
        assert trace.records[1]["op"] == "UNKNOWN"
        assert trace.records[2]["result"] is None

    def test_each_line_is_flushed_json_as_soon_as_it_is_written(self, tmp_path: Path) -> None:
        path = tmp_path / "trace.jsonl"
        with TraceWriter(path) as trace:
            trace.event(5.0, "fault", spec="stall@5:2")
            assert json.loads(path.read_text()) == {"t": 5.0, "kind": "fault", "spec": "stall@5:2"}
            assert trace.records == []

    def test_a_stream_given_is_written_and_left_open(self) -> None:
        stream = io.StringIO()
        trace = TraceWriter(stream)
        trace.event(0.0, "link", state="up")
        trace.close()
        assert not stream.closed
        assert json.loads(stream.getvalue())["state"] == "up"

    def test_stop_status_helper_matches_the_wire(self) -> None:
        assert bytes(FitnessMachineStatus.stopped_by_user(StopControl.STOP)) == b"\x02\x01"

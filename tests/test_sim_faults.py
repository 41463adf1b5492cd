"""Fault specifications, the fault schedule, and quirk names."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.errors import FaultSpecError, QuirkSpecError, SimulatorError
from simulator.faults import (
    DEFAULT_DISCONNECT_S,
    MODEL_FAULTS,
    Fault,
    FaultKind,
    FaultSchedule,
    parse_fault,
)
from simulator.quirks import Quirk, parse_quirks


class TestParseFault:
    @pytest.mark.parametrize(
        ("spec", "expected"),
        [
            ("disconnect@30", Fault(FaultKind.DISCONNECT, 30.0, DEFAULT_DISCONNECT_S)),
            ("disconnect@30:8", Fault(FaultKind.DISCONNECT, 30.0, 8.0)),
            ("stall@12.5:3", Fault(FaultKind.STALL, 12.5, 3.0)),
            ("frozen@0:4", Fault(FaultKind.FROZEN, 0.0, 4.0)),
            ("cp-silent@10:20", Fault(FaultKind.CP_SILENT, 10.0, 20.0)),
            ("cp-reject@10:0.5", Fault(FaultKind.CP_REJECT, 10.0, 0.5)),
            ("safety-key@45", Fault(FaultKind.SAFETY_KEY, 45.0)),
            ("console-speed@40:4.5", Fault(FaultKind.CONSOLE_SPEED, 40.0, speed_kmh=4.5)),
            (" STALL@1:2 ", Fault(FaultKind.STALL, 1.0, 2.0)),
        ],
    )
    def test_good_specs_parse_to_their_fault(self, spec: str, expected: Fault) -> None:
        assert parse_fault(spec) == expected

    def test_disconnect_lasts_five_seconds_by_default(self) -> None:
        assert DEFAULT_DISCONNECT_S == 5.0
        assert parse_fault("disconnect@1").duration_s == 5.0

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("stall", "expected KIND@T"),
            ("explode@3", "unknown kind 'explode'"),
            ("stall@3", "needs a duration"),
            ("frozen@x:3", "time 'x' is not a number"),
            ("stall@3:soon", "argument 'soon' is not a number"),
            ("stall@-1:3", "time must be a finite number >= 0"),
            ("stall@inf:3", "finite"),
            ("stall@nan:3", "finite"),
            ("stall@3:0", "duration must be > 0"),
            ("safety-key@3:2", "takes no argument"),
            ("console-speed@3", "needs a speed"),
            ("disconnect@3:0", "duration must be > 0"),
        ],
    )
    def test_bad_specs_give_a_one_line_error_saying_what_is_wrong(
        self, spec: str, message: str
    ) -> None:
        with pytest.raises(FaultSpecError, match=message) as caught:
            parse_fault(spec)
        assert "\n" not in str(caught.value)

    def test_unknown_kind_error_lists_the_valid_kinds(self) -> None:
        with pytest.raises(FaultSpecError, match="disconnect, stall, frozen"):
            parse_fault("boom@1")

    def test_fault_spec_error_is_a_simulator_error(self) -> None:
        with pytest.raises(SimulatorError):
            parse_fault("")

    @given(st.text(max_size=30))
    def test_any_text_parses_or_raises_fault_spec_error(self, spec: str) -> None:
        try:
            fault = parse_fault(spec)
        except FaultSpecError:
            return
        assert fault.at_s >= 0

    @pytest.mark.parametrize(
        "spec", ["disconnect@30:8", "safety-key@45", "console-speed@40:4.5", "stall@1.5:2"]
    )
    def test_a_fault_prints_as_the_spec_that_parses_back_to_it(self, spec: str) -> None:
        assert str(parse_fault(spec)) == spec
        assert parse_fault(str(parse_fault(spec))) == parse_fault(spec)


class TestFaultSchedule:
    def test_a_duration_fault_is_active_from_its_start_until_before_its_end(self) -> None:
        schedule = FaultSchedule.parse(["stall@10:5"])
        assert not schedule.is_active(FaultKind.STALL, 9.99)
        assert schedule.is_active(FaultKind.STALL, 10.0)
        assert schedule.is_active(FaultKind.STALL, 14.99)
        assert not schedule.is_active(FaultKind.STALL, 15.0)
        assert not schedule.is_active(FaultKind.FROZEN, 12.0)

    def test_active_until_gives_the_end_of_the_active_fault(self) -> None:
        schedule = FaultSchedule.parse(["disconnect@10", "disconnect@12:10"])
        assert schedule.active_until(FaultKind.DISCONNECT, 5) is None
        assert schedule.active_until(FaultKind.DISCONNECT, 11) == 15.0
        assert schedule.active_until(FaultKind.DISCONNECT, 13) == 22.0

    def test_active_lists_the_faults_in_effect(self) -> None:
        schedule = FaultSchedule.parse(["stall@1:5", "cp-reject@2:1", "safety-key@2"])
        assert [f.kind for f in schedule.active(2.5)] == [FaultKind.STALL, FaultKind.CP_REJECT]

    def test_one_shot_faults_are_never_active_only_due(self) -> None:
        schedule = FaultSchedule.parse(["safety-key@3"])
        assert not schedule.is_active(FaultKind.SAFETY_KEY, 3.0)
        assert schedule.due(3.0) == [Fault(FaultKind.SAFETY_KEY, 3.0)]

    def test_each_fault_is_due_once_when_its_time_has_come(self) -> None:
        schedule = FaultSchedule.parse(["safety-key@20", "disconnect@5", "console-speed@8:3"])
        assert schedule.due(4.9) == []
        assert [f.kind for f in schedule.due(8.0)] == [
            FaultKind.DISCONNECT,
            FaultKind.CONSOLE_SPEED,
        ]
        assert schedule.due(9.0) == []
        assert [f.kind for f in schedule.due(100.0)] == [FaultKind.SAFETY_KEY]
        assert schedule.due(200.0) == []

    def test_consumers_only_take_the_kinds_they_ask_for(self) -> None:
        schedule = FaultSchedule.parse(["safety-key@1", "disconnect@1"])
        assert [f.kind for f in schedule.due(2.0, MODEL_FAULTS)] == [FaultKind.SAFETY_KEY]
        assert [f.kind for f in schedule.due(2.0, {FaultKind.DISCONNECT})] == [FaultKind.DISCONNECT]
        assert schedule.due(2.0) == []

    def test_faults_are_kept_in_start_order(self) -> None:
        schedule = FaultSchedule.parse(["stall@9:1", "frozen@1:1"])
        assert [f.at_s for f in schedule.faults] == [1.0, 9.0]
        assert len(schedule) == 2

    def test_an_empty_schedule_is_falsy_and_never_active(self) -> None:
        schedule = FaultSchedule()
        assert not schedule
        assert not schedule.is_active(FaultKind.STALL, 0.0)
        assert schedule.due(1e9) == []

    def test_a_bad_spec_in_a_list_fails_the_whole_schedule(self) -> None:
        with pytest.raises(FaultSpecError, match="nope"):
            FaultSchedule.parse(["stall@1:1", "nope@2"])


class TestQuirks:
    def test_the_quirk_names_are_exactly_the_documented_ones(self) -> None:
        assert {q.value for q in Quirk} == {
            "start-toggles",
            "needs-start",
            "mph",
            "cp-notify",
            "cp-mute",
            "no-control-point",
            "min-speed-snapback",
            "stop-unannounced",
            "step-count-bit13",
            "split-records",
            "ignores-stop",
            "no-heart-rate",
        }

    def test_names_parse_to_quirks_ignoring_case_and_underscores(self) -> None:
        assert parse_quirks(["mph", " Needs_Start ", "mph"]) == frozenset(
            {Quirk.MPH, Quirk.NEEDS_START}
        )
        assert parse_quirks([]) == frozenset()

    def test_an_unknown_name_error_lists_every_valid_quirk(self) -> None:
        with pytest.raises(QuirkSpecError, match="unknown simulator quirk 'kph'") as caught:
            parse_quirks(["kph"])
        for quirk in Quirk:
            assert quirk.value in str(caught.value)


def test_a_fault_added_while_running_keeps_the_order_and_what_was_reported() -> None:
    schedule = FaultSchedule.parse(["stall@2:1", "cp-silent@20:5"])
    assert [f.kind for f in schedule.due(5.0)] == [FaultKind.STALL]
    schedule.add(Fault(FaultKind.DISCONNECT, 6.0, duration_s=3.0))
    assert [f.at_s for f in schedule.faults] == [2.0, 6.0, 20.0]
    assert schedule.is_active(FaultKind.DISCONNECT, 7.0)
    assert not schedule.is_active(FaultKind.DISCONNECT, 9.0)
    assert [f.kind for f in schedule.due(7.0)] == [FaultKind.DISCONNECT]
    assert [f.kind for f in schedule.due(30.0)] == [FaultKind.CP_SILENT]

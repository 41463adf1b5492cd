"""The remote command policy: what a cmd message may ask of the session."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from treadmill_ctl.session.events import ControlOutcome
from treadmill_ctl.telemetry.commands import (
    MAX_PAYLOAD_BYTES,
    CommandName,
    RefusalReason,
    Refused,
    RemoteCommand,
    decide,
    dispatch,
    dropped_reply_json,
    json_depth,
    reply_json,
)

SLOWS_OR_STOPS = {CommandName.STOP, CommandName.PAUSE, CommandName.END}


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def emergency_stop(self, source: str) -> None:
        self.calls.append(f"emergency_stop:{source}")

    def start(self, source: str) -> None:
        self.calls.append(f"start:{source}")

    def pause(self, source: str) -> None:
        self.calls.append(f"pause:{source}")

    def resume(self, source: str) -> None:
        self.calls.append(f"resume:{source}")

    def toggle_pause(self, source: str) -> None:
        self.calls.append(f"toggle_pause:{source}")

    def rearm(self, source: str) -> None:
        self.calls.append(f"rearm:{source}")

    def end(self, source: str) -> None:
        self.calls.append(f"end:{source}")

    def nudge_speed(self, delta_kmh: float, source: str) -> None:
        self.calls.append(f"nudge_speed({delta_kmh:+g}):{source}")


def _decide(payload: str | bytes, **options: bool) -> RemoteCommand | Refused:
    raw = payload.encode() if isinstance(payload, str) else payload
    return decide(raw, allow_remote_control=options.pop("allow", False), **options)


class TestStop:
    @pytest.mark.parametrize(
        "payload",
        [
            '{"command": "stop"}',
            '{"command": " STOP "}',
            '{"command": "emergency_stop"}',
            '{"command": "estop"}',
            "stop",
            "STOP\n",
            '{"command": "stop", "junk": [1, 2], "id": {"not": "valid"}}',
        ],
    )
    def test_stop_is_accepted_in_every_spelling_and_whatever_else_it_carries(
        self, payload: str
    ) -> None:
        outcome = _decide(payload)
        assert isinstance(outcome, RemoteCommand)
        assert outcome.name is CommandName.STOP

    def test_stop_is_accepted_on_the_broadcast_topic(self) -> None:
        assert isinstance(_decide('{"command": "stop"}', broadcast=True), RemoteCommand)

    def test_stop_becomes_an_emergency_stop_from_mqtt(self) -> None:
        control = _Recorder()
        dispatch(RemoteCommand(CommandName.STOP), control)
        assert control.calls == ["emergency_stop:mqtt"]


class TestPolicy:
    @pytest.mark.parametrize(
        ("payload", "call"),
        [
            ('{"command": "pause"}', "pause:mqtt"),
            ('{"command": "end"}', "end:mqtt"),
            ('{"command": "nudge_speed", "delta_kmh": -0.5}', "nudge_speed(-0.5):mqtt"),
        ],
    )
    def test_commands_that_slow_the_belt_are_accepted_without_remote_control(
        self, payload: str, call: str
    ) -> None:
        outcome = _decide(payload)
        assert isinstance(outcome, RemoteCommand)
        control = _Recorder()
        dispatch(outcome, control)
        assert control.calls == [call]

    @pytest.mark.parametrize(
        "payload",
        [
            '{"command": "toggle_pause"}',
            '{"command": "nudge_speed", "delta_kmh": 0.1}',
            '{"command": "set_speed", "speed_kmh": 3}',
        ],
    )
    def test_commands_that_move_or_speed_up_the_belt_need_remote_control(
        self, payload: str
    ) -> None:
        outcome = _decide(payload)
        assert isinstance(outcome, Refused)
        assert outcome.reason is RefusalReason.REMOTE_CONTROL_DISABLED

    @pytest.mark.parametrize("allow", [False, True])
    @pytest.mark.parametrize("name", ["start", "resume", "rearm"])
    def test_start_resume_and_rearm_are_never_accepted_from_remote(
        self, name: str, *, allow: bool
    ) -> None:
        outcome = _decide(json.dumps({"command": name}), allow=allow)
        assert isinstance(outcome, Refused)
        assert outcome.reason is RefusalReason.NEEDS_PERSON_AT_TREADMILL

    def test_remote_control_lets_a_nudge_up_through(self) -> None:
        control = _Recorder()
        for payload in (
            '{"command": "toggle_pause"}',
            '{"command": "nudge_speed", "delta_kmh": 0.5}',
        ):
            outcome = _decide(payload, allow=True)
            assert isinstance(outcome, RemoteCommand)
            dispatch(outcome, control)
        assert control.calls == ["toggle_pause:mqtt", "nudge_speed(+0.5):mqtt"]

    def test_set_speed_is_unsupported_even_with_remote_control(self) -> None:
        outcome = _decide('{"command": "set_speed", "speed_kmh": 3}', allow=True)
        assert isinstance(outcome, Refused)
        assert outcome.reason is RefusalReason.UNSUPPORTED

    def test_only_stop_and_pause_count_on_the_broadcast_topic(self) -> None:
        assert isinstance(_decide('{"command": "pause"}', broadcast=True), RemoteCommand)
        outcome = _decide('{"command": "end"}', broadcast=True, allow=True)
        assert isinstance(outcome, Refused)
        assert outcome.reason is RefusalReason.NOT_FOR_ALL

    def test_a_retained_command_is_a_replay_and_refused_even_a_stop(self) -> None:
        outcome = _decide('{"command": "stop", "id": "old"}', retained=True)
        assert isinstance(outcome, Refused)
        assert (outcome.reason, outcome.request_id) == (RefusalReason.RETAINED, "old")


class TestMalformed:
    @pytest.mark.parametrize(
        ("payload", "reason"),
        [
            (b"", RefusalReason.MALFORMED_JSON),
            (b"{", RefusalReason.MALFORMED_JSON),
            (b"\xc3\x28", RefusalReason.MALFORMED_JSON),
            (b'"stop please"', RefusalReason.NOT_AN_OBJECT),
            (b"null", RefusalReason.NOT_AN_OBJECT),
            (b'{"cmd": "stop"}', RefusalReason.MISSING_COMMAND),
            (b'{"command": 1}', RefusalReason.BAD_ARGUMENT),
            (b'{"command": "fly"}', RefusalReason.UNKNOWN_COMMAND),
            (b'{"command": "pause", "id": true}', RefusalReason.BAD_ARGUMENT),
            (b'{"command": "nudge_speed"}', RefusalReason.BAD_ARGUMENT),
            (b'{"command": "nudge_speed", "delta_kmh": 5}', RefusalReason.BAD_ARGUMENT),
            (b'{"command": "nudge_speed", "delta_kmh": NaN}', RefusalReason.BAD_ARGUMENT),
            (b'{"command": "nudge_speed", "delta_kmh": 0}', RefusalReason.BAD_ARGUMENT),
            (b'{"command": "stop"}' + b" " * 2000, RefusalReason.TOO_LARGE),
        ],
    )
    def test_malformed_commands_are_refused_with_their_reason(
        self, payload: bytes, reason: RefusalReason
    ) -> None:
        outcome = _decide(payload, allow=True)
        assert isinstance(outcome, Refused)
        assert outcome.reason is reason

    @given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
    @example(b'{"command": "start", "id": "x"}')
    @example(b'{"command": "nudge_speed", "delta_kmh": 1e308}')
    def test_no_payload_ever_starts_the_belt(self, payload: bytes) -> None:
        for allow in (False, True):
            outcome = decide(payload, allow_remote_control=allow)
            if isinstance(outcome, RemoteCommand):
                assert outcome.name not in {CommandName.START, CommandName.REARM}
                if not allow:
                    assert outcome.name in SLOWS_OR_STOPS or (outcome.delta_kmh or 0) < 0

    @given(
        st.dictionaries(
            st.sampled_from(["command", "id", "delta_kmh", "speed_kmh", "x"]),
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            max_size=4,
        )
    )
    def test_every_json_object_gets_a_command_or_a_reason_and_a_json_reply(
        self, message: dict[str, object]
    ) -> None:
        payload = json.dumps(message).encode()
        outcome = decide(payload, allow_remote_control=False)
        reply = json.loads(reply_json("tm1", outcome, topic="p/tm1/cmd"))
        assert reply["accepted"] is isinstance(outcome, RemoteCommand)
        if isinstance(outcome, Refused):
            assert reply["reason"] in set(RefusalReason)


class TestReplies:
    def test_a_refusal_reply_echoes_the_id_and_says_why(self) -> None:
        outcome = _decide('{"command": "start", "id": "abc"}')
        reply = json.loads(reply_json("lane3", outcome, topic="gym/lane3/cmd"))
        assert reply == {
            "treadmill_id": "lane3",
            "id": "abc",
            "topic": "gym/lane3/cmd",
            "command": "start",
            "accepted": False,
            "reason": "needs_person_at_treadmill",
            "detail": "start needs a person at the treadmill; it is never accepted over MQTT",
        }

    def test_an_accepted_reply_names_the_command(self) -> None:
        outcome = _decide('{"command": "pause", "id": 42}')
        reply = json.loads(reply_json("lane3", outcome, topic="gym/all/cmd"))
        assert (reply["command"], reply["accepted"], reply["id"]) == ("pause", True, 42)


class TestHostilePayloads:
    """Anyone on the broker can send anything: every payload gets an outcome, none raises."""

    def test_a_400_digit_delta_is_refused_not_an_overflow(self) -> None:
        payload = b'{"command": "nudge_speed", "delta_kmh": ' + b"9" * 400 + b"}"
        outcome = _decide(payload, allow=True)
        assert isinstance(outcome, Refused)
        assert outcome.reason is RefusalReason.BAD_ARGUMENT
        assert "delta_kmh" in outcome.detail

    @pytest.mark.parametrize(
        "junk",
        ["9" * 400, "-" + "9" * 400, "1e400", "NaN", "Infinity", "-Infinity", "[" * 7 + "]" * 7],
    )
    def test_a_stop_carrying_hostile_numbers_is_still_a_stop(self, junk: str) -> None:
        payload = f'{{"command": "stop", "id": {junk}, "delta_kmh": {junk}}}'.encode()
        outcome = _decide(payload)
        assert isinstance(outcome, RemoteCommand)
        assert outcome.name is CommandName.STOP
        assert outcome.request_id is None  # a number out of range is no id

    def test_a_huge_integer_id_is_not_echoed_and_the_command_is_refused(self) -> None:
        outcome = _decide('{"command": "pause", "id": ' + "7" * 30 + "}")
        assert isinstance(outcome, Refused)
        assert (outcome.reason, outcome.request_id) == (RefusalReason.BAD_ARGUMENT, None)

    @pytest.mark.parametrize("depth", [9, 100, 500])
    def test_deep_nesting_is_refused_before_json_parses_it(self, depth: int) -> None:
        payload = ('{"command": "pause", "x": ' + "[" * depth + "]" * depth + "}").encode()
        outcome = decide(payload[:MAX_PAYLOAD_BYTES], allow_remote_control=True)
        assert isinstance(outcome, Refused)
        assert outcome.reason is RefusalReason.MALFORMED_JSON

    def test_brackets_inside_strings_do_not_count_as_nesting(self) -> None:
        assert json_depth('{"a": "[[[[[[[[[[[[\\"[[[["}') == 1
        outcome = _decide('{"command": "pause", "id": "[[[[[[[[[[[[[[[[[["}')
        assert isinstance(outcome, RemoteCommand)

    def test_a_repeated_command_key_is_refused_unless_one_is_a_stop(self) -> None:
        twice = _decide('{"command": "pause", "command": "end"}')
        assert isinstance(twice, Refused)
        assert twice.reason is RefusalReason.BAD_ARGUMENT
        stop_hidden = _decide('{"command": "stop", "command": "start"}')
        assert isinstance(stop_hidden, RemoteCommand)
        assert stop_hidden.name is CommandName.STOP

    def test_control_characters_in_a_command_name_are_not_repeated_raw(self) -> None:
        outcome = _decide('{"command": "\\u001b[2Jfly"}')
        assert isinstance(outcome, Refused)
        assert "\x1b" not in outcome.detail

    @given(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.text(max_size=10)
            | st.sampled_from(["stop", "pause", "nudge_speed", "end", "start"]),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["command", "id", "delta_kmh", "x"]), children, max_size=4
                )
            ),
            max_leaves=12,
        ),
        st.booleans(),
        st.booleans(),
    )
    @example({"command": "nudge_speed", "delta_kmh": 10**400}, True, False)  # noqa: FBT003
    @example({"command": "stop", "id": 10**400}, False, False)  # noqa: FBT003
    @example({"command": "pause", "x": [[[[[[[[[[]]]]]]]]]]}, False, False)  # noqa: FBT003
    @settings(max_examples=400, deadline=None)
    def test_fuzz_any_json_value_gets_an_outcome_and_a_reply_never_an_exception(
        self,
        value: object,
        allow: bool,  # noqa: FBT001 - drawn by hypothesis
        retained: bool,  # noqa: FBT001
    ) -> None:
        try:
            payload = json.dumps(value).encode()
        except ValueError:
            return
        outcome = decide(payload, allow_remote_control=allow, retained=retained)
        reply = json.loads(reply_json("tm1", outcome, topic="p/tm1/cmd"))
        assert reply["accepted"] is isinstance(outcome, RemoteCommand)
        if isinstance(outcome, RemoteCommand):
            assert outcome.name not in {CommandName.START, CommandName.REARM}
            assert outcome.delta_kmh is None or abs(outcome.delta_kmh) <= 1.0

    @given(st.binary(max_size=MAX_PAYLOAD_BYTES + 8))
    @example(b"[" * 600 + b"]" * 400)
    @example(b'{"command": "nudge_speed", "delta_kmh": ' + b"9" * 900 + b"}")
    @example(b'{"command": "stop", "id": 1' + b"0" * 900 + b"}")
    @settings(max_examples=400, deadline=None)
    def test_fuzz_any_bytes_get_an_outcome_never_an_exception(self, payload: bytes) -> None:
        outcome = decide(payload, allow_remote_control=True)
        assert isinstance(outcome, RemoteCommand | Refused)
        json.loads(reply_json("tm1", outcome, topic="p/tm1/cmd"))


class _Answering(_Recorder):
    """A control that answers like the runner: refuses a pause while paused."""

    def __init__(self) -> None:
        super().__init__()
        self.paused = False

    def pause(self, source: str) -> ControlOutcome:  # type: ignore[override]
        super().pause(source)
        if self.paused:
            return ControlOutcome(accepted=False, detail="nothing to pause while paused")
        self.paused = True
        return ControlOutcome(accepted=True)


class TestTruthfulReplies:
    def test_a_pause_while_paused_is_answered_declined_with_the_governors_reason(self) -> None:
        control = _Answering()
        command = RemoteCommand(CommandName.PAUSE, request_id="p2")
        first = dispatch(command, control)
        second = dispatch(command, control)
        assert json.loads(reply_json("tm", first, topic="t"))["accepted"] is True
        reply = json.loads(reply_json("tm", second, topic="t"))
        assert (reply["accepted"], reply["reason"], reply["id"]) == (False, "declined", "p2")
        assert reply["detail"] == "nothing to pause while paused"

    def test_a_limit_the_governor_applied_is_in_the_reply(self) -> None:
        class Limiting(_Recorder):
            def nudge_speed(self, delta_kmh: float, source: str) -> ControlOutcome:  # type: ignore[override]
                super().nudge_speed(delta_kmh, source)
                return ControlOutcome(accepted=True, detail="target capped at 3.0 km/h")

        outcome = dispatch(RemoteCommand(CommandName.NUDGE_SPEED, delta_kmh=0.5), Limiting())
        reply = json.loads(reply_json("tm", outcome, topic="t"))
        assert (reply["accepted"], reply["detail"]) == (True, "target capped at 3.0 km/h")

    def test_dropped_commands_get_one_reply_with_their_count_and_ids(self) -> None:
        reply = json.loads(
            dropped_reply_json("tm", count=3, request_ids=["a", 2], topic="p/tm/cmd")
        )
        assert (reply["accepted"], reply["reason"], reply["dropped"]) == (False, "dropped", 3)
        assert reply["dropped_ids"] == ["a", 2]

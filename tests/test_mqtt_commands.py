"""The remote command policy: what a cmd message may ask of the session."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from treadmill_ctl.telemetry.commands import (
    CommandName,
    RefusalReason,
    Refused,
    RemoteCommand,
    decide,
    dispatch,
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

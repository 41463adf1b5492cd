"""Hotkeys: decoding what terminals and presenters send, bindings, and their dispatch."""

from __future__ import annotations

import asyncio
import os
import termios
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.session.clock import run_accelerated
from treadmill_ctl.session.events import SessionPhase, SessionSnapshot
from treadmill_ctl.ui.keys import (
    DEFAULT_BINDINGS,
    Bindings,
    HotkeyAction,
    HotkeyDispatcher,
    KeyDecoder,
    KeyReader,
    TerminalMode,
    key_label,
    parse_key_name,
    terminal_keys,
)

if TYPE_CHECKING:
    from fakes import RecordingControl

SEQUENCES: dict[bytes, str] = {
    b"\x1b[5~": "page_up",
    b"\x1b[6~": "page_down",
    b"\x1b[15~": "f5",
    b"\x1b[15;2~": "f5",  # Shift+F5, which some presenters send
    b"\x1b[[E": "f5",  # the Linux console
    b"\x1b[A": "up",
    b"\x1b[B": "down",
    b"\x1b[C": "right",
    b"\x1b[D": "left",
    b"\x1bOA": "up",  # application cursor mode
    b"\x1bOD": "left",
    b"\x1b[1;5A": "up",  # Ctrl+Up
    b"\x1b[H": "home",
    b"\x1b[3~": "delete",
    b"\x1bOP": "f1",
    b"\x1bOM": "enter",  # keypad Enter in application mode
    b"\x1bOk": "+",
    b"\x1bOm": "-",
    b"\x1bOn": ".",
    b"\x1bOq": "1",  # keypad 1 in application mode: a digit, never "q" (end)
    b"\x1bOp": "0",  # keypad 0: never "p" (pause)
    b"\x1b[1;3S": "f4",  # Alt+F4: F4, never "s"
    b"\r": "enter",
    b"\n": "enter",
    b" ": "space",
    b"s": "s",
    b"S": "s",
    b"b": "b",
    b"+": "+",
    b"-": "-",
    b".": ".",
    b"\x03": "ctrl+c",
    b"\x7f": "backspace",
}


def decode_all(data: bytes) -> list[str]:
    decoder = KeyDecoder()
    return decoder.feed(data) + decoder.flush()


class TestDecoding:
    @pytest.mark.parametrize(("data", "key"), SEQUENCES.items(), ids=repr)
    def test_each_sequence_decodes_to_its_key(self, data: bytes, key: str) -> None:
        decoder = KeyDecoder()
        assert decoder.feed(data) == [key]
        assert not decoder.pending

    @pytest.mark.parametrize("data", [b"\x1b[5~", b"\x1b[15~", b"\x1bOA", b"\x1b[1;5A"])
    def test_a_sequence_split_across_reads_anywhere_is_still_one_key(self, data: bytes) -> None:
        for cut in range(1, len(data)):
            decoder = KeyDecoder()
            assert decoder.feed(data[:cut]) == []
            assert decoder.pending
            assert decoder.feed(data[cut:]) == decode_all(data)

    def test_a_lone_escape_is_pending_until_flushed(self) -> None:
        decoder = KeyDecoder()
        assert decoder.feed(b"\x1b") == []
        pending_before = decoder.pending
        assert decoder.flush() == ["escape"]
        assert (pending_before, decoder.pending) == (True, False)
        assert decoder.flush() == []

    def test_escape_then_a_plain_key_is_two_keys_not_alt(self) -> None:
        assert KeyDecoder().feed(b"\x1b ") == ["escape", "space"]
        assert KeyDecoder().feed(b"\x1bq") == ["escape", "q"]

    def test_two_escapes_are_two_escape_keys(self) -> None:
        assert decode_all(b"\x1b\x1b") == ["escape", "escape"]

    def test_a_sequence_cut_short_is_the_escape_key(self) -> None:
        assert decode_all(b"\x1b[1") == ["escape"]
        assert decode_all(b"\x1b[1\rq") == ["escape", "enter", "q"]

    def test_cr_lf_is_one_enter(self) -> None:
        assert KeyDecoder().feed(b"\r\n") == ["enter"]
        assert KeyDecoder().feed(b"\n\n") == ["enter", "enter"]
        assert KeyDecoder().feed(b"\r\r") == ["enter", "enter"]

    def test_unknown_sequences_and_terminal_reports_are_unknown_keys(self) -> None:
        assert KeyDecoder().feed(b"\x1b[99~") == ["unknown"]
        assert KeyDecoder().feed(b"\x1b[?1;2c") == ["unknown"]

    def test_a_utf8_character_split_across_reads_is_one_key(self) -> None:
        decoder = KeyDecoder()
        encoded = "é".encode()
        assert decoder.feed(encoded[:1]) == []
        assert decoder.feed(encoded[1:]) == ["é"]

    @given(
        keys=st.lists(st.sampled_from(sorted(SEQUENCES)), max_size=12),
        cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
    )
    @example(keys=[b"\r", b"\n"], cuts=[1])
    @example(keys=[b"\x1b[A", b"\x1bOA"], cuts=[4])
    def test_how_input_is_split_never_changes_the_keys(
        self, keys: list[bytes], cuts: list[int]
    ) -> None:
        data = b"".join(keys)
        whole = decode_all(data)
        decoder = KeyDecoder()
        got: list[str] = []
        start = 0
        for cut in sorted(min(cut, len(data)) for cut in cuts):
            got += decoder.feed(data[start:cut])
            start = cut
        got += decoder.feed(data[start:]) + decoder.flush()
        assert got == whole

    @given(st.binary(max_size=64))
    def test_any_bytes_decode_without_error_and_flush_leaves_nothing_pending(
        self, data: bytes
    ) -> None:
        decoder = KeyDecoder()
        keys = decoder.feed(data) + decoder.flush()
        assert all(isinstance(key, str) and key for key in keys)
        assert not decoder.pending


class TestKeyNames:
    @pytest.mark.parametrize(
        ("name", "key"),
        [
            ("Esc", "escape"),
            ("PageUp", "page_up"),
            ("PgDn", "page_down"),
            ("F5", "f5"),
            (" ", "space"),
            ("B", "b"),
            ("plus", "+"),
            (".", "."),
            ("Enter", "enter"),
        ],
    )
    def test_common_spellings_name_the_decoded_key(self, name: str, key: str) -> None:
        assert parse_key_name(name) == key

    @pytest.mark.parametrize("name", ["pgupp", "f13", "", "ctrl+", "\x07"])
    def test_an_unknown_key_name_is_a_config_error(self, name: str) -> None:
        with pytest.raises(ConfigError, match="unknown key name"):
            parse_key_name(name)

    def test_labels_read_like_the_keyboard(self) -> None:
        assert [key_label(k) for k in ("page_up", "f5", "escape", "b")] == [
            "PgUp",
            "F5",
            "Esc",
            "b",
        ]


class TestBindings:
    def test_by_default_enter_starts_before_the_belt_moves_and_stops_after(self) -> None:
        assert DEFAULT_BINDINGS.action_for("enter", belt_started=False) is HotkeyAction.START
        assert (
            DEFAULT_BINDINGS.action_for("enter", belt_started=True) is HotkeyAction.EMERGENCY_STOP
        )

    @pytest.mark.parametrize(
        "key", ["space", "escape", "enter", "s", "page_up", "page_down", "b", ".", "f5"]
    )
    def test_by_default_stop_keys_and_presenter_keys_stop_the_moving_belt(self, key: str) -> None:
        assert DEFAULT_BINDINGS.action_for(key, belt_started=True) is HotkeyAction.EMERGENCY_STOP

    @pytest.mark.parametrize(
        ("key", "action"),
        [
            ("p", HotkeyAction.PAUSE_TOGGLE),
            ("r", HotkeyAction.REARM),
            ("q", HotkeyAction.END),
            ("+", HotkeyAction.SPEED_UP),
            ("-", HotkeyAction.SPEED_DOWN),
        ],
    )
    def test_by_default_the_other_keys_do_their_documented_action(
        self, key: str, action: HotkeyAction
    ) -> None:
        assert DEFAULT_BINDINGS.action_for(key, belt_started=True) is action

    def test_a_config_table_replaces_an_actions_keys_and_keeps_the_others(self) -> None:
        bindings = Bindings.from_config(
            {"emergency_stop": ["Space", "Esc", "Enter", "PageUp"], "end": "x"}
        )
        assert bindings.keys_for(HotkeyAction.EMERGENCY_STOP) == (
            "space",
            "escape",
            "enter",
            "page_up",
        )
        assert bindings.action_for("b", belt_started=True) is None
        assert bindings.action_for("x", belt_started=True) is HotkeyAction.END
        assert bindings.action_for("q", belt_started=True) is None
        assert bindings.action_for("p", belt_started=True) is HotkeyAction.PAUSE_TOGGLE

    def test_a_key_named_entry_binds_that_key_and_takes_it_from_its_old_action(self) -> None:
        bindings = Bindings.from_config({"x": "emergency_stop", "s": "pause_toggle"})
        assert bindings.action_for("x", belt_started=True) is HotkeyAction.EMERGENCY_STOP
        assert bindings.action_for("s", belt_started=True) is HotkeyAction.PAUSE_TOGGLE
        assert "s" not in bindings.keys_for(HotkeyAction.EMERGENCY_STOP)
        assert bindings.action_for("space", belt_started=True) is HotkeyAction.EMERGENCY_STOP

    def test_a_key_named_entry_for_start_leaves_enter_stopping_once_running(self) -> None:
        bindings = Bindings.from_config({"g": "start"})
        assert bindings.action_for("g", belt_started=False) is HotkeyAction.START
        assert bindings.action_for("enter", belt_started=False) is HotkeyAction.START
        assert bindings.action_for("enter", belt_started=True) is HotkeyAction.EMERGENCY_STOP

    def test_a_key_named_entry_with_an_unknown_key_name_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match=r"hotkeys\.pgupp: unknown key name"):
            Bindings.from_config({"pgupp": "emergency_stop"})

    def test_a_key_named_entry_with_an_unknown_action_is_a_config_error_naming_it(
        self,
    ) -> None:
        with pytest.raises(ConfigError, match=r"hotkeys\.x: unknown action 'stopp'"):
            Bindings.from_config({"x": "stopp"})

    def test_an_empty_table_gives_the_defaults(self) -> None:
        assert Bindings.from_config({}) == DEFAULT_BINDINGS

    def test_an_unknown_action_is_a_config_error_naming_it(self) -> None:
        with pytest.raises(ConfigError, match=r"hotkeys\.explode: unknown action"):
            Bindings.from_config({"explode": ["x"]})

    def test_an_unknown_key_is_a_config_error_naming_the_action_and_the_key(self) -> None:
        with pytest.raises(ConfigError, match=r"hotkeys\.pause_toggle: unknown key name 'pausee'"):
            Bindings.from_config({"pause_toggle": ["pausee"]})

    def test_a_value_that_is_not_key_names_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match=r"hotkeys\.end: expected a key name"):
            Bindings.from_config({"end": 5})

    def test_a_key_with_two_actions_is_a_config_error(self) -> None:
        with pytest.raises(ConfigError, match="'s' is already bound to emergency_stop"):
            Bindings.from_config({"speed_up": ["s"]})

    def test_a_config_without_any_stop_key_is_refused(self) -> None:
        with pytest.raises(ConfigError, match=r"hotkeys\.emergency_stop: at least one key"):
            Bindings.from_config({"emergency_stop": []})


def snapshot(phase: SessionPhase) -> SessionSnapshot:
    return SessionSnapshot(t_s=0.0, phase=phase, profile_name="demo")


class TestDispatcher:
    def test_enter_starts_while_waiting_and_stops_once_running(
        self, control: RecordingControl
    ) -> None:
        dispatcher = HotkeyDispatcher(control)
        dispatcher.on_snapshot(snapshot(SessionPhase.WAITING_FOR_START))
        assert dispatcher.on_key("enter") is HotkeyAction.START
        dispatcher.on_snapshot(snapshot(SessionPhase.RUNNING))
        assert dispatcher.on_key("enter") is HotkeyAction.EMERGENCY_STOP
        assert control.calls == [("start", "hotkey"), ("emergency_stop", "hotkey")]

    def test_a_presenter_key_given_to_pause_toggle_resumes_after_a_turn_around(
        self, control: RecordingControl
    ) -> None:
        """The README's hands-free set-up: one clicker key walks on, the others still stop."""
        bindings = Bindings.from_config({"pagedown": "pause_toggle"})
        dispatcher = HotkeyDispatcher(control, bindings)
        dispatcher.on_snapshot(snapshot(SessionPhase.PAUSED))
        assert dispatcher.on_key("page_down") is HotkeyAction.PAUSE_TOGGLE
        assert dispatcher.on_key("page_up") is HotkeyAction.EMERGENCY_STOP
        assert control.calls == [("toggle_pause", "hotkey"), ("emergency_stop", "hotkey")]

    def test_before_any_snapshot_the_belt_counts_as_not_started(
        self, control: RecordingControl
    ) -> None:
        assert HotkeyDispatcher(control).on_key("enter") is HotkeyAction.START

    @pytest.mark.parametrize(
        "phase",
        [
            SessionPhase.RUNNING,
            SessionPhase.TURNING_AROUND,
            SessionPhase.PAUSED,
            SessionPhase.LATCHED,
            SessionPhase.ENDING,
        ],
    )
    def test_once_the_belt_has_started_enter_never_starts(
        self, phase: SessionPhase, control: RecordingControl
    ) -> None:
        dispatcher = HotkeyDispatcher(control)
        dispatcher.on_snapshot(snapshot(phase))
        dispatcher.on_key("enter")
        assert control.calls == [("emergency_stop", "hotkey")]

    def test_a_rearmed_session_waiting_again_starts_on_enter(
        self, control: RecordingControl
    ) -> None:
        dispatcher = HotkeyDispatcher(control)
        for phase in (SessionPhase.RUNNING, SessionPhase.LATCHED):
            dispatcher.on_snapshot(snapshot(phase))
        dispatcher.on_key("r")
        dispatcher.on_snapshot(snapshot(SessionPhase.WAITING_FOR_START))
        dispatcher.on_key("enter")
        assert control.calls == [("rearm", "hotkey"), ("start", "hotkey")]

    def test_each_action_calls_its_control_method(self, control: RecordingControl) -> None:
        dispatcher = HotkeyDispatcher(control, nudge_step_kmh=0.2)
        dispatcher.on_snapshot(snapshot(SessionPhase.RUNNING))
        for key in ("space", "p", "r", "q", "+", "-", "f5", "x"):
            dispatcher.on_key(key)
        assert control.calls == [
            ("emergency_stop", "hotkey"),
            ("toggle_pause", "hotkey"),
            ("rearm", "hotkey"),
            ("end", "hotkey"),
            ("nudge_speed(+0.2)", "hotkey"),
            ("nudge_speed(-0.2)", "hotkey"),
            ("emergency_stop", "hotkey"),
        ]

    def test_an_unbound_key_asks_nothing(self, control: RecordingControl) -> None:
        assert HotkeyDispatcher(control).on_key("unknown") is None
        assert control.calls == []


class TestKeyReader:
    """The reader on the loop, fed through a pipe (virtual time) or a real pty."""

    def test_a_lone_escape_is_reported_after_the_timeout_in_virtual_time(self) -> None:
        async def main() -> tuple[list[str], float]:
            loop = asyncio.get_running_loop()
            read_fd, write_fd = os.pipe()
            keys: list[str] = []
            got = asyncio.Event()

            def on_key(key: str) -> None:
                keys.append(key)
                got.set()

            try:
                with KeyReader(read_fd, on_key, escape_timeout_s=0.05):
                    os.write(write_fd, b"\x1b")
                    start_s = loop.time()
                    await asyncio.wait_for(got.wait(), timeout=10)
                    return keys, loop.time() - start_s
            finally:
                os.close(read_fd)
                os.close(write_fd)

        keys, waited_s = run_accelerated(main())
        assert keys == ["escape"]
        assert waited_s >= 0.05

    def test_a_sequence_completed_by_a_later_read_is_not_taken_for_escape(self) -> None:
        async def main() -> list[str]:
            read_fd, write_fd = os.pipe()
            keys: list[str] = []
            got = asyncio.Event()

            def on_key(key: str) -> None:
                keys.append(key)
                got.set()

            try:
                with KeyReader(read_fd, on_key, escape_timeout_s=0.05):
                    os.write(write_fd, b"\x1b[")
                    for _ in range(5):
                        await asyncio.sleep(0)  # the reader takes the first part
                    os.write(write_fd, b"6~")
                    await asyncio.wait_for(got.wait(), timeout=10)
                    await asyncio.sleep(1)  # well past the escape timeout
                    return keys
            finally:
                os.close(read_fd)
                os.close(write_fd)

        assert run_accelerated(main()) == ["page_down"]

    def test_the_end_of_input_is_reported_once_and_reading_stops(self) -> None:
        async def main() -> int:
            read_fd, write_fd = os.pipe()
            closed = asyncio.Event()
            count = 0

            def on_close() -> None:
                nonlocal count
                count += 1
                closed.set()

            try:
                with KeyReader(read_fd, lambda _key: None, on_close=on_close):
                    os.close(write_fd)
                    await asyncio.wait_for(closed.wait(), timeout=10)
                    await asyncio.sleep(1)
            finally:
                os.close(read_fd)
            return count

        assert run_accelerated(main()) == 1

    def test_presenter_keys_on_a_real_terminal_stop_and_the_terminal_is_restored(
        self, control: RecordingControl
    ) -> None:
        master, slave = os.openpty()
        before = termios.tcgetattr(slave)
        dispatcher = HotkeyDispatcher(control)
        dispatcher.on_snapshot(snapshot(SessionPhase.RUNNING))
        during: list[int] = []

        async def main() -> None:
            queue: asyncio.Queue[str] = asyncio.Queue()

            def on_key(key: str) -> None:
                dispatcher.on_key(key)
                queue.put_nowait(key)

            with terminal_keys(slave, on_key):
                during.append(termios.tcgetattr(slave)[3])
                os.write(master, b"\x1b[5~b\r\x1b[15~")
                # an upper bound in case the pty never delivers, not a timing assert
                keys = [await asyncio.wait_for(queue.get(), timeout=10) for _ in range(4)]
            assert keys == ["page_up", "b", "enter", "f5"]

        try:
            asyncio.run(main())
            after = termios.tcgetattr(slave)
        finally:
            os.close(master)
            os.close(slave)
        assert control.calls == [("emergency_stop", "hotkey")] * 4
        assert not during[0] & (termios.ECHO | termios.ICANON)
        assert after == before

    def test_the_terminal_is_restored_when_the_block_ends_with_an_error(self) -> None:
        master, slave = os.openpty()
        try:
            before = termios.tcgetattr(slave)
            during: list[bytes] = []

            def run_and_fail() -> None:
                with TerminalMode(slave):
                    during.append(termios.tcgetattr(slave)[6][termios.VSUSP])
                    raise RuntimeError("boom")

            with pytest.raises(RuntimeError, match="boom"):
                run_and_fail()
            assert during != [before[6][termios.VSUSP]]
            assert termios.tcgetattr(slave) == before
        finally:
            os.close(master)
            os.close(slave)

"""Hostile and unlucky input: every profile and settings file gets a clear answer.

Whatever a file holds, ``check``, ``config`` and ``run`` answer at once with exit
status 2 and one line per problem: no traceback, no hang, nothing raw on the terminal.
The fuzzers run derandomized in ``make test``; with ``HYPOTHESIS_PROFILE=fuzz`` (when
such a profile is registered) they run as long and as random as that profile says.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from e2e_support import REPO
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from treadmill_ctl.cli import main
from treadmill_ctl.config import load_settings
from treadmill_ctl.errors import ConfigError
from treadmill_ctl.files import MAX_FILE_BYTES
from treadmill_ctl.profiles.check import check_command
from treadmill_ctl.profiles.checker import InvalidProfileError
from treadmill_ctl.profiles.loader import load_profile, parse_profile
from treadmill_ctl.text import escape_text, wrap_words

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2
GOOD_PROFILE = """name = "Good"
description = "A short walk."

[[step]]
direction = "forward"
speed_kmh = 2.0
duration = "1m"
cue = "Walk."
"""


def _fuzz_settings(**defaults: object) -> settings:
    """Derandomized here; a registered ``fuzz`` profile wins when it is asked for."""
    # each example rewrites the one file in tmp_path: the fixture is safe to share
    checks = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
    if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz":
        with contextlib.suppress(InvalidArgument):
            return settings(
                settings.get_profile("fuzz"),
                deadline=timedelta(seconds=10),
                suppress_health_check=checks,
            )
    return settings(
        derandomize=True,
        deadline=timedelta(seconds=10),
        suppress_health_check=checks,
        **defaults,  # type: ignore[arg-type]
    )


def _segment(**fields: str) -> str:
    body = {"direction": '"forward"', "speed_kmh": "2.0", "duration": '"1m"', **fields}
    return 'name = "x"\n[[step]]\n' + "".join(f"{k} = {v}\n" for k, v in body.items())


HUGE_INT = "1" + "0" * 308
HOSTILE_PROFILES = {
    "309-digit speed": _segment(speed_kmh=HUGE_INT),
    "309-digit incline": _segment(incline_pct=HUGE_INT),
    "309-digit repeat": 'name = "x"\n[[step]]\nrepeat = '
    + HUGE_INT
    + '\nsegments = [{direction = "forward", speed_kmh = 2, duration = 60}]\n',
    "309-digit weight": f"weight_kg = {HUGE_INT}\n" + _segment(),
    "309-digit limit": f"[limits]\nbackward_max_speed_kmh = {HUGE_INT}\n" + _segment(),
    "duration 1e308": _segment(duration="1e308"),
    "duration -1e308": _segment(duration="-1e308"),
    "400-digit duration number": _segment(duration="9" * 400),
    "400-digit duration text": _segment(duration=f'"{"9" * 400} s"'),
    "400-digit minutes": _segment(duration=f'"{"9" * 400}m"'),
    "arrays 500 deep": _segment(cue="[" * 500 + "]" * 500),
    "tables 500 deep": _segment(cue="{a = " * 500 + "1" + "}" * 500),
    "arrays 20 deep": _segment(cue="[" * 20 + "]" * 20),
    "5000-digit integer": _segment(speed_kmh="9" * 5000),
    "inf speed": _segment(speed_kmh="inf"),
    "nan duration": _segment(duration="nan"),
    "tiny speed": _segment(speed_kmh="0.0000001"),
    "a long description": 'description = "' + "x" * 9000 + '"\n' + _segment(),
    "many bad steps": 'name = "x"\n' + "[[step]]\nspeed = 1\n" * 3000,
}


@pytest.mark.parametrize("text", HOSTILE_PROFILES.values(), ids=HOSTILE_PROFILES.keys())
def test_a_hostile_profile_is_refused_with_clear_lines(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    status, output = check_command([str(path)], as_json=False, weight_kg=None, limits=None)
    assert status == EXIT_BAD_INPUT, output
    lines = output.splitlines()
    assert lines[-1].endswith("nothing runs from this profile until fixed")
    assert all(len(line) < 400 for line in lines), max(lines, key=len)[:400]


def test_a_tiny_speed_is_refused_saying_why_not_shown_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(_segment(speed_kmh="0.0000001"))
    status, output = check_command([str(path)], as_json=False, weight_kg=None, limits=None)
    assert status == EXIT_BAD_INPUT
    assert "speed 1e-07 km/h is below 0.5 km/h" in output
    assert "0.0 km/h" not in output


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "fifo", "folder"])
def test_a_device_a_fifo_or_a_folder_is_refused_at_once(tmp_path: Path, device: str) -> None:
    if device == "fifo":
        os.mkfifo(tmp_path / "fifo")
        device = str(tmp_path / "fifo")
    elif device == "folder":
        device = str(tmp_path)
    for command in (["check", device], ["run", device, "--simulator", "--yes"]):
        done = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "treadmill_ctl", *command],
            env={**os.environ, "TREADMILL_CTL_CONFIG": str(tmp_path / "none.toml")},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == EXIT_BAD_INPUT, done.stderr
        assert "Traceback" not in done.stderr
        assert "not a regular file" in done.stderr or "Is a directory" in done.stderr


def test_a_profile_larger_than_1_mib_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('description = "' + "x" * (10 * 1024 * 1024) + '"\n' + _segment())
    with pytest.raises(InvalidProfileError, match="larger than 1024 KiB"):
        load_profile(path)


def test_a_10_mb_one_word_description_is_refused_not_wrapped_for_ever() -> None:
    text = 'description = "' + "x" * (10 * 1024 * 1024) + '"\n' + _segment()
    with pytest.raises(InvalidProfileError, match="description: a text of 10485760 characters"):
        parse_profile(text, source="p.toml")


def test_escape_sequences_from_a_profile_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREADMILL_CTL_CONFIG", str(tmp_path / "none.toml"))
    path = tmp_path / "p.toml"
    path.write_text(
        'name = "\\u001b[2J\\u001b]0;owned\\u0007Demo"\n'
        'description = "clear \\u001b[2J screen \\u009b31m"\n'
        '[[step]]\ndirection = "forward"\nspeed_kmh = 2.0\nduration = "1m"\n'
        'cue = "\\u001b[31mred"\n'
    )
    assert main(["check", str(path)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "\x1b" not in printed
    assert "\x9b" not in printed
    assert "\x07" not in printed
    assert "\\x1b[2J\\x1b]0;owned\\x07Demo" in printed
    assert "\\x1b[31mred" in printed
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n"\\u001b[2Jkey" = 1\n' + _segment().removeprefix('name = "x"\n'))
    assert main(["check", str(bad)]) == EXIT_BAD_INPUT
    assert "\x1b" not in capsys.readouterr().err


def test_the_escape_helper_shows_every_control_character() -> None:
    assert escape_text("a\x1b[0m\x00\x7f\x9b\u202eb") == "a\\x1b[0m\\x00\\x7f\\x9b\\u202eb"
    assert escape_text("one\ntwo") == "one\\x0atwo"
    assert escape_text("one\ntwo", keep_newlines=True) == "one\ntwo"
    assert escape_text("käse 🙂") == "käse 🙂"


@_fuzz_settings(max_examples=200)
@given(st.text(), st.integers(min_value=1, max_value=100))
@example("x" * 1000 + " a b", 7)
@example("", 1)
def test_wrapping_keeps_every_word_in_lines_no_longer_than_the_width(text: str, width: int) -> None:
    lines = wrap_words(text, width)
    assert all(0 < len(line) <= width for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())


# --- the settings file -----------------------------------------------------------

HOSTILE_SETTINGS = {
    "unknown action": ('[hotkeys]\nx = "emergency_stpo"\n', "[hotkeys] x", "emergency_stop"),
    "unknown hotkey entry": ("[hotkeys]\nstopp = ['s']\n", "[hotkeys] stopp", None),
    "bad key name": ('[hotkeys]\nnot-a-key = "end"\n', "[hotkeys] ", None),
    "unknown mqtt key": ('[mqtt]\nurl = "mqtt://h"\nkeepalive = 3\n', "[mqtt]", "keepalive_s"),
    "mqtt without url": ("[mqtt]\nprefix = 'x'\n", "[mqtt]", None),
    "mqtt keepalive inf": ('[mqtt]\nurl = "mqtt://h"\nkeepalive_s = inf\n', "keepalive_s", None),
    "mqtt bad url": ('[mqtt]\nurl = "http://h"\n', "[mqtt]", None),
    "mqtt port huge": (f'[mqtt]\nurl = "mqtt://h:{"9" * 400}"\n', "[mqtt]", None),
    "device unit": ('[devices."AA"]\nspeed_unit = "kph"\n', '[devices."AA"] speed_unit', None),
    "device key": ('[devices."AA"]\nspeedunit = "mph"\n', '[devices."AA"]', "speed_unit"),
    "device not a table": ("[devices]\nAA = 3\n", '[devices."AA"]', None),
    "limit typo": ("[limits]\nbackward_max_sped_kmh = 2\n", "[limits]", "backward_max_speed_kmh"),
    "limit huge": (f"[limits]\nbackward_max_speed_kmh = {HUGE_INT}\n", "[limits]", None),
    "limit inf": ("[limits]\nbackward_max_speed_kmh = inf\n", "[limits]", None),
    "top typo": ("wieght_kg = 70\n", "wieght_kg", "weight_kg"),
    "weight huge": (f"weight_kg = {HUGE_INT}\n", "weight_kg", None),
    "weight 1e308": ("weight_kg = 1e308\n", "weight_kg", None),
    "deep arrays": ("x = " + "[" * 500 + "]" * 500 + "\n", "nested", None),
    "hotkeys a list": ("hotkeys = [1]\n", "hotkeys", None),
}


@pytest.mark.parametrize(
    ("text", "named", "suggested"), HOSTILE_SETTINGS.values(), ids=HOSTILE_SETTINGS.keys()
)
def test_a_bad_settings_file_names_the_file_the_table_and_the_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    text: str,
    named: str,
    suggested: str | None,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("TREADMILL_CTL_CONFIG", str(path))
    monkeypatch.setenv("TREADMILL_CTL_DATA_DIR", str(tmp_path / "data"))
    assert main(["config"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: "), err
    assert named in err
    if suggested is not None:
        assert f'did you mean "{suggested}"?' in err
    assert len(err.strip().splitlines()) == 1
    # run refuses it the same way, before anything connects: no record, no data folder
    profile = str(REPO / "profiles" / "demo.toml")
    assert main(["run", profile, "--simulator", "--speedup", "max", "--yes"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == err
    assert not (tmp_path / "data").exists()


def test_a_settings_file_that_is_not_utf8_or_a_device_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"weight_kg = 70 # \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(path)
    monkeypatch.setenv("TREADMILL_CTL_CONFIG", "/dev/zero")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_settings()
    path.write_text("#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="larger than"):
        load_settings(path)


# --- the fuzzers --------------------------------------------------------------------

_PROFILE_KEYS = ["name", "description", "weight_kg", "limits", "step", "segments", "repeat"]
_SEGMENT_KEYS = ["direction", "speed_kmh", "speed_mph", "incline_pct", "duration", "cue"]
_SETTINGS_KEYS = ["weight_kg", "limits", "mqtt", "hotkeys", "devices", "url", "speed_unit"]
_HOSTILE_NUMBERS = st.sampled_from(
    [0, -1, 1e308, -1e308, math.inf, -math.inf, math.nan, 10**308, -(10**400), 1e-300, 2**63]
)
_SCALARS = st.one_of(
    st.integers(),
    st.floats(),
    _HOSTILE_NUMBERS,
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(["forward", "backward", "1m30s", "9" * 400 + "s", "emergency_stop", "mph"]),
)


def _values(keys: list[str]) -> st.SearchStrategy[object]:
    return st.recursive(
        _SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), inner, max_size=5),
        ),
        max_leaves=25,
    )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else {math.inf: "inf", -math.inf: "-inf"}.get(value, repr(value))
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml(document: Mapping[str, object]) -> str:
    return "".join(f"{json.dumps(key)} = {_toml_value(value)}\n" for key, value in document.items())


def _mutated(base: str) -> st.SearchStrategy[str]:
    """A good file with a few characters replaced, inserted or cut."""
    return st.lists(
        st.tuples(st.integers(0, len(base)), st.text(max_size=6), st.integers(0, 3)), max_size=4
    ).map(lambda edits: _apply_edits(base, edits))


def _apply_edits(base: str, edits: list[tuple[int, str, int]]) -> str:
    text = base
    for at, insert, cut in edits:
        position = min(at, len(text))
        text = text[:position] + insert + text[position + cut :]
    return text


_PROFILE_TEXTS = st.one_of(
    st.dictionaries(st.sampled_from(_PROFILE_KEYS), _values(_SEGMENT_KEYS), max_size=6).map(_toml),
    st.lists(st.dictionaries(st.sampled_from(_SEGMENT_KEYS), _SCALARS, max_size=7), max_size=4).map(
        lambda steps: 'name = "f"\n' + "".join("[[step]]\n" + _toml(step) for step in steps)
    ),
    _mutated(GOOD_PROFILE),
)


def _assert_clear_lines(text: str) -> None:
    assert "Traceback" not in text
    assert all(len(line) < 1000 for line in text.splitlines())


@_fuzz_settings(max_examples=300)
@given(_PROFILE_TEXTS)
@example(_segment(speed_kmh=HUGE_INT))
@example('"name" = []\n"weight_kg" = nan\n')  # found by the fuzzer: a crash
@example('"\\n\\u001b[2J" = 1\n')  # a key with a line break and an escape
@example('"name" = {"\\r" = 1000000001.0}\n')  # found: a key with \\r made two lines
@example(_segment(duration="[" * 400 + "]" * 400))
def test_fuzz_hostile_profiles_get_a_clear_answer(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    status, output = check_command([str(path)], as_json=False, weight_kg=None, limits=None)
    assert status in {EXIT_OK, EXIT_BAD_INPUT}
    if status == EXIT_BAD_INPUT:
        _assert_clear_lines(output)
        # one line per problem, each naming the file
        assert all(line.startswith(str(path)) for line in output.splitlines()), output
    status_json, output_json = check_command([str(path)], as_json=True, weight_kg=None, limits=None)
    assert status_json == status
    assert json.loads(output_json)["ok"] is (status == EXIT_OK)


_SETTINGS_TEXTS = st.one_of(
    st.dictionaries(st.sampled_from(_SETTINGS_KEYS), _values(_SETTINGS_KEYS), max_size=5).map(
        _toml
    ),
    st.dictionaries(
        st.sampled_from(["limits", "mqtt", "hotkeys", "devices"]),
        st.dictionaries(
            st.sampled_from(
                [
                    *("url", "keepalive_s", "client_id", "x", "end", "speed_unit", "AA"),
                    *("backward_max_speed_kmh", "heart_rate_max_bpm"),
                ]
            ),
            _values(_SETTINGS_KEYS),
            max_size=4,
        ),
        max_size=4,
    ).map(_toml),
    _mutated('weight_kg = 70\n[limits]\nbackward_max_speed_kmh = 2.5\n[hotkeys]\nx = "end"\n'),
)


@_fuzz_settings(max_examples=300)
@given(_SETTINGS_TEXTS)
@example(f"weight_kg = {HUGE_INT}\n")
@example('"limits" = {"backward_max_speed_kmh" = -1}\n')  # found: the table was not named
@example('"devices" = {"\\n" = 0}\n')  # found: a key with a line break made two lines
@example('[mqtt]\nurl = "mqtt://h"\nkeepalive_s = 1e308\n')
def test_fuzz_hostile_settings_get_a_clear_answer(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(path)
    except ConfigError as error:
        message = str(error)
        assert message.startswith(f"{path}: ")
        assert "\n" not in message
        _assert_clear_lines(message)

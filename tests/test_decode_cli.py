"""`treadmill-ctl decode CHAR HEX`: one JSON object, or exit status 2 and a one-line error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadmill_ctl.cli import main
from treadmill_ctl.ftms.decode import decode_hex_command


class TestDecodeHexCommand:
    def test_a_value_becomes_one_json_object_with_units_in_its_keys(self) -> None:
        status, line = decode_hex_command("treadmill-data", "00 00 64 00")  # flags, 1.00 km/h
        assert status == 0
        assert "\n" not in line
        value = json.loads(line)
        assert value["characteristic"] == "treadmill-data"
        assert value["speed_kmh"] == 1.0
        assert value["distance_m"] is None
        assert value["raw"] == "00006400"

    @pytest.mark.parametrize("char", ["2ACD", "2acd", "0x2ACD", "Treadmill-Data"])
    def test_the_characteristic_may_be_its_16_bit_uuid(self, char: str) -> None:
        status, line = decode_hex_command(char, "0000 6400")
        assert status == 0
        assert json.loads(line)["characteristic"] == "treadmill-data"

    @pytest.mark.parametrize("hex_text", ["02:01", "02 01", "0201", " 02  01 ", "0x0201"])
    def test_hex_may_have_spaces_or_colons(self, hex_text: str) -> None:
        status, line = decode_hex_command("machine-status", hex_text)
        assert status == 0
        value = json.loads(line)
        assert value["code"] == "STOPPED_OR_PAUSED_BY_USER"
        assert value["stop_pause"] == "STOP"

    @pytest.mark.parametrize(
        ("char", "hex_text", "expected"),
        [
            ("2ADA", "05 2c 01", {"target_speed_kmh": 3.0}),
            ("2AD3", "01 0d", {"code": "MANUAL_MODE", "status_string": ""}),
            ("2AD9", "80 08 01", {"request_op_code": "STOP_OR_PAUSE", "result": "SUCCESS"}),
            ("2AD9", "08 01", {"op_code": "STOP_OR_PAUSE", "stop_pause": "STOP"}),
            (
                "2ACC",
                "00000000 03000000",
                {"target_settings": ["SPEED_TARGET", "INCLINATION_TARGET"]},
            ),
            ("2AD4", "6400 b004 0a00", {"min_kmh": 1.0, "max_kmh": 12.0, "increment_kmh": 0.1}),
            ("2AD5", "ecff 9600 0500", {"min_pct": -2.0, "max_pct": 15.0, "increment_pct": 0.5}),
        ],
    )
    def test_every_characteristic_decodes(
        self, char: str, hex_text: str, expected: dict[str, object]
    ) -> None:
        status, line = decode_hex_command(char, hex_text)
        assert status == 0
        value = json.loads(line)
        assert {key: value[key] for key in expected} == expected

    @pytest.mark.parametrize(
        ("char", "hex_text", "message"),
        [
            ("heart-rate", "00 00", "unknown characteristic"),
            ("treadmill-data", "0g", "not hex"),
            ("treadmill-data", "000", "not hex"),
            ("treadmill-data", "00", "flags"),
            ("control-point", "80 02", "3 bytes"),
            ("features", "", "8 bytes"),
        ],
    )
    def test_bad_input_is_status_2_and_one_error_line(
        self, char: str, hex_text: str, message: str
    ) -> None:
        status, line = decode_hex_command(char, hex_text)
        assert status == 2
        assert line.startswith("error: ")
        assert message in line
        assert "\n" not in line

    @given(st.sampled_from(["2ACD", "2ADA", "2AD3", "2AD9", "2ACC", "2AD4", "2AD5"]), st.text())
    def test_any_text_gives_json_or_one_error_line(self, char: str, hex_text: str) -> None:
        status, line = decode_hex_command(char, hex_text)
        assert "\n" not in line
        if status == 0:
            assert isinstance(json.loads(line), dict)
        else:
            assert status == 2
            assert line.startswith("error: ")


class TestCommandLine:
    def test_decode_prints_the_json_object_and_exits_0(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["decode", "2ACD", "00 00 64 00"]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["speed_kmh"] == 1.0
        assert err == ""

    def test_decode_of_a_malformed_value_exits_2_with_one_error_line(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["decode", "machine-status", ""]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith("error: ")
        assert err.count("\n") == 1

"""The settings file and `treadmill-ctl config`, as a user meets them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from treadmill_ctl.cli import main
from treadmill_ctl.config import config_path, load_settings
from treadmill_ctl.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("TREADMILL_CTL_CONFIG", str(path))
    monkeypatch.setenv("TREADMILL_CTL_DATA_DIR", str(tmp_path / "data"))
    return path


def test_without_a_file_the_defaults_apply(settings_file: Path) -> None:
    settings = load_settings()
    assert config_path() == settings_file
    assert not settings.exists
    assert settings.limits.backward_max_speed_kmh == 3.0


def test_limits_weight_and_device_quirks_are_read(settings_file: Path) -> None:
    settings_file.write_text(
        "weight_kg = 72\n"
        "[limits]\nbackward_max_speed_kmh = 2.5\n"
        '[devices."AA:BB:CC:DD:EE:FF"]\nspeed_unit = "mph"\n'
    )
    settings = load_settings()
    assert settings.weight_kg == 72
    assert settings.limits.backward_max_speed_kmh == 2.5
    assert settings.device_settings("aa:bb:cc:dd:ee:ff")["speed_unit"] == "mph"
    assert settings.device_settings("other") == {}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[limits]\nbackward_max_speed_kmh = 'fast'\n", "backward_max_speed_kmh"),
        ("[limits]\nbackward_top_speed = 2\n", "backward_top_speed"),
        ("weight_kg = 900\n", "weight_kg"),
        ("colour = 'red'\n", "colour"),
        ("limits = 3\n", "limits"),
        ("[limits\n", "not valid TOML"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(settings_file: Path, text: str, named: str) -> None:
    settings_file.write_text(text)
    with pytest.raises(ConfigError, match=named) as refused:
        load_settings()
    assert str(settings_file) in str(refused.value)


def test_a_limit_past_its_hard_ceiling_needs_the_explicit_override(
    settings_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_file.write_text("[limits]\nbackward_max_speed_kmh = 5.5\n")
    assert main(["config"]) == 2
    assert "backward_max_speed_kmh" in capsys.readouterr().err

    assert main(["--override-limits", "config"]) == 0
    out = capsys.readouterr()
    assert "WARNING: backward_max_speed_kmh = 5.5 is past its hard ceiling" in out.err
    assert "backward_max_speed_kmh" in out.out


def test_config_shows_the_file_and_the_limits_in_force(
    settings_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_file.write_text("[limits]\nbackward_max_speed_kmh = 2.0\n")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert str(settings_file) in out
    line = next(x for x in out.splitlines() if "backward_max_speed_kmh" in x)
    assert "2" in line
    assert "set in the settings file" in line


def test_a_password_file_is_found_beside_the_settings_file(settings_file: Path) -> None:
    """``password_file`` is relative to the settings file, when checked as when used."""
    (settings_file.parent / "broker.pw").write_text("secret\n", encoding="utf-8")
    (settings_file.parent / "broker.pw").chmod(0o600)
    settings_file.write_text('[mqtt]\nurl = "mqtt://broker.local"\npassword_file = "broker.pw"\n')
    settings_file.chmod(0o600)
    assert load_settings().mqtt["password_file"] == "broker.pw"  # noqa: S105 - a file name
    (settings_file.parent / "broker.pw").unlink()
    with pytest.raises(ConfigError, match="password_file"):
        load_settings()

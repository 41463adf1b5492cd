"""The heart-rate link against the simulator's strap over the virtual radio, and the settings."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from link_events import collect

from simulator import open_virtual_treadmill
from treadmill_ctl.cli import build_parser
from treadmill_ctl.cli_run import _prepare
from treadmill_ctl.cli_scan import format_machines
from treadmill_ctl.config import describe_settings, load_settings
from treadmill_ctl.errors import ConfigError, LinkError
from treadmill_ctl.ftms.heart_rate import BodySensorLocation
from treadmill_ctl.ftms.heart_rate_link import (
    HeartRateConnected,
    HeartRateEvent,
    HeartRateLink,
    HeartRateLost,
    HeartRateReceived,
    find_sensor,
    scan_devices,
)
from treadmill_ctl.session.clock import LoopClock, run_accelerated


class TestScan:
    def test_one_scan_lists_the_treadmill_and_the_strap_with_their_types(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(hr_strap=True) as sim:
                machines, sensors = await scan_devices(
                    timeout_s=2.0, scanner_backend=sim.scanner_backend
                )
                assert [m.name for m in machines] == ["SIM-TREADMILL"]
                assert [s.name for s in sensors] == ["SIM-HRM"]
                text = format_machines(machines, sensors)
                lines = text.splitlines()
                assert lines[0].split()[-1] == "type"
                assert any(
                    line.startswith("SIM-TREADMILL") and "treadmill" in line for line in lines
                )
                assert any(
                    line.startswith("SIM-HRM") and line.endswith("heart-rate sensor")
                    for line in lines
                )

        run_accelerated(scenario())

    def test_a_sensor_not_heard_is_a_clear_error(self) -> None:
        async def scenario() -> None:
            async with open_virtual_treadmill(hr_strap=True) as sim:
                with pytest.raises(LinkError, match=r"no heart-rate sensor named .*SIM-HRM"):
                    await find_sensor(
                        "Polar H10", timeout_s=1.0, scanner_backend=sim.scanner_backend
                    )

        run_accelerated(scenario())


async def listen_with_link(
    faults: list[str], seconds: float, *, by_name: bool = True
) -> list[tuple[float, HeartRateEvent]]:
    events: list[tuple[float, HeartRateEvent]] = []
    clock = LoopClock()
    async with open_virtual_treadmill(hr_strap=True, faults=faults) as sim:
        assert sim.hr_strap is not None
        start = clock.now_s()
        link = HeartRateLink(
            "sim-hrm" if by_name else sim.hr_strap.ble_device,
            clock=clock,
            client_backend=sim.client_backend,
            scanner_backend=sim.scanner_backend,
        )
        reading = collect(
            link.events(), lambda event: events.append((clock.now_s() - start, event))
        )
        task = asyncio.create_task(link.run())
        await asyncio.sleep(seconds)
        task.cancel()
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not link.is_connected
    return events


class TestLink:
    def test_it_finds_the_strap_by_name_and_hands_on_every_measurement(self) -> None:
        events = run_accelerated(listen_with_link([], 30.0))
        connected = [e for _, e in events if isinstance(e, HeartRateConnected)]
        assert len(connected) == 1
        assert connected[0].location is BodySensorLocation.CHEST
        readings = [e for _, e in events if isinstance(e, HeartRateReceived)]
        assert len(readings) >= 20
        assert all(r.source == "strap:F0:7E:AD:00:00:02" for r in readings)
        assert all(r.measurement.is_valid for r in readings)

    def test_after_a_drop_it_reconnects_with_backoff(self) -> None:
        events = run_accelerated(listen_with_link(["strap-drop@15:10"], 60.0, by_name=False))
        lost = [t for t, e in events if isinstance(e, HeartRateLost)]
        ups = [t for t, e in events if isinstance(e, HeartRateConnected)]
        assert lost
        assert 14 <= lost[0] <= 17
        assert len(ups) == 2
        assert 24.9 <= ups[1] <= 40  # back once the strap advertises again
        late = [t for t, e in events if isinstance(e, HeartRateReceived) and t > ups[1]]
        assert len(late) >= 15


class TestSettings:
    def test_the_sensor_comes_from_the_heart_rate_table(self, tmp_path: Path) -> None:
        path = tmp_path / "config.toml"
        path.write_text('[heart_rate]\nsensor = " Polar H10 8C4A2B1D "\n')
        settings = load_settings(path)
        assert settings.heart_rate_sensor == "Polar H10 8C4A2B1D"
        assert "heart-rate sensor: Polar H10 8C4A2B1D" in describe_settings(settings)
        assert load_settings(tmp_path / "none.toml").heart_rate_sensor is None

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("[heart_rate]\nsensor = 3\n", "sensor must be the strap's name or address"),
            ("[heart_rate]\nsenzor = 'x'\n", "unknown setting 'senzor' in [heart_rate]"),
            ("heart_rate = 3\n", "heart_rate must be a table"),
        ],
    )
    def test_bad_values_name_the_file_and_the_key(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        path = tmp_path / "config.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(message)) as error:
            load_settings(path)
        assert str(path) in str(error.value)


class TestChoosingTheStrap:
    """``run --hr-sensor NAME|ADDRESS`` and ``[heart_rate] sensor`` choose the strap."""

    @pytest.fixture
    def demo(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        monkeypatch.setenv("TREADMILL_CTL_CONFIG", str(tmp_path / "config.toml"))
        monkeypatch.setenv("TREADMILL_CTL_DATA_DIR", str(tmp_path / "data"))
        return Path(__file__).resolve().parent.parent / "profiles" / "demo.toml"

    @staticmethod
    def link_for(*argv: str) -> HeartRateLink | None:
        args = build_parser().parse_args(["run", *argv])
        session, _ = _prepare(args)
        return session._heart_rate_link(None, None, LoopClock())

    def test_no_strap_set_means_no_strap_link(self, demo: Path) -> None:
        assert self.link_for(str(demo)) is None

    @pytest.mark.parametrize("sensor", ["Polar H10 8C4A2B1D", "A0:9E:1A:12:34:56"])
    def test_the_command_line_names_it_by_name_or_address(self, demo: Path, sensor: str) -> None:
        link = self.link_for(str(demo), "--hr-sensor", sensor)
        assert link is not None
        assert link.label == sensor

    def test_the_settings_name_it_and_the_command_line_wins(
        self, demo: Path, tmp_path: Path
    ) -> None:
        (tmp_path / "config.toml").write_text('[heart_rate]\nsensor = "TICKR 1234"\n')
        link = self.link_for(str(demo))
        assert link is not None
        assert link.label == "TICKR 1234"
        link = self.link_for(str(demo), "--hr-sensor", "Polar H10")
        assert link is not None
        assert link.label == "Polar H10"

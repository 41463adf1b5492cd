"""The session runner on its own, against the simulator: how sessions end badly."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from simulator import open_virtual_treadmill
from treadmill_ctl.ftms.heart_rate_link import HeartRateLink
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.safety import SafetyGovernor
from treadmill_ctl.session.clock import AcceleratedEventLoop, LoopClock, run_accelerated
from treadmill_ctl.session.events import RequestSource, SessionEnd, SessionPhase, SessionSnapshot
from treadmill_ctl.session.runner import SessionRunner, SessionSummary
from treadmill_ctl.telemetry.payloads import telemetry_json

if TYPE_CHECKING:
    from simulator.radio import VirtualTreadmill
    from treadmill_ctl.ftms.link_events import LinkEvent
    from treadmill_ctl.profiles import Profile

DEMO = Path(__file__).resolve().parent.parent / "profiles" / "demo.toml"


def _stop_writes(records: list[dict[str, object]]) -> list[float]:
    return [
        float(r["t"])  # type: ignore[arg-type]
        for r in records
        if r["kind"] == "control_point_write" and r["data_hex"] == "0801"
    ]


class _Boom(RuntimeError):
    pass


def _runner_for(
    sim: VirtualTreadmill, profile: Profile, *, stand_in_person: bool = True
) -> SessionRunner:
    """A runner wired as `treadmill-ctl run` wires it (by default standing in for the person)."""
    link = FtmsLink(sim.ble_device, clock=LoopClock(), client_backend=sim.client_backend)
    return SessionRunner(
        plan=build_plan(profile),
        limits=profile.limits,
        link=link,
        clock=LoopClock(),
        stand_in_person=stand_in_person,
    )


def test_an_unexpected_error_mid_session_stops_the_belt_before_it_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = load_profile(DEMO)
    real_tick = SafetyGovernor.tick

    def failing_tick(self: SafetyGovernor, now_s: float) -> list[object]:
        if self.state.value == "running" and (self.belt_speed_kmh or 0) >= 1.9:
            raise _Boom("a bug in the control loop")
        return real_tick(self, now_s)  # type: ignore[return-value]

    monkeypatch.setattr(SafetyGovernor, "tick", failing_tick)

    async def main() -> tuple[float, list[dict[str, object]]]:
        async with open_virtual_treadmill() as sim:
            runner = _runner_for(sim, profile)
            with pytest.raises(ExceptionGroup) as raised:
                await runner.run()
            assert raised.group_contains(_Boom)
            assert runner.phase is SessionPhase.FINISHED
            await asyncio.sleep(5)
            return sim.model.belt_speed_kmh, list(map(dict, sim.trace.records))

    belt_kmh, records = run_accelerated(main())
    assert _stop_writes(records)
    assert belt_kmh == 0.0


def test_a_helper_task_failing_mid_session_stops_the_belt_before_it_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in the link's event pump (a task of the group, not the loop) ends the session.

    The group is shutting down when the final stop is written (it refuses new tasks):
    the stop goes all the same, before the error reaches the caller.
    """
    profile = load_profile(DEMO)
    real_handle = SessionRunner._handle_link_event

    def failing_handle(self: SessionRunner, event: LinkEvent) -> None:
        real_handle(self, event)
        if (self.snapshot().belt_speed_kmh or 0) >= 1.9:
            raise _Boom("a bug in the event pump")

    monkeypatch.setattr(SessionRunner, "_handle_link_event", failing_handle)

    async def main() -> tuple[float, list[dict[str, object]]]:
        async with open_virtual_treadmill() as sim:
            runner = _runner_for(sim, profile)
            with pytest.raises(ExceptionGroup) as raised:
                await runner.run()
            assert raised.group_contains(_Boom)
            await asyncio.sleep(5)
            return sim.model.belt_speed_kmh, list(map(dict, sim.trace.records))

    belt_kmh, records = run_accelerated(main())
    assert _stop_writes(records)
    assert belt_kmh == 0.0
    speeds = [r for r in records if r["kind"] == "sample" and float(r["belt_speed_kmh"]) > 1.0]  # type: ignore[arg-type]
    assert speeds  # the belt did run before the fault


def test_a_treadmill_without_control_point_is_refused_not_driven() -> None:
    profile = load_profile(DEMO)

    async def main() -> tuple[SessionEnd, list[dict[str, object]]]:
        async with open_virtual_treadmill(quirks=["no-control-point"]) as sim:
            runner = _runner_for(sim, profile)
            summary = await runner.run()
            return summary.end, list(map(dict, sim.trace.records))

    end, records = run_accelerated(main())
    assert end is SessionEnd.CONNECT_FAILED
    assert not [r for r in records if r["kind"] == "control_point_write"]


@pytest.mark.parametrize("early_stop", ["interrupt", "emergency_stop"])
def test_an_emergency_stop_before_the_link_is_up_is_not_lost(early_stop: str) -> None:
    """A stop pressed while connecting holds once connected: the stand-in cannot start.

    Without it the stand-in person would press start as soon as the link is up and
    the demo would run to its end; with it, the treadmill is told to stop and nothing
    that moves the belt is ever written.
    """
    profile = load_profile(DEMO)

    async def main() -> tuple[SessionEnd, list[dict[str, object]]]:
        async with open_virtual_treadmill() as sim:
            runner = _runner_for(sim, profile)
            session = asyncio.create_task(runner.run())
            await asyncio.sleep(0)
            assert runner.phase is SessionPhase.CONNECTING
            if early_stop == "interrupt":
                runner.interrupt(RequestSource.SIGINT)
            else:
                runner.emergency_stop(RequestSource.HOTKEY)
            summary = await session
            await asyncio.sleep(5)  # long enough for any write still on its way
            return summary.end, list(map(dict, sim.trace.records))

    end, records = run_accelerated(main())
    assert end is SessionEnd.STOPPED_BY_PERSON
    writes = [str(r["data_hex"]) for r in records if r["kind"] == "control_point_write"]
    assert "0801" in writes
    assert not [w for w in writes if w.startswith(("02", "07"))]  # no speed, no start
    belt_kmh = [float(r["belt_speed_kmh"]) for r in records if r["kind"] == "sample"]  # type: ignore[arg-type]
    assert belt_kmh
    assert max(belt_kmh) == 0.0


def test_without_a_person_the_belt_waits_and_a_console_start_is_followed() -> None:
    """No key, no stand-in: nothing moves until someone presses start on the console."""
    profile = load_profile(DEMO)

    async def main() -> tuple[float, SessionPhase, float]:
        async with open_virtual_treadmill() as sim:
            runner = _runner_for(sim, profile, stand_in_person=False)
            session = asyncio.create_task(runner.run())
            await asyncio.sleep(60)
            belt_while_waiting = sim.model.belt_speed_kmh
            sim.press_start()
            await asyncio.sleep(10)
            phase = runner.phase
            belt_after_start = sim.model.belt_speed_kmh
            runner.interrupt(RequestSource.SIGINT)
            await session
            return belt_while_waiting, phase, belt_after_start

    waiting_kmh, phase, started_kmh = run_accelerated(main())
    assert waiting_kmh == 0.0
    assert phase is SessionPhase.RUNNING
    assert started_kmh > 1.0


def test_ranges_the_treadmill_reports_badly_are_replaced_not_trusted() -> None:
    from treadmill_ctl.ftms.link_events import MachineInfo  # noqa: PLC0415
    from treadmill_ctl.ftms.observations import InclineRange, SpeedRange  # noqa: PLC0415
    from treadmill_ctl.session.link_observations import ranges_from  # noqa: PLC0415

    def info(speed: SpeedRange | None, incline: InclineRange | None) -> MachineInfo:
        return MachineInfo("t", "a", {}, None, speed, incline, has_control_point=True)

    good_speed = SpeedRange(raw=b"", min_kmh=0.8, max_kmh=12.0, increment_kmh=0.1)
    upside_down = InclineRange(raw=b"", min_pct=10.0, max_pct=0.0, increment_pct=0.5)
    flat = ranges_from(info(good_speed, upside_down))
    assert (flat.min_speed_kmh, flat.max_incline_pct) == (0.8, 0.0)
    zero_speed = SpeedRange(raw=b"", min_kmh=0.0, max_kmh=0.0, increment_kmh=0.0)
    assert ranges_from(info(zero_speed, None)).max_speed_kmh == 6.0  # the fallback
    assert ranges_from(info(None, None)).max_speed_kmh == 6.0


def test_a_dry_run_at_a_speedup_factor_on_a_slow_loop_does_not_see_stale_data(
    tmp_path: Path,
) -> None:
    """A busy machine slows a ``--speedup 20`` dry run down; it never ages the data.

    Every control tick here stalls the loop for a fifth of a real second (as a busy
    machine might): with virtual time running on with the wall clock, each stall
    would be 4 s of session time without Treadmill Data, a stale-data latch.
    """
    profile_path = tmp_path / "short.toml"
    profile_path.write_text(
        'name = "short"\n[[step]]\ndirection = "forward"\nspeed_kmh = 2.0\nduration = "15s"\n'
    )
    profile = load_profile(profile_path)
    stalls = 0

    class WallClock:
        extra_s = 0.0

        def __call__(self) -> float:
            return time.monotonic() + self.extra_s

    wall = WallClock()

    class SlowObserver:
        def on_snapshot(self, snapshot: object) -> None:
            nonlocal stalls
            del snapshot
            stalls += 1
            wall.extra_s += 0.2

        def on_event(self, event: object) -> None:
            del event

        def on_cue(self, cue: object) -> None:
            del cue

    async def main() -> SessionSummary:
        async with open_virtual_treadmill() as sim:
            runner = _runner_for(sim, profile)
            runner.add_observer(SlowObserver())
            return await runner.run()

    loop = AcceleratedEventLoop(speedup=20.0, real_clock=wall)
    try:
        summary = loop.run_until_complete(main())
    finally:
        loop.close()
    assert stalls > 100
    assert summary.latches == ()
    assert summary.end is SessionEnd.COMPLETED


def test_the_yes_stand_in_never_resumes_a_pause_the_person_asked_for() -> None:
    """``--yes`` presses start and the resume after a turn-around, never the person's."""
    profile = load_profile(DEMO)

    async def main() -> tuple[list[SessionPhase], SessionSummary]:
        async with open_virtual_treadmill() as sim:
            runner = _runner_for(sim, profile)
            session = asyncio.create_task(runner.run())
            for _ in range(600):
                await asyncio.sleep(0.1)
                if runner.phase is SessionPhase.RUNNING:
                    break
            await asyncio.sleep(10)
            runner.pause(RequestSource.HOTKEY)  # the person's own pause
            phases: list[SessionPhase] = []
            for _ in range(30):
                await asyncio.sleep(1)
                phases.append(runner.phase)
            runner.toggle_pause(RequestSource.HOTKEY)  # the person resumes
            return phases, await session

    phases, summary = run_accelerated(main())
    assert phases[5:] == [SessionPhase.PAUSED] * 25  # 30 s later, still paused
    # the turn-arounds after it were resumed by the stand-in, so the plan completed
    assert summary.end is SessionEnd.COMPLETED
    assert summary.segments_completed == 3


class _Snapshots:
    """An observer keeping every snapshot (and ignoring events and cues)."""

    def __init__(self) -> None:
        self.snapshots: list[SessionSnapshot] = []

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        self.snapshots.append(snapshot)

    def on_event(self, event: object) -> None:
        pass

    def on_cue(self, cue: object) -> None:
        pass


def test_the_shown_heart_rate_is_the_straps_and_telemetry_follows_it() -> None:
    """Dashboard, cues and MQTT (Home Assistant) read the snapshot: it carries the strap."""
    profile = load_profile(DEMO)

    async def main() -> tuple[list[SessionSnapshot], list[tuple[float, float]]]:
        # the strap's heart climbs to 150 and stays; the treadmill's own stays near 85
        async with open_virtual_treadmill(hr_strap=True, faults=["strap-rise@40:150"]) as sim:
            assert sim.hr_strap is not None
            clock = LoopClock()
            runner = SessionRunner(
                plan=build_plan(profile),
                limits=profile.limits,
                link=FtmsLink(
                    sim.ble_device,
                    clock=clock,
                    client_backend=sim.client_backend,
                ),
                clock=clock,
                stand_in_person=True,
                heart_rate_link=HeartRateLink(
                    sim.hr_strap.ble_device,
                    clock=clock,
                    client_backend=sim.client_backend,
                ),
            )
            seen = _Snapshots()
            runner.add_observer(seen)
            hearts: list[tuple[float, float]] = []

            async def watch_heart() -> None:
                assert sim.hr_strap is not None
                while True:
                    hearts.append((clock.now_s(), sim.hr_strap.person.heart_rate_bpm))
                    await asyncio.sleep(1.0)

            watcher = asyncio.create_task(watch_heart())
            await runner.run()
            watcher.cancel()
            return seen.snapshots, hearts

    snapshots, hearts = run_accelerated(main())
    shown = [s for s in snapshots if s.heart_rate_bpm is not None and s.t_s > 30]
    assert len(shown) > 500
    last = shown[-1]
    assert hearts[-1][1] == 150
    assert last.heart_rate_bpm == 150
    payload = json.loads(telemetry_json(last))
    assert payload["heart_rate_bpm"] == last.heart_rate_bpm

"""Whole sessions, as a user runs them, against the simulator through the virtual radio.

Each test calls the real command line (``treadmill-ctl run PROFILE --simulator
--speedup max --yes``) and then reads two independent witnesses: the session record
our program wrote, and the simulator's ground-truth trace of what the belt really
did. The safety properties are checked on the trace.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog
from e2e_support import DryRun, dry_run

from simulator import open_virtual_treadmill
from treadmill_ctl.cli import main
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.safety import Limits
from treadmill_ctl.session.clock import LoopClock, run_accelerated
from treadmill_ctl.session.events import RequestSource
from treadmill_ctl.session.runner import SessionRunner

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parent.parent
LIMITS = Limits()
STOPPED_KMH = 0.05


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TREADMILL_CTL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("TREADMILL_CTL_DATA_DIR", str(tmp_path / "data"))
    yield
    structlog.reset_defaults()


def run_profile(tmp_path: Path, profile: str | Path, *options: str) -> DryRun:
    return dry_run(tmp_path, REPO / profile if isinstance(profile, str) else profile, *options)


def direction_at(run: DryRun, record_t: float) -> str | None:
    direction = None
    for event in run.events("segment.started"):
        if float(event["t"]) <= record_t:  # type: ignore[arg-type]
            direction = str(event["direction"])
    return direction


def assert_caps_held(run: DryRun) -> None:
    offset = run.trace_offset_s()
    for sample in run.samples():
        belt = float(sample["belt_speed_kmh"])  # type: ignore[arg-type]
        assert belt <= LIMITS.forward_max_speed_kmh + 1e-6
        if direction_at(run, float(sample["t"]) + offset) == "backward":  # type: ignore[arg-type]
            assert belt <= LIMITS.backward_max_speed_kmh + 1e-6, sample


def assert_ramps_held(run: DryRun) -> None:
    """Invariant 2 as the treadmill received it: speed changes within rate x time.

    Between two speed commands the change is at most the rate times the time between
    their arrival at the treadmill, with no allowance: the steps are quantised down,
    and each is sized from the last one's write (SAFETY.md, rule 2).
    """
    writes = run.speed_writes()
    assert writes
    for (t0, v0), (t1, v1) in itertools.pairwise(writes):
        if v0 is None or v1 is None:
            continue
        rate = LIMITS.acceleration_kmh_per_s if v1 > v0 else LIMITS.deceleration_kmh_per_s
        assert abs(v1 - v0) <= rate * (t1 - t0) + 1e-6, ((t0, v0), (t1, v1))
    for t, speed in writes:
        if speed is not None:
            assert speed <= LIMITS.forward_max_speed_kmh, t
    starts = [v1 for (_, v0), (_, v1) in itertools.pairwise(writes) if v0 is None]
    assert all(v is None or v <= LIMITS.starting_speed_kmh + 1e-6 for v in starts), starts


def assert_turnarounds_at_rest(run: DryRun) -> None:
    offset = run.trace_offset_s()
    starts = run.events("segment.started")
    changes = [b for a, b in itertools.pairwise(starts) if a["direction"] != b["direction"]]
    for change in changes:
        begun_s = float(change["t"]) - offset  # type: ignore[arg-type]
        hold = [
            float(s["belt_speed_kmh"])  # type: ignore[arg-type]
            for s in run.samples()
            if begun_s - LIMITS.turnaround_hold_s + 1.5 <= float(s["t"]) <= begun_s - 0.3  # type: ignore[arg-type]
        ]
        assert hold, change
        assert max(hold) <= LIMITS.turnaround_speed_kmh + STOPPED_KMH, change


def assert_belt_stopped_at_the_end(run: DryRun) -> None:
    assert float(run.samples()[-1]["belt_speed_kmh"]) <= STOPPED_KMH  # type: ignore[arg-type]


def test_the_demo_profile_completes_within_every_limit(tmp_path: Path) -> None:
    run = run_profile(tmp_path, "profiles/demo.toml")
    assert run.status == 0
    (ended,) = run.events("session.ended")
    assert ended["end"] == "completed"
    summary = ended["summary"]
    assert isinstance(summary, dict)
    assert summary["segments_completed"] == 3
    assert summary["backward_s"] == pytest.approx(30, abs=0.5)
    assert [e["direction"] for e in run.events("segment.started")] == [
        "forward",
        "backward",
        "forward",
    ]
    assert_caps_held(run)
    assert_ramps_held(run)
    assert_turnarounds_at_rest(run)
    assert_belt_stopped_at_the_end(run)


def test_the_beginner_profile_walks_backward_at_its_slow_speed(tmp_path: Path) -> None:
    run = run_profile(tmp_path, "profiles/backward-beginner.toml")
    assert run.status == 0
    assert_caps_held(run)
    assert_ramps_held(run)
    assert_turnarounds_at_rest(run)
    assert_belt_stopped_at_the_end(run)
    offset = run.trace_offset_s()
    backward_speeds = [
        float(s["belt_speed_kmh"])  # type: ignore[arg-type]
        for s in run.samples()
        if direction_at(run, float(s["t"]) + offset) == "backward"  # type: ignore[arg-type]
    ]
    assert max(backward_speeds) == pytest.approx(1.2, abs=0.05)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("disconnect@45:5", "link_lost"),
        ("stall@45:6", "stale_data"),
        ("frozen@45:6", "stale_data"),
        ("safety-key@45", "safety_key"),
        ("console-speed@45:4.0", "unrequested_speed_change"),
        # every command refused across the turn-around: the pause is not obeyed, so
        # the stop is sent again with the alarm until the treadmill takes it
        ("cp-reject@45:30", "stop_not_confirmed"),
    ],
)
def test_each_fault_ends_in_a_stopped_belt_and_a_safety_exit(
    tmp_path: Path, fault: str, reason: str
) -> None:
    run = run_profile(tmp_path, "profiles/demo.toml", "--sim-fault", fault)
    assert run.status == 4
    latches = run.events("governor.latched")
    assert latches
    assert latches[0]["reason"] == reason
    (ended,) = run.events("session.ended")
    assert ended["end"] == "safety_latch"
    assert_caps_held(run)
    assert_belt_stopped_at_the_end(run)


def test_a_silent_control_point_does_not_hang_the_session(tmp_path: Path) -> None:
    run = run_profile(tmp_path, "profiles/demo.toml", "--sim-fault", "cp-silent@40:60")
    assert run.status == 0
    assert_caps_held(run)
    assert_belt_stopped_at_the_end(run)


def test_a_treadmill_that_ignores_stop_raises_the_alarm(tmp_path: Path) -> None:
    run = run_profile(tmp_path, "profiles/demo.toml", "--sim-quirk", "ignores-stop")
    assert run.status == 4
    alarms = run.events("governor.alarm")
    assert alarms
    assert "SAFETY KEY" in str(alarms[0]["text"]).upper()


def test_a_bad_profile_is_refused_before_anything_moves(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\n[[step]]\ndirection = "backward"\nspeed_kmh = 4.5\nduration = "30s"\n'
    )
    status = main(["run", str(bad), "--simulator", "--speedup", "max", "--yes"])
    assert status == 2


def test_unattended_start_is_refused_on_a_real_treadmill(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["run", str(REPO / "profiles/demo.toml"), "--yes"])
    assert status == 2
    assert "--simulator" in capsys.readouterr().err


@pytest.mark.parametrize(
    "quirk",
    [
        "cp-mute",  # never answers, obeys (KingSmith MC-21)
        "cp-notify",  # answers as notifications (UREVO E1L)
        "needs-start",  # speed writes fail until the belt runs (Sole F80)
        "start-toggles",  # start to a running belt pauses it (Vitalwalk TM11GY)
        "min-speed-snapback",
        "stop-unannounced",
        "step-count-bit13",
        "split-records",
    ],
)
def test_treadmills_that_deviate_from_ftms_run_the_session_within_every_limit(
    tmp_path: Path, quirk: str
) -> None:
    run = run_profile(tmp_path, "profiles/demo.toml", "--sim-quirk", quirk)
    assert run.status == 0
    (ended,) = run.events("session.ended")
    summary = ended["summary"]
    assert isinstance(summary, dict)
    assert summary["segments_completed"] == 3
    assert float(summary["distance_m"]) > 30
    assert_caps_held(run)
    assert_ramps_held(run)
    assert_turnarounds_at_rest(run)
    assert_belt_stopped_at_the_end(run)


def test_a_treadmill_speaking_mph_unannounced_is_caught_by_its_distance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_profile(tmp_path, "profiles/demo.toml", "--sim-quirk", "mph")
    assert run.status == 4
    (latched,) = run.events("governor.latched")
    assert "mph" in str(latched["detail"])
    # the plain output says what to change, where, for which treadmill
    advice = f'set speed_unit = "mph" under [devices."F0:7E:AD:00:00:01"] in {tmp_path}/config.toml'
    assert advice in capsys.readouterr().out
    assert_belt_stopped_at_the_end(run)


def test_a_treadmill_speaking_mph_is_driven_within_the_caps_once_configured(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.toml").write_text('[devices."F0:7E:AD:00:00:01"]\nspeed_unit = "mph"\n')
    run = run_profile(tmp_path, "profiles/demo.toml", "--sim-quirk", "mph")
    assert run.status == 0
    assert_caps_held(run)
    assert_turnarounds_at_rest(run)
    assert_belt_stopped_at_the_end(run)


def test_the_ramp_holds_as_the_treadmill_receives_it_when_control_is_asked_again() -> None:
    """Invariant 2 where the treadmill makes a speed write wait before it goes out.

    Mid-ramp the treadmill forgets that we hold control, without announcing it, and
    answers slowly (0.6 s): the next speed write goes out only after Request Control
    has been answered. The next ramp step must count from when the speed reached the
    treadmill, not from when it was handed to the link, or it arrives too soon for
    its size.
    """
    profile = load_profile(
        Path(__file__).resolve().parent.parent / "profiles" / "backward-beginner.toml"
    )

    async def session() -> list[dict[str, object]]:
        async with open_virtual_treadmill(response_delay_s=0.1) as sim:
            link = FtmsLink(sim.ble_device, clock=LoopClock(), client_backend=sim.client_backend)
            runner = SessionRunner(
                plan=build_plan(profile),
                limits=profile.limits,
                link=link,
                clock=LoopClock(),
                stand_in_person=True,
            )
            running = asyncio.create_task(runner.run())
            seen = 0
            for _ in range(3000):  # 30 s of the session
                await asyncio.sleep(0.01)
                writes = [r for r in sim.trace.records if r["kind"] == "control_point_write"]
                if len(writes) > seen and str(writes[-1]["data_hex"]).startswith("02"):
                    sim.model.client_disconnected(sim.model.controller)  # control forgotten
                seen = len(writes)
            runner.end(RequestSource.TERMINAL)
            await running
            return [dict(record) for record in sim.trace.records]

    trace = run_accelerated(session())
    asked_again = [r for r in trace if r["kind"] == "control_point_write" and r["op_code"] == 0]
    assert len(asked_again) >= 5, "the treadmill never made a write wait"
    assert_ramps_held(DryRun(status=0, record=[], trace=trace))

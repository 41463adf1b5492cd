"""The stop never waits on, or fails with, anything else (SAFETY.md invariant 6).

Witnessed on the simulator's own trace: what the belt received and did, whatever the
program's record, logging or command writer were doing at the time.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import structlog
from e2e_support import DRY_RUN_OPTIONS, REPO, STOP_WRITE, read_lines, speed_kmh

from simulator import open_virtual_treadmill
from simulator.model import MachineConfig
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.session.clock import LoopClock, run_accelerated
from treadmill_ctl.session.events import Cue, RequestSource, SessionEnd
from treadmill_ctl.session.recorder import SessionRecord, configure_logging
from treadmill_ctl.session.runner import SessionRunner

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping
    from pathlib import Path

    from simulator.radio import VirtualTreadmill
    from treadmill_ctl.clock import Clock
    from treadmill_ctl.profiles import Profile

PROFILES = REPO / "profiles"
DEMO = PROFILES / "demo.toml"
PAUSE_WRITE = "0802"
START_WRITE = "07"
EXIT_ERROR = 1


def _runner_for(
    sim: VirtualTreadmill, profile: Profile, links: list[FtmsLink] | None = None
) -> SessionRunner:
    """A runner wired as ``treadmill-ctl run`` wires it; ``links`` gets its link."""
    link = FtmsLink(sim.ble_device, clock=LoopClock(), client_backend=sim.client_backend)
    if links is not None:
        links.append(link)
    return SessionRunner(
        plan=build_plan(profile),
        limits=profile.limits,
        link=link,
        clock=LoopClock(),
        stand_in_person=True,
    )


def _writes(records: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in records if r["kind"] == "control_point_write"]


class _BrokenRecord(SessionRecord):
    """A record whose every write raises once ``broken`` (a disk gone mid-session)."""

    def __init__(self, path: Path, *, clock: Clock) -> None:
        super().__init__(path, clock=clock)
        self.broken = False
        self.raised = 0

    def write_event_dict(self, event_dict: MutableMapping[str, Any]) -> None:
        if self.broken:
            self.raised += 1
            raise OSError(28, "No space left on device")
        super().write_event_dict(event_dict)


def test_a_record_that_raises_on_every_write_ends_the_session_with_the_belt_stopped(
    tmp_path: Path,
) -> None:
    profile = load_profile(DEMO)

    async def main() -> tuple[SessionEnd, str | None, float, list[dict[str, object]], int]:
        record = _BrokenRecord(tmp_path / "s.jsonl", clock=LoopClock())
        configure_logging(record=record, console=None)
        try:
            async with open_virtual_treadmill() as sim:
                runner = _runner_for(sim, profile)
                record.on_failure = runner.record_failed
                session = asyncio.create_task(runner.run())
                while sim.model.belt_speed_kmh < 1.5:  # noqa: ASYNC110 - virtual time
                    await asyncio.sleep(0.1)
                record.broken = True
                summary = await session
                await asyncio.sleep(5)
                return (
                    summary.end,
                    runner.record_failure,
                    sim.model.belt_speed_kmh,
                    list(map(dict, sim.trace.records)),
                    record.raised,
                )
        finally:
            structlog.reset_defaults()
            record.close()

    end, failure, belt_kmh, records, raised = run_accelerated(main())
    assert raised > 0
    assert failure == "No space left on device"
    assert end is SessionEnd.ERROR
    writes = _writes(records)
    assert any(w["data_hex"] == STOP_WRITE for w in writes)
    assert writes[-1]["data_hex"] == STOP_WRITE
    assert belt_kmh == 0.0


def _halts_followed_by_speed(writes: list[dict[str, object]]) -> list[tuple[object, object]]:
    """(halt, speed) pairs: a Set Target Speed received after a pause or stop, before a start."""
    found: list[tuple[object, object]] = []
    halt: dict[str, object] | None = None
    for write in writes:
        data = str(write["data_hex"])
        if data in {STOP_WRITE, PAUSE_WRITE}:
            halt = write
        elif data == START_WRITE:
            halt = None
        elif halt is not None and speed_kmh(write) is not None:
            found.append((halt["t"], write["t"]))
    return found


REQUEST_CONTROL_WRITE = "00"


def _written(sim: VirtualTreadmill, data_hex: str) -> int:
    return sum(
        1
        for record in sim.trace.records
        if record["kind"] == "control_point_write" and record["data_hex"] == data_hex
    )


def _speed_writes(sim: VirtualTreadmill) -> int:
    records: list[dict[str, object]] = [dict(record) for record in sim.trace.records]
    return sum(speed_kmh(write) is not None for write in _writes(records))


async def _until_more(count: Callable[[], int], *, within_s: float) -> bool:
    """Whether ``count()`` grows within ``within_s`` (virtual time)."""
    start = count()
    for _ in range(round(within_s / 0.01)):
        if count() > start:
            return True
        await asyncio.sleep(0.01)
    return count() > start


def _moves_after(writes: list[dict[str, object]], halted_s: list[float]) -> list[object]:
    """Speed or incline writes the belt received after a halt was asked for, before a start."""
    found: list[object] = []
    for at_s in halted_s:
        for write in writes:
            if float(write["t"]) < at_s:  # type: ignore[arg-type]
                continue
            data = str(write["data_hex"])
            if data == START_WRITE:
                break
            if data.startswith(("02", "03")):
                found.append((at_s, write["t"], data))
    return found


def test_no_speed_reaches_the_belt_after_a_pause_or_the_final_stop() -> None:
    """A ramp step waiting its turn when a halt comes is dropped, never written after it.

    Mid-ramp the treadmill forgets that we hold control, without announcing it: it
    answers the next command "control not permitted", and the link asks for control
    again before writing that command once more, waiting for the answer (0.6 s on this
    slow treadmill). The person pauses (the last time, Ctrl-C stops the session) while
    it waits: from every pause or stop asked for to the next start, no speed (nor
    incline) write reached the belt, and every pause did. (The governor paces the
    ramp, so a ramp step waits its turn only where the treadmill makes it wait: this
    is one such place.)
    """
    profile = load_profile(PROFILES / "backward-beginner.toml")
    rounds = 10

    async def main() -> tuple[list[dict[str, object]], list[float], int]:
        async with open_virtual_treadmill(response_delay_s=0.6) as sim:
            runner = _runner_for(sim, profile)
            session = asyncio.create_task(runner.run())
            caught = 0
            halted_s: list[float] = []
            for step in range(rounds):
                ramping = await _until_more(lambda: _speed_writes(sim), within_s=10)
                asking = _until_more(lambda: _written(sim, REQUEST_CONTROL_WRITE), within_s=2)
                sim.model.client_disconnected(sim.model.controller)  # control forgotten
                if await asking and ramping:
                    caught += 1  # a command waits for Request Control's answer now
                halted_s.append(sim.session_s)
                if step == rounds - 1:
                    runner.interrupt(RequestSource.SIGINT)
                    break
                runner.pause(RequestSource.HOTKEY)
                await asyncio.sleep(2)  # the belt stops; the person walks on
                runner.resume(RequestSource.HOTKEY)
            await session
            await asyncio.sleep(5)
            return list(map(dict, sim.trace.records)), halted_s, caught

    records, halted_s, caught = run_accelerated(main())
    writes = _writes(records)
    assert _moves_after(writes, halted_s) == []
    assert _halts_followed_by_speed(writes) == []
    assert caught >= rounds - 2, caught  # it did halt while a command waited, each time
    pauses = [w for w in writes if w["data_hex"] == PAUSE_WRITE and w["result"] == "SUCCESS"]
    assert len(pauses) == rounds - 1


_FULL_DISK_SCRIPT = """
set -e
mount -t tmpfs -o size=64k tmpfs "$DATA"
set +e
"$@" > "$OUT/stdout.txt" 2> "$OUT/stderr.txt"
status=$?
cp "$DATA"/sessions/*.jsonl "$OUT/record.jsonl"
df -k "$DATA" | tail -1 > "$OUT/df.txt"
exit $status
"""


def test_a_full_disk_mid_session_stops_the_belt_and_says_so(tmp_path: Path) -> None:
    """The data folder on a real 64 KB file system that fills up during the session.

    The tmpfs lives in a private mount namespace (``unshare``), so nothing is left
    mounted whatever happens; the trace is kept elsewhere, on a disk with room.
    """
    unshare = shutil.which("unshare")
    assert unshare is not None, "unshare (util-linux) is needed for the full-disk test"
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    out.mkdir()
    trace = out / "trace.jsonl"
    env = {
        **os.environ,
        "DATA": str(data),
        "OUT": str(out),
        "TREADMILL_CTL_DATA_DIR": str(data),
        "TREADMILL_CTL_CONFIG": str(tmp_path / "no-settings.toml"),
    }
    command = [
        *([unshare, "--mount"] if os.geteuid() == 0 else [unshare, "-rm"]),
        "sh",
        "-c",
        _FULL_DISK_SCRIPT,
        "sh",
        sys.executable,
        "-m",
        "treadmill_ctl",
        "run",
        str(PROFILES / "backward-beginner.toml"),
        *DRY_RUN_OPTIONS,
        "--sim-trace",
        str(trace),
    ]
    done = subprocess.run(  # noqa: S603 - our own command line
        command, env=env, cwd=REPO, timeout=120, check=False, capture_output=True, text=True
    )
    assert (out / "stderr.txt").exists(), (
        f"could not mount a small tmpfs in a private namespace (root, or unprivileged "
        f"user namespaces, are needed): {done.stderr.strip()}"
    )
    stderr = (out / "stderr.txt").read_text(encoding="utf-8")

    assert done.returncode == EXIT_ERROR, stderr
    assert "Traceback" not in stderr
    assert "could not be written (No space left on device)" in stderr
    assert "the treadmill was commanded to stop" in stderr
    assert (out / "df.txt").read_text().split()[3] == "0"  # the disk really was full
    # the record keeps what was written before the disk filled, line by line
    record = (out / "record.jsonl").read_text(encoding="utf-8").split("\n")
    assert json.loads(record[0])["event"] == "session.started"
    assert not any(json.loads(line)["event"] == "session.ended" for line in record[:-1])
    # the belt: it moved, then received the stop and came to rest
    lines = read_lines(trace)
    writes = [w for w in _writes(lines) if w["result"] == "SUCCESS"]
    assert any(speed_kmh(w) for w in writes)
    assert writes[-1]["data_hex"] == STOP_WRITE
    samples = [r for r in lines if r["kind"] == "sample"]
    assert max(float(s["belt_speed_kmh"]) for s in samples) > 1.0  # type: ignore[arg-type]
    assert float(samples[-1]["belt_speed_kmh"]) == 0.0  # type: ignore[arg-type]


class _Cues:
    """An observer that keeps the cues (what the person hears)."""

    def __init__(self) -> None:
        self.cues: list[Cue] = []

    def on_snapshot(self, snapshot: object) -> None:
        del snapshot

    def on_event(self, event: object) -> None:
        del event

    def on_cue(self, cue: Cue) -> None:
        self.cues.append(cue)


def test_below_the_treadmills_minimum_the_belt_runs_at_it_and_never_cycles(
    tmp_path: Path,
) -> None:
    """A 0.6 km/h segment on a 1.0 km/h treadmill, then slow-downs past the minimum.

    The segment is walked at 1.0 km/h and the person is told; every slow-down stops
    at the minimum (said so): the belt starts once and never pauses.
    """
    path = tmp_path / "slow.toml"
    path.write_text(
        'name = "slow"\n[[step]]\ndirection = "forward"\nspeed_kmh = 0.6\nduration = "2m"\n'
    )
    profile = load_profile(path)

    async def main() -> tuple[list[dict[str, object]], list[Cue], float]:
        config = MachineConfig(min_speed_kmh=1.0)
        async with open_virtual_treadmill(config=config) as sim:
            runner = _runner_for(sim, profile)
            cues = _Cues()
            runner.add_observer(cues)
            session = asyncio.create_task(runner.run())
            await asyncio.sleep(30)
            for _ in range(8):  # a remote or a key asking for slower and slower
                runner.nudge_speed(-0.5, RequestSource.MQTT)
                await asyncio.sleep(2)
            belt_kmh = sim.model.belt_speed_kmh
            await session
            return list(map(dict, sim.trace.records)), cues.cues, belt_kmh

    records, cues, belt_kmh = run_accelerated(main())
    writes = [str(w["data_hex"]) for w in _writes(records) if w["result"] == "SUCCESS"]
    assert writes.count(START_WRITE) == 1
    assert PAUSE_WRITE not in writes
    speeds = [speed_kmh(w) for w in _writes(records) if speed_kmh(w) is not None]
    assert speeds
    assert min(s for s in speeds if s) >= 1.0
    assert belt_kmh == pytest.approx(1.0, abs=0.05)
    floor_cues = [cue.text for cue in cues if cue.kind == "speed_floor"]
    assert "0.6 km/h is below this treadmill's slowest speed: walking at 1 km/h." in floor_cues
    assert "Already at the slowest speed, 1 km/h." in floor_cues


class _WitnessRecord(SessionRecord):
    """A record that notes, as each stop line is written, whether the stop was under way."""

    def __init__(self, path: Path, *, clock: Clock) -> None:
        super().__init__(path, clock=clock)
        self.link: FtmsLink | None = None
        self.seen: list[tuple[str, bool]] = []

    def write_event_dict(self, event_dict: MutableMapping[str, Any]) -> None:
        event = str(event_dict.get("event"))
        is_stop = event == "session.emergency_stop" or (
            event == "governor.command" and event_dict.get("command") == "SendStop"
        )
        if is_stop and self.link is not None:
            self.seen.append((event, self.link.stop_pending))
        super().write_event_dict(event_dict)


def test_the_stop_is_on_its_way_before_a_line_is_written_about_it(tmp_path: Path) -> None:
    profile = load_profile(DEMO)

    async def main() -> list[tuple[str, bool]]:
        record = _WitnessRecord(tmp_path / "s.jsonl", clock=LoopClock())
        configure_logging(record=record, console=None)
        try:
            async with open_virtual_treadmill() as sim:
                links: list[FtmsLink] = []
                runner = _runner_for(sim, profile, links)
                session = asyncio.create_task(runner.run())
                while sim.model.belt_speed_kmh < 1.5:  # noqa: ASYNC110 - virtual time
                    await asyncio.sleep(0.1)
                (record.link,) = links
                runner.emergency_stop(RequestSource.HOTKEY)
                await session
                return record.seen
        finally:
            structlog.reset_defaults()
            record.close()

    seen = run_accelerated(main())
    assert [event for event, _ in seen][:2] == ["governor.command", "session.emergency_stop"]
    assert all(under_way for _, under_way in seen[:2]), seen

"""Whole sessions through the Linux Bluetooth stack, against a simulated treadmill.

The stack is bleak's BlueZ backend, D-Bus, bluetoothd and the kernel; the treadmill
is ``treadmill-sim`` on a virtual controller.

Run inside the test guest by ``make test-bluez``. Each test drives ``treadmill-ctl``
as a person does (``scan``; ``run --device SIM-TREADMILL`` in a terminal, Enter to
start, p after a turn-around, Space to stop, q to end) and plays the world on the
simulator's console (k pulls the safety key, d drops the link, g stops the data).
What the belt did is judged from the simulator's trace; when each key was handled,
from the session record. Everything runs at real speed on an emulated machine, so
waits are generous; the figures each test measured go to ``figures.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from bluez_support import (
    SIM_NAME,
    Terminal,
    child_env,
    controllers,
    treadmill_ctl_run,
    treadmill_sim,
    wait_until,
    witnesses,
)
from e2e_support import (
    MOVING_KMH,
    START_WRITE,
    STOP_WRITE,
    STOPPED_KMH,
    Line,
    Witnesses,
    number,
    speed_kmh,
    stop_latency_s,
)

from treadmill_ctl.safety import Limits

if TYPE_CHECKING:
    from collections.abc import Iterator

CONNECT_S: Final = 120.0
"""Real seconds for scan, connect, discovery and control through BlueZ, emulated."""
EVENT_S: Final = 30.0
"""Real seconds for anything that follows a key or a fault in a few session seconds."""
STOP_LATENCY_BOUND_S: Final = 1.0
"""A Stop must reach the belt within this of the key, even on an emulated machine."""
REQUEST_CONTROL: Final = "00"
TURNAROUND_KMH: Final = 1.0
EXIT_STOPPED_BY_PERSON: Final = 3
EXIT_SAFETY_LATCH: Final = 4
DATA_PERIOD_S: Final = 1.0
"""The simulated treadmill's Treadmill Data period."""


@pytest.fixture
def out(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Where this test's record, trace and logs go: tmpfs while it runs, then kept.

    The programs write on the guest's tmpfs (the shared folder costs a round trip
    to the host per write); at the end everything is copied to ``$BLUEZ_RESULTS``.
    The tests share the end-to-end witnesses of ``tests/`` (the record and trace
    readers), found there through the root conftest's folder. (This fixture lives
    here, not in a conftest of its own: two conftest modules would clash for mypy.)
    """
    yield tmp_path
    root = os.environ.get("BLUEZ_RESULTS")
    if root:
        shutil.copytree(tmp_path, Path(root) / request.node.name, dirs_exist_ok=True)


def record_figure(out: Path, **figures: float) -> None:
    path = out / "figures.json"
    known = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    path.write_text(json.dumps(known | figures, indent=2), encoding="utf-8")


def event_seen(seen: Witnesses, name: str, **fields: object) -> Line | None:
    for line in seen.refresh().events(name):
        if all(line.get(key) == value for key, value in fields.items()):
            return line
    return None


def wait_for_event(
    seen: Witnesses, name: str, timeout_s: float = EVENT_S, **fields: object
) -> Line:
    wait_until(lambda: event_seen(seen, name, **fields) is not None, f"{name} {fields}", timeout_s)
    line = event_seen(seen, name, **fields)
    assert line is not None
    return line


def belt_moving_since(seen: Witnesses, after_s: float, for_s: float) -> bool:
    """Whether the belt has moved for ``for_s`` trace seconds after ``after_s``."""
    moving = [
        number(s, "t")
        for s in seen.refresh().samples(after_s)
        if number(s, "belt_speed_kmh") > MOVING_KMH
    ]
    return bool(moving) and moving[-1] - moving[0] >= for_s


def start_the_belt(seen: Witnesses, run: Terminal) -> None:
    """Wait for the link, then press Enter (again only if the key was not handled)."""
    wait_until(
        lambda: event_seen(seen, "link.up") is not None or run.process.poll() is not None,
        "the link to come up",
        CONNECT_S,
    )
    ended = event_seen(seen, "session.ended")
    assert ended is None, f"treadmill-ctl ended before the link was up: {ended}"
    for _ in range(10):
        run.press(b"\r")
        try:
            wait_for_event(seen, "session.start_requested", 3.0)
        except AssertionError:
            continue
        break
    wait_until(lambda: belt_moving_since(seen, 0.0, 2.0), "the belt to move for 2 s", EVENT_S)


def press_and_stop(seen: Witnesses, run: Terminal, out: Path, figure: str) -> Line:
    """Space: the Stop reaches the belt promptly; returns the Stop write."""
    run.press(b" ")
    stop_request = wait_for_event(seen, "session.emergency_stop", source="hotkey")
    wait_until(
        lambda: any(w["data_hex"] == STOP_WRITE for w in seen.refresh().writes()),
        "the Stop to reach the belt",
        EVENT_S,
    )
    latency_s, stop = stop_latency_s(seen, number(stop_request, "t"))
    record_figure(out, **{figure: round(latency_s, 4)})
    assert latency_s <= STOP_LATENCY_BOUND_S, latency_s
    return stop


def wait_for_belt_at_rest(seen: Witnesses) -> None:
    wait_until(
        lambda: number(seen.refresh().samples()[-1], "belt_speed_kmh") <= STOPPED_KMH,
        "the belt to stop",
        EVENT_S,
    )


def end_with_q(run: Terminal) -> int:
    run.press(b"q")
    return run.process.wait(timeout=2 * EVENT_S)


def writes_after(seen: Witnesses, after_s: float) -> list[Line]:
    """Every control point write the belt received after ``after_s``, refused or not."""
    return [
        r for r in seen.trace if r["kind"] == "control_point_write" and number(r, "t") > after_s
    ]


def assert_nothing_moved_the_belt_after(seen: Witnesses, after_s: float) -> None:
    later = [w for w in seen.writes() if number(w, "t") > after_s]
    assert not [w for w in later if w["data_hex"] == START_WRITE], later
    assert not [w for w in later if speed_kmh(w)], later
    assert number(seen.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH


def fault_at_s(seen: Witnesses, fault: str) -> float:
    (line,) = [r for r in seen.trace if r["kind"] == "fault" and r["fault"] == fault]
    return number(line, "t")


def test_scan_then_a_session_with_a_turn_around_and_an_emergency_stop(out: Path) -> None:
    """The first thing a person does, then a session: start, a turn-around, Space.

    The turn-around keeps the belt crawling (``turnaround_speed_kmh``), so it needs no
    key: on the emulated machine a pause written right behind the ramp's last speed
    command meets "procedure already in progress" for longer than the stop path's
    write bound, and the governor then (rightly) latches a stop it cannot confirm.
    """
    seen = witnesses(out)
    (out / "config.toml").write_text(
        f"[limits]\nturnaround_speed_kmh = {TURNAROUND_KMH}\n", encoding="utf-8"
    )
    with controllers(out), treadmill_sim(out):
        scan = subprocess.run(
            [sys.executable, "-m", "treadmill_ctl", "scan", "--timeout", "8"],
            capture_output=True,
            text=True,
            env=child_env(out),
            timeout=CONNECT_S,
            check=False,
        )
        (out / "scan.txt").write_text(scan.stdout + scan.stderr, encoding="utf-8")
        assert scan.returncode == 0, scan.stderr
        assert SIM_NAME in scan.stdout

        with treadmill_ctl_run(out, "turnaround.toml") as run:
            start_the_belt(seen, run)
            turning = wait_for_event(seen, "governor.state_changed", 90.0, new="turning_around")
            walking_on = wait_for_event(
                seen, "governor.state_changed", old="turning_around", new="running"
            )
            walked_on_s = seen.trace_now_s()
            wait_until(
                lambda: belt_moving_since(seen, walked_on_s, 2.0),
                "the belt to move backward for 2 s",
                EVENT_S,
            )
            stop = press_and_stop(seen, run, out, "estop_latency_s")
            wait_for_event(seen, "governor.latched", reason="emergency_stop")
            status = end_with_q(run)
    seen.refresh()

    assert status == EXIT_STOPPED_BY_PERSON
    keys = [(e["key"], e["action"]) for e in seen.events("hotkey.pressed")]
    assert keys == [("enter", "start"), ("space", "emergency_stop"), ("q", "end")]
    assert "backward" in str(walking_on["reason"])
    # The turn-around: slowed to the crawl, never below it nor back up before the hold
    # was over; then backward, no faster than the profile's 1.2 km/h.
    offset_s = seen.offset_bound_s()
    turn_s = number(turning, "t") - offset_s
    on_s = number(walking_on, "t") - offset_s
    during = [s for w in seen.writes() if turn_s < number(w, "t") < on_s and (s := speed_kmh(w))]
    assert during
    assert min(during) == TURNAROUND_KMH
    assert max(during) < 2.0
    backward = [s for w in seen.writes() if number(w, "t") > on_s and (s := speed_kmh(w))]
    assert backward
    assert max(backward) <= 1.2
    # The stop: obeyed, and nothing moved the belt after it.
    assert stop["result"] == "SUCCESS"
    assert_nothing_moved_the_belt_after(seen, number(stop, "t"))


def test_a_link_dropped_mid_run_is_latched_and_the_stop_goes_out_after_control(
    out: Path,
) -> None:
    """BlueZ reconnects; Request Control first, then the stop, obeyed; no restart."""
    seen = witnesses(out)
    with controllers(out), treadmill_sim(out) as sim, treadmill_ctl_run(out, "steady.toml") as run:
        start_the_belt(seen, run)
        sim.press(b"d")
        wait_for_event(seen, "governor.latched", reason="link_lost")
        wait_until(
            lambda: any(w["data_hex"] == STOP_WRITE for w in seen.refresh().writes()),
            "the stop to reach the belt after the reconnect",
            90.0,
        )
        wait_for_belt_at_rest(seen)
        status = end_with_q(run)
    seen.refresh()

    dropped_s = fault_at_s(seen, "disconnect")
    links = [(r["link_state"], number(r, "t")) for r in seen.trace if r["kind"] == "link"]
    back_s = next(t for state, t in links if state == "up" and t > dropped_s)
    # On the new connection: control first, then the stop, and the stop obeyed at once.
    # (Counted from the link's return: a ramp step may still land in the moment between
    # the fault and the link going down.)
    after = writes_after(seen, back_s)
    assert [(w["data_hex"], w["result"]) for w in after[:2]] == [
        (REQUEST_CONTROL, "SUCCESS"),
        (STOP_WRITE, "SUCCESS"),
    ], after
    assert not [w for w in after if w["result"] == "CONTROL_NOT_PERMITTED"]
    stop_s = number(after[1], "t")
    record_figure(
        out,
        reconnect_s=round(back_s - dropped_s, 3),
        stop_after_link_up_s=round(stop_s - back_s, 3),
    )
    # The belt ran on while the link was down (the machine cannot know), then stopped.
    assert any(number(s, "belt_speed_kmh") > MOVING_KMH for s in seen.samples(dropped_s + 1.0))
    # Nothing moved it once the link was down (a ramp step written in the moment between
    # the fault and the link going down is the controller not knowing yet, not a restart).
    down_s = next(t for state, t in links if state == "down" and t > dropped_s)
    assert_nothing_moved_the_belt_after(seen, down_s)
    assert status == EXIT_SAFETY_LATCH


def test_the_safety_key_pulled_at_the_console_latches_and_nothing_restarts(out: Path) -> None:
    seen = witnesses(out)
    with controllers(out), treadmill_sim(out) as sim, treadmill_ctl_run(out, "steady.toml") as run:
        start_the_belt(seen, run)
        sim.press(b"k")
        wait_for_event(seen, "governor.latched", reason="safety_key")
        pulled_s = seen.trace_now_s()
        sim.press(b"k")  # put back: still nothing may start the belt without the person
        wait_until(lambda: seen.refresh().trace_now_s() > pulled_s + 5.0, "5 s to pass", EVENT_S)
        status = end_with_q(run)
    seen.refresh()

    key_out = [s for s in seen.samples() if s["safety_key_in"] is False]
    assert key_out
    assert_nothing_moved_the_belt_after(seen, number(key_out[0], "t"))
    assert status == EXIT_SAFETY_LATCH


def test_stale_data_latches_and_the_stop_reaches_the_belt(out: Path) -> None:
    """No data for 4 s on a link that stays up: the stale-data stop at 2.5 s."""
    seen = witnesses(out)
    with controllers(out), treadmill_sim(out) as sim, treadmill_ctl_run(out, "steady.toml") as run:
        start_the_belt(seen, run)
        sim.press(b"g")
        wait_for_event(seen, "governor.latched", reason="stale_data")
        wait_until(
            lambda: any(w["data_hex"] == STOP_WRITE for w in seen.refresh().writes()),
            "the Stop to reach the belt",
            EVENT_S,
        )
        wait_for_belt_at_rest(seen)
        status = end_with_q(run)
    seen.refresh()

    stalled_s = fault_at_s(seen, "stall")
    (stop, *_) = [w for w in seen.writes() if w["data_hex"] == STOP_WRITE]
    waited_s = number(stop, "t") - stalled_s
    record_figure(out, stale_stop_after_s=round(waited_s, 3))
    # Not before the data had been missing 2.5 s, and before the stall was over. The
    # last frame came up to one data period (1 s) before the stall began, and the 2.5 s
    # count from that frame.
    earliest_s = Limits().stale_data_timeout_s - DATA_PERIOD_S - 0.2
    assert earliest_s <= waited_s < 4.0, waited_s
    assert all(
        s["link_state"] == "up"
        for s in seen.samples(stalled_s)
        if number(s, "t") < number(stop, "t")
    )
    assert_nothing_moved_the_belt_after(seen, number(stop, "t"))
    assert status == EXIT_SAFETY_LATCH


def test_a_treadmill_answering_by_notification_is_driven_and_stopped(out: Path) -> None:
    """The cp-notify quirk (UREVO E1L): BlueZ delivers the answers as notifications."""
    seen = witnesses(out)
    with (
        controllers(out),
        treadmill_sim(out, "--sim-quirk", "cp-notify"),
        treadmill_ctl_run(out, "steady.toml") as run,
    ):
        start_the_belt(seen, run)
        wait_until(
            lambda: any(number(s, "belt_speed_kmh") >= 1.95 for s in seen.refresh().samples()),
            "the belt to reach 2 km/h",
            EVENT_S,
        )
        stop = press_and_stop(seen, run, out, "estop_latency_s")
        status = end_with_q(run)
    seen.refresh()

    answered = [e for e in seen.events("command.answered") if number(e, "t") < number(stop, "t")]
    speed_writes = [w for w in seen.writes() if speed_kmh(w)]
    # Every command was answered (no time-outs), in the answers' own words.
    assert len(answered) >= 1 + len(speed_writes)
    assert {e["result"] for e in answered} == {"success"}
    assert not seen.events("command.failed")
    assert stop["result"] == "SUCCESS"
    assert_nothing_moved_the_belt_after(seen, number(stop, "t"))
    assert status == EXIT_STOPPED_BY_PERSON

"""What the end-to-end tests read: the session record and the simulator's trace.

Both files are JSON lines written by another process while the test watches them;
the helpers here read them as they grow and answer questions of both witnesses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from treadmill_ctl.cli import main

REPO: Final = Path(__file__).resolve().parent.parent
CONTROL_TICK_S: Final = 0.1
MOVING_KMH: Final = 0.5
STOPPED_KMH: Final = 0.05
STOP_WRITE: Final = "0801"
START_WRITE: Final = "07"
SET_SPEED_OP: Final = 0x02

DRY_RUN_OPTIONS: Final = ("--simulator", "--speedup", "max", "--yes", "--plain", "--quiet")
"""``run``'s options for a dry run in virtual time with nobody at the keys."""

type Line = dict[str, object]


def run_python(
    script: str, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``script`` run by this Python as its own process, from the repository."""
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read_lines(path: Path) -> list[Line]:
    """The complete JSON lines of a file another process is still writing."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    complete = text.split("\n")[:-1]  # the last piece is empty or still being written
    return [json.loads(line) for line in complete]


def number(line: Line, key: str) -> float:
    value = line[key]
    assert isinstance(value, int | float), (key, line)
    return float(value)


@dataclass
class Witnesses:
    """The session record (what the program did) and the trace (what the belt did)."""

    record_path: Path
    trace_path: Path
    record: list[Line] = field(default_factory=list)
    trace: list[Line] = field(default_factory=list)

    def refresh(self) -> Witnesses:
        self.record = read_lines(self.record_path)
        self.trace = read_lines(self.trace_path)
        return self

    def events(self, name: str) -> list[Line]:
        return [line for line in self.record if line.get("event") == name]

    def samples(self, after_s: float = -1.0) -> list[Line]:
        return [r for r in self.trace if r["kind"] == "sample" and number(r, "t") > after_s]

    def writes(self) -> list[Line]:
        """Control point writes the treadmill received and carried out, in order."""
        return [
            r for r in self.trace if r["kind"] == "control_point_write" and r["result"] == "SUCCESS"
        ]

    def trace_now_s(self) -> float:
        return number(self.trace[-1], "t") if self.trace else 0.0

    def belt_moving_after(self, after_s: float) -> bool:
        return any(number(s, "belt_speed_kmh") > MOVING_KMH for s in self.samples(after_s))

    def offset_bound_s(self) -> float:
        """An upper bound of (record time - trace time) for one and the same moment.

        A machine status notification reaches the record after the simulator sent it
        (and traced it), so each one bounds the offset from above; the smallest bound
        is the tightest. Pairing them in order is safe: a notification the program
        missed pairs a later record line with an earlier trace line, a looser bound.
        """
        sent = [r for r in self.trace if r["kind"] == "machine_status"]
        received = self.events("machine.status")
        bounds = [
            number(got, "t") - number(out, "t")
            for out, got in zip(sent, received, strict=False)
            if out["data_hex"] == got["raw"]
        ]
        assert bounds, "no machine status seen by both the simulator and the program"
        return min(bounds)


def stop_latency_s(seen: Witnesses, key_t: float) -> tuple[float, Line]:
    """The first Stop the belt received after a request handled at record time ``key_t``.

    Returns an upper bound of the session time from the request to the Stop write,
    and the write. No Stop reached the belt before the request.
    """
    offset_s = seen.offset_bound_s()
    stops = [w for w in seen.writes() if w["data_hex"] == STOP_WRITE]
    assert stops, "no Stop reached the treadmill"
    first = stops[0]
    latency_s = number(first, "t") + offset_s - key_t
    assert latency_s >= -CONTROL_TICK_S, "a Stop reached the belt before the request"
    return latency_s, first


def speed_kmh(write: Line) -> float | None:
    """The target speed of a Set Target Speed write, or None for any other write."""
    data = bytes.fromhex(str(write["data_hex"]))
    if data[0] != SET_SPEED_OP:
        return None
    return int.from_bytes(data[1:3], "little") / 100


@dataclass
class DryRun:
    """A finished dry run: its exit status, its session record and the simulator's trace."""

    status: int
    record: list[Line]
    trace: list[Line]

    def events(self, name: str) -> list[Line]:
        return [line for line in self.record if line["event"] == name]

    def samples(self) -> list[Line]:
        return [r for r in self.trace if r["kind"] == "sample"]

    def strap(self) -> list[Line]:
        """What the simulated heart-rate strap sent."""
        return [r for r in self.trace if r["kind"] == "hr_strap"]

    def trace_offset_s(self) -> float:
        """Record time minus trace time, from the first treadmill link-up both saw."""
        record_up = number(self.events("link.up")[0], "t")
        trace_up = next(
            number(r, "t") for r in self.trace if r["kind"] == "link" and r["link_state"] == "up"
        )
        return record_up - trace_up

    def speed_writes(self) -> list[tuple[float, float | None]]:
        """Every accepted speed command the treadmill received, as (trace time, km/h).

        A stop, pause or start is (time, None): a new ramp begins after it.
        """
        writes: list[tuple[float, float | None]] = []
        for record in self.trace:
            if record["kind"] != "control_point_write" or record["result"] != "SUCCESS":
                continue
            data = bytes.fromhex(str(record["data_hex"]))
            if data[0] == SET_SPEED_OP:
                writes.append((number(record, "t"), int.from_bytes(data[1:3], "little") / 100))
            elif data[0] in {0x07, 0x08}:
                writes.append((number(record, "t"), None))
        return writes


def dry_run(tmp_path: Path, profile: Path, *options: str) -> DryRun:
    """``treadmill-ctl run PROFILE --simulator --speedup max`` in this process, read back."""
    record = tmp_path / "session.jsonl"
    trace = tmp_path / "trace.jsonl"
    status = main(
        [
            "run",
            str(profile),
            *DRY_RUN_OPTIONS,
            "--record",
            str(record),
            "--sim-trace",
            str(trace),
            *options,
        ]
    )
    return DryRun(status, read_lines(record), read_lines(trace))

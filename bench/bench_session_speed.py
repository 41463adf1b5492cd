"""How fast a whole 60-minute session dry-runs through the real command line.

Runs ``treadmill-ctl run profiles/endurance-60min.toml --simulator --speedup max
--yes --plain --quiet`` in this process (``treadmill_ctl.cli.main``, so everything a
user's dry run does happens: settings, profile, plan, simulator, link, governor,
runner, session record, sim trace), with the configuration and data folders pointed
at a temporary one and the plain output swallowed. Prints, per run, the wall time,
this process's CPU time (user + system, ``time.process_time``), the session time
(from the record's ``session.ended`` summary) and the session time per second of
each.

The target: a 60-minute dry run at 1000 times real time or faster (``--target``) on
a 2-core machine. The verdict is taken on the median CPU-time ratio, which other
work on a shared machine disturbs far less than the wall clock; on a quiet machine
the two agree within a few per cent. The bench exits 1 when the target is missed.
The simulator alone, without the session, is timed by ``bench_simulator.py``.

Run: ``.venv/bin/python bench/bench_session_speed.py [--runs 3] [--profile PATH]
[--target 1000]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from treadmill_ctl import cli
from treadmill_ctl.config import CONFIG_ENV, DATA_ENV

ROOT: Final = Path(__file__).resolve().parents[1]
PROFILE: Final = ROOT / "profiles" / "endurance-60min.toml"
TARGET_RATIO: Final = 1000.0
"""Session seconds per CPU second a 60-minute dry run must reach."""


@dataclass(frozen=True, slots=True)
class DryRun:
    """One dry run's figures."""

    exit_status: int
    wall_s: float
    cpu_s: float
    session_s: float
    plan_s: float
    end: str
    record_lines: int
    trace_lines: int

    @property
    def ratio(self) -> float:
        """Session seconds (the plan plus ramps and turn-arounds) per wall-clock second."""
        return self.session_s / self.wall_s

    @property
    def cpu_ratio(self) -> float:
        """Session seconds per second of this process's CPU time."""
        return self.session_s / self.cpu_s


def record_entry(record: Path, event: str) -> dict[str, object]:
    """The first line of a session record whose ``event`` is ``event``."""
    with record.open(encoding="utf-8") as lines:
        for line in lines:
            entry: dict[str, object] = json.loads(line)
            if entry.get("event") == event:
                return entry
    raise SystemExit(f"no {event} in {record}")


def number(mapping: object, key: str) -> float:
    """``mapping[key]`` as a float (a record's JSON numbers)."""
    assert isinstance(mapping, dict)
    value = mapping[key]
    assert isinstance(value, int | float)
    return float(value)


def dry_run(profile: Path) -> DryRun:
    """Dry-run ``profile`` once through ``cli.main``; time it on the wall clock and in CPU."""
    with tempfile.TemporaryDirectory(prefix="bench-session-") as workdir:
        folder = Path(workdir)
        record, trace = folder / "record.jsonl", folder / "trace.jsonl"
        os.environ[CONFIG_ENV] = str(folder / "config.toml")  # absent: the defaults
        os.environ[DATA_ENV] = str(folder / "data")
        argv = [
            "run",
            str(profile),
            "--simulator",
            "--speedup",
            "max",
            "--yes",
            "--plain",
            "--quiet",
            "--record",
            str(record),
            "--sim-trace",
            str(trace),
        ]
        with contextlib.redirect_stdout(io.StringIO()):
            started_s, started_cpu_s = time.perf_counter(), time.process_time()
            status = cli.main(argv)
            wall_s = time.perf_counter() - started_s
            cpu_s = time.process_time() - started_cpu_s
        summary = record_entry(record, "session.ended")["summary"]
        plan = record_entry(record, "session.started")["plan"]
        assert isinstance(summary, dict)
        with record.open(encoding="utf-8") as lines:
            record_lines = sum(1 for _ in lines)
        with trace.open(encoding="utf-8") as lines:
            trace_lines = sum(1 for _ in lines)
        return DryRun(
            exit_status=status,
            wall_s=wall_s,
            cpu_s=cpu_s,
            session_s=number(summary, "duration_s"),
            plan_s=number(plan, "total_s"),
            end=str(summary["end"]),
            record_lines=record_lines,
            trace_lines=trace_lines,
        )


def main() -> None:
    """Run the dry runs, print their figures and the verdict; exit 1 below the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=PROFILE)
    parser.add_argument("--target", type=float, default=TARGET_RATIO)
    args = parser.parse_args()
    print(f"session dry run: {args.profile.name} via treadmill_ctl.cli.main, --speedup max")
    runs: list[DryRun] = []
    for index in range(args.runs):
        run = dry_run(args.profile)
        runs.append(run)
        print(
            f"  run {index + 1}: {run.end} (exit {run.exit_status}), session {run.session_s:.0f} s"
            f" ({run.session_s / 60:.1f} min; plan {run.plan_s:.0f} s), wall {run.wall_s:.2f} s,"
            f" cpu {run.cpu_s:.2f} s, session/wall {run.ratio:.0f}x,"
            f" session/cpu {run.cpu_ratio:.0f}x; record {run.record_lines} lines,"
            f" trace {run.trace_lines} lines"
        )
        assert run.exit_status == 0, "the dry run must complete"
    walls = [run.wall_s for run in runs]
    ratios = [run.ratio for run in runs]
    cpu_ratios = [run.cpu_ratio for run in runs]
    print(
        f"median: wall {statistics.median(walls):.2f} s (min {min(walls):.2f}, max"
        f" {max(walls):.2f}), session/wall {statistics.median(ratios):.0f}x"
        f" (min {min(ratios):.0f}x, max {max(ratios):.0f}x), session/cpu"
        f" {statistics.median(cpu_ratios):.0f}x (min {min(cpu_ratios):.0f}x,"
        f" max {max(cpu_ratios):.0f}x)"
    )
    # ru_maxrss is in KiB on Linux: the whole process, interpreter and imports included
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process after {args.runs} runs: {peak_mib:.0f} MiB")
    met = statistics.median(cpu_ratios) >= args.target
    print(
        f"target: session/cpu >= {args.target:.0f}x: {'met' if met else 'NOT MET'}"
        f" (median {statistics.median(cpu_ratios):.0f}x)"
    )
    if not met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

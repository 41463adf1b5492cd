"""A session as CSV: one row per belt sample, for spreadsheets and notebooks.

Columns carry their units. Empty cells mean the treadmill did not report that value
(many do not relay a heart rate, some report no distance). ``heart_rate_bpm`` is the
person's heart rate (:mod:`~treadmill_ctl.history.heart_rate`): the strap's when the
record holds strap readings, else the treadmill's; ``heart_rate_source`` says which
(``strap:ADDRESS`` or ``treadmill``, empty without a heart rate). ``distance_m`` is the
session's own continuous distance (see :class:`~treadmill_ctl.history.record.Sample`);
``belt_distance_m`` is the treadmill's raw counter. ``segment`` counts the plan's
segments from 1, as the report, the chart and the other exports do (empty before the
first one began). The flags are ``1`` or ``0``: ``walking`` while the activity's timer
runs (not waiting for the start, paused or latched), ``paused`` in a pause,
``latched`` while a safety stop is latched, and ``simulated`` on every row of a dry
run against the simulator (its speeds and heart rate are not a person's).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from treadmill_ctl.history.session_log import SessionLog

COLUMNS: Final = (
    "time_utc",
    "session_s",
    "segment",
    "direction",
    "speed_kmh",
    "incline_pct",
    "distance_m",
    "belt_distance_m",
    "belt_elapsed_s",
    "heart_rate_bpm",
    "heart_rate_source",
    "walking",
    "paused",
    "latched",
    "simulated",
)


def _cell(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _flag(value: bool) -> str:  # noqa: FBT001 - a cell, not an option
    return "1" if value else "0"


def session_csv(log: SessionLog) -> str:
    """The session's samples as CSV text: a header row, then one row per sample."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for sample in log.samples:
        writer.writerow(
            (
                log.wall_time(sample.t_s).isoformat(timespec="milliseconds"),
                f"{sample.t_s - log.start_t_s:.3f}",
                "" if sample.segment_index is None else str(sample.segment_index + 1),
                "" if sample.direction is None else sample.direction.value,
                _cell(sample.speed_kmh, 2),
                _cell(sample.incline_pct, 1),
                _cell(sample.distance_m, 1),
                _cell(sample.reported_distance_m, 1),
                _cell(sample.elapsed_s, 0),
                "" if sample.heart_rate_bpm is None else str(sample.heart_rate_bpm),
                sample.heart_rate_source or "",
                _flag(sample.timer_running),
                _flag(sample.paused),
                _flag(sample.latched),
                _flag(log.simulator),
            )
        )
    return out.getvalue()

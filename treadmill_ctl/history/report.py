"""One session for people: the summary text and a chart of the belt over time.

The chart shows the belt speed the treadmill reported, the planned target of each
segment, backward segments shaded, every latch marked where it happened, pauses,
and the heart rate on a second axis when the treadmill relayed one. A record cut
short says so in the text and in the chart's title, and the chart marks where the
record stops.

matplotlib draws without a display (the Agg canvas, no pyplot and no global
state), so reports work over SSH, in CI and in tests.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Final

from treadmill_ctl.history.energy import kcal_between, session_weight_kg
from treadmill_ctl.profiles.durations import format_duration
from treadmill_ctl.profiles.energy import BACKWARD_EQUATION, FORWARD_EQUATION
from treadmill_ctl.safety import Direction

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from treadmill_ctl.history.record import SessionLog

_S_PER_MIN: Final = 60.0
_M_PER_KM: Final = 1000.0
_BACKWARD_COLOUR: Final = "#f4a259"
_SPEED_COLOUR: Final = "#1f4e79"
_TARGET_COLOUR: Final = "#7a7a7a"
_LATCH_COLOUR: Final = "#c0392b"
_HEART_COLOUR: Final = "#b5179e"
_PAUSE_COLOUR: Final = "#d0d0d0"


def clock(seconds: float) -> str:
    """Seconds as ``m:ss`` or ``h:mm:ss``, for durations in tables."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def local_time(moment: datetime) -> str:
    """A UTC moment in the machine's local time, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def ending_text(log: SessionLog) -> str:
    """How the session ended, in a few words: ``"safety latch (emergency_stop)"``."""
    if log.cut_short:
        return "cut short"
    text = log.ending.label
    if log.summary.latches:
        text += f" ({', '.join(dict.fromkeys(log.summary.latches))})"
    return text


def cut_short_note(log: SessionLog) -> str | None:
    """Why a record may be incomplete, or ``None`` when it ended normally and whole."""
    notes: list[str] = []
    if log.cut_short:
        notes.append(
            "the record has no end: the program crashed or the power went; "
            "what follows is what it holds"
        )
    if log.partial_last_line:
        notes.append("its last line was half written and was ignored")
    if log.bad_lines:
        notes.append(f"{log.bad_lines} unreadable line(s) were skipped")
    return "; ".join(notes) if notes else None


def format_report(
    log: SessionLog, *, chart_path: Path | None = None, weight_kg: float | None = None
) -> str:
    """The summary of one session as text.

    Args:
        log: The session.
        chart_path: Where the chart was written, to say so at the end.
        weight_kg: The person's configured weight, for the energy estimate when the
            record has none.
    """
    summary = log.summary
    lines = [f"Session {log.path.name}"]
    profile = log.profile_name or "(profile not recorded)"
    if log.profile_path:
        profile += f" ({log.profile_path})"
    lines.append(f"  profile     {profile}")
    where = log.device_name or "unknown treadmill"
    if log.simulator:
        where += " (simulator dry run)"
    lines.append(f"  started     {local_time(log.started_at)} on {where}")
    lines.append(f"  ended       {ending_text(log)}")
    if note := cut_short_note(log):
        lines.append(f"  note        {note}")
    derived = " (worked out from the record)" if log.summary_derived else ""
    lines.append(
        f"  time        {clock(summary.duration_s)} in all: "
        f"{clock(summary.backward_s)} backward, {clock(summary.forward_s)} forward{derived}"
    )
    lines.append(f"  distance    {summary.distance_m / _M_PER_KM:.2f} km")
    lines.append(f"  segments    {summary.segments_completed} of {summary.segment_count} completed")
    if log.plan is not None:
        plan = log.plan
        lines.append(
            f"  planned     {format_duration(plan.total_s)}: "
            f"{format_duration(plan.backward_s)} backward, "
            f"{format_duration(plan.forward_s)} forward, {plan.distance_m / _M_PER_KM:.2f} km"
        )
    lines.extend(_speed_lines(log))
    lines.extend(_heart_rate_lines(log))
    lines.extend(_latch_lines(log))
    if log.pauses:
        paused_s = sum(
            (pause.end_t_s if pause.end_t_s is not None else log.end_t_s) - pause.start_t_s
            for pause in log.pauses
        )
        lines.append(f"  pauses      {len(log.pauses)}, {clock(paused_s)} in all")
    lines.extend(_energy_lines(log, weight_kg))
    if chart_path is not None:
        lines.append(f"  chart       {chart_path}")
    return "\n".join(lines)


def _speed_lines(log: SessionLog) -> list[str]:
    lines: list[str] = []
    for direction in (Direction.BACKWARD, Direction.FORWARD):
        speeds = [
            sample.speed_kmh
            for sample in log.samples
            if sample.direction is direction and sample.speed_kmh
        ]
        if speeds:
            lines.append(
                f"  {direction.value:<11} {statistics.fmean(speeds):.2f} km/h on average, "
                f"{max(speeds):.2f} km/h at most (belt moving)"
            )
    return lines


def _heart_rate_lines(log: SessionLog) -> list[str]:
    rates = [sample.heart_rate_bpm for sample in log.samples if sample.heart_rate_bpm]
    if not rates:
        return []
    return [f"  heart rate  {statistics.fmean(rates):.0f} bpm on average, {max(rates)} at most"]


def _latch_lines(log: SessionLog) -> list[str]:
    if not log.latches:
        return ["  latches     none"]
    lines = [f"  latches     {len(log.latches)}"]
    for latch in log.latches:
        detail = f": {latch.detail}" if latch.detail else ""
        lines.append(f"    at {clock(latch.t_s - log.start_t_s)}  {latch.reason}{detail}")
    return lines


def _energy_lines(log: SessionLog, weight_kg: float | None) -> list[str]:
    if not log.samples:
        return []
    weight = session_weight_kg(log, weight_kg)
    kcal = kcal_between(log, log.start_t_s, log.end_t_s, weight_kg=weight)
    return [
        f"  energy      about {kcal:.0f} kcal for {weight:g} kg, an estimate only, from",
        f"              backward: {BACKWARD_EQUATION}",
        f"              forward: {FORWARD_EQUATION}",
    ]


def write_chart(log: SessionLog, path: Path) -> Path:
    """Draw the session into a PNG file.

    Args:
        log: The session.
        path: The PNG to write (its folder must exist).

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(11, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    chart = _Chart(log)
    chart.draw_plan(axes)
    top = chart.draw_speed(axes)
    chart.draw_stops(axes, top)
    axes.set_ylim(0, top * 1.25)
    axes.set_xlim(0, max(chart.minutes(log.end_t_s), 1 / _S_PER_MIN) * 1.03)
    axes.set_xlabel("time (min)")
    axes.set_ylabel("belt speed (km/h)")
    axes.grid(visible=True, alpha=0.3)
    if log.has_heart_rate:
        chart.draw_heart_rate(axes)
    axes.set_title(
        f"{log.profile_name or log.path.stem} - {local_time(log.started_at)} - {ending_text(log)}"
    )
    handles = chart.legend_handles()
    axes.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )
    figure.savefig(path, format="png")
    return path


class _Chart:
    """The layers of a session chart, drawn on one set of axes in minutes."""

    def __init__(self, log: SessionLog) -> None:
        self._log = log
        self._times = [self.minutes(sample.t_s) for sample in log.samples]

    def minutes(self, t_s: float) -> float:
        return (t_s - self._log.start_t_s) / _S_PER_MIN

    def draw_plan(self, axes: Axes) -> None:
        """Backward segments shaded, each segment's target speed dashed, pauses grey."""
        for segment in self._log.segments:
            start, end = self.minutes(segment.start_t_s), self.minutes(segment.end_t_s)
            if segment.direction is Direction.BACKWARD:
                axes.axvspan(start, end, color=_BACKWARD_COLOUR, alpha=0.3, linewidth=0)
            axes.hlines(
                segment.speed_kmh,
                start,
                end,
                colors=_TARGET_COLOUR,
                linestyles="dashed",
                linewidth=1,
            )
        for pause in self._log.pauses:
            end_t_s = pause.end_t_s if pause.end_t_s is not None else self._log.end_t_s
            axes.axvspan(
                self.minutes(pause.start_t_s),
                self.minutes(end_t_s),
                color=_PAUSE_COLOUR,
                alpha=0.6,
            )

    def draw_speed(self, axes: Axes) -> float:
        """The belt speed as reported; returns the top of the speed axis' data."""
        speeds = [
            sample.speed_kmh if sample.speed_kmh is not None else math.nan
            for sample in self._log.samples
        ]
        axes.plot(self._times, speeds, color=_SPEED_COLOUR, linewidth=1.6, drawstyle="steps-post")
        planned = (segment.speed_kmh for segment in self._log.segments)
        return max([*(s for s in speeds if math.isfinite(s)), *planned, 1.0])

    def draw_stops(self, axes: Axes, top: float) -> None:
        """Every latch as a labelled red line; the end of a record cut short, dotted."""
        for latch in self._log.latches:
            axes.axvline(self.minutes(latch.t_s), color=_LATCH_COLOUR, linewidth=1.5)
            axes.annotate(
                latch.reason.replace("_", " "),
                xy=(self.minutes(latch.t_s), top * 1.08),
                xytext=(3, 0),
                textcoords="offset points",
                color=_LATCH_COLOUR,
                fontsize=8,
                rotation=90,
                va="top",
            )
        if self._log.cut_short:
            axes.axvline(
                self.minutes(self._log.end_t_s), color="black", linestyle="dotted", linewidth=1.2
            )

    def draw_heart_rate(self, axes: Axes) -> None:
        """The heart rate on a second axis, on the right."""
        heart = axes.twinx()
        rates = [
            float(sample.heart_rate_bpm) if sample.heart_rate_bpm is not None else math.nan
            for sample in self._log.samples
        ]
        heart.plot(self._times, rates, color=_HEART_COLOUR, linewidth=1.0, alpha=0.8)
        heart.set_ylabel("heart rate (bpm)", color=_HEART_COLOUR)
        heart.tick_params(axis="y", colors=_HEART_COLOUR)

    def legend_handles(self) -> list[Line2D | Patch]:
        """One legend entry per layer that is on the chart."""
        from matplotlib.lines import Line2D  # noqa: PLC0415
        from matplotlib.patches import Patch  # noqa: PLC0415

        log = self._log
        handles: list[Line2D | Patch] = [
            Line2D([], [], color=_SPEED_COLOUR, linewidth=1.6, label="belt speed"),
            Line2D([], [], color=_TARGET_COLOUR, linestyle="dashed", label="planned speed"),
            Patch(color=_BACKWARD_COLOUR, alpha=0.3, label="backward"),
        ]
        if log.latches:
            handles.append(Line2D([], [], color=_LATCH_COLOUR, label="latch (stop)"))
        if log.pauses:
            handles.append(Patch(color=_PAUSE_COLOUR, alpha=0.6, label="paused"))
        if log.cut_short:
            handles.append(Line2D([], [], color="black", linestyle="dotted", label="record ends"))
        if log.has_heart_rate:
            handles.append(Line2D([], [], color=_HEART_COLOUR, label="heart rate"))
        return handles

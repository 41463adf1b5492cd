"""One session for people: the summary text and a chart of the belt over time.

The chart shows the belt speed the treadmill reported (broken where no data came:
a link that was down is shaded "no data", not drawn as a flat line), the planned
target of each segment, backward segments shaded, pauses and turn-arounds, every
latch, re-arm and alarm marked where it happened with words rather than ids, the
incline in a panel below, and the heart rate on a second axis when there is one (the
strap's when the record holds strap readings, else the treadmill's), with each guided
segment's zone shaded on it; time reads m:ss. The text says, for each guided segment,
how long the heart rate was below, in and above its zone
(:func:`~treadmill_ctl.history.heart_rate.zone_times`). A record cut short says so in
the text and in the chart's title, and the chart marks where the record stops; a dry
run against the simulator says "SIMULATED" in both.

matplotlib draws without a display (the Agg canvas, no pyplot and no global
state), so reports work over SSH, in CI and in tests.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Final

from treadmill_ctl.history.energy import kcal_between, session_weight_kg
from treadmill_ctl.history.heart_rate import (
    STRAP_SOURCE_PREFIX,
    ZoneTime,
    walked_until,
    zone_times,
)
from treadmill_ctl.history.session_log import reason_label
from treadmill_ctl.profiles.durations import format_duration
from treadmill_ctl.profiles.energy import BACKWARD_EQUATION, FORWARD_EQUATION
from treadmill_ctl.safety import Direction

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from treadmill_ctl.history.session_log import SegmentRun, SessionLog

_S_PER_MIN: Final = 60.0
_M_PER_KM: Final = 1000.0
_BACKWARD_COLOUR: Final = "#f4a259"
_SPEED_COLOUR: Final = "#1f4e79"
_TARGET_COLOUR: Final = "#7a7a7a"
_LATCH_COLOUR: Final = "#c0392b"
_HEART_COLOUR: Final = "#b5179e"
_ZONE_ALPHA: Final = 0.15
_PAUSE_COLOUR: Final = "#9e9e9e"
_TURN_COLOUR: Final = "#8ecae6"
_GAP_COLOUR: Final = "#000000"
_REARM_COLOUR: Final = "#2a9d8f"
_ALARM_COLOUR: Final = "#e76f51"
_INCLINE_COLOUR: Final = "#6a994e"
_TICK_STEPS_S: Final = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
"""Time ticks fall on whole seconds or minutes."""
_MAX_SAMPLE_GAP_S: Final = 2.5
"""Samples further apart than this are not joined: no data came in between."""


def clock(seconds: float) -> str:
    """Seconds as ``m:ss`` or ``h:mm:ss``, for durations in tables."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def local_time(moment: datetime) -> str:
    """A UTC moment in the machine's local time, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def ending_text(log: SessionLog, *, readable: bool = False) -> str:
    """How the session ended, in a few words: ``"safety latch (emergency_stop)"``.

    ``readable`` names latches in words (``"safety key pulled"``), for the chart.
    """
    if log.cut_short:
        return "cut short"
    text = log.ending.label
    if log.summary.latches:
        reasons = dict.fromkeys(log.summary.latches)
        names = [reason_label(reason) if readable else reason for reason in reasons]
        text += f" ({', '.join(names)})"
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
    if log.simulator:
        lines.append("  SIMULATED   a dry run against the simulator: nobody walked it")
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
    if log.timer_spans:
        lines.append(
            f"  walking     {clock(log.timer_s)} (the activity's timer: "
            "no wait before the start, no pauses, no latch waits)"
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
    lines.extend(_alarm_lines(log))
    lines.extend(_hold_lines(log))
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
    lines: list[str] = []
    if rates:
        strap = any(
            (sample.heart_rate_source or "").startswith(STRAP_SOURCE_PREFIX)
            for sample in log.samples
        )
        source = "the strap" if strap else "the treadmill's handgrips"
        lines.append(
            f"  heart rate  {statistics.fmean(rates):.0f} bpm on average, {max(rates)} at most "
            f"(from {source})"
        )
    for zone in zone_times(log):
        lines.extend(_zone_lines(zone))
    return lines


def _zone_lines(zone: ZoneTime) -> list[str]:
    """One guided segment's time in zone, in words and m:ss."""
    low, high = zone.zone_bpm
    segment = zone.segment
    head = (
        f"  in zone     segment {segment.index + 1} ({segment.direction.value}), "
        f"zone {low}-{high} bpm: "
    )
    walked_s = zone.known_s + zone.unknown_s
    share = zone.share_in_zone
    if share is None:
        return [head + f"no heart rate in the {clock(walked_s)} walked"]
    unknown = round(zone.unknown_s) >= 1  # what clock() shows as 0:01 or more
    of = f" of the {clock(zone.known_s)} with a heart rate" if unknown else ""
    detail = f"{clock(zone.below_s)} below, {clock(zone.above_s)} above"
    if unknown:
        detail += f", {clock(zone.unknown_s)} without a heart rate"
    return [
        head + f"{clock(zone.in_zone_s)} of {clock(walked_s)} in the zone ({share:.0%}{of})",
        f"              {detail}",
    ]


def _latch_lines(log: SessionLog) -> list[str]:
    if not log.latches:
        return ["  latches     none"]
    lines = [f"  latches     {len(log.latches)}"]
    for latch in log.latches:
        detail = f": {latch.detail}" if latch.detail else ""
        rearmed = (
            f" (re-armed at {clock(latch.rearmed_t_s - log.start_t_s)})"
            if latch.rearmed_t_s is not None
            else ""
        )
        lines.append(f"    at {clock(latch.t_s - log.start_t_s)}  {latch.reason}{detail}{rearmed}")
    return lines


def _hold_lines(log: SessionLog) -> list[str]:
    lines: list[str] = []
    if log.pauses:
        lines.append(f"  pauses      {len(log.pauses)}, {clock(log.paused_s)} in all")
    if log.turn_arounds:
        turning_s = sum(turn.end_t_s - turn.start_t_s for turn in log.turn_arounds)
        lines.append(f"  turn-around {len(log.turn_arounds)}, {clock(turning_s)} in all")
    if log.link_gaps:
        gap_s = sum(gap.duration_s for gap in log.link_gaps)
        lines.append(f"  link lost   {len(log.link_gaps)} time(s), {clock(gap_s)} without data")
    return lines


def _alarm_lines(log: SessionLog) -> list[str]:
    if not log.alarms:
        return ["  alarms      none"]
    lines = [f"  alarms      {len(log.alarms)}"]
    lines.extend(
        f"    at {clock(alarm.t_s - log.start_t_s)}  {alarm.text}"
        + (f" ({alarm.reason})" if alarm.reason else "")
        for alarm in log.alarms
    )
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
    chart_figure(log).savefig(path, format="png")
    return path


def chart_figure(log: SessionLog) -> Figure:
    """The session's chart as a matplotlib figure (an Agg canvas, no display needed).

    Spans and marks carry a ``gid`` naming what they show (``pause``,
    ``turn_around``, ``no_data``, ``latch``, ``rearm``, ``alarm``) in session seconds.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import FuncFormatter, MultipleLocator  # noqa: PLC0415

    figure = Figure(figsize=(11, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes, incline = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]}, squeeze=True
    )
    chart = _Chart(log)
    chart.draw_plan(axes)
    chart.draw_holds(axes)
    top = chart.draw_speed(axes)
    chart.draw_marks(axes, top)
    axes.set_ylim(0, top * 1.3)
    end_s = max(log.end_t_s - log.start_t_s, 1.0)
    axes.set_xlim(0, end_s * 1.02)
    axes.set_ylabel("belt speed (km/h)")
    axes.grid(visible=True, alpha=0.3)
    if log.has_heart_rate:
        chart.draw_heart_rate(axes)
    chart.draw_incline(incline)
    incline.set_ylabel("incline (%)")
    incline.set_xlabel("time (m:ss)")
    incline.grid(visible=True, alpha=0.3)
    step_s = next((step for step in _TICK_STEPS_S if end_s / step <= 12), _TICK_STEPS_S[-1])  # noqa: PLR2004
    incline.xaxis.set_major_locator(MultipleLocator(step_s))
    incline.xaxis.set_major_formatter(FuncFormatter(lambda value, _: clock(value)))
    simulated = "SIMULATED dry run - " if log.simulator else ""
    axes.set_title(
        f"{simulated}{log.profile_name or log.path.stem} - {local_time(log.started_at)} - "
        f"{ending_text(log, readable=True)}"
    )
    handles = chart.legend_handles()
    incline.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.45),
        ncol=min(len(handles), 6),
        fontsize=8,
        frameon=False,
    )
    return figure


class _Chart:
    """The layers of a session chart, drawn in seconds from the start (shown as m:ss)."""

    def __init__(self, log: SessionLog) -> None:
        self._log = log

    def at(self, t_s: float) -> float:
        return t_s - self._log.start_t_s

    def _series(self, values: list[float]) -> tuple[list[float], list[float]]:
        """Times and values, broken (a NaN) wherever no data came for a while."""
        times: list[float] = []
        out: list[float] = []
        previous: float | None = None
        for sample, value in zip(self._log.samples, values, strict=True):
            if previous is not None and sample.t_s - previous > _MAX_SAMPLE_GAP_S:
                times.append(self.at(previous))
                out.append(math.nan)
            times.append(self.at(sample.t_s))
            out.append(value)
            previous = sample.t_s
        return times, out

    def draw_plan(self, axes: Axes) -> None:
        """Backward segments shaded, each segment's target speed dashed."""
        for segment in self._log.segments:
            start, end = self.at(segment.start_t_s), self.at(self._walked_until(segment))
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

    def _walked_until(self, segment: SegmentRun) -> float:
        return walked_until(self._log, segment)

    def draw_holds(self, axes: Axes) -> None:
        """Pauses hatched grey, turn-arounds light blue, link losses hatched black."""
        for pause in self._log.pauses:
            end_t_s = pause.end_t_s if pause.end_t_s is not None else self._log.end_t_s
            axes.axvspan(
                self.at(pause.start_t_s),
                self.at(end_t_s),
                facecolor=_PAUSE_COLOUR,
                alpha=0.35,
                hatch="//",
                edgecolor=_PAUSE_COLOUR,
                linewidth=0,
                gid="pause",
            )
        for turn in self._log.turn_arounds:
            axes.axvspan(
                self.at(turn.start_t_s),
                self.at(turn.end_t_s),
                color=_TURN_COLOUR,
                alpha=0.45,
                linewidth=0,
                gid="turn_around",
            )
        for gap in self._log.link_gaps:
            axes.axvspan(
                self.at(gap.start_t_s),
                self.at(gap.end_t_s),
                facecolor="none",
                hatch="xx",
                edgecolor=_GAP_COLOUR,
                alpha=0.4,
                linewidth=0,
                gid="no_data",
            )

    def draw_speed(self, axes: Axes) -> float:
        """The belt speed as reported; returns the top of the speed axis' data."""
        speeds = [
            sample.speed_kmh if sample.speed_kmh is not None else math.nan
            for sample in self._log.samples
        ]
        times, values = self._series(speeds)
        axes.plot(times, values, color=_SPEED_COLOUR, linewidth=1.6, drawstyle="steps-post")
        planned = (segment.speed_kmh for segment in self._log.segments)
        return max([*(s for s in speeds if math.isfinite(s)), *planned, 1.0])

    def draw_incline(self, axes: Axes) -> None:
        """The incline as reported (planned incline dashed), in its own panel."""
        inclines = [
            sample.incline_pct if sample.incline_pct is not None else math.nan
            for sample in self._log.samples
        ]
        times, values = self._series(inclines)
        axes.plot(times, values, color=_INCLINE_COLOUR, linewidth=1.4, drawstyle="steps-post")
        for segment in self._log.segments:
            axes.hlines(
                segment.incline_pct,
                self.at(segment.start_t_s),
                self.at(self._walked_until(segment)),
                colors=_TARGET_COLOUR,
                linestyles="dashed",
                linewidth=1,
            )
        finite = [value for value in inclines if math.isfinite(value)]
        planned = [segment.incline_pct for segment in self._log.segments]
        low = min([0.0, *finite, *planned])
        high = max([1.0, *finite, *planned])
        axes.set_ylim(low - 0.5, high * 1.2 + 0.5)

    def _label(self, axes: Axes, t_s: float, text: str, top: float, colour: str) -> None:
        axes.annotate(
            text,
            xy=(self.at(t_s), top * 1.27),
            xytext=(3, 0),
            textcoords="offset points",
            color=colour,
            fontsize=8,
            rotation=90,
            va="top",
        )

    def draw_marks(self, axes: Axes, top: float) -> None:
        """Latches (red), re-arms (green), alarms (orange), and where a record cut short ends."""
        for latch in self._log.latches:
            axes.axvline(self.at(latch.t_s), color=_LATCH_COLOUR, linewidth=1.5, gid="latch")
            self._label(axes, latch.t_s, latch.label, top, _LATCH_COLOUR)
            if latch.rearmed_t_s is not None:
                axes.axvline(
                    self.at(latch.rearmed_t_s),
                    color=_REARM_COLOUR,
                    linewidth=1.3,
                    linestyle="--",
                    gid="rearm",
                )
                self._label(axes, latch.rearmed_t_s, "re-armed", top, _REARM_COLOUR)
        for alarm in self._log.alarms:
            axes.plot(
                [self.at(alarm.t_s)],
                [top * 1.05],
                marker="v",
                color=_ALARM_COLOUR,
                markersize=9,
                gid="alarm",
            )
        if self._log.cut_short:
            axes.axvline(
                self.at(self._log.end_t_s), color="black", linestyle="dotted", linewidth=1.2
            )

    def draw_heart_rate(self, axes: Axes) -> None:
        """The heart rate on a second axis, on the right."""
        heart = axes.twinx()
        rates = [
            float(sample.heart_rate_bpm) if sample.heart_rate_bpm is not None else math.nan
            for sample in self._log.samples
        ]
        times, values = self._series(rates)
        label = "heart rate (bpm, simulated)" if self._log.simulator else "heart rate (bpm)"
        heart.plot(times, values, color=_HEART_COLOUR, linewidth=1.0, alpha=0.8)
        for segment in self._log.segments:
            if segment.hr_zone_bpm is None:
                continue
            low, high = segment.hr_zone_bpm
            start, end = self.at(segment.start_t_s), self.at(self._walked_until(segment))
            heart.fill_between(
                [start, end],
                [low, low],
                [high, high],
                color=_HEART_COLOUR,
                alpha=_ZONE_ALPHA,
                linewidth=0,
                gid="hr_zone",
            )
            heart.annotate(
                f"zone {low}-{high} bpm",
                xy=(start, high),
                xytext=(3, -10),
                textcoords="offset points",
                color=_HEART_COLOUR,
                fontsize=8,
            )
        heart.set_ylabel(label, color=_HEART_COLOUR)
        heart.tick_params(axis="y", colors=_HEART_COLOUR)

    def legend_handles(self) -> list[Artist]:
        """One legend entry per layer that is on the chart."""
        from matplotlib.lines import Line2D  # noqa: PLC0415
        from matplotlib.patches import Patch  # noqa: PLC0415

        log = self._log
        handles: list[Artist] = [
            Line2D([], [], color=_SPEED_COLOUR, linewidth=1.6, label="belt speed"),
            Line2D([], [], color=_TARGET_COLOUR, linestyle="dashed", label="planned"),
            Line2D([], [], color=_INCLINE_COLOUR, linewidth=1.4, label="incline"),
        ]
        if any(segment.direction is Direction.BACKWARD for segment in log.segments):
            handles.append(Patch(color=_BACKWARD_COLOUR, alpha=0.3, label="walking backward"))
        if log.turn_arounds:
            handles.append(Patch(color=_TURN_COLOUR, alpha=0.45, label="turning around"))
        if log.pauses:
            handles.append(
                Patch(
                    facecolor=_PAUSE_COLOUR,
                    alpha=0.35,
                    hatch="//",
                    edgecolor=_PAUSE_COLOUR,
                    label="paused",
                )
            )
        if log.link_gaps:
            handles.append(
                Patch(
                    facecolor="none", hatch="xx", edgecolor=_GAP_COLOUR, label="no data (link lost)"
                )
            )
        if log.latches:
            handles.append(Line2D([], [], color=_LATCH_COLOUR, label="safety stop"))
        if any(latch.rearmed_t_s is not None for latch in log.latches):
            handles.append(Line2D([], [], color=_REARM_COLOUR, linestyle="--", label="re-armed"))
        if log.alarms:
            handles.append(
                Line2D([], [], color=_ALARM_COLOUR, marker="v", linestyle="none", label="alarm")
            )
        if log.cut_short:
            handles.append(Line2D([], [], color="black", linestyle="dotted", label="record ends"))
        return handles + self._heart_rate_handles()

    def _heart_rate_handles(self) -> list[Artist]:
        from matplotlib.lines import Line2D  # noqa: PLC0415
        from matplotlib.patches import Patch  # noqa: PLC0415

        if not self._log.has_heart_rate:
            return []
        handles: list[Artist] = [Line2D([], [], color=_HEART_COLOUR, label="heart rate")]
        if any(segment.hr_zone_bpm is not None for segment in self._log.segments):
            handles.append(Patch(color=_HEART_COLOUR, alpha=_ZONE_ALPHA, label="heart-rate zone"))
        return handles

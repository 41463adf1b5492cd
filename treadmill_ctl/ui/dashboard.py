"""The live terminal dashboard: what the person (or a helper) sees during ``run``.

The person may glance at it over a shoulder while walking backwards, so the first
thing on it is one huge word in a full-width coloured band: FORWARD, BACKWARD, TURN,
STOP (:mod:`~treadmill_ctl.ui.banner`). Below it come the times, speeds, safety
state, next segment, the latest cue and the keys. Before the belt moves it says what
to do to start safely.

The STOP keys stay on screen whatever its size: on a small terminal the less
important parts go first (notes, the other keys, the stats), never the banner, the
stop keys or a latch's red panel. When the session is over, the screen says how it
ended and nothing that was true only while it ran.

Drawing is split in two, so the control loop never waits for the terminal:

- :func:`render_dashboard` is a pure function from a snapshot (and the latest cue
  and notes) to a rich renderable; tests render it to a string.
- :class:`Dashboard` is a session observer whose ``on_*`` methods only swap one
  immutable state value. A ``rich.live.Live`` draws the latest state from its own
  refresh thread at a wall-clock rate, so a slow terminal never blocks the loop and
  a ``--speedup max`` run is not slowed down by redrawing every tick.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from treadmill_ctl.session.events import RecordEvent, SessionPhase
from treadmill_ctl.text import escape_text
from treadmill_ctl.ui.banner import Banner, banner_for, latch_reason_text
from treadmill_ctl.ui.keys import DEFAULT_BINDINGS, Bindings, HotkeyAction, key_label

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from types import TracebackType

    from rich.console import ConsoleOptions, RenderableType, RenderResult
    from rich.live import Live

    from treadmill_ctl.session.events import Cue, SessionEvent, SessionSnapshot

# --- the rest of the screen --------------------------------------------------------


def format_duration(duration_s: float | None) -> str:
    """``75.4`` → ``"1:15"``, ``3725`` → ``"1:02:05"``, ``None`` → ``"-"``."""
    if duration_s is None:
        return "-"
    whole_s = max(0, round(duration_s))
    hours, rest_s = divmod(whole_s, 3600)
    minutes, seconds = divmod(rest_s, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _speed(speed_kmh: float | None) -> str:
    return "-" if speed_kmh is None else f"{speed_kmh:.1f} km/h"


def _distance(distance_m: float | None) -> str:
    if distance_m is None:
        return "-"
    return f"{distance_m / 1000:.2f} km" if distance_m >= 1000 else f"{distance_m:.0f} m"  # noqa: PLR2004


def heart_rate_words(snapshot: SessionSnapshot) -> str | None:
    """The heart rate in plain words; its absence too when one is expected.

    With a ceiling or a strap set, a missing heart rate is news (the ceiling cannot
    protect without one), so it is said rather than the row left out.
    """
    ceiling = snapshot.heart_rate_ceiling_bpm
    of_ceiling = f" (ceiling {ceiling} bpm)" if ceiling is not None else ""
    if snapshot.heart_rate_bpm is not None:
        return f"heart rate {snapshot.heart_rate_bpm} bpm{of_ceiling}"
    if snapshot.heart_rate_watched:
        return f"heart rate unknown{of_ceiling}"
    return None


def heart_rate_text(snapshot: SessionSnapshot) -> str | None:
    """The dashboard's heart-rate cell (markup), or None when there is nothing to show."""
    ceiling = snapshot.heart_rate_ceiling_bpm
    of_ceiling = f" [dim](max {ceiling})[/]" if ceiling is not None else ""
    if snapshot.heart_rate_bpm is not None:
        return f"{snapshot.heart_rate_bpm} bpm{of_ceiling}"
    if snapshot.heart_rate_watched:
        return f"[bold yellow]unknown[/]{of_ceiling}"
    return None


def _stats(snapshot: SessionSnapshot) -> Table:
    table = Table.grid(padding=(0, 2), expand=True)
    for _ in range(4):
        table.add_column()
    segment_label = "Segment"
    if snapshot.segment is not None:
        segment_label = f"Segment {snapshot.segment.index + 1}/{snapshot.segment_count}"
    cells: list[tuple[str, str]] = [
        (segment_label + " left", format_duration(snapshot.segment_remaining_s)),
        ("Session left", format_duration(snapshot.session_remaining_s)),
        ("Target speed", _speed(snapshot.target_speed_kmh)),
        ("Belt speed", _speed(snapshot.belt_speed_kmh)),
        ("Incline", "-" if snapshot.incline_pct is None else f"{snapshot.incline_pct:.1f} %"),
        ("Distance", _distance(snapshot.distance_m)),
    ]
    heart_rate = heart_rate_text(snapshot)
    if heart_rate is not None:
        cells.append(("Heart rate", heart_rate))
    cells.append(("Link", "up" if snapshot.link_up else "[bold red]DOWN[/]"))
    for left, right in zip(cells[::2], cells[1::2], strict=False):
        table.add_row(f"[dim]{left[0]}[/]", f"[bold]{left[1]}[/]", f"[dim]{right[0]}[/]", right[1])
    if len(cells) % 2:
        table.add_row(f"[dim]{cells[-1][0]}[/]", f"[bold]{cells[-1][1]}[/]", "", "")
    return table


def _keys(bindings: Bindings, action: HotkeyAction) -> str:
    return " ".join(key_label(key) for key in bindings.keys_for(action)) or "(none)"


@dataclass(frozen=True, slots=True)
class DeviceSettings:
    """Where this treadmill's settings go, for advice that names them.

    Attributes:
        path: the settings file.
        device_key: the treadmill's key under ``[devices]`` (its address).
    """

    path: Path
    device_key: str


def latch_advice(snapshot: SessionSnapshot, where: DeviceSettings | None) -> str | None:
    """What the person can do about this latch, when there is more to say than its reason.

    A treadmill that takes mph in FTMS's km/h fields is caught by its distance: the
    fix is one line in the settings file, for this treadmill.
    """
    detail = snapshot.latch_detail or ""
    if "mph" not in detail:
        return None
    if where is None:
        return (
            'This treadmill seems to count in mph: set speed_unit = "mph" for it under '
            "[devices] in the settings file, then start again."
        )
    return (
        f'This treadmill seems to count in mph: set speed_unit = "mph" under '
        f'[devices."{where.device_key}"] in {where.path}, then start again.'
    )


def _safety(
    snapshot: SessionSnapshot, bindings: Bindings, where: DeviceSettings | None = None
) -> RenderableType:
    if snapshot.phase is SessionPhase.LATCHED:
        rearm = bindings.keys_for(HotkeyAction.REARM)
        start = _keys(bindings, HotkeyAction.START)
        how = (
            f"Press {key_label(rearm[0])} to re-arm, then {start} to start again "
            "from the starting speed."
            if rearm
            else "No re-arm key is bound: end the session and start a new one."
        )
        advice = latch_advice(snapshot, where)
        lines = [
            f"STOPPED (latched): {latch_reason_text(snapshot)}",
            *([advice] if advice else []),
            how,
        ]
        return Panel(
            Text("\n".join(lines), style="bold"),
            title="SAFETY",
            style="bold white on red",
        )
    return Text.from_markup(
        "[bold green]Safety: armed[/] [dim](the safety key and the console stop always work)[/]"
    )


def _instructions(bindings: Bindings) -> Panel:
    start = _keys(bindings, HotkeyAction.START)
    text = Text.from_markup(
        "1. Stand on the [bold]side rails[/], not on the belt.\n"
        "2. Clip the [bold]safety key[/] to your clothing.\n"
        f"3. Press [bold reverse] {start} [/] to start; the belt starts slowly.\n"
        "The safety key and the console stop button always stop the belt."
    )
    return Panel(text, title="Before you start", border_style="cyan")


def _next(snapshot: SessionSnapshot) -> Text:
    if snapshot.next_segment is not None:
        return Text.from_markup(f"[dim]Next:[/] [bold]{snapshot.next_segment.describe()}[/]")
    if snapshot.segment is not None:
        return Text.from_markup("[dim]Next:[/] ramp down and stop (last segment)")
    return Text("")


def _countdown(snapshot: SessionSnapshot) -> Text | None:
    if snapshot.turnaround_countdown_s is None or snapshot.phase in {
        SessionPhase.TURNING_AROUND,
        SessionPhase.PAUSED,
    }:
        return None
    return Text(
        f"Turn around in {max(0, round(snapshot.turnaround_countdown_s))} s",
        style="bold black on yellow",
        justify="center",
    )


_WAITING_PHASES: Final = frozenset({SessionPhase.CONNECTING, SessionPhase.WAITING_FOR_START})


def _stop_keys(snapshot: SessionSnapshot | None, bindings: Bindings) -> Text | None:
    """The STOP keys, once the belt may move: the one line that is never left out."""
    if snapshot is None or snapshot.phase in _WAITING_PHASES:
        return None
    line = Text()
    line.append(" STOP: ", style="bold white on red")
    line.append(" " + _keys(bindings, HotkeyAction.EMERGENCY_STOP), style="bold")
    return line


def _legend(snapshot: SessionSnapshot | None, bindings: Bindings) -> Text:
    """The other keys; before the link is up only Ctrl-C does anything."""
    legend = Text()
    if snapshot is None or snapshot.phase is SessionPhase.CONNECTING:
        legend.append("Ctrl-C", style="bold")
        legend.append(" cancel")
        return legend
    parts = (
        [(HotkeyAction.START, "start"), (HotkeyAction.END, "quit")]
        if snapshot.phase is SessionPhase.WAITING_FOR_START
        else [
            (HotkeyAction.PAUSE_TOGGLE, "pause/resume"),
            (HotkeyAction.REARM, "re-arm"),
            (HotkeyAction.END, "end"),
            (HotkeyAction.SPEED_UP, "faster"),
            (HotkeyAction.SPEED_DOWN, "slower"),
        ]
    )
    first = True
    for action, label in parts:
        if not bindings.keys_for(action):
            continue
        if not first:
            legend.append("  |  ", style="dim")
        first = False
        legend.append(_keys(bindings, action), style="bold")
        legend.append(f" {label}")
    return legend


# How each ending is shown on the final screen: the word, its style, one line.
_ENDINGS: Final[dict[str, tuple[str, str, str]]] = {
    "completed": ("DONE", "bold black on green", "session completed; the belt is stopped"),
    "stopped_by_person": ("STOPPED", "bold black on yellow", "stopped by you"),
    "safety_latch": ("STOPPED", "bold white on red", "stopped for your safety"),
    "connect_failed": ("NO LINK", "bold white on red", "could not connect to the treadmill"),
    "error": ("STOPPED", "bold white on red", "the session failed; the belt was told to stop"),
}


def _summary_line(summary: Mapping[str, object]) -> str:
    parts: list[str] = []
    duration = summary.get("duration_s")
    if isinstance(duration, int | float):
        parts.append(f"time {format_duration(float(duration))}")
    for key, label in (("backward_s", "backward"), ("forward_s", "forward")):
        value = summary.get(key)
        if isinstance(value, int | float):
            parts.append(f"{label} {format_duration(float(value))}")
    distance = summary.get("distance_m")
    if isinstance(distance, int | float):
        parts.append(f"distance {_distance(float(distance))}")
    done, count = summary.get("segments_completed"), summary.get("segment_count")
    if isinstance(done, int) and isinstance(count, int):
        parts.append(f"segments {done}/{count}")
    return ", ".join(parts)


def _final_screen(
    snapshot: SessionSnapshot | None, ended: Mapping[str, object], notes: tuple[str, ...]
) -> list[RenderableType]:
    """How it ended, what was done, why it stopped; nothing that was only true while it ran."""
    end = str(ended.get("end", "error"))
    word, style, line = _ENDINGS.get(end, _ENDINGS["error"])
    summary = ended.get("summary")
    parts: list[RenderableType] = [Banner(word, style, line)]
    if snapshot is not None:
        # the name comes from a file: text, never markup or raw escapes
        parts.append(Text(escape_text(snapshot.profile_name), style="bold"))
    if isinstance(summary, dict):
        parts.append(Text(_summary_line(summary)))
        latches = summary.get("latches")
        if latches:
            reasons = ", ".join(str(r).replace("_", " ") for r in latches)
            parts.append(Text(f"safety stops: {reasons}", style="bold"))
    parts.extend(Text(escape_text(note), style="dim") for note in notes)
    return parts


@dataclass(frozen=True, slots=True)
class _Part:
    """One piece of the screen; on a short terminal the lowest ``keep`` goes first."""

    renderable: RenderableType
    keep: int


_ALWAYS: Final = 100
"""The parts never left out: the banner, the stop keys, a latch's red panel."""


class _Screen:
    """The dashboard's parts, fitted to the terminal's height (never cut at the bottom)."""

    def __init__(self, parts: list[_Part]) -> None:
        self._parts = parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Leave out what matters least until the rest fits; block letters go last."""
        height = options.height or options.max_height
        unbounded = options.update(height=None)
        kept = list(self._parts)

        def lines(part: _Part) -> int:
            return len(console.render_lines(part.renderable, unbounded, pad=False))

        sizes = {id(part): lines(part) for part in kept}
        while sum(sizes[id(part)] for part in kept) > height:
            optional = [part for part in kept if part.keep < _ALWAYS]
            if optional:
                kept.remove(min(optional, key=lambda part: part.keep))
                continue
            index, banner = next(
                ((i, p.renderable) for i, p in enumerate(kept) if isinstance(p.renderable, Banner)),
                (None, None),
            )
            if index is None or banner is None or banner.compact:
                break
            small = _Part(dataclasses.replace(banner, compact=True), _ALWAYS)
            kept[index] = small
            sizes[id(small)] = lines(small)
        yield Group(*(part.renderable for part in kept))


def render_dashboard(
    snapshot: SessionSnapshot | None,
    *,
    bindings: Bindings = DEFAULT_BINDINGS,
    last_cue: Cue | None = None,
    notes: tuple[str, ...] = (),
    mqtt: str | None = None,
    ended: Mapping[str, object] | None = None,
    device_settings: DeviceSettings | None = None,
) -> RenderableType:
    """Draw the dashboard for one moment; pure, so it can be rendered anywhere.

    Args:
        snapshot: the latest session state (``None`` before the first one).
        bindings: the keys in force, for the instructions and the legend.
        last_cue: the latest cue, shown as text (it may not have been spoken).
        notes: recent notable events, one line each, oldest first.
        mqtt: the MQTT status line ("up", "DOWN: ...", "TAKEN OVER: ..."), when a
            broker is in use.
        ended: the ``session.ended`` event's fields once the session is over: then
            the final screen.
        device_settings: where this treadmill's settings go, for advice naming them.
    """
    if ended is not None:
        return Group(*_final_screen(snapshot, ended, notes))
    parts = [_Part(banner_for(snapshot, bindings), _ALWAYS)]
    stop_keys = _stop_keys(snapshot, bindings)
    if stop_keys is not None:
        parts.append(_Part(stop_keys, _ALWAYS))
    if snapshot is not None:
        parts += _top_parts(snapshot, bindings, device_settings)
    if last_cue is not None:
        style = "bold red" if last_cue.urgent else "bold"
        cue_text = escape_text(last_cue.text)  # cue texts come from files
        parts.append(_Part(Text.assemble(("Cue: ", "dim"), (cue_text, style)), 70))
    if snapshot is not None:
        parts += _session_parts(snapshot, bindings, mqtt)
    parts.extend(_Part(Text(escape_text(note), style="dim"), 10) for note in notes)
    parts.append(_Part(_legend(snapshot, bindings), 60))
    return _Screen(parts)


def _top_parts(
    snapshot: SessionSnapshot, bindings: Bindings, device_settings: DeviceSettings | None
) -> list[_Part]:
    """What must be read first: a latch's red panel, how to start, a coming turn."""
    parts: list[_Part] = []
    if snapshot.phase is SessionPhase.LATCHED:
        parts.append(_Part(_safety(snapshot, bindings, device_settings), _ALWAYS))
    if snapshot.phase is SessionPhase.WAITING_FOR_START:
        parts.append(_Part(_instructions(bindings), 90))
    countdown = _countdown(snapshot)
    if countdown is not None:
        parts.append(_Part(countdown, 80))
    return parts


def _session_parts(
    snapshot: SessionSnapshot, bindings: Bindings, mqtt: str | None = None
) -> list[_Part]:
    """The profile, the segment, the numbers, the MQTT status and what comes next."""
    # The name comes from a file: shown as text, never as markup or raw escapes.
    title = Text(escape_text(snapshot.profile_name), style="bold")
    if snapshot.segment is not None:
        title.append("  now:", style="dim")
        title.append(f" {snapshot.segment.describe()}")
    parts = [_Part(title, 30), _Part(_stats(snapshot), 50)]
    if mqtt is not None:
        parts.append(_Part(_mqtt_line(mqtt), 45))
    parts.append(_Part(_next(snapshot), 40))
    if snapshot.phase is not SessionPhase.LATCHED:
        parts.append(_Part(_safety(snapshot, bindings), 20))
    return parts


def _mqtt_line(status: str) -> Text:
    style = "dim" if status in {"up", "connecting"} else "bold red"
    return Text.assemble(("MQTT ", "dim"), (status, style))


# --- the live observer ---------------------------------------------------------------

_MAX_NOTES: Final = 3


def note_for(event: SessionEvent) -> str | None:
    """A line in words for a notable event, or ``None`` (the record has them all)."""
    fields = event.fields
    match event.kind:
        case RecordEvent.LATCHED:
            reason = str(fields.get("reason", "a safety stop")).replace("_", " ")
            text = f"stopped: {reason}"
        case RecordEvent.REARMED:
            text = "re-armed: the belt waits for your start"
        case RecordEvent.ENDED:
            return None  # the final screen says it
        case kind if kind.is_loss or kind.is_return:
            text = kind.replace(".", " ").replace("_", " ")
        case _:
            return None
    return f"{format_duration(event.t_s)}  {text}"


@dataclass(frozen=True, slots=True)
class DashboardState:
    """Everything the dashboard shows; replaced whole, so the draw thread sees one value."""

    snapshot: SessionSnapshot | None = None
    last_cue: Cue | None = None
    notes: tuple[str, ...] = ()
    mqtt: str | None = None
    ended: Mapping[str, object] | None = None


class Dashboard:
    """A session observer that shows the session live in the terminal.

    Use it as a context manager around the session, and register it with the runner
    as an observer::

        with Dashboard(bindings=bindings) as dashboard:
            runner.add_observer(dashboard)
            ...

    The ``on_*`` methods only replace :attr:`state`; the ``Live`` display's own
    thread redraws the latest state ``refresh_per_second`` times a second (wall
    clock). Leaving the block draws the final state once more and gives the
    terminal back (cursor shown, nothing left half drawn).

    Args:
        console: where to draw (default: a console on standard output).
        bindings: the keys in force, for the instructions and the legend.
        refresh_per_second: redraws per second of real time.
        screen: draw on the terminal's alternate screen (restored on exit).
        device_settings: where this treadmill's settings go (for the mph advice).
    """

    def __init__(
        self,
        *,
        console: Console | None = None,
        bindings: Bindings = DEFAULT_BINDINGS,
        refresh_per_second: float = 8.0,
        screen: bool = False,
        device_settings: DeviceSettings | None = None,
    ) -> None:
        self.console = console if console is not None else Console()
        self.bindings = bindings
        self.state = DashboardState()
        self._refresh_per_second = refresh_per_second
        self._screen = screen
        self._device_settings = device_settings
        self._live: Live | None = None

    def renderable(self) -> RenderableType:
        """The dashboard for the current state (called from the draw thread)."""
        state = self.state
        return render_dashboard(
            state.snapshot,
            bindings=self.bindings,
            last_cue=state.last_cue,
            notes=state.notes,
            mqtt=state.mqtt,
            ended=state.ended,
            device_settings=self._device_settings,
        )

    def __enter__(self) -> Self:
        from rich.live import Live  # noqa: PLC0415  (only the live display needs it)

        self._live = Live(
            console=self.console,
            get_renderable=self.renderable,
            refresh_per_second=self._refresh_per_second,
            screen=self._screen,
            transient=False,
            redirect_stdout=True,
            redirect_stderr=True,
            vertical_overflow="crop",
        )
        self._live.start(refresh=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        live, self._live = self._live, None
        if live is not None:
            with contextlib.suppress(OSError):  # the terminal is gone (a hang-up)
                live.stop()

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Keep the latest state; the draw thread picks it up."""
        self.state = dataclasses.replace(self.state, snapshot=snapshot)

    def on_event(self, event: SessionEvent) -> None:
        """Keep a line in words for notable events (latches, link loss), the last few."""
        if event.kind is RecordEvent.MQTT_STATUS:  # its ``line`` is shown
            line = event.fields.get("line")
            self.state = dataclasses.replace(self.state, mqtt=str(line)[:200])
            return
        if event.kind is RecordEvent.ENDED:
            self.state = dataclasses.replace(self.state, ended=dict(event.fields))
            return
        note = note_for(event)
        if note is not None:
            self.note(note)

    def note(self, text: str) -> None:
        """Show one more line of news (e.g. that speech is off), the last few kept."""
        self.state = dataclasses.replace(self.state, notes=(*self.state.notes, text)[-_MAX_NOTES:])

    def on_cue(self, cue: Cue) -> None:
        """Show the cue's text (it is also spoken or belled by the cue player)."""
        self.state = dataclasses.replace(self.state, last_cue=cue)

"""The live terminal dashboard: what the person (or a helper) sees during ``run``.

The person may glance at it over a shoulder while walking backwards, so the first
thing on it is one huge word in a full-width coloured band: FORWARD, BACKWARD, TURN,
STOP. Below it come the times, speeds, safety state, next segment, the latest cue and
the keys. Before the belt moves it says what to do to start safely.

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

from rich.align import Align
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from treadmill_ctl.session.events import SessionPhase
from treadmill_ctl.text import escape_text
from treadmill_ctl.ui.keys import DEFAULT_BINDINGS, Bindings, HotkeyAction, key_label

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from rich.console import ConsoleOptions, RenderableType, RenderResult
    from rich.live import Live

    from treadmill_ctl.session.events import Cue, SessionEvent, SessionSnapshot

# --- the big word ---------------------------------------------------------------------

# A 5-row block alphabet, drawn for this dashboard: readable from a few metres away.
_GLYPHS: Final[dict[str, tuple[str, ...]]] = {
    "A": (" ███ ", "█   █", "█████", "█   █", "█   █"),
    "B": ("████ ", "█   █", "████ ", "█   █", "████ "),
    "C": (" ████", "█    ", "█    ", "█    ", " ████"),
    "D": ("████ ", "█   █", "█   █", "█   █", "████ "),
    "E": ("█████", "█    ", "████ ", "█    ", "█████"),
    "F": ("█████", "█    ", "████ ", "█    ", "█    "),
    "G": (" ████", "█    ", "█  ██", "█   █", " ████"),
    "H": ("█   █", "█   █", "█████", "█   █", "█   █"),
    "I": ("█████", "  █  ", "  █  ", "  █  ", "█████"),
    "J": ("  ███", "    █", "    █", "█   █", " ███ "),
    "K": ("█   █", "█  █ ", "███  ", "█  █ ", "█   █"),
    "L": ("█    ", "█    ", "█    ", "█    ", "█████"),
    "M": ("█   █", "██ ██", "█ █ █", "█   █", "█   █"),
    "N": ("█   █", "██  █", "█ █ █", "█  ██", "█   █"),
    "O": (" ███ ", "█   █", "█   █", "█   █", " ███ "),
    "P": ("████ ", "█   █", "████ ", "█    ", "█    "),
    "Q": (" ███ ", "█   █", "█ █ █", "█  █ ", " ██ █"),
    "R": ("████ ", "█   █", "████ ", "█  █ ", "█   █"),
    "S": (" ████", "█    ", " ███ ", "    █", "████ "),
    "T": ("█████", "  █  ", "  █  ", "  █  ", "  █  "),
    "U": ("█   █", "█   █", "█   █", "█   █", " ███ "),
    "V": ("█   █", "█   █", "█   █", " █ █ ", "  █  "),
    "W": ("█   █", "█   █", "█ █ █", "██ ██", "█   █"),
    "X": ("█   █", " █ █ ", "  █  ", " █ █ ", "█   █"),
    "Y": ("█   █", " █ █ ", "  █  ", "  █  ", "  █  "),
    "Z": ("█████", "   █ ", "  █  ", " █   ", "█████"),
    " ": ("   ", "   ", "   ", "   ", "   "),
}
_GLYPH_ROWS: Final = 5


def block_letters(word: str) -> str | None:
    """``word`` in 5-row block letters, or ``None`` if a character has no glyph."""
    glyphs = [_GLYPHS.get(char) for char in word.upper()]
    if not all(glyphs):
        return None
    rows = (" ".join(glyph[row] for glyph in glyphs if glyph) for row in range(_GLYPH_ROWS))
    return "\n".join(rows)


@dataclass(frozen=True, slots=True)
class Banner:
    """A full-width coloured band with one word, in block letters when they fit.

    Attributes:
        word: the word (``"BACKWARD"``); also the plain-text fallback.
        style: the band's rich style, e.g. ``"bold white on blue"``.
        subtitle: one line under the word (what to do, what comes next).
    """

    word: str
    style: str
    subtitle: str = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Block letters if the console is wide enough, else the word in capitals."""
        del console
        big = block_letters(self.word)
        inner_width = options.max_width - 4  # the panel's border and padding
        fits = big is not None and max(len(row) for row in big.splitlines()) <= inner_width
        word = Text(big, no_wrap=True) if fits and big else Text(self.word.upper(), style="bold")
        lines: list[RenderableType] = [Align.center(word)]
        if self.subtitle:
            lines += [Text(""), Text(self.subtitle, justify="center")]
        yield Panel(Group(*lines), style=self.style, expand=True)


_DIRECTION_BANNERS: Final = {
    "forward": ("FORWARD", "bold black on green", "face the console"),
    "backward": (
        "BACKWARD",
        "bold white on blue",
        "face away from the console, hands on the rails",
    ),
}


def banner_for(snapshot: SessionSnapshot | None) -> Banner:
    """The big word for a snapshot's phase (and direction while running)."""
    if snapshot is None:
        return Banner("CONNECTING", "bold white on grey23", "finding the treadmill")
    if snapshot.phase is SessionPhase.RUNNING:
        direction = _direction(snapshot)
        word, style, hint = _DIRECTION_BANNERS.get(
            direction, (direction.upper() or "RUNNING", "bold black on white", "")
        )
        return Banner(word, style, hint)
    word, style, subtitle = _PHASE_BANNERS[snapshot.phase]
    return Banner(word, style, subtitle(snapshot))


def _direction(snapshot: SessionSnapshot) -> str:
    if snapshot.direction:
        return snapshot.direction.lower()
    if snapshot.segment is not None:
        return snapshot.segment.direction.lower()
    return ""


def _reason(snapshot: SessionSnapshot) -> str:
    return (snapshot.latch_reason or "emergency stop").replace("_", " ")


def _start_subtitle(snapshot: SessionSnapshot) -> str:
    first = snapshot.segment or snapshot.next_segment
    return f"first: {first.describe()}" if first is not None else "waiting for you"


def _turn_subtitle(snapshot: SessionSnapshot) -> str:
    following = snapshot.next_segment or snapshot.segment
    heading = following.direction.upper() if following is not None else "the other way"
    if snapshot.turnaround_countdown_s is None:
        return f"turn around: {heading} next"
    return f"turn around: {heading} in {max(0, round(snapshot.turnaround_countdown_s))} s"


_PHASE_BANNERS: Final[dict[SessionPhase, tuple[str, str, Callable[[SessionSnapshot], str]]]] = {
    SessionPhase.CONNECTING: (
        "CONNECTING",
        "bold white on grey23",
        lambda _: "finding the treadmill",
    ),
    SessionPhase.WAITING_FOR_START: ("READY", "bold black on cyan", _start_subtitle),
    SessionPhase.RUNNING: ("RUNNING", "bold black on white", lambda _: ""),
    SessionPhase.TURNING_AROUND: ("TURN", "bold black on yellow", _turn_subtitle),
    SessionPhase.PAUSED: (
        "PAUSED",
        "bold black on yellow",
        lambda _: "the belt is stopping or stopped",
    ),
    SessionPhase.LATCHED: (
        "STOP",
        "bold white on red",
        lambda snapshot: f"stopped: {_reason(snapshot)}",
    ),
    SessionPhase.ENDING: ("ENDING", "bold black on cyan", lambda _: "slowing down to a stop"),
    SessionPhase.FINISHED: (
        "DONE",
        "bold black on green",
        lambda _: "the belt is stopped; well done",
    ),
}

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
    if snapshot.heart_rate_bpm is not None:
        cells.append(("Heart rate", f"{snapshot.heart_rate_bpm} bpm"))
    cells.append(("Link", "up" if snapshot.link_up else "[bold red]DOWN[/]"))
    for left, right in zip(cells[::2], cells[1::2], strict=False):
        table.add_row(f"[dim]{left[0]}[/]", f"[bold]{left[1]}[/]", f"[dim]{right[0]}[/]", right[1])
    if len(cells) % 2:
        table.add_row(f"[dim]{cells[-1][0]}[/]", f"[bold]{cells[-1][1]}[/]", "", "")
    return table


def _keys(bindings: Bindings, action: HotkeyAction) -> str:
    return " ".join(key_label(key) for key in bindings.keys_for(action)) or "(none)"


def _safety(snapshot: SessionSnapshot, bindings: Bindings) -> RenderableType:
    if snapshot.phase is SessionPhase.LATCHED:
        rearm = bindings.keys_for(HotkeyAction.REARM)
        start = _keys(bindings, HotkeyAction.START)
        how = (
            f"Press {key_label(rearm[0])} to re-arm, then {start} to start again "
            "from the starting speed."
            if rearm
            else "No re-arm key is bound: end the session and start a new one."
        )
        return Panel(
            Text(f"STOPPED (latched): {_reason(snapshot)}\n{how}", style="bold"),
            title="SAFETY",
            style="bold white on red",
        )
    return Text.from_markup(
        "[bold green]Safety: armed[/] [dim](stop keys below; the safety key always works)[/]"
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
    if snapshot.turnaround_countdown_s is None or snapshot.phase is SessionPhase.TURNING_AROUND:
        return None
    return Text(
        f"Turn around in {max(0, round(snapshot.turnaround_countdown_s))} s",
        style="bold black on yellow",
        justify="center",
    )


def _legend(snapshot: SessionSnapshot | None, bindings: Bindings) -> Text:
    waiting = snapshot is None or snapshot.phase in {
        SessionPhase.CONNECTING,
        SessionPhase.WAITING_FOR_START,
    }
    legend = Text()
    if not waiting:
        legend.append("STOP: ", style="bold red")
        legend.append(_keys(bindings, HotkeyAction.EMERGENCY_STOP) + "\n", style="bold")
    parts = (
        [(HotkeyAction.START, "start"), (HotkeyAction.END, "quit")]
        if waiting
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


def render_dashboard(
    snapshot: SessionSnapshot | None,
    *,
    bindings: Bindings = DEFAULT_BINDINGS,
    last_cue: Cue | None = None,
    notes: tuple[str, ...] = (),
    mqtt: str | None = None,
) -> RenderableType:
    """Draw the dashboard for one moment; pure, so it can be rendered anywhere.

    Args:
        snapshot: the latest session state (``None`` before the first one).
        bindings: the keys in force, for the instructions and the legend.
        last_cue: the latest cue, shown as text (it may not have been spoken).
        notes: recent notable events, one line each, oldest first.
        mqtt: the MQTT status line ("up", "DOWN: ...", "TAKEN OVER: ..."), when a
            broker is in use.
    """
    parts: list[RenderableType] = [banner_for(snapshot)]
    if snapshot is not None:
        if snapshot.phase is SessionPhase.WAITING_FOR_START:
            parts.append(_instructions(bindings))
        countdown = _countdown(snapshot)
        if countdown is not None:
            parts.append(countdown)
        # The name comes from a file: shown as text, never as markup or raw escapes.
        title = Text(escape_text(snapshot.profile_name), style="bold")
        if snapshot.segment is not None:
            title.append("  now:", style="dim")
            title.append(f" {snapshot.segment.describe()}")
        parts.append(title)
        parts.append(_stats(snapshot))
        if mqtt is not None:
            parts.append(_mqtt_line(mqtt))
        parts.append(_next(snapshot))
        parts.append(_safety(snapshot, bindings))
    if last_cue is not None:
        style = "bold red" if last_cue.urgent else "bold"
        text = escape_text(last_cue.text)
        if last_cue.kind == _PRESS_RESUME_CUE:
            # "press resume": name the key, the person may not know which one it is
            keys = ", ".join(key_label(k) for k in bindings.keys_for(HotkeyAction.PAUSE_TOGGLE))
            if keys:
                text += f" (key: {keys})"
        parts.append(Text.assemble(("Cue: ", "dim"), (text, style)))
    parts.extend(Text(escape_text(note), style="dim") for note in notes)
    parts.append(_legend(snapshot, bindings))
    return Group(*parts)


def _mqtt_line(status: str) -> Text:
    style = "dim" if status in {"up", "connecting"} else "bold red"
    return Text.assemble(("MQTT ", "dim"), (status, style))


# --- the live observer ---------------------------------------------------------------

_PRESS_RESUME_CUE: Final = "press_resume"
"""The governor's cue kind asking the person to resume (after a turn-around)."""

_MQTT_STATUS_EVENT: Final = "mqtt.status"
"""The event the MQTT bridge sends its status observers (its ``line`` field is shown)."""
_NOTE_KINDS: Final = ("latched", "rearmed", "lost", "failed", "paused", "resumed", "ended")
_MAX_NOTES: Final = 3


@dataclass(frozen=True, slots=True)
class DashboardState:
    """Everything the dashboard shows; replaced whole, so the draw thread sees one value."""

    snapshot: SessionSnapshot | None = None
    last_cue: Cue | None = None
    notes: tuple[str, ...] = ()
    mqtt: str | None = None


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
    """

    def __init__(
        self,
        *,
        console: Console | None = None,
        bindings: Bindings = DEFAULT_BINDINGS,
        refresh_per_second: float = 8.0,
        screen: bool = False,
    ) -> None:
        self.console = console if console is not None else Console()
        self.bindings = bindings
        self.state = DashboardState()
        self._refresh_per_second = refresh_per_second
        self._screen = screen
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
        """Keep a line for notable events (latches, link loss, pauses), the last few."""
        if event.kind == _MQTT_STATUS_EVENT:
            line = event.fields.get("line")
            self.state = dataclasses.replace(self.state, mqtt=str(line)[:200])
            return
        if not any(kind in event.kind for kind in _NOTE_KINDS):
            return
        note = f"{format_duration(event.t_s)}  {event.kind}{_fields_text(event)}"
        self.state = dataclasses.replace(self.state, notes=(*self.state.notes, note)[-_MAX_NOTES:])

    def on_cue(self, cue: Cue) -> None:
        """Show the cue's text (it is also spoken or belled by the cue player)."""
        self.state = dataclasses.replace(self.state, last_cue=cue)


def _fields_text(event: SessionEvent) -> str:
    """The event's fields, one level deep; a nested table (the summary) is left out."""
    return "".join(
        f" {name}={value}"
        for name, value in event.fields.items()
        if not isinstance(value, dict | list | tuple)
    )

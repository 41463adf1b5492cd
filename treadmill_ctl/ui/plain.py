"""Plain log-style lines for a run without a terminal (piped, under a service manager).

There is no dashboard and no hotkeys there, so the lines say what changed (the phase,
the segment, a latch and its reason), every cue's text, and a progress line every so
often. Each line starts with the session time and is flushed at once, so a log
collector sees it as it happens.

Example::

    [0:00] phase: waiting_for_start
    [0:05] phase: running
    [0:05] segment 1/12: BACKWARD 1.0 km/h for 30 s (next: FORWARD 3.0 km/h for 60 s)
    [0:25] cue: Turn around. Forward in 3, 2, 1
    [0:30] progress: running backward, target 1.0 km/h, belt 1.0 km/h, incline 0.0 %, ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TextIO

from treadmill_ctl.session.events import SessionPhase
from treadmill_ctl.text import escape_text
from treadmill_ctl.ui.banner import latch_reason_text
from treadmill_ctl.ui.dashboard import format_duration, heart_rate_words, latch_advice

if TYPE_CHECKING:
    from treadmill_ctl.session.events import Cue, SessionEvent, SessionSnapshot
    from treadmill_ctl.ui.dashboard import DeviceSettings

#: Default session seconds between two progress lines.
DEFAULT_PROGRESS_EVERY_S: Final = 30.0


class PlainObserver:
    """A session observer that writes one plain line per notable change.

    Args:
        stream: where to write (standard output, usually).
        progress_every_s: session seconds between progress lines (0 for none).
        show_events: also print every session event as ``kind name=value ...``.
            Off by default: in plain mode the session record's console output
            already shows the log events.
        device_settings: where this treadmill's settings go, for advice that
            names them (the mph advice after a latch).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        progress_every_s: float = DEFAULT_PROGRESS_EVERY_S,
        show_events: bool = False,
        device_settings: DeviceSettings | None = None,
    ) -> None:
        self._stream = stream
        self._device_settings = device_settings
        self._progress_every_s = progress_every_s
        self._show_events = show_events
        self._phase: SessionPhase | None = None
        self._segment_index: int | None = None
        self._next_progress_s: float | None = None
        self._last_t_s: float | None = None

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Write a line for a new phase or segment, and a progress line when it is due."""
        self._last_t_s = snapshot.t_s
        if snapshot.phase is not self._phase:
            self._phase = snapshot.phase
            self._write(snapshot.t_s, _phase_line(snapshot))
            advice = latch_advice(snapshot, self._device_settings)
            if snapshot.phase is SessionPhase.LATCHED and advice is not None:
                self._write(snapshot.t_s, advice)
        segment = snapshot.segment
        if segment is not None and segment.index != self._segment_index:
            self._segment_index = segment.index
            line = f"segment {segment.index + 1}/{snapshot.segment_count}: {segment.describe()}"
            if snapshot.next_segment is not None:
                line += f" (next: {snapshot.next_segment.describe()})"
            self._write(snapshot.t_s, line)
        if self._progress_every_s > 0 and snapshot.phase in _PROGRESS_PHASES:
            if self._next_progress_s is None:
                self._next_progress_s = snapshot.t_s + self._progress_every_s
            elif snapshot.t_s >= self._next_progress_s:
                self._next_progress_s = snapshot.t_s + self._progress_every_s
                self._write(snapshot.t_s, _progress_line(snapshot))

    def on_event(self, event: SessionEvent) -> None:
        """Write the event only when asked to (``show_events``)."""
        if self._show_events:
            fields = "".join(f" {name}={value}" for name, value in event.fields.items())
            self._write(event.t_s, f"{event.kind}{fields}")

    def on_cue(self, cue: Cue) -> None:
        """Write the cue's text at the latest snapshot's time (urgent ones in capitals)."""
        self._write(
            self._last_t_s, f"CUE: {cue.text.upper()}" if cue.urgent else f"cue: {cue.text}"
        )

    def note(self, text: str) -> None:
        """Write one line of news (e.g. that speech is off)."""
        self._write(self._last_t_s, text)

    def _write(self, t_s: float | None, line: str) -> None:
        stamp = f"[{format_duration(t_s)}] " if t_s is not None else ""
        try:
            self._stream.write(f"{stamp}{escape_text(line)}\n")
            self._stream.flush()
        except (OSError, ValueError):
            return  # a closed pipe must never take the session down


_PROGRESS_PHASES: Final = frozenset(
    {SessionPhase.RUNNING, SessionPhase.TURNING_AROUND, SessionPhase.PAUSED}
)


def _phase_line(snapshot: SessionSnapshot) -> str:
    if snapshot.phase is SessionPhase.LATCHED:
        return f"STOPPED (latched): {latch_reason_text(snapshot)}; the belt is commanded to stop"
    return f"phase: {snapshot.phase.value}"


def _progress_line(snapshot: SessionSnapshot) -> str:
    parts = [
        f"progress: {snapshot.phase.value} {snapshot.direction or ''}".rstrip(),
        f"target {snapshot.target_speed_kmh:.1f} km/h",
    ]
    if snapshot.belt_speed_kmh is not None:
        parts.append(f"belt {snapshot.belt_speed_kmh:.1f} km/h")
    if snapshot.incline_pct is not None:
        parts.append(f"incline {snapshot.incline_pct:.1f} %")
    if snapshot.distance_m is not None:
        parts.append(f"distance {snapshot.distance_m:.0f} m")
    heart_rate = heart_rate_words(snapshot)
    if heart_rate is not None:
        parts.append(heart_rate)
    parts.append(f"segment left {format_duration(snapshot.segment_remaining_s)}")
    parts.append(f"session left {format_duration(snapshot.session_remaining_s)}")
    return ", ".join(parts)

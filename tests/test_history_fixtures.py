"""Synthetic session records in record format 1, for the history tests that need odd cases.

A small session on a treadmill: segments run at their target speed (with the belt
reporting about once a second), an optional latch stops the belt, an optional pause,
an optional cut leaves the record without ``session.ended`` and, if asked, with a
half-written last line. Every event a reader relies on is named by the runner's own
vocabulary (:class:`RecordEvent`), and the tests of this module check the fixture
against a record a real dry run wrote: it may write no event the runner never
writes. Behaviour a real run can show (pauses, turn-arounds, latches, dry runs) is
tested on real runs (``test_history_dry_runs``, ``test_session_pause_e2e``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from treadmill_ctl.session.events import RecordEvent

if TYPE_CHECKING:
    from pathlib import Path

    from person_runs import ScriptedRun

pytest_plugins = ["scripted_runs"]

START = datetime(2025, 3, 14, 8, 30, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Seg:
    direction: str
    speed_kmh: float
    duration_s: float
    incline_pct: float = 0.0
    hr_zone: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Strap:
    """A chest strap worn in the synthetic session: a reading 0.5 s after each belt sample.

    Its rate is ``95 + t % 30`` (never the treadmill's ``90 + t % 40`` at the same
    moment), one RR interval per reading and two every third second. ``lost`` is a
    stretch without readings, ``no_contact`` one of zeros without skin contact,
    ``spike_at_s`` one artefact (200 bpm, not accepted) and ``bogus_rr_at_s`` a reading
    that also carries a 52 ms interval (no heart beats that fast).
    """

    lost: tuple[float, float] | None = None
    no_contact: tuple[float, float] | None = None
    spike_at_s: float | None = None
    bogus_rr_at_s: float | None = None
    many_rr_at_s: float | None = None
    """A reading with seven RR intervals (a notification holds up to nine)."""

    def reading(self, t_s: float) -> dict[str, object] | None:
        if self.lost is not None and self.lost[0] <= t_s < self.lost[1]:
            return None
        if self.no_contact is not None and self.no_contact[0] <= t_s < self.no_contact[1]:
            return {"heart_rate_bpm": 0, "contact": "not_detected", "rr_s": [], "accepted": False}
        if t_s == self.spike_at_s:
            return {"heart_rate_bpm": 200, "contact": "detected", "rr_s": [0.3], "accepted": False}
        bpm = 95 + round(t_s) % 30
        rr = [round(60 / bpm, 4)] * (2 if round(t_s) % 3 == 0 else 1)
        if t_s == self.bogus_rr_at_s:
            rr.append(0.052)
        if t_s == self.many_rr_at_s:
            rr = [round(0.6 + index / 100, 4) for index in range(7)]
        return {"heart_rate_bpm": bpm, "contact": "detected", "rr_s": rr, "accepted": True}


STRAP_SOURCE = "strap:AA:BB:CC:DD:EE:FF"


BEGINNER: tuple[Seg, ...] = (
    Seg("forward", 2.5, 60),
    Seg("backward", 1.2, 30),
    Seg("forward", 2.5, 60),
    Seg("backward", 1.2, 30),
    Seg("forward", 2.5, 40),
)


@dataclass(slots=True)
class _RunState:
    t_s: float = 1.0
    distance_m: float = 0.0
    latched: bool = False
    completed: int = 0
    backward_done_s: float = 0.0
    forward_done_s: float = 0.0


@dataclass(slots=True)
class SyntheticRecord:
    """Builds the lines of one session record."""

    segments: tuple[Seg, ...] = BEGINNER
    profile_name: str = "Backward walking: first session"
    profile_path: str | None = "profiles/backward-beginner.toml"
    started_at: datetime = START
    weight_kg: float | None = 70.0
    heart_rate: bool = True
    report_distance: bool = True
    latch_at_s: float | None = None
    latch_reason: str = "emergency_stop"
    pause: tuple[float, float] | None = None
    end: str = "completed"
    cut_at_s: float | None = None
    partial_tail: bool = False
    simulator: bool = False
    strap: Strap | None = None
    lines: list[dict[str, object]] = field(default_factory=list)

    def _line(self, t_s: float, event: str, **fields: object) -> None:
        ts = (self.started_at + timedelta(seconds=t_s)).isoformat(timespec="milliseconds")
        self.lines.append(
            {
                "t": round(t_s, 3),
                "ts": ts,
                "event": event,
                "level": "info",
                "session_id": "abc123",
                **fields,
            }
        )

    def build(self) -> str:
        self.lines = []
        total_s = sum(seg.duration_s for seg in self.segments)
        backward_s = sum(s.duration_s for s in self.segments if s.direction == "backward")
        self._line(
            0.0,
            RecordEvent.STARTED,
            record_format=1,
            profile_name=self.profile_name,
            profile_path=self.profile_path,
            device_name="FTMS Sim",
            device_address="00:11:22:33:44:55",
            simulator=self.simulator,
            started_at=self.started_at.isoformat(timespec="milliseconds"),
            weight_kg=self.weight_kg,
            plan={
                "total_s": total_s,
                "backward_s": backward_s,
                "forward_s": total_s - backward_s,
                "distance_m": sum(s.speed_kmh / 3.6 * s.duration_s for s in self.segments),
                "segment_count": len(self.segments),
            },
        )
        self._line(0.1, "link.up", device="FTMS Sim")
        self._state(1.0, "idle", "running", "start requested by the person")
        state = _RunState()
        for index, seg in enumerate(self.segments):
            self._run_segment(index, seg, state)
            if state.latched:
                break
        t_s, latched, distance_m = state.t_s, state.latched, state.distance_m
        completed = state.completed
        backward_done, forward_done = state.backward_done_s, state.forward_done_s
        reasons = [self.latch_reason] if latched else []
        if not latched:
            self._state(t_s, "running", "finished", "end of session: ramped down")
        self._line(
            t_s,
            RecordEvent.ENDED,
            end="safety_latch" if latched else self.end,
            exit_status=4 if latched else 0,
            summary={
                "duration_s": t_s,
                "backward_s": backward_done,
                "forward_s": forward_done,
                "distance_m": distance_m,
                "latches": reasons,
                "segments_completed": completed,
                "segment_count": len(self.segments),
            },
        )
        if self.cut_at_s is not None:
            cut = self.cut_at_s
            self.lines = [
                line
                for line in self.lines
                if float(str(line["t"])) < cut and line["event"] != RecordEvent.ENDED
            ]
        text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in self.lines)
        if self.partial_tail:
            text += '{"t":999.0,"ts":"2025-03-14T08:46:39.000+00:00","event":"belt.da'
        return text

    def _state(self, t_s: float, old: str, new: str, reason: str) -> None:
        self._line(t_s, RecordEvent.STATE_CHANGED, old=old, new=new, reason=reason)

    def _run_segment(self, index: int, seg: Seg, state: _RunState) -> None:
        self._line(
            state.t_s,
            RecordEvent.SEGMENT_STARTED,
            index=index,
            direction=seg.direction,
            speed_kmh=seg.speed_kmh,
            incline_pct=seg.incline_pct,
            duration_s=seg.duration_s,
            cue=None,
            hr_zone_bpm=list(seg.hr_zone) if seg.hr_zone is not None else None,
        )
        seg_end = state.t_s + seg.duration_s
        while state.t_s < seg_end:
            t_s = state.t_s
            paused = self.pause is not None and self.pause[0] <= t_s < self.pause[1]
            if self.pause is not None and t_s == self.pause[0]:
                self._state(t_s, "running", "paused", "pause requested")
                self._line(t_s, RecordEvent.PAUSED, reason="pause requested", during="running")
            if self.pause is not None and t_s == self.pause[1]:
                self._state(t_s, "paused", "running", "resume requested by the person")
                self._line(t_s, RecordEvent.RESUMED, reason="resume requested by the person")
            if self.latch_at_s is not None and t_s >= self.latch_at_s:
                state.latched = True
                self._state(t_s, "running", "latched", "test")
                self._line(t_s, RecordEvent.LATCHED, reason=self.latch_reason, detail="test")
            speed = 0.0 if state.latched or paused else seg.speed_kmh
            state.distance_m += speed / 3.6
            self._line(
                t_s,
                RecordEvent.BELT_DATA,
                speed_kmh=speed,
                incline_pct=seg.incline_pct,
                distance_m=round(state.distance_m) if self.report_distance else None,
                elapsed_s=t_s,
                heart_rate_bpm=(90 + round(t_s) % 40) if self.heart_rate else None,
            )
            self._line(t_s + 0.2, "command.sent", op="set_target_speed", value="0001")
            reading = self.strap.reading(t_s) if self.strap is not None else None
            if reading is not None:
                self._line(
                    t_s + 0.5,
                    RecordEvent.HEART_RATE_SAMPLE,
                    source=STRAP_SOURCE,
                    notes=None,
                    **reading,
                )
            if state.latched:
                return
            state.t_s += 1.0
        state.completed += 1
        if seg.direction == "backward":
            state.backward_done_s += seg.duration_s
        else:
            state.forward_done_s += seg.duration_s

    def write(self, folder: Path, name: str | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        local = self.started_at.astimezone().strftime("%Y%m%d-%H%M%S")
        path = folder / (name or f"{local}-backward-beginner.jsonl")
        path.write_text(self.build(), encoding="utf-8")
        return path


def test_a_synthetic_record_is_json_lines_with_the_runner_fields() -> None:
    text = SyntheticRecord().build()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["event"] == "session.started"
    assert lines[-1]["event"] == "session.ended"
    assert all({"t", "ts", "event", "level", "session_id"} <= set(line) for line in lines)


def test_a_cut_record_has_no_end_and_may_end_in_a_broken_line() -> None:
    text = SyntheticRecord(cut_at_s=100, partial_tail=True).build()
    assert '"session.ended"' not in text
    assert not text.endswith("\n")


def _kinds_and_fields(lines: list[dict[str, object]]) -> dict[str, set[str]]:
    """For every event a reader relies on: the fields written with it."""
    read = set(RecordEvent)
    out: dict[str, set[str]] = {}
    for line in lines:
        kind = str(line["event"])
        if kind in read:
            out.setdefault(kind, set()).update(line)
    return out


def test_the_fixture_writes_only_events_and_fields_the_runner_writes(
    paused_run: ScriptedRun, stopped_run: ScriptedRun
) -> None:
    real: dict[str, set[str]] = {}
    for run in (paused_run, stopped_run):
        lines = [json.loads(line) for line in run.record.read_text(encoding="utf-8").splitlines()]
        for kind, names in _kinds_and_fields(lines).items():
            real.setdefault(kind, set()).update(names)
    fixture = SyntheticRecord(pause=(10, 20), latch_at_s=150).build()
    written = _kinds_and_fields([json.loads(line) for line in fixture.splitlines()])
    assert set(written) <= set(real), set(written) - set(real)
    for kind, names in written.items():
        assert names <= real[kind], (kind, names - real[kind])

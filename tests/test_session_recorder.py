"""The session record: JSON lines, flushed as they happen, fed by structlog."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import structlog

from treadmill_ctl.session.recorder import SessionRecord, configure_logging

if TYPE_CHECKING:
    from pathlib import Path


class _FixedClock:
    def __init__(self) -> None:
        self.now = 100.0

    def now_s(self) -> float:
        return self.now

    async def sleep(self, duration_s: float) -> None:
        self.now += duration_s


def test_each_line_is_on_disk_before_the_next_is_written(tmp_path: Path) -> None:
    clock = _FixedClock()
    record = SessionRecord(tmp_path / "s.jsonl", clock=clock)
    record.write("session.started", profile="demo")
    clock.now += 2.5
    record.write("command.sent", command="stop", payload=b"\x08\x01")
    # read back without closing: a crash now must not lose these lines
    lines = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [line["event"] for line in lines] == ["session.started", "command.sent"]
    assert lines[1]["t"] == 2.5
    assert lines[1]["payload"] == "0801"
    record.close()


def test_structlog_events_reach_the_record_with_bound_context(tmp_path: Path) -> None:
    record = SessionRecord(tmp_path / "s.jsonl", clock=_FixedClock())
    try:
        configure_logging(record=record, console=None)
        structlog.get_logger("x").bind(session_id="abc").warning("link.lost", reason="gone")
        structlog.get_logger("x").debug("command.sent", command="stop")
    finally:
        structlog.reset_defaults()
        record.close()
    lines = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert lines[0]["event"] == "link.lost"
    assert lines[0]["session_id"] == "abc"
    assert lines[0]["level"] == "warning"
    assert lines[1]["event"] == "command.sent"


def test_writes_after_close_are_ignored_not_raised(tmp_path: Path) -> None:
    record = SessionRecord(tmp_path / "s.jsonl", clock=_FixedClock())
    record.write("session.started")
    record.close()
    record.write("late.event")
    assert [json.loads(x)["event"] for x in (tmp_path / "s.jsonl").read_text().splitlines()] == [
        "session.started"
    ]


def test_a_record_nothing_was_written_to_leaves_no_empty_file(tmp_path: Path) -> None:
    with SessionRecord(tmp_path / "s.jsonl", clock=_FixedClock()):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_second_record_with_the_same_name_never_overwrites_the_first(tmp_path: Path) -> None:
    with SessionRecord(tmp_path / "s.jsonl", clock=_FixedClock()) as first:
        first.write("session.started", n=1)
    with SessionRecord(tmp_path / "s.jsonl", clock=_FixedClock()) as second:
        second.write("session.started", n=2)
    assert second.path == tmp_path / "s-2.jsonl"
    assert json.loads((tmp_path / "s.jsonl").read_text())["n"] == 1

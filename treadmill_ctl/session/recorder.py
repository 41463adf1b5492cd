"""The session record: every decision, observation and command, as JSON lines.

Each line is written and flushed as it happens, so a crash or a power cut loses
nothing already written; a record without a ``session.ended`` line was cut short.
The record is fed by structlog: every ``noun.verb`` event logged anywhere in the
process during a session (the link's, the governor's decisions, the runner's) goes
to the record with the session time ``t`` and bound context (session id, device,
segment), and, in plain mode, also to the console as a readable line.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Self, TextIO

import structlog

if TYPE_CHECKING:
    from collections.abc import MutableMapping
    from types import TracebackType

    from treadmill_ctl.session.clock import Clock

RECORD_FORMAT_VERSION: Final = 1


class SessionRecord:
    """One session's JSON-lines file, appended and flushed line by line.

    Args:
        path: the file; its folder is created if needed.
        clock: gives each line its session time ``t`` (seconds since the record opened).
    """

    def __init__(self, path: Path, *, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._start_s = clock.now_s()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path = _new_file_path(path)
        # A new file each session: two sessions never write into one record.
        self._file: IO[str] | None = path.open("x", encoding="utf-8")
        self.lines_written = 0

    def session_time_s(self) -> float:
        """Seconds since the record was opened, on the session clock."""
        return self._clock.now_s() - self._start_s

    def write(self, event: str, **fields: object) -> None:
        """Write one line: ``{"t": ..., "ts": ..., "event": event, **fields}``."""
        self.write_event_dict({"event": event, **fields})

    def write_event_dict(self, event_dict: MutableMapping[str, Any]) -> None:
        """Write an already assembled event dict (the structlog processor's entry)."""
        if self._file is None:
            return
        line: dict[str, object] = {"t": round(self.session_time_s(), 3)}
        line.setdefault("ts", datetime.now(UTC).isoformat(timespec="milliseconds"))
        line.update(event_dict)
        self._file.write(json.dumps(line, default=_jsonable, separators=(",", ":")) + "\n")
        self._file.flush()
        self.lines_written += 1

    def close(self) -> None:
        """Close the file; later writes are ignored.

        A record nothing was written to (the session never began, e.g. no treadmill
        was found) is removed rather than left as an empty file in the history.
        """
        if self._file is not None:
            self._file.close()
            self._file = None
            if self.lines_written == 0:
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _new_file_path(path: Path) -> Path:
    """``path``, or ``name-2.jsonl``, ``name-3.jsonl``... if it is taken."""
    candidate = path
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.name.lower()
    return repr(value)


class _TeeToRecord:
    """structlog processor: copies each event into the session record."""

    __slots__ = ("_record",)

    def __init__(self, record: SessionRecord) -> None:
        self._record = record

    def __call__(
        self, _logger: object, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        self._record.write_event_dict(dict(event_dict))
        return event_dict


class _DropUnlessConsole:
    """structlog processor: ends the chain when there is no console to print to."""

    __slots__ = ()

    def __call__(
        self, _logger: object, _method: str, _event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        raise structlog.DropEvent


def configure_logging(
    *, record: SessionRecord | None, console: TextIO | None = sys.stderr, verbose: bool = False
) -> None:
    """Route structlog events to the session record and, optionally, the console.

    Debug events (every command's bytes) go to the record always, to the console only
    with ``verbose``.
    """
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    if record is not None:
        processors.append(_TeeToRecord(record))
    if console is None:
        processors.append(_DropUnlessConsole())
    else:
        if not verbose:
            processors.append(_drop_debug)
        processors.append(structlog.dev.ConsoleRenderer(colors=False, pad_event_to=24))
    structlog.configure(
        processors=processors,
        logger_factory=structlog.WriteLoggerFactory(console or sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(0),
        cache_logger_on_first_use=False,
    )


def _drop_debug(
    _logger: object, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if method == "debug":
        raise structlog.DropEvent
    return event_dict

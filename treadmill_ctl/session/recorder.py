"""The session record: every decision, observation and command, as JSON lines.

Each line is written and flushed as it happens, so a crash or a power cut loses
nothing already written; a record without a ``session.ended`` line was cut short.
The record is fed by structlog: every ``noun.verb`` event logged anywhere in the
process during a session (the link's, the governor's decisions, the runner's) goes
to the record with the session time ``t`` and bound context (session id, device,
segment), and, in plain mode, also to the console as a readable line.

Writing the record never raises into the code that logs (SAFETY.md invariant 6: the
stop never waits on, or fails with, anything else). A write that fails (a full disk,
a removed drive) is kept in :attr:`SessionRecord.failure`, later lines are dropped,
and ``on_failure`` is told once, so the session can end safely and say why.
"""

from __future__ import annotations

import contextlib
import errno
import json
import sys
import traceback
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Self, TextIO

import structlog

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping
    from types import TracebackType

    from treadmill_ctl.clock import Clock

RECORD_FORMAT_VERSION: Final = 1


class SessionRecord:
    """One session's JSON-lines file, appended and flushed line by line.

    Args:
        path: the file; its folder is created if needed.
        clock: gives each line its session time ``t`` (seconds since the record opened).
        on_failure: told once, with the error, when a line cannot be written; it must
            return at once and never raise (the session ends on it, belt stopped).

    Raises:
        OSError: the file cannot be created (the session must not start).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock,
        on_failure: Callable[[Exception], None] | None = None,
    ) -> None:
        self.path = path
        self._clock = clock
        self._start_s = clock.now_s()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path = _new_file_path(path)
        # A new file each session: two sessions never write into one record.
        self._file: IO[str] | None = path.open("x", encoding="utf-8")
        self.lines_written = 0
        self.on_failure = on_failure
        self.failure: Exception | None = None
        """The first write that failed; no line is written after it."""

    @staticmethod
    def check_writable(path: Path) -> None:
        """Make sure a record can be created at ``path`` (nothing is left behind).

        Raises:
            OSError: the folder cannot be made, or a file cannot be created in it.
        """
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = _new_file_path(path)
        with probe.open("x", encoding="utf-8"):
            pass
        probe.unlink()

    def session_time_s(self) -> float:
        """Seconds since the record was opened, on the session clock."""
        return self._clock.now_s() - self._start_s

    def write(self, event: str, **fields: object) -> None:
        """Write one line: ``{"t": ..., "ts": ..., "event": event, **fields}``."""
        self.write_event_dict({"event": event, **fields})

    def write_event_dict(self, event_dict: MutableMapping[str, Any]) -> None:
        """Write an already assembled event dict (the structlog processor's entry).

        Never raises: a failed write is kept in :attr:`failure` (see the class).
        """
        if self._file is None:
            return
        line: dict[str, object] = {"t": round(self.session_time_s(), 3)}
        line.setdefault("ts", datetime.now(UTC).isoformat(timespec="milliseconds"))
        line.update(event_dict)
        try:
            text = _RECORD_LINE.encode(line)
        except (TypeError, ValueError) as error:  # a field json cannot hold: say so instead
            text = json.dumps(
                {"t": line["t"], "event": "record.unwritable_line", "error": repr(error)}
            )
        try:
            self._file.write(text + "\n")
            self._file.flush()
        except OSError as error:
            self.fail(error)
            return
        self.lines_written += 1

    def fail(self, error: Exception) -> None:
        """Stop writing after ``error``: keep it, close the file, tell ``on_failure`` once."""
        if self.failure is not None:
            return
        self.failure = error
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()
        if self.on_failure is not None:
            self.on_failure(error)

    def close(self) -> None:
        """Close the file; later writes are ignored.

        A record nothing was written to (the session never began, e.g. no treadmill
        was found) is removed rather than left as an empty file in the history.
        """
        if self._file is not None:
            file, self._file = self._file, None
            try:
                file.close()  # the last buffered bytes are written here
            except OSError as error:
                if self.failure is None:
                    self.failure = error
            if self.lines_written == 0:
                with contextlib.suppress(OSError):
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


_RECORD_LINE: Final = json.JSONEncoder(default=_jsonable, separators=(",", ":"))
"""One encoder for every line (``json.dumps`` with options builds a new one per call)."""


def describe_failure(error: BaseException) -> dict[str, object]:
    """What failed, for the record: type, message and the whole traceback."""
    return {
        "error_type": type(error).__name__,
        "error": str(error),
        "traceback": "".join(traceback.format_exception(error)),
    }


def _failure_fields(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: ``exc_info`` becomes :func:`describe_failure`'s fields."""
    exc_info = event_dict.pop("exc_info", None)
    error: BaseException | None = None
    if isinstance(exc_info, BaseException):
        error = exc_info
    elif isinstance(exc_info, tuple) and len(exc_info) == 3:  # noqa: PLR2004 - sys.exc_info()
        error = exc_info[1]
    elif exc_info:
        error = sys.exception()
    if error is not None:
        for key, value in describe_failure(error).items():
            event_dict.setdefault(key, value)
    return event_dict


class _SafeConsole:
    """A console that never raises into the code that logs (a closed terminal, EPIPE)."""

    __slots__ = ("__weakref__", "_stream")

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        with contextlib.suppress(OSError, ValueError):
            return self._stream.write(text)
        return 0

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()


class _TeeToRecord:
    """structlog processor: copies each event into the session record."""

    __slots__ = ("_record",)

    def __init__(self, record: SessionRecord) -> None:
        self._record = record

    def __call__(
        self, _logger: object, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        try:
            self._record.write_event_dict(dict(event_dict))
        except Exception as error:  # noqa: BLE001 - whatever it is, the caller must go on
            self._record.fail(error)
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
        _failure_fields,
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
        logger_factory=structlog.WriteLoggerFactory(_SafeConsole(console or sys.stderr)),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(0),
        cache_logger_on_first_use=False,
    )


def _drop_debug(
    _logger: object, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if method == "debug":
        raise structlog.DropEvent
    return event_dict

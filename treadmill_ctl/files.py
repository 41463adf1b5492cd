"""Reading the files a person gives us (profiles, the settings file), bounded.

Whatever a file holds, reading it answers at once: only a regular file is read (a
FIFO, ``/dev/zero`` or ``/dev/urandom`` is refused without waiting on it), at most
:data:`MAX_FILE_BYTES` of it, as UTF-8. Its TOML is then checked before any code
looks at a value: nesting at most :data:`MAX_NESTING` deep, every number finite and
within :data:`MAX_NUMBER` in size (so no later ``float()`` or ``round()`` can
overflow), every text at most :data:`MAX_TEXT_CHARS` long. Only the standard library.
"""

from __future__ import annotations

import math
import os
import stat
import tomllib
from typing import TYPE_CHECKING, Any, Final

from treadmill_ctl.text import escape_text

if TYPE_CHECKING:
    from pathlib import Path

MAX_FILE_BYTES: Final = 1024 * 1024
"""1 MiB: a profile or settings file is a few kilobytes; anything larger is a mistake."""

MAX_NESTING: Final = 10
"""Tables and arrays inside each other; a profile needs 5 levels, the settings file 3."""

MAX_NUMBER: Final = 1e9
"""No number in a profile or settings file is anywhere near a billion."""

MAX_TEXT_CHARS: Final = 10_000
"""No single text value (a name, a cue, a description, a URL) needs more."""

_SHOWN_CHARS: Final = 24


class InputFileError(ValueError):
    """A file cannot be taken as input; the message says why (without the path)."""


def read_text_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Read a regular file of at most ``max_bytes`` as UTF-8 text, without ever waiting.

    Raises:
        FileNotFoundError: there is no such file.
        InputFileError: not a regular file, too large, or not UTF-8.
        OSError: it cannot be read (permissions, I/O).
    """
    # O_NONBLOCK: opening a FIFO with no writer returns at once instead of hanging.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"not a regular file ({_kind(info.st_mode)}): give a file path")
        if info.st_size > max_bytes:
            raise InputFileError(_too_large(max_bytes))
        data = file.read(max_bytes + 1)  # a file still growing is cut off here
    if len(data) > max_bytes:
        raise InputFileError(_too_large(max_bytes))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8"
        ) from None


def _too_large(max_bytes: int) -> str:
    return f"larger than {max_bytes // 1024} KiB: this is not a profile or settings file"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def load_toml(text: str, *, finite: bool = True) -> dict[str, Any]:
    """Parse TOML text and check it is within bounds (see the module).

    Args:
        text: The TOML.
        finite: Refuse ``inf`` and ``nan`` too (else the caller checks them, with
            its own, better located, message).

    Raises:
        tomllib.TOMLDecodeError: a syntax error (with its line and column).
        InputFileError: too deeply nested, a number out of bounds, a text too long;
            the message names the key.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except RecursionError:
        raise InputFileError(f"nested more than {MAX_NESTING} levels deep") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise InputFileError(f"a value cannot be read: {error}") from None
    check_bounds(document, finite=finite)
    return document


def check_bounds(document: dict[str, Any], *, finite: bool = True) -> None:
    """Raise :class:`InputFileError` for the first value out of bounds (see the module).

    Iterative, so no nesting can exhaust the stack.
    """
    pending: list[tuple[object, tuple[str, ...], int]] = [(document, (), 0)]
    while pending:
        value, where, depth = pending.pop()
        if depth > MAX_NESTING:
            raise InputFileError(f"{_where(where)}: nested more than {MAX_NESTING} levels deep")
        if isinstance(value, dict):
            pending.extend((item, (*where, str(key)), depth + 1) for key, item in value.items())
        elif isinstance(value, list):
            label = where[-1] if where else "item"
            pending.extend(
                (item, (*where[:-1], f"{label} {index + 1}"), depth + 1)
                for index, item in enumerate(value)
            )
        else:
            problem = value_problem(value, finite=finite)
            if problem is not None:
                raise InputFileError(f"{_where(where)}: {problem}")


def value_problem(value: object, *, finite: bool = True) -> str | None:  # noqa: PLR0911
    """Why one plain value is out of bounds, or None; never converts a huge int to float.

    With ``finite`` false, ``inf`` and ``nan`` pass (the caller refuses them itself).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > MAX_NUMBER:
            return f"the number {shown_number(value)} is far too large (at most 1e9 in size)"
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"{value} is not a usable number" if finite else None
        if abs(value) > MAX_NUMBER:
            return f"the number {value:.12g} is far too large (at most 1e9 in size)"
        return None
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return f"a text of {len(value)} characters (at most {MAX_TEXT_CHARS})"
    return None


def shown_number(value: int) -> str:
    """An integer as a person can read it in one line, however many digits it has."""
    digits = len(str(abs(value))) if abs(value) < 10**4000 else None
    if digits is None or digits > _SHOWN_CHARS:
        sign = "-" if value < 0 else ""
        return f"{sign}{str(abs(value))[:6]}... ({digits or 'over 4000'} digits)"
    return str(value)


def _where(where: tuple[str, ...]) -> str:
    """``[limits] backward_max_speed_kmh``, ``[step 2] segments 1, duration``."""
    if not where:
        return "the file"
    where = tuple(escape_text(part) for part in where)  # keys may hold line breaks
    if len(where) == 1:
        return where[0]
    return f"[{where[0]}] " + ", ".join(where[1:])

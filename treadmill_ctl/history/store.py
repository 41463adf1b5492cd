"""Where session records live, and which record a person means.

The runner writes one JSON-lines file per session into the sessions folder that
:func:`treadmill_ctl.config.sessions_dir` names (the platform's data folder, or
``$TREADMILL_CTL_DATA_DIR`` when set). File names start with the local start time,
``YYYYMMDD-HHMMSS-<profile-slug>.jsonl``, so sorting by name is sorting by date.

A person names a session in one of three ways: a path to a record; its number in
``treadmill-ctl history`` (1 is the oldest, so a number keeps meaning the same
session as new ones are added; ``-1``, ``last`` and ``latest`` mean the newest);
or the start of its file name, such as ``20250314`` or ``20250314-0930`` (eight
digits or more: shorter numbers are history numbers).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Final

from treadmill_ctl.history.errors import SessionNotFound

RECORD_SUFFIX: Final = ".jsonl"
_NEWEST_WORDS: Final = frozenset({"last", "latest", "newest"})
_STAMP: Final = re.compile(r"^\d{8}-\d{6}")


def list_records(directory: Path) -> tuple[Path, ...]:
    """Every session record in ``directory``, oldest first.

    Records are ordered by the start time in their names; a record named otherwise
    (``run --record FILE`` into this folder) is placed by its modification time. A
    folder that does not exist yet simply holds no records: nobody has run a session
    on this machine.
    """
    if not directory.is_dir():
        return ()
    return tuple(
        sorted(
            (path for path in directory.iterdir() if path.suffix == RECORD_SUFFIX),
            key=_start_key,
        )
    )


def _start_key(path: Path) -> str:
    """A sortable local start time: the name's stamp, else the file's modification time."""
    if _STAMP.match(path.name):
        return path.name
    modified = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    return f"{modified:%Y%m%d-%H%M%S}-{path.name}"


def resolve_session(spec: str, directory: Path) -> Path:
    """Find the record a person named.

    Args:
        spec: A path to a record; a number from ``treadmill-ctl history`` (1 is the
            oldest, negative numbers count from the newest); ``last``/``latest``; or
            the start of a record's file name.
        directory: The sessions folder to look in for numbers and names.

    Returns:
        The record's path.

    Raises:
        SessionNotFound: Nothing matches, a number is out of range, or a name prefix
            matches more than one record.
    """
    text = spec.strip()
    if not text:
        raise SessionNotFound("no session named: give a number from history, a name or a path")
    as_path = Path(text).expanduser()
    if as_path.is_file():
        return as_path
    records = list_records(directory)
    where = f"in {directory}"
    if text.lower() in _NEWEST_WORDS:
        text = "-1"
    if re.fullmatch(r"[+-]?\d{1,7}", text):
        return _by_number(int(text), records, where)
    matches = [path for path in records if path.name.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SessionNotFound(
            f"no session record matches {spec!r} {where}: "
            f"give a path, a number from `treadmill-ctl history` or the start of a file name"
        )
    names = ", ".join(path.name for path in matches[:3])
    more = f" and {len(matches) - 3} more" if len(matches) > 3 else ""  # noqa: PLR2004
    raise SessionNotFound(f"{spec!r} matches {len(matches)} records ({names}{more}): say more")


def _by_number(number: int, records: tuple[Path, ...], where: str) -> Path:
    if not records:
        raise SessionNotFound(f"no session records {where} yet")
    if 1 <= number <= len(records):
        return records[number - 1]
    if -len(records) <= number <= -1:
        return records[number]
    raise SessionNotFound(
        f"there is no session {number}: history has sessions 1 to {len(records)} "
        f"(or -1 for the newest)"
    )

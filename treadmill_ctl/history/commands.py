"""What the CLI calls for ``history``, ``report``, ``export`` and ``next``.

Each command returns ``(exit status, text to print)`` and never raises the
project's errors: a person sees one clear line. Exit statuses: 0 done; 1 nothing to
work on (no sessions yet, no session to build on); 2 a bad argument (no such
session, an unreadable record, an unknown format, a file that cannot be written).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from treadmill_ctl.config import sessions_dir
from treadmill_ctl.history.errors import (
    HistoryError,
    NoSessionYet,
    NothingToExport,
    SessionNotFound,
    UnreadableRecord,
)
from treadmill_ctl.history.record import read_record
from treadmill_ctl.history.report import clock, ending_text, format_report, local_time
from treadmill_ctl.history.store import list_records, resolve_session

if TYPE_CHECKING:
    from treadmill_ctl.history.session_log import SessionLog
    from treadmill_ctl.profiles import Profile
    from treadmill_ctl.safety import Limits

_M_PER_KM = 1000.0


class HistoryStatus(IntEnum):
    """Exit statuses of the history commands."""

    OK = 0
    NOTHING = 1
    BAD_ARGUMENT = 2


class ExportFormat(StrEnum):
    """The formats of ``treadmill-ctl export``."""

    FIT = "fit"
    TCX = "tcx"
    CSV = "csv"


def _folder(sessions_folder: Path | None) -> Path:
    return sessions_dir() if sessions_folder is None else sessions_folder


def _read_all(folder: Path) -> tuple[list[tuple[int, Path, SessionLog | None]], list[str]]:
    rows: list[tuple[int, Path, SessionLog | None]] = []
    problems: list[str] = []
    for number, path in enumerate(list_records(folder), start=1):
        try:
            rows.append((number, path, read_record(path)))
        except UnreadableRecord as error:
            rows.append((number, path, None))
            problems.append(str(error))
    return rows, problems


def history_command(
    *, sessions_folder: Path | None = None, limit: int | None = None
) -> tuple[int, str]:
    """List the sessions: ``treadmill-ctl history [--limit N]``.

    Args:
        sessions_folder: The folder of session records (default: the platform's
            data folder's ``sessions``, or ``$TREADMILL_CTL_DATA_DIR/sessions``).
        limit: Show only the newest ``limit`` sessions (numbers stay the same).

    Returns:
        Status 0 and a table, oldest first, numbered as ``report``/``export`` take
        them; status 1 and a hint when there are no sessions yet.
    """
    folder = _folder(sessions_folder)
    rows, _ = _read_all(folder)
    if not rows:
        return HistoryStatus.NOTHING, (
            f"No sessions yet in {folder}. Run one with: treadmill-ctl run PROFILE"
        )
    if limit is not None and limit > 0:
        rows = rows[-limit:]
    header = (
        f"{'#':>3}  {'date':<16}  {'profile':<28}  {'backward':>8}  {'forward':>8}  "
        f"{'km':>5}  ended"
    )
    lines = [header]
    for number, path, log in rows:
        if log is None:
            lines.append(f"{number:>3}  {path.name}: not a readable session record")
            continue
        summary = log.summary
        name = log.profile_name or path.stem
        if len(name) > 28:  # noqa: PLR2004 - the column width
            name = name[:27] + "~"
        ended = ending_text(log)
        if log.simulator:
            ended += " [sim]"
        lines.append(
            f"{number:>3}  {local_time(log.started_at):<16}  {name:<28}  "
            f"{clock(summary.backward_s):>8}  {clock(summary.forward_s):>8}  "
            f"{summary.distance_m / _M_PER_KM:>5.2f}  {ended}"
        )
    lines.append(f"({len(list_records(folder))} sessions in {folder})")
    return HistoryStatus.OK, "\n".join(lines)


def _open(session: str, sessions_folder: Path | None) -> SessionLog:
    return read_record(resolve_session(session, _folder(sessions_folder)))


def report_command(
    session: str,
    *,
    sessions_folder: Path | None = None,
    chart_path: Path | None = None,
    chart: bool = True,
    weight_kg: float | None = None,
) -> tuple[int, str]:
    """Summarise one session and draw its chart: ``treadmill-ctl report SESSION``.

    Args:
        session: A path, a number from ``history`` (``-1``/``last`` for the newest)
            or the start of a record's file name.
        sessions_folder: The folder of records (see :func:`history_command`).
        chart_path: Where to write the PNG (default: ``<record name>.png`` in the
            current folder).
        chart: ``False`` (``--no-chart``) writes no chart.
        weight_kg: The person's configured weight, for the energy estimate.

    Returns:
        Status 0 and the summary (naming the chart); 2 and one line on a bad SESSION
        or a chart that cannot be written.
    """
    try:
        log = _open(session, sessions_folder)
    except HistoryError as error:
        return HistoryStatus.BAD_ARGUMENT, f"treadmill-ctl report: {error}"
    written: Path | None = None
    if chart:
        from treadmill_ctl.history.report import write_chart  # noqa: PLC0415

        target = chart_path if chart_path is not None else Path(f"{log.path.stem}.png")
        try:
            written = write_chart(log, target)
        except OSError as error:
            return HistoryStatus.BAD_ARGUMENT, (
                f"treadmill-ctl report: cannot write the chart {target}: {error.strerror}"
            )
    return HistoryStatus.OK, format_report(log, chart_path=written, weight_kg=weight_kg)


def export_command(
    session: str,
    *,
    fmt: str,
    output: Path | None = None,
    sessions_folder: Path | None = None,
    weight_kg: float | None = None,
) -> tuple[int, str]:
    """Export one session: ``treadmill-ctl export SESSION --format fit|tcx|csv [-o PATH]``.

    Args:
        session: As for :func:`report_command`.
        fmt: ``fit``, ``tcx`` or ``csv``.
        output: The file to write (default: ``<record name>.<fmt>`` in the current
            folder).
        sessions_folder: The folder of records (see :func:`history_command`).
        weight_kg: The person's configured weight, for calorie estimates (FIT, TCX).

    Returns:
        Status 0 and a line naming the file (and saying when the record was cut
        short or is a dry run); 2 and one line on a bad SESSION, format or output
        file, or a record without a single belt sample (nothing is written then).
    """
    try:
        export_format = ExportFormat(fmt.lower())
    except ValueError:
        known = ", ".join(f.value for f in ExportFormat)
        return HistoryStatus.BAD_ARGUMENT, f"treadmill-ctl export: unknown format {fmt!r} ({known})"
    try:
        log = _open(session, sessions_folder)
    except HistoryError as error:
        return HistoryStatus.BAD_ARGUMENT, f"treadmill-ctl export: {error}"
    target = output if output is not None else Path(f"{log.path.stem}.{export_format.value}")
    try:
        data = _encode(log, export_format, weight_kg)
    except NothingToExport as error:
        return HistoryStatus.BAD_ARGUMENT, f"treadmill-ctl export: {error}; nothing was written"
    try:
        target.write_bytes(data)
    except OSError as error:
        return HistoryStatus.BAD_ARGUMENT, (
            f"treadmill-ctl export: cannot write {target}: {error.strerror}"
        )
    text = f"Wrote {target} ({export_format.value.upper()}, {len(log.samples)} samples"
    if export_format is not ExportFormat.CSV:
        from treadmill_ctl.history.laps import laps  # noqa: PLC0415

        text += f", {len(laps(log))} laps"
    text += ")"
    if log.cut_short:
        text += "; the session was cut short: the file holds what the record holds"
    if log.simulator:
        text += "; a simulated dry run, marked as one in the file"
    return HistoryStatus.OK, text


def _encode(log: SessionLog, export_format: ExportFormat, weight_kg: float | None) -> bytes:
    from treadmill_ctl.history.laps import require_samples  # noqa: PLC0415

    require_samples(log)  # every format: an empty activity helps nobody
    match export_format:
        case ExportFormat.FIT:
            from treadmill_ctl.history.export_fit import session_fit  # noqa: PLC0415

            return session_fit(log, weight_kg=weight_kg)
        case ExportFormat.TCX:
            from treadmill_ctl.history.export_tcx import session_tcx  # noqa: PLC0415

            return session_tcx(log, weight_kg=weight_kg)
        case ExportFormat.CSV:
            from treadmill_ctl.history.export_csv import session_csv  # noqa: PLC0415

            return session_csv(log).encode("utf-8")


def next_command(
    *,
    sessions_folder: Path | None = None,
    profile: Path | None = None,
    write: Path | None = None,
    limits: Limits | None = None,
) -> tuple[int, str]:
    """Propose the next session: ``treadmill-ctl next [--profile PATH] [--write PATH]``.

    Args:
        sessions_folder: The folder of records (see :func:`history_command`).
        profile: The profile to grow from, instead of the last session's own.
        write: Write the proposal there as a profile TOML.
        limits: The user's limits from the config (``None``: the defaults); the
            profile is loaded and written against them.

    Returns:
        Status 0 and the proposal; 1 when there is no session to build on; 2 when a
        profile cannot be loaded or the file cannot be written.
    """
    from treadmill_ctl.history.progression import (  # noqa: PLC0415
        format_proposal,
        propose_next,
        write_proposal,
    )
    from treadmill_ctl.profiles import InvalidProfileError, load_profile  # noqa: PLC0415

    rows, _ = _read_all(_folder(sessions_folder))
    logs = [log for _, _, log in rows if log is not None]
    given: Profile | None = None
    if profile is not None:
        try:
            given = load_profile(profile, limits=limits)
        except InvalidProfileError as error:
            return HistoryStatus.BAD_ARGUMENT, f"treadmill-ctl next: {error}"
    try:
        proposal = propose_next(logs, profile=given, limits=limits)
    except NoSessionYet as error:
        return HistoryStatus.NOTHING, f"treadmill-ctl next: {error}"
    except HistoryError as error:
        return HistoryStatus.BAD_ARGUMENT, f"treadmill-ctl next: {error}"
    if write is not None:
        try:
            write_proposal(proposal, write, base_limits=limits)
        except OSError as error:
            return HistoryStatus.BAD_ARGUMENT, (
                f"treadmill-ctl next: cannot write {write}: {error.strerror}"
            )
    return HistoryStatus.OK, format_proposal(proposal, written_to=write)


__all__ = [
    "ExportFormat",
    "HistoryStatus",
    "SessionNotFound",
    "export_command",
    "history_command",
    "next_command",
    "report_command",
]

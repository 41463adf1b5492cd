"""The ``treadmill-ctl`` command line.

Each subcommand imports what it needs when it runs, so ``treadmill-ctl --help`` and
``decode`` stay quick, and the simulator is imported only when ``--simulator`` asks
for it (ARCHITECTURE.md).
"""

from __future__ import annotations

# Only what start-up has already loaded: everything else is imported inside main(),
# where a Ctrl-C during the imports ends the program with one line, not a traceback.
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from treadmill_ctl import __version__, program_signals

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from treadmill_ctl.config import Settings

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_RUN_INTERRUPTED = 3
"""``run`` interrupted: stopped by the person (README: "Exit status of run")."""
EXIT_INTERRUPTED = 130
"""Any other command interrupted (128 + SIGINT, as shells report it)."""


def load_checked_settings(args: argparse.Namespace) -> Settings:
    """The settings file; every limit past its hard ceiling is reported on stderr."""
    from treadmill_ctl.config import load_settings_reporting_overrides  # noqa: PLC0415

    return load_settings_reporting_overrides(
        allow_override=bool(getattr(args, "override_limits", False)), warn=sys.stderr
    )


def _cmd_decode(args: argparse.Namespace) -> int:
    from treadmill_ctl.ftms.heart_rate import decode_any_hex_command  # noqa: PLC0415

    status, line = decode_any_hex_command(args.char, args.hex)
    return _print_result(status, line)


def _cmd_check(args: argparse.Namespace) -> int:
    from treadmill_ctl.profiles.check import check_command  # noqa: PLC0415

    settings = load_checked_settings(args)
    status, text = check_command(
        args.profiles,
        as_json=args.json,
        weight_kg=args.weight_kg if args.weight_kg is not None else settings.weight_kg,
        limits=settings.limits,
    )
    return _print_result(status, text)


def _cmd_config(args: argparse.Namespace) -> int:
    from treadmill_ctl.config import describe_settings  # noqa: PLC0415

    return _print_result(EXIT_OK, describe_settings(load_checked_settings(args)))


def _cmd_scan(args: argparse.Namespace) -> int:
    from treadmill_ctl.cli_scan import scan_command  # noqa: PLC0415

    return scan_command(args)


def _cmd_run(args: argparse.Namespace) -> int:
    from treadmill_ctl.cli_run import run_command  # noqa: PLC0415

    return run_command(args)


def _print_result(status: int, text: str) -> int:
    """Print a command's text; what came from a file never reaches the terminal raw."""
    from treadmill_ctl.text import escape_text  # noqa: PLC0415

    if text:
        print(
            escape_text(text, keep_newlines=True),
            file=sys.stdout if status == EXIT_OK else sys.stderr,
        )
    return status


def _cmd_history(args: argparse.Namespace) -> int:
    from treadmill_ctl.history.commands import history_command  # noqa: PLC0415

    return _print_result(*history_command(limit=args.limit))


def _cmd_report(args: argparse.Namespace) -> int:
    from treadmill_ctl.history.commands import report_command  # noqa: PLC0415

    settings = load_checked_settings(args)
    return _print_result(
        *report_command(
            args.session,
            chart_path=Path(args.chart) if args.chart else None,
            chart=not args.no_chart,
            weight_kg=settings.weight_kg,
        )
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from treadmill_ctl.history.commands import export_command  # noqa: PLC0415

    settings = load_checked_settings(args)
    return _print_result(
        *export_command(
            args.session,
            fmt=args.format,
            output=Path(args.output) if args.output else None,
            weight_kg=settings.weight_kg,
        )
    )


def _cmd_next(args: argparse.Namespace) -> int:
    from treadmill_ctl.history.commands import next_command  # noqa: PLC0415

    settings = load_checked_settings(args)
    return _print_result(
        *next_command(
            profile=Path(args.profile) if args.profile else None,
            write=Path(args.write) if args.write else None,
            limits=settings.limits,
        )
    )


type _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]  # noqa: SLF001 - argparse names no public type for it


def _add_run_parser(commands: _Subparsers) -> None:
    run = commands.add_parser(
        "run",
        help="run a profile on a treadmill, or dry-run it on the simulator",
        description="Run an interval profile through the safety governor.",
    )
    run.add_argument("profile", help="profile TOML file, e.g. profiles/backward-beginner.toml")
    target = run.add_mutually_exclusive_group()
    target.add_argument("--device", help="treadmill name or Bluetooth address (default: scan)")
    target.add_argument(
        "--simulator", action="store_true", help="dry-run against the built-in simulator"
    )
    run.add_argument(
        "--speedup",
        default="1",
        help="with --simulator: run N times faster than real time, or 'max' for virtual time",
    )
    run.add_argument(
        "--sim-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="with --simulator: inject a fault KIND@T[:ARG], e.g. disconnect@60:5 (repeatable)",
    )
    run.add_argument(
        "--sim-quirk",
        action="append",
        default=[],
        metavar="NAME",
        help="with --simulator: behave like a known deviating treadmill (repeatable)",
    )
    run.add_argument(
        "--sim-trace", metavar="FILE", help="with --simulator: write what the belt really did"
    )
    run.add_argument(
        "--sim-hr-strap",
        action="store_true",
        help="with --simulator: a simulated heart-rate strap (SIM-HRM) worn on the belt",
    )
    run.add_argument(
        "--hr-sensor",
        metavar="NAME|ADDRESS",
        help="heart-rate strap or watch to use (default: [heart_rate] sensor in the settings)",
    )
    run.add_argument(
        "--without-heart-rate",
        action="store_true",
        help="go on without a heart-rate source although a heart-rate ceiling is set",
    )
    run.add_argument(
        "--yes",
        action="store_true",
        help="start without waiting for a key (only allowed with --simulator)",
    )
    run.add_argument("--record", metavar="FILE", help="session record path (JSON lines)")
    run.add_argument("--quiet", action="store_true", help="no spoken cues")
    run.add_argument("--plain", action="store_true", help="plain log lines, no dashboard")
    run.add_argument(
        "--mqtt",
        metavar="URL",
        help="publish telemetry and take stop commands: mqtt[s]://[user[:pw]@]host[:port]",
    )
    run.add_argument("--mqtt-ca-file", metavar="FILE", help="CA certificate for mqtts://")
    run.set_defaults(handler=_cmd_run)


def _add_history_parsers(commands: _Subparsers) -> None:
    history = commands.add_parser(
        "history",
        help="list past sessions",
        description="List recorded sessions: date, profile, time backward and forward, "
        "distance, and how each ended.",
    )
    history.add_argument("--limit", type=int, help="show only the newest N sessions")
    history.set_defaults(handler=_cmd_history)

    session_help = (
        "a record path, a number from 'history' (-1 or 'last' for the newest), "
        "or the start of a record name such as 20261126-0930"
    )
    report = commands.add_parser(
        "report",
        help="summarise one session and chart it",
        description="Print a session's summary and write a PNG chart of it.",
    )
    report.add_argument("session", metavar="SESSION", help=session_help)
    report.add_argument("--chart", metavar="PNG", help="chart path (default ./<record>.png)")
    report.add_argument("--no-chart", action="store_true", help="print the summary only")
    report.set_defaults(handler=_cmd_report)

    export = commands.add_parser(
        "export",
        help="export one session as FIT, TCX or CSV",
        description="Export a session for Garmin Connect, Strava or a spreadsheet.",
    )
    export.add_argument("session", metavar="SESSION", help=session_help)
    export.add_argument("--format", required=True, choices=["fit", "tcx", "csv"])
    export.add_argument("-o", "--output", metavar="FILE", help="default ./<record>.<format>")
    export.set_defaults(handler=_cmd_export)

    next_ = commands.add_parser(
        "next",
        help="propose the next session from your history",
        description="Propose the next session: a little more after a clean session, "
        "the same or easier after a stop. Always within your limits.",
    )
    next_.add_argument("--profile", metavar="PATH", help="grow this profile instead")
    next_.add_argument("--write", metavar="PATH", help="write the proposal as a profile")
    next_.set_defaults(handler=_cmd_next)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (also used to document the commands)."""
    import argparse  # noqa: PLC0415 - see the imports at the top

    parser = argparse.ArgumentParser(
        prog="treadmill-ctl",
        description=(
            "Backward-walking workouts on an FTMS treadmill over Bluetooth LE, "
            "behind a safety governor. The treadmill's safety key and console stop "
            "remain the real safety: clip the key on before every session."
        ),
    )
    parser.add_argument("--version", action="version", version=f"treadmill-ctl {__version__}")
    parser.add_argument(
        "--override-limits",
        action="store_true",
        help="accept limits in the settings file past their hard ceilings (SAFETY.md); "
        "each one is reported loudly and recorded",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_run_parser(commands)

    check = commands.add_parser(
        "check",
        help="validate profiles and print their plan",
        description="Validate profiles and print segments, times, distance and energy estimate.",
    )
    check.add_argument("profiles", nargs="+", metavar="PROFILE")
    check.add_argument("--json", action="store_true", help="print the plan as one JSON object")
    check.add_argument("--weight-kg", type=float, help="body weight for the energy estimate")
    check.set_defaults(handler=_cmd_check)

    scan = commands.add_parser(
        "scan",
        help="list FTMS treadmills and heart-rate sensors in range",
        description="Scan for FTMS fitness machines and heart-rate sensors (straps, "
        "watches) and show what each is.",
    )
    scan.add_argument("--timeout", type=float, default=5.0, help="scan time in seconds")
    scan.add_argument("--simulator", action="store_true", help="scan the simulator's radio")
    scan.set_defaults(handler=_cmd_scan)

    decode = commands.add_parser(
        "decode",
        help="decode one FTMS or heart-rate characteristic value given in hex",
        description="Print one JSON object for one FTMS or Heart Rate characteristic value.",
    )
    decode.add_argument(
        "char",
        metavar="CHAR",
        help="treadmill-data, machine-status, training-status, control-point, features, "
        "speed-range, incline-range, heart-rate, body-sensor-location, "
        "or a 16-bit UUID such as 2ACD or 2A37",
    )
    decode.add_argument("hex", metavar="HEX", help="the value, e.g. '00 00 64 00'")
    decode.set_defaults(handler=_cmd_decode)

    _add_history_parsers(commands)

    config = commands.add_parser(
        "config",
        help="show the config file path and the limits in force",
        description="Show where the settings file is and which limits are in force.",
    )
    config.set_defaults(handler=_cmd_config)
    return parser


def main(argv: Sequence[str] | None = None, *, restore_signals: bool = True) -> int:
    """Run the command line; return the exit status.

    Ctrl-C or SIGTERM before a command has its own handling (the first moments,
    while modules load) ends it with one line, never a traceback: nothing is open
    yet (a session's terminal, record and link live inside the run, which puts its
    own handlers in place on its event loop before it connects), so the program
    leaves at once with the status. After a session's loop has ended, a signal no
    longer cuts the summary short (:mod:`treadmill_ctl.program_signals`).

    ``restore_signals``: put back the handlers from before when returning, for a
    caller in the same process; the program itself (:func:`program`) keeps its own
    until it exits, so a signal while it leaves cannot lose what it printed.
    """
    run = "run" in (sys.argv[1:] if argv is None else argv)
    handling = program_signals.start(
        before_line=_BEFORE_RUN_LINE if run else "interrupted",
        before_status=EXIT_RUN_INTERRUPTED if run else EXIT_INTERRUPTED,
        finishing_status=EXIT_RUN_INTERRUPTED if run else EXIT_INTERRUPTED,
    )
    try:
        from treadmill_ctl.errors import TreadmillCtlError  # noqa: PLC0415

        args = build_parser().parse_args(argv)
        if args.command != "run":
            handling.before_line, handling.before_status = "interrupted", EXIT_INTERRUPTED
        try:
            status: int = args.handler(args)
        except TreadmillCtlError as error:
            return _print_result(EXIT_USAGE, f"error: {error}")
    finally:
        if restore_signals:
            program_signals.stop(handling)
    return status


def program() -> int:
    """The ``treadmill-ctl`` program (the console script and ``python -m``)."""
    return main(restore_signals=False)


_BEFORE_RUN_LINE = "interrupted before the session began: the belt was not started"


if __name__ == "__main__":
    sys.exit(program())

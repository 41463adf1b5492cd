"""``treadmill-ctl run``: one session on a treadmill, or a dry run on the simulator.

This is the one place that wires the layers together: settings, profile and plan,
the link (to a real treadmill, or to the simulator, imported only here and only
when ``--simulator`` asks for it), the session runner, the session record, and
what the person sees and hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, TextIO

import structlog

from treadmill_ctl import program_signals
from treadmill_ctl.config import (
    DATA_ENV,
    Settings,
    load_settings_reporting_overrides,
    sessions_dir,
)
from treadmill_ctl.errors import ConfigError, LinkError, ProfileError
from treadmill_ctl.ftms.discovery import find_treadmill
from treadmill_ctl.ftms.heart_rate_link import HeartRateLink
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.ftms.quirks import ClientQuirks, SpeedUnit
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.session.clock import LoopClock, run_accelerated
from treadmill_ctl.session.events import RecordEvent, RequestSource, SessionEnd
from treadmill_ctl.session.recorder import (
    RECORD_FORMAT_VERSION,
    SessionRecord,
    configure_logging,
)
from treadmill_ctl.session.runner import SessionRunner, SessionSummary
from treadmill_ctl.session.speech import SpokenKeys
from treadmill_ctl.text import escape_text
from treadmill_ctl.ui.dashboard import DeviceSettings
from treadmill_ctl.ui.keys import Bindings, HotkeyAction, key_label
from treadmill_ctl.ui.terminal import is_interactive, open_session_ui

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator, Callable, Iterator

    from bleak.backends.client import BaseBleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import BaseBleakScanner

    from treadmill_ctl.profiles import Plan, Profile
    from treadmill_ctl.session.events import (
        Cue,
        SessionEvent,
        SessionObserver,
        SessionSnapshot,
    )
    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

_log = structlog.get_logger("treadmill_ctl.run")

_SPEEDUP_MAX: Final = "max"


class SimulatedPerson(Protocol):
    """The simulator's person, as the dry run steers it (``simulator.person``)."""

    backward: bool


def parse_speedup(text: str) -> float | None:
    """``"max"`` for virtual time (None), else a factor of at least 1.

    Raises:
        ConfigError: not a number, or below 1.
    """
    if text.strip().lower() == _SPEEDUP_MAX:
        return None
    try:
        factor = float(text)
    except ValueError:
        raise ConfigError(f"--speedup {text!r}: give a number such as 20, or 'max'") from None
    if not factor >= 1:
        raise ConfigError(f"--speedup {text!r}: must be at least 1")
    return factor


def default_record_path(profile: Profile, started: datetime) -> Path:
    """Where a session's record goes when ``--record`` is not given."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(profile.source).stem.lower()).strip("-") or "session"
    return sessions_dir() / f"{started:%Y%m%d-%H%M%S}-{slug}.jsonl"


def run_command(args: argparse.Namespace) -> int:
    """Run the ``run`` command; return the exit status (README: "Exit status of run").

    Whatever goes wrong, the person reads one line saying what, and what became of
    the belt; the record keeps the whole of it (type, message and traceback).
    """
    try:
        session, speedup = _prepare(args)
    except (ConfigError, ProfileError) as error:
        _say(f"error: {error}")
        return SessionEnd.BAD_PROFILE.exit_status
    try:
        if args.simulator:
            summary = run_accelerated(session.run(), speedup=speedup)
        else:
            summary = asyncio.run(session.run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        _say(f"interrupted: {session.belt_outcome()}")
        return SessionEnd.STOPPED_BY_PERSON.exit_status
    except BaseException as error:
        leaf = first_leaf(error)
        if not isinstance(leaf, Exception):
            raise
        if isinstance(leaf, LinkError) and not session.connected_once:
            _say(f"error: {escape_text(str(leaf))}")
            return SessionEnd.CONNECT_FAILED.exit_status
        _say(
            f"error: the session failed: {type(leaf).__name__}: {escape_text(str(leaf))}; "
            f"{session.belt_outcome()}; the record is {session.record_path}"
        )
        return SessionEnd.ERROR.exit_status
    if session.record_failure is not None:
        _say(
            f"error: the session record could not be written ({session.record_failure}): "
            f"the session was ended and {session.belt_outcome()}; "
            f"the record {session.record_path} stops where the writing failed"
        )
    _say(_describe(summary, session.record_path), stream=sys.stdout)
    return summary.end.exit_status


def first_leaf(error: BaseException) -> BaseException:
    """The first error inside (nested) exception groups: the one worth one line."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _say(line: str, *, stream: TextIO | None = None) -> None:
    with contextlib.suppress(OSError, ValueError):  # the terminal may be gone (a hang-up)
        print(line, file=stream or sys.stderr)


def _prepare(args: argparse.Namespace) -> tuple[_Session, float | None]:
    """Check the arguments, settings and profile; nothing has moved yet.

    Raises:
        ConfigError: bad arguments or settings.
        ProfileError: the profile cannot be run.
    """
    if args.yes and not args.simulator:
        raise ConfigError(
            "--yes starts the belt without a key press: it is only allowed with --simulator"
        )
    if args.speedup != "1" and not args.simulator:
        raise ConfigError("--speedup only applies to --simulator dry runs")
    if args.sim_hr_strap and not args.simulator:
        raise ConfigError("--sim-hr-strap only applies to --simulator dry runs (use --hr-sensor)")
    if args.simulator and args.hr_sensor:
        raise ConfigError(
            "--hr-sensor needs a real strap; the simulator has its own: use --sim-hr-strap"
        )
    speedup = parse_speedup(args.speedup)
    settings = load_settings_reporting_overrides(
        allow_override=bool(args.override_limits), warn=sys.stderr
    )
    profile = load_profile(args.profile, limits=settings.limits)
    plan = build_plan(profile, weight_kg=settings.weight_kg)
    if args.simulator:
        _check_simulator_options(args)
    if args.mqtt:  # checked now, by the parser the bridge uses, not after connecting
        from treadmill_ctl.telemetry.mqtt_settings import MqttSettings  # noqa: PLC0415

        MqttSettings.from_url(args.mqtt, treadmill_id="settings-check", ca_file=args.mqtt_ca_file)
    started = datetime.now().astimezone()
    record_path = Path(args.record) if args.record else default_record_path(profile, started)
    _check_record_path(record_path, given=bool(args.record))
    session = _Session(
        args,
        settings=settings,
        profile=profile,
        plan=plan,
        record_path=record_path,
        speedup=speedup,
    )
    return session, speedup


def _check_record_path(path: Path, *, given: bool) -> None:
    """Refuse a record that cannot be written, before anything connects or moves."""
    try:
        SessionRecord.check_writable(path)
    except OSError as error:
        where = "--record" if given else f"the data folder (set {DATA_ENV} to move it):"
        raise ConfigError(
            f"{where} {path}: cannot write the session record there "
            f"({error.strerror or error}); nothing was started"
        ) from None


def _check_simulator_options(args: argparse.Namespace) -> None:
    """Refuse bad ``--sim-fault`` / ``--sim-quirk`` values before anything starts."""
    from simulator.errors import SimulatorError  # noqa: PLC0415 - only with --simulator
    from simulator.faults import FaultSchedule  # noqa: PLC0415
    from simulator.heart_rate_strap import is_strap_fault, parse_strap_fault  # noqa: PLC0415
    from simulator.quirks import parse_quirks  # noqa: PLC0415

    try:
        FaultSchedule.parse(f for f in args.sim_fault if not is_strap_fault(f))
        strap_faults = [parse_strap_fault(f) for f in args.sim_fault if is_strap_fault(f)]
        parse_quirks(args.sim_quirk)
    except SimulatorError as error:
        raise ConfigError(str(error)) from None
    if strap_faults and not args.sim_hr_strap:
        raise ConfigError(f"fault {strap_faults[0]}: strap faults need --sim-hr-strap")


def _describe(summary: SessionSummary, record_path: Path) -> str:
    minutes, seconds = divmod(round(summary.duration_s), 60)
    return (
        f"session {summary.end.value.replace('_', ' ')}: {minutes}m{seconds:02d}s, "
        f"backward {summary.backward_s:.0f} s, forward {summary.forward_s:.0f} s, "
        f"{summary.distance_m:.0f} m, segments {summary.segments_completed}/"
        f"{summary.segment_count}"
        + (f", safety stops: {_in_words(summary.latches)}" if summary.latches else "")
        + f"\nrecord: {record_path}"
    )


def log_session_started(
    plan: Plan, *, profile_path: str, device: BLEDevice, simulator: bool
) -> None:
    """Write the record's first line, ``session.started`` (:class:`RecordEvent`)."""
    _log.info(
        RecordEvent.STARTED,
        record_format=RECORD_FORMAT_VERSION,
        profile_name=plan.name,
        profile_path=profile_path,
        device_name=device.name,
        device_address=device.address,
        simulator=simulator,
        started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        weight_kg=plan.weight_kg,
        plan={
            "total_s": plan.total_s,
            "backward_s": plan.backward_s,
            "forward_s": plan.forward_s,
            "distance_m": round(plan.distance_m, 1),
            "segment_count": len(plan.segments),
        },
    )


class _Session:
    """One run: the record, the treadmill (real or simulated), the runner, the UI."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        settings: Settings,
        profile: Profile,
        plan: Plan,
        record_path: Path,
        speedup: float | None,
    ) -> None:
        self._args = args
        self._speedup = speedup
        self._settings = settings
        self._profile = profile
        self._plan = plan
        self._record_path = record_path
        self.record_path = record_path
        self._profile_path = str(Path(profile.source).resolve())
        self._session_id = uuid.uuid4().hex[:12]
        self._runner: SessionRunner | None = None
        self._record: SessionRecord | None = None

    @property
    def connected_once(self) -> bool:
        """Whether the treadmill was ever connected in this run."""
        return self._runner is not None and self._runner.connected_once

    @property
    def record_failure(self) -> str | None:
        """Why the record could not be written, if it could not."""
        if self._runner is not None and self._runner.record_failure is not None:
            return self._runner.record_failure
        failure = self._record.failure if self._record is not None else None
        if failure is None:
            return None
        return (failure.strerror if isinstance(failure, OSError) else None) or str(failure)

    def belt_outcome(self) -> str:
        """What became of the belt, truly: never moved, commanded to stop, or not sure."""
        if not self.connected_once:
            return "the treadmill was never connected, so the belt was not started"
        if self._runner is not None and self._runner.stop_unconfirmed:
            return "the stop could NOT be written: stop the belt at the treadmill's console"
        return "the treadmill was commanded to stop"

    async def run(self) -> SessionSummary:
        # From the first moment on the loop, a signal ends the run cleanly: before the
        # runner exists by cancelling it (nothing has moved), after by stopping the belt.
        main = asyncio.current_task()
        with _signals_call(lambda source: self._interrupt(source, main)):
            return await self._run()

    def _interrupt(self, source: RequestSource, main: asyncio.Task[object] | None) -> None:
        if self._runner is not None:
            self._runner.interrupt(source)
        elif main is not None:
            main.cancel()

    async def _run(self) -> SessionSummary:
        clock = LoopClock()
        with SessionRecord(self._record_path, clock=clock) as record:
            self._record = record
            self.record_path = record.path
            configure_logging(record=record, console=None)
            structlog.contextvars.bind_contextvars(session_id=self._session_id)
            for override in self._settings.overrides:
                _log.warning(
                    "limits.override",
                    key=override.key,
                    value=override.value,
                    hard_limit=override.hard_limit,
                    source=override.source,
                )
            try:
                return await self._run_recorded(clock, record)
            except Exception as error:
                if not self.connected_once:  # else the runner has recorded it, stop first
                    _log.error("run.failed", exc_info=error)
                raise
            finally:
                structlog.contextvars.unbind_contextvars("session_id")

    async def _run_recorded(self, clock: LoopClock, record: SessionRecord) -> SessionSummary:
        args = self._args
        async with self._treadmill() as (device, backend, strap):
            log_session_started(
                self._plan,
                profile_path=self._profile_path,
                device=device,
                simulator=bool(args.simulator),
            )
            link = FtmsLink(
                device,
                clock=clock,
                client_backend=backend,
                quirks=self._client_quirks(device),
            )
            interactive = is_interactive(sys.stdin, sys.stdout) and not args.plain
            bindings = Bindings.from_config(self._settings.hotkeys)
            runner = SessionRunner(
                plan=self._plan,
                limits=self._profile.limits,
                link=link,
                clock=clock,
                stand_in_person=bool(args.yes),
                interactive=interactive,
                keys=_spoken_keys(bindings) if interactive else None,
                # at real time the stand-in lets what is said be heard, as a person would
                stand_in_listens=self._speedup == 1,
                heart_rate_link=self._heart_rate_link(strap, backend, clock),
                without_heart_rate=bool(args.without_heart_rate),
            )
            if strap is not None and strap.follower is not None:
                runner.add_observer(strap.follower)
            self._runner = runner
            # A record that can no longer be written ends the session, belt stopped.
            record.on_failure = runner.record_failed
            if record.failure is not None:
                runner.record_failed(record.failure)
            async with contextlib.AsyncExitStack() as stack:
                mqtt = self._mqtt_settings(device)
                bridge = None
                if mqtt is not None:
                    from treadmill_ctl.telemetry.bridge import MqttBridge  # noqa: PLC0415

                    bridge = await stack.enter_async_context(
                        MqttBridge(
                            mqtt,
                            runner,
                            device_name=device.name,
                            remove_discovery_at_end=bool(args.simulator),
                        )
                    )
                    runner.add_observer(bridge)
                ui = await stack.enter_async_context(
                    open_session_ui(
                        runner,
                        bindings=bindings,
                        quiet=bool(args.quiet),
                        speech=self._speedup == 1,
                        plain=bool(args.plain),
                        device_settings=DeviceSettings(self._settings.path, device.address),
                    )
                )
                runner.add_observer(ui)
                if bridge is not None:
                    bridge.add_status_observer(ui)  # the dashboard's MQTT line
                return await runner.run()
        raise AssertionError  # pragma: no cover - the block above always returns

    def _mqtt_settings(self, device: BLEDevice) -> MqttSettings | None:
        """MQTT from ``--mqtt URL`` or the settings file's ``[mqtt]`` table, if any."""
        from treadmill_ctl.telemetry.mqtt_settings import (  # noqa: PLC0415
            MqttSettings,
            topic_safe_id,
        )

        treadmill_id = topic_safe_id(device.address)
        if self._args.mqtt:
            settings = MqttSettings.from_command_line(
                self._args.mqtt, treadmill_id=treadmill_id, ca_file=self._args.mqtt_ca_file
            )
        elif self._settings.mqtt:
            settings = MqttSettings.from_mapping(
                self._settings.mqtt, treadmill_id=treadmill_id, settings_path=self._settings.path
            )
        else:
            return None
        for warning in settings.warnings:
            _log.warning("mqtt.settings_warning", warning=warning)
            print(f"WARNING: {warning}", file=sys.stderr)  # noqa: T201
        return settings

    def _client_quirks(self, device: BLEDevice) -> ClientQuirks:
        # checked when the settings were read (config.load_settings)
        table = self._settings.device_settings(device.address, device.name or "")
        unit = table.get("speed_unit", "kmh")
        return ClientQuirks(speed_unit=SpeedUnit.MPH if unit == "mph" else SpeedUnit.KMH)

    def _heart_rate_link(
        self,
        strap: _Strap | None,
        backend: type[BaseBleakClient] | None,
        clock: LoopClock,
    ) -> HeartRateLink | None:
        """The strap's link: the simulator's, ``--hr-sensor``, or ``[heart_rate] sensor``."""
        if strap is not None:
            return HeartRateLink(
                strap.device,
                clock=clock,
                client_backend=backend,
                scanner_backend=strap.scanner_backend,
            )
        sensor = self._args.hr_sensor or self._settings.heart_rate_sensor
        if sensor is None or self._args.simulator:
            return None
        return HeartRateLink(sensor, clock=clock)

    @contextlib.asynccontextmanager
    async def _treadmill(
        self,
    ) -> AsyncIterator[tuple[BLEDevice, type[BaseBleakClient] | None, _Strap | None]]:
        args = self._args
        if args.simulator:
            from simulator import open_virtual_treadmill  # noqa: PLC0415 - only when asked

            trace = Path(args.sim_trace) if args.sim_trace else None
            async with open_virtual_treadmill(
                faults=args.sim_fault,
                quirks=args.sim_quirk,
                trace=trace,
                hr_strap=bool(args.sim_hr_strap),
            ) as sim:
                strap = None
                if sim.hr_strap is not None:
                    strap = _Strap(
                        sim.hr_strap.ble_device,
                        sim.scanner_backend,
                        _PersonFollowsCues(sim.hr_strap.person),
                    )
                yield sim.ble_device, sim.client_backend, strap
            return
        machine = await find_treadmill(args.device)
        yield machine.device, None, None


@dataclass(frozen=True, slots=True)
class _Strap:
    """The simulator's strap: its device, the radio's scanner, the person wearing it."""

    device: BLEDevice
    scanner_backend: type[BaseBleakScanner] | None
    follower: SessionObserver | None


class _PersonFollowsCues:
    """The simulated person walks the way the session says (a dry run's stand-in)."""

    def __init__(self, person: SimulatedPerson) -> None:
        self._person = person

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Face the way the governor's direction says."""
        self._person.backward = snapshot.direction == "backward"

    def on_event(self, event: SessionEvent) -> None:
        """Nothing to do."""

    def on_cue(self, cue: Cue) -> None:
        """Nothing to do."""


def _spoken_keys(bindings: Bindings) -> SpokenKeys:
    """The first start and pause/resume keys, as named in what the person hears."""
    start = bindings.keys_for(HotkeyAction.START)
    resume = bindings.keys_for(HotkeyAction.PAUSE_TOGGLE)
    return SpokenKeys(
        start=key_label(start[0]) if start else None,
        resume=key_label(resume[0]) if resume else None,
    )


_SIGNAL_SOURCES: Final = {
    signal.SIGINT: RequestSource.SIGINT,
    signal.SIGTERM: RequestSource.SIGTERM,
    signal.SIGHUP: RequestSource.SIGHUP,
}


@contextlib.contextmanager
def _signals_call(handler: Callable[[RequestSource], None]) -> Iterator[None]:
    """Ctrl-C, SIGTERM and a hang-up (terminal closed, ssh gone) call ``handler``.

    It gets the signal as a source (``RequestSource.SIGINT``); the runner's
    ``interrupt`` stops the belt, then ends the session. When the loop lets go of
    them, the program is finishing (:func:`program_signals.session_loop_ended`).
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum, source in _SIGNAL_SOURCES.items():
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, handler, source)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        program_signals.session_loop_ended()


def _in_words(latches: tuple[str, ...]) -> str:
    """Latch reasons as words for a person ("stale data", not "stale_data")."""
    return ", ".join(reason.replace("_", " ") for reason in latches)

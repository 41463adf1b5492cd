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
from typing import TYPE_CHECKING, Final, Protocol

import structlog

from treadmill_ctl.config import Settings, load_settings_reporting_overrides, sessions_dir
from treadmill_ctl.errors import ConfigError, LinkError, ProfileError
from treadmill_ctl.ftms.discovery import find_treadmill
from treadmill_ctl.ftms.heart_rate_link import HeartRateLink
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.ftms.quirks import ClientQuirks, SpeedUnit
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.session.clock import LoopClock, run_accelerated
from treadmill_ctl.session.events import SessionEnd
from treadmill_ctl.session.recorder import SessionRecord, configure_logging
from treadmill_ctl.session.runner import SessionRunner, SessionSummary
from treadmill_ctl.ui.keys import Bindings
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
    """Run the ``run`` command; return the exit status (README: "Exit status of run")."""
    try:
        session, speedup = _prepare(args)
    except (ConfigError, ProfileError) as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return SessionEnd.BAD_PROFILE.exit_status
    try:
        if args.simulator:
            summary = run_accelerated(session.run(), speedup=speedup)
        else:
            summary = asyncio.run(session.run())
    except KeyboardInterrupt:
        return SessionEnd.STOPPED_BY_PERSON.exit_status
    except LinkError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return SessionEnd.CONNECT_FAILED.exit_status
    except Exception as error:  # noqa: BLE001 - the belt was stopped on the way out
        print(  # noqa: T201
            f"error: the session failed: {type(error).__name__}: {error}. The treadmill was "
            f"commanded to stop; the record is {session.record_path}",
            file=sys.stderr,
        )
        return SessionEnd.ERROR.exit_status
    with contextlib.suppress(OSError):  # the terminal may be gone (a hang-up)
        print(_describe(summary, session.record_path))  # noqa: T201
    return summary.end.exit_status


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
    started = datetime.now().astimezone()
    record_path = Path(args.record) if args.record else default_record_path(profile, started)
    session = _Session(
        args,
        settings=settings,
        profile=profile,
        plan=plan,
        record_path=record_path,
        speedup=speedup,
    )
    return session, speedup


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
        + (f", safety stops: {', '.join(summary.latches)}" if summary.latches else "")
        + f"\nrecord: {record_path}"
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

    async def run(self) -> SessionSummary:
        clock = LoopClock()
        with SessionRecord(self._record_path, clock=clock) as record:
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
                return await self._run_recorded(clock)
            finally:
                structlog.contextvars.unbind_contextvars("session_id")

    async def _run_recorded(self, clock: LoopClock) -> SessionSummary:
        args = self._args
        async with self._treadmill() as (device, backend, strap):
            _log.info(
                "session.started",
                record_format=1,
                profile_name=self._plan.name,
                profile_path=self._profile_path,
                device_name=device.name,
                device_address=device.address,
                simulator=bool(args.simulator),
                started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                weight_kg=self._plan.weight_kg,
                plan={
                    "total_s": self._plan.total_s,
                    "backward_s": self._plan.backward_s,
                    "forward_s": self._plan.forward_s,
                    "distance_m": round(self._plan.distance_m, 1),
                    "segment_count": len(self._plan.segments),
                },
            )
            runner: SessionRunner | None = None

            def on_event(event: object) -> None:
                if runner is not None:
                    runner.on_link_event(event)  # type: ignore[arg-type]

            link = FtmsLink(
                device,
                on_event=on_event,
                clock=clock,
                client_backend=backend,
                quirks=self._client_quirks(device),
            )
            interactive = is_interactive(sys.stdin, sys.stdout) and not args.plain
            runner = SessionRunner(
                plan=self._plan,
                limits=self._profile.limits,
                link=link,
                clock=clock,
                stand_in_person=bool(args.yes),
                interactive=interactive,
                heart_rate_link=self._heart_rate_link(strap, backend, clock, lambda: runner),
                without_heart_rate=bool(args.without_heart_rate),
            )
            if strap is not None and strap.follower is not None:
                runner.add_observer(strap.follower)
            async with contextlib.AsyncExitStack() as stack:
                mqtt = self._mqtt_settings(device)
                if mqtt is not None:
                    from treadmill_ctl.telemetry.bridge import MqttBridge  # noqa: PLC0415

                    bridge = await stack.enter_async_context(
                        MqttBridge(mqtt, runner, device_name=device.name)
                    )
                    runner.add_observer(bridge)
                ui = await stack.enter_async_context(
                    open_session_ui(
                        runner,
                        bindings=Bindings.from_config(self._settings.hotkeys),
                        quiet=bool(args.quiet),
                        speech=self._speedup == 1,
                        plain=bool(args.plain),
                    )
                )
                runner.add_observer(ui)
                with _signals_stop(runner):
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
            return MqttSettings.from_url(
                self._args.mqtt, treadmill_id=treadmill_id, ca_file=self._args.mqtt_ca_file
            )
        if self._settings.mqtt:
            return MqttSettings.from_mapping(self._settings.mqtt, treadmill_id=treadmill_id)
        return None

    def _client_quirks(self, device: BLEDevice) -> ClientQuirks:
        table = self._settings.device_settings(device.address, device.name or "")
        unit = str(table.get("speed_unit", "kmh")).lower()
        if unit not in {"kmh", "mph"}:
            raise ConfigError(f"speed_unit for {device.address} must be 'kmh' or 'mph'")
        return ClientQuirks(speed_unit=SpeedUnit.MPH if unit == "mph" else SpeedUnit.KMH)

    def _heart_rate_link(
        self,
        strap: _Strap | None,
        backend: type[BaseBleakClient] | None,
        clock: LoopClock,
        runner: Callable[[], SessionRunner | None],
    ) -> HeartRateLink | None:
        """The strap's link: the simulator's, ``--hr-sensor``, or ``[heart_rate] sensor``."""

        def on_event(event: object) -> None:
            session = runner()
            if session is not None:
                session.heart_rate_event(event)  # type: ignore[arg-type]

        if strap is not None:
            return HeartRateLink(
                strap.device,
                on_event=on_event,
                clock=clock,
                client_backend=backend,
                scanner_backend=strap.scanner_backend,
            )
        sensor = self._args.hr_sensor or self._settings.heart_rate_sensor
        if sensor is None or self._args.simulator:
            return None
        return HeartRateLink(sensor, on_event=on_event, clock=clock)

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


@contextlib.contextmanager
def _signals_stop(runner: SessionRunner) -> Iterator[None]:
    """Ctrl-C, SIGTERM and a hang-up (terminal closed, ssh gone) stop the belt, then end."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, runner.interrupt, signum.name.lower())
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)

"""How long a gym's "stop all" takes, from one MQTT publish to every belt stopped.

N simulated treadmills run in this process, each the way ``treadmill-ctl run
--simulator --mqtt URL`` wires one (``cli_run.py``): its own simulator on its own
virtual radio, an ``FtmsLink``, a ``SessionRunner`` (the governor inside) and an
``MqttBridge`` observing the runner, all on one real broker (mosquitto when on the
PATH, else amqtt; or ``--mqtt URL``). Every treadmill walks an easy forward profile
with its belt moving (the runner stands in for the person's start, as in a dry run).

Each round publishes ``{"command": "stop"}`` once on ``<prefix>/all/cmd`` and times,
on the wall clock (``time.perf_counter``, normal asyncio loop, speedup 1), from that
publish to, for every treadmill:

* the bridge handing the stop to the runner (``emergency_stop``);
* the Stop write (``08 01``) arriving at its simulator's GATT server;
* its simulated belt really standing still (the simulator's own 0.1 s samples);
* its Treadmill Data reporting 0 km/h to the controller (sent at 1 Hz).

Then every treadmill is re-armed and started again (standing in for the person) for
the next round. Prints p50/p99/max over the rounds of the slowest treadmill (the
whole gym stopped) and of every single treadmill.

Run: ``.venv/bin/python bench/bench_mqtt_stop_all.py [--treadmills 4] [--rounds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol, override

import aiomqtt
import structlog

from simulator import open_virtual_treadmill
from simulator.trace import TraceWriter
from treadmill_ctl.ftms import commands
from treadmill_ctl.ftms.link import FtmsLink
from treadmill_ctl.ftms.link_events import DataReceived, LinkEvent
from treadmill_ctl.profiles import build_plan, load_profile
from treadmill_ctl.safety import Limits
from treadmill_ctl.session.clock import LoopClock
from treadmill_ctl.session.events import ControlOutcome, RequestSource, SessionPhase
from treadmill_ctl.session.record_events import STOPPED_KMH
from treadmill_ctl.session.runner import SessionRunner, SessionSummary
from treadmill_ctl.telemetry.bridge import MqttBridge
from treadmill_ctl.telemetry.mqtt_settings import MqttSettings
from treadmill_ctl.telemetry.topics import Topics

# The broker helper lives with the tests (imported by name: mypy may not see tests/).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
_mqtt_broker = importlib.import_module("mqtt_broker")

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from simulator.encoding import ResultCode as SimResultCode
    from simulator.trace import ObservableTreadmill, TraceValue
    from treadmill_ctl.profiles import Plan

STOP: Final = bytes([commands.ControlOpCode.STOP_OR_PAUSE, 0x01])
PROFILE_KMH: Final = 2.0
MOVING_KMH: Final = PROFILE_KMH - 0.1
"""A belt at or above this (ground truth) walks at the profile's pace: a round may begin."""
MOVING_TIMEOUT_S: Final = 20.0
STOP_TIMEOUT_S: Final = 5.0
STILL_TIMEOUT_S: Final = 10.0
END_TIMEOUT_S: Final = 15.0
RETRY_START_S: Final = 0.1
_NOT_STARTED: Final = frozenset({SessionPhase.LATCHED, SessionPhase.WAITING_FOR_START})
PROFILE_TOML: Final = f"""
name = "Bench: stop all"
description = "One long forward segment at an easy pace, for the stop-all benchmark."

[[step]]
direction = "forward"
speed_kmh = {PROFILE_KMH}
duration = "30m"
"""


class Broker(Protocol):
    """What the bench uses of ``tests/mqtt_broker.py``'s ``BrokerProcess``."""

    @property
    def kind(self) -> str:
        """``mosquitto`` or ``amqtt``."""
        ...

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``."""
        ...

    def start(self) -> None:
        """Start the broker and wait until it listens."""
        ...

    def stop(self) -> None:
        """End the broker."""
        ...


class BeltWitness(TraceWriter):
    """A simulator trace that keeps nothing but the wall times the bench needs.

    The GATT server calls :meth:`control_point_write` in its write handler, as the
    write reaches it; the physics loop calls :meth:`sample` every 0.1 s.
    """

    def __init__(self) -> None:
        super().__init__(None)
        self.stop_arrived = asyncio.Event()
        self.stop_arrived_s = 0.0
        self.still = asyncio.Event()
        self.still_s = 0.0
        self.moving = asyncio.Event()
        self.speed_kmh = 0.0

    @override
    def event(self, t: float, kind: str, **fields: TraceValue) -> None:
        """Keep nothing."""

    @override
    def control_point_write(self, t: float, data: bytes, result: SimResultCode | None) -> None:
        """Note the wall time of a Stop."""
        if bytes(data) == STOP and not self.stop_arrived.is_set():
            self.stop_arrived_s = time.perf_counter()
            self.stop_arrived.set()

    @override
    def sample(self, t: float, model: ObservableTreadmill, *, link_up: bool) -> None:
        """Note when the belt walks, and when (after a Stop) it stands still."""
        speed_kmh = self.speed_kmh = model.belt_speed_kmh
        if speed_kmh >= MOVING_KMH:
            self.moving.set()
        elif speed_kmh <= 0.0 and self.stop_arrived.is_set() and not self.still.is_set():
            self.still_s = time.perf_counter()
            self.still.set()

    def reset(self) -> None:
        """Forget the last round."""
        for flag in (self.stop_arrived, self.still, self.moving):
            flag.clear()


class TimedRunner(SessionRunner):
    """The session runner, noting when the bridge handed it an emergency stop."""

    stop_requested_s = 0.0
    stop_requested: asyncio.Event | None = None

    @override
    def emergency_stop(self, source: RequestSource) -> ControlOutcome:
        if self.stop_requested is not None and not self.stop_requested.is_set():
            self.stop_requested_s = time.perf_counter()
            self.stop_requested.set()
        return super().emergency_stop(source)


@dataclass(slots=True)
class Lane:
    """One treadmill of the gym: simulator witness, runner, and what the link reported."""

    name: str
    witness: BeltWitness
    runner: TimedRunner
    reported_zero: asyncio.Event = field(default_factory=asyncio.Event)
    reported_zero_s: float = 0.0
    task: asyncio.Task[SessionSummary] | None = None

    def on_link_event(self, event: LinkEvent) -> None:
        """Note Treadmill Data at 0 km/h after a Stop (on its way to the runner)."""
        if (
            isinstance(event, DataReceived)
            and event.data.speed_kmh is not None
            and event.data.speed_kmh <= STOPPED_KMH
            and self.witness.stop_arrived.is_set()
            and not self.reported_zero.is_set()
        ):
            self.reported_zero_s = time.perf_counter()
            self.reported_zero.set()

    def reset(self) -> None:
        """Forget the last round."""
        self.witness.reset()
        self.reported_zero.clear()
        if self.runner.stop_requested is not None:
            self.runner.stop_requested.clear()


@dataclass(slots=True)
class Figures:
    """Milliseconds from publish, per round (slowest lane) and per lane."""

    label: str
    gym_ms: list[float] = field(default_factory=list)
    each_ms: list[float] = field(default_factory=list)

    def add(self, published_s: float, stamps_s: list[float]) -> None:
        """Add one round's stamps (one per lane)."""
        values = [(stamp - published_s) * 1000 for stamp in stamps_s]
        self.gym_ms.append(max(values))
        self.each_ms.extend(values)


async def wait_all(events: list[asyncio.Event], timeout_s: float, what: str) -> None:
    """Wait for every event, or fail the bench saying what did not happen."""
    try:
        async with asyncio.timeout(timeout_s):
            for event in events:
                await event.wait()
    except TimeoutError:
        raise SystemExit(f"bench failed: not every treadmill {what} within {timeout_s} s") from None


class _WatchedLink(FtmsLink):
    """A link whose events the bench sees on their way to the runner (its one reader)."""

    watch: Callable[[LinkEvent], None] = staticmethod(lambda _event: None)

    @override
    async def events(self) -> AsyncIterator[LinkEvent]:
        async for event in super().events():
            self.watch(event)
            yield event


async def open_lane(
    stack: AsyncExitStack, index: int, *, plan: Plan, limits: Limits, url: str, prefix: str
) -> Lane:
    """Open one treadmill: simulator, link, runner, bridge; start its session."""
    name = f"lane{index + 1}"
    witness = BeltWitness()
    sim = await stack.enter_async_context(
        open_virtual_treadmill(trace=witness, name=f"SIM-{name.upper()}")
    )
    clock = LoopClock()
    lane: Lane | None = None

    def on_event(event: LinkEvent) -> None:
        if lane is not None:
            lane.on_link_event(event)

    link = _WatchedLink(sim.ble_device, clock=clock, client_backend=sim.client_backend)
    link.watch = on_event
    runner = TimedRunner(
        plan=plan,
        limits=limits,
        link=link,
        clock=clock,
        stand_in_person=True,  # dry run: the runner presses start where a person would
        interactive=True,  # a latch waits for a re-arm instead of ending the session
    )
    runner.stop_requested = asyncio.Event()
    lane = Lane(name, witness, runner)
    settings = MqttSettings.from_url(url, treadmill_id=name, prefix=prefix, discovery=False)
    settings = replace(settings, reconnect_min_s=0.05, reconnect_max_s=0.5)
    bridge = await stack.enter_async_context(MqttBridge(settings, runner, device_name=sim.name))
    runner.add_observer(bridge)
    async with asyncio.timeout(STOP_TIMEOUT_S):
        await bridge.wait_connected()
    lane.task = asyncio.create_task(runner.run(), name=f"session-{name}")
    return lane


async def restart(lanes: list[Lane]) -> None:
    """Re-arm every latched treadmill and start it again, standing in for its person.

    The governor refuses a start until it has seen the belt stopped; the runner hands
    it the link's data a moment after the bench saw it, so start is pressed again
    until the session runs.
    """
    async with asyncio.timeout(MOVING_TIMEOUT_S):
        while waiting := [lane for lane in lanes if lane.runner.phase in _NOT_STARTED]:
            for lane in waiting:
                if lane.runner.phase is SessionPhase.LATCHED:
                    lane.runner.rearm(RequestSource.STAND_IN)
                lane.runner.start(RequestSource.STAND_IN)
            await asyncio.sleep(RETRY_START_S)


async def stop_rounds(
    lanes: list[Lane], publish: Callable[[int], Awaitable[None]], rounds: int
) -> tuple[list[Figures], list[float]]:
    """Run the rounds; return the figures and the belt speeds when each stop was published."""
    speeds_kmh: list[float] = []
    handed = Figures("bridge -> runner.emergency_stop")
    written = Figures("Stop write at simulator")
    still = Figures("belt still (sim truth)")
    reported = Figures("belt reports 0 km/h")
    for round_index in range(rounds):
        await wait_all([lane.witness.moving for lane in lanes], MOVING_TIMEOUT_S, "walked")
        for lane in lanes:
            lane.reset()
        speeds_kmh.extend(lane.witness.speed_kmh for lane in lanes)
        published_s = time.perf_counter()
        await publish(round_index)
        stop_events = [lane.runner.stop_requested for lane in lanes]
        await wait_all([e for e in stop_events if e is not None], STOP_TIMEOUT_S, "took a stop")
        await wait_all([lane.witness.stop_arrived for lane in lanes], STOP_TIMEOUT_S, "got Stop")
        await wait_all([lane.witness.still for lane in lanes], STILL_TIMEOUT_S, "stood still")
        await wait_all([lane.reported_zero for lane in lanes], STILL_TIMEOUT_S, "reported 0")
        handed.add(published_s, [lane.runner.stop_requested_s for lane in lanes])
        written.add(published_s, [lane.witness.stop_arrived_s for lane in lanes])
        still.add(published_s, [lane.witness.still_s for lane in lanes])
        reported.add(published_s, [lane.reported_zero_s for lane in lanes])
        if round_index + 1 < rounds:
            for lane in lanes:
                lane.reset()
            await restart(lanes)
    return [handed, written, still, reported], speeds_kmh


async def bench(
    url: str, treadmills: int, rounds: int, workdir: Path
) -> tuple[list[Figures], list[float]]:
    """Open the gym, run the rounds, end every session with its belt stopped."""
    prefix = f"bench{int(time.time())}"
    profile_path = workdir / "bench-stop-all.toml"
    profile_path.write_text(PROFILE_TOML, encoding="utf-8")
    limits = Limits()
    profile = load_profile(profile_path, limits=limits)
    plan = build_plan(profile, weight_kg=70.0)
    async with AsyncExitStack() as stack:
        lanes = [
            await open_lane(stack, index, plan=plan, limits=profile.limits, url=url, prefix=prefix)
            for index in range(treadmills)
        ]
        parts = MqttSettings.from_url(url, treadmill_id="operator")
        broadcast = Topics(prefix=prefix, treadmill_id="operator").broadcast_cmd
        try:
            async with aiomqtt.Client(
                parts.host, parts.port, identifier=f"{prefix}-operator"
            ) as operator:

                async def publish(round_index: int) -> None:
                    payload = f'{{"command": "stop", "id": "round-{round_index}"}}'
                    await operator.publish(broadcast, payload, qos=1)

                return await stop_rounds(lanes, publish, rounds)
        finally:
            for lane in lanes:
                lane.runner.end(RequestSource.STAND_IN)
            tasks = [lane.task for lane in lanes if lane.task is not None]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(END_TIMEOUT_S):
                    await asyncio.gather(*tasks, return_exceptions=True)
            for task in tasks:
                task.cancel()


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of ``values``, by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def describe(values: list[float]) -> str:
    """p50, p99, max and mean of ``values`` (milliseconds)."""
    return (
        f"p50 {percentile(values, 0.5):8.1f}  p99 {percentile(values, 0.99):8.1f}"
        f"  max {max(values):8.1f}  mean {statistics.fmean(values):8.1f}"
    )


def main() -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--treadmills", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--mqtt", help="use this broker instead of starting one")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    started_s = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-stop-all-") as workdir:
        broker: Broker | None = None if args.mqtt else _mqtt_broker.BrokerProcess(Path(workdir))
        if broker is not None:
            broker.start()
        url = args.mqtt or (broker.url if broker else "")
        try:
            table, speeds_kmh = asyncio.run(bench(url, args.treadmills, args.rounds, Path(workdir)))
        finally:
            if broker is not None:
                broker.stop()
    kind = broker.kind if broker else url
    print(
        f"stop all over MQTT: {args.treadmills} simulated treadmills (runner + link + bridge"
        f" each), {args.rounds} rounds, broker {kind}, one process"
    )
    print("milliseconds from the publish on <prefix>/all/cmd (wall clock, speedup 1)")
    for figures in table:
        print(f"  {figures.label:32s} all   {describe(figures.gym_ms)}")
        print(f"  {'':32s} each  {describe(figures.each_ms)}")
    print(
        f"belts walked at {min(speeds_kmh):.2f}..{max(speeds_kmh):.2f} km/h (simulator truth)"
        " when each stop was published"
    )
    print(f"(bench took {time.perf_counter() - started_s:.1f} s)")


if __name__ == "__main__":
    main()

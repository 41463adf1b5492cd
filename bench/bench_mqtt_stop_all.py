"""How long a gym's "stop all" takes, from one MQTT publish to every emergency stop.

N bridges (one per treadmill, each with its own MQTT connection) share one broker
(mosquitto when on the PATH, else amqtt; or ``--mqtt URL`` for a broker of yours).
Each round publishes ``{"command": "stop"}`` once on ``<prefix>/all/cmd`` and times,
on the wall clock, the delay until each bridge's control got ``emergency_stop``.
Prints p50/p99/max over the rounds for the last treadmill (the gym is stopped) and
for each one. The controls here are recording fakes; the time to the FTMS Stop
write on a simulated treadmill comes on top (the runner writes it at once).

Run: ``.venv/bin/python bench/bench_mqtt_stop_all.py [--treadmills 5] [--rounds 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import aiomqtt
import structlog

from treadmill_ctl.telemetry.bridge import MqttBridge
from treadmill_ctl.telemetry.mqtt_settings import MqttSettings
from treadmill_ctl.telemetry.topics import Topics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mqtt_broker import BrokerProcess  # the broker helper lives with the tests

ROUND_TIMEOUT_S = 5.0


class StopClock:
    """A SessionControl fake that notes when ``emergency_stop`` came; nothing else counts."""

    def __init__(self) -> None:
        self.stopped_at: float | None = None
        self.stopped = asyncio.Event()

    def emergency_stop(self, source: str) -> None:  # noqa: ARG002 - the protocol's signature
        """Note the time of the stop."""
        self.stopped_at = time.perf_counter()
        self.stopped.set()

    def start(self, source: str) -> None:
        """Not used by this bench."""

    def pause(self, source: str) -> None:
        """Not used by this bench."""

    def resume(self, source: str) -> None:
        """Not used by this bench."""

    def toggle_pause(self, source: str) -> None:
        """Not used by this bench."""

    def rearm(self, source: str) -> None:
        """Not used by this bench."""

    def end(self, source: str) -> None:
        """Not used by this bench."""

    def nudge_speed(self, delta_kmh: float, source: str) -> None:
        """Not used by this bench."""


async def bench(url: str, treadmills: int, rounds: int) -> tuple[list[float], list[float]]:
    """Run the rounds; return (ms until all stopped per round, ms per treadmill stop)."""
    prefix = f"bench{int(time.time())}"
    controls = [StopClock() for _ in range(treadmills)]
    all_ms: list[float] = []
    each_ms: list[float] = []
    async with AsyncExitStack() as stack:
        bridges = []
        for index, control in enumerate(controls):
            settings = MqttSettings.from_url(
                url, treadmill_id=f"lane{index + 1}", prefix=prefix, discovery=False
            )
            settings = replace(settings, reconnect_min_s=0.05, reconnect_max_s=0.5)
            bridges.append(await stack.enter_async_context(MqttBridge(settings, control)))
        async with asyncio.timeout(ROUND_TIMEOUT_S):
            for bridge in bridges:
                await bridge.wait_connected()
        parts = MqttSettings.from_url(url, treadmill_id="x")
        broadcast = Topics(prefix=prefix, treadmill_id="x").broadcast_cmd
        async with aiomqtt.Client(parts.host, parts.port, identifier=f"{prefix}-operator") as op:
            for round_index in range(rounds):
                for control in controls:
                    control.stopped.clear()
                    control.stopped_at = None
                published_at = time.perf_counter()
                await op.publish(broadcast, f'{{"command": "stop", "id": {round_index}}}', qos=1)
                async with asyncio.timeout(ROUND_TIMEOUT_S):
                    for control in controls:
                        await control.stopped.wait()
                stops_ms = [
                    ((control.stopped_at or published_at) - published_at) * 1000
                    for control in controls
                ]
                all_ms.append(max(stops_ms))
                each_ms.extend(stops_ms)
                await asyncio.sleep(0.02)  # let the replies drain before the next round
    return all_ms, each_ms


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of ``values``, by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main() -> None:
    """Run the bench and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--treadmills", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--mqtt", help="use this broker instead of starting one")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as workdir:
        broker = None if args.mqtt else BrokerProcess(Path(workdir))
        if broker is not None:
            broker.start()
        url = args.mqtt or (broker.url if broker else "")
        try:
            all_ms, each_ms = asyncio.run(bench(url, args.treadmills, args.rounds))
        finally:
            if broker is not None:
                broker.stop()
    kind = broker.kind if broker else url
    print(f"stop all: {args.treadmills} bridges, {args.rounds} rounds, broker {kind}")
    for label, values in (("all stopped", all_ms), ("each stop", each_ms)):
        print(
            f"  {label:12s} p50 {percentile(values, 0.5):6.2f} ms"
            f"  p99 {percentile(values, 0.99):6.2f} ms"
            f"  max {max(values):6.2f} ms"
            f"  mean {statistics.fmean(values):6.2f} ms"
        )


if __name__ == "__main__":
    main()

"""How long one safety governor step takes: a tick, an observation or a request.

Runs a long session in virtual time (a tick every 0.1 s, Treadmill Data once a
second, a new target every 30 s, alternating directions so turn-arounds happen) and
times every call with ``time.perf_counter``. Prints microseconds per step.
"""

from __future__ import annotations

import statistics
import time

from treadmill_ctl.safety import (
    BeltData,
    Decision,
    Direction,
    GovernorState,
    Limits,
    MachineRanges,
    Resume,
    SafetyGovernor,
    SetTarget,
    Start,
)

STEPS = 200_000
TICK_S = 0.1


def main() -> None:
    """Run the session and print the figures."""
    governor = SafetyGovernor(
        Limits(turnaround_speed_kmh=1.0),
        MachineRanges(min_speed_kmh=1.0, max_speed_kmh=12.0, speed_increment_kmh=0.1),
        now_s=0.0,
        link_up=True,
    )
    governor.request(SetTarget(2.5, Direction.BACKWARD, 2.0), 0.0)
    governor.request(Start(by_person=True), 0.0)
    timings_s: list[float] = []
    decisions = 0
    elapsed_s = 0
    for step in range(1, STEPS + 1):
        now_s = step * TICK_S
        began = time.perf_counter()
        out: list[Decision]
        if step % 300 == 0:
            direction = Direction.FORWARD if step % 600 == 0 else Direction.BACKWARD
            out = governor.request(SetTarget(2.0 + (step % 7) / 5, direction, 1.0), now_s)
        elif step % 10 == 0:
            elapsed_s += 1
            frame = elapsed_s.to_bytes(4, "little")
            data = BeltData(governor.commanded_speed_kmh, elapsed_s=elapsed_s, frame=frame)
            out = governor.observe(data, now_s)
        else:
            out = governor.tick(now_s)
        timings_s.append(time.perf_counter() - began)
        decisions += len(out)
        if governor.state is GovernorState.PAUSED:
            governor.request(Resume(by_person=True), now_s)
    assert governor.state is not GovernorState.LATCHED, governor.latch_reason
    timings_us = sorted(t * 1e6 for t in timings_s)
    p50 = statistics.median(timings_us)
    p99 = timings_us[int(len(timings_us) * 0.99)]
    print(
        f"governor: {STEPS} steps ({STEPS * TICK_S / 3600:.1f} h of virtual time, "
        f"{decisions} decisions): p50 {p50:.1f} us/step, p99 {p99:.1f} us/step, "
        f"max {timings_us[-1]:.1f} us"
    )


if __name__ == "__main__":
    main()

"""Whole sessions with the simulator's heart-rate strap: the ceiling, lost straps, the zone guide.

Each test runs the real command line (``treadmill-ctl run PROFILE --simulator
--speedup max --yes --sim-hr-strap``) and reads the two witnesses: the session record
(what our program decided) and the simulator's trace (what the belt did, and what the
strap sent). The ramp-down of a heart-rate stop is checked on the trace.
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog
from e2e_support import DryRun, dry_run

from treadmill_ctl.cli import main
from treadmill_ctl.safety import Limits

if TYPE_CHECKING:
    from collections.abc import Iterator

LIMITS = Limits()
STOPPED_KMH = 0.05
SIM_MIN_KMH = 0.5

CEILING_PROFILE = """
    name = "Ceiling"
    [limits]
    heart_rate_max_bpm = 140
    [[step]]
    direction = "forward"
    speed_kmh = 4.0
    duration = "3m"
"""

NO_CEILING_PROFILE = CEILING_PROFILE.replace("heart_rate_max_bpm = 140", "")


@dataclass(frozen=True)
class Guided:
    """A walk with a warm-up step, then a heart-rate-guided step of 15 minutes."""

    direction: str
    warm_up_kmh: float
    start_kmh: float
    max_kmh: float
    zone_bpm: tuple[int, int]

    def profile(self) -> str:
        low, high = self.zone_bpm
        return f"""
            name = "Guided"
            [limits]
            heart_rate_max_bpm = 150
            [[step]]
            direction = "{self.direction}"
            speed_kmh = {self.warm_up_kmh}
            duration = "1m"
            [[step]]
            direction = "{self.direction}"
            speed_kmh = {self.start_kmh}
            max_speed_kmh = {self.max_kmh}
            hr_zone = [{low}, {high}]
            duration = "15m"
        """


GUIDED = {
    # the walk starts too slow for the zone: the guide speeds up
    "from-below": Guided("forward", 3.5, 4.0, 5.5, (100, 115)),
    # it starts too fast: the heart overshoots the zone, the guide slows down
    "from-above": Guided("forward", 3.0, 5.8, 6.0, (95, 105)),
    # walking backward the guide may only slow down
    "backward": Guided("backward", 2.0, 3.0, 3.0, (90, 100)),
}
SETTLE_S = 30.0
"""The zone guide holds this long after the profile changed the speed (a new segment)."""


def t(line: dict[str, object]) -> float:
    value = line["t"]
    assert isinstance(value, int | float)
    return float(value)


def num(line: dict[str, object], key: str) -> float:
    value = line[key]
    assert isinstance(value, int | float), (key, line)
    return float(value)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TREADMILL_CTL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("TREADMILL_CTL_DATA_DIR", str(tmp_path / "data"))
    yield
    structlog.reset_defaults()


def run(tmp_path: Path, profile_text: str, *options: str) -> DryRun:
    tmp_path.mkdir(parents=True, exist_ok=True)
    profile = tmp_path / "profile.toml"
    profile.write_text(textwrap.dedent(profile_text))
    return dry_run(tmp_path, profile, *options)


def assert_controlled_stop(result: DryRun) -> None:
    """The heart-rate stop ramps down at the normal deceleration before the Stop."""
    (stop,) = result.events("heart_rate.stop")
    stop_s = t(stop) - result.trace_offset_s()
    after = [(w_t, v) for w_t, v in result.speed_writes() if w_t >= stop_s - 0.5]
    speeds = [v for _, v in after if v is not None]
    assert speeds, after
    assert speeds == sorted(speeds, reverse=True)  # only down
    for (t0, v0), (t1, v1) in itertools.pairwise(after):
        if v0 is not None and v1 is not None:
            assert v0 - v1 <= LIMITS.deceleration_kmh_per_s * (t1 - t0) + 0.1 + 1e-6
    stop_write_s = next(w_t for w_t, v in after if v is None)
    # 4.0 km/h down to the minimum at 0.5 km/h per second: no abrupt stop
    assert stop_write_s - stop_s >= (4.0 - 1.0) / LIMITS.deceleration_kmh_per_s
    belt_at_stop = [num(s, "belt_speed_kmh") for s in result.samples() if t(s) <= stop_write_s]
    assert belt_at_stop[-1] <= 1.0 + 0.1
    assert num(result.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH


# What each strap fault must do, as issue 15 asks: (fault, reason of the latch, the
# verdict in the record, the words the person hears), or None where the belt goes on.
WITH_CEILING = {
    "strap-rise@70:170": (
        "heart_rate",
        "heart rate above ceiling",
        "The belt slows to a stop: heart rate above your limit.",
    ),
    "strap-contact@70:30": (
        "heart_rate_unknown",
        "heart rate unknown",
        "The belt slows to a stop: no heart rate any more.",
    ),
    "strap-drop@70:30": (
        "heart_rate_unknown",
        "heart rate unknown",
        "The belt slows to a stop: no heart rate any more.",
    ),
    "strap-spike@70:220": None,
}
LOST_SAID = "Heart rate lost: check the strap."


def assert_latched_for_good(result: DryRun) -> None:
    """Latched: after the stop nothing moves the belt again, and the run says why."""
    (stop,) = result.events("heart_rate.stop")
    stop_s = t(stop) - result.trace_offset_s()
    stop_write_s = next(w_t for w_t, v in result.speed_writes() if w_t >= stop_s and v is None)
    assert all(v is None for w_t, v in result.speed_writes() if w_t > stop_write_s)
    assert num(result.samples()[-1], "belt_speed_kmh") <= STOPPED_KMH
    ended = result.events("session.ended")[-1]
    assert ended["end"] == "safety_latch", ended


def assert_belt_went_on(result: DryRun) -> None:
    """No heart-rate stop: the belt walked the whole step at its speed."""
    assert result.status == 0
    assert not result.events("heart_rate.stop")
    assert not result.events("governor.latched")
    offset = result.trace_offset_s()
    begin_s = t(result.events("segment.started")[0]) - offset
    # from the end of the ramp up to the plan's own ramp down, the belt holds 4 km/h
    steady_kmh = [
        num(s, "belt_speed_kmh") for s in result.samples() if begin_s + 10 <= t(s) <= begin_s + 170
    ]
    assert len(steady_kmh) >= 150
    assert min(steady_kmh) >= 4.0 - 0.1


@pytest.mark.parametrize("fault", list(WITH_CEILING))
def test_each_strap_fault_with_a_ceiling(tmp_path: Path, fault: str) -> None:
    result = run(tmp_path, CEILING_PROFILE, "--sim-hr-strap", "--sim-fault", fault)
    expected = WITH_CEILING[fault]
    if expected is None:
        assert_belt_went_on(result)
        return
    reason, verdict, said = expected
    assert result.status == 4
    (latched,) = result.events("governor.latched")
    assert latched["reason"] == reason
    (stop,) = result.events("heart_rate.stop")
    assert stop["verdict"] == verdict
    fault_s = float(fault.split("@")[1].split(":", maxsplit=1)[0])
    # the stop comes after the fault, within about 5 s of judging it (plus the rise)
    stop_trace_s = t(stop) - result.trace_offset_s()
    assert fault_s + 5.0 <= stop_trace_s <= fault_s + 30.0
    # said in words, urgently, when the stop begins
    urgent = [c for c in result.events("cue.given") if c["urgent"] and t(c) >= t(stop)]
    assert urgent, result.events("cue.given")
    assert urgent[0]["text"] == said
    assert t(urgent[0]) - t(stop) <= 0.5
    # and only the alarm: a "heart rate lost" said just before would be cut off by it
    assert LOST_SAID not in [c["text"] for c in result.events("cue.given")]
    assert_controlled_stop(result)
    assert_latched_for_good(result)


@pytest.mark.parametrize("fault", list(WITH_CEILING))
def test_each_strap_fault_without_a_ceiling_never_stops_the_belt(
    tmp_path: Path, fault: str
) -> None:
    result = run(tmp_path, NO_CEILING_PROFILE, "--sim-hr-strap", "--sim-fault", fault)
    assert_belt_went_on(result)
    said = [str(c["text"]) for c in result.events("cue.given")]
    if fault.startswith(("strap-drop", "strap-contact")):
        # a lost strap is only reported: in the record and in words, and its return
        (lost,) = result.events("heart_rate.lost")
        assert 70 + 4 <= t(lost) - result.trace_offset_s() <= 70 + 12
        assert result.events("heart_rate.back")
        assert said.count(LOST_SAID) == 1
    else:
        assert not result.events("heart_rate.lost")
        assert LOST_SAID not in said
    if fault.startswith("strap-rise"):
        # the strap did climb to 170 bpm, and nothing stopped
        assert max(num(r, "heart_rate_bpm") for r in result.strap() if r["sent"]) >= 165


def test_a_single_spike_never_stops_the_belt(tmp_path: Path) -> None:
    result = run(tmp_path, CEILING_PROFILE, "--sim-hr-strap", "--sim-fault", "strap-spike@70:220")
    assert [num(r, "heart_rate_bpm") for r in result.strap()].count(220) == 1
    assert_belt_went_on(result)


SHORT_PROFILE = """
    name = "Short"
    [[step]]
    direction = "forward"
    speed_kmh = 4.0
    duration = "1m"
"""


def treadmill_writes(result: DryRun) -> list[tuple[float, str]]:
    """Every control-point write the treadmill got: (seconds after its link came up, hex)."""
    up_s = next(t(r) for r in result.trace if r["kind"] == "link" and r["link_state"] == "up")
    return [
        (round(t(r) - up_s, 2), str(r["data_hex"]))
        for r in result.trace
        if r["kind"] == "control_point_write"
    ]


@pytest.mark.parametrize(
    "strap",
    [
        pytest.param(["--sim-fault", "strap-drop@0:900"], id="absent"),
        pytest.param(
            ["--sim-fault", "strap-drop@10:3", "--sim-fault", "strap-drop@40:3"], id="flapping"
        ),
        pytest.param([], id="connected"),
    ],
)
def test_a_slow_absent_or_flapping_strap_never_delays_a_treadmill_command(
    tmp_path: Path, strap: list[str]
) -> None:
    """The strap connects beside the treadmill: every command, and the stop, on time.

    The same walk without any strap is the reference: with the strap absent from the
    start (every connection attempt fails after its time-out and the link backs off),
    dropping twice, or connected, the treadmill gets the same writes at the same times,
    from Request Control to the final Stop.
    """
    reference = treadmill_writes(run(tmp_path / "reference", SHORT_PROFILE))
    result = run(tmp_path / "strap", SHORT_PROFILE, "--sim-hr-strap", *strap)
    assert result.status == 0
    writes = treadmill_writes(result)
    assert [data for _, data in writes] == [data for _, data in reference]
    for (at_s, data), (reference_s, _) in zip(writes, reference, strict=True):
        assert abs(at_s - reference_s) <= 0.1, (data, at_s, reference_s)
    assert writes[-1][1] == "0801"  # the stop
    if strap:
        # the strap really was away: the link tried again and again meanwhile
        assert result.events("heart_rate.link_lost")


def test_every_heart_rate_is_recorded_with_its_source(tmp_path: Path) -> None:
    result = run(tmp_path, CEILING_PROFILE, "--sim-hr-strap")
    assert result.status == 0
    samples = result.events("heart_rate.sample")
    assert len(samples) >= 170
    assert {s["source"] for s in samples} == {"strap:F0:7E:AD:00:00:02"}
    sent = [r for r in result.strap() if r["sent"]]
    # what the strap sent is what the program recorded, value for value
    assert [s["heart_rate_bpm"] for s in samples] == [r["heart_rate_bpm"] for r in sent][
        : len(samples)
    ]
    treadmill = [e for e in result.events("belt.data") if e.get("heart_rate_bpm") is not None]
    assert all(e["heart_rate_source"] == "treadmill" for e in treadmill)


def test_a_ceiling_without_a_heart_rate_source_refuses_to_start(tmp_path: Path) -> None:
    result = run(tmp_path, CEILING_PROFILE, "--sim-hr-strap", "--sim-fault", "strap-drop@0:900")
    assert result.status == 4
    refusals = [str(r["detail"]) for r in result.events("heart_rate.start_refused")]
    assert refusals[0].startswith("Waiting for a heart rate from SIM-HRM")
    assert any("press start again to go on without heart-rate protection" in r for r in refusals)
    assert not result.events("heart_rate.confirmed_without")
    assert all(num(s, "belt_speed_kmh") <= STOPPED_KMH for s in result.samples())
    assert not any(v is not None for _, v in result.speed_writes())


def test_going_on_without_a_heart_rate_is_the_persons_choice(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        CEILING_PROFILE,
        "--sim-hr-strap",
        "--sim-fault",
        "strap-drop@0:900",
        "--without-heart-rate",
    )
    assert result.status == 0
    assert not result.events("heart_rate.start_refused")
    assert not result.events("governor.latched")


def reversals(speeds: list[float]) -> int:
    """How often the guide changed its mind: sign changes between consecutive steps.

    Oscillation is two or more: faster-slower-faster (or the other way round). One is
    allowed (an approach that overshoots once and corrects).
    """
    signs = [1 if b > a else -1 for a, b in itertools.pairwise(speeds) if b != a]
    return sum(1 for a, b in itertools.pairwise(signs) if a != b)


def test_reversals_count_a_change_of_mind() -> None:
    assert reversals([4.0, 4.1, 4.2, 4.3]) == 0
    assert reversals([4.0, 4.1, 4.0]) == 1
    assert reversals([4.0, 4.1, 4.0, 4.1, 4.0]) == 3  # oscillating


@pytest.mark.parametrize("walk", list(GUIDED))
def test_a_guided_segment_brings_the_heart_rate_into_the_zone_and_keeps_it(
    tmp_path: Path, walk: str
) -> None:
    guided = GUIDED[walk]
    result = run(tmp_path, guided.profile(), "--sim-hr-strap")
    assert result.status == 0
    offset = result.trace_offset_s()
    begin = result.events("segment.started")[1]
    begin_s = t(begin) - offset
    end_s = begin_s + 15 * 60
    low, high = guided.zone_bpm
    # the model's heart (what the person's heart really did), once a second
    hearts = [(t(r), num(r, "true_bpm")) for r in result.strap() if begin_s <= t(r) < end_s]
    assert len(hearts) >= 890
    entered_s = next(at for at, bpm in hearts if low <= bpm <= high)
    assert entered_s - begin_s <= 180
    rest = [bpm for at, bpm in hearts if at >= entered_s]
    near = [bpm for bpm in rest if low - 5 <= bpm <= high + 5]
    assert len(near) >= 0.8 * len(rest), (len(near), len(rest))
    # the last five minutes end in the zone: the guide does not drift away
    assert all(low - 5 <= bpm <= high + 5 for at, bpm in hearts if at >= end_s - 300)

    steps = result.events("heart_rate.zone_step")
    assert steps
    speeds = [num(s, "speed_kmh") for s in steps]
    # small steps, at most one every 10 s, none before the guide settled after the
    # profile's change of speed, and no oscillation
    path = [guided.start_kmh, *speeds]
    assert all(abs(b - a) <= 0.2 + 1e-9 for a, b in itertools.pairwise(path))
    times = [t(s) for s in steps]
    assert all(b - a >= 10 - 0.2 for a, b in itertools.pairwise(times))
    assert times[0] - t(begin) >= SETTLE_S - 0.2
    assert reversals(path) <= 1, path
    # each change said briefly, as it happened
    said = [c for c in result.events("cue.given") if c["kind"] == "heart_rate_zone"]
    assert [str(c["text"]) for c in said] == [
        f"{'Faster' if b > a else 'Slower'}: {b:g} km/h." for a, b in itertools.pairwise(path)
    ]
    # never above the segment's maximum, on the wire and on the belt
    assert max(speeds) <= guided.max_kmh
    on_wire = [v for w_t, v in result.speed_writes() if begin_s <= w_t < end_s and v is not None]
    assert max(on_wire) <= guided.max_kmh + 1e-6
    belt = [num(s, "belt_speed_kmh") for s in result.samples() if begin_s <= t(s) < end_s]
    assert max(belt) <= guided.max_kmh + 0.05
    if guided.direction == "backward":
        # only ever slower for a person who cannot see the belt
        assert speeds == sorted(speeds, reverse=True)
        assert speeds[0] < guided.start_kmh
        assert max(on_wire) <= guided.start_kmh + 1e-6


def test_after_a_profile_change_the_guide_backs_off(tmp_path: Path) -> None:
    """A new guided segment (a new zone and speed from the profile): 30 s of holding."""
    profile = """
        name = "Two zones"
        [[step]]
        direction = "forward"
        speed_kmh = 4.0
        max_speed_kmh = 5.5
        hr_zone = [100, 115]
        duration = "5m"
        [[step]]
        direction = "forward"
        speed_kmh = 5.5
        max_speed_kmh = 6.0
        hr_zone = [90, 100]
        duration = "5m"
    """
    result = run(tmp_path, profile, "--sim-hr-strap")
    assert result.status == 0
    first, second = (t(s) for s in result.events("segment.started"))
    steps = [t(s) for s in result.events("heart_rate.zone_step")]
    in_first = [at for at in steps if first <= at < second]
    in_second = [at for at in steps if at >= second]
    assert in_first
    assert in_second
    assert in_first[0] - first >= SETTLE_S - 0.2
    assert in_second[0] - second >= SETTLE_S - 0.2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--sim-hr-strap"], "--sim-hr-strap only applies to --simulator dry runs"),
        (["--simulator", "--hr-sensor", "Polar"], "use --sim-hr-strap"),
        (["--simulator", "--sim-fault", "strap-drop@5:5"], "strap faults need --sim-hr-strap"),
        (["--simulator", "--sim-hr-strap", "--sim-fault", "strap-drop@5"], "strap-drop@T:ARG"),
    ],
)
def test_heart_rate_options_are_checked_before_anything_moves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(textwrap.dedent(CEILING_PROFILE))
    assert main(["run", str(profile), *options]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_the_shipped_guided_profile_completes_a_dry_run(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parent.parent / "profiles" / "heart-rate-guided.toml"
    result = run(tmp_path, shipped.read_text(), "--sim-hr-strap")
    assert result.status == 0
    (ended,) = result.events("session.ended")
    assert ended["end"] == "completed"
    assert not result.events("heart_rate.stop")
    steps = result.events("heart_rate.zone_step")
    assert steps
    assert {s["zone_bpm"] == [100, 115] for s in steps} == {True}
    assert max(num(s, "speed_kmh") for s in steps) <= 5.5  # the segment's maximum

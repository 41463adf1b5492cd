"""The person's heart rate in a record: the strap's readings, RR intervals, time in zone.

Walking backward the person holds the side rails, not the console's handgrips, so
the treadmill's heart-rate field is missing or wrong exactly when it matters
(SAFETY.md). When the record holds readings from a strap or watch
(``heart_rate.sample``), the person's heart rate is the strap's, and only the strap's:
each belt sample takes the last valid strap reading at most :data:`FRESH_S` before it,
and a sample with none has no heart rate (a lost strap is a gap, not the handgrips'
figure), as the session itself used only the strap when one was set. A valid reading
had skin contact (or a strap that does not say), a rate a walking person's heart
can beat at, and was accepted by the session's artefact filter. Without a single
strap reading the treadmill's own field is the person's heart rate, as before.

RR intervals (the time between two beats) are the strap's plausible ones as the
session recorded them, checked again here against the decoder's range, in the order
the strap sent them.

Time in zone is worked out per guided segment (one with ``hr_zone_bpm``): over the
time the person walked it (up to its turn-around, pauses and latch waits left out),
each heart rate counts until the next one, for at most :data:`FRESH_S`; the rest of
the walked time had no heart rate.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from treadmill_ctl.history.session_log import StrapReading

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from treadmill_ctl.history.session_log import Sample, SegmentRun, SessionLog

FRESH_S: Final = 5.0
"""A reading stands for the person's heart rate this long at most (the session's own
robust rate goes stale after as long)."""
MIN_PLAUSIBLE_RR_S: Final = 0.25
"""The decoder's shortest plausible RR interval (``ftms/heart_rate.py``; 240 bpm)."""
MAX_PLAUSIBLE_RR_S: Final = 2.5
"""The decoder's longest plausible RR interval (``ftms/heart_rate.py``; 24 bpm)."""
STRAP_SOURCE_PREFIX: Final = "strap"
"""Strap readings are recorded with a source ``strap:ADDRESS``."""
TREADMILL_SOURCE: Final = "treadmill"
"""The treadmill's own heart-rate field (its handgrips), as the record names it."""
_NO_CONTACT: Final = "not_detected"

__all__ = [
    "FRESH_S",
    "MAX_PLAUSIBLE_RR_S",
    "MIN_PLAUSIBLE_RR_S",
    "STRAP_SOURCE_PREFIX",
    "TREADMILL_SOURCE",
    "StrapReading",
    "ZoneTime",
    "heart_rate_points",
    "plausible_rr",
    "rr_intervals_s",
    "strap_reading",
    "walked_until",
    "with_strap_heart_rate",
    "zone_times",
]


def strap_reading(line: Mapping[str, object], t_s: float) -> StrapReading | None:
    """A ``heart_rate.sample`` line as a reading, or None when it holds no rate.

    Fields a record of an older version lacks take the lenient default (accepted,
    in contact, no RR intervals).
    """
    bpm = line.get("heart_rate_bpm")
    if isinstance(bpm, bool) or not isinstance(bpm, int | float) or not math.isfinite(bpm):
        return None
    source = line.get("source")
    raw_rr = line.get("rr_s")
    rr = tuple(
        float(value)
        for value in (raw_rr if isinstance(raw_rr, list) else [])
        if isinstance(value, int | float) and not isinstance(value, bool) and plausible_rr(value)
    )
    return StrapReading(
        t_s=t_s,
        heart_rate_bpm=round(bpm),
        source=source if isinstance(source, str) else STRAP_SOURCE_PREFIX,
        contact=line.get("contact") != _NO_CONTACT,
        accepted=line.get("accepted") is not False,
        rr_s=rr,
    )


def plausible_rr(rr_s: float) -> bool:
    """Whether a heart can beat with this interval (the decoder's range)."""
    return math.isfinite(rr_s) and MIN_PLAUSIBLE_RR_S <= rr_s <= MAX_PLAUSIBLE_RR_S


def with_strap_heart_rate(
    samples: Sequence[Sample], readings: Sequence[StrapReading]
) -> tuple[Sample, ...]:
    """The belt samples with the person's heart rate: the strap's when it sent any.

    Without strap readings the samples keep the treadmill's heart rate (source
    ``treadmill``). With them, each sample takes the last valid reading at most
    :data:`FRESH_S` before it, or none.
    """
    if not readings:
        return tuple(
            dataclasses.replace(sample, heart_rate_source=TREADMILL_SOURCE)
            if sample.heart_rate_bpm is not None
            else sample
            for sample in samples
        )
    valid = [reading for reading in readings if reading.valid]
    out: list[Sample] = []
    position = 0
    last: StrapReading | None = None
    for sample in samples:
        while position < len(valid) and valid[position].t_s <= sample.t_s:
            last = valid[position]
            position += 1
        fresh = last is not None and sample.t_s - last.t_s <= FRESH_S
        out.append(
            dataclasses.replace(
                sample,
                heart_rate_bpm=last.heart_rate_bpm if fresh and last is not None else None,
                heart_rate_source=last.source if fresh and last is not None else None,
            )
        )
    return tuple(out)


def rr_intervals_s(
    readings: Iterable[StrapReading], start_t_s: float, end_t_s: float
) -> list[float]:
    """The plausible RR intervals the strap sent between two session times, in order.

    Readings without skin contact are left out: their intervals are the strap's
    guess, not beats.
    """
    return [
        rr
        for reading in readings
        if start_t_s <= reading.t_s <= end_t_s and reading.contact
        for rr in reading.rr_s
        if plausible_rr(rr)
    ]


@dataclass(frozen=True, slots=True)
class ZoneTime:
    """How long a guided segment's heart rate was below, in and above its zone.

    Attributes:
        segment: The guided segment.
        zone_bpm: Its zone ``(low, high)``, both ends in the zone.
        below_s: Walked time with the heart rate below the zone.
        in_zone_s: Walked time with the heart rate in the zone.
        above_s: Walked time with the heart rate above the zone.
        unknown_s: Walked time without a heart rate.
    """

    segment: SegmentRun
    zone_bpm: tuple[int, int]
    below_s: float
    in_zone_s: float
    above_s: float
    unknown_s: float

    @property
    def known_s(self) -> float:
        """Walked time with a heart rate."""
        return self.below_s + self.in_zone_s + self.above_s

    @property
    def share_in_zone(self) -> float | None:
        """The share of the time with a heart rate spent in the zone (None: no heart rate)."""
        return self.in_zone_s / self.known_s if self.known_s > 0 else None


def walked_until(log: SessionLog, segment: SegmentRun) -> float:
    """Where a segment's walking ends: its turn-around's start, else the next segment."""
    turns = [
        turn.start_t_s
        for turn in log.turn_arounds
        if segment.start_t_s <= turn.start_t_s < segment.end_t_s
    ]
    return min([segment.end_t_s, *turns])


def heart_rate_points(log: SessionLog) -> list[tuple[float, int]]:
    """The person's heart rate over time: valid strap readings, else the samples' rates."""
    if log.heart_rate_readings:
        return [(r.t_s, r.heart_rate_bpm) for r in log.heart_rate_readings if r.valid]
    return [(s.t_s, s.heart_rate_bpm) for s in log.samples if s.heart_rate_bpm is not None]


def zone_times(log: SessionLog) -> list[ZoneTime]:
    """Time below, in and above the zone for each guided segment that ran, in order."""
    points = heart_rate_points(log)
    out: list[ZoneTime] = []
    for segment in log.segments:
        if segment.hr_zone_bpm is None:
            continue
        low, high = segment.hr_zone_bpm
        windows = _walked_windows(log, segment.start_t_s, walked_until(log, segment))
        walked_s = sum(end - start for start, end in windows)
        times = {"below": 0.0, "in": 0.0, "above": 0.0}
        for position, (t_s, bpm) in enumerate(points):
            following = points[position + 1][0] if position + 1 < len(points) else math.inf
            held_until = min(following, t_s + FRESH_S)
            key = "below" if bpm < low else "above" if bpm > high else "in"
            times[key] += sum(
                max(0.0, min(end, held_until) - max(start, t_s)) for start, end in windows
            )
        known_s = sum(times.values())
        out.append(
            ZoneTime(
                segment=segment,
                zone_bpm=(low, high),
                below_s=times["below"],
                in_zone_s=times["in"],
                above_s=times["above"],
                unknown_s=max(0.0, walked_s - known_s),
            )
        )
    return out


def _walked_windows(log: SessionLog, start_t_s: float, end_t_s: float) -> list[tuple[float, float]]:
    """The stretches between two session times in which the person walked."""
    return [
        (max(span.start_t_s, start_t_s), min(span.end_t_s, end_t_s))
        for span in log.timer_spans
        if min(span.end_t_s, end_t_s) > max(span.start_t_s, start_t_s)
    ]

"""A session as TCX (Garmin Training Center Database v2), for Garmin Connect and Strava.

TCX's ``Sport`` attribute is one of ``Running``, ``Biking`` or ``Other`` in the v2
schema: there is no walking and no treadmill. The export says ``Other`` by default
(schema-valid everywhere; Garmin Connect and Strava import it and let the person pick
the type); ``Running`` is offered for sites that only count runs. FIT
(:mod:`~treadmill_ctl.history.export_fit`) carries walking on a treadmill exactly
and is the better choice where it is accepted.

The laps are FIT's (:mod:`~treadmill_ctl.history.laps`): each segment of the plan is
an ``Active`` lap triggered by ``Time`` with a note of its direction and speed, each
turn-around a ``Resting`` lap. A lap's ``TotalTimeSeconds`` is the time the person
walked in it (pauses and latch waits left out, as FIT's timer leaves them out), and
the track holds the belt's samples while the person walked, with the distance, heart
rate and speed (``ActivityExtension`` v2 ``TPX/Speed``, m/s). The heart rate
(``HeartRateBpm``, and the laps' average and maximum) is the person's
(:mod:`~treadmill_ctl.history.heart_rate`): the strap's when the record holds strap
readings, else the treadmill's. Lap calories are estimates from SAFETY.md's equations
(the schema requires a number). A record cut short exports what it holds, and says so
in the activity's notes; a dry run against the simulator says so in the notes and the
creator's name, and carries no heart rate, neither the simulated treadmill's nor the
simulated strap's, for the reason FIT gives (:mod:`~treadmill_ctl.history.export_fit`).
The elements of each lap follow the order of the schema's ``ActivityLap_t``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from treadmill_ctl import __version__
from treadmill_ctl.history.energy import kcal_between, session_weight_kg
from treadmill_ctl.history.laps import Lap, laps, require_samples
from treadmill_ctl.history.report import cut_short_note, ending_text

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from treadmill_ctl.history.session_log import Sample, SessionLog

TCX_NS: Final = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
EXT_NS: Final = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA_LOCATION: Final = f"{TCX_NS} http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd"
_KMH_PER_MS: Final = 3.6


class TcxSport(StrEnum):
    """The ``Sport`` values of the TCX v2 schema that fit walking on a treadmill."""

    OTHER = "Other"
    RUNNING = "Running"


def utc_z(moment: datetime) -> str:
    """An aware datetime as ``2025-03-14T08:30:00.000Z`` (what TCX and Strava expect)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _heart_rate(parent: ET.Element, tag: str, bpm: int) -> None:
    _sub(_sub(parent, tag), "Value", str(min(255, max(1, bpm))))


def session_tcx(
    log: SessionLog,
    *,
    sport: TcxSport = TcxSport.OTHER,
    weight_kg: float | None = None,
) -> bytes:
    """The session as a TCX document (UTF-8 bytes with an XML declaration).

    Args:
        log: The session.
        sport: The activity's ``Sport`` attribute.
        weight_kg: The person's configured weight, for lap calories when the record
            has none.

    Raises:
        NothingToExport: The record has no belt sample.
    """
    require_samples(log)
    ET.register_namespace("", TCX_NS)
    ET.register_namespace("ax", EXT_NS)
    ET.register_namespace("xsi", XSI_NS)
    root = ET.Element(f"{{{TCX_NS}}}TrainingCenterDatabase")
    root.set(f"{{{XSI_NS}}}schemaLocation", _SCHEMA_LOCATION)
    activities = _sub(root, f"{{{TCX_NS}}}Activities")
    activity = _sub(activities, f"{{{TCX_NS}}}Activity")
    activity.set("Sport", sport.value)
    _sub(activity, f"{{{TCX_NS}}}Id", utc_z(log.started_at))
    weight = session_weight_kg(log, weight_kg)
    for lap in laps(log):
        _lap(activity, log, lap, weight)
    notes = [f"{log.profile_name or 'treadmill-ctl session'}: backward walking on a treadmill"]
    if log.simulator:
        notes.insert(0, "SIMULATED: a dry run against the simulator, not a person's walk")
    notes.append(f"ended: {ending_text(log)}")
    if note := cut_short_note(log):
        notes.append(note)
    _sub(activity, f"{{{TCX_NS}}}Notes", "; ".join(notes))
    creator = _sub(activity, f"{{{TCX_NS}}}Creator")
    creator.set(f"{{{XSI_NS}}}type", "Device_t")
    _sub(
        creator,
        f"{{{TCX_NS}}}Name",
        "treadmill-ctl (simulated)" if log.simulator else "treadmill-ctl",
    )
    _sub(creator, f"{{{TCX_NS}}}UnitId", "0")
    _sub(creator, f"{{{TCX_NS}}}ProductID", "0")
    version = _sub(creator, f"{{{TCX_NS}}}Version")
    major, minor = [*__version__.split("."), "0", "0"][:2]
    _sub(version, f"{{{TCX_NS}}}VersionMajor", str(int(major) if major.isdigit() else 0))
    _sub(version, f"{{{TCX_NS}}}VersionMinor", str(int(minor) if minor.isdigit() else 0))
    ET.indent(root, space="  ")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _lap(activity: ET.Element, log: SessionLog, lap: Lap, weight_kg: float) -> None:
    element = _sub(activity, f"{{{TCX_NS}}}Lap")
    element.set("StartTime", utc_z(log.wall_time(lap.start_t_s)))
    _sub(element, f"{{{TCX_NS}}}TotalTimeSeconds", f"{lap.timer_s:.1f}")
    _sub(element, f"{{{TCX_NS}}}DistanceMeters", f"{lap.distance_m:.1f}")
    speeds = [sample.speed_kmh for sample in lap.samples if sample.speed_kmh is not None]
    if speeds:
        _sub(element, f"{{{TCX_NS}}}MaximumSpeed", f"{max(speeds) / _KMH_PER_MS:.3f}")
    kcal = kcal_between(log, lap.start_t_s, lap.end_t_s, weight_kg=weight_kg)
    _sub(element, f"{{{TCX_NS}}}Calories", str(round(kcal)))
    rates = _heart_rates(log, lap.samples)
    if rates:
        _heart_rate(element, f"{{{TCX_NS}}}AverageHeartRateBpm", round(sum(rates) / len(rates)))
        _heart_rate(element, f"{{{TCX_NS}}}MaximumHeartRateBpm", max(rates))
    _sub(element, f"{{{TCX_NS}}}Intensity", "Resting" if lap.rest else "Active")
    _sub(element, f"{{{TCX_NS}}}TriggerMethod", "Time")
    if lap.samples:
        _track(element, log, lap.samples)
    _sub(element, f"{{{TCX_NS}}}Notes", _lap_note(lap))


def _lap_note(lap: Lap) -> str:
    segment = lap.segment
    if segment is None:
        return "turn-around"
    return (
        f"segment {segment.index + 1}: {segment.direction.value} "
        f"{segment.speed_kmh:g} km/h for {segment.duration_s:g} s"
    )


def _heart_rates(log: SessionLog, samples: Sequence[Sample]) -> list[int]:
    if log.simulator:
        return []  # the simulator's heart rate is not a person's
    return [sample.heart_rate_bpm for sample in samples if sample.heart_rate_bpm]


def _track(lap: ET.Element, log: SessionLog, samples: Sequence[Sample]) -> None:
    track = _sub(lap, f"{{{TCX_NS}}}Track")
    for sample in samples:
        point = _sub(track, f"{{{TCX_NS}}}Trackpoint")
        _sub(point, f"{{{TCX_NS}}}Time", utc_z(log.wall_time(sample.t_s)))
        _sub(point, f"{{{TCX_NS}}}DistanceMeters", f"{sample.distance_m:.1f}")
        if sample.heart_rate_bpm and not log.simulator:
            _heart_rate(point, f"{{{TCX_NS}}}HeartRateBpm", sample.heart_rate_bpm)
        if sample.speed_kmh is not None:
            extensions = _sub(point, f"{{{TCX_NS}}}Extensions")
            tpx = _sub(extensions, f"{{{EXT_NS}}}TPX")
            _sub(tpx, f"{{{EXT_NS}}}Speed", f"{sample.speed_kmh / _KMH_PER_MS:.3f}")

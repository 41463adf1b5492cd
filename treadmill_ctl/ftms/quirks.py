"""Client-side settings for treadmills that deviate from the FTMS specification.

Some deviations cannot be recognised from one frame and need a setting the person
(or a device list) supplies for a machine, the way qdomyos-zwift keeps per-model code
paths. They are plain values handed to whoever needs them: nothing here is global,
and the default is the specification's behaviour.

The decoders in :mod:`treadmill_ctl.ftms.decode` read the wire as the specification
defines it; :class:`ClientQuirks` then turns their values into what the machine
really meant (``quirks.treadmill_data_in_kmh(data)``), and
:func:`treadmill_ctl.ftms.commands.set_target_speed` takes the speed unit to write.
Deviations that *can* be recognised from the bytes alone (a step count behind the
reserved Treadmill Data bit 13, extra zero bytes after a status, a console whose flags
promise more than it sends) need no setting: the decoders always handle them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from treadmill_ctl.ftms.observations import (
    CharacteristicValue,
    ControlPointRequest,
    MachineStatus,
    SpeedRange,
    TreadmillData,
)

__all__ = ["KMH_PER_MPH", "ClientQuirks", "SpeedUnit"]

KMH_PER_MPH: Final = 1.609344
"""Kilometres per hour in one mile per hour (the international mile, exactly)."""


class SpeedUnit(StrEnum):
    """The unit a treadmill really uses in the FTMS fields the spec defines in km/h."""

    KMH = "kmh"
    """As specified: 0.01 km/h."""
    MPH = "mph"
    """0.01 mph in km/h fields: Vitalwalk TM11GY (``02 64 00`` ran at 1.61 km/h),
    some Horizon and Bowflex models, a FitShow FS-BT-T4 whose speed range holds mph."""

    @property
    def kmh_per_unit(self) -> float:
        """Kilometres per hour in one of this unit (1.0, or 1.609344 for mph)."""
        return KMH_PER_MPH if self is SpeedUnit.MPH else 1.0


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientQuirks:
    """How one treadmill deviates from FTMS, applied to decoded values and commands.

    Attributes:
        speed_unit: The unit of every speed on the wire (Treadmill Data speeds, the
            Supported Speed Range, Set Target Speed, status 0x05). With
            :attr:`SpeedUnit.MPH` the ``*_in_kmh`` methods multiply speeds by
            :data:`KMH_PER_MPH`, so the rest of the program only ever sees km/h;
            pass the same unit to ``set_target_speed``. The tell on a real machine:
            a belt speed that settles at 1.609 times the target.
    """

    speed_unit: SpeedUnit = SpeedUnit.KMH

    def treadmill_data_in_kmh(self, data: TreadmillData) -> TreadmillData:
        """Treadmill Data with its (average) speed in km/h; pace is left as sent."""
        factor = self.speed_unit.kmh_per_unit
        if factor == 1.0:
            return data
        return dataclasses.replace(
            data,
            speed_kmh=_scaled(data.speed_kmh, factor),
            average_speed_kmh=_scaled(data.average_speed_kmh, factor),
        )

    def machine_status_in_kmh(self, status: MachineStatus) -> MachineStatus:
        """A machine status with a Target Speed Changed value in km/h."""
        factor = self.speed_unit.kmh_per_unit
        if factor == 1.0 or status.target_speed_kmh is None:
            return status
        return dataclasses.replace(status, target_speed_kmh=status.target_speed_kmh * factor)

    def speed_range_in_kmh(self, speed_range: SpeedRange) -> SpeedRange:
        """The Supported Speed Range in km/h (a FitShow FS-BT-T4 reports it in mph)."""
        factor = self.speed_unit.kmh_per_unit
        if factor == 1.0:
            return speed_range
        return dataclasses.replace(
            speed_range,
            min_kmh=speed_range.min_kmh * factor,
            max_kmh=speed_range.max_kmh * factor,
            increment_kmh=speed_range.increment_kmh * factor,
        )

    def control_point_request_in_kmh(self, request: ControlPointRequest) -> ControlPointRequest:
        """A decoded Set Target Speed command with its target in km/h."""
        factor = self.speed_unit.kmh_per_unit
        if factor == 1.0 or request.target_speed_kmh is None:
            return request
        return dataclasses.replace(request, target_speed_kmh=request.target_speed_kmh * factor)

    def apply(self, value: CharacteristicValue) -> CharacteristicValue:
        """Any decoded value as the machine meant it (values without speeds unchanged)."""
        if isinstance(value, TreadmillData):
            return self.treadmill_data_in_kmh(value)
        if isinstance(value, MachineStatus):
            return self.machine_status_in_kmh(value)
        if isinstance(value, SpeedRange):
            return self.speed_range_in_kmh(value)
        if isinstance(value, ControlPointRequest):
            return self.control_point_request_in_kmh(value)
        return value

"""A simulated BLE heart-rate strap (Heart Rate Service 0x180D) on the virtual radio.

It is worn by a :class:`~simulator.person.HeartRatePerson` who walks on the simulated
treadmill: every second the strap brings the heart up to date with the belt's real
speed and incline and notifies one Heart Rate Measurement (0x2A37) with the rate and
the RR intervals of the beats since the last one. Body Sensor Location (0x2A38)
reads "chest". It advertises as ``SIM-HRM`` with the service UUID 0x180D.

The encoder here is the simulator's own, written from the Heart Rate Service
specification (HRS v1.0 section 3.1): flags, a uint8 (or uint16 above 255) rate,
RR intervals in 1/1024 s, so a decoding bug in the client is caught, not mirrored.

Strap faults, written like the treadmill's (``KIND@T:ARG``, T in session seconds):

=========================  ===========================================================
``strap-drop@T:D``         the strap's link drops at T; it advertises again after D s
``strap-contact@T:D``      the electrodes lose contact for D s: contact bit clear, rate 0
``strap-spike@T:BPM``      one notification at T carries BPM (an artefact)
``strap-rise@T:BPM``       the heart climbs to BPM over about 20 s from T, and stays
=========================  ===========================================================

The trace records every notification the strap sent (``kind: "hr_strap"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from bumble import att, core, gatt, hci
from bumble.core import AdvertisingData

from simulator.errors import FaultSpecError
from simulator.person import HeartRatePerson, PersonConfig

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from bumble.device import Connection, Device

    from simulator.trace import TraceWriter

__all__ = [
    "HRM_ADDRESS",
    "HRM_NAME",
    "HeartRateStrap",
    "StrapFault",
    "StrapFaultKind",
    "encode_heart_rate_measurement",
    "is_strap_fault",
    "parse_strap_fault",
]

HRM_NAME: Final = "SIM-HRM"
"""The simulated strap's advertised name."""
HRM_ADDRESS: Final = "F0:7E:AD:00:00:02"
"""The simulated strap's random static address."""

HEART_RATE_SERVICE_UUID: Final = "180D"
HEART_RATE_MEASUREMENT_UUID: Final = "2A37"
BODY_SENSOR_LOCATION_UUID: Final = "2A38"

_FLAG_UINT16: Final = 0x01
_FLAG_CONTACT_DETECTED: Final = 0x02
_FLAG_CONTACT_SUPPORTED: Final = 0x04
_FLAG_RR: Final = 0x10
_LOCATION_CHEST: Final = 1
_RR_UNITS_PER_S: Final = 1024
_UINT8_MAX: Final = 0xFF
_UINT16_MAX: Final = 0xFFFF
_RISE_S: Final = 20.0
_AD_FLAGS: Final = bytes([0x06])
_HCI_TIMEOUT_S: Final = 2.0
_ADVERTISING_INTERVAL_MS: Final = 100.0


def encode_heart_rate_measurement(
    heart_rate_bpm: int, *, contact: bool | None, rr_intervals_s: Iterable[float] = ()
) -> bytes:
    """A Heart Rate Measurement value (HRS v1.0 section 3.1).

    Args:
        heart_rate_bpm: The rate; above 255 it goes as a uint16.
        contact: True/False: contact supported and detected or not; None: the strap
            does not report contact (both bits clear).
        rr_intervals_s: RR intervals in seconds, oldest first (at most 9 fit in a
            default 23-byte ATT payload; more are left out, as straps do).

    Raises:
        FaultSpecError: The rate is outside 0-65535 (a programming error in a fault).
    """
    if not 0 <= heart_rate_bpm <= _UINT16_MAX:
        raise FaultSpecError(f"heart rate {heart_rate_bpm} does not fit the measurement")
    flags = 0
    if contact is not None:
        flags |= _FLAG_CONTACT_SUPPORTED | (_FLAG_CONTACT_DETECTED if contact else 0)
    if heart_rate_bpm > _UINT8_MAX:
        flags |= _FLAG_UINT16
        body = struct.pack("<H", heart_rate_bpm)
    else:
        body = struct.pack("<B", heart_rate_bpm)
    rr = [min(_UINT16_MAX, max(0, round(value * _RR_UNITS_PER_S))) for value in rr_intervals_s]
    rr = rr[:9]
    if rr:
        flags |= _FLAG_RR
        body += b"".join(struct.pack("<H", value) for value in rr)
    return bytes([flags]) + body


class StrapFaultKind(StrEnum):
    """What goes wrong with the strap."""

    DROP = "strap-drop"
    CONTACT = "strap-contact"
    SPIKE = "strap-spike"
    RISE = "strap-rise"


@dataclass(frozen=True, slots=True)
class StrapFault:
    """One scheduled strap fault.

    Attributes:
        kind: What goes wrong.
        at_s: When, in session seconds.
        duration_s: How long (drop, contact).
        bpm: The rate (spike, rise).
    """

    kind: StrapFaultKind
    at_s: float
    duration_s: float = 0.0
    bpm: float | None = None

    def __str__(self) -> str:
        arg = self.bpm if self.bpm is not None else self.duration_s
        return f"{self.kind}@{self.at_s:g}:{arg:g}"


def is_strap_fault(spec: str) -> bool:
    """Whether a fault specification is one of the strap's (``strap-...``)."""
    return spec.strip().lower().startswith("strap-")


def parse_strap_fault(spec: str) -> StrapFault:
    """Parse ``strap-drop@T:D``, ``strap-contact@T:D``, ``strap-spike@T:BPM``, ``strap-rise@T:BPM``.

    Raises:
        FaultSpecError: The specification is malformed (one line: what and the form).
    """
    kind_text, at, rest = spec.strip().partition("@")
    try:
        kind = StrapFaultKind(kind_text.strip().lower())
    except ValueError:
        valid = ", ".join(k.value for k in StrapFaultKind)
        raise FaultSpecError(
            f"fault {spec!r}: unknown strap fault {kind_text!r}; valid kinds are: {valid}"
        ) from None
    time_text, colon, arg_text = rest.partition(":")
    if not at or not colon:
        raise FaultSpecError(f"fault {spec!r}: expected {kind}@T:ARG, e.g. {kind}@60:10")
    try:
        at_s, arg = float(time_text), float(arg_text)
    except ValueError:
        raise FaultSpecError(f"fault {spec!r}: T and ARG must be numbers") from None
    if not (math.isfinite(at_s) and math.isfinite(arg)) or at_s < 0 or arg <= 0:
        raise FaultSpecError(f"fault {spec!r}: T must be >= 0 and ARG > 0")
    if kind in {StrapFaultKind.SPIKE, StrapFaultKind.RISE}:
        if arg > _UINT16_MAX:
            raise FaultSpecError(f"fault {spec!r}: a heart rate fits in 0-65535 bpm")
        return StrapFault(kind, at_s, bpm=arg)
    return StrapFault(kind, at_s, duration_s=arg)


class HeartRateStrap:
    """A heart-rate strap served over GATT on a bumble device, worn by a simulated person.

    Args:
        device: The bumble device (not yet powered on).
        belt: Reads the belt's real (speed km/h, incline %) now.
        clock: The session's time now (seconds since the simulator opened).
        faults: The strap's faults.
        trace: Where to record what the strap sent.
        person: The person wearing it.
        name: The advertised name.
        interval_s: Notification period (straps notify about once a second).
    """

    def __init__(
        self,
        device: Device,
        *,
        belt: Callable[[], tuple[float, float]],
        clock: Callable[[], float],
        faults: Iterable[StrapFault] = (),
        trace: TraceWriter | None = None,
        person: HeartRatePerson | None = None,
        name: str = HRM_NAME,
        interval_s: float = 1.0,
    ) -> None:
        self.device: Final = device
        self.name: Final = name
        self.person: Final = person if person is not None else HeartRatePerson(PersonConfig())
        self.faults: Final = tuple(faults)
        self.trace: Final = trace
        self._belt = belt
        self._clock = clock
        self._interval_s = interval_s
        self._connection: Connection | None = None
        self._started = asyncio.Event()
        self._tasks: asyncio.TaskGroup | None = None
        self._spikes = sorted(f.at_s for f in self.faults if f.kind is StrapFaultKind.SPIKE)
        self._spike_bpm = {f.at_s: f.bpm for f in self.faults if f.kind is StrapFaultKind.SPIKE}
        self._rises = sorted(
            (f for f in self.faults if f.kind is StrapFaultKind.RISE), key=lambda f: f.at_s
        )
        self._blocked_until_s = 0.0
        self._advertising: asyncio.Future[None] | None = None
        self._measurement: gatt.Characteristic[bytes] = gatt.Characteristic(
            HEART_RATE_MEASUREMENT_UUID,
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            gatt.CharacteristicValue(read=_refuse_read),
        )
        device.add_services(
            [
                gatt.Service(
                    HEART_RATE_SERVICE_UUID,
                    [
                        self._measurement,
                        gatt.Characteristic(
                            BODY_SENSOR_LOCATION_UUID,
                            gatt.Characteristic.Properties.READ,
                            gatt.Characteristic.Permissions.READABLE,
                            bytes([_LOCATION_CHEST]),
                        ),
                    ],
                )
            ]
        )
        device.on(device.EVENT_CONNECTION, self._on_connection)

    @property
    def link_up(self) -> bool:
        """Whether a central is connected."""
        return self._connection is not None

    async def run(self) -> None:
        """Power on, advertise, notify every second until cancelled."""
        await self.device.power_on()
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                await self._advertise()
                self._started.set()
                tasks.create_task(self._beat_loop(), name="sim.hr-strap")
                tasks.create_task(self._drop_faults(), name="sim.hr-strap-drops")
        finally:
            self._tasks = None
            if self._advertising is not None and not self._advertising.done():
                with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                    async with asyncio.timeout(_HCI_TIMEOUT_S):
                        await self._advertising
            connection = self._connection
            if connection is not None:
                with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                    async with asyncio.timeout(_HCI_TIMEOUT_S):
                        await connection.disconnect()
            with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                async with asyncio.timeout(_HCI_TIMEOUT_S):
                    await self.device.stop_advertising()

    async def wait_started(self) -> None:
        """Return once the strap advertises."""
        await self._started.wait()

    async def _advertise(self) -> None:
        if self._connection is not None or self.device.is_advertising:
            return
        data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, _AD_FLAGS),
                    (
                        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        struct.pack("<H", 0x180D),
                    ),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                ]
            )
        )
        # Shielded: an HCI command cancelled half-way leaves bumble's host waiting
        # for an answer it can no longer take (the strap may be shut down meanwhile).
        self._advertising = asyncio.ensure_future(
            self.device.start_advertising(
                advertising_data=data,
                auto_restart=False,
                advertising_interval_min=_ADVERTISING_INTERVAL_MS,
                advertising_interval_max=_ADVERTISING_INTERVAL_MS,
            )
        )
        await asyncio.shield(self._advertising)

    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._event("hr_strap_link", link_state="up")

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._event("hr_strap_link", link_state="down", reason=int(reason))
        if self._clock() >= self._blocked_until_s and self._tasks is not None:
            self._tasks.create_task(self._advertise(), name="sim.hr-strap-advertise")

    async def _drop_faults(self) -> None:
        for fault in sorted(
            (f for f in self.faults if f.kind is StrapFaultKind.DROP), key=lambda f: f.at_s
        ):
            wait_s = fault.at_s - self._clock()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            self._blocked_until_s = self._clock() + fault.duration_s
            self._event("fault", fault=str(fault))
            with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                async with asyncio.timeout(_HCI_TIMEOUT_S):
                    await self.device.stop_advertising()
            connection = self._connection
            if connection is not None:
                with contextlib.suppress(core.BaseBumbleError, TimeoutError):
                    async with asyncio.timeout(_HCI_TIMEOUT_S):
                        await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)
            await asyncio.sleep(fault.duration_s)
            await self._advertise()

    def _contact_lost(self, t_s: float) -> bool:
        return any(
            f.kind is StrapFaultKind.CONTACT and f.at_s <= t_s < f.at_s + f.duration_s
            for f in self.faults
        )

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            t_s = self._clock()
            speed_kmh, incline_pct = self._belt()
            while self._rises and self._rises[0].at_s <= t_s:
                rise = self._rises.pop(0)
                self.person.rise_to(float(rise.bpm or 0), over_s=_RISE_S)
                self._event("fault", fault=str(rise))
            self.person.advance(t_s, speed_kmh=speed_kmh, incline_pct=incline_pct)
            beats = self.person.take_beats()
            true_bpm = self.person.heart_rate_bpm
            contact = not self._contact_lost(t_s)
            bpm = round(true_bpm) if contact else 0
            if self._spikes and self._spikes[0] <= t_s:
                bpm = round(self._spike_bpm[self._spikes.pop(0)] or 0)
            value = encode_heart_rate_measurement(
                bpm, contact=contact, rr_intervals_s=beats if contact else ()
            )
            connection = self._connection
            self._event(
                "hr_strap",
                data_hex=value.hex(),
                heart_rate_bpm=bpm,
                contact=contact,
                true_bpm=round(true_bpm, 1),
                sent=connection is not None,
                backward=self.person.backward,
            )
            if connection is not None:
                with contextlib.suppress(core.BaseBumbleError):
                    await self.device.notify_subscriber(connection, self._measurement, value)

    def _event(self, kind: str, **fields: str | float | bool | None) -> None:
        if self.trace is not None:
            self.trace.event(self._clock(), kind, **fields)


def _refuse_read(_connection: Connection) -> bytes:
    raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)

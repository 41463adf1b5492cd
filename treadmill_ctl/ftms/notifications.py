"""The link's notifications: bleak's callbacks, which decode, hand off and return.

:class:`Notifications` turns each value the treadmill notifies (Treadmill Data, split
records merged; Fitness Machine Status; Training Status; the control point's answers)
into one event in the link's stream, in the session's units (the client quirks
applied). A value that cannot be decoded is counted, logged and reported as
:class:`~treadmill_ctl.ftms.link_events.DecodeFailed`: never a command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from treadmill_ctl.errors import DecodeError
from treadmill_ctl.ftms.decode import (
    TreadmillDataAssembler,
    decode_machine_status,
    decode_training_status,
    parse_control_point_response,
)
from treadmill_ctl.ftms.link_events import (
    AnswerReceived,
    DataReceived,
    DecodeFailed,
    StatusReceived,
    TrainingStatusReceived,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from bleak.backends.characteristic import BleakGATTCharacteristic
    from structlog.typing import FilteringBoundLogger

    from treadmill_ctl.clock import Clock
    from treadmill_ctl.ftms.event_stream import EventStream
    from treadmill_ctl.ftms.link_events import LinkEvent
    from treadmill_ctl.ftms.observations import ControlPointResponse
    from treadmill_ctl.ftms.quirks import ClientQuirks

__all__ = ["Notifications"]


class Notifications:
    """The link's notification callbacks (see the module's docstring).

    Args:
        events: the link's stream, where each decoded value goes.
        clock: stamps the events.
        quirks: the client-side settings that put values in the session's units.
        answered: takes each control point answer before it becomes an event (it
            settles the command waiting for it).
        log: the link's logger.
    """

    def __init__(
        self,
        *,
        events: EventStream[LinkEvent],
        clock: Clock,
        quirks: ClientQuirks,
        answered: Callable[[ControlPointResponse], None],
        log: FilteringBoundLogger,
    ) -> None:
        self._events = events
        self._clock = clock
        self._quirks = quirks
        self._answered = answered
        self._log = log
        self._assembler = TreadmillDataAssembler()
        self.decode_errors = 0
        """Values that could not be decoded so far (notified, or read at connect)."""

    def reset(self) -> None:
        """Forget a split record half received (the link was lost)."""
        self._assembler = TreadmillDataAssembler()

    def on_treadmill_data(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        """Treadmill Data: a complete record becomes :class:`DataReceived`."""
        raw = bytes(value)
        try:
            data = self._assembler.feed(raw)
        except DecodeError as error:
            self._decode_failed("treadmill-data", raw, error)
            return
        if data is not None:
            self._events.put(DataReceived(self._quirks.treadmill_data_in_kmh(data), self._now()))

    def on_machine_status(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        """Fitness Machine Status: becomes :class:`StatusReceived`."""
        raw = bytes(value)
        try:
            status = decode_machine_status(raw)
        except DecodeError as error:
            self._decode_failed("machine-status", raw, error)
            return
        self._events.put(StatusReceived(self._quirks.machine_status_in_kmh(status), self._now()))

    def on_training_status(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        """Training Status: becomes :class:`TrainingStatusReceived`."""
        raw = bytes(value)
        try:
            status = decode_training_status(raw)
        except DecodeError as error:
            self._decode_failed("training-status", raw, error)
            return
        self._events.put(TrainingStatusReceived(status, self._now()))

    def on_control_point(self, _char: BleakGATTCharacteristic, value: bytearray) -> None:
        """A control point answer: settles its command, then becomes :class:`AnswerReceived`."""
        raw = bytes(value)
        try:
            response = parse_control_point_response(raw)
        except DecodeError as error:
            self._decode_failed("control-point", raw, error)
            return
        self._answered(response)
        self._events.put(AnswerReceived(response, self._now()))

    def read_failed(self, characteristic: str, raw: bytes, error: DecodeError) -> None:
        """A value read at connect that could not be decoded: counted and logged."""
        self.decode_errors += 1
        self._log.warning(
            "decode.failed", characteristic=characteristic, raw=raw.hex(), error=str(error)
        )

    def _decode_failed(self, characteristic: str, raw: bytes, error: DecodeError) -> None:
        self.read_failed(characteristic, raw, error)
        self._events.put(DecodeFailed(characteristic, raw, str(error), self._now()))

    def _now(self) -> float:
        return self._clock.now_s()

"""The ground-truth trace: what the simulated belt really did, as JSON lines.

The client records what it *believes* (decoded notifications); the trace records
what the machine *did*, so a test or a person can compare the two after a dry run.
One JSON object per line, flushed as written, so a crash loses nothing:

- ``{"t": 12.0, "kind": "sample", "belt_speed_kmh": ..., "target_speed_kmh": ...,
  "incline_pct": ..., "safety_key_in": true, "link_state": "up", "state": "running",
  ...}``
- ``{"t": 12.3, "kind": "control_point_write", "data_hex": "02f401",
  "op": "SET_TARGET_SPEED", "op_code": 2, "result": "SUCCESS", "result_code": 1}``
- ``{"t": 30.0, "kind": "<anything>", ...}`` for other events (faults, link changes).
"""

import json
import math
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, Self, TextIO

from simulator.encoding import ControlPointRequest, ResultCode, decode_control_point

type TraceValue = str | int | float | bool | None
"""A value a trace line may hold."""

_LINE: Final = json.JSONEncoder(separators=(",", ":"))
"""One encoder for every line (``json.dumps`` with options builds a new one per call)."""


class ObservableTreadmill(Protocol):
    """What a trace sample reads from the machine (``TreadmillModel`` has it all)."""

    @property
    def belt_speed_kmh(self) -> float: ...  # noqa: D102
    @property
    def target_speed_kmh(self) -> float: ...  # noqa: D102
    @property
    def incline_pct(self) -> float: ...  # noqa: D102
    @property
    def safety_key_in(self) -> bool: ...  # noqa: D102
    @property
    def state(self) -> str: ...  # noqa: D102
    @property
    def distance_m(self) -> float: ...  # noqa: D102
    @property
    def elapsed_s(self) -> float: ...  # noqa: D102


class TraceWriter:
    """Writes the ground-truth trace, one flushed JSON line per record.

    Args:
        sink: A text stream, a path (opened for writing, truncated, closed by
            :meth:`close`), or None to keep the records in :attr:`records` only
            (tests read them there). Records are kept in memory only for None.
    """

    def __init__(self, sink: TextIO | str | Path | None = None) -> None:
        self.records: list[dict[str, TraceValue]] = []
        self._stream: TextIO | None
        self._owned = False
        self._keep = sink is None
        if isinstance(sink, str | Path):
            self._stream = Path(sink).open("w", encoding="utf-8")  # noqa: SIM115 - closed by close()
            self._owned = True
        else:
            self._stream = sink

    def event(self, t: float, kind: str, **fields: TraceValue) -> None:
        """Record one event of ``kind`` at session time ``t`` with its fields."""
        record: dict[str, TraceValue] = {"t": round(t, 3), "kind": kind, **fields}
        if self._keep:
            self.records.append(record)
        if self._stream is not None:
            self._stream.write(_LINE.encode(record) + "\n")
            self._stream.flush()

    def sample(self, t: float, model: ObservableTreadmill, *, link_up: bool) -> None:
        """Record the belt's real state at session time ``t``.

        Ten times a simulated second, so a line for a stream is put together here, the
        same text the encoder writes for the record (a number the encoder would spell
        differently, not finite, goes through the encoder).
        """
        stream = self._stream
        numbers = (
            round(t, 3),
            round(model.belt_speed_kmh, 3),
            round(model.target_speed_kmh, 3),
            round(model.incline_pct, 2),
            round(model.distance_m, 2),
            round(model.elapsed_s, 2),
        )
        if stream is not None and not self._keep and all(map(math.isfinite, numbers)):
            t_s, belt, target, incline, distance, elapsed = numbers
            stream.write(
                f'{{"t":{t_s!r},"kind":"sample","belt_speed_kmh":{belt!r},'
                f'"target_speed_kmh":{target!r},"incline_pct":{incline!r},'
                f'"safety_key_in":{"true" if model.safety_key_in else "false"},'
                f'"link_state":"{"up" if link_up else "down"}",'
                f'"state":{_LINE.encode(str(model.state))},'
                f'"distance_m":{distance!r},"elapsed_s":{elapsed!r}}}\n'
            )
            stream.flush()
            return
        self.event(
            t,
            "sample",
            belt_speed_kmh=round(model.belt_speed_kmh, 3),
            target_speed_kmh=round(model.target_speed_kmh, 3),
            incline_pct=round(model.incline_pct, 2),
            safety_key_in=model.safety_key_in,
            link_state="up" if link_up else "down",
            state=str(model.state),
            distance_m=round(model.distance_m, 2),
            elapsed_s=round(model.elapsed_s, 2),
        )

    def control_point_write(self, t: float, data: bytes, result: ResultCode | None) -> None:
        """Record a control point write received, decoded, and how it was answered.

        Args:
            t: Session time of the write.
            data: The bytes written.
            result: The result code the machine chose (None when it sent no answer
                the machine decided on, e.g. a write dropped by a fault).
        """
        request = decode_control_point(data)
        if isinstance(request, ControlPointRequest):
            op: str = request.op.name
            op_code: int = request.op
        else:
            op = "UNKNOWN" if request.result is ResultCode.OP_CODE_NOT_SUPPORTED else "MALFORMED"
            op_code = request.op_code
        self.event(
            t,
            "control_point_write",
            data_hex=bytes(data).hex(),
            op=op,
            op_code=op_code,
            result=None if result is None else result.name,
            result_code=None if result is None else int(result),
        )

    def close(self) -> None:
        """Close the file this writer opened (a stream it was given stays open)."""
        if self._owned and self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

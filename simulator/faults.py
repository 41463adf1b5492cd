"""Fault injection: what goes wrong, and when, in a simulated session.

A fault is written ``KIND@T[:ARG]`` with ``T`` in session seconds (a float is fine):

========================  ==========================================================
``disconnect@T[:D]``      the link drops at T and comes back after D s (default 5)
``stall@T:D``             the link stays up but no Treadmill Data is sent for D s
``frozen@T:D``            byte-identical Treadmill Data (elapsed time frozen) for D s
``cp-silent@T:D``         control point writes are accepted but never answered
``cp-reject@T:D``         every control point command is answered "operation failed"
``safety-key@T``          the safety key is pulled: the belt stops, status 0x03
``console-speed@T:KMH``   someone presses the console: the belt goes to KMH
========================  ==========================================================

The physical model applies ``safety-key`` and ``console-speed`` (and produces the
frozen frames); the GATT server applies the link and control point faults by asking
the :class:`FaultSchedule` which faults are active at the current session time.
"""

import bisect
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from simulator.errors import FaultSpecError

DEFAULT_DISCONNECT_S = 5.0
"""How long the link stays down after ``disconnect@T`` when no duration is given."""


class FaultKind(StrEnum):
    """What goes wrong, named as in a fault specification."""

    DISCONNECT = "disconnect"
    STALL = "stall"
    FROZEN = "frozen"
    CP_SILENT = "cp-silent"
    CP_REJECT = "cp-reject"
    SAFETY_KEY = "safety-key"
    CONSOLE_SPEED = "console-speed"


MODEL_FAULTS = frozenset({FaultKind.SAFETY_KEY, FaultKind.CONSOLE_SPEED})
"""The fault kinds the physical model applies by itself."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault.

    Attributes:
        kind: What goes wrong.
        at_s: When it starts, in session seconds.
        duration_s: How long it lasts; 0 for the one-shot kinds (``safety-key``,
            ``console-speed``), which happen once at ``at_s``.
        speed_kmh: The speed a person sets on the console (``console-speed`` only).
    """

    kind: FaultKind
    at_s: float
    duration_s: float = 0.0
    speed_kmh: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.at_s) or self.at_s < 0:
            raise FaultSpecError(f"{self.kind}: time must be a finite number >= 0")
        if not math.isfinite(self.duration_s) or self.duration_s < 0:
            raise FaultSpecError(f"{self.kind}: duration must be a finite number >= 0")
        if self.kind is FaultKind.CONSOLE_SPEED:
            if self.speed_kmh is None or not math.isfinite(self.speed_kmh):
                raise FaultSpecError("console-speed: needs a finite speed in km/h")
            if self.speed_kmh < 0:
                raise FaultSpecError("console-speed: speed must be >= 0 km/h")
        elif self.speed_kmh is not None:
            raise FaultSpecError(f"{self.kind}: takes no speed")

    @property
    def end_s(self) -> float:
        """When the fault is over, in session seconds (exclusive)."""
        return self.at_s + self.duration_s

    def is_active(self, t_s: float) -> bool:
        """Whether the fault is in effect at session time ``t_s``.

        A duration fault is active on ``[at_s, at_s + duration_s)``. A one-shot
        fault is never "active": it is *due* once (see :meth:`FaultSchedule.due`).
        """
        return self.duration_s > 0 and self.at_s <= t_s < self.end_s

    def __str__(self) -> str:
        if self.kind is FaultKind.CONSOLE_SPEED:
            return f"{self.kind}@{self.at_s:g}:{self.speed_kmh:g}"
        if self.kind is FaultKind.SAFETY_KEY:
            return f"{self.kind}@{self.at_s:g}"
        return f"{self.kind}@{self.at_s:g}:{self.duration_s:g}"


def _number(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(
            f"fault {spec!r}: {what} {text!r} is not a number (format KIND@T[:ARG])"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise FaultSpecError(f"fault {spec!r}: {what} must be a finite number >= 0")
    return value


def parse_fault(spec: str) -> Fault:
    """Parse one fault specification ``KIND@T[:ARG]``.

    Args:
        spec: For example ``"disconnect@30:8"``, ``"safety-key@12.5"``,
            ``"console-speed@40:4.5"``.

    Returns:
        The fault it describes.

    Raises:
        FaultSpecError: The specification is malformed; the one-line message says
            what was wrong and the expected form.
    """
    text = spec.strip()
    kind_text, at, rest = text.partition("@")
    if not at:
        raise FaultSpecError(f"fault {spec!r}: expected KIND@T[:ARG], e.g. stall@30:5")
    try:
        kind = FaultKind(kind_text.strip().lower())
    except ValueError:
        valid = ", ".join(k.value for k in FaultKind)
        raise FaultSpecError(
            f"fault {spec!r}: unknown kind {kind_text!r}; valid kinds are: {valid}"
        ) from None
    time_text, colon, arg_text = rest.partition(":")
    at_s = _number(time_text.strip(), "time", spec)
    arg = _number(arg_text.strip(), "argument", spec) if colon else None
    if kind is FaultKind.SAFETY_KEY:
        if arg is not None:
            raise FaultSpecError(f"fault {spec!r}: safety-key takes no argument")
        return Fault(kind, at_s)
    if kind is FaultKind.CONSOLE_SPEED:
        if arg is None:
            raise FaultSpecError(f"fault {spec!r}: console-speed needs a speed, e.g. @40:4.5")
        return Fault(kind, at_s, speed_kmh=arg)
    if kind is FaultKind.DISCONNECT:
        duration_s = DEFAULT_DISCONNECT_S if arg is None else arg
    elif arg is None:
        raise FaultSpecError(f"fault {spec!r}: {kind} needs a duration, e.g. {kind}@30:5")
    else:
        duration_s = arg
    if duration_s <= 0:
        raise FaultSpecError(f"fault {spec!r}: duration must be > 0 s")
    return Fault(kind, at_s, duration_s=duration_s)


class FaultSchedule:
    """The faults of one session, asked at a given session time.

    Duration faults are queried with :meth:`is_active`; every fault (one-shot or
    not) is also reported once by :meth:`due` when its start time has come, so a
    caller can act on an onset (drop the link). A caller passes the kinds it
    handles to :meth:`due`; the physical model keeps its own queue of
    :data:`MODEL_FAULTS`, so draining every kind here never takes them from it.
    """

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._faults: tuple[Fault, ...] = tuple(sorted(faults, key=lambda f: f.at_s))
        self._fired: set[int] = set()

    @classmethod
    def parse(cls, specs: Iterable[str]) -> "FaultSchedule":
        """Build a schedule from fault specifications (``--sim-fault`` values).

        Raises:
            FaultSpecError: One of the specifications is malformed.
        """
        return cls(parse_fault(spec) for spec in specs)

    def add(self, fault: Fault) -> None:
        """Schedule one more fault (one started by hand while the session runs).

        It is kept in start order; faults already reported by :meth:`due` stay
        reported. The physical model's own queue is not changed: a one-shot fault
        added here is reported by :meth:`due` only.
        """
        index = bisect.bisect_right([f.at_s for f in self._faults], fault.at_s)
        self._faults = (*self._faults[:index], fault, *self._faults[index:])
        self._fired = {i + 1 if i >= index else i for i in self._fired}

    @property
    def faults(self) -> tuple[Fault, ...]:
        """Every scheduled fault, in start order."""
        return self._faults

    def __len__(self) -> int:
        return len(self._faults)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def is_active(self, kind: FaultKind, t_s: float) -> bool:
        """Whether a fault of ``kind`` is in effect at session time ``t_s``."""
        return any(f.kind is kind and f.is_active(t_s) for f in self._faults)

    def active(self, t_s: float) -> list[Fault]:
        """The duration faults in effect at session time ``t_s``."""
        return [f for f in self._faults if f.is_active(t_s)]

    def active_until(self, kind: FaultKind, t_s: float) -> float | None:
        """When the active fault(s) of ``kind`` end, or None if none is active."""
        ends = [f.end_s for f in self._faults if f.kind is kind and f.is_active(t_s)]
        return max(ends) if ends else None

    def due(self, t_s: float, kinds: Collection[FaultKind] | None = None) -> list[Fault]:
        """The faults that have started by ``t_s`` and were not yet reported.

        Args:
            t_s: The session time now.
            kinds: Only report (and consume) faults of these kinds; None for all.

        Returns:
            The newly due faults in start order; each fault is returned once.
        """
        fired: list[Fault] = []
        for index, fault in enumerate(self._faults):
            if fault.at_s > t_s:
                break
            if index in self._fired or (kinds is not None and fault.kind not in kinds):
                continue
            self._fired.add(index)
            fired.append(fault)
        return fired

"""Quirk modes: ways real treadmills deviate from the FTMS specification.

Each quirk makes the simulator behave like a family of real machines described in
FTMS_NOTES.md, so that the client can be tested against them before it meets one.
The physical model honours the behavioural quirks, the encoders the wire-format ones,
and the GATT server the transport ones (``cp-notify``, ``cp-mute``,
``no-control-point``).
"""

from collections.abc import Iterable
from enum import StrEnum

from simulator.errors import QuirkSpecError


class Quirk(StrEnum):
    """One deviation from the specification, named as on the command line."""

    START_TOGGLES = "start-toggles"
    """Start (0x07) sent while the belt runs pauses it (Vitalwalk TM11GY, FitShow)."""
    NEEDS_START = "needs-start"
    """Set Target Speed fails with "operation failed" until the belt runs (Sole F80)."""
    MPH = "mph"
    """Speeds on the wire are mph although FTMS says km/h (Vitalwalk, Horizon)."""
    CP_NOTIFY = "cp-notify"
    """Control point answers are notifications, not indications (UREVO E1L)."""
    CP_MUTE = "cp-mute"
    """Control point writes are obeyed but never answered (KingSmith MC-21)."""
    NO_CONTROL_POINT = "no-control-point"
    """The machine has no control point at all (Sole F65): read-only."""
    MIN_SPEED_SNAPBACK = "min-speed-snapback"
    """A target below the minimum is accepted, then snaps back to it after 3 s."""
    STOP_UNANNOUNCED = "stop-unannounced"
    """A stop pressed on the console sends no Fitness Machine Status."""
    STEP_COUNT_BIT13 = "step-count-bit13"
    """Treadmill Data carries a 3-byte step count in reserved flag bit 13 (UREVO)."""
    SPLIT_RECORDS = "split-records"
    """Treadmill Data is split across two notifications, the first with More Data."""
    IGNORES_STOP = "ignores-stop"
    """A faulty machine that answers Stop with success and keeps the belt running."""
    NO_HEART_RATE = "no-heart-rate"
    """No heart rate in Treadmill Data: no handgrip sensor (most walking pads), or
    grips nobody holds walking backward."""


def parse_quirks(names: Iterable[str]) -> frozenset[Quirk]:
    """Turn quirk names (as given to ``--sim-quirk``) into quirks.

    Args:
        names: Quirk names; case and surrounding blanks are ignored, and an
            underscore is accepted for a dash.

    Returns:
        The set of quirks named.

    Raises:
        QuirkSpecError: A name is not a known quirk; the message lists the valid ones.
    """
    quirks: set[Quirk] = set()
    for name in names:
        normalised = name.strip().lower().replace("_", "-")
        try:
            quirks.add(Quirk(normalised))
        except ValueError:
            valid = ", ".join(quirk.value for quirk in Quirk)
            raise QuirkSpecError(
                f"unknown simulator quirk {name!r}; valid quirks are: {valid}"
            ) from None
    return frozenset(quirks)

"""What a profile may hold: its keys, the bounds of each value, and hints for mistakes.

The checker (:mod:`~treadmill_ctl.profiles.checker`) refuses what falls outside these
and, for an unknown key, suggests the known one a person most likely meant.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from treadmill_ctl.profiles.durations import DURATION_EXAMPLES

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

KM_PER_MILE = 1.609344

MAX_SPEED_KMH = 25.0
"""Above this a value is absurd for any walking workout (it is likely a unit mix-up)."""
MIN_SPEED_KMH = 0.5
"""Below this no treadmill belt runs (FTMS treadmills start at 0.5-1.0 km/h); a segment
slower than the treadmill's own minimum is walked at that minimum, and the person told."""
MAX_PROBLEMS = 50
"""Problems listed for one profile; past this many the rest are counted, not listed."""
MAX_DESCRIPTION_CHARS = 2000
MIN_INCLINE_PCT = -10.0
MAX_INCLINE_PCT = 40.0
MAX_SEGMENT_S = 4 * 3600.0
MAX_PROFILE_S = 4 * 3600.0
MAX_REPEAT_TIMES = 200
MIN_WEIGHT_KG = 20.0
MAX_WEIGHT_KG = 350.0
MAX_NAME_CHARS = 80
MAX_CUE_CHARS = 200

TOP_KEYS = ("name", "description", "weight_kg", "limits", "step")
SEGMENT_KEYS = (
    "direction",
    "speed_kmh",
    "speed_mph",
    "incline_pct",
    "duration",
    "cue",
    "hr_zone",
    "max_speed_kmh",
)
MIN_ZONE_BPM = 60
"""A heart-rate zone below this is no walking effort."""
MAX_ZONE_BPM = 200
"""A heart-rate zone above this is no walking effort."""
MIN_ZONE_WIDTH_BPM = 6
"""A narrower zone cannot be held with 0.1 km/h steps: the guide would chase it."""
REPEAT_KEYS = ("repeat", "segments")

STEP_HINT = (
    "write every segment as a [[step]] table and a repeated block as a [[step]] with "
    "repeat = N and segments = [...], so the order is kept as written"
)
SPEED_HINT = (
    "write the unit in the key and a plain number as the value: speed_kmh = 2.0 or speed_mph = 1.2"
)
INCLINE_HINT = "write incline_pct = 2 (a number, in percent)"
DURATION_HINT = f"write duration = {DURATION_EXAMPLES}"
_KEY_HINTS: Mapping[str, str] = {
    "segment": STEP_HINT,
    "segments": STEP_HINT,
    "repeat": STEP_HINT,
    "speed": SPEED_HINT,
    "speed_ms": "m/s is not accepted: multiply by 3.6 and write speed_kmh",
    "speed_mps": "m/s is not accepted: multiply by 3.6 and write speed_kmh",
    "speed_m_s": "m/s is not accepted: multiply by 3.6 and write speed_kmh",
    "incline": INCLINE_HINT,
    "grade": INCLINE_HINT,
    "grade_pct": INCLINE_HINT,
    "duration_s": DURATION_HINT,
    "duration_min": DURATION_HINT,
    "time": DURATION_HINT,
    "seconds": DURATION_HINT,
    "minutes": DURATION_HINT,
    "times": "write repeat = N on a step that holds segments = [...]",
    "weight": "write weight_kg = 70 (in kilograms)",
    "weight_lb": "give the weight in kilograms: weight_kg = pounds / 2.2046",
    "weight_lbs": "give the weight in kilograms: weight_kg = pounds / 2.2046",
}


def suggest(key: str, allowed: Sequence[str]) -> str:
    """Return a hint for an unknown key: a known mix-up, or the closest allowed key."""
    if hint := _KEY_HINTS.get(key.lower()):
        return f" ({hint})"
    close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f" (known keys: {', '.join(allowed)})"


def speed_text_message(key: str, value: str) -> str:
    """Explain a speed written as text, such as ``speed_kmh = "2 km/h"``."""
    lowered = value.lower()
    hint = SPEED_HINT
    if "mph" in lowered or "mi" in lowered:
        hint = "write speed_mph = 1.2 (a number, without the unit in the text)"
    elif "km" in lowered:
        hint = "write speed_kmh = 2.0 (a number, without the unit in the text)"
    return f'{key} = "{value}" is text, not a number: {hint}'

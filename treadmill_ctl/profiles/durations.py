"""Durations as a physiotherapist writes them: ``"30s"``, ``"2m"``, ``"1m30s"``, ``"1h"``.

A profile's durations are short strings with units, so that ``"2m"`` can never be
read as two seconds; a plain number is taken as seconds. :func:`format_duration`
writes the same notation back, and the two functions round-trip.
"""

from __future__ import annotations

import math
import re

_DURATION = re.compile(
    r"""
    (?:(?P<hours>\d+)\s*h)?\s*
    (?:(?P<minutes>\d+)\s*m)?\s*
    (?:(?P<seconds>\d+(?:\.\d+)?)\s*s)?
    """,
    re.VERBOSE,
)

_SECONDS_PER_MINUTE = 60
_MAX_DURATION_CHARS = 40
"""The longest sensible duration text ("1h 30m 15.5s" is 12): longer is refused unread,
so no digit string is ever converted (a 400-digit number of seconds would be inf)."""
_SHOWN_CHARS = 24
_SECONDS_PER_HOUR = 3600

DURATION_EXAMPLES = '"30s", "2m", "1m30s" or a number of seconds such as 90'
"""How to write a duration, quoted in error hints."""


def parse_duration(text: str) -> float:
    """Read a duration such as ``"1m30s"`` into seconds.

    Hours, minutes and seconds come in that order, each at most once, with their
    unit letter (``h``, ``m``, ``s``); whitespace between the parts is allowed.

    Args:
        text: The duration as written in a profile.

    Returns:
        The duration in seconds (not checked for being positive or plausible: the
        profile loader does that, with the segment's location).

    Raises:
        ValueError: The text is not a duration; the message says how to write one.
    """
    stripped = text.strip().lower()
    shown = repr(text) if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]!r}..."
    if len(stripped) > _MAX_DURATION_CHARS:
        raise ValueError(f"{shown} is far too long for a duration; write {DURATION_EXAMPLES}")
    match = _DURATION.fullmatch(stripped)
    if not stripped or match is None or not any(match.groupdict().values()):
        hint = _hint_for(stripped)
        raise ValueError(f"{shown} is not a duration{hint}; write {DURATION_EXAMPLES}")
    hours = int(match["hours"] or 0)
    minutes = int(match["minutes"] or 0)
    seconds = float(match["seconds"] or 0)
    return hours * _SECONDS_PER_HOUR + minutes * _SECONDS_PER_MINUTE + seconds


def _hint_for(text: str) -> str:
    """Say what is probably wrong with a duration that did not parse."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return f" (a unit is missing: {text}s or {text}m?)"
    if re.search(r"min|sec|hour|hr", text):
        return " (units are single letters: h, m, s)"
    if ":" in text:
        return " (clock notation such as 1:30 is ambiguous)"
    return ""


def format_duration(duration_s: float) -> str:
    """Write seconds in the notation :func:`parse_duration` reads, e.g. ``"1m30s"``.

    Whole seconds are written without a fraction; a fraction of a second is kept
    to the millisecond. Zero is ``"0s"``.

    Args:
        duration_s: A finite, non-negative number of seconds.

    Returns:
        The shortest hours/minutes/seconds form, largest unit first.

    Raises:
        ValueError: ``duration_s`` is negative, NaN or infinite.
    """
    if not math.isfinite(duration_s) or duration_s < 0:
        raise ValueError(f"cannot format {duration_s!r} as a duration")
    millis = round(duration_s * 1000)
    whole_s, fraction_ms = divmod(millis, 1000)
    hours, rest_s = divmod(whole_s, _SECONDS_PER_HOUR)
    minutes, seconds = divmod(rest_s, _SECONDS_PER_MINUTE)
    parts: list[str] = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if fraction_ms:
        parts.append(f"{seconds}.{fraction_ms:03d}".rstrip("0") + "s")
    elif seconds or not parts:
        parts.append(f"{seconds}s")
    return "".join(parts)

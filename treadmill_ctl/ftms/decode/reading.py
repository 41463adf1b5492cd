"""Reading the fields of a characteristic value: little-endian numbers, sizes, notes.

Shared by the decoders of each characteristic; the ``notes`` they build say what was
odd about the bytes in words (``"2 bytes after the status ignored"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from treadmill_ctl.errors import DecodeError

if TYPE_CHECKING:
    from enum import IntFlag

type ByteData = bytes | bytearray | memoryview
"""What bleak hands a notification callback (``bytearray``) or a test passes."""


def uint(data: bytes, offset: int, size: int) -> int:
    """The unsigned little-endian number of ``size`` bytes at ``offset``."""
    return int.from_bytes(data[offset : offset + size], "little", signed=False)


def sint(data: bytes, offset: int, size: int) -> int:
    """The signed (two's complement) little-endian number of ``size`` bytes at ``offset``."""
    return int.from_bytes(data[offset : offset + size], "little", signed=True)


def all_ones(size: int, *, signed: bool) -> int:
    """The "not available" value of a field: its largest value (0xFFFF, 0x7FFF, 0xFF)."""
    return (1 << (8 * size - signed)) - 1


def plural(count: int, word: str) -> str:
    """``"1 byte"``, ``"2 bytes"``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def extra_bytes_note(raw: bytes, size: int, what: str) -> tuple[str, ...]:
    """The note for bytes beyond a fixed-size value, if there are any."""
    if len(raw) > size:
        return (f"{plural(len(raw) - size, 'byte')} after the {what} ignored",)
    return ()


def require(raw: bytes, size: int, what: str) -> None:
    """Raise :class:`DecodeError` when ``raw`` is shorter than the value's ``size``."""
    if len(raw) < size:
        raise DecodeError(f"{what} needs {size} bytes, got {len(raw)}")


def known_bits(flag_type: type[IntFlag]) -> int:
    """The bits an IntFlag type names (the rest are reserved)."""
    return sum(int(member) for member in flag_type)

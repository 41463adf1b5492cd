"""Where a table or key of a profile sits in its TOML text: the line errors name."""

from __future__ import annotations

import bisect
import re

_HEADER = re.compile(r"^\s*(?P<open>\[\[?)\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")


class SourceMap:
    """Find the line of a table or key in the TOML text, where it can be found.

    ``tomllib`` gives positions for syntax errors only, so the checker looks the
    lines up in the text: table headers and ``key =`` lines. It is a best effort
    (keys written in unusual ways are not found), so every lookup may return None and
    the error then names the step without a line.
    """

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._headers: list[tuple[int, str, bool]] = []
        for number, line in enumerate(self._lines, start=1):
            if match := _HEADER.match(line):
                name = re.sub(r"\s*\.\s*", ".", match["name"])
                self._headers.append((number, name, match["open"] == "[["))
        self._steps = [n for n, name, is_array in self._headers if name == "step" and is_array]
        self._header_lines = [n for n, _, _ in self._headers]

    def _next_header_after(self, line: int) -> int:
        index = bisect.bisect_right(self._header_lines, line)
        return (
            self._header_lines[index] if index < len(self._header_lines) else len(self._lines) + 1
        )

    def _key_line(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
        for number in range(start, min(end, len(self._lines) + 1)):
            if pattern.match(self._lines[number - 1]):
                return number
        return None

    def top_key(self, key: str) -> int | None:
        """Line of a top-level ``key =``, before the first table."""
        first_header = self._headers[0][0] if self._headers else len(self._lines) + 1
        return self._key_line(key, 1, first_header)

    def table(self, name: str) -> int | None:
        """Line of the ``[name]`` header."""
        return next((n for n, header, _ in self._headers if header == name), None)

    def table_key(self, name: str, key: str) -> int | None:
        """Line of ``key =`` inside the ``[name]`` table."""
        start = self.table(name)
        if start is None:
            return None
        return self._key_line(key, start + 1, self._next_header_after(start))

    def step(self, index: int) -> int | None:
        """Line of the ``[[step]]`` header of step ``index`` (from 0)."""
        return self._steps[index] if index < len(self._steps) else None

    def step_key(self, index: int, key: str) -> int | None:
        """Line of ``key =`` inside step ``index``."""
        start = self.step(index)
        if start is None:
            return None
        return self._key_line(key, start + 1, self._next_header_after(start))

    def repeat_segment(self, index: int, position: int, count: int) -> int | None:
        """Line of segment ``position`` of the repeated block at step ``index``.

        Segments are either inline tables (one per line, starting with ``{``) or
        ``[[step.segments]]`` tables; if the lines found do not match ``count``, the
        step's own line is the best that can be said.
        """
        start = self.step(index)
        if start is None:
            return None
        end = next(
            (n for n, name, _ in self._headers if n > start and not name.startswith("step.")),
            len(self._lines) + 1,
        )
        candidates = [
            number
            for number in range(start + 1, end)
            if self._lines[number - 1].lstrip().startswith("{")
            or any(n == number and name == "step.segments" for n, name, _ in self._headers)
        ]
        return candidates[position] if len(candidates) == count else start

    def repeat_segment_key(self, index: int, position: int, count: int, key: str) -> int | None:
        """Line of ``key`` in a segment of a repeated block (its inline table's line)."""
        line = self.repeat_segment(index, position, count)
        if line is None:
            return None
        if self._lines[line - 1].lstrip().startswith("{"):
            return line
        return self._key_line(key, line + 1, self._next_header_after(line)) or line

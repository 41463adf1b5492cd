"""The key reader: a terminal's bytes read on the running loop, never blocking it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Final, Self

import structlog

from treadmill_ctl.ui.keys.terminal_mode import TerminalMode
from treadmill_ctl.ui.keys.vt100 import KeyDecoder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

_log = structlog.get_logger(__name__)

#: Default seconds to wait after a lone ESC byte for the rest of a sequence.
#: Terminals send a whole sequence in one write; 50 ms tells a person's Esc from a
#: PageUp even over ssh, and keeps the Esc stop fast.
DEFAULT_ESCAPE_TIMEOUT_S: Final = 0.05


class KeyReader:
    """Reads keys from a file descriptor on the running loop, without ever blocking it.

    While the ``with`` block is open, the loop calls back when bytes arrive; they are
    decoded and each key is handed to ``on_key`` at once. A lone Esc is reported when
    no more bytes follow within ``escape_timeout_s`` of the loop's clock (virtual
    time under the accelerated loop). The descriptor's terminal mode is not touched:
    wrap the reader in :class:`TerminalMode` (or use :func:`terminal_keys`).

    Args:
        fd: the descriptor to read (a terminal, or a pipe in tests).
        on_key: called with each key name; must return at once.
        on_close: called once if the input ends (the terminal went away), after
            which no more keys can arrive: the runner should treat it as a reason to
            stop, since the person's stop keys are gone.
        escape_timeout_s: how long a started escape sequence may wait for its rest.
    """

    def __init__(
        self,
        fd: int,
        on_key: Callable[[str], object],
        *,
        on_close: Callable[[], object] | None = None,
        escape_timeout_s: float = DEFAULT_ESCAPE_TIMEOUT_S,
    ) -> None:
        self.fd = fd
        self._on_key = on_key
        self._on_close = on_close
        self._escape_timeout_s = escape_timeout_s
        self._decoder = KeyDecoder()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._escape_timer: asyncio.TimerHandle | None = None

    def __enter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.fd, self._on_readable)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_reading()

    def _stop_reading(self) -> None:
        if self._escape_timer is not None:
            self._escape_timer.cancel()
            self._escape_timer = None
        if self._loop is not None:
            self._loop.remove_reader(self.fd)
            self._loop = None

    def _on_readable(self) -> None:
        try:
            data = os.read(self.fd, 1024)
        except BlockingIOError:
            return
        except OSError:  # EIO: the terminal hung up
            data = b""
        if not data:
            self._closed()
            return
        if self._escape_timer is not None:
            self._escape_timer.cancel()
            self._escape_timer = None
        self._deliver(self._decoder.feed(data))
        if self._decoder.pending and self._loop is not None:
            self._escape_timer = self._loop.call_later(self._escape_timeout_s, self._on_timeout)

    def _on_timeout(self) -> None:
        self._escape_timer = None
        self._deliver(self._decoder.flush())

    def _closed(self) -> None:
        self._deliver(self._decoder.flush())
        self._stop_reading()
        _log.warning("hotkey.input_closed", fd=self.fd)
        if self._on_close is not None:
            self._on_close()

    def _deliver(self, keys: list[str]) -> None:
        for key in keys:
            self._on_key(key)


@contextlib.contextmanager
def terminal_keys(
    fd: int,
    on_key: Callable[[str], object],
    *,
    on_close: Callable[[], object] | None = None,
    escape_timeout_s: float = DEFAULT_ESCAPE_TIMEOUT_S,
) -> Iterator[KeyReader]:
    """Put the terminal ``fd`` in cbreak mode and read its keys, for a ``with`` block.

    Must be entered inside the running event loop. The terminal is restored on
    leaving, whatever ends the block (see :class:`TerminalMode`).
    """
    with (
        TerminalMode(fd),
        KeyReader(fd, on_key, on_close=on_close, escape_timeout_s=escape_timeout_s) as reader,
    ):
        yield reader

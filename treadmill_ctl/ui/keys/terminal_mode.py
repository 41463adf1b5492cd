"""Cbreak mode on the terminal, restored however the program ends."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import termios
from typing import TYPE_CHECKING, Any, Final, Self

if TYPE_CHECKING:
    from types import FrameType, TracebackType

_RESTORE_ON_SIGNALS: Final = (signal.SIGTERM, signal.SIGHUP)


class TerminalMode:
    """Cbreak mode on a terminal for the time of a ``with`` block, restored however it ends.

    Keys arrive one at a time without echo; output processing is kept (so rich can
    draw), and Ctrl-C still raises SIGINT for the runner's stop-then-exit handler.
    Ctrl-Z (suspend) and Ctrl-backslash (quit with a core dump) are disabled, and so is
    XON/XOFF flow control: none of them may freeze or end the program while the belt
    runs. Ctrl-S and Ctrl-Q arrive as keys.

    The saved attributes are written back on leaving the block, by an ``atexit``
    hook if the block is never left, and by a SIGTERM/SIGHUP handler that restores
    and then dies of the signal as before, installed only while no one else handles
    those signals (the runner's own handlers, installed later, take precedence and
    leave through the ``with``).

    Args:
        fd: a terminal file descriptor, usually ``sys.stdin.fileno()``.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._saved: list[Any] | None = None
        self._signal_handlers: dict[int, object] = {}

    def __enter__(self) -> Self:
        saved = termios.tcgetattr(self.fd)
        termios.tcsetattr(self.fd, termios.TCSANOW, _cbreak_attributes(self.fd, saved))
        self._saved = saved
        atexit.register(self.restore)
        self._install_signal_handlers()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()
        atexit.unregister(self.restore)
        self._remove_signal_handlers()

    def restore(self) -> None:
        """Write the saved attributes back (once; harmless if the terminal is gone)."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def _install_signal_handlers(self) -> None:
        for signum in _RESTORE_ON_SIGNALS:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                if signal.getsignal(signum) is signal.SIG_DFL:
                    signal.signal(signum, self._restore_and_die)
                    self._signal_handlers[signum] = self._restore_and_die

    def _remove_signal_handlers(self) -> None:
        for signum, handler in self._signal_handlers.items():
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signum) == handler:
                    signal.signal(signum, signal.SIG_DFL)
        self._signal_handlers.clear()

    def _restore_and_die(self, signum: int, _frame: FrameType | None) -> None:
        self.restore()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _cbreak_attributes(fd: int, saved: list[Any]) -> list[Any]:
    """The attributes of ``saved`` with cbreak mode and the dangerous keys disabled."""
    attributes = list(saved)
    iflag, lflag, cc = attributes[0], attributes[3], attributes[6]
    if not (isinstance(iflag, int) and isinstance(lflag, int) and isinstance(cc, list)):
        raise TypeError("unexpected termios attributes")
    attributes[0] = iflag & ~(termios.IXON | termios.IXOFF)
    attributes[3] = lflag & ~(termios.ECHO | termios.ICANON)
    try:
        disabled = os.fpathconf(fd, "PC_VDISABLE")
    except (OSError, ValueError):
        disabled = 0
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    for control in (termios.VSUSP, termios.VQUIT):
        cc[control] = bytes([disabled])
    attributes[6] = cc
    return attributes

"""Ctrl-C, SIGTERM and a hang-up outside a session's event loop.

While a session runs, its event loop's own handlers stop the belt (``cli_run``).
Around it the program has two other moments, and a signal means something else in
each:

- before the session (modules loading, settings and profile being read): nothing is
  open and nothing has moved, so the program leaves at once with one line;
- after the session (the loop has ended, the belt was commanded to stop or never
  started; what is left is writing the summary and leaving): cutting that short
  would lose the one account the person reads of what the belt did, so the first
  signal is noted and the program ends as it was ending; a second one, for a person
  who thinks it hangs, leaves at once.

Signals belong to the whole process, so this is the one place that holds them
outside the loop (standard library only).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from types import FrameType

PROGRAM_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals a person (or the system, for them) sends to end the program."""


class ProgramSignals:
    """The program's signal handling outside a session's loop, one moment at a time."""

    def __init__(self, *, before_line: str, before_status: int, finishing_status: int) -> None:
        """How a signal ends the program before the session, and while finishing.

        ``before_line`` and ``before_status``: before the session (the command may set
        them once it is known); ``finishing_status``: a second signal while finishing.
        """
        self.before_line = before_line
        self.before_status = before_status
        self._finishing_status = finishing_status
        self._previous: dict[int, object] = {}
        self.noted_while_finishing: int | None = None
        """The signal that came while the program was finishing, if one did."""

    def install(self) -> None:
        """From now until :meth:`finishing`: a signal ends the program at once."""
        for signum in PROGRAM_SIGNALS:
            self._previous.setdefault(signum, signal.signal(signum, self._leave_before))

    def finishing(self) -> None:
        """The session's loop has ended: a first signal is noted, a second leaves."""
        for signum in PROGRAM_SIGNALS:
            previous = signal.signal(signum, self._while_finishing)
            self._previous.setdefault(signum, previous)

    def restore(self) -> None:
        """Put back what was there before :meth:`install` (for a caller in-process)."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _leave_before(self, _signum: int, _frame: FrameType | None) -> None:
        # Not an exception: raised while modules load, a KeyboardInterrupt can land in
        # a weakref callback, where the interpreter prints it and carries on.
        _tell(self.before_line)
        os._exit(self.before_status)

    def _while_finishing(self, signum: int, _frame: FrameType | None) -> None:
        if self.noted_while_finishing is None:
            self.noted_while_finishing = signum
            return
        for stream in (sys.stdout, sys.stderr):  # what the summary has said so far
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        _tell("interrupted while finishing; the session had already ended")
        os._exit(self._finishing_status)


def _tell(line: str) -> None:
    """One line on standard error, if there is still one (a hang-up closes it)."""
    with contextlib.suppress(OSError):
        os.write(2, f"{line}\n".encode())


_current: ProgramSignals | None = None


def start(*, before_line: str, before_status: int, finishing_status: int) -> ProgramSignals:
    """Install the program's handling for the moment before a session (see module)."""
    global _current  # noqa: PLW0603 - signals are the process's, one handling at a time
    _current = ProgramSignals(
        before_line=before_line, before_status=before_status, finishing_status=finishing_status
    )
    _current.install()
    return _current


def session_loop_ended() -> None:
    """The session's loop has let go of the signals: the program is finishing."""
    if _current is not None:
        _current.finishing()


def stop(handling: ProgramSignals | None = None) -> None:
    """Put back the handlers from before :func:`start` (tests call ``main`` in-process).

    ``handling``: the one :func:`start` returned; by default the current one.
    """
    global _current  # noqa: PLW0603
    handling = handling or _current
    if handling is not None:
        handling.restore()
    if _current is handling:
        _current = None

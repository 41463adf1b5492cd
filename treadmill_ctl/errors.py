"""The one exception hierarchy of treadmill_ctl.

Every error the program raises on purpose derives from :class:`TreadmillCtlError`,
so a caller can catch the project's errors without catching everything, and each
subclass is something a caller can act on.

This module sits below every layer and imports nothing of the project. An error that
carries a type of one layer lives in that layer, still under
:class:`TreadmillCtlError`: :class:`~treadmill_ctl.ftms.commands.CommandRejected`
(with the FTMS result code) is in :mod:`treadmill_ctl.ftms.commands`.
"""

from __future__ import annotations


class TreadmillCtlError(Exception):
    """Root of every error raised on purpose by treadmill_ctl."""


class ConfigError(TreadmillCtlError):
    """A settings or limits file holds a value that cannot be used."""


class ProfileError(TreadmillCtlError):
    """A profile cannot be run; ``location`` says where the problem is."""

    def __init__(self, message: str, *, location: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.problem = message


class LinkError(TreadmillCtlError):
    """The Bluetooth link to the treadmill failed or is not there."""


class DecodeError(TreadmillCtlError):
    """A characteristic value could not be decoded."""


class CommandRefused(TreadmillCtlError):
    """A command was refused before anything was written (bad value, no control point)."""


class CommandTimeout(TreadmillCtlError):
    """The treadmill did not answer a control point command in time."""

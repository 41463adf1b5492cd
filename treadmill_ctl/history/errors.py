"""Errors of the session history, each one something a person can act on."""

from __future__ import annotations

from treadmill_ctl.errors import TreadmillCtlError


class HistoryError(TreadmillCtlError):
    """A session record cannot be found, read or used for what was asked."""


class SessionNotFound(HistoryError):
    """No record matches what the person named (a path, a number or a name prefix)."""


class UnreadableRecord(HistoryError):
    """A file exists but holds no session record that can be read."""


class NoSessionYet(HistoryError):
    """There is no session to work from (none recorded, or none in which the person walked)."""


class NothingToExport(HistoryError):
    """The record holds no belt sample: an export would be an empty activity."""

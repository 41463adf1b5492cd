"""Remote commands: parse a ``cmd`` message, decide whether it may reach the session.

A command is a JSON object, ``{"command": "stop", "id": "abc"}``; ``id`` is optional
and echoed in the reply. The policy, in the order it is applied:

- ``stop`` (also ``emergency_stop``, ``estop``, or the bare text ``stop``) is always
  accepted, whatever else the message holds: nothing may stand between a person and
  a stop. It becomes ``SessionControl.emergency_stop("mqtt")`` (a latch).
- ``pause``, ``end`` and a negative ``nudge_speed`` slow the belt down and are accepted.
- ``toggle_pause`` and a positive ``nudge_speed`` would move the belt or speed it
  up: refused unless the settings allow remote control (and the governor still
  refuses the resume half of a toggle: only a person at the treadmill resumes).
- ``start``, ``resume`` and ``rearm`` are never accepted from remote: a person at
  the treadmill starts or resumes the belt (SAFETY.md invariant 7), and an
  emergency stop is not reset from afar (EN 957-6).
- On the broadcast topic (``<prefix>/all/cmd``) only ``stop`` and ``pause`` count.
- A retained command is a replay of an old message, not a request made now: refused.
- Anything malformed or unknown is refused with a reason; it never reaches the session.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final, TypeGuard

if TYPE_CHECKING:
    from treadmill_ctl.session.events import SessionControl

MAX_PAYLOAD_BYTES: Final = 1024
MAX_ID_CHARS: Final = 128
MAX_NUDGE_KMH: Final = 1.0
SOURCE: Final = "mqtt"
"""The ``source`` every request from the bridge carries, for the session record."""


class CommandName(StrEnum):
    """Commands the bridge knows; knowing one does not mean accepting it."""

    STOP = "stop"
    PAUSE = "pause"
    END = "end"
    RESUME = "resume"
    TOGGLE_PAUSE = "toggle_pause"
    NUDGE_SPEED = "nudge_speed"
    SET_SPEED = "set_speed"
    START = "start"
    REARM = "rearm"


_ALIASES: Final = {"emergency_stop": CommandName.STOP, "estop": CommandName.STOP}
_BROADCAST_COMMANDS: Final = frozenset({CommandName.STOP, CommandName.PAUSE})
_NEED_REMOTE_CONTROL: Final = frozenset(
    {CommandName.RESUME, CommandName.TOGGLE_PAUSE, CommandName.SET_SPEED}
)
_NEVER_FROM_REMOTE: Final = frozenset({CommandName.START, CommandName.RESUME, CommandName.REARM})
_FIELDS: Final = {
    CommandName.NUDGE_SPEED: frozenset({"command", "id", "delta_kmh"}),
    CommandName.SET_SPEED: frozenset({"command", "id", "speed_kmh"}),
}
_BASIC_FIELDS: Final = frozenset({"command", "id"})


class RefusalReason(StrEnum):
    """Why a command did not reach the session; sent in the reply as ``reason``."""

    TOO_LARGE = "too_large"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_COMMAND = "missing_command"
    UNKNOWN_COMMAND = "unknown_command"
    BAD_ARGUMENT = "bad_argument"
    RETAINED = "retained"
    NOT_FOR_ALL = "not_for_all_treadmills"
    REMOTE_CONTROL_DISABLED = "remote_control_disabled"
    NEEDS_PERSON_AT_TREADMILL = "needs_person_at_treadmill"
    UNSUPPORTED = "unsupported"
    SESSION_ERROR = "session_error"


@dataclass(frozen=True, slots=True)
class RemoteCommand:
    """A well-formed command; :func:`authorize` says whether it may be dispatched."""

    name: CommandName
    request_id: str | int | None = None
    delta_kmh: float | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """A command that goes no further; ``detail`` is the sentence for the reply."""

    reason: RefusalReason
    detail: str
    command: str | None = None
    request_id: str | int | None = None


def decide(
    payload: bytes, *, allow_remote_control: bool, broadcast: bool = False, retained: bool = False
) -> RemoteCommand | Refused:
    """Parse ``payload`` and apply the policy of this module in one step.

    Args:
        payload: the raw MQTT payload.
        allow_remote_control: the settings' ``allow_remote_control``.
        broadcast: the message came on ``<prefix>/all/cmd``.
        retained: the broker flagged the message as retained (a replay).
    """
    parsed = parse_command(payload)
    if isinstance(parsed, Refused):
        return parsed
    if retained:
        return _refuse(
            parsed,
            RefusalReason.RETAINED,
            "retained commands are replays and are ignored; publish without the retain flag",
        )
    return authorize(parsed, allow_remote_control=allow_remote_control, broadcast=broadcast) or (
        parsed
    )


def parse_command(payload: bytes) -> RemoteCommand | Refused:
    """Turn a payload into a :class:`RemoteCommand`, or say why it is not one."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Refused(RefusalReason.TOO_LARGE, f"payload over {MAX_PAYLOAD_BYTES} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(RefusalReason.MALFORMED_JSON, "payload is not UTF-8 text")
    if text.strip().lower() == CommandName.STOP:
        return RemoteCommand(CommandName.STOP)
    try:
        message = json.loads(text)
    except ValueError as exc:
        return Refused(RefusalReason.MALFORMED_JSON, f"payload is not JSON: {exc}")
    if not isinstance(message, dict):
        return Refused(
            RefusalReason.NOT_AN_OBJECT,
            'payload must be a JSON object such as {"command": "stop"}',
        )
    return _parse_object(message)


def authorize(
    command: RemoteCommand, *, allow_remote_control: bool, broadcast: bool = False
) -> Refused | None:
    """``None`` when ``command`` may reach the session, else why not."""
    name = command.name
    if name is CommandName.STOP:
        return None
    if broadcast and name not in _BROADCAST_COMMANDS:
        return _refuse(
            command, RefusalReason.NOT_FOR_ALL, "only stop and pause may be sent to all treadmills"
        )
    if name in _NEVER_FROM_REMOTE:
        return _refuse(
            command,
            RefusalReason.NEEDS_PERSON_AT_TREADMILL,
            f"{name} needs a person at the treadmill; it is never accepted over MQTT",
        )
    speeds_up = name is CommandName.NUDGE_SPEED and (command.delta_kmh or 0.0) > 0
    if (name in _NEED_REMOTE_CONTROL or speeds_up) and not allow_remote_control:
        return _refuse(
            command,
            RefusalReason.REMOTE_CONTROL_DISABLED,
            f"{name} would move the belt or speed it up; remote control is not allowed"
            " (allow_remote_control in [mqtt])",
        )
    if name is CommandName.SET_SPEED:
        return _refuse(
            command, RefusalReason.UNSUPPORTED, "set_speed is not supported; use nudge_speed"
        )
    return None


def dispatch(command: RemoteCommand, control: SessionControl) -> None:
    """Hand an authorized command to the session (returns at once, like the control)."""
    match command.name:
        case CommandName.STOP:
            control.emergency_stop(SOURCE)
        case CommandName.PAUSE:
            control.pause(SOURCE)
        case CommandName.END:
            control.end(SOURCE)
        case CommandName.RESUME:
            control.resume(SOURCE)
        case CommandName.TOGGLE_PAUSE:
            control.toggle_pause(SOURCE)
        case CommandName.NUDGE_SPEED if command.delta_kmh is not None:
            control.nudge_speed(command.delta_kmh, SOURCE)
        case _:
            msg = f"{command.name} cannot be dispatched; authorize() refuses it"
            raise AssertionError(msg)


def reply_json(treadmill_id: str, outcome: RemoteCommand | Refused, *, topic: str) -> bytes:
    """The reply payload for ``outcome``: accepted or refused with a reason."""
    reply: dict[str, object] = {
        "treadmill_id": treadmill_id,
        "id": outcome.request_id,
        "topic": topic,
    }
    if isinstance(outcome, RemoteCommand):
        reply |= {"command": outcome.name, "accepted": True}
    else:
        reply |= {
            "command": outcome.command,
            "accepted": False,
            "reason": outcome.reason,
            "detail": outcome.detail,
        }
    return json.dumps(reply, separators=(",", ":")).encode()


def _parse_object(message: dict[str, object]) -> RemoteCommand | Refused:
    raw_id = message.get("id")
    request_id = raw_id if _valid_id(raw_id) else None
    raw_name = message.get("command")
    if raw_name is None:
        return Refused(RefusalReason.MISSING_COMMAND, 'no "command" field', request_id=request_id)
    if not isinstance(raw_name, str):
        return Refused(
            RefusalReason.BAD_ARGUMENT, '"command" must be a string', request_id=request_id
        )
    key = raw_name.strip().lower()
    name = _ALIASES.get(key) or _lookup(key)
    if name is CommandName.STOP:
        return RemoteCommand(CommandName.STOP, request_id=request_id)
    shown = raw_name[:40]
    if name is None:
        known = ", ".join(CommandName)
        return Refused(
            RefusalReason.UNKNOWN_COMMAND,
            f"unknown command {shown!r}; known: {known}",
            command=shown,
            request_id=request_id,
        )
    problem = _problem(message, name, raw_id)
    if problem is not None:
        return Refused(RefusalReason.BAD_ARGUMENT, problem, command=name, request_id=request_id)
    delta = message.get("delta_kmh")
    return RemoteCommand(
        name, request_id=request_id, delta_kmh=float(delta) if _is_number(delta) else None
    )


def _problem(message: dict[str, object], name: CommandName, raw_id: object) -> str | None:
    unknown = sorted(set(message) - _FIELDS.get(name, _BASIC_FIELDS))
    if unknown:
        return f"unknown field(s) for {name}: {', '.join(unknown)}"
    if raw_id is not None and not _valid_id(raw_id):
        return f'"id" must be a string of at most {MAX_ID_CHARS} characters or an integer'
    if name is CommandName.NUDGE_SPEED:
        delta = message.get("delta_kmh")
        if not (_is_number(delta) and 0 < abs(delta) <= MAX_NUDGE_KMH):
            return f'nudge_speed needs "delta_kmh", a non-zero number within +-{MAX_NUDGE_KMH}'
    return None


def _lookup(key: str) -> CommandName | None:
    try:
        return CommandName(key)
    except ValueError:
        return None


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _valid_id(value: object) -> TypeGuard[str | int]:
    if isinstance(value, str):
        return len(value) <= MAX_ID_CHARS
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse(command: RemoteCommand, reason: RefusalReason, detail: str) -> Refused:
    return Refused(reason, detail, command=command.name, request_id=command.request_id)

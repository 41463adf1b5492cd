"""Remote commands: parse a ``cmd`` message, decide whether it may reach the session.

A command is a JSON object, ``{"command": "stop", "id": "abc"}``; ``id`` is optional
and echoed in the reply. The policy, in the order it is applied:

- ``stop`` (also ``emergency_stop``, ``estop``, or the bare text ``stop``) is always
  accepted, whatever else the message holds: nothing may stand between a person and
  a stop. It becomes ``SessionControl.emergency_stop(RequestSource.MQTT)`` (a latch).
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

Decoding is defensive, because anyone who can publish on the broker can send
anything: at most :data:`MAX_PAYLOAD_BYTES`, nesting at most :data:`MAX_DEPTH`
deep (checked on the bytes before JSON parses them), integers of at most
:data:`MAX_INT_DIGITS` digits (checked on the text before conversion, so a
400-digit ``delta_kmh`` is refused, not an OverflowError), no ``NaN`` or
``Infinity``, no repeated keys. :func:`decide` never raises: whatever the payload,
it returns an outcome the bridge can answer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Final, TypeGuard

from treadmill_ctl.session.events import RequestSource

if TYPE_CHECKING:
    from treadmill_ctl.session.events import ControlOutcome, SessionControl

MAX_PAYLOAD_BYTES: Final = 1024
MAX_DEPTH: Final = 8
"""Deepest JSON nesting looked at; a command needs 1 (an object of plain values)."""
MAX_INT_DIGITS: Final = 18
"""Longest integer accepted, in digits; it always fits a float and an int64."""
MAX_ID_CHARS: Final = 128
MAX_NUDGE_KMH: Final = 1.0
SOURCE: Final = RequestSource.MQTT
"""The source every request from the bridge carries: never the person (SAFETY.md
invariant 7), whatever the message says or the settings allow."""


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
    DECLINED = "declined"
    """The session's governor looked at the request and did not act on it."""
    DROPPED = "dropped"
    """Commands arrived faster than they could be handled; they were not acted on."""


@dataclass(frozen=True, slots=True)
class RemoteCommand:
    """A well-formed command; :func:`authorize` says whether it may be dispatched."""

    name: CommandName
    request_id: str | int | None = None
    delta_kmh: float | None = None
    detail: str | None = None
    """What the session said about it once dispatched (a limit applied...), if anything."""


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
    try:
        parsed = parse_command(payload)
    except Exception:  # noqa: BLE001 - a bug here must still give an answer, never a raise
        parsed = Refused(RefusalReason.MALFORMED_JSON, "payload could not be read")
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
    message: object = (
        RemoteCommand(CommandName.STOP)
        if text.strip().lower() == CommandName.STOP
        else _load_json(text)
    )
    if isinstance(message, Refused | RemoteCommand):
        return message
    if isinstance(message, _DuplicateKeys):
        return _duplicate_refusal(message)
    if not isinstance(message, dict):
        return Refused(
            RefusalReason.NOT_AN_OBJECT,
            'payload must be a JSON object such as {"command": "stop"}',
        )
    return _parse_object(message)


def _load_json(text: str) -> object:
    """The JSON value of ``text``, decoded within the bounds, or why not."""
    if json_depth(text) > MAX_DEPTH:
        return Refused(RefusalReason.MALFORMED_JSON, f"payload nested deeper than {MAX_DEPTH}")
    try:
        return json.loads(
            text,
            parse_int=_bounded_int,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_keys,
        )
    except (ValueError, RecursionError) as exc:
        return Refused(RefusalReason.MALFORMED_JSON, f"payload is not JSON: {str(exc)[:80]}")


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


def dispatch(command: RemoteCommand, control: SessionControl) -> RemoteCommand | Refused:
    """Hand an authorized command to the session; what the session decided about it.

    The control's answer (a :class:`~treadmill_ctl.session.events.ControlOutcome`)
    makes the reply true: a pause the governor refused (already paused) comes back
    as :attr:`RefusalReason.DECLINED` with the governor's reason. A control that
    answers ``None`` is taken at its word that it acted.
    """
    outcome: ControlOutcome | None
    match command.name:
        case CommandName.STOP:
            outcome = control.emergency_stop(SOURCE)
        case CommandName.PAUSE:
            outcome = control.pause(SOURCE)
        case CommandName.END:
            outcome = control.end(SOURCE)
        case CommandName.RESUME:
            outcome = control.resume(SOURCE)
        case CommandName.TOGGLE_PAUSE:
            outcome = control.toggle_pause(SOURCE)
        case CommandName.NUDGE_SPEED if command.delta_kmh is not None:
            outcome = control.nudge_speed(command.delta_kmh, SOURCE)
        case _:
            msg = f"{command.name} cannot be dispatched; authorize() refuses it"
            raise AssertionError(msg)
    if outcome is None:
        return command
    if not outcome.accepted:
        return _refuse(command, RefusalReason.DECLINED, outcome.detail or "the session declined")
    return replace(command, detail=outcome.detail) if outcome.detail else command


def reply_json(treadmill_id: str, outcome: RemoteCommand | Refused, *, topic: str) -> bytes:
    """The reply payload for ``outcome``: accepted or refused with a reason."""
    reply: dict[str, object] = {
        "treadmill_id": treadmill_id,
        "id": outcome.request_id,
        "topic": topic,
    }
    if isinstance(outcome, RemoteCommand):
        reply |= {"command": outcome.name, "accepted": True}
        if outcome.detail:
            reply["detail"] = outcome.detail
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
    shown = printable(raw_name[:40])
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


def dropped_reply_json(
    treadmill_id: str,
    *,
    count: int,
    request_ids: list[str | int],
    topic: str,
    closing: bool = False,
) -> bytes:
    """One reply for ``count`` commands not acted on (their ids, as far as known).

    Dropped because they came faster than they could be handled, or, with
    ``closing``, because the session ended before their turn.
    """
    why = (
        "the session ended before their turn"
        if closing
        else "arrived faster than they could be handled"
    )
    reply: dict[str, object] = {
        "treadmill_id": treadmill_id,
        "id": request_ids[0] if len(request_ids) == 1 and count == 1 else None,
        "topic": topic,
        "command": None,
        "accepted": False,
        "reason": RefusalReason.DROPPED,
        "detail": (
            f"{count} command(s) not acted on: {why}; send again if still needed"
            " (a stop is never dropped)"
        ),
        "dropped": count,
        "dropped_ids": request_ids,
    }
    return json.dumps(reply, separators=(",", ":")).encode()


def printable(text: str) -> str:
    """``text`` with control characters replaced by ``?``, safe to log or show."""
    return "".join(char if char.isprintable() else "?" for char in text)


def json_depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest in ``text``, outside strings; linear, no parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@dataclass(frozen=True, slots=True)
class _OutOfRange:
    """A JSON number or constant never converted (too many digits, NaN, Infinity).

    It stays in the parsed message as this marker, so the field it is in is refused
    while a stop in the same message is still a stop.
    """

    text: str


class _DuplicateKeys(dict[str, object]):
    """An object that named a key twice; kept whole so a stop among them still counts."""

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        super().__init__(pairs)
        self.commands = [value for key, value in pairs if key == "command"]
        self.repeated = sorted({key for key, _ in pairs if [k for k, _ in pairs].count(key) > 1})


def _bounded_int(text: str) -> int | _OutOfRange:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _OutOfRange(text[:24])
    return int(text)


def _no_constant(text: str) -> _OutOfRange:
    return _OutOfRange(text)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) == len(keys):
        return dict(pairs)
    return _DuplicateKeys(pairs)


def _duplicate_refusal(message: _DuplicateKeys) -> RemoteCommand | Refused:
    """A repeated key is refused, unless one of the ``command`` values is a stop."""
    for value in message.commands:
        if isinstance(value, str):
            key = value.strip().lower()
            if (_ALIASES.get(key) or _lookup(key)) is CommandName.STOP:
                return RemoteCommand(CommandName.STOP)
    return Refused(
        RefusalReason.BAD_ARGUMENT, f"key(s) given twice: {', '.join(message.repeated)[:80]}"
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
            shown = delta.text if isinstance(delta, _OutOfRange) else repr(delta)[:24]
            return (
                f'nudge_speed needs "delta_kmh", a non-zero number within +-{MAX_NUDGE_KMH},'
                f" not {shown}"
            )
    return None


def _lookup(key: str) -> CommandName | None:
    try:
        return CommandName(key)
    except ValueError:
        return None


def _is_number(value: object) -> TypeGuard[float]:
    """A finite int or float; ints are range-checked before any float conversion."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_INT_BOUND < value < _INT_BOUND
    return isinstance(value, float) and math.isfinite(value)


_INT_BOUND: Final = 10**MAX_INT_DIGITS


def _valid_id(value: object) -> TypeGuard[str | int]:
    if isinstance(value, str):
        return len(value) <= MAX_ID_CHARS
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse(command: RemoteCommand, reason: RefusalReason, detail: str) -> Refused:
    return Refused(reason, detail, command=command.name, request_id=command.request_id)

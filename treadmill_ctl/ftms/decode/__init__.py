"""Bytes from a treadmill into typed observations, tolerating what real treadmills send.

Entry points: :func:`decode_characteristic` for any characteristic we read, the
``decode_*`` function of each one, :class:`TreadmillDataAssembler` for records split
over several notifications, :func:`to_json_dict` and :func:`decode_hex_command` for
``treadmill-ctl decode CHAR HEX``; all importable from this package. One module per
characteristic: :mod:`.treadmill_data` (with the assembler), :mod:`.status` (Fitness
Machine Status, Training Status), :mod:`.features` (Feature, the speed and incline
ranges), :mod:`.control_point`; :mod:`.characteristic` holds the one entry point, the
JSON and the hex input, :mod:`.reading` what they share to read the bytes.

The contract is the same for every decoder: it returns a value or raises
:class:`~treadmill_ctl.errors.DecodeError`, never another exception, whatever the
bytes. Bytes the value can still be read from are decoded, and what was odd about
them is said in the value's ``notes``; only a value with nothing usable in it (too
short for its fixed part, an unknown control point op code) is an error.

Why these decoders walk the bytes themselves instead of calling pyftms's models
(``pyftms.models.TreadmillData`` and friends, parsed with
``pyftms.serializer.get_serializer(model).deserialize(data)``): the models are
all-or-nothing and strict, and every quirk in ``FTMS_NOTES.md`` falls outside them.
In pyftms 0.4.15 a frame shorter than its flags promise raises ``EOFError`` instead of
yielding the fields that are there; a frame with extra bytes (``04 00 00``) fails an
``assert`` (which ``python -O`` removes, silently accepting it); an elevation gain of
0xFFFF raises ``TypeError``; elevation gain is converted with ``int()`` and loses its
0.1 m resolution; its status and training-status enums are ``STRICT`` and reject the
reserved values real machines send; and its scaling multiplies by 0.01, giving values
like 0.5700000000000001. So the layout below is written from the specification (FTMS
v1.0 section 4.4 and the 2017 characteristic XML), with the same field order and
sentinels as pyftms's model (and its reading of reserved bit 13 as a step count),
and the test suite checks these decoders against pyftms's models on every
frame pyftms does accept, so the two stay in agreement where both apply.
"""

from treadmill_ctl.ftms.decode.characteristic import (
    decode_characteristic,
    decode_hex_command,
    parse_hex,
    to_json_dict,
)
from treadmill_ctl.ftms.decode.control_point import (
    decode_control_point,
    parse_control_point_response,
)
from treadmill_ctl.ftms.decode.features import (
    decode_features,
    decode_incline_range,
    decode_speed_range,
)
from treadmill_ctl.ftms.decode.reading import ByteData
from treadmill_ctl.ftms.decode.status import decode_machine_status, decode_training_status
from treadmill_ctl.ftms.decode.treadmill_data import (
    MAX_PARTS,
    TreadmillDataAssembler,
    decode_treadmill_data,
)

__all__ = [
    "MAX_PARTS",
    "ByteData",
    "TreadmillDataAssembler",
    "decode_characteristic",
    "decode_control_point",
    "decode_features",
    "decode_hex_command",
    "decode_incline_range",
    "decode_machine_status",
    "decode_speed_range",
    "decode_training_status",
    "decode_treadmill_data",
    "parse_control_point_response",
    "parse_hex",
    "to_json_dict",
]

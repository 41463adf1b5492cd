"""The MQTT topics of one treadmill, all under ``<prefix>/<treadmill_id>/``.

| topic | direction | retained | what |
|---|---|---|---|
| ``state`` | out | yes | ``{"state": "latched", "reason": "safety_key", ...}`` on change |
| ``telemetry`` | out | no | belt speed, target, incline, distance... about 1 Hz |
| ``event`` | out | no | latches, segment changes, the session summary |
| ``availability`` | out | yes | ``online``; the broker publishes ``offline`` (last will) |
| ``cmd`` | in | - | ``{"command": "stop", "id": "..."}`` |
| ``reply`` | out | no | the answer to each command: accepted, refused, or dropped |

``<prefix>/all/cmd`` reaches every treadmill on the broker ("stop all" in a gym).
``docs/mosquitto-gym.acl`` is a broker ACL that lets only staff publish there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self

from treadmill_ctl.telemetry.mqtt_settings import BROADCAST_ID

if TYPE_CHECKING:
    from treadmill_ctl.telemetry.mqtt_settings import MqttSettings

ONLINE: Final = "online"
OFFLINE: Final = "offline"


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names for one treadmill; see the module docstring for what each carries."""

    prefix: str
    treadmill_id: str

    @classmethod
    def for_settings(cls, settings: MqttSettings) -> Self:
        """The topics named by ``settings.prefix`` and ``settings.treadmill_id``."""
        return cls(prefix=settings.prefix, treadmill_id=settings.treadmill_id)

    @property
    def base(self) -> str:
        """``<prefix>/<treadmill_id>``."""
        return f"{self.prefix}/{self.treadmill_id}"

    @property
    def state(self) -> str:
        """Retained session state, published when it changes."""
        return f"{self.base}/state"

    @property
    def telemetry(self) -> str:
        """Belt figures, about once a second."""
        return f"{self.base}/telemetry"

    @property
    def event(self) -> str:
        """Session events (latches, segment changes, summary)."""
        return f"{self.base}/event"

    @property
    def availability(self) -> str:
        """Retained ``online`` / ``offline``; the last will sets ``offline``."""
        return f"{self.base}/availability"

    @property
    def cmd(self) -> str:
        """Commands for this treadmill."""
        return f"{self.base}/cmd"

    @property
    def reply(self) -> str:
        """Answers to commands, whichever topic they came on."""
        return f"{self.base}/reply"

    @property
    def broadcast_cmd(self) -> str:
        """Commands for every treadmill under the prefix (only stop and pause)."""
        return f"{self.prefix}/{BROADCAST_ID}/cmd"

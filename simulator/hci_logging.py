"""bumble's controller and host, without paying for debug lines nobody will read.

bumble logs every HCI packet that crosses between a host and its controller at DEBUG,
four lines per ATT exchange, and builds each line (the packet's coloured, field by
field description) in an f-string *before* ``logger.debug`` looks at the level. On the
virtual radio that is most of what the HCI layer costs: a 60-minute dry run sends
about 12,000 packets, each described twice and thrown away twice.

:class:`QuietController` and :class:`QuietHost` hand each packet on exactly as bumble
does, and only skip building the line while DEBUG is off for bumble's own logger. With
DEBUG on (``logging.getLogger("bumble").setLevel(logging.DEBUG)``, or one module's
logger) they call bumble's own methods, so every line is written as before: nothing a
person asked for is lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final, override

from bumble import controller as bumble_controller
from bumble import hci
from bumble import host as bumble_host

__all__ = ["QuietController", "QuietHost"]

_CONTROLLER_LOG: Final = logging.getLogger(bumble_controller.__name__)
_HOST_LOG: Final = logging.getLogger(bumble_host.__name__)


class QuietController(bumble_controller.Controller):
    """A bumble controller that describes packets in its log only when DEBUG is on."""

    @override
    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """A packet from the host: commands and ACL data to their handlers."""
        if _CONTROLLER_LOG.isEnabledFor(logging.DEBUG):
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_Command):
            self.on_hci_command_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        else:
            super().on_hci_packet(packet)  # nothing else comes from a host: bumble warns

    @override
    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """A packet for the host, delivered on the loop's next turn as bumble does."""
        if _CONTROLLER_LOG.isEnabledFor(logging.DEBUG):
            super().send_hci_packet(packet)
        elif self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))


class QuietHost(bumble_host.Host):
    """A bumble host that describes packets in its log only when DEBUG is on."""

    @override
    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """A packet for the controller (a snooper, when one is set, sees it as before)."""
        if _HOST_LOG.isEnabledFor(logging.DEBUG) or self.snooper:
            super().send_hci_packet(packet)
        elif self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    @override
    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """A packet from the controller: events and ACL data to their handlers."""
        if _HOST_LOG.isEnabledFor(logging.DEBUG) or self.snooper:
            super().on_hci_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        else:
            super().on_hci_packet(packet)  # commands, SCO and ISO data: bumble's own way

"""Two virtual Bluetooth controllers on one simulated radio, for BlueZ to talk to.

One controller is handed to the guest's kernel through ``/dev/vhci`` (BlueZ sees a
new adapter, ``hci0``); the other listens on ``tcp-server:127.0.0.1:PORT`` for
``treadmill-sim tcp-client:127.0.0.1:PORT``. Both are bumble's software controller on
one ``LocalLink``: what one transmits the other receives.

bumble's controller sends only the legacy LE Connection Complete event. When it also
claims LL Privacy and LE Extended Advertising, Linux waits for the enhanced event
that never comes and each connection stalls about 20 s, so those two feature bits
are cleared on the controller BlueZ drives (``--keep-features`` keeps them, to
measure the stall). Run until killed; prints ``ready`` once both transports are open.

usage: ``python tests/bluez/linked_controllers.py --port 6402 [--keep-features]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Final

from bumble import hci
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport import open_transport

STALLING_FEATURES: Final = hci.LeFeatureMask.LL_PRIVACY | hci.LeFeatureMask.LE_EXTENDED_ADVERTISING


async def serve(port: int, *, keep_features: bool) -> None:
    """Open both controllers and keep them until SIGTERM or SIGINT."""
    link = LocalLink()  # type: ignore[no-untyped-call]
    # Each controller is attached the moment its transport is open: the kernel sends
    # HCI Reset as soon as /dev/vhci is opened, and a packet read before a controller
    # listens is lost (the adapter then never comes up).
    async with await open_transport(f"tcp-server:127.0.0.1:{port}") as peripheral:
        Controller("treadmill", host_source=peripheral.source, host_sink=peripheral.sink, link=link)
        async with await open_transport("vhci") as adapter:
            for_bluez = Controller(
                "bluez",
                host_source=adapter.source,
                host_sink=adapter.sink,
                link=link,
            )
            if not keep_features:
                for_bluez.le_features &= ~STALLING_FEATURES
            done = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, done.set)
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            await done.wait()


def main() -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port for treadmill-sim")
    parser.add_argument(
        "--keep-features", action="store_true", help="keep the bits that stall connections"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, keep_features=args.keep_features))
    return 0


if __name__ == "__main__":
    sys.exit(main())

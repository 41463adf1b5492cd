"""``treadmill-sim``: the simulated treadmill as a real BLE peripheral.

It serves the same FTMS GATT server as the in-process simulator, but on a real
controller reached through a bumble transport (``usb:0``, ``hci-socket:0``,
``vhci``, ``tcp-client:HOST:PORT``, ``serial:/dev/ttyUSB0``...), so a phone app, a
fitness app or BlueZ on another adapter can find and drive it. When stdin is a
terminal, keys play the person at the console (see ``--help``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING, Final

from bumble.device import Device
from bumble.hci import Address
from bumble.transport import open_transport

from simulator.errors import SimulatorError
from simulator.faults import FaultKind, FaultSchedule
from simulator.gatt_server import TreadmillPeripheral
from simulator.heart_rate_strap import HRM_ADDRESS, HRM_NAME, HeartRateStrap, is_strap_fault
from simulator.heart_rate_strap import parse_strap_fault as _parse_strap_fault
from simulator.model import TreadmillModel
from simulator.quirks import Quirk, parse_quirks
from simulator.radio import DEFAULT_ADDRESS, DEFAULT_NAME
from simulator.trace import TraceWriter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from bumble.transport.common import Transport

    from simulator.heart_rate_strap import StrapFault

EXIT_USAGE: Final = 2
STATUS_PERIOD_S: Final = 5.0

KEYS_HELP: Final = """\
keys (when stdin is a terminal):
  k   pull / put back the safety key      s   console start
  x   console stop                         p   console pause
  +   console speed up (also =)            -   console speed down
  d   drop the link for 5 s (disconnect)   g   send no data for 4 s (stall)
  q   quit
"""
KEY_DISCONNECT_S: Final = 5.0
KEY_STALL_S: Final = 4.0


class TransportOpenError(SimulatorError):
    """The bumble transport named on the command line could not be opened."""


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``treadmill-sim``."""
    parser = argparse.ArgumentParser(
        prog="treadmill-sim",
        description=(
            "Run a simulated FTMS treadmill as a real Bluetooth LE peripheral on a "
            "bumble transport, for phone apps, fitness apps or BlueZ to drive."
        ),
        epilog=KEYS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "transport",
        help="bumble transport: usb:0, hci-socket:0, vhci, tcp-client:HOST:PORT, serial:DEV...",
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"advertised name ({DEFAULT_NAME})")
    parser.add_argument(
        "--address",
        default=DEFAULT_ADDRESS,
        help=f"random static address to advertise with ({DEFAULT_ADDRESS})",
    )
    parser.add_argument(
        "--sim-quirk",
        action="append",
        default=[],
        metavar="NAME",
        help="imitate a real machine's deviation (repeatable): "
        + ", ".join(q.value for q in Quirk),
    )
    parser.add_argument(
        "--sim-fault",
        action="append",
        default=[],
        metavar="KIND@T[:ARG]",
        help="inject a fault at session second T (repeatable), e.g. disconnect@30:5, "
        "stall@60:4, safety-key@90, console-speed@120:4.5",
    )
    parser.add_argument(
        "--hr-strap",
        metavar="TRANSPORT",
        help=f"also advertise a heart-rate strap ({HRM_NAME}) worn by a simulated person "
        "walking on the belt, on a second transport (a second adapter, e.g. usb:1)",
    )
    parser.add_argument("--trace", metavar="FILE", help="write the ground-truth trace (JSON lines)")
    parser.add_argument(
        "--no-keys", action="store_true", help="ignore the keyboard even on a terminal"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``treadmill-sim``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        quirks = parse_quirks(args.sim_quirk)
        faults = FaultSchedule.parse(f for f in args.sim_fault if not is_strap_fault(f))
        strap_faults = [_parse_strap_fault(f) for f in args.sim_fault if is_strap_fault(f)]
        if strap_faults and not args.hr_strap:
            parser.error(f"fault {strap_faults[0]}: strap faults need --hr-strap TRANSPORT")
        Address(args.address)
    except (SimulatorError, ValueError) as error:
        parser.error(str(error))
    try:
        asyncio.run(
            serve(
                args.transport,
                name=args.name,
                address=args.address,
                quirks=quirks,
                faults=faults,
                trace_path=args.trace,
                keys=not args.no_keys and sys.stdin.isatty(),
                strap_transport=args.hr_strap,
                strap_faults=strap_faults,
            )
        )
    except TransportOpenError as error:
        print(f"treadmill-sim: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 0
    except Exception as error:  # noqa: BLE001 - a person gets one line, not a traceback
        cause = error.exceptions[0] if isinstance(error, ExceptionGroup) else error
        print(f"treadmill-sim: stopped: {cause or type(cause).__name__}", file=sys.stderr)
        return 1
    return 0


async def _open(spec: str) -> Transport:
    try:
        return await open_transport(spec)
    except Exception as error:  # noqa: BLE001 - every way a transport fails is reported alike
        raise TransportOpenError(
            f"cannot open transport {spec!r}: {error or type(error).__name__} "
            "(check the adapter is plugged in, not used by BlueZ, and you may access it)"
        ) from None


async def serve(
    transport_spec: str,
    *,
    name: str,
    address: str,
    quirks: frozenset[Quirk],
    faults: FaultSchedule,
    trace_path: str | None,
    keys: bool,
    strap_transport: str | None = None,
    strap_faults: Sequence[StrapFault] = (),
) -> None:
    """Open the transport and serve the simulated treadmill on it until 'q' or cancelled.

    Raises:
        TransportOpenError: a transport could not be opened.
    """
    transport = await _open(transport_spec)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(transport)
        strap = None
        if strap_transport is not None:
            strap = await stack.enter_async_context(await _open(strap_transport))
        with TraceWriter(trace_path) if trace_path else contextlib.nullcontext() as trace:
            print(f"treadmill-sim: advertising as {name} ({address}) on {transport_spec}")
            if strap is not None:
                print(f"treadmill-sim: heart-rate strap {HRM_NAME} on {strap_transport}")
            await serve_on(
                transport,
                name=name,
                address=address,
                quirks=quirks,
                faults=faults,
                trace=trace,
                keys=keys,
                strap_transport=strap,
                strap_faults=strap_faults,
            )


async def serve_on(
    transport: Transport,
    *,
    name: str = DEFAULT_NAME,
    address: str = DEFAULT_ADDRESS,
    quirks: frozenset[Quirk] = frozenset(),
    faults: FaultSchedule | None = None,
    trace: TraceWriter | None = None,
    keys: bool = False,
    stop: asyncio.Event | None = None,
    strap_transport: Transport | None = None,
    strap_faults: Sequence[StrapFault] = (),
) -> TreadmillPeripheral:
    """Serve the simulated treadmill on an open transport until ``stop`` (or 'q') is set.

    With ``strap_transport``, a heart-rate strap worn by a person walking on this
    belt is served on that second transport.

    Returns:
        The peripheral that served (its model tells what the belt did).
    """
    loop = asyncio.get_running_loop()
    device = Device.with_hci(name, Address(address), transport.source, transport.sink)
    model = TreadmillModel(quirks=quirks, faults=faults, start_s=loop.time())
    peripheral = TreadmillPeripheral(device, model, name=name, trace=trace)
    if keys:
        print(KEYS_HELP, end="")
    stop = stop or asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        servers = [tasks.create_task(peripheral.run(), name="sim.peripheral")]
        if strap_transport is not None:
            strap = _strap(strap_transport, model, strap_faults, trace)
            servers.append(tasks.create_task(strap.run(), name="sim.hr-strap"))
        status = tasks.create_task(_report(peripheral), name="sim.status")
        with _keyboard(peripheral, stop) if keys else contextlib.nullcontext():
            await stop.wait()
        for server in servers:
            server.cancel()
        status.cancel()
    return peripheral


def _strap(
    transport: Transport,
    model: TreadmillModel,
    faults: Sequence[StrapFault],
    trace: TraceWriter | None,
) -> HeartRateStrap:
    loop = asyncio.get_running_loop()
    start_s = loop.time()

    def belt() -> tuple[float, float]:
        model.advance(loop.time())
        return model.belt_speed_kmh, model.incline_pct

    device = Device.with_hci(HRM_NAME, Address(HRM_ADDRESS), transport.source, transport.sink)
    return HeartRateStrap(
        device, belt=belt, clock=lambda: loop.time() - start_s, faults=faults, trace=trace
    )


async def _report(peripheral: TreadmillPeripheral) -> None:
    """Print one status line every few seconds for the person watching."""
    while True:
        await asyncio.sleep(STATUS_PERIOD_S)
        print(status_line(peripheral))


def status_line(peripheral: TreadmillPeripheral) -> str:
    """One line saying what the belt does and whether a client is connected."""
    model = peripheral.model
    return (
        f"t={peripheral.session_s:7.1f}s  {model.state:<22} belt {model.belt_speed_kmh:5.2f} km/h"
        f"  target {model.target_speed_kmh:5.2f}  incline {model.incline_pct:4.1f} %"
        f"  key {'in' if model.safety_key_in else 'OUT'}"
        f"  link {'up' if peripheral.link_up else 'down'}"
    )


def key_actions(model: TreadmillModel) -> dict[str, Callable[[], None]]:
    """What each console key does to the machine."""

    def toggle_key() -> None:
        if model.safety_key_in:
            model.pull_safety_key()
        else:
            model.insert_safety_key()

    return {
        "k": toggle_key,
        "s": model.press_start,
        "x": model.press_stop,
        "p": model.press_pause,
        "+": model.press_speed_up,
        "=": model.press_speed_up,
        "-": model.press_speed_down,
    }


@contextlib.contextmanager
def _keyboard(peripheral: TreadmillPeripheral, quit_requested: asyncio.Event) -> Iterator[None]:
    """Read single key presses from the terminal (cbreak mode) while inside."""
    import termios  # noqa: PLC0415 - POSIX only, and only with a terminal
    import tty  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    actions = key_actions(peripheral.model)
    actions["d"] = lambda: peripheral.inject(FaultKind.DISCONNECT, KEY_DISCONNECT_S)
    actions["g"] = lambda: peripheral.inject(FaultKind.STALL, KEY_STALL_S)

    def on_key() -> None:
        key = sys.stdin.read(1)
        if key == "q":
            quit_requested.set()
            return
        action = actions.get(key)
        if action is not None:
            peripheral.model.advance(loop.time())
            action()
            peripheral.wake()
            print(status_line(peripheral))

    tty.setcbreak(fd)
    loop.add_reader(fd, on_key)
    try:
        yield
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)

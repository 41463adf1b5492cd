"""The command writer on its own: order, the newest ramp step, and halts that drop what waits.

The link here is a stand-in that writes to a list (``wire``, what reached the
treadmill), and whose speed and start writes first wait for ``turn``: the command lock
held by the procedure before, or Request Control's answer after control was lost.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from treadmill_ctl.safety import SendPause, SendSpeed, SendStart, SendStop
from treadmill_ctl.safety.states import Direction
from treadmill_ctl.session.command_writer import CommandWriter
from treadmill_ctl.session.tasks import SessionTasks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class _Link:
    """Writes reach ``wire`` once it is their turn; stop and pause go at once."""

    def __init__(self, *, on_the_wire_first: bool = False) -> None:
        self.wire: list[str] = []
        self.turn = asyncio.Event()
        self.answer = asyncio.Event()
        self._on_the_wire_first = on_the_wire_first

    async def _command(self, what: str) -> object:
        if self._on_the_wire_first:
            self.wire.append(what)
            await self.answer.wait()  # the treadmill's answer, not yet come
            return None
        await self.turn.wait()
        self.wire.append(what)
        return None

    async def set_target_speed(self, speed_kmh: float, /) -> object:
        return await self._command(f"speed {speed_kmh:g}")

    async def set_target_inclination(self, incline_pct: float, /) -> object:
        return await self._command(f"incline {incline_pct:g}")

    async def start_resume(self) -> object:
        return await self._command("start")

    async def stop_now(self) -> None:
        self.wire.append("stop")

    async def pause_now(self) -> None:
        self.wire.append("pause")


def _speed(speed_kmh: float) -> SendSpeed:
    return SendSpeed(speed_kmh, Direction.BACKWARD, "ramp")


async def _turns(count: int = 5) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def _session(
    scenario: Callable[[CommandWriter, _Link], Awaitable[None]],
    link: _Link | None = None,
) -> list[str]:
    """Run ``scenario`` with a writer running in a session's task group; what reached the wire."""
    link = link or _Link()

    async def main() -> list[str]:
        tasks = SessionTasks()
        writer = CommandWriter(
            link, tasks=tasks, on_speed_written=lambda _kmh: None, latched=lambda: False
        )
        async with tasks.group():
            running = tasks.start(writer.run(), "session.commands")
            await _turns()
            await scenario(writer, link)
            await _turns(20)
            running.cancel()
        return link.wire

    return asyncio.run(main())


class TestAHaltDropsWhatWaits:
    def test_a_ramp_step_waiting_its_turn_never_reaches_the_treadmill_after_a_pause(self) -> None:
        """The speed waits for the command lock when the pause comes: only the pause goes."""

        async def scenario(writer: CommandWriter, link: _Link) -> None:
            writer.queue(_speed(2.0))
            await _turns()  # the writer has taken it and waits its turn
            writer.halt(SendPause("turn around"))
            link.turn.set()

        assert _session(scenario) == ["pause"]

    def test_a_ramp_step_waiting_its_turn_never_reaches_the_treadmill_after_a_stop(self) -> None:
        """The same for the final stop: nothing after it but a start may move the belt."""

        async def scenario(writer: CommandWriter, link: _Link) -> None:
            writer.queue(_speed(2.0))
            writer.queue(SendStart("person"))
            writer.queue(_speed(2.5))
            await _turns()
            writer.halt(SendStop("session end"))
            link.turn.set()

        assert _session(scenario) == ["stop"]

    def test_a_halt_in_the_same_turn_as_the_writes_go_ahead_still_drops_it(self) -> None:
        """Its turn has come (the wake-up is due) when the pause comes: it is dropped all the same.

        A halt that ended the write only on the loop's next turn (a timeout rescheduled
        to now) let this speed through.
        """

        async def scenario(writer: CommandWriter, link: _Link) -> None:
            writer.queue(_speed(2.0))
            await _turns()
            link.turn.set()  # the writer's wake-up is scheduled ...
            writer.halt(SendPause("turn around"))  # ... and the pause comes before it runs

        assert _session(scenario) == ["pause"]

    def test_a_write_on_the_wire_is_not_cut_off_and_the_writer_goes_on(self) -> None:
        """A speed already written stays written; its answer is no longer awaited; later ones go."""

        async def scenario(writer: CommandWriter, link: _Link) -> None:
            writer.queue(_speed(2.0))
            await _turns()  # on the wire, waiting for the answer
            writer.halt(SendPause("turn around"))
            await _turns()
            link.answer.set()
            writer.queue(SendStart("person"))
            writer.queue(_speed(1.0))

        link = _Link(on_the_wire_first=True)
        assert _session(scenario, link) == ["speed 2", "pause", "start", "speed 1"]


class TestOrder:
    def test_a_newer_ramp_step_replaces_one_still_waiting(self) -> None:
        """A slow treadmill is not fed a backlog of stale ramp steps."""

        async def scenario(writer: CommandWriter, link: _Link) -> None:
            writer.queue(_speed(1.0))
            await _turns()  # being written
            for speed_kmh in (1.2, 1.4, 1.6):
                writer.queue(_speed(speed_kmh))
            link.turn.set()

        assert _session(scenario) == ["speed 1", "speed 1.6"]

    def test_the_starting_speed_after_a_start_is_kept(self) -> None:
        """Every start begins at its starting speed: a later step does not replace it."""

        async def scenario(writer: CommandWriter, link: _Link) -> None:
            writer.queue(SendStart("person"))
            writer.queue(_speed(0.8))
            writer.queue(_speed(1.0))
            writer.queue(_speed(1.2))
            link.turn.set()

        assert _session(scenario) == ["start", "speed 0.8", "speed 1.2"]


class TestHaltsStartAtOnce:
    def test_a_halt_is_on_the_link_before_the_call_returns_in_the_group(self) -> None:
        """The stop reaches the link before the caller's next line (it is logged after)."""
        seen: list[list[str]] = []

        async def scenario(writer: CommandWriter, link: _Link) -> None:
            writer.halt(SendStop("emergency"))
            seen.append(list(link.wire))
            writer.halt(SendPause("pause"))
            seen.append(list(link.wire))

        _session(scenario)
        assert seen == [["stop"], ["stop", "pause"]]

    def test_a_pause_with_no_group_is_written_not_dropped(self) -> None:
        """Before or after the session's group (a remote's pause late), the halt still goes."""

        async def main() -> tuple[list[str], bool]:
            link = _Link()
            tasks = SessionTasks()
            writer = CommandWriter(
                link, tasks=tasks, on_speed_written=lambda _kmh: None, latched=lambda: False
            )
            writer.halt(SendPause("late"))
            writer.halt(SendStop("late"))
            await tasks.wait_halts()
            return link.wire, writer.stop_in_flight

        assert asyncio.run(main()) == (["pause", "stop"], False)

    def test_a_session_cancelled_mid_write_is_cancelled_not_taken_for_a_halt(self) -> None:
        """Only the writer's own halt is swallowed: the session's cancellation ends it."""

        async def main() -> bool:
            link = _Link()
            tasks = SessionTasks()
            writer = CommandWriter(
                link, tasks=tasks, on_speed_written=lambda _kmh: None, latched=lambda: False
            )
            async with tasks.group():
                running = tasks.start(writer.run(), "session.commands")
                writer.queue(_speed(2.0))
                await _turns()
                writer.halt(SendPause("p"))  # the writer's own cancel ...
                running.cancel()  # ... and the session's, in the same turn
                await _turns()
                return running.cancelled()

        assert asyncio.run(main())

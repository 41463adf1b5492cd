"""A link's own event stream: in order, bounded, never dropping the link's comings and goings."""

from __future__ import annotations

import asyncio

from link_events import collect

from treadmill_ctl.ftms.event_stream import EventStream


def _stream(max_events: int) -> EventStream[str]:
    return EventStream(droppable=lambda event: event.startswith("data"), max_events=max_events)


def test_the_reader_gets_every_event_in_order_as_it_comes() -> None:
    """Put from a callback (no await); the reader wakes on the next turn of the loop."""

    async def main() -> list[list[str]]:
        stream = _stream(16)
        seen: list[str] = []
        reading = collect(stream.events(), seen.append)
        await asyncio.sleep(0)
        turns: list[list[str]] = []
        stream.put("data 1")
        stream.put("link down")
        await asyncio.sleep(0)
        turns.append(list(seen))
        stream.put("link up")
        await asyncio.sleep(0)
        turns.append(list(seen))
        reading.cancel()
        return turns

    assert asyncio.run(main()) == [["data 1", "link down"], ["data 1", "link down", "link up"]]


def test_a_full_stream_drops_the_oldest_data_and_never_a_link_event() -> None:
    """Nobody reads: old data frames go, the link going down and coming back stay."""
    stream = _stream(4)
    stream.put("link down")
    for index in range(10):
        stream.put(f"data {index}")
    stream.put("link up")
    for index in range(10, 13):
        stream.put(f"data {index}")

    async def drain(count: int) -> list[str]:
        events = stream.events()
        return [await anext(events) for _ in range(count)]

    assert asyncio.run(drain(len(stream))) == ["link down", "link up", "data 11", "data 12"]
    assert stream.dropped == 11


def test_events_that_may_not_be_dropped_are_kept_past_the_bound() -> None:
    """A flood of link events (a flapping link) is kept whole: the bound gives way."""
    stream = _stream(2)
    for index in range(5):
        stream.put(f"link down {index}")
    assert len(stream) == 5
    assert stream.dropped == 0

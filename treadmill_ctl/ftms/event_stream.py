"""A link's own stream of events: bounded, one consumer, never blocking the producer.

Bleak's callbacks decode and hand off; the hand-off is :meth:`EventStream.put`, which
returns at once. The session reads the stream with ``async for event in
link.events()``; the consumer wakes as soon as an event is put (a link going down
reaches the governor on the loop's next turn, ahead of the next control tick).

The stream is bounded (:data:`DEFAULT_MAX_EVENTS`) so that a consumer that stops
reading (a session over, a test that only watches the belt) cannot grow it without
end. The overflow rule: the oldest event that ``droppable`` allows (a belt data frame,
a control point answer) goes first, counted in :attr:`EventStream.dropped`; an event
it does not allow (a link going down or coming back, a machine status such as a
pulled safety key) is never dropped, whatever the bound.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Final

import structlog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

__all__ = ["DEFAULT_MAX_EVENTS", "EventStream"]

_log = structlog.get_logger("treadmill_ctl.ftms.link")

DEFAULT_MAX_EVENTS: Final = 512
"""Events held for a consumer that does not read (about a minute of 8 Hz data)."""


class EventStream[T]:
    """A bounded stream of ``T`` with one consumer (see the module's docstring).

    Args:
        droppable: Whether an event may be dropped when the stream is full.
        max_events: The bound (events that may not be dropped can exceed it).
    """

    def __init__(
        self, *, droppable: Callable[[T], bool], max_events: int = DEFAULT_MAX_EVENTS
    ) -> None:
        self._droppable = droppable
        self._max_events = max_events
        self._events: deque[T] = deque()
        self._ready = asyncio.Event()
        self.dropped = 0
        """Events dropped on overflow so far."""

    def __len__(self) -> int:
        return len(self._events)

    def put(self, event: T) -> None:
        """Add ``event``; returns at once (drops the oldest droppable one when full)."""
        if len(self._events) >= self._max_events:
            self._drop_oldest()
        self._events.append(event)
        self._ready.set()

    def _drop_oldest(self) -> None:
        for index, queued in enumerate(self._events):
            if self._droppable(queued):
                del self._events[index]
                self.dropped += 1
                if self.dropped == 1:
                    _log.warning("link.events_dropped", reason="nobody reads the link's events")
                return

    async def events(self) -> AsyncIterator[T]:
        """Every event, in order, as it comes (for one reader: two would share them)."""
        while True:
            while self._events:
                yield self._events.popleft()
            self._ready.clear()
            await self._ready.wait()

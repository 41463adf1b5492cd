"""Reading a link's own event stream in tests, as the session reads it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable


def collect[T](events: AsyncIterator[T], into: Callable[[T], None]) -> asyncio.Task[None]:
    """Hand every event of ``events`` to ``into`` as it comes, until the task is cancelled."""

    async def pump() -> None:
        async for event in events:
            into(event)

    return asyncio.get_running_loop().create_task(pump(), name="test.link_events")

"""Waiting for an asyncio event, at most so long, in a task that may be cancelled meanwhile."""

from __future__ import annotations

import asyncio


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """True once `event` is set, False if `seconds` pass first.

    asyncio.timeout, not asyncio.wait_for: Python 3.11's wait_for swallows a cancellation that lands
    just after the event was set (CPython gh-86296), so a stopping service's loop would wait on and
    its stop would await it forever (tests/unit/test_wakeup.py)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True

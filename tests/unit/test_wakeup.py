"""Sleeping until a notification (shared/storage/wakeup.py): a notice ends the sleep only if the sleeper
wants it, and one heard while the sleeper was busy is judged when its next sleep begins."""

from __future__ import annotations

import asyncio

import pytest

from shared.storage.wakeup import Wakeup

pytestmark = pytest.mark.unit

LONG = 60.0  # never waited out: each test ends the sleep or stops waiting for it first


def hear(wakeup: Wakeup, payload: str) -> None:
    wakeup._notified(None, 0, wakeup.channel, payload)


def urgent(payload: str) -> bool:
    return payload == "urgent"


async def test_without_a_filter_any_notice_ends_the_sleep() -> None:
    wakeup = Wakeup("channel")
    sleeping = asyncio.create_task(wakeup.sleep(LONG))
    await asyncio.sleep(0)  # let it start sleeping
    hear(wakeup, "")
    await asyncio.wait_for(sleeping, 5)


async def test_a_notice_the_sleeper_does_not_want_leaves_it_asleep_and_one_it_wants_wakes_it() -> None:
    wakeup = Wakeup("channel")
    sleeping = asyncio.create_task(wakeup.sleep(LONG, urgent))
    await asyncio.sleep(0)
    hear(wakeup, "later")
    await asyncio.sleep(0)
    assert not sleeping.done()
    hear(wakeup, "urgent")
    await asyncio.wait_for(sleeping, 5)


async def test_a_notice_heard_while_busy_is_judged_when_the_next_sleep_begins() -> None:
    wakeup = Wakeup("channel")
    hear(wakeup, "urgent")  # arrives while the sleeper works
    await asyncio.wait_for(wakeup.sleep(LONG, urgent), 5)  # returns at once

    hear(wakeup, "later")
    with pytest.raises(TimeoutError):  # unwanted: the sleep goes on
        await asyncio.wait_for(wakeup.sleep(LONG, urgent), 0.05)

    hear(wakeup, "later")
    await asyncio.wait_for(wakeup.sleep(LONG), 5)  # the next sleeper wants anything


@pytest.mark.parametrize("steps", range(6))
async def test_a_sleep_cancelled_just_as_a_notice_wakes_it_is_cancelled_all_the_same(steps: int) -> None:
    """A stopping service cancels its loops: a notice that ended the sleep a moment before must not
    swallow the cancellation (Python 3.11's asyncio.wait_for does, when its inner wait has just
    finished), or the loop sleeps on and the stop waits forever. Each `steps` cancels at another
    point between the notice and the sleeper's resuming; iteration counts, not time."""
    wakeup = Wakeup("channel")
    sleeping = asyncio.create_task(wakeup.sleep(LONG))
    await asyncio.sleep(0)  # asleep
    hear(wakeup, "")
    for _ in range(steps):
        await asyncio.sleep(0)
    if sleeping.done():
        return  # already woke and returned: nothing left to cancel
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(sleeping, 5)

"""The timer loop's batches on a real database, with a producer the test controls: while Kafka
acknowledges one batch the next is claimed, yet it is sent only after the first was acknowledged and
committed, and rolled back unsent when the first fails. So one order's events reach Kafka in the
order their timers came due even through failures (R11, R12: a cancellation never overtakes its
penalty), and a failed batch leaves every timer pending for the next attempt (none lost)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import pytest

from services.deadlines import notices, storage
from services.deadlines.domain import Timer
from services.deadlines.storage import DeadlinesWork
from services.deadlines.timers import TimerLoop
from shared.clock import SystemClock
from shared.messaging.producer import Record
from shared.storage.writes import execute
from tests.integration.conftest import MakePool
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

BATCH = 2
T = TypeVar("T")


class Producer:
    """Records what was sent, batch by batch; the first batch's acknowledgement fails when told to,
    and only once the next batch has been claimed (two transactions open), so the test sees the
    claimed batch rolled back rather than never claimed."""

    def __init__(self, pool: asyncpg.Pool, *, fail_first: bool) -> None:
        self.sent: list[list[str]] = []
        self.claimed_ahead = False
        self._pool, self._fail_first = pool, fail_first

    async def send_many(self, records: list[Record]) -> list[asyncio.Future[Any]]:
        self.sent.append([key.decode() for _, key, _, _, _ in records])
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._fail_first and len(self.sent) == 1:
            asyncio.get_running_loop().create_task(self._fail_when_next_claimed(ack))
        else:
            ack.set_result(None)
        return [ack]

    async def _fail_when_next_claimed(self, ack: asyncio.Future[Any]) -> None:
        try:
            await eventually(lambda: _open_transactions(self._pool), lambda n: n >= 2, timeout=10, every=0.02)
            self.claimed_ahead = True
        finally:
            ack.set_exception(ConnectionError("broker went away"))


async def _open_transactions(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(
            await conn.fetchval(
                "select count(*) from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and pid <> pg_backend_pid()"
            )
        )


async def _store_due_timers(pool: asyncpg.Pool) -> None:
    """Two orders, each with its penalty due before its cancellation; and a third order's penalty, so
    batches of two split one order's timers across batches."""
    start = datetime.now(UTC) - timedelta(hours=1)
    due = [("o1", "ship_by", 0), ("o2", "ship_by", 1), ("o1", "confirm_by", 2), ("o3", "ship_by", 3), ("o2", "confirm_by", 4)]
    async with pool.acquire() as conn:
        await conn.executemany(
            """insert into deadlines (storefront_id, order_id, seller_id, kind, due_date, deadline, due_at, status, orders_partition)
               values ('shop', $1, 's1', $2, $3, $4, $4, 'pending', 0)""",
            [(order, kind, (start + timedelta(minutes=m)).date(), start + timedelta(minutes=m)) for order, kind, m in due],
        )
        await conn.execute("insert into watermarks (orders_partition, as_of) values (0, now() + interval '1 day')")


async def _statuses(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        return [row["status"] for row in await conn.fetch("select status from deadlines order by due_at")]


def _loop(pool: asyncpg.Pool, producer: Producer) -> TimerLoop:
    return TimerLoop(pool, producer, SystemClock(), stopping=asyncio.Event(), batch_size=BATCH)  # type: ignore[arg-type]


async def test_R11_R12_a_failed_batch_rolls_back_the_batch_claimed_behind_it_unsent(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("deadlines")
    await _store_due_timers(pool)

    failing = Producer(pool, fail_first=True)
    with pytest.raises(ConnectionError):
        await _loop(pool, failing).fire_due()
    assert failing.claimed_ahead
    assert failing.sent == [["shop/o1", "shop/o2"]]  # the batch claimed behind it was never sent
    assert await _statuses(pool) == ["pending"] * 5
    assert await _open_transactions(pool) == 0  # both transactions ended, their connections back in the pool

    working = Producer(pool, fail_first=False)
    assert await _loop(pool, working).fire_due() == 5
    assert working.sent == [["shop/o1", "shop/o2"], ["shop/o1", "shop/o3"], ["shop/o2"]]  # due order, batch after batch
    assert await _statuses(pool) == ["fired"] * 5


async def test_R11_the_loop_wakes_for_a_stored_timer_due_before_its_planned_wake_and_sleeps_through_one_due_after(
    migrated_pool: MakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's NOTIFY says when its earliest new timer comes due (services/deadlines/notices.py): the
    loop, asleep until a timer due in an hour, is not woken by an order whose timers come due in two
    hours, and is by one already due, which fires at once rather than after TIMER_MAX_SLEEP_SECONDS."""
    pool = await migrated_pool("deadlines")
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.execute("insert into watermarks (orders_partition, as_of) values (0, now() + interval '1 day')")
        await _store_in_a_batch(conn, "next", now + timedelta(hours=1))

    plans = 0
    next_wake = storage.next_wake

    async def counted(conn: asyncpg.Connection, at: datetime) -> tuple[datetime | None, bool]:
        nonlocal plans
        plans += 1
        return await next_wake(conn, at)

    judged: list[bool] = []  # the sleeping loop's verdict on each notice it heard
    wakes = notices.wakes

    def recorded(payload: str, *, next_due: datetime | None, blocked: bool) -> bool:
        judged.append(wakes(payload, next_due=next_due, blocked=blocked))
        return judged[-1]

    monkeypatch.setattr(storage, "next_wake", counted)
    monkeypatch.setattr(notices, "wakes", recorded)
    producer = Producer(pool, fail_first=False)
    looping = asyncio.create_task(_loop(pool, producer).run())
    try:
        await eventually(lambda: _value(plans), lambda n: n == 1, timeout=10, every=0.02)  # asleep until the timer of "next"
        async with pool.acquire() as conn:
            await _store_in_a_batch(conn, "later", now + timedelta(hours=2))
        # Judged before "due" is stored, so that a wake by "later" cannot hide behind the wake by "due".
        await eventually(lambda: _value(judged), lambda verdicts: len(verdicts) == 1, timeout=10, every=0.02)
        assert judged == [False] and plans == 1  # "later" changed nothing
        async with pool.acquire() as conn:
            await _store_in_a_batch(conn, "due", now - timedelta(seconds=1))
        await eventually(lambda: _value(producer.sent), lambda sent: sent == [["shop/due"]], timeout=10, every=0.02)
        await eventually(lambda: _value(plans), lambda n: n >= 2, timeout=10, every=0.02)
        assert judged[:2] == [False, True]  # woken by "due"
    finally:
        looping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await looping


async def _store_in_a_batch(conn: asyncpg.Connection, order_id: str, due: datetime) -> None:
    """An order's penalty timer stored as a consuming batch stores it: the write-back and its NOTIFY, committed."""
    work = DeadlinesWork(SystemClock())
    work.store([Timer("shop", order_id, "s1", "ship_by", due.date(), due, due)], orders_partition=0)
    async with conn.transaction():
        await execute(conn, work.writes())


async def _value(value: T) -> T:
    return value

"""The outbox relay against real PostgreSQL and Kafka: committed events reach Kafka in order, once
the transaction commits, and are deleted only after Kafka acknowledged them (M2)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from devtools.kafka_io import Tap
from shared.contracts import events
from shared.contracts.topics import INVENTORY_EVENTS
from shared.messaging.producer import Producer, Record
from shared.messaging.relay import RELAY_LOCK, OutboxRelay
from shared.messaging.work import Outgoing
from shared.settings import ServiceSettings
from shared.storage import outbox
from tests.integration.conftest import MakePool
from tests.support.infra import Infra
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def created(listing: str) -> events.ListingCreated:
    return events.ListingCreated(command_id=uuid.uuid4(), seller_id="s", listing_id=listing, quantity=1, production_days=2)


async def test_M2_relay_publishes_committed_events_in_order_and_never_rolled_back_ones(
    infra: Infra, topic_prefix: str, migrated_pool: MakePool
) -> None:
    pool = await migrated_pool("inventory")
    producer = Producer(ServiceSettings(kafka_bootstrap_servers=infra.kafka_bootstrap_servers, topic_prefix=topic_prefix), "relay-test")
    await producer.start()

    committed = [created(f"l{i}") for i in range(5)]
    async with pool.acquire() as conn:
        async with conn.transaction():
            for event in committed:
                await outbox.add(conn, [Outgoing(INVENTORY_EVENTS, "same-key", event)])
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await outbox.add(conn, [Outgoing(INVENTORY_EVENTS, "same-key", created("rolled-back"))])
                raise RuntimeError("the use case failed")

    relay = OutboxRelay(pool, producer.send_many, poll_seconds=0.2)
    try:
        async with Tap(infra.kafka_bootstrap_servers, topic_prefix, topics=[INVENTORY_EVENTS]) as tap:
            running = asyncio.create_task(relay.run())
            seen = await tap.wait_for(events.ListingCreated, count=5)
            # A later event is woken by NOTIFY or found by polling, without restarting the relay.
            async with pool.acquire() as conn, conn.transaction():
                await outbox.add(conn, [Outgoing(INVENTORY_EVENTS, "same-key", created("later"))])
            seen = await tap.wait_for(events.ListingCreated, count=6)
            # Rows go once Kafka acknowledged them.
            await eventually(lambda: pool.fetchval("select count(*) from outbox"), lambda n: n == 0)
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        assert [e.event_id for e in seen] == [e.event_id for e in committed] + [seen[-1].event_id]
        assert seen[-1].listing_id == "later"
        assert all(e.listing_id != "rolled-back" for e in tap.of_type(events.ListingCreated))
    finally:
        await producer.stop()


async def test_M2_an_unacknowledged_batch_stays_in_the_outbox(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, [Outgoing(INVENTORY_EVENTS, "k", created("l1"))])

    async def broker_down(records: list[Record]) -> list[asyncio.Future]:  # type: ignore[type-arg]
        raise ConnectionError("Kafka is unreachable")

    with pytest.raises(ConnectionError):
        async with pool.acquire() as conn:
            await OutboxRelay(pool, broker_down).publish_pending(conn)
    assert await pool.fetchval("select count(*) from outbox") == 1


async def test_M2_one_relay_publishes_at_a_time_and_another_takes_over_when_it_stops(migrated_pool: MakePool) -> None:
    """Instances of a service share its outbox: one relay holds the lock and publishes everything, so
    commit order stays partition order; when it stops, its lock goes with it and another relay goes on."""
    pool = await migrated_pool("inventory")
    published: dict[str, list[str]] = {"first": [], "second": []}

    def publisher(name: str):  # type: ignore[no-untyped-def]
        async def publish(records: list[Record]) -> list[asyncio.Future]:  # type: ignore[type-arg]
            published[name].extend(json.loads(payload)["listing_id"] for _, _, payload, _, _ in records)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return [done]

        return publish

    async def queue(*listings: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, [Outgoing(INVENTORY_EVENTS, "k", created(listing)) for listing in listings])

    async def lock_holders() -> int:
        return int(await pool.fetchval("select count(*) from pg_locks where locktype = 'advisory' and objid = $1 and granted", RELAY_LOCK))

    async def drained() -> None:
        await eventually(lambda: pool.fetchval("select count(*) from outbox"), lambda n: n == 0)

    first = asyncio.create_task(OutboxRelay(pool, publisher("first"), poll_seconds=0.1).run())
    await eventually(lock_holders, lambda n: n == 1)
    second = asyncio.create_task(OutboxRelay(pool, publisher("second"), poll_seconds=0.1).run())
    try:
        await queue("a1", "a2")
        await drained()
        assert published == {"first": ["a1", "a2"], "second": []}

        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await queue("b1")
        await drained()
        assert published == {"first": ["a1", "a2"], "second": ["b1"]}
    finally:
        second.cancel()
        await asyncio.gather(first, second, return_exceptions=True)
    assert await lock_holders() == 0  # given up with the relay, not left on a pooled connection


async def test_an_event_id_queued_twice_is_published_once(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    event = created("l1")
    async with pool.acquire() as conn, conn.transaction():
        await outbox.add(conn, [Outgoing(INVENTORY_EVENTS, "k", event)])
        await outbox.add(conn, [Outgoing(INVENTORY_EVENTS, "k", event)])
    assert await pool.fetchval("select count(*) from outbox") == 1

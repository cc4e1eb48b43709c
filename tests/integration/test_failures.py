"""The consuming pipeline's own guarantees on a real database and broker: the inbox lets a handler see
an event id once (M2), and a record the database refuses every time is set aside, answered once and
dead-lettered once, while the records behind it on its partition are applied (M3, M5)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from devtools.kafka_io import Publisher, Tap
from shared.clock import SystemClock
from shared.contracts import commands, events
from shared.contracts.codec import encode
from shared.contracts.envelope import Message
from shared.contracts.reasons import RejectionReason
from shared.contracts.topics import INVENTORY_COMMANDS, ORDERS_EVENTS
from shared.messaging.consumer import Pipeline
from shared.messaging.dispatch import Routes, on
from shared.messaging.rejections import PROCESSING_FAILED
from shared.messaging.work import UnitOfWork
from tests.integration.conftest import MakePool, inventory_running, inventory_settings
from tests.support.infra import Infra
from tests.support.settle import published

pytestmark = pytest.mark.integration


def placed(order_id: str) -> events.OrderPlaced:
    return events.OrderPlaced(
        storefront_id="shop",
        order_id=order_id,
        seller_id="s1",
        command_id=uuid.uuid4(),
        placed_at=datetime(2026, 1, 1, tzinfo=UTC),
        lines=[commands.OrderLine(listing_id="l1", quantity=1)],
    )


def record(offset: int, message: Message) -> ConsumerRecord:
    value = encode(message)
    return ConsumerRecord(ORDERS_EVENTS.name, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


async def test_M2_the_inbox_lets_a_handler_see_an_event_id_once_in_one_batch_and_across_batches(migrated_pool: MakePool) -> None:
    pool = await migrated_pool("inventory")
    seen: list[uuid.UUID] = []
    routes = Routes(
        ORDERS_EVENTS,
        dict([on(events.OrderPlaced, lambda work, message: seen.append(message.event_id))]),
        ignored=frozenset(set(ORDERS_EVENTS.messages) - {events.OrderPlaced}),
    )
    pipeline = Pipeline("inventory", routes, pool, lambda: UnitOfWork(SystemClock()), stopping=asyncio.Event())
    first, second = placed("o1"), placed("o2")
    await pipeline.handle([record(0, first), record(1, first), record(2, second)])  # a repeat within one batch
    await pipeline.handle([record(3, second), record(4, first)])  # repeats in a later batch
    await pipeline.handle([record(5, first)])  # and alone
    assert seen == [first.event_id, second.event_id]


# --------------------------------------------------------------------------- a record the database refuses

PLANTED_DEFECT = """
    create function refuse_cursed() returns trigger language plpgsql as $$
    begin
        if new.listing_id = 'cursed' then
            raise check_violation using message = 'planted defect: listing cursed breaks a constraint';
        end if;
        return new;
    end;
    $$;
    create trigger refuse_cursed before insert or update on listings for each row execute function refuse_cursed();
"""


@pytest.fixture
async def inventory(infra: Infra, topic_prefix: str, service_databases: dict[str, str]) -> AsyncIterator[str]:
    """The inventory service in this process, retrying a failing record twice, quickly; yields its database URL."""
    settings = inventory_settings(infra, topic_prefix, service_databases["inventory"], processing_attempts=2, retry_max_seconds=0.2)
    async with inventory_running(settings):
        yield service_databases["inventory"]


def create(listing: str) -> commands.CreateListing:
    return commands.CreateListing(command_id=uuid.uuid4(), seller_id="s1", listing_id=listing, quantity=3, production_days=2)


async def test_M3_M5_a_record_the_database_refuses_is_set_aside_once_and_its_partition_moves_on(
    inventory: str, infra: Infra, topic_prefix: str
) -> None:
    conn = await asyncpg.connect(inventory)
    await conn.execute(PLANTED_DEFECT)
    async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as publisher, Tap(infra.kafka_bootstrap_servers, topic_prefix) as tap:
        before, cursed, after = create("before"), create("cursed"), create("after")
        for command in (before, cursed, after):  # one partition, in this order
            await publisher.send(INVENTORY_COMMANDS, "one-key", command, partition=0)
        await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "after")
        [letter] = await tap.wait_for(events.DeadLetter)
        [answer] = await tap.wait_for(events.CommandRejected)
        assert letter.error_kind == PROCESSING_FAILED and "planted defect" in letter.error and letter.offset == 1
        assert answer.command_id == cursed.command_id and answer.reason is RejectionReason.INVALID and answer.rule == "M3"
        # A redelivery of the set-aside record changes nothing: its id is in the inbox.
        [cursed_record] = [r for r in tap.records if r.topic.endswith(INVENTORY_COMMANDS.name) and r.offset == 1]
        await publisher.send_raw_record(cursed_record)
        marker = create("marker")
        await publisher.send(INVENTORY_COMMANDS, "one-key", marker, partition=0)
        await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "marker")
        await published([inventory], tap)
        assert len(tap.of_type(events.DeadLetter)) == 1 and len(tap.of_type(events.CommandRejected)) == 1
        assert sorted(e.listing_id for e in tap.of_type(events.ListingCreated)) == ["after", "before", "marker"]
    assert sorted(r["listing_id"] for r in await conn.fetch("select listing_id from listings")) == ["after", "before", "marker"]
    await conn.close()

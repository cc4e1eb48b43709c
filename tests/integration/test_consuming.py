"""A service's consuming pipeline on a real broker and database: a redelivered message changes
nothing (M2); a bad one is dead-lettered with its bytes, answered when its sender is known, and
does not block the valid messages behind it (M3, M5)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from devtools.kafka_io import Publisher, Tap
from shared.contracts import commands, events
from shared.contracts.codec import encode
from shared.contracts.reasons import RejectionReason
from shared.contracts.topics import INVENTORY_COMMANDS
from tests.integration.conftest import inventory_running, inventory_settings
from tests.support.infra import Infra
from tests.support.settle import published

pytestmark = pytest.mark.integration


@pytest.fixture
async def inventory(infra: Infra, topic_prefix: str, service_databases: dict[str, str]) -> AsyncIterator[str]:
    """The inventory service running in this process; yields its database URL."""
    async with inventory_running(inventory_settings(infra, topic_prefix, service_databases["inventory"])):
        yield service_databases["inventory"]


@pytest.fixture
async def io(infra: Infra, topic_prefix: str) -> AsyncIterator[tuple[Publisher, Tap]]:
    async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as publisher, Tap(infra.kafka_bootstrap_servers, topic_prefix) as tap:
        yield publisher, tap


def create(listing: str, quantity: int = 4) -> commands.CreateListing:
    return commands.CreateListing(command_id=uuid.uuid4(), seller_id="s1", listing_id=listing, quantity=quantity, production_days=3)


async def test_M2_a_message_delivered_twice_is_applied_once(inventory: str, io: tuple[Publisher, Tap]) -> None:
    publisher, tap = io
    command = create("twice")
    await publisher.send(INVENTORY_COMMANDS, "twice", command)
    await publisher.send(INVENTORY_COMMANDS, "twice", command)
    marker = create("marker")  # same key's partition is ordered: once this is answered, both copies were consumed
    await publisher.send(INVENTORY_COMMANDS, "twice", marker)
    await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "marker")
    await published([inventory], tap)  # the answers are keyed by listing: a second one may be on another partition
    assert len(tap.of_type(events.ListingCreated, lambda e: e.listing_id == "twice")) == 1
    assert tap.of_type(events.CommandRejected) == []
    conn = await asyncpg.connect(inventory)
    try:
        assert await conn.fetchval("select count(*) from inbox") == 2
    finally:
        await conn.close()


async def test_M3_undecodable_bytes_are_dead_lettered_and_the_partition_keeps_moving(inventory: str, io: tuple[Publisher, Tap]) -> None:
    publisher, tap = io
    poison = b"\x00\xffnot json at all"
    await publisher.send_raw(INVENTORY_COMMANDS, "k", poison)
    await publisher.send(INVENTORY_COMMANDS, "k", create("after-poison"))
    [letter] = await tap.wait_for(events.DeadLetter)
    assert base64.b64decode(letter.value_base64) == poison
    assert letter.error_kind == "undecodable" and letter.service == "inventory"
    assert letter.source_topic.endswith("inventory.commands")
    await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "after-poison")


async def test_R1_M3_M5_a_command_violating_its_schema_is_rejected_with_a_reason_and_dead_lettered(
    inventory: str, io: tuple[Publisher, Tap]
) -> None:
    publisher, tap = io
    bad = create("too-many")
    raw = encode(bad).replace(b'"quantity":4', b'"quantity":100001')  # R1: at most 100000
    await publisher.send_raw(INVENTORY_COMMANDS, "too-many", raw)
    [answer] = await tap.wait_for(events.CommandRejected)
    assert answer.command_id == bad.command_id and answer.reason is RejectionReason.INVALID
    assert "quantity" in answer.message and answer.listing_id == "too-many"
    [letter] = await tap.wait_for(events.DeadLetter)
    assert base64.b64decode(letter.value_base64) == raw and letter.error_kind == "invalid"


async def test_R1_M3_a_listing_is_changed_only_by_its_seller_and_a_refusal_is_answered_and_kept(
    inventory: str, io: tuple[Publisher, Tap]
) -> None:
    publisher, tap = io
    await publisher.send(INVENTORY_COMMANDS, "vase", create("vase"))
    await tap.wait_for(events.ListingCreated)
    intruder = commands.UpdateListing(command_id=uuid.uuid4(), seller_id="s2", listing_id="vase", quantity=0)
    await publisher.send(INVENTORY_COMMANDS, "vase", intruder)
    [answer] = await tap.wait_for(events.CommandRejected)
    assert answer.command_id == intruder.command_id
    assert answer.reason is RejectionReason.FORBIDDEN and answer.rule == "R1"
    [letter] = await tap.wait_for(events.DeadLetter)
    assert letter.error_kind == "rule_violation" and letter.error.startswith("R1 forbidden")
    assert base64.b64decode(letter.value_base64) == encode(intruder)
    conn = await asyncpg.connect(inventory)
    try:
        assert await conn.fetchval("select quantity from listings where listing_id = 'vase'") == 4
    finally:
        await conn.close()


async def test_M3_M5_an_unknown_message_type_is_dead_lettered_and_its_sender_answered(inventory: str, io: tuple[Publisher, Tap]) -> None:
    publisher, tap = io
    command_id = uuid.uuid4()
    raw = b'{"type": "listing.delete", "command_id": "%s", "seller_id": "s1", "listing_id": "mug"}' % str(command_id).encode()
    await publisher.send_raw(INVENTORY_COMMANDS, "mug", raw)
    await publisher.send(INVENTORY_COMMANDS, "mug", create("after-unknown"))
    [letter] = await tap.wait_for(events.DeadLetter)
    assert letter.error_kind == "unknown_message_type" and base64.b64decode(letter.value_base64) == raw
    [answer] = await tap.wait_for(events.CommandRejected)
    assert answer.command_id == command_id and answer.reason is RejectionReason.INVALID and answer.rule == "M3"
    await tap.wait_for(events.ListingCreated, lambda e: e.listing_id == "after-unknown")

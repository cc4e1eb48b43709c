"""The contract kit's `validate --topic` reads a real topic from the beginning and names each bad
record's bad field and bad key (M1, M4)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime

import pytest

from devtools.kafka_io import Publisher
from shared.contracts import commands
from shared.contracts.codec import encode
from shared.contracts.topics import ORDERS_COMMANDS, order_key
from tests.support.infra import Infra

pytestmark = pytest.mark.integration


async def test_M1_validate_names_each_bad_field_and_key_on_a_topic(infra: Infra, topic_prefix: str) -> None:
    order = commands.PlaceOrder(
        command_id=uuid.uuid4(),
        storefront_id="shop-1",
        order_id="o1",
        seller_id="seller-1",
        placed_at=datetime(2026, 11, 26, tzinfo=UTC),
        lines=[commands.OrderLine(listing_id="scarf", quantity=1)],
    )
    async with Publisher(infra.kafka_bootstrap_servers, topic_prefix) as publisher:
        await publisher.send(ORDERS_COMMANDS, order_key("shop-1", "o1"), order, partition=0)
        await publisher.send(ORDERS_COMMANDS, "shop-1/another-order", order, partition=0)
        await publisher.send_raw(ORDERS_COMMANDS, "shop-1/o2", encode(order).replace(b'"quantity":1', b'"quantity":"1"'), partition=0)

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.contracts", "validate", "--topic", "orders.commands",
        "--bootstrap-servers", infra.kafka_bootstrap_servers, "--topic-prefix", topic_prefix,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 1, err.decode()
    topic = f"{topic_prefix}orders.commands"
    assert out.decode().splitlines() == [
        f"{topic}/0@1: order.place: (key): key 'shop-1/another-order' should be 'shop-1/o1' (order key: storefront_id/order_id)",
        f"{topic}/0@2: order.place: lines.0.quantity: must be an integer",
    ]
    assert "3 messages, 2 invalid" in err.decode()

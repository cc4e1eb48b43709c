"""The services' real message builders meet the storefront's pacts (tests/contract/pacts/): each
expected message is built the way the services build it (their pure domain decisions, then
services/*/messages.py or shared/messaging/rejections.py) and verified by Pact's verifier."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import ConsumerRecord
from pact import Verifier

from services.inventory import domain as inventory
from services.inventory import messages as inventory_messages
from services.orders import domain as orders
from services.orders import messages as orders_messages
from shared.contracts import commands, events
from shared.contracts.codec import DecodeError, decode, encode
from shared.contracts.envelope import Message
from shared.contracts.topics import LISTINGS_STATE, ORDERS_COMMANDS, ORDERS_EVENTS, Topic, order_key
from shared.messaging import rejections
from tests.contract.pact_messages import ACCEPTED, IN_STOCK, PROVIDERS, REFUSED, REJECTED, SOLD_OUT, pact_file

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("UTC")
SELLER = "seller-1"


def kafka_message(topic: Topic, key: str, message: Message) -> dict[str, Any]:
    return {"contents": encode(message), "metadata": {"kafka_topic": topic.name, "key": key}, "content_type": "application/json"}


def placed(lines: list[tuple[str, int]]) -> tuple[commands.PlaceOrder, orders.Order]:
    command = commands.PlaceOrder(
        command_id=uuid.uuid4(),
        storefront_id="shop-js",
        order_id="o1",
        seller_id=SELLER,
        placed_at=NOW,
        lines=[commands.OrderLine(listing_id=i, quantity=q) for i, q in lines],
    )
    order = orders.Order(
        storefront_id=command.storefront_id,
        order_id=command.order_id,
        seller_id=SELLER,
        command_id=command.command_id,
        placed_at=NOW,
        status=orders.Status.PENDING,
        lines=tuple(lines),
    )
    return command, order


def listing(quantity: int) -> inventory.Listing:
    created = inventory.create_listing(
        None, commands.CreateListing(command_id=uuid.uuid4(), seller_id=SELLER, listing_id="scarf-1", quantity=quantity, production_days=5)
    )
    assert isinstance(created, inventory.Listing)
    return created


def order_accepted() -> dict[str, Any]:
    _, order = placed([("scarf-1", 2)])
    reserved = inventory.reserve(SELLER, [commands.OrderLine(listing_id="scarf-1", quantity=2)], {"scarf-1": listing(4)})
    assert isinstance(reserved, inventory.Reservation)
    accepted = orders.accept(order, [days for _, _, days in reserved.lines], ZONE)
    return kafka_message(ORDERS_EVENTS, order_key("shop-js", "o1"), orders_messages.order_accepted(accepted, ZONE, NOW))


def order_rejected() -> dict[str, Any]:
    command, order = placed([("soap-1", 1)])
    sold_out = inventory.Listing("soap-1", SELLER, 0, 3)
    refused = inventory.reserve(SELLER, command.lines, {"soap-1": sold_out})
    assert isinstance(refused, inventory.Unreservable)
    order_placed = orders_messages.order_placed(order, NOW)
    failed = inventory_messages.reservation_failed(order_placed, refused, NOW)
    rejected = orders.reject(order, orders.Rejection(failed.reason, failed.rule, failed.message))
    return kafka_message(ORDERS_EVENTS, order_key("shop-js", "o1"), orders_messages.order_rejected(rejected, failed, NOW))


def command_rejected() -> dict[str, Any]:
    command, _ = placed([("scarf-1", 1)])
    sent = command.model_dump(mode="json") | {"lines": [{"listing_id": "scarf-1", "quantity": 0}]}
    raw = encode(command).replace(b'"quantity":1', b'"quantity":0')
    with pytest.raises(DecodeError) as unreadable:
        decode(ORDERS_COMMANDS, raw)
    record = ConsumerRecord(ORDERS_COMMANDS.name, 0, 7, 0, 0, order_key("shop-js", "o1").encode(), raw, None, 0, len(raw), ())
    refusal = rejections.unreadable(unreadable.value.kind, unreadable.value.detail)
    answer = rejections.command_rejected("orders", record, sent, command.command_id, refusal, NOW)
    return kafka_message(ORDERS_EVENTS, order_key("shop-js", "o1"), answer)


def listing_state(quantity: int) -> dict[str, Any]:
    return kafka_message(LISTINGS_STATE, "scarf-1", inventory_messages.listing_state(listing(quantity), 2, NOW))


BUILDERS = {
    ACCEPTED: order_accepted,
    REJECTED: order_rejected,
    REFUSED: command_rejected,
    IN_STOCK: lambda: listing_state(4),
    SOLD_OUT: lambda: listing_state(0),
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_S2_the_services_message_builders_meet_the_storefronts_pact(provider: str) -> None:
    assert set(PROVIDERS[provider]) <= set(BUILDERS)
    verifier = Verifier(provider).add_source(pact_file(provider)).message_handler({d: BUILDERS[d]() for d in PROVIDERS[provider]})
    verifier.verify()  # raises with Pact's report when a message does not match


def test_a_builder_that_drops_a_field_the_storefront_needs_fails_verification() -> None:
    """The provider check can fail: an order.accepted without its ship-by date is caught by Pact."""
    good = order_accepted()
    broken = events.OrderAccepted.model_validate_json(good["contents"]).model_dump(mode="json")
    del broken["ship_by_date"]
    bad = {**good, "contents": json.dumps(broken).encode()}
    verifier = Verifier("orders").add_source(pact_file("orders")).filter(ACCEPTED).message_handler({ACCEPTED: bad})
    with pytest.raises(RuntimeError):
        verifier.verify()
    assert "ship_by_date" in verifier.output(strip_ansi=True)

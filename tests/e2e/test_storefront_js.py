"""S1, S2: a storefront written in another language (Node.js, kafkajs) that knows only the published
contract places orders against the real services, finds each answer, and reads listing state.

The storefront (storefront-js/) reads topic names, keys, answer topics and answer types from
docs/asyncapi.json; this test plays the seller (listings) and checks what the storefront saw.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from shared.contracts import commands, events
from shared.contracts.topics import INVENTORY_COMMANDS
from tests.support.infra import Infra
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

STOREFRONT = Path(__file__).resolve().parents[2] / "storefront-js"


async def storefront(infra: Infra, prefix: str, *args: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (STOREFRONT / "node_modules").is_dir():
        pytest.fail("the Node.js storefront needs node and its packages: `make test` runs npm ci in storefront-js/", pytrace=False)
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers, "TOPIC_PREFIX": prefix, "STOREFRONT_ID": "shop-js"}
    process = await asyncio.create_subprocess_exec(
        node, "bin/storefront.js", *args, cwd=STOREFRONT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def seller_lists(publisher: Publisher, tap: Tap, seller: str, listings: dict[str, int]) -> None:
    """A seller creates listings (quantity each), and they exist before the storefront orders."""
    for listing, quantity in listings.items():
        create = commands.CreateListing(command_id=uuid.uuid4(), seller_id=seller, listing_id=listing, quantity=quantity, production_days=5)
        await publisher.send(INVENTORY_COMMANDS, listing, create)
    await tap.wait_for(events.ListingCreated, count=len(listings))


async def test_S2_a_node_storefront_places_orders_and_finds_every_answer_from_the_contract_alone(
    services: dict[str, ServiceProcess], infra: Infra, topic_prefix: str, publisher: Publisher, tap: Tap, tmp_path: Path
) -> None:
    seller = "seller-js"
    await seller_lists(publisher, tap, seller, {"scarf": 3, "soap": 0})

    orders = tmp_path / "orders.json"
    orders.write_text(
        json.dumps(
            [
                {"order_id": "o1", "seller_id": seller, "lines": [["scarf", 2]]},
                {"order_id": "o2", "seller_id": seller, "lines": [["soap", 1]]},
                {"order_id": "o3", "seller_id": seller, "lines": [["nothing-here", 1]]},
                {"order_id": "o4", "seller_id": seller, "lines": [["scarf", 0]]},
            ]
        )
    )
    answers = {a["order_id"]: a for a in await storefront(infra, topic_prefix, "place-all", str(orders))}

    assert {o: a["type"] for o, a in answers.items()} == {
        "o1": "order.accepted",
        "o2": "order.rejected",
        "o3": "order.rejected",
        "o4": "command.rejected",
    }
    assert all(a["command_type"] == "order.place" and uuid.UUID(a["command_id"]) for a in answers.values())
    assert answers["o1"]["ship_by_date"] > answers["o1"]["order_date"]
    assert (answers["o2"]["reason"], answers["o2"]["rule"], answers["o2"]["listing_id"]) == ("out_of_stock", "R2", "soap")
    assert [line["listing_id"] for line in answers["o2"]["failed_lines"]] == ["soap"]
    assert (answers["o3"]["reason"], answers["o3"]["rule"]) == ("unknown_listing", "R6")
    assert (answers["o4"]["reason"], answers["o4"]["rule"]) == ("invalid", "M3")


async def test_S1_a_node_storefront_reads_each_listings_quantity_and_stock_from_the_state_topic(
    services: dict[str, ServiceProcess], infra: Infra, topic_prefix: str, publisher: Publisher, tap: Tap
) -> None:
    seller = "seller-js"
    await seller_lists(publisher, tap, seller, {"mug": 4, "vase": 0})
    [answer] = await storefront(infra, topic_prefix, "place", "o1", seller, "mug:3")
    assert answer["type"] == "order.accepted"

    async def listings() -> dict[str, dict[str, Any]]:
        return {r["listing_id"]: r for r in await storefront(infra, topic_prefix, "listings")}

    seen = await eventually(listings, lambda s: s.get("mug", {}).get("quantity") == 1 and "vase" in s, timeout=60, every=0.5)
    assert (seen["mug"]["out_of_stock"], seen["vase"]["quantity"], seen["vase"]["out_of_stock"]) == (False, 0, True)
    assert {r["type"] for r in seen.values()} == {"listing.state"}

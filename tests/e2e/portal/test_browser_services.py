"""The seller's side of the real system, in a real browser: inventory, orders and deadlines as their own
processes, the portal beside them, a storefront placing orders. The seller signs in by link, finds the
order the deadlines service warned about (S4), confirms its shipment and sees the orders service's
answer and the order move to shipped; edits a listing and sees inventory apply it; is refused another
seller's order (S3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from devtools.kafka_io import Publisher
from devtools.launcher import ServiceProcess
from shared.contracts.commands import CreateListing, OrderLine, PlaceOrder
from shared.contracts.topics import INVENTORY_COMMANDS, ORDERS_COMMANDS, order_key
from tests.e2e.portal.conftest import api_json, started_portal
from tests.support.infra import Infra

pytestmark = pytest.mark.e2e

ANN, BOB = "seller-ann", "seller-bob"


@pytest.fixture
def service_env() -> dict[str, str]:
    # S4: warn two days ahead, so an order with one day of production is at risk as soon as it is accepted.
    return {"DEADLINE_WARNING_LEAD": "P2D"}


async def test_S3_S4_a_seller_confirms_the_at_risk_order_edits_a_listing_and_is_refused_another_sellers_order(
    infra: Infra,
    topic_prefix: str,
    services: dict[str, ServiceProcess],
    publisher: Publisher,
    browser: Browser,
    tmp_path: Path,
) -> None:
    async with started_portal(infra, topic_prefix, tmp_path) as portal:
        for seller, listing_id, days in ((ANN, "mug-ann", 1), (ANN, "vase-ann", 7), (BOB, "bowl-bob", 3)):
            command = CreateListing(command_id=uuid.uuid4(), seller_id=seller, listing_id=listing_id, quantity=5, production_days=days)
            await publisher.send(INVENTORY_COMMANDS, listing_id, command)
        async with portal.api(ANN) as ann, portal.api(BOB) as bob:
            # A storefront sells only what inventory has listed: listings and orders travel on different topics (M4).
            await api_json(ann, "/api/v1/listings", lambda b: len(b["items"]) == 2)
            await api_json(bob, "/api/v1/listings", lambda b: len(b["items"]) == 1)
            now = datetime.now(UTC)
            for seller, order_id, listing_id in ((ANN, "o-risk", "mug-ann"), (ANN, "o-calm", "vase-ann"), (BOB, "o-bob", "bowl-bob")):
                order = PlaceOrder(
                    command_id=uuid.uuid4(),
                    storefront_id="shop-1",
                    order_id=order_id,
                    seller_id=seller,
                    placed_at=now,
                    lines=[OrderLine(listing_id=listing_id, quantity=1)],
                )
                await publisher.send(ORDERS_COMMANDS, order_key("shop-1", order_id), order)
            await api_json(ann, "/api/v1/orders?view=at_risk", lambda b: [o["order_id"] for o in b["items"]] == ["o-risk"], timeout=60)
            await api_json(bob, "/api/v1/orders/shop-1/o-bob")  # applied: its absence from Ann's orders below means something
            await api_json(ann, "/api/v1/orders", lambda b: {o["order_id"] for o in b["items"]} == {"o-risk", "o-calm"})

        page = await browser.new_page(viewport={"width": 1200, "height": 800})
        await page.goto(f"{portal.url}/signin?token={portal.token(ANN)}")
        await page.get_by_test_id("view-at-risk").click()
        row = page.locator("tr[data-order='shop-1/o-risk']")
        await expect(row).to_have_class("at-risk")
        await row.get_by_role("link", name="o-risk").click()
        await expect(page.locator("p.warning")).to_contain_text("ship-by deadline")
        await page.get_by_label("Carrier").fill("UPS")
        await page.get_by_label("Tracking id").fill("1Z5R89390357567127")
        await page.get_by_role("button", name="Confirm shipment").click()
        await expect(page.get_by_test_id("answer")).to_have_text("Confirmed", timeout=60_000)  # the orders service's answer
        await page.get_by_role("link", name="Back to order o-risk").click()
        await expect(page.get_by_test_id("status")).to_have_text("shipped", timeout=30_000)
        await page.goto(f"{portal.url}/orders?status=shipped")
        await expect(page.locator("tr[data-order='shop-1/o-risk']")).to_have_count(1)

        await page.get_by_role("link", name="Inventory").click()
        vase = page.locator("tr[data-listing='vase-ann']")
        await vase.get_by_label("quantity of vase-ann").fill("0")
        await vase.get_by_role("button", name="Save").click()
        await expect(page.get_by_test_id("answer")).to_have_text("Listing updated", timeout=60_000)  # inventory's answer
        await page.get_by_role("link", name="Back to inventory").click()
        await expect(page.locator("tr[data-listing='vase-ann']")).to_contain_text("Out of stock", timeout=30_000)

        response = await page.goto(f"{portal.url}/orders/shop-1/o-bob")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        await page.close()

"""Every page of the portal in a real browser, fed with published records: sign in by link, find the
at-risk order, confirm its shipment through the form, follow the answer, edit a listing, read the
performance figures, and be refused another seller's order. Screenshots of each page.

The answers a service would publish are fed here too, so this tests what the portal shows; the same
flow against the real services is test_browser_services.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from devtools.kafka_io import Tap
from shared.contracts import commands, events
from shared.contracts.reasons import RejectionReason
from shared.contracts.state import Rejection
from shared.contracts.topics import DEADLINES_EVENTS, INVENTORY_COMMANDS, INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS
from tests.e2e.portal.browser import snap
from tests.e2e.portal.conftest import Feed, RunningPortal, api_json, frozen_clock_env, shipment
from tests.support.infra import Infra

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
ANN, BOB = "seller-ann", "seller-bob"


@pytest.fixture(scope="module")
def portal_env() -> dict[str, str]:
    return {**frozen_clock_env(NOW), "PORTAL_PAGE_SIZE": "20"}


@pytest.fixture(scope="module", autouse=True)
async def marketplace(portal: RunningPortal, feed: Feed) -> None:
    """A seller's week: orders in every state, one at risk, one late, listings, one of them out of stock."""
    for i, (days_ago, production) in enumerate([(0.2, 5), (1, 3), (1.5, 7), (2, 14), (0.5, 2)]):
        await feed.order(ANN, f"o-10{i}", placed_at=NOW - timedelta(days=days_ago), production_days=production, listing_id="mug-ann")
    risky = await feed.order(ANN, "o-risk", placed_at=NOW - timedelta(days=2, hours=2), production_days=2, listing_id="scarf-ann")
    await feed.order(ANN, "o-late", placed_at=NOW - timedelta(days=4), production_days=1, listing_id="scarf-ann", late_penalty=True)
    await feed.order(ANN, "o-shipped", placed_at=NOW - timedelta(days=6), production_days=3, status="shipped", shipment=shipment(NOW - timedelta(days=4), memo="Gift wrapped <3"))
    await feed.order(
        ANN, "o-bad-track", placed_at=NOW - timedelta(days=8), production_days=3, status="shipped",
        shipment=shipment(NOW - timedelta(days=4), carrier="FedEx", tracking_id="12345", valid=False, late=True), late_penalty=True,
    )  # fmt: skip
    await feed.order(ANN, "o-cancelled", placed_at=NOW - timedelta(days=33), production_days=5, status="cancelled", cancellation_reason="shipment not confirmed by the confirm-by date")
    await feed.order(ANN, "o-rejected", placed_at=NOW - timedelta(days=1), status="rejected", rejection=Rejection(reason=RejectionReason.OUT_OF_STOCK, rule="R2", message="listing vase-ann is out of stock"))
    await feed.order(BOB, "o-bob", placed_at=NOW - timedelta(days=1), production_days=3, storefront_id="shop-2")
    for listing_id, quantity, days in (("mug-ann", 14, 5), ("scarf-ann", 3, 2), ("vase-ann", 0, 7)):
        await feed.listing(ANN, listing_id, quantity, days)
    assert risky.ship_by_deadline is not None and risky.ship_by_date is not None
    await feed.send(
        DEADLINES_EVENTS,
        "shop-1/o-risk",
        events.DeadlineApproaching(
            storefront_id="shop-1", order_id="o-risk", seller_id=ANN, deadline_kind="ship_by",
            deadline=risky.ship_by_deadline, due_date=risky.ship_by_date, lead_seconds=86400,
        ),
    )  # fmt: skip
    async with portal.api(ANN) as api:
        await api_json(api, "/api/v1/orders?view=at_risk", lambda b: len(b["items"]) == 1)
        await api_json(api, "/api/v1/listings", lambda b: len(b["items"]) == 3)
        await api_json(api, "/api/v1/orders?status=rejected", lambda b: len(b["items"]) == 1)
    async with portal.api(BOB) as bob:  # applied, so that Ann's "not found" for it means something
        await api_json(bob, "/api/v1/orders/shop-2/o-bob")


async def test_a_seller_finds_the_at_risk_order_confirms_it_and_sees_it_shipped(
    portal: RunningPortal, feed: Feed, browser: Browser, screenshots: Path, infra: Infra
) -> None:
    page = await browser.new_page(viewport={"width": 1200, "height": 800})
    await page.goto(f"{portal.url}/signin?token={portal.token(ANN)}")
    await expect(page).to_have_url(f"{portal.url}/orders")
    await expect(page.get_by_test_id("seller")).to_have_text(ANN)
    await expect(page.locator("tr.late")).to_have_count(1)
    await snap(page, screenshots, "manage-orders")

    await page.get_by_test_id("view-at-risk").click()
    rows = page.locator("table[data-testid=orders] tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_class("at-risk")
    await snap(page, screenshots, "manage-orders-at-risk")

    await rows.first.get_by_role("link", name="o-risk").click()
    await expect(page.get_by_role("alert").first).to_contain_text("ship-by deadline")
    await page.get_by_label("Carrier").fill("UPS")
    await page.get_by_label("Tracking id").fill("1Z5R89390357567127")
    await page.get_by_label("Seller memo (optional)").fill("Left with the neighbour <b>Ms Smith</b>")
    await snap(page, screenshots, "order-detail")

    async with Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(ORDERS_COMMANDS,)) as tap:
        await page.get_by_role("button", name="Confirm shipment").click()
        await expect(page.get_by_test_id("answer")).to_have_text("Sent, waiting for the answer")
        sent = (await tap.wait_for(commands.ConfirmShipment, lambda c: c.order_id == "o-risk"))[0]
    assert (sent.seller_id, sent.carrier, sent.memo) == (ANN, "UPS", "Left with the neighbour <b>Ms Smith</b>")

    # What the orders service publishes when it accepts the confirmation: its answer and the new state.
    confirmed_at = NOW
    await feed.send(
        ORDERS_EVENTS,
        "shop-1/o-risk",
        events.ShipmentConfirmed(
            storefront_id="shop-1", order_id="o-risk", seller_id=ANN, command_id=sent.command_id, confirmed_at=confirmed_at,
            ship_date=sent.ship_date, shipping_method=sent.shipping_method, carrier="UPS", tracking_id=sent.tracking_id,
            memo=sent.memo, late=False, tracking_valid=True, occurred_at=confirmed_at,
        ),
    )  # fmt: skip
    await feed.order(
        ANN, "o-risk", placed_at=NOW - timedelta(days=2, hours=2), production_days=2, listing_id="scarf-ann", status="shipped",
        shipment=shipment(confirmed_at, memo=sent.memo),
    )  # fmt: skip
    await expect(page.get_by_test_id("answer")).to_have_text("Confirmed", timeout=30_000)  # the page refreshes itself
    await snap(page, screenshots, "confirm-answer")

    await page.get_by_role("link", name="Back to order o-risk").click()
    await expect(page.get_by_test_id("status")).to_have_text("shipped")
    await expect(page.get_by_test_id("memo")).to_have_text("Left with the neighbour <b>Ms Smith</b>")  # shown as text
    await page.goto(f"{portal.url}/orders?status=shipped")
    await expect(page.locator("tr[data-order='shop-1/o-risk']")).to_have_count(1)
    await expect(page.locator("tr[data-order='shop-1/o-bad-track']")).to_contain_text("Invalid tracking")
    await snap(page, screenshots, "manage-orders-shipped")
    await page.close()


async def test_a_seller_edits_a_listing_and_sees_the_answer(portal: RunningPortal, feed: Feed, browser: Browser, screenshots: Path, infra: Infra) -> None:
    page = await browser.new_page(viewport={"width": 1200, "height": 700})
    await page.goto(f"{portal.url}/signin?token={portal.token(ANN)}")
    await page.get_by_role("link", name="Inventory").click()
    vase = page.locator("tr[data-listing='vase-ann']")
    await expect(vase).to_contain_text("Out of stock")
    await snap(page, screenshots, "inventory")
    async with Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(INVENTORY_COMMANDS,)) as tap:
        await vase.get_by_label("quantity of vase-ann").fill("6")
        await vase.get_by_role("button", name="Save").click()
        sent = (await tap.wait_for(commands.UpdateListing))[0]
    assert (sent.seller_id, sent.listing_id, sent.quantity, sent.production_days) == (ANN, "vase-ann", 6, 7)
    await feed.send(
        INVENTORY_EVENTS,
        "vase-ann",
        events.ListingUpdated(seller_id=ANN, listing_id="vase-ann", quantity=6, production_days=7, command_id=sent.command_id, occurred_at=NOW),
    )
    await feed.listing(ANN, "vase-ann", 6, 7)
    await expect(page.get_by_test_id("answer")).to_have_text("Listing updated", timeout=30_000)
    await page.get_by_role("link", name="Back to inventory").click()
    await expect(page.locator("tr[data-listing='vase-ann']")).to_contain_text("In stock")
    await page.close()


async def test_a_seller_reads_performance_and_is_refused_another_sellers_order(portal: RunningPortal, browser: Browser, screenshots: Path) -> None:
    page = await browser.new_page(viewport={"width": 1200, "height": 700})
    await page.goto(f"{portal.url}/signin?token={portal.token(ANN)}")
    await page.get_by_role("link", name="Performance").click()
    await expect(page.locator("tr[data-rate='late_shipment_10d'] td.rate")).not_to_have_text("no orders")
    await snap(page, screenshots, "performance")

    response = await page.goto(f"{portal.url}/orders/shop-2/o-bob")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await snap(page, screenshots, "not-found")

    signed_out = await browser.new_page()
    response = await signed_out.goto(f"{portal.url}/signin?token={portal.token(ANN)[:-3]}xyz")
    assert response is not None and response.status == 401
    await expect(signed_out.get_by_role("alert")).to_contain_text("not valid")
    await snap(signed_out, screenshots, "sign-in-refused")
    await page.close()
    await signed_out.close()


async def test_a_refused_confirmation_is_shown_in_words(portal: RunningPortal, feed: Feed, browser: Browser, screenshots: Path, infra: Infra) -> None:
    page = await browser.new_page(viewport={"width": 1200, "height": 700})
    await page.goto(f"{portal.url}/signin?token={portal.token(ANN)}")
    await page.goto(f"{portal.url}/orders/shop-1/o-100")
    await page.get_by_label("Ship date").fill("2026-03-01")  # before the order date
    await page.get_by_label("Carrier").fill("Royal Mail")
    await page.get_by_label("Tracking id").fill("RB123456785GB")
    async with Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(ORDERS_COMMANDS,)) as tap:
        await page.get_by_role("button", name="Confirm shipment").click()
        sent = (await tap.wait_for(commands.ConfirmShipment, lambda c: c.order_id == "o-100"))[0]
    await feed.send(
        ORDERS_EVENTS,
        "shop-1/o-100",
        events.CommandRejected(
            command_id=sent.command_id, command_type="shipment.confirm", reason=RejectionReason.SHIP_DATE_OUT_OF_RANGE, rule="R8",
            message="ship date 2026-03-01 must be between the order date 2026-03-19 and today 2026-03-20",
            seller_id=ANN, storefront_id="shop-1", order_id="o-100", occurred_at=NOW,
        ),
    )  # fmt: skip
    await expect(page.get_by_test_id("answer")).to_have_text("Refused", timeout=30_000)
    await expect(page.locator("main")).to_contain_text("The ship date must lie between the order date and today.")
    await snap(page, screenshots, "confirm-refused")
    await page.close()


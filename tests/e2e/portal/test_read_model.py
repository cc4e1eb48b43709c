"""The portal's read model, from published records only: Manage Orders (tabs, sort, keyset paging,
at-risk and late views), order detail, answers to commands, inventory, and S6 figures rebuilt by replay."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from devtools.kafka_io import Tap, groups_of, rewind_groups
from services.orders.dates import end_of_day
from shared.contracts import commands, events
from shared.contracts.reasons import RejectionReason
from shared.contracts.state import Rejection
from shared.contracts.topics import DEADLINES_EVENTS, INVENTORY_COMMANDS, ORDERS_COMMANDS, ORDERS_EVENTS, topics_read_by
from tests.e2e.portal.conftest import Feed, RunningPortal, api_json, frozen_clock_env, shipment, started_portal
from tests.support.infra import Infra
from tests.support.settle import published

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ANN, BOB = "seller-ann", "seller-bob"


@pytest.fixture(scope="module")
def portal_env() -> dict[str, str]:
    return frozen_clock_env(NOW)


async def test_manage_orders_pages_every_unshipped_order_once_in_ship_by_order(portal: RunningPortal, feed: Feed) -> None:
    placed = NOW - timedelta(days=1)
    production = [9, 2, 7, 4, 4, 12, 1, 5]
    for i, days in enumerate(production):
        await feed.order(ANN, f"page-{i}", placed_at=placed, production_days=days)
    await feed.order(BOB, "page-bob", placed_at=placed, production_days=3)  # another seller's: never listed
    async with portal.api(BOB) as bob:  # applied, so that its absence from Ann's pages below means something
        await api_json(bob, "/api/v1/orders?order_id=page-bob", lambda b: len(b["items"]) == 1)
    async with portal.api(ANN) as api:
        await api_json(api, "/api/v1/orders?order_id=page-7", lambda b: len(b["items"]) == 1)
        seen: list[tuple[str, str]] = []
        cursor = None
        while True:
            page = (await api.get("/api/v1/orders", params={"limit": 3, **({"cursor": cursor} if cursor else {})})).json()
            seen += [(o["ship_by_date"], o["order_id"]) for o in page["items"] if o["order_id"].startswith("page-")]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [o for _, o in seen] == [o for _, o in sorted(seen)]  # ship-by order, ties by id
        assert sorted(o for _, o in seen) == sorted(f"page-{i}" for i in range(len(production)))
        latest_first = (await api.get("/api/v1/orders", params={"sort": "-ship_by", "limit": 1})).json()
        assert latest_first["items"][0]["order_id"] == "page-5"  # 12 days of production


async def test_tabs_hold_shipped_cancelled_and_rejected_orders(portal: RunningPortal, feed: Feed) -> None:
    placed = NOW - timedelta(days=3)
    await feed.order(ANN, "tab-shipped", placed_at=placed, status="shipped", shipment=shipment(NOW - timedelta(days=1)))
    await feed.order(ANN, "tab-cancelled", placed_at=NOW - timedelta(days=40), status="cancelled", cancellation_reason="not confirmed within 30 days")
    await feed.order(
        ANN, "tab-rejected", placed_at=placed, status="rejected", rejection=Rejection(reason=RejectionReason.OUT_OF_STOCK, rule="R2", message="listing mug-1 is out of stock")
    )
    async with portal.api(ANN) as api:
        for status, order_id in (("shipped", "tab-shipped"), ("cancelled", "tab-cancelled"), ("rejected", "tab-rejected")):
            body = await api_json(api, f"/api/v1/orders?status={status}&order_id={order_id}", lambda b: len(b["items"]) == 1)
            assert body["items"][0]["status"] == status
        detail = (await api.get("/api/v1/orders/shop-1/tab-rejected")).json()
        assert "out of stock" in detail["rejection"]
        assert (await api.get("/api/v1/orders?status=nonsense")).status_code == 400
        assert (await api.get("/api/v1/orders?status=shipped&view=late")).status_code == 400


async def test_S4_a_warned_order_is_at_risk_and_a_passed_ship_by_is_late(portal: RunningPortal, feed: Feed) -> None:
    warned = await feed.order(ANN, "risk-1", placed_at=NOW - timedelta(days=2), production_days=3)
    late = await feed.order(ANN, "late-1", placed_at=NOW - timedelta(days=5), production_days=1)
    assert warned.ship_by_deadline is not None
    await feed.send(
        DEADLINES_EVENTS,
        "shop-1/risk-1",
        events.DeadlineApproaching(
            storefront_id="shop-1",
            order_id="risk-1",
            seller_id=ANN,
            deadline_kind="ship_by",
            deadline=warned.ship_by_deadline,
            due_date=warned.ship_by_date,
            lead_seconds=86400,
        ),
    )
    async with portal.api(ANN) as api:
        body = await api_json(api, "/api/v1/orders?view=at_risk", lambda b: [o["order_id"] for o in b["items"]] == ["risk-1"])
        assert body["items"][0]["at_risk"] and not body["items"][0]["late"]
        late_view = await api_json(api, "/api/v1/orders?view=late", lambda b: "late-1" in [o["order_id"] for o in b["items"]])
        assert all(o["late"] for o in late_view["items"])
        detail = (await api.get("/api/v1/orders/shop-1/risk-1")).json()
        assert detail["warnings"][0]["deadline_kind"] == "ship_by"
        assert detail["confirm_by_date"] == str(warned.confirm_by_date)
        assert late.ship_by_deadline is not None and late.ship_by_deadline < NOW
    async with portal.browser_session(ANN) as browser:
        page = (await browser.get("/orders?status=unshipped&view=at_risk")).text
        assert 'class="at-risk"' in page and "risk-1" in page and "late-1" not in page


async def test_order_detail_explains_its_dates(portal: RunningPortal, feed: Feed) -> None:
    record = await feed.order(ANN, "explained", placed_at=datetime(2026, 3, 18, 23, 30, tzinfo=UTC), production_days=4)
    async with portal.api(ANN) as api:
        detail = await api_json(api, "/api/v1/orders/shop-1/explained")
    text = " ".join(detail["dates_explained"])
    assert "order date is 2026-03-18" in text and "+ 4 days" in text and "+ 30 days" in text
    assert str(record.ship_by_date) == "2026-03-22" and "cancelled" in text and "not paid" in text
    assert detail["ship_by_left"].endswith("left")


async def test_confirm_shipment_sends_the_command_and_shows_each_answer(portal: RunningPortal, feed: Feed, infra: Infra) -> None:
    await feed.order(ANN, "answer-me", placed_at=NOW - timedelta(days=1))
    body = {"ship_date": "2026-03-20", "shipping_method": "Standard", "carrier": "UPS", "tracking_id": "1Z5R89390357567127", "memo": "<b>gift</b>"}
    async with Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(ORDERS_COMMANDS,)) as tap, portal.api(ANN) as api:
        await api_json(api, "/api/v1/orders/shop-1/answer-me")
        first = await api.post("/api/v1/orders/shop-1/answer-me/shipment", json=body)
        assert first.status_code == 202, first.text
        command_id = first.json()["command_id"]
        sent = await tap.wait_for(commands.ConfirmShipment, lambda c: str(c.command_id) == command_id)
        assert sent[0].seller_id == ANN and sent[0].memo == "<b>gift</b>"
        assert (await api.get(f"/api/v1/commands/{command_id}")).json()["state"] == "pending"
        again = await api.post("/api/v1/orders/shop-1/answer-me/shipment", json={**body, "command_id": command_id})
        assert again.json()["sent"] is False  # the same command id is not sent twice (R9)

        await feed.send(
            ORDERS_EVENTS,
            "shop-1/answer-me",
            events.ShipmentConfirmed(
                storefront_id="shop-1",
                order_id="answer-me",
                seller_id=ANN,
                command_id=uuid.UUID(command_id),
                confirmed_at=NOW,
                ship_date=NOW.date(),
                shipping_method="Standard",
                carrier="UPS",
                tracking_id="1Z5R89390357567127",
                late=True,
                tracking_valid=False,
            ),
        )
        answer = await api_json(api, f"/api/v1/commands/{command_id}", lambda b: b["state"] != "pending")
        assert answer["state"] == "confirmed_late" and any("valid-tracking" in d for d in answer["details"])

        refused = await api.post("/api/v1/orders/shop-1/answer-me/shipment", json=body)
        refused_id = refused.json()["command_id"]
        await feed.send(
            ORDERS_EVENTS,
            "shop-1/answer-me",
            events.CommandRejected(
                command_id=uuid.UUID(refused_id),
                command_type="shipment.confirm",
                reason=RejectionReason.ALREADY_SHIPPED,
                rule="R9",
                message="order answer-me is already confirmed as shipped",
                seller_id=ANN,
            ),
        )
        answer = await api_json(api, f"/api/v1/commands/{refused_id}", lambda b: b["state"] != "pending")
        assert answer["state"] == "refused" and "already confirmed" in " ".join(answer["details"])
        await published([portal.database_url], tap)  # the answers above were fed by the test, not caused by the commands
    assert len(tap.of_type(commands.ConfirmShipment)) == 2


async def test_inventory_shows_stock_and_edits_go_out_as_listing_commands(portal: RunningPortal, feed: Feed, infra: Infra) -> None:
    await feed.listing(ANN, "mug-ann", quantity=0, production_days=5)
    await feed.listing(BOB, "vase-bob", quantity=3)
    async with Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(INVENTORY_COMMANDS,)) as tap, portal.api(ANN) as api:
        listing = await api_json(api, "/api/v1/listings/mug-ann")
        assert listing == {"listing_id": "mug-ann", "quantity": 0, "production_days": 5, "out_of_stock": True}
        assert [item["listing_id"] for item in (await api.get("/api/v1/listings")).json()["items"]] == ["mug-ann"]
        edit = await api.patch("/api/v1/listings/mug-ann", json={"quantity": 12})
        assert edit.status_code == 202
        sent = await tap.wait_for(commands.UpdateListing)
        assert (sent[0].seller_id, sent[0].listing_id, sent[0].quantity, sent[0].production_days) == (ANN, "mug-ann", 12, None)
        assert (await api.patch("/api/v1/listings/mug-ann", json={"quantity": -1})).status_code == 422
        assert (await api.patch("/api/v1/listings/mug-ann", json={})).status_code == 422
        await published([portal.database_url], tap)  # a refused edit that was queued anyway would be on Kafka now
    assert len(tap.of_type(commands.UpdateListing)) == 1


# --- S6 -----------------------------------------------------------------------------------------------


async def test_S6_figures_come_from_the_records_and_are_rebuilt_identically_by_replaying(
    portal: RunningPortal, feed: Feed, infra: Infra, tmp_path: Path
) -> None:
    seller = "seller-metrics"
    # Ship-by 2026-03-15 (deadline fell on the 16th: inside 10 days); confirm-by 2026-04-13 (not yet).
    placed = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    deadline = end_of_day(date(2026, 3, 15), ZoneInfo("UTC"))
    await feed.order(seller, "m-on-time", placed_at=placed, production_days=5, status="shipped", shipment=shipment(deadline - timedelta(hours=1)))
    await feed.order(seller, "m-late", placed_at=placed, production_days=5, status="shipped", shipment=shipment(deadline + timedelta(hours=1), valid=False, late=True))
    await feed.order(seller, "m-unconfirmed", placed_at=placed, production_days=5)
    await feed.order(seller, "m-old", placed_at=datetime(2026, 1, 2, tzinfo=UTC), production_days=5)  # outside every window
    # Confirm-by 2026-03-18: the deadline fell on the 19th, inside 7 days; cancelled by the 30-day rule.
    await feed.order(seller, "m-cancelled", placed_at=datetime(2026, 2, 16, 10, 0, tzinfo=UTC), production_days=30, status="cancelled")

    def expected(body: dict) -> bool:  # type: ignore[type-arg]
        return {r["key"]: (r["numerator"], r["denominator"]) for r in body["rates"]} == {
            "late_shipment_10d": (3, 4),  # the cancelled order's ship-by deadline (30 days) fell on the 19th too
            "late_shipment_30d": (3, 4),
            "cancellation_7d": (1, 1),
            "valid_tracking_30d": (1, 2),
        }

    async with portal.api(seller) as api:
        before = await api_json(api, "/api/v1/performance", expected)
    assert {r["key"]: r["meets_target"] for r in before["rates"]} == {
        "late_shipment_10d": False,
        "late_shipment_30d": False,
        "cancellation_7d": False,
        "valid_tracking_30d": False,
    }
    async with portal.api("seller-nobody") as api:
        empty = (await api.get("/api/v1/performance")).json()
    assert all(r["rate"] is None and r["meets_target"] is None for r in empty["rates"])  # no orders: no rate

    # Replay: the portal stopped, its consumer groups rewound, a new empty database: the same figures.
    portal.process.stop()
    groups = groups_of(portal.topic_prefix, [("portal", t) for t in topics_read_by("portal")])
    await rewind_groups(infra.kafka_bootstrap_servers, groups)
    async with started_portal(infra, portal.topic_prefix, tmp_path, frozen_clock_env(NOW)) as replayed, replayed.api(seller) as api:
        after = await api_json(api, "/api/v1/performance", expected)
    assert after["rates"] == before["rates"]

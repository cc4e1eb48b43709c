"""S3: a seller sees and changes only their own data, whatever a URL, id or form field says; tokens
are signed and expire; free text is escaped; forms need their CSRF token; bad input is a 4xx."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devtools.kafka_io import Tap
from services.portal.auth import Tokens
from shared.contracts import commands
from shared.contracts.topics import INVENTORY_COMMANDS, ORDERS_COMMANDS
from tests.e2e.portal.conftest import SECRET, Feed, RunningPortal, api_json, shipment
from tests.support.settle import published

pytestmark = pytest.mark.e2e

ANN, BOB = "seller-ann", "seller-bob"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module", autouse=True)
async def data(portal: RunningPortal, feed: Feed) -> None:
    await feed.order(ANN, "ann-1", placed_at=NOW - timedelta(days=1))
    await feed.order(BOB, "bob-1", placed_at=NOW - timedelta(days=1))
    await feed.order(
        BOB,
        "bob-shipped",
        placed_at=NOW - timedelta(days=2),
        status="shipped",
        shipment=shipment(NOW - timedelta(hours=1), memo="<script>alert('bob')</script>"),
    )
    await feed.order(
        ANN,
        "ann-memo",
        placed_at=NOW - timedelta(days=2),
        status="shipped",
        shipment=shipment(NOW - timedelta(hours=1), memo="<script>alert('x')</script> & <b>bold</b>", tracking_id="<img src=x>", valid=False),
    )
    await feed.listing(ANN, "mug-ann")
    await feed.listing(BOB, "vase-bob")
    async with portal.api(ANN) as ann, portal.api(BOB) as bob:  # every record applied: an absence below means something
        await api_json(ann, "/api/v1/orders/shop-1/ann-1")
        await api_json(bob, "/api/v1/orders/shop-1/bob-1")
        await api_json(ann, "/api/v1/orders/shop-1/ann-memo")
        await api_json(ann, "/api/v1/listings/mug-ann")
        await api_json(bob, "/api/v1/listings/vase-bob")
        await api_json(bob, "/api/v1/orders/shop-1/bob-shipped")


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def test_S3_another_sellers_order_and_listing_are_not_found_by_url(portal: RunningPortal) -> None:
    async with portal.browser_session(ANN) as browser, portal.api(ANN) as api:
        for path in ("/orders/shop-1/bob-1", "/orders/shop-1/bob-shipped", "/orders/shop-1/no-such-order", "/orders/shop-1/..%2f..%2fetc"):
            page = await browser.get(path)
            assert page.status_code == 404 and "bob" not in page.text.replace(path, "")
        for path in ("/api/v1/orders/shop-1/bob-1", "/api/v1/listings/vase-bob"):
            assert (await api.get(path)).status_code == 404
        assert (await api.get("/api/v1/orders", params={"order_id": "bob-1"})).json()["items"] == []
        assert (await api.get("/api/v1/orders")).json()["counts"] == {"unshipped": 1, "shipped": 1}  # Ann's own only
        listed = (await browser.get("/inventory")).text
        assert "mug-ann" in listed and "vase-bob" not in listed


async def test_S3_confirming_another_sellers_order_or_editing_their_listing_sends_nothing(portal: RunningPortal, infra) -> None:  # type: ignore[no-untyped-def]
    form = {"ship_date": NOW.date().isoformat(), "shipping_method": "Standard", "carrier": "UPS", "tracking_id": "1Z5R89390357567127"}
    async with (
        Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(ORDERS_COMMANDS, INVENTORY_COMMANDS)) as tap,
        portal.browser_session(ANN) as browser,
        portal.api(ANN) as api,
    ):
        token = csrf_of((await browser.get("/orders/shop-1/ann-1")).text)
        refused = await browser.post("/orders/shop-1/bob-1/confirm", data={**form, "csrf_token": token})
        assert refused.status_code == 404
        assert (await browser.post("/inventory/vase-bob", data={"quantity": "0", "csrf_token": token})).status_code == 404
        assert (await api.post("/api/v1/orders/shop-1/bob-1/shipment", json=form)).status_code == 404
        assert (await api.patch("/api/v1/listings/vase-bob", json={"quantity": 0})).status_code == 404
        # A seller id in a form or body is never taken: the form's is ignored, the API refuses unknown fields.
        own = await browser.post("/orders/shop-1/ann-1/confirm", data={**form, "seller_id": BOB, "csrf_token": token})
        assert own.status_code == 303
        assert (await api.post("/api/v1/orders/shop-1/ann-1/shipment", json={**form, "seller_id": BOB})).status_code == 422
        await published([portal.database_url], tap)  # the portal's outbox relayed, not only what is on Kafka yet
        sent = tap.of_type(commands.ConfirmShipment)
    assert [(c.seller_id, c.order_id) for c in sent] == [(ANN, "ann-1")]
    assert tap.of_type(commands.UpdateListing, lambda c: c.seller_id == ANN) == []


async def test_S3_another_sellers_command_is_not_found(portal: RunningPortal) -> None:
    async with portal.api(BOB) as bob, portal.api(ANN) as ann, portal.browser_session(ANN) as browser:
        sent = await bob.patch("/api/v1/listings/vase-bob", json={"production_days": 4})
        command_id = sent.json()["command_id"]
        assert (await bob.get(f"/api/v1/commands/{command_id}")).status_code == 200
        assert (await ann.get(f"/api/v1/commands/{command_id}")).status_code == 404
        assert (await browser.get(f"/commands/{command_id}")).status_code == 404
        assert (await browser.get("/commands/not-a-uuid")).status_code == 404


async def test_S3_a_tampered_or_expired_token_is_refused(portal: RunningPortal) -> None:
    good = portal.token(ANN)
    tampered = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    forged = Tokens("another-secret-of-at-least-32-characters", link_seconds=3600, session_seconds=3600).sign_in_token(ANN)
    expired = Tokens(SECRET, link_seconds=3600, session_seconds=3600, now=lambda: time.time() - 7200).sign_in_token(ANN)
    async with httpx.AsyncClient(base_url=portal.url) as client:
        for token in (tampered, forged, "", "x" * 5000, "not.a.token"):
            signin = await client.get("/signin", params={"token": token})
            assert signin.status_code in (400, 401) and "portal_session" not in signin.headers.get("set-cookie", "")
            if token:
                assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        signin = await client.get("/signin", params={"token": expired})
        assert signin.status_code == 401 and "expired" in signin.text
        assert "expired" in (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})).json()["detail"]
        assert (await client.get("/api/v1/me")).status_code == 401
        assert (await client.get("/orders")).status_code == 401
        # A session cookie that was altered, or one signed with another key, is no session.
        _, other_cookie = Tokens("another-secret-of-at-least-32-characters", link_seconds=60, session_seconds=60).new_session(ANN)
        for cookie in (other_cookie, "garbage"):
            assert (await client.get("/orders", headers={"Cookie": f"portal_session={cookie}"})).status_code == 401
        # The sign-in token is not a session cookie, and a session cookie is not a token.
        assert (await client.get("/orders", headers={"Cookie": f"portal_session={good}"})).status_code == 401
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})).json() == {"seller_id": ANN}


async def test_S3_free_text_is_rendered_escaped(portal: RunningPortal) -> None:
    async with portal.browser_session(ANN) as browser:
        page = (await browser.get("/orders/shop-1/ann-memo")).text
    assert "<script>" not in page and "<img src=x>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;img src=x&gt;" in page


async def test_S3_forms_without_their_csrf_token_change_nothing(portal: RunningPortal, infra) -> None:  # type: ignore[no-untyped-def]
    form = {"ship_date": NOW.date().isoformat(), "shipping_method": "Standard", "carrier": "UPS", "tracking_id": "1Z5R89390357567127"}
    async with (
        Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(INVENTORY_COMMANDS,)) as tap,
        portal.browser_session(ANN) as browser,
        portal.browser_session(ANN) as other_browser,
    ):
        other_token = csrf_of((await other_browser.get("/inventory")).text)
        for data in ({"quantity": "3"}, {"quantity": "3", "csrf_token": "forged"}, {"quantity": "3", "csrf_token": other_token}):
            response = await browser.post("/inventory/mug-ann", data=data)
            assert response.status_code == 403
        assert (await browser.post("/orders/shop-1/ann-1/confirm", data=form)).status_code == 403
        assert (await browser.post("/signout", data={})).status_code == 403
        await published([portal.database_url], tap)
    assert tap.of_type(commands.UpdateListing, lambda c: c.seller_id == ANN) == []


async def test_S3_bad_input_gets_a_clear_4xx_and_changes_nothing(portal: RunningPortal, infra) -> None:  # type: ignore[no-untyped-def]
    async with (
        Tap(infra.kafka_bootstrap_servers, portal.topic_prefix, topics=(INVENTORY_COMMANDS,)) as tap,
        portal.browser_session(ANN) as browser,
        portal.api(ANN) as api,
    ):
        token = csrf_of((await browser.get("/inventory")).text)
        for data in ({"quantity": "-1"}, {"quantity": "many"}, {"production_days": "31"}, {}, {"quantity": "1e9"}):
            response = await browser.post("/inventory/mug-ann", data={**data, "csrf_token": token})
            assert response.status_code == 400 and 'role="alert"' in response.text
        bad_confirm = await browser.post(
            "/orders/shop-1/ann-1/confirm", data={"ship_date": "yesterday", "carrier": "", "tracking_id": "x" * 101, "csrf_token": token}
        )
        assert bad_confirm.status_code == 400 and bad_confirm.text.count('role="alert"') >= 4  # date, method, carrier, tracking
        for path in ("/orders?cursor=%%%", "/orders?cursor=abc", "/orders?status=everything", "/orders?view=late&status=shipped", "/inventory?after=%00"):
            assert (await browser.get(path)).status_code == 400, path
        assert (await api.get("/api/v1/orders", params={"limit": 0})).status_code == 422
        assert (await api.get("/api/v1/orders", params={"cursor": uuid.uuid4().hex})).status_code == 400
        assert (await api.post("/api/v1/orders/shop-1/ann-1/shipment", content=b"{not json", headers={"content-type": "application/json"})).status_code == 422
        await published([portal.database_url], tap)
    assert tap.of_type(commands.UpdateListing, lambda c: c.seller_id == ANN) == []

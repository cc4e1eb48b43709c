"""The seller portal as its own process (python -m services.portal) on real Kafka and PostgreSQL.

One portal per test module: its own database, its own topics, a free HTTP port (PORTAL_PORT=0; the
process logs the address it serves). Tests feed it records built from the contracts, as the services
publish them, or run it beside the real services (test_browser.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser

from devtools.kafka_io import Publisher
from devtools.launcher import ServiceProcess
from devtools.system import create_database, drop_database, fresh_topics, new_run_id
from services.orders.dates import fix_deadlines
from services.portal.auth import Tokens
from shared.contracts.commands import OrderLine
from shared.contracts.envelope import Message
from shared.contracts.state import ListingStateRecord, OrderStateRecord, Shipment
from shared.contracts.topics import LISTINGS_STATE, ORDERS_STATE, Topic, order_key
from shared.logs import event_marker
from tests.e2e.portal.browser import launched, screenshot_folder
from tests.support.infra import Infra
from tests.support.waiting import eventually

SECRET = "tests-only-portal-secret-0123456789abcdef"
SERVING = event_marker("portal.serving")


@dataclass
class RunningPortal:
    url: str
    process: ServiceProcess
    database_url: str
    topic_prefix: str
    tokens: Tokens

    def token(self, seller_id: str) -> str:
        return self.tokens.sign_in_token(seller_id)

    def api(self, seller_id: str | None = None, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token or self.token(seller_id or '')}"} if (token or seller_id) else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    @contextlib.asynccontextmanager
    async def browser_session(self, seller_id: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client signed in through the sign-in link, holding the session cookie."""
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            response = await client.get("/signin", params={"token": self.token(seller_id)})
            assert response.status_code == 303, response.text
            yield client


def portal_tokens() -> Tokens:
    return Tokens(SECRET, link_seconds=3600, session_seconds=3600)


async def wait_serving(process: ServiceProcess, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        for line in process.log().splitlines():
            if SERVING in line:
                return json.loads(line)["url"]
        if process.process is not None and process.process.poll() is not None:
            raise AssertionError(f"portal exited with {process.process.returncode}:\n{process.log()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"portal did not serve within {timeout}s:\n{process.log()[-4000:]}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def started_portal(infra: Infra, prefix: str, logs: Path, env: dict[str, str] | None = None) -> AsyncIterator[RunningPortal]:
    """A portal process with a fresh database of its own, on the given topics; stopped and dropped after."""
    name = f"portal_{new_run_id()}"
    database_url = await create_database(infra.postgres_url, name)
    process = ServiceProcess(
        "portal",
        {
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
            "TOPIC_PREFIX": prefix,
            "DATABASE_URL": database_url,
            "PORTAL_PORT": "0",
            "PORTAL_SECRET_KEY": SECRET,
            "PORTAL_LINK_TTL_SECONDS": "3600",
            "PORTAL_SESSION_TTL_SECONDS": "3600",
            "PORTAL_PAGE_SIZE": "5",
            "OUTBOX_POLL_SECONDS": "0.5",
            **(env or {}),
        },
        logs / "portal.log",
    )
    process.start()
    try:
        await process.wait_started()
        url = await wait_serving(process)
        yield RunningPortal(url, process, database_url, prefix, portal_tokens())
    finally:
        process.stop()
        await drop_database(infra.postgres_url, name)


@pytest.fixture(scope="module")
async def portal_prefix(infra: Infra) -> AsyncIterator[str]:
    async with fresh_topics(infra.kafka_bootstrap_servers, f"test-{new_run_id()}.") as prefix:
        yield prefix


@pytest.fixture(scope="module")
def portal_env() -> dict[str, str]:
    """Extra environment for the module's portal (a test module overrides it: a frozen clock, say)."""
    return {}


@pytest.fixture(scope="module")
async def portal(infra: Infra, portal_prefix: str, tmp_path_factory: pytest.TempPathFactory, portal_env: dict[str, str]) -> AsyncIterator[RunningPortal]:
    async with started_portal(infra, portal_prefix, tmp_path_factory.mktemp("portal"), portal_env) as running:
        yield running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_folder(tmp_path_factory)


@pytest.fixture(scope="module")
async def feed(infra: Infra, portal_prefix: str) -> AsyncIterator[Feed]:
    async with Publisher(infra.kafka_bootstrap_servers, portal_prefix) as publisher:
        yield Feed(publisher)


# --- records as the services publish them ----------------------------------------------------------


class Feed:
    """Publishes state records built from the contracts, numbering each key's versions as a service does."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.versions: dict[str, int] = {}

    def _next(self, key: str) -> int:
        self.versions[key] = self.versions.get(key, 0) + 1
        return self.versions[key]

    async def send(self, topic: Topic, key: str, message: Message) -> None:
        await self.publisher.send(topic, key, message)

    async def listing(self, seller_id: str, listing_id: str, quantity: int = 10, production_days: int = 3) -> ListingStateRecord:
        record = ListingStateRecord(
            seller_id=seller_id,
            listing_id=listing_id,
            quantity=quantity,
            production_days=production_days,
            out_of_stock=quantity == 0,
            version=self._next(f"listing:{listing_id}"),
        )
        await self.send(LISTINGS_STATE, listing_id, record)
        return record

    async def order(
        self,
        seller_id: str,
        order_id: str,
        *,
        placed_at: datetime,
        status: str = "unshipped",
        production_days: int = 3,
        storefront_id: str = "shop-1",
        listing_id: str = "mug-1",
        shipment: Shipment | None = None,
        **fields: Any,
    ) -> OrderStateRecord:
        dates: dict[str, Any] = {}
        if status in ("unshipped", "shipped", "cancelled"):
            d = fix_deadlines(placed_at, production_days, ZoneInfo("UTC"))
            dates = {
                "timezone": "UTC",
                "order_date": d.order_date,
                "ship_by_date": d.ship_by_date,
                "confirm_by_date": d.confirm_by_date,
                "ship_by_deadline": d.ship_by_deadline,
                "confirm_by_deadline": d.confirm_by_deadline,
            }
        record = OrderStateRecord(
            storefront_id=storefront_id,
            order_id=order_id,
            seller_id=seller_id,
            command_id=uuid.uuid4(),
            status=status,  # type: ignore[arg-type]
            placed_at=placed_at,
            lines=[OrderLine(listing_id=listing_id, quantity=1)],
            shipment=shipment,
            version=self._next(f"order:{storefront_id}/{order_id}"),
            **dates,
            **fields,
        )
        await self.send(ORDERS_STATE, order_key(storefront_id, order_id), record)
        return record


def shipment(confirmed_at: datetime, *, carrier: str = "UPS", tracking_id: str = "1Z5R89390357567127", valid: bool | None = True, late: bool = False, memo: str | None = None) -> Shipment:
    return Shipment(
        command_id=uuid.uuid4(),
        confirmed_at=confirmed_at,
        ship_date=confirmed_at.date(),
        shipping_method="Standard",
        carrier=carrier,
        tracking_id=tracking_id,
        tracking_valid=valid,
        memo=memo,
        late=late,
    )


async def api_json(client: httpx.AsyncClient, path: str, check: Any = lambda _: True, timeout: float = 30.0) -> Any:
    """GET `path` until it answers 200 and its JSON satisfies `check` (the portal applies records asynchronously)."""

    async def read() -> Any:
        response = await client.get(path)
        return response.json() if response.status_code == 200 else {"status": response.status_code, "body": response.text}

    return await eventually(read, lambda body: _ok(body, check), timeout=timeout)


def _ok(body: Any, check: Any) -> bool:
    if isinstance(body, dict) and isinstance(body.get("status"), int) and "body" in body:
        return False
    return bool(check(body))



def frozen_clock_env(at: datetime) -> dict[str, str]:
    """A clock that reads `at` and (practically) stands still: figures that depend on "now" are exact (T3)."""
    return {"CLOCK_REAL_ANCHOR": datetime.now(UTC).isoformat(), "CLOCK_SIMULATED_ANCHOR": at.isoformat(), "CLOCK_SPEED": "0.000001"}

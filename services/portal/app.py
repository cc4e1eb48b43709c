"""The seller portal process: its settings and what it reads (the read model's consumers).

The HTTP side (pages and JSON API) is in web.py; __main__.py runs both in one process.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from services.portal import projection
from services.portal.storage import PortalWork
from shared.contracts import events, state
from shared.contracts.topics import DEADLINES_EVENTS, INVENTORY_EVENTS, LISTINGS_STATE, ORDERS_EVENTS, ORDERS_STATE
from shared.messaging.dispatch import Routes, on
from shared.runtime import BackgroundJob, Service
from shared.settings import ServiceSettings, load, local_database_url

# Only for a machine of one's own: `make run` and the tests. Set PORTAL_SECRET_KEY anywhere else.
LOCAL_SECRET = "local-development-only-portal-secret-change-me"


class PortalSettings(ServiceSettings):
    database_url: str = local_database_url("portal")
    http_port: int = Field(default=18084, ge=0, le=65_535)  # health and metrics (shared/http.py)
    portal_host: str = "127.0.0.1"
    portal_port: int = Field(default=18080, ge=0, le=65_535)  # the pages and API; 0: any free port (tests)
    # The address sellers reach the portal at, for sign-in links; default http://HOST:PORT.
    portal_public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # Signs sign-in links, session cookies and CSRF tokens: whoever knows it can sign in as any seller.
    portal_secret_key: SecretStr = Field(default=SecretStr(LOCAL_SECRET), min_length=32)
    portal_link_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)  # how long a sign-in link (API token) is valid
    portal_session_ttl_seconds: int = Field(default=12 * 3600, ge=60)  # how long a browser stays signed in
    portal_page_size: int = Field(default=50, ge=1, le=500)  # orders on one page of Manage Orders
    portal_cookie_secure: bool = False  # set the session cookie only over HTTPS (set it behind TLS)

    @field_validator("portal_public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    def public_url(self, port: int | None = None) -> str:
        return self.portal_public_url or f"http://{self.portal_host}:{port if port is not None else self.portal_port}"


# What the portal does with each message type it reads; everything else there is ignored on purpose.
ROUTES: tuple[Routes, ...] = (
    Routes(ORDERS_STATE, dict([on(state.OrderStateRecord, projection.keep_order)])),
    Routes(LISTINGS_STATE, dict([on(state.ListingStateRecord, projection.keep_listing)])),
    # Penalties and cancellations reach the portal as order state; the warning is news (S4).
    Routes(
        DEADLINES_EVENTS,
        dict([on(events.DeadlineApproaching, projection.keep_warning)]),
        ignored=frozenset({events.LateShipmentPenalty, events.CancellationIssued}),
    ),
    # Answers to sellers' commands (M5); what happens to orders arrives as order state.
    Routes(
        ORDERS_EVENTS,
        dict([on(events.ShipmentConfirmed, projection.keep_answer), on(events.CommandRejected, projection.keep_answer)]),
        ignored=frozenset({events.OrderPlaced, events.OrderAccepted, events.OrderRejected, events.OrderCancelled, events.OrdersWatermark}),
    ),
    Routes(
        INVENTORY_EVENTS,
        dict(
            [
                on(events.ListingCreated, projection.keep_answer),
                on(events.ListingUpdated, projection.keep_answer),
                on(events.CommandRejected, projection.keep_answer),
            ]
        ),
        ignored=frozenset({events.StockReserved, events.StockReservationFailed, events.StockRestored}),
    ),
)


def build(settings: PortalSettings | None = None, *, background: tuple[BackgroundJob, ...] = ()) -> Service:
    """The portal's consumers, which keep the read model; server.py adds the pages (web.py) as a job."""
    settings = settings or load(PortalSettings)
    return Service(
        name="portal",
        settings=settings,
        clock=settings.clock(),
        migrations=Path(__file__).parent / "migrations",
        routes=ROUTES,
        work=PortalWork,
        background=background,
    )

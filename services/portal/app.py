"""The seller portal process: its settings and what it reads (the read model's consumers).

The HTTP side (pages and JSON API) is in web.py; __main__.py runs both in one process.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from services.portal import projection
from shared.contracts.topics import DEADLINES_EVENTS, INVENTORY_EVENTS, LISTINGS_STATE, ORDERS_EVENTS, ORDERS_STATE
from shared.runtime import Service, Subscription
from shared.settings import ServiceSettings, local_database_url

# Only for a machine of one's own: `make run` and the tests. Set PORTAL_SECRET_KEY anywhere else.
LOCAL_SECRET = "local-development-only-portal-secret-change-me"


class PortalSettings(ServiceSettings):
    database_url: str = local_database_url("portal")
    portal_host: str = "127.0.0.1"
    portal_port: int = Field(default=18080, ge=0, le=65_535)  # 0: any free port (tests)
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


def build(settings: PortalSettings | None = None) -> Service:
    settings = settings or PortalSettings()
    return Service(
        name="portal",
        settings=settings,
        migrations=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(ORDERS_STATE, projection.on_order_state),
            Subscription(LISTINGS_STATE, projection.on_listing_state),
            Subscription(DEADLINES_EVENTS, projection.on_deadline_event),
            Subscription(ORDERS_EVENTS, projection.on_answer),
            Subscription(INVENTORY_EVENTS, projection.on_answer),
        ],
    )

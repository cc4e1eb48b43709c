"""Sign-in links for the demo (`make run`) and the tests: one signed, expiring link per seller."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from services.portal.app import PortalSettings
from services.portal.auth import Tokens


def tokens(settings: PortalSettings) -> Tokens:
    return Tokens(
        settings.portal_secret_key.get_secret_value(),
        link_seconds=settings.portal_link_ttl_seconds,
        session_seconds=settings.portal_session_ttl_seconds,
    )


def sign_in_link(settings: PortalSettings, seller_id: str, *, base_url: str | None = None) -> str:
    token = tokens(settings).sign_in_token(seller_id)
    return f"{base_url or settings.public_url()}/signin?{urlencode({'token': token})}"


def describe(sellers: Iterable[str], settings: PortalSettings | None = None, *, base_url: str | None = None) -> str:
    """What `make run` prints: the portal's address and one sign-in link per seller."""
    settings = settings or PortalSettings()
    base = base_url or settings.public_url()
    lines = [f"portal: the seller portal is at {base}; sign in as a seller with its link:"]
    lines += [f"portal:   {seller:<20} {sign_in_link(settings, seller, base_url=base)}" for seller in sellers]
    return "\n".join(lines)

"""What every request handler of the portal needs: the signed-in seller (from the session cookie),
the checked form (CSRF), the database pool, the clock (T3) and the templates (autoescaped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.portal.app import PortalSettings
from services.portal.auth import Refused, Session, Tokens
from shared.clock import Clock

HERE = Path(__file__).parent
SESSION_COOKIE = "portal_session"


class NotSignedIn(Exception):
    def __init__(self, message: str = "Sign in with the link you were given (`make run` prints one per seller).") -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Portal:
    """What every request handler needs: settings, tokens, the clock (T3) and the database pool."""

    settings: PortalSettings
    tokens: Tokens
    clock: Clock
    templates: jinja2.Environment
    pool: asyncpg.Pool | None = field(default=None, repr=False)  # the service's pool, set when it runs

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    def now(self) -> datetime:
        return self.clock.now()

    def db(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the portal's database pool is not open")
        return self.pool

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        session = request.state.session if hasattr(request.state, "session") else None
        body = self.templates.get_template(template).render(
            request=request,
            session=session,
            csrf_token=self.tokens.csrf_token(session) if session else "",
            zone=self.zone,
            now=self.now(),
            **context,
        )
        return HTMLResponse(body, status_code=status_code)


def portal_of(request: Request) -> Portal:
    return request.app.state.portal


def page_session(request: Request) -> Session:
    """The signed-in seller of a page request, from the session cookie; NotSignedIn otherwise."""
    portal = portal_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotSignedIn()
    found = portal.tokens.session_of(cookie)
    if isinstance(found, Refused):
        raise NotSignedIn(found.message)
    request.state.session = found
    return found


async def checked_form(request: Request, session: Session) -> dict[str, str]:
    """The posted form's text fields, after checking its CSRF token; a 403 page otherwise."""
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception:  # a body that is not a form (multipart errors, bad encodings): the client's fault
        raise StarletteHTTPException(400, "The form could not be read.") from None
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not portal_of(request).tokens.csrf_valid(session, fields.get("csrf_token")):
        raise StarletteHTTPException(403, "This form has expired or did not come from this portal. Reload the page and try again.")
    return fields


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is HTML-escaped: memos, ids and carrier names are free text
        undefined=jinja2.StrictUndefined,
    )
    return env



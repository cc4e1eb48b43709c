"""The portal's HTTP application: pages (pages.py) and the JSON API (api.py) on one FastAPI app.

Safety that holds for every route lives here: who is signed in, CSRF on every form, escaped output
(Jinja autoescape), security headers, and errors as a clear 4xx page or JSON body, never a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.portal.app import PortalSettings
from services.portal.auth import Refused, Session, Tokens
from services.portal.reads import BadInput
from shared.clock import Clock
from shared.logs import get_logger
from shared.storage.database import create_pool

HERE = Path(__file__).parent
SESSION_COOKIE = "portal_session"
log = get_logger()


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
    pool: asyncpg.Pool | None = field(default=None, repr=False)

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


SECURITY_HEADERS = {
    # No scripts at all; styles only from this origin; no framing; no referrer (sign-in links carry tokens).
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(settings: PortalSettings, *, tokens: Tokens | None = None) -> FastAPI:
    from services.portal import api, pages  # routers import this module's helpers

    portal = Portal(
        settings=settings,
        tokens=tokens
        or Tokens(
            settings.portal_secret_key.get_secret_value(),
            link_seconds=settings.portal_link_ttl_seconds,
            session_seconds=settings.portal_session_ttl_seconds,
        ),
        clock=settings.clock(),
        templates=templates(),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        portal.pool = await create_pool(settings.database_url, timeout=settings.startup_timeout_seconds)
        try:
            yield
        finally:
            await portal.pool.close()

    app = FastAPI(
        title="Seller portal API",
        version="1.0.0",
        description="A seller's orders, listings and performance; shipment confirmations and listing edits are sent as "
        "the services' commands and answered asynchronously (follow the command's URL). Authenticate with the token of "
        "your sign-in link as a bearer token.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load scripts from a CDN; the document itself is served
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.portal = portal
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if is_api(request):
            return JSONResponse({"detail": exc.message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return portal.render(request, "signin.html", status_code=401, message=exc.message)

    @app.exception_handler(BadInput)
    async def bad_input(request: Request, exc: BadInput) -> Response:
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return portal.render(request, "error.html", status_code=400, title="Bad request", message=str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
        titles = {404: "Not found", 403: "Forbidden", 405: "Not allowed", 400: "Bad request"}
        message = exc.detail if exc.status_code != 404 else "There is nothing here for you: no such page, order or listing of yours."
        return portal.render(request, "error.html", status_code=exc.status_code, title=titles.get(exc.status_code, "Error"), message=message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        if is_api(request):
            return JSONResponse({"detail": problems}, status_code=422)
        text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return portal.render(request, "error.html", status_code=400, title="Bad request", message=text)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("portal.request_failed", path=request.url.path)
        if is_api(request):
            return JSONResponse({"detail": "internal error"}, status_code=500)
        return portal.render(request, "error.html", status_code=500, title="Something went wrong", message="Try again in a moment.")

    return app

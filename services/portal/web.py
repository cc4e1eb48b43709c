"""The portal's HTTP application: pages (pages.py) and the JSON API (api.py) on one FastAPI app.

Safety that holds for every route lives here and in context.py: who is signed in, CSRF on every form,
escaped output (Jinja autoescape), security headers, and errors as a clear 4xx page or JSON body, never
a traceback.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.portal import api, links, pages
from services.portal.app import PortalSettings
from services.portal.auth import Tokens
from services.portal.context import HERE, NotSignedIn, Portal, templates
from services.portal.reads import BadInput
from shared.logs import get_logger

log = get_logger()


SECURITY_HEADERS = {
    # No scripts at all; styles only from this origin; no framing; no referrer (sign-in links carry tokens).
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(settings: PortalSettings, *, tokens: Tokens | None = None) -> FastAPI:
    portal = Portal(
        settings=settings,
        tokens=tokens or links.tokens(settings),
        clock=settings.clock(),
        templates=templates(),
    )

    app = FastAPI(
        title="Seller portal API",
        version="1.0.0",
        description="A seller's orders, listings and performance; shipment confirmations and listing edits are sent as "
        "the services' commands and answered asynchronously (follow the command's URL). Authenticate with the token of "
        "your sign-in link as a bearer token.",
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

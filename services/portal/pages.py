"""The seller's pages: Manage Orders, order detail with Confirm shipment, inventory, performance.

Every page reads for the signed-in seller only (S3); every form carries a CSRF token; every POST
sends a service command (commands.py) and redirects to the page that shows its answer.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from services.portal import commands, reads
from services.portal.auth import Refused, Session
from services.portal.context import SESSION_COOKIE, checked_form, page_session, portal_of

router = APIRouter(include_in_schema=False)
Signed = Annotated[Session, Depends(page_session)]
NOT_FOUND = HTTPException(404, "not found")


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/")
async def home(request: Request) -> Response:
    if request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/orders", status_code=303)
    return portal_of(request).render(request, "signin.html", message=None)


@router.get("/signin")
async def sign_in(request: Request, token: Annotated[str, Query(max_length=4096)] = "") -> Response:
    portal = portal_of(request)
    seller = portal.tokens.seller_of(token)
    if isinstance(seller, Refused):
        return portal.render(request, "signin.html", status_code=401, message=seller.message)
    _, cookie = portal.tokens.new_session(seller)
    response = RedirectResponse("/orders", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=portal.settings.portal_session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=portal.settings.portal_cookie_secure,
    )
    return response


@router.post("/signout")
async def sign_out(request: Request, session: Signed) -> Response:
    await checked_form(request, session)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/orders")
async def manage_orders(
    request: Request,
    session: Signed,
    status: Annotated[str, Query(max_length=20)] = "unshipped",
    view: Annotated[str, Query(max_length=20)] = "all",
    sort: Annotated[str, Query(max_length=20)] = "ship_by",
    cursor: Annotated[str | None, Query(max_length=300)] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        page = await reads.orders_page(
            conn,
            session.seller_id,
            status=status,
            view=view,
            sort=sort,
            cursor=cursor,
            limit=portal.settings.portal_page_size,
            now=portal.now(),
            order_id=q.strip() if q and q.strip() else None,
        )
    return portal.render(request, "orders.html", page=page, q=q or "")


async def _order_page(request: Request, session: Session, storefront_id: str, order_id: str, *, status_code: int = 200, **extra: object) -> Response:
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        order = await reads.order_detail(conn, session.seller_id, storefront_id, order_id, portal.now(), portal.zone)
        if order is None:
            raise NOT_FOUND
        sent = await reads.commands_about_order(conn, session.seller_id, storefront_id, order_id)
    context: dict[str, object] = {"form": {}, "problems": {}, "command_id": uuid.uuid4(), **extra}
    return portal.render(request, "order.html", status_code=status_code, order=order, sent=sent, **context)


@router.get("/orders/{storefront_id}/{order_id}")
async def order_page(request: Request, session: Signed, storefront_id: str, order_id: str) -> Response:
    return await _order_page(request, session, storefront_id, order_id)


@router.post("/orders/{storefront_id}/{order_id}/confirm")
async def confirm_shipment(request: Request, session: Signed, storefront_id: str, order_id: str) -> Response:
    fields = await checked_form(request, session)
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        # S3: an order that is not this seller's is not found, and nothing is sent.
        if not await reads.has_order(conn, session.seller_id, storefront_id, order_id):
            raise NOT_FOUND
        command_id = _uuid(fields.get("command_id")) or uuid.uuid4()
        built = commands.confirmation(session.seller_id, storefront_id, order_id, command_id, fields, at=portal.now())
        if isinstance(built, commands.Invalid):
            return await _order_page(request, session, storefront_id, order_id, status_code=400, form=fields, problems=built.problems, command_id=command_id)
        await commands.send(conn, session.seller_id, built)
    return RedirectResponse(f"/commands/{command_id}", status_code=303)


@router.get("/commands/{command_id}")
async def command_page(request: Request, session: Signed, command_id: str) -> Response:
    portal = portal_of(request)
    parsed = _uuid(command_id)
    if parsed is None:
        raise NOT_FOUND
    async with portal.db().acquire() as conn:
        sent = await reads.command(conn, session.seller_id, parsed)
    if sent is None:
        raise NOT_FOUND
    return portal.render(request, "command.html", sent=sent)


@router.get("/inventory")
async def inventory(request: Request, session: Signed, after: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        page = await reads.listings_page(conn, session.seller_id, after=after, limit=100)
    return portal.render(request, "inventory.html", page=page, problems={}, form={}, failed=None)


@router.post("/inventory/{listing_id}")
async def edit_listing(request: Request, session: Signed, listing_id: str) -> Response:
    fields = await checked_form(request, session)
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        if await reads.listing(conn, session.seller_id, listing_id) is None:
            raise NOT_FOUND
        command_id = _uuid(fields.get("command_id")) or uuid.uuid4()
        built = commands.listing_update(session.seller_id, listing_id, command_id, fields, at=portal.now())
        if isinstance(built, commands.Invalid):
            page = await reads.listings_page(conn, session.seller_id, after=None, limit=100)
            return portal.render(request, "inventory.html", status_code=400, page=page, problems=built.problems, form=fields, failed=listing_id)
        await commands.send(conn, session.seller_id, built)
    return RedirectResponse(f"/commands/{command_id}", status_code=303)


@router.get("/performance")
async def performance(request: Request, session: Signed) -> Response:
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        figures = await reads.performance(conn, session.seller_id, portal.now(), portal.zone)
    return portal.render(request, "performance.html", figures=figures)

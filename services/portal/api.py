"""The JSON API under the pages (/api/v1, OpenAPI at /api/openapi.json).

Authenticated by the sign-in token as a bearer token: browsers never attach it on their own, so the
API needs no CSRF token. Reads are the pages' reads (reads.py); writes queue the services' commands
and answer 202 with the command's URL, where its answer appears (M5).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from services.portal import commands, reads
from services.portal.auth import Refused
from services.portal.context import NotSignedIn, portal_of
from shared.contracts.commands import ProductionDays, Quantity, ShortText
from shared.contracts.envelope import Text

router = APIRouter(prefix="/api/v1", tags=["seller"])
bearer = HTTPBearer(auto_error=False, description="The token of your sign-in link (the `token` query parameter).")
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
NOT_FOUND = {404: {"description": "Not one of your orders or listings (or no such thing)"}}
ERRORS = {
    400: {"description": "A parameter that means nothing here"},
    401: {"description": "No token, or a tampered or expired one"},
    422: {"description": "The request does not match this document"},
}


def seller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotSignedIn("Send your sign-in token as `Authorization: Bearer <token>`.")
    signed = portal_of(request).tokens.seller_of(credentials.credentials)
    if isinstance(signed, Refused):
        raise NotSignedIn(signed.message)
    return signed


Seller = Annotated[str, Depends(seller)]

T = TypeVar("T")


def found(value: T | None) -> T:
    """The thing asked for, or 404: another seller's order or listing is answered as if it did not exist."""
    if value is None:
        raise HTTPException(404, "not found")
    return value


class Me(BaseModel):
    seller_id: str


class ShipmentRequest(BaseModel):
    """Confirm shipment (R8). Re-sending the same command_id is harmless (R9)."""

    model_config = ConfigDict(extra="forbid")

    command_id: UUID | None = Field(default=None, description="your id for this confirmation; one is made if absent")
    ship_date: date
    shipping_method: ShortText
    carrier: ShortText
    tracking_id: ShortText
    memo: Annotated[Text, Field(max_length=1000)] | None = None


class ListingEdit(BaseModel):
    """Change quantity and/or production time (R1, R4): at least one."""

    model_config = ConfigDict(extra="forbid")

    command_id: UUID | None = None
    quantity: Quantity | None = None
    production_days: ProductionDays | None = None


class Accepted(BaseModel):
    command_id: UUID
    status_url: str
    sent: bool = Field(description="false when this command id was sent before: nothing new was sent")


@router.get("/me", responses=ERRORS)
async def me(seller_id: Seller) -> Me:
    return Me(seller_id=seller_id)


@router.get("/orders", responses=ERRORS)
async def list_orders(
    request: Request,
    seller_id: Seller,
    status: Annotated[str, Query(description="unshipped, shipped, cancelled, rejected or pending", max_length=20)] = "unshipped",
    view: Annotated[str, Query(description="all, at_risk or late (views of unshipped orders)", max_length=20)] = "all",
    sort: Annotated[str, Query(description="ship_by (soonest first) or -ship_by", max_length=20)] = "ship_by",
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page", max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    order_id: Annotated[str | None, Query(max_length=64)] = None,
) -> reads.OrdersPage:
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        return await reads.orders_page(
            conn, seller_id, status=status, view=view, sort=sort, cursor=cursor, limit=limit, now=portal.now(), order_id=order_id
        )


@router.get("/orders/{storefront_id}/{order_id}", responses={**ERRORS, **NOT_FOUND})
async def get_order(request: Request, seller_id: Seller, storefront_id: Id, order_id: Id) -> reads.OrderDetail:
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        return found(await reads.order_detail(conn, seller_id, storefront_id, order_id, portal.now(), portal.zone))


@router.post("/orders/{storefront_id}/{order_id}/shipment", status_code=202, responses={**ERRORS, **NOT_FOUND})
async def confirm_shipment(request: Request, seller_id: Seller, storefront_id: Id, order_id: Id, body: ShipmentRequest) -> Accepted:
    portal = portal_of(request)
    command_id = body.command_id or uuid.uuid4()
    async with portal.db().acquire() as conn:
        if not await reads.has_order(conn, seller_id, storefront_id, order_id):
            raise HTTPException(404, "not found")
        built = commands.confirmation(seller_id, storefront_id, order_id, command_id, body.model_dump(exclude={"command_id"}), at=portal.now())
        if isinstance(built, commands.Invalid):
            return JSONResponse({"detail": built.problems}, status_code=422)  # type: ignore[return-value]
        sent = await commands.send(conn, seller_id, built)
    return Accepted(command_id=command_id, status_url=f"/api/v1/commands/{command_id}", sent=sent)


@router.get("/commands/{command_id}", responses={**ERRORS, **NOT_FOUND})
async def get_command(request: Request, seller_id: Seller, command_id: UUID) -> reads.CommandOut:
    async with portal_of(request).db().acquire() as conn:
        return found(await reads.command(conn, seller_id, command_id))


@router.get("/listings", responses=ERRORS)
async def list_listings(
    request: Request,
    seller_id: Seller,
    after: Annotated[str | None, Query(description="next_cursor of the previous page", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> reads.ListingsPage:
    async with portal_of(request).db().acquire() as conn:
        return await reads.listings_page(conn, seller_id, after=after, limit=limit)


@router.get("/listings/{listing_id}", responses={**ERRORS, **NOT_FOUND})
async def get_listing(request: Request, seller_id: Seller, listing_id: Id) -> reads.ListingOut:
    async with portal_of(request).db().acquire() as conn:
        return found(await reads.listing(conn, seller_id, listing_id))


@router.patch("/listings/{listing_id}", status_code=202, responses={**ERRORS, **NOT_FOUND})
async def edit_listing(request: Request, seller_id: Seller, listing_id: Id, body: ListingEdit) -> Accepted:
    portal = portal_of(request)
    command_id = body.command_id or uuid.uuid4()
    async with portal.db().acquire() as conn:
        found(await reads.listing(conn, seller_id, listing_id))
        built = commands.listing_update(seller_id, listing_id, command_id, body.model_dump(exclude={"command_id"}), at=portal.now())
        if isinstance(built, commands.Invalid):
            return JSONResponse({"detail": built.problems}, status_code=422)  # type: ignore[return-value]
        sent = await commands.send(conn, seller_id, built)
    return Accepted(command_id=command_id, status_url=f"/api/v1/commands/{command_id}", sent=sent)


@router.get("/performance", responses=ERRORS)
async def performance(request: Request, seller_id: Seller) -> reads.Performance:
    portal = portal_of(request)
    async with portal.db().acquire() as conn:
        return await reads.performance(conn, seller_id, portal.now(), portal.zone)

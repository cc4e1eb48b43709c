"""What the pages and the JSON API show, for one signed-in seller: the same models serve both.

Each function takes the seller from the session or token (never from the request's parameters), so
everything it returns is that seller's own (S3).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from services.portal import metrics, storage, views
from shared.contracts.state import Shipment

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # the contracts' EntityId
STATUSES: tuple[storage.Status, ...] = ("unshipped", "shipped", "cancelled", "rejected", "pending")
VIEWS: tuple[storage.View, ...] = ("all", "at_risk", "late")


class BadInput(ValueError):
    """A parameter a person or program sent that means nothing here: answered with 400 and its message."""


def is_id(value: str) -> bool:
    return bool(_ID.match(value))


# --- cursors ------------------------------------------------------------------------------------


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def encode_cursor(cursor: storage.Cursor) -> str:
    micros = (cursor.sort_at - EPOCH) // MICROSECOND  # exact: a float timestamp would lose microseconds
    raw = f"{micros}/{cursor.storefront_id}/{cursor.order_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> storage.Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        micros, storefront_id, order_id = raw.split("/")
        sort_at = EPOCH + int(micros) * MICROSECOND
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise BadInput("the page cursor is not one this portal made; start again from the first page") from None
    if not (is_id(storefront_id) and is_id(order_id)):
        raise BadInput("the page cursor is not one this portal made; start again from the first page")
    return storage.Cursor(sort_at, storefront_id, order_id)


# --- orders -------------------------------------------------------------------------------------


class Line(BaseModel):
    listing_id: str
    quantity: int


class WarningOut(BaseModel):
    deadline_kind: Literal["ship_by", "confirm_by"]
    deadline: datetime
    due_date: date
    warned_at: datetime


class OrderSummary(BaseModel):
    storefront_id: str
    order_id: str
    status: str
    placed_at: datetime
    order_date: date | None
    ship_by_date: date | None
    confirm_by_date: date | None
    ship_by_deadline: datetime | None
    confirm_by_deadline: datetime | None
    ship_by_left: str
    confirm_by_left: str
    late: bool
    at_risk: bool
    late_penalty: bool
    units: int
    tracking_valid: bool | None


class OrderDetail(OrderSummary):
    timezone: str | None
    lines: list[Line]
    warnings: list[WarningOut]
    shipment: Shipment | None
    rejection: str | None
    cancellation_reason: str | None
    dates_explained: list[str]


class OrdersPage(BaseModel):
    status: str
    view: str
    sort: str
    items: list[OrderSummary]
    next_cursor: str | None
    counts: dict[str, int]
    at_risk: int


def _json(value: Any) -> Any:
    """jsonb columns arrive as text (asyncpg's default codec)."""
    return json.loads(value) if isinstance(value, str) else value


def _summary(row: Any, warnings: list[Any], now: datetime) -> dict[str, Any]:
    flags = views.flags(row, warnings, now)
    lines = _json(row["lines"])
    return {
        "storefront_id": row["storefront_id"],
        "order_id": row["order_id"],
        "status": row["status"],
        "placed_at": row["placed_at"],
        "order_date": row["order_date"],
        "ship_by_date": row["ship_by_date"],
        "confirm_by_date": row["confirm_by_date"],
        "ship_by_deadline": row["ship_by_deadline"],
        "confirm_by_deadline": row["confirm_by_deadline"],
        "ship_by_left": views.time_left(row["ship_by_deadline"], now) if row["status"] == "unshipped" else "",
        "confirm_by_left": views.time_left(row["confirm_by_deadline"], now) if row["status"] == "unshipped" else "",
        "late": flags.late,
        "at_risk": flags.at_risk,
        "late_penalty": row["late_penalty"],
        "units": sum(int(line["quantity"]) for line in lines),
        "tracking_valid": row["tracking_valid"],
        "lines": lines,
    }


async def orders_page(
    conn: asyncpg.Connection,
    seller_id: str,
    *,
    status: str,
    view: str,
    sort: str,
    cursor: str | None,
    limit: int,
    now: datetime,
    order_id: str | None = None,
) -> OrdersPage:
    if status not in STATUSES:
        raise BadInput(f"status must be one of {', '.join(STATUSES)}")
    if view not in VIEWS:
        raise BadInput(f"view must be one of {', '.join(VIEWS)}")
    if sort not in ("ship_by", "-ship_by"):
        raise BadInput("sort must be ship_by (soonest first) or -ship_by (latest first)")
    if view != "all" and status != "unshipped":
        raise BadInput("the at_risk and late views are views of unshipped orders")
    if order_id is not None and not is_id(order_id):
        raise BadInput("an order id is 1-64 letters, digits and . _ : - (starting with a letter or digit)")
    after = decode_cursor(cursor) if cursor else None
    rows = await storage.order_page(
        conn, seller_id, status, view=view, descending=sort.startswith("-"), after=after, limit=limit, now=now, order_id=order_id  # type: ignore[arg-type]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    warnings = await storage.warnings_for(conn, seller_id, [(r["storefront_id"], r["order_id"]) for r in rows])
    items = [OrderSummary(**_summary(r, warnings.get((r["storefront_id"], r["order_id"]), []), now)) for r in rows]
    last = rows[-1] if rows else None
    next_cursor = encode_cursor(storage.Cursor(last["sort_at"], last["storefront_id"], last["order_id"])) if more and last else None
    return OrdersPage(
        status=status,
        view=view,
        sort=sort,
        items=items,
        next_cursor=next_cursor,
        counts={s: n for s, n in (await storage.status_counts(conn, seller_id)).items()},
        at_risk=await storage.at_risk_count(conn, seller_id, now),
    )


async def has_order(conn: asyncpg.Connection, seller_id: str, storefront_id: str, order_id: str) -> bool:
    """Whether the order is one of the seller's (what a write checks before queueing a command)."""
    return is_id(storefront_id) and is_id(order_id) and await storage.order(conn, seller_id, storefront_id, order_id) is not None


async def order_detail(conn: asyncpg.Connection, seller_id: str, storefront_id: str, order_id: str, now: datetime, zone: ZoneInfo) -> OrderDetail | None:
    if not (is_id(storefront_id) and is_id(order_id)):
        return None
    row = await storage.order(conn, seller_id, storefront_id, order_id)
    if row is None:
        return None
    warnings = (await storage.warnings_for(conn, seller_id, [(storefront_id, order_id)])).get((storefront_id, order_id), [])
    shipment = None
    if row["confirmed_at"] is not None:
        shipment = Shipment(
            command_id=row["confirmation_command_id"],
            confirmed_at=row["confirmed_at"],
            ship_date=row["ship_date"],
            shipping_method=row["shipping_method"],
            carrier=row["carrier"],
            tracking_id=row["tracking_id"],
            tracking_valid=row["tracking_valid"],
            memo=row["memo"],
            late=bool(row["shipped_late"]),
        )
    rejection = None
    if row["rejection_reason"]:
        rejection = f"{row['rejection_reason']} ({row['rejection_rule']}): {row['rejection_message']}"
    return OrderDetail(
        **_summary(row, warnings, now),
        timezone=row["timezone"],
        warnings=[WarningOut(**{k: w[k] for k in ("deadline_kind", "deadline", "due_date", "warned_at")}) for w in warnings],
        shipment=shipment,
        rejection=rejection,
        cancellation_reason=row["cancellation_reason"],
        dates_explained=views.explain_dates(row, zone),
    )


# --- listings -----------------------------------------------------------------------------------


class ListingOut(BaseModel):
    listing_id: str
    quantity: int
    production_days: int
    out_of_stock: bool


class ListingsPage(BaseModel):
    items: list[ListingOut]
    next_cursor: str | None


def _listing(row: Any) -> ListingOut:
    return ListingOut(listing_id=row["listing_id"], quantity=row["quantity"], production_days=row["production_days"], out_of_stock=row["out_of_stock"])


async def listings_page(conn: asyncpg.Connection, seller_id: str, *, after: str | None, limit: int) -> ListingsPage:
    if after is not None and not is_id(after):
        raise BadInput("after must be a listing id")
    rows = await storage.listing_page(conn, seller_id, after=after, limit=limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return ListingsPage(items=[_listing(r) for r in rows], next_cursor=rows[-1]["listing_id"] if more and rows else None)


async def listing(conn: asyncpg.Connection, seller_id: str, listing_id: str) -> ListingOut | None:
    if not is_id(listing_id):
        return None
    row = await storage.listing(conn, seller_id, listing_id)
    return _listing(row) if row else None


# --- performance --------------------------------------------------------------------------------


class RateOut(BaseModel):
    key: str
    title: str
    window_days: int
    numerator: int
    denominator: int
    rate: float | None  # None: no orders in the window (S6), not 0
    target: str
    meets_target: bool | None
    counts: str


class Performance(BaseModel):
    as_of: datetime
    timezone: str
    rates: list[RateOut]


async def performance(conn: asyncpg.Connection, seller_id: str, now: datetime, zone: ZoneInfo) -> Performance:
    rows = await storage.metric_facts(conn, seller_id, metrics.earliest_instant(now, zone), now)
    facts = [
        metrics.OrderFacts(r["ship_by_deadline"], r["confirm_by_deadline"], r["confirmed_at"], r["tracking_valid"], r["status"] == "cancelled")
        for r in rows
    ]
    rates = [
        RateOut(
            key=rate.key,
            title=rate.title,
            window_days=rate.days,
            numerator=rate.numerator,
            denominator=rate.denominator,
            rate=float(rate.value) if rate.value is not None else None,
            target=f"{rate.target.direction} {float(rate.target.value) * 100:g}%",
            meets_target=rate.meets_target,
            counts=rate.counts,
        )
        for rate in metrics.seller_metrics(facts, now, zone)
    ]
    return Performance(as_of=now, timezone=zone.key, rates=rates)


# --- commands -----------------------------------------------------------------------------------


class CommandOut(BaseModel):
    command_id: UUID
    command_type: str
    storefront_id: str | None
    order_id: str | None
    listing_id: str | None
    sent_at: datetime
    request: dict[str, Any]
    state: str  # pending, confirmed, confirmed_late, updated, created, refused
    title: str
    details: list[str]
    reason: str | None
    rule: str | None
    answered_at: datetime | None


def command_out(row: Any) -> CommandOut:
    words = views.answer(row)
    return CommandOut(
        command_id=row["command_id"],
        command_type=row["command_type"],
        storefront_id=row["storefront_id"],
        order_id=row["order_id"],
        listing_id=row["listing_id"],
        sent_at=row["sent_at"],
        request=_json(row["summary"]),
        state=words.state,
        title=words.title,
        details=list(words.details),
        reason=row["reason"],
        rule=row["rule"],
        answered_at=row["answered_at"],
    )


async def command(conn: asyncpg.Connection, seller_id: str, command_id: UUID) -> CommandOut | None:
    row = await storage.command(conn, seller_id, command_id)
    return command_out(row) if row else None


async def commands_about_order(conn: asyncpg.Connection, seller_id: str, storefront_id: str, order_id: str) -> list[CommandOut]:
    return [command_out(r) for r in await storage.commands_about(conn, seller_id, order=(storefront_id, order_id))]

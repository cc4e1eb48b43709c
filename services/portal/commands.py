"""What the portal writes: the services' own commands, queued in its outbox (never a change of its own).

A command is validated by its contract before anything is queued, so bad input gets a message and
changes nothing. The command and the note that this portal sent it commit together; the outbox relay
publishes it. A form sent twice carries the same command id: the second is neither queued nor applied
(R9), and the seller lands on the first one's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import ValidationError

from services.portal import storage
from shared.contracts.commands import ConfirmShipment, UpdateListing
from shared.contracts.envelope import Command
from shared.contracts.topics import INVENTORY_COMMANDS, ORDERS_COMMANDS, order_key
from shared.messaging.work import Outgoing
from shared.storage import outbox


@dataclass(frozen=True)
class Invalid:
    """Why the input does not make a command: one message per field."""

    problems: dict[str, str]


def problems_of(error: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in error.errors(include_url=False):
        field = ".".join(str(p) for p in item["loc"]) or "form"
        found.setdefault(field, item["msg"])
    return found


def confirmation(
    seller_id: str, storefront_id: str, order_id: str, command_id: UUID, fields: dict[str, Any], *, at: datetime
) -> ConfirmShipment | Invalid:
    """A ConfirmShipment from the form's fields, sent at `at` on the portal's clock (T3); the seller always
    comes from the session or token, never from the form."""
    memo = fields.get("memo")
    try:
        return ConfirmShipment(
            occurred_at=at,
            command_id=command_id,
            storefront_id=storefront_id,
            order_id=order_id,
            seller_id=seller_id,
            ship_date=fields.get("ship_date"),
            shipping_method=fields.get("shipping_method"),
            carrier=fields.get("carrier"),
            tracking_id=fields.get("tracking_id"),
            memo=memo if memo else None,
        )
    except ValidationError as exc:
        return Invalid(problems_of(exc))


def listing_update(seller_id: str, listing_id: str, command_id: UUID, fields: dict[str, Any], *, at: datetime) -> UpdateListing | Invalid:
    def number(name: str) -> Any:
        """A form field as the integer it spells; anything else is left for the contract to refuse."""
        value = fields.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value

    try:
        return UpdateListing(
            occurred_at=at,
            command_id=command_id,
            seller_id=seller_id,
            listing_id=listing_id,
            quantity=number("quantity"),
            production_days=number("production_days"),
        )
    except ValidationError as exc:
        return Invalid(problems_of(exc))


async def send(conn: asyncpg.Connection, seller_id: str, command: Command) -> bool:
    """Queue the command and note it was sent; False when this command id was sent before."""
    async with conn.transaction():
        if not await storage.record_command(conn, seller_id, command, summary(command)):
            return False
        if isinstance(command, ConfirmShipment):
            row = Outgoing(ORDERS_COMMANDS, order_key(command.storefront_id, command.order_id), command)
        elif isinstance(command, UpdateListing):
            row = Outgoing(INVENTORY_COMMANDS, command.listing_id, command)
        else:
            raise TypeError(f"the portal does not send {command.type}")
        await outbox.add(conn, [row])
    return True


def summary(command: Command) -> dict[str, Any]:
    """What the seller asked for, to show beside the answer."""
    fields = command.model_dump(mode="json", exclude={"event_id", "type", "schema_version", "occurred_at", "command_id", "seller_id"})
    return {k: v for k, v in fields.items() if v is not None}


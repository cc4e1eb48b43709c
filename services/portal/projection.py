"""The read model's use cases: one function per topic the portal reads, each applying a record in the
consumer's transaction (M2: the inbox makes a replayed record change nothing).

Only published records feed it: order and listing state (S1), deadline warnings (S4) and the answers
to sellers' commands (M5). Everything else on those topics is ignored on purpose.
"""

from __future__ import annotations

import asyncpg

from services.portal import storage
from shared.contracts import commands, events, state
from shared.contracts.envelope import Message
from shared.contracts.topics import ANSWERS
from shared.messaging.consumer import Delivery

# The commands a seller sends from the portal, and the messages that answer them (S2).
SELLER_COMMANDS = (commands.ConfirmShipment, commands.CreateListing, commands.UpdateListing)
SELLER_COMMAND_TYPES = frozenset(c.model_fields["type"].default for c in SELLER_COMMANDS)
SELLER_ANSWERS = tuple(dict.fromkeys(m for a in ANSWERS if a.command in SELLER_COMMANDS for m in a.messages))


async def on_order_state(conn: asyncpg.Connection, message: Message, _: Delivery) -> None:
    if isinstance(message, state.OrderStateRecord):
        await storage.save_order(conn, message)


async def on_listing_state(conn: asyncpg.Connection, message: Message, _: Delivery) -> None:
    if isinstance(message, state.ListingStateRecord):
        await storage.save_listing(conn, message)


async def on_deadline_event(conn: asyncpg.Connection, message: Message, _: Delivery) -> None:
    # Penalties and cancellations reach the portal as order state; only the warning is news here.
    if isinstance(message, events.DeadlineApproaching):
        await storage.save_warning(conn, message)


async def on_answer(conn: asyncpg.Connection, message: Message, _: Delivery) -> None:
    """Keep the answer to every seller command, whoever sent it: the command page shows it."""
    if not isinstance(message, SELLER_ANSWERS):
        return
    if isinstance(message, events.CommandRejected) and message.command_type not in SELLER_COMMAND_TYPES:
        return
    await storage.save_answer(conn, message)

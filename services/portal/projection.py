"""The read model's handlers: one per message type the portal reads (the dispatch table is in app.py).
None does I/O: each keeps the record in the batch's unit of work (storage.PortalWork), which saves them.

Only published records feed the read model: order and listing state (S1), deadline warnings (S4) and
the answers to sellers' commands (M5).
"""

from __future__ import annotations

from services.portal.storage import PortalWork
from shared.contracts import commands, events, state
from shared.contracts.envelope import Message

# The commands a seller sends (the portal sends two of them); their answers are kept, whoever sent them.
SELLER_COMMAND_TYPES = frozenset(c.model_fields["type"].default for c in (commands.ConfirmShipment, commands.CreateListing, commands.UpdateListing))


def keep_order(work: PortalWork, record: state.OrderStateRecord) -> None:
    work.keep_order(record)


def keep_listing(work: PortalWork, record: state.ListingStateRecord) -> None:
    work.keep_listing(record)


def keep_warning(work: PortalWork, warning: events.DeadlineApproaching) -> None:
    work.warnings.append(warning)


def keep_answer(work: PortalWork, answer: Message) -> None:
    """An answer to a seller's command: applied (shipment.confirmed, listing.*) or refused."""
    if isinstance(answer, events.CommandRejected) and answer.command_type not in SELLER_COMMAND_TYPES:
        return  # a refused order placement: the storefront's business
    work.answers.append(answer)

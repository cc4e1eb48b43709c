"""The simulated sellers: what each does with an accepted order, and when it restocks. No I/O.

A seller follows a routine, a fixed cycle of behaviours over its accepted orders (its k-th accepted
order gets step k of the cycle), so that a run of a few dozen orders already shows every behaviour and
a seller's mix does not depend on the order acceptances happen to arrive in:

- on time: confirms part of the way to the ship-by deadline, with a valid tracking id;
- late: confirms just after the ship-by date ended (a late shipment, and a late-shipment penalty, R11);
- invalid tracking: confirms on time with a tracking id whose check digit is wrong (S5);
- never: does not confirm; the order is cancelled at the end of its confirm-by date and its stock
  comes back (R12, R14).

Sellers read their listings' state (inventory.listings) and restock a listing that runs low or out
(R2), so a long run keeps accepting orders.
"""

from __future__ import annotations

import heapq
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from devtools.demo.tracking_ids import CARRIER, ups_tracking_id
from services.orders.dates import local_date
from shared.contracts.commands import ConfirmShipment, UpdateListing
from shared.contracts.events import OrderAccepted
from shared.contracts.state import ListingStateRecord
from shared.contracts.topics import order_key


class Behaviour(StrEnum):
    ON_TIME = "on time"
    LATE = "late"
    INVALID_TRACKING = "invalid tracking"
    NEVER = "never"


@dataclass(frozen=True)
class Routine:
    name: str
    steps: tuple[Behaviour, ...]

    def behaviour(self, nth: int) -> Behaviour:
        """What the seller does with its `nth` accepted order (from 0)."""
        return self.steps[nth % len(self.steps)]


def routine(name: str, length: int, **at: tuple[int, ...]) -> Routine:
    """A cycle of `length` orders, on time except at the given places (late=(3,), never=(1, 6), ...)."""
    steps = [Behaviour.ON_TIME] * length
    for behaviour, places in at.items():
        for place in places:
            steps[place] = Behaviour[behaviour.upper()]
    return Routine(name, tuple(steps))


# Three kinds of seller, so the per-seller rates differ: one meets the S6 targets, two do not.
ROUTINES = (
    routine("punctual", 30, late=(14,)),
    routine("careless", 10, invalid_tracking=(1, 5), late=(3, 8)),
    routine("overwhelmed", 10, never=(1, 6), late=(2, 8), invalid_tracking=(4,)),
)

ON_TIME_SHARE = 0.3  # on time: 30% of the way from seeing the acceptance to the ship-by deadline
LATE_BY = timedelta(hours=6)  # late: six hours after the ship-by date ended


@dataclass(frozen=True)
class Plan:
    """When a seller will confirm an order's shipment, as what kind of shipment."""

    at: datetime
    behaviour: Behaviour

    @property
    def tracking_valid(self) -> bool:
        return self.behaviour is not Behaviour.INVALID_TRACKING


def plan(behaviour: Behaviour, seen_at: datetime, ship_by_deadline: datetime, confirm_by_deadline: datetime) -> Plan | None:
    """What a seller does with an order accepted with these deadlines, seen at `seen_at`; None: nothing."""
    if behaviour is Behaviour.NEVER:
        return None
    if behaviour is Behaviour.LATE:
        if ship_by_deadline + 2 * LATE_BY < confirm_by_deadline:
            return Plan(ship_by_deadline + LATE_BY, behaviour)
        # Ship-by and confirm-by end together (30-day production, R13): late would be too late to confirm.
        behaviour = Behaviour.ON_TIME
    return Plan(seen_at + max(ship_by_deadline - seen_at, timedelta(0)) * ON_TIME_SHARE, behaviour)


LOW_STOCK = 4  # a listing with this many units or fewer is restocked
RESTOCK_TO = 30


def restock_to(quantity: int) -> int | None:
    """The quantity a seller sets on a listing that has `quantity` units left; None: leave it."""
    return None if quantity > LOW_STOCK else RESTOCK_TO


@dataclass(order=True, frozen=True)
class _Scheduled:
    at: datetime
    order_key: str
    accepted: OrderAccepted = field(compare=False)
    plan: Plan = field(compare=False)
    package: int = field(compare=False)


class Sellers:
    """Every simulated seller's desk: plans for accepted orders, confirmations when their time comes,
    restocks when listings run low. Commands are made here; sending them is the caller's job."""

    def __init__(self, routines: dict[str, Routine], zone: ZoneInfo) -> None:
        self.routines = routines  # seller id -> routine
        self.zone = zone
        self._accepted: dict[str, int] = dict.fromkeys(routines, 0)  # seller -> accepted orders seen
        self._seen: set[str] = set()  # order keys planned (an acceptance may be read twice)
        self._schedule: list[_Scheduled] = []
        self._restocking: dict[str, uuid.UUID] = {}  # listing -> the update sent, until the state shows it
        self._versions: dict[str, int] = {}

    def accepted(self, event: OrderAccepted, now: datetime) -> Behaviour | None:
        """An acceptance was read: plan the seller's confirmation; what it will do (None: seen before)."""
        key = order_key(event.storefront_id, event.order_id)
        if key in self._seen or event.seller_id not in self.routines:
            return None
        self._seen.add(key)
        nth = self._accepted[event.seller_id]
        self._accepted[event.seller_id] += 1
        behaviour = self.routines[event.seller_id].behaviour(nth)
        chosen = plan(behaviour, now, event.ship_by_deadline, event.confirm_by_deadline)
        if chosen is None:
            return behaviour
        heapq.heappush(self._schedule, _Scheduled(chosen.at, key, event, chosen, nth))
        return chosen.behaviour

    def waiting(self) -> int:
        """Confirmations planned and not sent yet."""
        return len(self._schedule)

    def due(self, now: datetime) -> list[ConfirmShipment]:
        """The confirmations whose time has come, shipped today (the marketplace's date, T1)."""
        commands = []
        while self._schedule and self._schedule[0].at <= now:
            item = heapq.heappop(self._schedule)
            commands.append(self._confirmation(item, local_date(now, self.zone)))
        return commands

    def _confirmation(self, item: _Scheduled, today: date) -> ConfirmShipment:
        seller = item.accepted.seller_id
        shipper = f"HMS{list(self.routines).index(seller):03d}"
        return ConfirmShipment(
            command_id=uuid.uuid4(),
            storefront_id=item.accepted.storefront_id,
            order_id=item.accepted.order_id,
            seller_id=seller,
            ship_date=today,
            shipping_method="ground",
            carrier=CARRIER,
            tracking_id=ups_tracking_id(shipper, item.package, valid=item.plan.tracking_valid),
        )

    def listing(self, record: ListingStateRecord) -> UpdateListing | None:
        """A listing's latest state was read: the restock to send, if it runs low."""
        if record.seller_id not in self.routines or record.version <= self._versions.get(record.listing_id, 0):
            return None
        self._versions[record.listing_id] = record.version
        if record.quantity > LOW_STOCK:
            self._restocking.pop(record.listing_id, None)  # a restock, if one was sent, has landed
            return None
        quantity = restock_to(record.quantity)
        if quantity is None or record.listing_id in self._restocking:
            return None
        command = UpdateListing(command_id=uuid.uuid4(), seller_id=record.seller_id, listing_id=record.listing_id, quantity=quantity)
        self._restocking[record.listing_id] = command.command_id
        return command

    def refused(self, command_id: uuid.UUID | None) -> None:
        """A restock was refused: the next low reading may try again."""
        for listing, sent in list(self._restocking.items()):
            if sent == command_id:
                del self._restocking[listing]

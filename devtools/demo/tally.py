"""What the demo has seen so far, folded from the services' topics: orders by status, shipments,
deadlines, restocks and each seller's figures. No I/O: the loop feeds it messages, the dashboard and
the plain output read it.

Messages on different topics arrive in no particular order relative to each other (M4), so every
figure is a count that ends right whatever the order, and `unsettled` says when nothing is left to come.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from devtools.demo.probe import SystemFigures
from devtools.demo.rates import OrderFacts, SellerRates, seller_rates, still_counted
from shared.contracts import events, state
from shared.contracts.envelope import Message
from shared.contracts.topics import order_key

THROUGHPUT_WINDOW = 5.0  # real seconds over which answers per second are counted
STATUSES = ("pending", "unshipped", "shipped", "cancelled", "rejected")


@dataclass
class SellerTally:
    routine: str
    accepted: int = 0
    on_time: int = 0
    late: int = 0
    invalid_tracking: int = 0
    penalties: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class Note:
    """A notable event, as a line: a penalty, a cancellation, a restoration, a late shipment..."""

    at: datetime  # when it happened, on the services' clock
    kind: str
    subject: str  # the order or listing it concerns
    text: str


class Tally:
    def __init__(self, routines: dict[str, str], zone: ZoneInfo) -> None:
        self.zone = zone
        self.sellers = {seller: SellerTally(routine) for seller, routine in routines.items()}
        self.placed = 0  # orders the storefront sent
        self.intended = Counter[str]()  # what the sellers set out to do with their accepted orders
        self.listings = 0  # listings created
        self.answers = Counter[str]()  # order.accepted, order.rejected, command.rejected (orders)
        self.rejected = Counter[str]()  # rejection reason -> orders
        self.refused = Counter[str]()  # commands refused (command.rejected), by reason
        self.shipped_on_time = self.shipped_late = 0
        self.tracking = Counter[str]()  # valid, invalid, unchecked: what shipment.confirmed says (S5)
        self.penalties = self.cancellations = self.restorations = self.restored_units = 0
        self.warnings = self.restocks = 0
        self.status_counts = Counter[str]()  # from the orders' published state (S1)
        self.system = SystemFigures()
        self.recent: deque[Note] = deque(maxlen=8)
        self._statuses: dict[str, tuple[int, str]] = {}  # order key -> (version, status)
        self._facts: dict[str, OrderFacts] = {}  # order key -> facts, while a rate window may hold them
        self._owed_penalties = 0  # ship-by deadlines that passed unconfirmed (R11), from shipments and cancellations
        self._answered_at: deque[float] = deque()

    # ------------------------------------------------------------------ folding

    def observe(self, message: Message, real_now: float) -> Note | None:
        """Count one message read from the topics; the note to show, if it is notable (also kept in `recent`)."""
        note = self._fold(message, real_now)
        if note is not None:
            self.recent.append(note)
        return note

    def _fold(self, message: Message, real_now: float) -> Note | None:
        match message:
            case state.OrderStateRecord():
                self._status(message)
            case events.ListingCreated():
                self.listings += 1
            case events.ListingUpdated():
                self.restocks += 1
                return Note(message.occurred_at, "restock", message.listing_id, f"{message.seller_id} restocked to {message.quantity}")
            case events.OrderAccepted():
                self._answered(message, real_now)
                self._facts[self._key(message)] = OrderFacts(message.seller_id, message.ship_by_deadline, message.confirm_by_deadline)
                self._seller(message).accepted += 1
            case events.OrderRejected():
                self._answered(message, real_now)
                self.rejected[message.reason.value] += 1
            case events.ShipmentConfirmed():
                return self._shipped(message)
            case events.LateShipmentPenalty():
                self.penalties += 1
                self._seller(message).penalties += 1
                return Note(message.occurred_at, "penalty", message.order_id, f"{message.seller_id}: {message.reason}")
            case events.OrderCancelled():
                return self._cancelled(message)
            case events.StockRestored():
                self.restorations += 1
                units = sum(line.quantity for line in message.lines)
                self.restored_units += units
                listings = ", ".join(f"{line.quantity} × {line.listing_id}" for line in message.lines)
                return Note(message.occurred_at, "restored", message.order_id, f"{units} units back in stock: {listings}")
            case events.DeadlineApproaching():
                self.warnings += 1
            case events.CommandRejected():
                return self._refused(message, real_now)
        return None

    def _key(self, message: events.OrderEvent) -> str:
        return order_key(message.storefront_id, message.order_id)

    def _seller(self, message: events.OrderEvent) -> SellerTally:
        return self.sellers.setdefault(message.seller_id, SellerTally("?"))

    def _status(self, record: state.OrderStateRecord) -> None:
        key = order_key(record.storefront_id, record.order_id)
        version, status = self._statuses.get(key, (0, ""))
        if record.version <= version:
            return  # an older copy
        if status:
            self.status_counts[status] -= 1
        self.status_counts[record.status] += 1
        self._statuses[key] = (record.version, record.status)

    def _answered(self, message: Message, real_now: float) -> None:
        self.answers[message.type] += 1
        self._answered_at.append(real_now)

    def _shipped(self, message: events.ShipmentConfirmed) -> Note | None:
        seller = self._seller(message)
        facts = self._facts.get(self._key(message))
        if facts is not None:
            facts.confirmed_at, facts.tracking_valid = message.confirmed_at, message.tracking_valid
        self.tracking[{True: "valid", False: "invalid", None: "unchecked"}[message.tracking_valid]] += 1
        if message.late:
            self.shipped_late += 1
            self._owed_penalties += 1
            seller.late += 1
        else:
            self.shipped_on_time += 1
            seller.on_time += 1
        if message.tracking_valid is False:
            seller.invalid_tracking += 1
            return Note(
                message.occurred_at,
                "bad tracking",
                message.order_id,
                f"{message.seller_id}: {message.carrier} {message.tracking_id} is not a valid tracking id",
            )
        if message.late:
            return Note(message.occurred_at, "shipped late", message.order_id, f"{message.seller_id} confirmed after the ship-by date")
        return None

    def _cancelled(self, message: events.OrderCancelled) -> Note:
        self.cancellations += 1
        self._seller(message).cancelled += 1
        facts = self._facts.get(self._key(message))
        if facts is not None:
            facts.cancelled = True
            if facts.ship_by_deadline < facts.confirm_by_deadline:
                self._owed_penalties += 1  # its ship-by date passed unconfirmed too (not when both coincide, R13)
        return Note(message.occurred_at, "cancelled", message.order_id, f"{message.seller_id}: {message.reason}")

    def _refused(self, message: events.CommandRejected, real_now: float) -> Note | None:
        if message.command_type == "order.place":
            self._answered(message, real_now)
            self.rejected[message.reason.value] += 1
            return None
        self.refused[message.reason.value] += 1
        return Note(
            message.occurred_at, "refused", message.order_id or message.listing_id or "?", f"{message.command_type}: {message.message}"
        )

    # ------------------------------------------------------------------ reading

    @property
    def answered(self) -> int:
        return sum(self.answers.values())

    @property
    def accepted(self) -> int:
        return self.answers["order.accepted"]

    @property
    def rejections(self) -> int:
        return self.answered - self.accepted

    def throughput(self, real_now: float) -> float:
        """Orders answered per real second, lately."""
        while self._answered_at and self._answered_at[0] < real_now - THROUGHPUT_WINDOW:
            self._answered_at.popleft()
        return len(self._answered_at) / THROUGHPUT_WINDOW

    def rates(self, now: datetime) -> dict[str, SellerRates]:
        """Each seller's S6 rates at `now`; facts no window can hold any more are forgotten."""
        for key in [k for k, f in self._facts.items() if not still_counted(f, now, self.zone)]:
            del self._facts[key]
        by_seller: dict[str, list[OrderFacts]] = {seller: [] for seller in self.sellers}
        for facts in self._facts.values():
            by_seller.setdefault(facts.seller_id, []).append(facts)
        return {seller: seller_rates(facts, now, self.zone) for seller, facts in by_seller.items()}

    def unsettled(self) -> int:
        """What is still to come for the orders placed: answers, shipments or cancellations, penalties
        and restorations. 0 when every order's story has ended."""
        return (
            (self.placed - self.answered)
            + max(0, self.placed - len(self._statuses) - self.answers["command.rejected"])  # no state published yet
            + self.status_counts["pending"]
            + self.status_counts["unshipped"]
            + max(0, self._owed_penalties - self.penalties)
            + max(0, self.cancellations - self.restorations)
        )

"""The invariant checker of the fault harness: given everything that was sent, everything on the
topics and the final databases, count what the system did and every way it could have gone wrong.

Pure: it reads nothing itself, so it is unit-tested on hand-made histories. What the rules demand
is computed from the inputs and the orders service's own decisions (acceptance, the instant a
confirmation was accepted), never from the deadlines service it judges.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from shared.contracts import commands, events
from shared.contracts.envelope import Command, Message
from shared.contracts.topics import order_key

# Events whose repetition under a new event id would be a doubled effect (M2).
EFFECTS: tuple[type[Message], ...] = (
    events.ListingCreated,
    events.OrderPlaced,
    events.StockReserved,
    events.StockReservationFailed,
    events.OrderAccepted,
    events.OrderRejected,
    events.ShipmentConfirmed,
    events.LateShipmentPenalty,
    events.CancellationIssued,
    events.OrderCancelled,
    events.StockRestored,
)
ANSWERS = (events.ListingCreated, events.OrderAccepted, events.OrderRejected, events.ShipmentConfirmed, events.CommandRejected)


@dataclass(frozen=True)
class Timer:
    order_key: str
    kind: str
    due_at: datetime
    fired_at: datetime | None


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    def add(self, invariant: str, found: list[str]) -> None:
        self.problems[invariant] = found
        self.counts[invariant] = len(found)


def _subject(message: Message) -> str:
    if isinstance(message, events.OrderEvent):
        return order_key(message.storefront_id, message.order_id)
    return str(getattr(message, "listing_id", message.event_id))


def check(
    sent: list[Command],
    poison_sent: int,
    on_topics: list[Message],
    final_stock: dict[str, int],
    timers: list[Timer],
) -> Report:
    """Every invariant of a fault run. `sent` holds each distinct command once (duplicates aside)."""
    report = Report()
    distinct: dict[object, Message] = {}
    republished = 0
    for message in on_topics:
        if message.event_id in distinct:
            republished += 1  # the same event again: at-least-once publication, absorbed by inboxes
        distinct[message.event_id] = message
    seen = list(distinct.values())
    by_type: dict[type, list[Message]] = defaultdict(list)
    for message in seen:
        by_type[type(message)].append(message)

    placed = [c for c in sent if isinstance(c, commands.PlaceOrder)]
    report.counts.update(
        placed=len(placed),
        accepted=len(by_type[events.OrderAccepted]),
        rejected=len(by_type[events.OrderRejected]),
        shipped=len(by_type[events.ShipmentConfirmed]),
        shipped_late=sum(1 for e in by_type[events.ShipmentConfirmed] if e.late),  # type: ignore[attr-defined]
        penalties=len(by_type[events.LateShipmentPenalty]),
        cancellations=len(by_type[events.OrderCancelled]),
        stock_restorations=len(by_type[events.StockRestored]),
        refused_commands=len(by_type[events.CommandRejected]),
        republished_records=republished,
    )

    # Doubled effects: one subject, one kind of effect, more than one event id.
    effects = Counter((type(m).__name__, _subject(m)) for m in seen if isinstance(m, EFFECTS))
    report.add("duplicated_effects", [f"{kind} x{n} for {subject}" for (kind, subject), n in effects.items() if n > 1])

    # Lost effects: an unanswered command, or a chain that stopped half way.
    answered = {getattr(m, "command_id", None) for m in seen if isinstance(m, ANSWERS)}
    lost = [f"{c.type} {c.command_id} unanswered" for c in sent if c.command_id not in answered]
    reserved = {_subject(m) for m in by_type[events.StockReserved]}
    lost += [f"accepted without reservation: {_subject(m)}" for m in by_type[events.OrderAccepted] if _subject(m) not in reserved]
    cancelled = {_subject(m) for m in by_type[events.OrderCancelled]}
    lost += [f"cancellation issued, order not cancelled: {_subject(m)}" for m in by_type[events.CancellationIssued] if _subject(m) not in cancelled]
    restored = {_subject(m) for m in by_type[events.StockRestored]}
    lost += [f"cancelled, stock not restored: {s}" for s in sorted(cancelled - restored)]
    report.add("lost_effects", lost)

    # What the rules demand, from the orders service's decisions (R11-R13, R15).
    confirmed_at = {_subject(m): m.confirmed_at for m in by_type[events.ShipmentConfirmed]}  # type: ignore[attr-defined]
    want_penalty, want_cancel = set(), set()
    for accepted in by_type[events.OrderAccepted]:
        subject, shipped = _subject(accepted), confirmed_at.get(_subject(accepted))
        coinciding = accepted.ship_by_deadline >= accepted.confirm_by_deadline  # type: ignore[attr-defined]
        if not coinciding and (shipped is None or shipped >= accepted.ship_by_deadline):  # type: ignore[attr-defined]
            want_penalty.add(subject)
        if shipped is None:
            want_cancel.add(subject)
    got_penalty = {_subject(m) for m in by_type[events.LateShipmentPenalty]}
    got_cancel = {_subject(m) for m in by_type[events.CancellationIssued]}
    report.counts.update(penalties_demanded=len(want_penalty), cancellations_demanded=len(want_cancel))
    report.add("penalties_wrong", [f"missing {s}" for s in sorted(want_penalty - got_penalty)] + [f"unwarranted {s}" for s in sorted(got_penalty - want_penalty)])
    report.add("cancellations_wrong", [f"missing {s}" for s in sorted(want_cancel - got_cancel)] + [f"unwarranted {s}" for s in sorted(got_cancel - want_cancel)])

    report.add("fired_early", [f"{t.order_key} {t.kind} fired {t.fired_at} before {t.due_at}" for t in timers if t.fired_at is not None and t.fired_at < t.due_at])

    # Stock: initial - reserved + restored, never below zero (R3, R14).
    initial = {c.listing_id: c.quantity for c in sent if isinstance(c, commands.CreateListing)}
    expected = dict(initial)
    for message in by_type[events.StockReserved]:
        for line in message.lines:  # type: ignore[attr-defined]
            expected[line.listing_id] -= line.quantity
    for message in by_type[events.StockRestored]:
        for line in message.lines:  # type: ignore[attr-defined]
            expected[line.listing_id] += line.quantity
    stock_problems = [f"{i}: {final_stock.get(i)} in the database, {q} by the events" for i, q in expected.items() if final_stock.get(i) != q]
    stock_problems += [f"{i} below zero: {q}" for i, q in final_stock.items() if q < 0]
    report.add("stock_wrong", stock_problems)

    letters = [m for m in by_type[events.DeadLetter] if m.error_kind != "rule_violation"]  # type: ignore[attr-defined]
    report.counts["dead_lettered"] = len(letters)
    report.add("dead_letters_wrong", [] if len(letters) == poison_sent else [f"{len(letters)} dead-lettered, {poison_sent} poison sent"])
    return report

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
from shared.contracts.topics import ANSWER_TYPES, order_key

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


@dataclass
class History:
    """What was on the topics, each event once (by event id), grouped by type."""

    seen: list[Message]
    republished: int  # records carrying an event id seen before: at-least-once publication, absorbed by inboxes
    by_type: dict[type, list[Message]]

    @classmethod
    def of(cls, on_topics: list[Message]) -> History:
        distinct: dict[object, Message] = {}
        for message in on_topics:
            distinct[message.event_id] = message
        by_type: dict[type, list[Message]] = defaultdict(list)
        for message in distinct.values():
            by_type[type(message)].append(message)
        return cls(list(distinct.values()), len(on_topics) - len(distinct), by_type)

    def subjects(self, kind: type[Message]) -> set[str]:
        return {_subject(m) for m in self.by_type[kind]}


def check(
    sent: list[Command],
    poison_sent: int,
    on_topics: list[Message],
    final_stock: dict[str, int],
    timers: list[Timer],
) -> Report:
    """Every invariant of a fault run. `sent` holds each distinct command once (duplicates aside)."""
    report = Report()
    history = History.of(on_topics)
    report.counts.update(_counts(sent, history))
    report.add("duplicated_effects", _duplicated_effects(history))
    report.add("lost_effects", _lost_effects(sent, history))
    want_penalty, want_cancel = _demanded(history)
    report.counts.update(penalties_demanded=len(want_penalty), cancellations_demanded=len(want_cancel))
    report.add("penalties_wrong", _differences(want_penalty, history.subjects(events.LateShipmentPenalty)))
    report.add("cancellations_wrong", _differences(want_cancel, history.subjects(events.CancellationIssued)))
    report.add("fired_early", [f"{t.order_key} {t.kind} fired {t.fired_at} before {t.due_at}" for t in timers if t.fired_at is not None and t.fired_at < t.due_at])
    report.add("stock_wrong", _stock_wrong(sent, history, final_stock))
    letters = [m for m in history.by_type[events.DeadLetter] if m.error_kind != "rule_violation"]  # type: ignore[attr-defined]
    report.counts["dead_lettered"] = len(letters)
    report.add("dead_letters_wrong", [] if len(letters) == poison_sent else [f"{len(letters)} dead-lettered, {poison_sent} poison sent"])
    return report


def _counts(sent: list[Command], history: History) -> dict[str, int]:
    by_type = history.by_type
    return {
        "placed": sum(1 for c in sent if isinstance(c, commands.PlaceOrder)),
        "accepted": len(by_type[events.OrderAccepted]),
        "rejected": len(by_type[events.OrderRejected]),
        "shipped": len(by_type[events.ShipmentConfirmed]),
        "shipped_late": sum(1 for e in by_type[events.ShipmentConfirmed] if e.late),  # type: ignore[attr-defined]
        "penalties": len(by_type[events.LateShipmentPenalty]),
        "cancellations": len(by_type[events.OrderCancelled]),
        "stock_restorations": len(by_type[events.StockRestored]),
        "refused_commands": len(by_type[events.CommandRejected]),
        "republished_records": history.republished,
    }


def _duplicated_effects(history: History) -> list[str]:
    """One subject, one kind of effect, more than one event id (M2)."""
    effects = Counter((type(m).__name__, _subject(m)) for m in history.seen if isinstance(m, EFFECTS))
    return [f"{kind} x{n} for {subject}" for (kind, subject), n in effects.items() if n > 1]


def _lost_effects(sent: list[Command], history: History) -> list[str]:
    """An unanswered command (M5), or a chain that stopped half way."""
    answered = {getattr(m, "command_id", None) for m in history.seen if isinstance(m, ANSWER_TYPES)}
    lost = [f"{c.type} {c.command_id} unanswered" for c in sent if c.command_id not in answered]
    reserved, cancelled, restored = (history.subjects(k) for k in (events.StockReserved, events.OrderCancelled, events.StockRestored))
    lost += [f"accepted without reservation: {s}" for s in sorted(history.subjects(events.OrderAccepted) - reserved)]
    lost += [f"cancellation issued, order not cancelled: {s}" for s in sorted(history.subjects(events.CancellationIssued) - cancelled)]
    lost += [f"cancelled, stock not restored: {s}" for s in sorted(cancelled - restored)]
    return lost


def _demanded(history: History) -> tuple[set[str], set[str]]:
    """The orders the rules demand a penalty and a cancellation for (R11-R13, R15), from the orders
    service's decisions: its acceptances and the instants it accepted confirmations."""
    confirmed_at = {_subject(m): m.confirmed_at for m in history.by_type[events.ShipmentConfirmed]}  # type: ignore[attr-defined]
    want_penalty, want_cancel = set(), set()
    for accepted in history.by_type[events.OrderAccepted]:
        subject, shipped = _subject(accepted), confirmed_at.get(_subject(accepted))
        ship_by, confirm_by = accepted.ship_by_deadline, accepted.confirm_by_deadline  # type: ignore[attr-defined]
        if ship_by < confirm_by and (shipped is None or shipped >= ship_by):  # R13: coinciding ones cancel only
            want_penalty.add(subject)
        if shipped is None:
            want_cancel.add(subject)
    return want_penalty, want_cancel


def _differences(wanted: set[str], got: set[str]) -> list[str]:
    return [f"missing {s}" for s in sorted(wanted - got)] + [f"unwarranted {s}" for s in sorted(got - wanted)]


def _stock_wrong(sent: list[Command], history: History, final_stock: dict[str, int]) -> list[str]:
    """Every listing's final quantity = initial - reserved + restored, never below zero (R3, R14)."""
    expected = {c.listing_id: c.quantity for c in sent if isinstance(c, commands.CreateListing)}
    for kind, sign in ((events.StockReserved, -1), (events.StockRestored, 1)):
        for message in history.by_type[kind]:
            for line in message.lines:  # type: ignore[attr-defined]
                expected[line.listing_id] += sign * line.quantity
    problems = [f"{i}: {final_stock.get(i)} in the database, {q} by the events" for i, q in expected.items() if final_stock.get(i) != q]
    return problems + [f"{i} below zero: {q}" for i, q in final_stock.items() if q < 0]

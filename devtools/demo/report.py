"""The demo in plain text: a line per notable event, a progress line every few seconds, and the summary
printed when it stops. Pure: strings from the tally; printing them is the loop's job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devtools.demo.rates import Rate, SellerRates
from devtools.demo.sellers import Behaviour
from devtools.demo.tally import STATUSES, Note, Tally


@dataclass(frozen=True)
class Moment:
    """Where the run stands: the services' clock and the real time it took."""

    now: datetime  # the services' clock (T3)
    started: datetime  # what it read when the services started
    zone: ZoneInfo
    speed: float  # 1: the real clock
    real_elapsed: float  # seconds
    phase: str  # what the demo is doing, in words

    @property
    def day(self) -> int:
        """Simulated days since the start, counting from 1."""
        return (self.now - self.started) // timedelta(days=1) + 1

    def stamp(self, at: datetime) -> str:
        """An instant as `day 3 14:05` (its day of the run and its marketplace time)."""
        return f"day {(at - self.started) // timedelta(days=1) + 1:>3} {at.astimezone(self.zone):%H:%M}"

    def clock(self) -> str:
        if self.speed == 1:
            return "real clock"
        return f"{self.speed:,.0f}x real time (a simulated day every {86_400 / self.speed:.1f} s)"


def percent(rate: Rate) -> str:
    """`2/40 5.0%`, or `-` for a window with no orders (S6: no rate, not 0%)."""
    value = rate.value
    return "-" if value is None else f"{rate.numerator}/{rate.denominator} {value:.1%}"


def duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s"


def note_line(note: Note, moment: Moment) -> str:
    return f"{moment.stamp(note.at)}  {note.kind:<12} {note.subject:<22} {note.text}"


def progress_line(tally: Tally, moment: Moment, real_now: float) -> str:
    statuses = " ".join(f"{status} {tally.status_counts[status]}" for status in STATUSES)
    system = tally.system
    return (
        f"{moment.stamp(moment.now)}  progress     placed {tally.placed} ({statuses}) | "
        f"shipped on time {tally.shipped_on_time}, late {tally.shipped_late} | penalties {tally.penalties} | "
        f"cancelled {tally.cancellations} | restored {tally.restorations} | restocks {tally.restocks} | "
        f"{tally.throughput(real_now):.1f} orders/s, lag {system.lag}, backlog {system.backlog}, "
        f"timers {sum(system.timers_pending.values())} pending {system.timers_due} due {system.timers_fired} fired"
    )


SELLER_COLUMNS = (
    "seller",
    "routine",
    "accepted",
    "on time",
    "late",
    "bad trk",
    "cancelled",
    "late 10d",
    "late 30d",
    "cancel 7d",
    "valid trk 30d",
)


def seller_rows(tally: Tally, rates: dict[str, SellerRates]) -> list[tuple[str, ...]]:
    rows = []
    for seller, figures in tally.sellers.items():
        rate = rates.get(seller)
        shown = (rate.late_10d, rate.late_30d, rate.cancelled_7d, rate.valid_tracking_30d) if rate else ()
        rows.append(
            (
                seller, figures.routine, str(figures.accepted), str(figures.on_time), str(figures.late),
                str(figures.invalid_tracking), str(figures.cancelled), *(percent(r) for r in shown),
            )
        )  # fmt: skip
    return rows


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)).rstrip() for line in (header, *rows)]


def summary(tally: Tally, moment: Moment, rates: dict[str, SellerRates]) -> str:
    rejected = ", ".join(f"{reason} {count}" for reason, count in tally.rejected.most_common()) or "none"
    shipped = tally.shipped_on_time + tally.shipped_late
    statuses = ", ".join(f"{status} {tally.status_counts[status]}" for status in STATUSES)
    tracking = ", ".join(f"{kind} {tally.tracking[kind]}" for kind in ("valid", "invalid", "unchecked"))
    intended = ", ".join(f"{kind} {tally.intended[kind]}" for kind in Behaviour)
    refused = ", ".join(f"{reason} {count}" for reason, count in tally.refused.most_common()) or "none"
    lines = [
        f"demo: summary after {duration(moment.real_elapsed)} real time, {moment.day} simulated day{'s' if moment.day > 1 else ''} "
        f"({moment.started.astimezone(moment.zone):%Y-%m-%d} to {moment.now.astimezone(moment.zone):%Y-%m-%d}), {moment.clock()}",
        f"  ended       {moment.phase}",
        f"  orders      {tally.placed} placed: {tally.accepted} accepted, {tally.rejections} rejected ({rejected})"
        + (f", {tally.placed - tally.answered} not answered yet" if tally.placed > tally.answered else ""),
        f"  by status   {statuses}",
        f"  shipments   {shipped}: on time {tally.shipped_on_time}, late {tally.shipped_late}; tracking ids (S5): {tracking}",
        f"  deadlines   late-shipment penalties {tally.penalties}, cancellations {tally.cancellations} (seller not paid), "
        f"stock restorations {tally.restorations} ({tally.restored_units} units), warnings {tally.warnings}",
        f"  sellers     plans: {intended}; restocks {tally.restocks}; confirmations refused: {refused}",
        "  per seller (counts over the run; S6 rates over windows ending now, '-' where a window holds no order):",
        *(f"    {line}" for line in table(SELLER_COLUMNS, seller_rows(tally, rates))),
    ]
    return "\n".join(lines)

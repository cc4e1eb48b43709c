"""The demo on a terminal: one screen, redrawn a few times a second (rich's Live display).

Pure rendering: `render` builds the screen from the tally and the moment; the loop shows it.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from devtools.demo.rates import Rate, SellerRates
from devtools.demo.report import SELLER_COLUMNS, Moment, duration, note_line, percent, seller_rows
from devtools.demo.tally import STATUSES, Tally

FIGURE_ROWS = 7  # the tallest panel's: all four are drawn as high


def _figures(title: str, rows: list[tuple[str, object]]) -> Panel:
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column()
    grid.add_column(justify="right", style="bold")
    for label, value in rows:
        grid.add_row(label, str(value))
    return Panel(grid, title=title, title_align="left", height=FIGURE_ROWS + 2)


def _rate(rate: Rate) -> Text:
    met = rate.meets_target
    return Text(percent(rate), style="dim" if met is None else ("green" if met else "red"))


def _sellers(tally: Tally, rates: dict[str, SellerRates]) -> Table:
    table = Table(title="sellers (S6 rates: green meets the target, red does not)", title_justify="left", expand=True)
    for column in SELLER_COLUMNS:
        table.add_column(column, justify="left" if column in ("seller", "routine") else "right", no_wrap=True)
    for row, seller in zip(seller_rows(tally, rates), tally.sellers, strict=True):
        shown = rates.get(seller)
        coloured = [_rate(r) for r in (shown.late_10d, shown.late_30d, shown.cancelled_7d, shown.valid_tracking_30d)] if shown else []
        table.add_row(*row[: len(row) - len(coloured)], *coloured)
    return table


def render(tally: Tally, moment: Moment, rates: dict[str, SellerRates], real_now: float, portal: str | None = None) -> RenderableType:
    local = moment.now.astimezone(moment.zone)
    header = Text.assemble(
        ("simulated ", "dim"), (f"{local:%a %Y-%m-%d %H:%M} {moment.zone.key}", "bold"), (f"  day {moment.day}", "bold cyan"),
        ("  ·  ", "dim"), moment.clock(), ("  ·  ", "dim"), f"running {duration(moment.real_elapsed)}",
        ("  ·  ", "dim"), (moment.phase, "yellow"),
    )  # fmt: skip
    system = tally.system
    pending = system.timers_pending
    columns = Table.grid(expand=True, padding=(0, 1))
    for _ in range(4):
        columns.add_column(ratio=1)
    columns.add_row(
        _figures("orders", [("placed", tally.placed), *((status, tally.status_counts[status]) for status in STATUSES)]),
        _figures(
            "shipments",
            [
                ("on time", tally.shipped_on_time),
                ("late", tally.shipped_late),
                ("tracking valid", tally.tracking["valid"]),
                ("tracking invalid", tally.tracking["invalid"]),
                ("tracking unchecked", tally.tracking["unchecked"]),
                ("refused", sum(tally.refused.values())),
            ],
        ),
        _figures(
            "deadlines",
            [
                ("warnings", tally.warnings),
                ("penalties", tally.penalties),
                ("cancellations", tally.cancellations),
                ("restorations", tally.restorations),
                ("units restored", tally.restored_units),
                ("restocks", tally.restocks),
            ],
        ),
        _figures(
            "system",
            [
                ("orders/s", f"{tally.throughput(real_now):.1f}"),
                ("consumer lag", system.lag if system.read else "?"),
                ("outbox backlog", system.backlog if system.read else "?"),
                ("timers ship/confirm", f"{pending['ship_by']}/{pending['confirm_by']}"),
                ("timers due", system.timers_due),
                ("timers fired", system.timers_fired),
                ("firing lateness", "-" if system.lateness_seconds is None else f"{system.lateness_seconds * 1000:.0f} ms"),
            ],
        ),
    )
    recent = Text("\n".join(note_line(note, moment) for note in tally.recent) or "nothing yet")
    parts: list[RenderableType] = [
        Panel(header, title="handmade fulfilment: make run", title_align="left"),
        columns,
        _sellers(tally, rates),
        Panel(recent, title="latest penalties, cancellations, restorations, late shipments, restocks", title_align="left"),
    ]
    if portal:
        parts.append(Text(portal))
    parts.append(Text("Ctrl-C stops the storefront, the sellers and the services, drops the databases and prints a summary", style="dim"))
    return Group(*parts)

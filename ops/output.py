"""How the CLI prints: JSON for scripts (`--json`), otherwise rich tables, drawn when stdout is a
terminal and plain aligned columns when it is not (a pipe, a file, a test)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        terminal = sys.stdout.isatty()
        # Off a terminal rich would wrap at 80 columns: a wide page keeps each row on one line for grep.
        self.console = Console(highlight=False, width=None if terminal else 200, soft_wrap=not terminal)
        self._box = box.SIMPLE_HEAD if terminal else None

    def json(self, data: Any) -> None:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode() + "\n")

    def table(self, title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        table = Table(title=title, title_justify="left", box=self._box, show_edge=False, pad_edge=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        table.show_header = any(columns)
        for row in rows:
            table.add_row(*("" if cell is None else str(cell) for cell in row))
        if self._box is not None:
            self.console.print(table)
            return
        with self.console.capture() as captured:  # plain: no padding after the last column
            self.console.print(table)
        sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))

    def line(self, text: str = "") -> None:
        self.console.print(text, markup=False)


def instant(value: datetime | None) -> str:
    """An instant as operators read it: UTC, to the second."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def span(delta: timedelta) -> str:
    """A length of time in its two largest units: 3d4h, 2h5m, 45s, 0.3s."""
    seconds = abs(delta.total_seconds())
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size:
            count = int(seconds // size)
            parts.append(f"{count}{unit}")
            seconds -= count * size
    return "".join(parts[:2])


def relative(at: datetime, now: datetime) -> str:
    """`in 2h5m` or `3d4h ago`."""
    return f"in {span(at - now)}" if at >= now else f"{span(now - at)} ago"

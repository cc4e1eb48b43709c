"""Where the demo shows what happens: a dashboard on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.live import Live

from devtools.demo.dashboard import render
from devtools.demo.rates import SellerRates
from devtools.demo.report import Moment, note_line, progress_line
from devtools.demo.tally import Note, Tally


class Output(Protocol):
    def say(self, line: str) -> None: ...
    def note(self, note: Note, moment: Moment) -> None: ...
    def show(self, tally: Tally, moment: Moment, rates: dict[str, SellerRates], real_now: float) -> None: ...
    def close(self) -> None: ...

    every: float  # real seconds between two `show`s


class PlainOutput:
    """Not a terminal: a line per notable event, a progress line every few seconds."""

    every = 5.0

    def say(self, line: str) -> None:
        print(line, flush=True)

    def note(self, note: Note, moment: Moment) -> None:
        self.say(note_line(note, moment))

    def show(self, tally: Tally, moment: Moment, rates: dict[str, SellerRates], real_now: float) -> None:
        self.say(progress_line(tally, moment, real_now))

    def close(self) -> None:
        pass


class LiveOutput:
    """A terminal: the dashboard, redrawn four times a second."""

    every = 0.25

    def __init__(self, portal_lines: list[str]) -> None:
        self.console = Console()
        self.live: Live | None = None
        self.portal = "\n".join(portal_lines) or None

    def say(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False)

    def note(self, note: Note, moment: Moment) -> None:
        pass  # the dashboard lists the latest ones

    def show(self, tally: Tally, moment: Moment, rates: dict[str, SellerRates], real_now: float) -> None:
        screen = render(tally, moment, rates, real_now, self.portal)
        if self.live is None:
            self.live = Live(screen, console=self.console, auto_refresh=False, vertical_overflow="crop")
            self.live.start()
        self.live.update(screen, refresh=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()

"""What the demo shows: the terminal dashboard, the plain lines and the summary, from one tally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from devtools.demo.dashboard import render
from devtools.demo.probe import SystemFigures
from devtools.demo.report import Moment, note_line, progress_line, summary
from devtools.demo.sellers import Behaviour
from devtools.demo.tally import Tally
from tests.unit.test_demo_tally import accepted, cancelled, penalty, restored, shipped, status

pytestmark = pytest.mark.unit

STARTED = datetime(2026, 3, 1, 9, tzinfo=UTC)


def scene() -> tuple[Tally, Moment]:
    tally = Tally({"seller-c": "overwhelmed", "seller-a": "punctual"}, ZoneInfo("UTC"))
    tally.placed = 2
    for order in ("o1", "o2"):
        tally.observe(accepted(order), 0.0)
    tally.observe(shipped("o1", late=True, valid=None), 0.0)
    tally.observe(status("o1", "shipped", 3), 0.0)
    for message in (penalty("o1"), penalty("o2"), cancelled("o2"), restored("o2"), status("o2", "cancelled", 3)):
        tally.observe(message, 0.0)
    tally.intended.update({Behaviour.LATE: 1, Behaviour.NEVER: 1})
    tally.system = SystemFigures(read=True, lag=3, backlog=1, timers_fired=4, lateness_seconds=0.05)
    now = STARTED + timedelta(days=31, hours=2)
    return tally, Moment(now, STARTED, ZoneInfo("UTC"), 28_800, 95.0, "all 2 orders settled")


def test_the_dashboard_shows_every_figure() -> None:
    tally, moment = scene()
    console = Console(record=True, width=220, color_system=None)
    console.print(render(tally, moment, tally.rates(moment.now), 0.0, portal="portal: http://127.0.0.1:1/"))
    screen = console.export_text()
    for expected in ("day 32", "a simulated day every 3.0 s", "all 2 orders settled", "penalties", "restorations", "consumer lag",
                     "timers fired", "50 ms", "seller-c", "overwhelmed", "2/2 100.0%", "portal: http://127.0.0.1:1/", "Ctrl-C"):  # fmt: skip
        assert expected in screen, expected
    assert "cancelled    o2" in screen and "2 units back in stock: 2 × mug-c" in screen


def test_plain_lines_and_the_summary() -> None:
    tally, moment = scene()
    assert note_line(tally.recent[0], moment).startswith("day   4 06:00  shipped late o1  ")
    progress = progress_line(tally, moment, 0.0)
    assert "placed 2 (pending 0 unshipped 0 shipped 1 cancelled 1 rejected 0)" in progress and "lag 3, backlog 1" in progress
    text = summary(tally, moment, tally.rates(moment.now))
    assert "2 placed: 2 accepted, 0 rejected" in text
    assert "shipments   1: on time 0, late 1; tracking ids (S5): valid 0, invalid 0, unchecked 1" in text
    assert "late-shipment penalties 2, cancellations 1 (seller not paid), stock restorations 1 (2 units)" in text
    assert "plans: on time 0, late 1, invalid tracking 0, never 1" in text
    seller_c = next(line for line in text.splitlines() if "seller-c" in line)
    assert seller_c.split()[:7] == ["seller-c", "overwhelmed", "2", "0", "1", "0", "1"]
    assert "seller-a" in text and "32 simulated days" in text and "not answered" not in text
    tally.placed = 3
    assert "3 placed: 2 accepted, 0 rejected (none), 1 not answered yet" in summary(tally, moment, {})

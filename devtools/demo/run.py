"""The demo's loop: a private system on an accelerated clock, a storefront ordering, sellers confirming
and restocking, and what the services do about it, on a dashboard or as plain lines.

Tasks, all in one event loop:
- the tap reads the services' topics and folds every message into the tally; acceptances go to the
  sellers' desk (which plans a confirmation) and listing states to it too (which may plan a restock);
- the storefront places orders at --rate until --orders (or Ctrl-C);
- the sellers send what is due on the services' clock;
- the probe reads the services' /metrics every second; the output shows it all.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from devtools.demo import portal, probe
from devtools.demo.output import LiveOutput, Output, PlainOutput
from devtools.demo.report import Moment, summary
from devtools.demo.sellers import ROUTINES, Sellers
from devtools.demo.tally import Tally
from devtools.kafka_io import Publisher, Tap
from devtools.launcher import REPO, run_stoppable
from devtools.storefront import SimulatedStorefront
from devtools.system import SHORT_INTERVALS, PrivateSystem, Servers, accelerated
from shared.clock import Clock, SystemClock
from shared.contracts import events, state
from shared.contracts.commands import UpdateListing
from shared.contracts.envelope import Message
from shared.contracts.topics import (
    DEADLINES_EVENTS,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    LISTINGS_STATE,
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    ORDERS_STATE,
    SERVICES,
    order_key,
)
from shared.messaging.admin import BrokerUnavailable

READ = (INVENTORY_EVENTS, ORDERS_EVENTS, DEADLINES_EVENTS, LISTINGS_STATE, ORDERS_STATE)
SELLER_TICK = 0.02  # real seconds between looks at what the sellers have due
PROBE_EVERY = 1.0  # real seconds between readings of the services' /metrics
LOGS = Path(os.environ.get("STACK_DIR", REPO / ".stack")) / "logs" / "demo"  # the services' logs, kept (appended to)


@dataclass(frozen=True)
class Options:
    orders: int  # 0: until Ctrl-C
    rate: float  # orders per real second
    seed: int
    speed: float  # simulated seconds per real second; 1 with the real clock
    real_clock: bool
    settle: float  # real seconds to wait, after the last order, for every order's story to end
    plain: bool


class DemoFailed(Exception):
    pass


class Demo:
    def __init__(self, options: Options, system: PrivateSystem, zone: ZoneInfo, output: Output) -> None:
        self.options = options
        self.system = system
        self.zone = zone
        self.output = output
        self.clock: Clock = system.clock or SystemClock()
        self.started = self.clock.now()
        self.real_started = time.monotonic()
        self.market = SimulatedStorefront(seed=options.seed)
        routines = {seller: ROUTINES[i % len(ROUTINES)] for i, seller in enumerate(self.market.sellers)}
        self.tally = Tally({seller: r.name for seller, r in routines.items()}, zone)
        self.sellers = Sellers(routines, zone)
        self.restocks: list[UpdateListing] = []  # planned while reading, sent by the sellers' task
        self.phase = "starting"
        self.failure: BaseException | None = None

    def moment(self) -> Moment:
        speed = 1.0 if self.options.real_clock else self.options.speed
        return Moment(self.clock.now(), self.started, self.zone, speed, time.monotonic() - self.real_started, self.phase)

    # ------------------------------------------------------------------ reading the topics

    def read(self, _topic: str, message: Message) -> None:
        try:
            note = self.tally.observe(message, time.monotonic())
            if note is not None:
                self.output.note(note, self.moment())
            match message:
                case events.OrderAccepted():
                    behaviour = self.sellers.accepted(message, self.clock.now())
                    if behaviour is not None:
                        self.tally.intended[behaviour] += 1
                case state.ListingStateRecord():
                    restock = self.sellers.listing(message)
                    if restock is not None:
                        self.restocks.append(restock)
                case events.CommandRejected() if message.command_type == "listing.update":
                    self.sellers.refused(message.command_id)
        except Exception as exc:  # the tap's task would swallow it: stop the demo with it instead
            self.failure = exc

    def check(self) -> None:
        if self.failure is not None:
            raise DemoFailed(f"the demo failed: {self.failure!r}") from self.failure

    # ------------------------------------------------------------------ the run

    async def play(self) -> None:
        bootstrap, prefix = self.system.servers.kafka_bootstrap_servers, self.system.prefix
        async with Tap(bootstrap, prefix, READ, on_message=self.read, keep=False), Publisher(bootstrap, prefix) as publisher:
            self.phase = "creating listings"
            listings = self.market.create_listings()
            for command in listings:
                await publisher.send(INVENTORY_COMMANDS, command.listing_id, command)
            background = [
                asyncio.create_task(self._every(self.output.every, self._show)),
                asyncio.create_task(self._every(PROBE_EVERY, self._probe)),
                asyncio.create_task(self._every(SELLER_TICK, lambda: self._sellers(publisher))),
            ]
            try:
                # Listings and orders travel on different topics (M4): sell only what the inventory confirmed.
                await self._until(lambda: self.tally.listings >= len(listings), 60, "the inventory did not create the listings")
                await self._storefront(publisher)
                await self._settle()
            finally:
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
                self._show()

    async def _storefront(self, publisher: Publisher) -> None:
        loop = asyncio.get_running_loop()
        begun = loop.time()
        while self.options.orders == 0 or self.tally.placed < self.options.orders:
            self.check()
            limit = f"/{self.options.orders}" if self.options.orders else ""
            self.phase = f"ordering: {self.tally.placed + 1}{limit} at {self.options.rate:g}/s"
            order = self.market.next_order(self.clock.now())
            await publisher.send(ORDERS_COMMANDS, order_key(order.storefront_id, order.order_id), order)
            self.tally.placed += 1
            await asyncio.sleep(max(0.0, begun + self.tally.placed / self.options.rate - loop.time()))

    async def _settle(self) -> None:
        """Wait until every order placed has been answered and shipped or cancelled, its penalties and
        restorations in, at most --settle seconds."""
        deadline = time.monotonic() + self.options.settle
        while (left := self.tally.unsettled() + self.sellers.waiting()) > 0:
            self.check()
            if time.monotonic() > deadline:
                self.phase = f"--settle {self.options.settle:g} s passed with {left} still to come (answers, shipments, deadlines)"
                return
            self.phase = f"all {self.tally.placed} orders placed; waiting for their deadlines ({left} still to come)"
            await asyncio.sleep(0.1)
        self.phase = f"all {self.tally.placed} orders settled"

    async def _sellers(self, publisher: Publisher) -> None:
        for confirmation in self.sellers.due(self.clock.now()):
            await publisher.send(ORDERS_COMMANDS, order_key(confirmation.storefront_id, confirmation.order_id), confirmation)
        while self.restocks:
            restock = self.restocks.pop(0)
            await publisher.send(INVENTORY_COMMANDS, restock.listing_id, restock)

    async def _probe(self) -> None:
        self.tally.system = await probe.read(p.http for p in self.system.processes)

    def _show(self) -> None:
        self.output.show(self.tally, self.moment(), self.tally.rates(self.clock.now()), time.monotonic())

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None] | None]) -> None:
        while self.failure is None:
            try:
                done = work()
                if done is not None:
                    await done
            except Exception as exc:  # a background task's failure stops the demo (`check`), not just the task
                self.failure = exc
            await asyncio.sleep(seconds)

    async def _until(self, condition: Callable[[], bool], timeout: float, failure: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.check()
            if time.monotonic() > deadline:
                raise DemoFailed(failure)
            await asyncio.sleep(0.05)


def describe(system: PrivateSystem) -> str:
    """What the demo started, so that anyone can check it is all gone afterwards."""
    services = ", ".join(f"{p.name} (pid {p.pid}, {p.http})" for p in system.processes)
    databases = ", ".join(url.rsplit("/", 1)[1] for url in system.databases.values())
    return f"demo: services {services}\ndemo: databases {databases}; topics {system.prefix}*; service logs in {system.logs}"


async def run(options: Options, zone: ZoneInfo) -> int:
    terminal = sys.stdout.isatty() and not options.plain
    output: Output = PlainOutput()
    clock = None if options.real_clock else (lambda: accelerated(datetime.now(UTC), options.speed))
    output.say(
        f"demo: starting Kafka topics, databases and the services of a private system ({'real clock' if options.real_clock else f'clock {options.speed:,.0f}x'})"
    )
    system = PrivateSystem(
        Servers.from_env(), label="demo", env={**SHORT_INTERVALS, **portal.env()}, clock=clock,
        services=(*SERVICES, *portal.services()), logs=LOGS,
    )  # fmt: skip
    async with system:
        output.say(describe(system))
        links = portal.links(system, SimulatedStorefront(seed=options.seed).sellers)
        for line in links:
            output.say(line)
        if terminal:
            output = LiveOutput(links)
        demo = Demo(options, system, zone, output)
        try:
            await demo.play()
        except asyncio.CancelledError:  # Ctrl-C or SIGTERM: stop like --orders would, with a summary
            _uncancel()
            demo.phase = f"interrupted while {demo.phase}"
        finally:
            output.close()
        final, rates = demo.moment(), demo.tally.rates(demo.clock.now())
        output.say("demo: stopping the services; dropping the databases and topics")
    print(summary(demo.tally, final, rates), flush=True)
    print("demo: everything it started has stopped; databases and topics dropped", flush=True)
    return 0


def _uncancel() -> None:
    """The cancellation was handled: let the rest of the task (stopping the services) run normally."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def main(options: Options, zone: ZoneInfo) -> int:
    """Run the demo; its exit status. SIGTERM is handled like Ctrl-C."""
    try:
        return run_stoppable(run(options, zone))
    except DemoFailed as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except BrokerUnavailable as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"demo: PostgreSQL did not answer ({exc}); is the stack running? `make run` starts it", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C while stopping, or one during start-up
        return 130

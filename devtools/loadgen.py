"""Storefront load generator: a catalogue of many sellers' listings, then orders at a fixed rate or flat out.

    python -m devtools.loadgen --orders 20000 --rate 1000

launches the three services on fresh databases and topics of their own (or, with --external, uses
the ones already running on TOPIC_PREFIX), creates the catalogue through the inventory service,
places seeded orders and follows every answer and every stored deadline until all are in. It is
bounded: --orders, --seconds (placing) and --settle (waiting for the last answers).

The mix is meant to look like a marketplace: popular sellers get more orders, most orders have one
line and some several, a few listings are out of stock (R2) and some run out during the run (R3).
The benchmarks in bench/ drive the same classes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from devtools.launcher import run_stoppable
from devtools.procfs import cpu_seconds
from devtools.storefront import PRODUCTS
from devtools.system import PrivateSystem, Servers, new_run_id
from shared.contracts.commands import CreateListing, PlaceOrder
from shared.contracts.events import OrderAccepted
from shared.contracts.topics import ANSWERS, INVENTORY_COMMANDS, INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS, order_key

# What answers an order (the registry's answer types), by the message_type header the relay sets.
PLACE_ORDER_ANSWERS = {m.model_fields["type"].default.encode() for a in ANSWERS if a.command is PlaceOrder for m in a.messages}
ACCEPTED = OrderAccepted.model_fields["type"].default.encode()
LINE_COUNTS = ((1, 60), (2, 25), (3, 10), (4, 3), (6, 2))  # (lines, weight): most orders are one item


@dataclass(frozen=True)
class Mix:
    out_of_stock: float = 0.04  # listings with quantity 0: their orders are rejected (R2)
    scarce: float = 0.10  # listings with a few units: they run out during a run (R3)
    wrong_seller: float = 0.01  # orders with a line of another seller's listing, a storefront bug (R5)


class Catalogue:
    """Sellers and their listings, seeded: the same seed gives the same catalogue. Ids of messages
    are random, so a second run against the same services is not taken for a re-sent command (R9)."""

    def __init__(self, *, seed: int, run: str, sellers: int, listings_per_seller: int, mix: Mix = Mix()) -> None:
        if listings_per_seller > len(PRODUCTS) * 10:
            raise ValueError("at most 100 listings per seller")
        self.run = run
        self.mix = mix
        self._rng = random.Random(seed)
        self.sellers = [f"s{i:06d}-{run}" for i in range(sellers)]
        self.listings: dict[str, list[str]] = {}  # seller -> listing ids (an id names its seller's number)
        self.stock: dict[str, tuple[int, int]] = {}  # listing id -> (quantity, production days)
        for i, seller in enumerate(self.sellers):
            own = [f"{PRODUCTS[n % len(PRODUCTS)]}{n // len(PRODUCTS)}-{i:06d}-{run}" for n in range(listings_per_seller)]
            self.listings[seller] = own
            for listing in own:
                self.stock[listing] = (self._quantity(), self._rng.choice((1, 2, 3, 5, 7, 14, 30)))

    def _quantity(self) -> int:
        draw = self._rng.random()
        if draw < self.mix.out_of_stock:
            return 0
        if draw < self.mix.out_of_stock + self.mix.scarce:
            return self._rng.randint(1, 20)
        return 100_000  # R1's maximum: a listing that never runs out in a bounded run

    def create_commands(self) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) of every CreateListing, validated by the contract like any seller's command."""
        for seller, own in self.listings.items():
            for listing in own:
                quantity, days = self.stock[listing]
                command = CreateListing(
                    command_id=uuid.uuid4(), seller_id=seller, listing_id=listing, quantity=quantity, production_days=days
                )
                yield listing.encode(), command.model_dump_json().encode()


class OrderStream:
    """PlaceOrder commands for a catalogue, built as bytes directly: pydantic would cost the generator
    more CPU than the services it loads. The first order is checked against the contract."""

    def __init__(self, catalogue: Catalogue, *, seed: int, storefronts: int = 4) -> None:
        self._catalogue = catalogue
        self._rng = random.Random(seed + 1)
        self._storefronts = [f"shop-{i}" for i in range(1, storefronts + 1)]
        self._line_counts = [n for n, _ in LINE_COUNTS]
        self._line_weights = [w for _, w in LINE_COUNTS]
        self.count = 0

    def next(self) -> tuple[str, bytes]:
        """(order key, value) of the next order."""
        rng, sellers = self._rng, self._catalogue.sellers
        self.count += 1
        index = int(len(sellers) * rng.random() ** 2)  # popular sellers sell more
        seller = sellers[index]
        own = self._catalogue.listings[seller]
        wanted = rng.choices(self._line_counts, self._line_weights)[0]
        lines = [{"listing_id": listing, "quantity": rng.randint(1, 3)} for listing in rng.sample(own, min(wanted, len(own)))]
        if rng.random() < self._catalogue.mix.wrong_seller and len(sellers) > 1:
            stranger = sellers[(index + 1) % len(sellers)]
            lines.append({"listing_id": self._catalogue.listings[stranger][0], "quantity": 1})
        storefront = rng.choice(self._storefronts)
        order_id = f"o{self.count:08d}-{self._catalogue.run}"
        now = datetime.now(UTC).isoformat()
        value = orjson.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "type": "order.place",
                "schema_version": 1,
                "occurred_at": now,
                "command_id": str(uuid.uuid4()),
                "storefront_id": storefront,
                "order_id": order_id,
                "seller_id": seller,
                "placed_at": now,
                "lines": lines,
            }
        )
        if self.count == 1:
            PlaceOrder.model_validate_json(value)  # the shortcut must still be a valid command
        return order_key(storefront, order_id), value


@dataclass
class Sample:
    """Progress at one moment of a run."""

    seconds: float
    placed: int
    answered: int
    accepted: int
    rejected: int
    stored: int | None  # orders whose deadlines are stored, when the deadlines database is known


@dataclass
class LoadResult:
    placed: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    placing_seconds: float = 0.0  # first to last placement
    answered_seconds: float | None = None  # first placement to the last answer
    stored_seconds: float | None = None  # first placement to the last accepted order's deadlines stored
    latencies: list[float] = field(default_factory=list)  # seconds, placement to acceptance, in placement order
    timeline: list[Sample] = field(default_factory=list)
    # CPU seconds the database server spent answering this generator's progress probe (a count over
    # the deadlines table, ten times a second at the end), when the server runs on this machine: a
    # benchmark does not count it as the system's.
    probe_cpu_seconds: float = 0.0

    @property
    def answered(self) -> int:
        return self.accepted + self.rejected


async def _follow_from_now(consumer: AIOKafkaConsumer, topic: str, partitions: int) -> None:
    """Assign every partition of `topic` at its end, resolved now: what is published next is read."""
    assigned = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(assigned)
    await consumer.seek_to_end(*assigned)
    for tp in assigned:
        await consumer.position(tp)


class _Answers:
    """Follows orders.events from now on: when each order was answered, and how. Reads the record's key
    and message_type header only (the outbox relay sets it), so following costs little CPU."""

    def __init__(self, bootstrap: str, prefix: str, run: str) -> None:
        self._topic = prefix + ORDERS_EVENTS.name
        self._suffix = f"-{run}".encode()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20)
        self.answered_at: dict[bytes, float] = {}
        self.accepted: list[bytes] = []
        self.reasons: Counter[str] = Counter()

    async def start(self) -> None:
        await self._consumer.start()
        await _follow_from_now(self._consumer, self._topic, ORDERS_EVENTS.partitions)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def follow(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=10_000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    self._note(record, now)

    def _note(self, record: ConsumerRecord, now: float) -> None:
        kind = next((v for k, v in record.headers if k == "message_type"), None)
        if kind not in PLACE_ORDER_ANSWERS or not record.key.endswith(self._suffix) or record.key in self.answered_at:
            return
        self.answered_at[record.key] = now
        if kind == ACCEPTED:
            self.accepted.append(record.key)
        else:
            self.reasons[orjson.loads(record.value)["reason"]] += 1


async def _stored(conn: asyncpg.Connection, run: str) -> int:
    """Accepted orders of this run whose deadlines are stored: each has exactly one confirm-by timer (R13)."""
    return await conn.fetchval("select count(*) from deadlines where kind = 'confirm_by' and order_id like $1", f"%-{run}")


def producer(bootstrap: str) -> AIOKafkaProducer:
    # A storefront's producer: durable (acks=all, idempotent), batching for at most 2 ms.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2, max_batch_size=256 << 10)


async def create_catalogue(bootstrap: str, prefix: str, catalogue: Catalogue, timeout: float = 300.0) -> float:
    """Create every listing through the inventory service; returns the seconds until all were answered."""
    suffix = f"-{catalogue.run}".encode()
    follower = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    send = producer(bootstrap)
    await follower.start()
    await send.start()
    try:
        await _follow_from_now(follower, prefix + INVENTORY_EVENTS.name, INVENTORY_EVENTS.partitions)
        started = time.monotonic()
        acks = [await send.send(prefix + INVENTORY_COMMANDS.name, value, key=key) for key, value in catalogue.create_commands()]
        await asyncio.gather(*acks)
        created: set[bytes] = set()
        wanted = len(catalogue.stock)
        while len(created) < wanted:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"only {len(created)} of {wanted} listings were created within {timeout:g}s")
            for records in (await follower.getmany(timeout_ms=200, max_records=10_000)).values():
                created.update(r.key for r in records if r.key.endswith(suffix) and ("message_type", b"listing.created") in r.headers)
        return time.monotonic() - started
    finally:
        await send.stop()
        await follower.stop()


async def seed_catalogue(inventory_url: str, catalogue: Catalogue) -> float:
    """Write the listings straight into the inventory database (COPY): a benchmark's set-up, not a
    seller's path, for catalogues too big to create command by command. Returns the seconds taken."""
    started = time.monotonic()
    conn = await asyncpg.connect(inventory_url)
    try:
        rows = [(listing, seller, *catalogue.stock[listing]) for seller, own in catalogue.listings.items() for listing in own]
        await conn.copy_records_to_table("listings", records=rows, columns=["listing_id", "seller_id", "quantity", "production_days"])
    finally:
        await conn.close()
    return time.monotonic() - started


@dataclass(frozen=True)
class Pace:
    """How a run places its orders: up to `orders` at `rate` a second (0: as fast as possible) for at
    most `seconds`, then waits up to `settle` seconds for the answers and stored deadlines."""

    orders: int
    rate: float = 0.0
    seconds: float = 120.0
    settle: float = 120.0

    def due(self, elapsed: float) -> int:
        """How many orders should have been placed `elapsed` seconds into the run."""
        return self.orders if self.rate <= 0 else min(self.orders, int(elapsed * self.rate) + 1)

    def scheduled_at(self, start: float, number: int) -> float:
        """When order `number` (from 0) is due: latency counts from here, not from when it was sent."""
        return time.monotonic() if self.rate <= 0 else start + number / self.rate


class _Placement:
    """One run of place_orders: what was placed when, what was answered when, and samples of progress."""

    def __init__(self, bootstrap: str, prefix: str, run: str, conn: asyncpg.Connection | None) -> None:
        self.topic = prefix + ORDERS_COMMANDS.name
        self.answers = _Answers(bootstrap, prefix, run)
        self.send = producer(bootstrap)
        self.conn = conn  # the deadlines database, when known; only watch() uses it
        self.run = run
        self.scheduled: dict[bytes, float] = {}  # order key -> when it was due
        self.timeline: list[Sample] = []
        self.stored: int | None = None
        self.stored_before = 0  # an earlier (warm-up) run's orders
        self.start = time.monotonic()
        self.placing = True
        self.gave_up = asyncio.Event()
        self.probe_cpu_seconds = 0.0

    async def open(self) -> None:
        await self.answers.start()
        await self.send.start()
        self.stored_before = await _stored(self.conn, self.run) if self.conn is not None else 0
        self.start = time.monotonic()

    async def close(self) -> None:
        await self.send.stop()
        await self.answers.stop()
        if self.conn is not None:
            self.probe_cpu_seconds = cpu_seconds(self.conn.get_server_pid()) or 0.0  # its backend; gone once closed
            await self.conn.close()

    def sample(self) -> Sample:
        answered, accepted = len(self.answers.answered_at), len(self.answers.accepted)
        seconds = round(time.monotonic() - self.start, 3)
        return Sample(seconds, len(self.scheduled), answered, accepted, answered - accepted, self.stored)

    async def watch(self, on_sample: Callable[[Sample], None] | None, give_up_when: Callable[[Sample], bool] | None, every: float) -> None:
        """Sample progress; faster once placing is over, to time the end."""
        while True:
            if self.conn is not None:
                self.stored = await _stored(self.conn, self.run) - self.stored_before
            self.timeline.append(self.sample())
            if on_sample:
                on_sample(self.timeline[-1])
            if give_up_when and give_up_when(self.timeline[-1]):
                self.gave_up.set()
            await asyncio.sleep(every if self.placing else 0.1)

    async def place(self, stream: OrderStream, pace: Pace) -> None:
        pending: list[asyncio.Future[object]] = []
        while len(self.scheduled) < pace.orders and time.monotonic() - self.start < pace.seconds and not self.gave_up.is_set():
            while len(self.scheduled) < pace.due(time.monotonic() - self.start):
                key, value = stream.next()
                at = pace.scheduled_at(self.start, len(self.scheduled))
                pending.append(await self.send.send(self.topic, value, key=key.encode()))
                self.scheduled[key.encode()] = at
                if len(pending) >= 5_000:
                    await asyncio.gather(*pending)
                    pending.clear()
            # Flat out, yield so the answers are read; at a rate, sleep until the next order is due.
            next_due = pace.scheduled_at(self.start, len(self.scheduled)) if pace.rate > 0 else time.monotonic()
            await asyncio.sleep(max(0.0, next_due - time.monotonic()))
        await asyncio.gather(*pending)
        self.placing = False

    def _all_answered(self) -> bool:
        return len(self.answers.answered_at) >= len(self.scheduled)

    def _all_stored(self) -> bool:
        return self.conn is None or (self.stored or 0) >= len(self.answers.accepted)

    async def settle(self, seconds: float, result: LoadResult) -> None:
        """Wait up to `seconds` for every answer and, given the deadlines database, every stored deadline."""
        first = min(self.scheduled.values(), default=self.start)
        give_up = time.monotonic() + seconds
        while time.monotonic() < give_up and not self.gave_up.is_set():
            if self._all_answered() and result.answered_seconds is None:
                result.answered_seconds = max(self.answers.answered_at.values(), default=first) - first
            if self._all_answered() and self._all_stored():
                result.stored_seconds = time.monotonic() - first if self.conn is not None else None
                return
            await asyncio.sleep(0.02)

    def fill(self, result: LoadResult) -> LoadResult:
        first = min(self.scheduled.values(), default=self.start)
        result.placed = len(self.scheduled)
        result.placing_seconds = max(self.scheduled.values(), default=self.start) - first
        result.timeline = [*self.timeline, self.sample()]
        result.accepted = len(self.answers.accepted)
        result.rejected = len(self.answers.answered_at) - result.accepted
        result.reasons = self.answers.reasons
        result.probe_cpu_seconds = self.probe_cpu_seconds
        result.latencies = [self.answers.answered_at[key] - self.scheduled[key] for key in self.answers.accepted if key in self.scheduled]
        return result


async def place_orders(
    bootstrap: str,
    prefix: str,
    stream: OrderStream,
    *,
    orders: int,
    rate: float = 0.0,
    seconds: float = 120.0,
    settle: float = 120.0,
    deadlines_url: str | None = None,
    run: str,
    on_sample: Callable[[Sample], None] | None = None,
    give_up_when: Callable[[Sample], bool] | None = None,
    sample_every: float = 0.5,
) -> LoadResult:
    """Place up to `orders` orders at `rate` a second (0: as fast as possible) for at most `seconds`,
    then wait up to `settle` seconds for every answer and, given the deadlines database, every
    accepted order's deadlines. `give_up_when` ends the run early (a backlog that only grows, say).
    Latency counts from the order's scheduled time, so a slow send cannot hide a queue (no
    coordinated omission)."""
    pace = Pace(orders, rate, seconds, settle)
    placement = _Placement(bootstrap, prefix, run, await asyncpg.connect(deadlines_url) if deadlines_url else None)
    result = LoadResult()
    tasks: list[asyncio.Task[None]] = []
    try:
        await placement.open()
        tasks = [asyncio.create_task(placement.answers.follow()), asyncio.create_task(placement.watch(on_sample, give_up_when, sample_every))]
        await placement.place(stream, pace)
        await placement.settle(pace.settle, result)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await placement.close()
    return placement.fill(result)


# -------------------------------------------------------------------------- command line


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _reporter(total: int) -> tuple[Callable[[Sample], None], Callable[[], None]]:
    """Progress as a rich display on a terminal, one line every few seconds otherwise."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console()
    if not console.is_terminal:
        last = [0.0]

        def line(s: Sample) -> None:
            if s.seconds - last[0] >= 5:
                last[0] = s.seconds
                stored = "" if s.stored is None else f", {s.stored} with deadlines"
                print(f"loadgen: {s.seconds:6.1f}s placed {s.placed}, answered {s.answered} ({s.accepted} accepted{stored})", flush=True)

        return line, lambda: None

    progress = Progress(
        TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console
    )
    placed = progress.add_task("placed", total=total, rate="")
    answered = progress.add_task("answered", total=total, rate="")
    stored = progress.add_task("deadlines stored", total=None, rate="")
    progress.start()

    def show(s: Sample) -> None:
        per_second = f"{s.answered / s.seconds:,.0f}/s" if s.seconds else ""
        progress.update(placed, completed=s.placed, rate=f"{s.placed / s.seconds:,.0f}/s" if s.seconds else "")
        progress.update(answered, completed=s.answered, rate=per_second)
        progress.update(stored, total=max(s.accepted, 1), completed=s.stored or 0, rate=f"{s.accepted} accepted, {s.rejected} rejected")

    return show, progress.stop


async def _run(args: argparse.Namespace) -> int:
    servers = Servers.from_env()
    bootstrap = servers.kafka_bootstrap_servers
    async with contextlib.AsyncExitStack() as stack:
        if args.external:
            prefix, run, deadlines_url = os.environ.get("TOPIC_PREFIX", ""), new_run_id(), os.environ.get("DEADLINES_DATABASE_URL")
        else:
            print("loadgen: starting the three services on fresh databases and topics", flush=True)
            system = await stack.enter_async_context(PrivateSystem(servers, label="loadgen", keep_logs=True))
            prefix, run, deadlines_url = system.prefix, system.run, system.databases["deadlines"]
            print(f"loadgen: services up (logs in {system.logs})", flush=True)
        catalogue = Catalogue(seed=args.seed, run=run, sellers=args.sellers, listings_per_seller=args.listings_per_seller)
        took = await create_catalogue(bootstrap, prefix, catalogue)
        out = sum(1 for q, _ in catalogue.stock.values() if q == 0)
        print(f"loadgen: {len(catalogue.stock)} listings of {args.sellers} sellers created in {took:.1f}s ({out} out of stock)", flush=True)
        show, done = _reporter(args.orders)
        try:
            result = await place_orders(
                bootstrap,
                prefix,
                OrderStream(catalogue, seed=args.seed),
                orders=args.orders,
                rate=args.rate,
                seconds=args.seconds,
                settle=args.settle,
                deadlines_url=deadlines_url,
                run=run,
                on_sample=show,
            )
        finally:
            done()
    _summary(result)
    return 0 if result.answered == result.placed else 1


def _summary(r: LoadResult) -> None:
    print(f"loadgen: placed {r.placed} in {r.placing_seconds:.1f}s ({r.placed / max(r.placing_seconds, 1e-9):,.0f}/s offered)")
    print(f"loadgen: answered {r.answered}: {r.accepted} accepted, {r.rejected} rejected {dict(r.reasons)}")
    if r.answered_seconds:
        print(f"loadgen: all answered {r.answered_seconds:.1f}s after the first placement ({r.placed / r.answered_seconds:,.0f} orders/s)")
    if r.stored_seconds:
        print(f"loadgen: all deadlines stored {r.stored_seconds:.1f}s after the first placement ({r.placed / r.stored_seconds:,.0f} orders/s)")
    if r.latencies:
        p = {name: _percentile(r.latencies, share) * 1000 for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}
        print("loadgen: placement -> acceptance " + ", ".join(f"{k} {v:,.0f} ms" for k, v in p.items()))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.loadgen", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000, help="orders to place (default 10000)")
    parser.add_argument("--rate", type=float, default=1000.0, help="orders per second; 0 = as fast as possible (default 1000)")
    parser.add_argument("--seconds", type=float, default=120.0, help="stop placing after this many seconds (default 120)")
    parser.add_argument("--settle", type=float, default=120.0, help="then wait at most this long for the answers (default 120)")
    parser.add_argument("--sellers", type=int, default=1000, help="sellers in the catalogue (default 1000)")
    parser.add_argument("--listings-per-seller", type=int, default=10, help="listings of each seller (default 10)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the catalogue and the orders (default 7)")
    parser.add_argument("--external", action="store_true", help="use services already running on TOPIC_PREFIX instead of launching fresh ones")
    args = parser.parse_args()
    if args.orders <= 0 or args.rate < 0 or args.seconds <= 0 or args.sellers <= 0 or not 1 <= args.listings_per_seller <= 100:
        parser.error("--orders, --seconds and --sellers must be positive, --rate not negative, --listings-per-seller 1-100")
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(run_stoppable(_run(args)))


if __name__ == "__main__":
    main()

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
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from devtools.launcher import ServiceProcess
from devtools.storefront import PRODUCTS
from shared.contracts.commands import CreateListing, PlaceOrder
from shared.contracts.topics import ALL_TOPICS, INVENTORY_COMMANDS, INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS, order_key
from shared.messaging.admin import ensure_topics

SERVICES = ("inventory", "orders", "deadlines")
ANSWERS = {b"order.accepted": "accepted", b"order.rejected": "rejected"}
LINE_COUNTS = ((1, 60), (2, 25), (3, 10), (4, 3), (6, 2))  # (lines, weight): most orders are one item
T = TypeVar("T")


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
                    kind = next((v for k, v in record.headers if k == "message_type"), None)
                    outcome = ANSWERS.get(kind) if kind else None
                    if outcome is None or not record.key.endswith(self._suffix) or record.key in self.answered_at:
                        continue
                    self.answered_at[record.key] = now
                    if outcome == "accepted":
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
    result = LoadResult()
    answers = _Answers(bootstrap, prefix, run)
    await answers.start()
    follow = asyncio.create_task(answers.follow())
    conn = await asyncpg.connect(deadlines_url) if deadlines_url else None
    scheduled: dict[bytes, float] = {}
    send = producer(bootstrap)
    await send.start()
    before = await _stored(conn, run) if conn is not None else 0  # an earlier (warm-up) run's orders
    start = time.monotonic()
    stored: int | None = None
    gave_up = asyncio.Event()
    placing = True

    def sample() -> Sample:
        accepted = len(answers.accepted)
        return Sample(round(time.monotonic() - start, 3), len(scheduled), len(answers.answered_at), accepted, len(answers.answered_at) - accepted, stored)

    async def watch() -> None:
        # The only user of the deadlines connection; samples faster once placing is over, to time the end.
        nonlocal stored
        while True:
            if conn is not None:
                stored = await _stored(conn, run) - before
            result.timeline.append(sample())
            if on_sample:
                on_sample(result.timeline[-1])
            if give_up_when and give_up_when(result.timeline[-1]):
                gave_up.set()
            await asyncio.sleep(sample_every if placing else 0.1)

    watcher = asyncio.create_task(watch())
    try:
        topic = prefix + ORDERS_COMMANDS.name
        pending: list[asyncio.Future[object]] = []
        while len(scheduled) < orders and time.monotonic() - start < seconds and not gave_up.is_set():
            due = orders if rate <= 0 else min(orders, int((time.monotonic() - start) * rate) + 1)
            while len(scheduled) < due:
                key, value = stream.next()
                at = time.monotonic() if rate <= 0 else start + len(scheduled) / rate
                pending.append(await send.send(topic, value, key=key.encode()))
                scheduled[key.encode()] = at
                if len(pending) >= 5_000:
                    await asyncio.gather(*pending)
                    pending.clear()
            # Flat out, yield so the answers are read; at a rate, sleep until the next order is due.
            await asyncio.sleep(0 if rate <= 0 else max(0.0, start + len(scheduled) / rate - time.monotonic()))
        await asyncio.gather(*pending)
        placing = False
        first = min(scheduled.values(), default=start)
        result.placed = len(scheduled)
        result.placing_seconds = max(scheduled.values(), default=start) - first
        give_up = time.monotonic() + settle
        while time.monotonic() < give_up and not gave_up.is_set():
            answered = len(answers.answered_at) >= result.placed
            if answered and result.answered_seconds is None:
                result.answered_seconds = max(answers.answered_at.values(), default=first) - first
            if answered and (conn is None or (stored or 0) >= len(answers.accepted)):
                result.stored_seconds = time.monotonic() - first if conn is not None else None
                break
            await asyncio.sleep(0.02)
    finally:
        for task in (watcher, follow):
            task.cancel()
        await asyncio.gather(watcher, follow, return_exceptions=True)
        await send.stop()
        await answers.stop()
        if conn is not None:
            await conn.close()
    result.timeline.append(sample())
    result.accepted = len(answers.accepted)
    result.rejected = len(answers.answered_at) - result.accepted
    result.reasons = answers.reasons
    result.latencies = [answers.answered_at[key] - scheduled[key] for key in answers.accepted if key in scheduled]
    return result


# -------------------------------------------------------------------------- a private system


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@dataclass
class System:
    """Services running on databases and topics of their own, for one run."""

    run: str
    prefix: str
    databases: dict[str, str]  # service -> URL
    processes: list[ServiceProcess]
    logs: Path

    def of(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.processes if p.name == service]


@contextlib.asynccontextmanager
async def launched(
    bootstrap: str,
    admin_url: str,
    *,
    services: tuple[str, ...] = SERVICES,
    instances: int = 1,
    env: dict[str, str] | None = None,
    label: str = "loadgen",
    process: type[ServiceProcess] = ServiceProcess,
    keep_logs: bool = False,
) -> AsyncIterator[System]:
    """Fresh databases and topics, `instances` processes of each service on them (one consumer group
    per service), all started; afterwards the services stop and the databases and topics go, and
    the services' logs too unless `keep_logs` or something failed.
    `process` may be a ServiceProcess that runs the service differently (under a profiler, say)."""
    run = uuid.uuid4().hex[:8]
    prefix = f"{label}-{run}."
    logs = Path(tempfile.gettempdir()) / f"fulfil-{label}-{run}"
    logs.mkdir(parents=True)
    admin = await asyncpg.connect(admin_url)
    databases = {}
    try:
        for service in services:
            name = f"{label}_{service}_{run}"
            await admin.execute(f'create database "{name}"')
            databases[service] = with_database(admin_url, name)
        await ensure_topics(bootstrap, prefix=prefix)
        common = {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "TOPIC_PREFIX": prefix, **(env or {})}
        processes = [
            process(service, {**common, "DATABASE_URL": databases[service]}, logs / f"{service}-{i}.log")
            for service in services
            for i in range(instances)
        ]
        try:
            for each in processes:
                each.start()
            for each in processes:
                await each.wait_started()
            yield System(run, prefix, databases, processes, logs)
        except BaseException:
            print(f"services' logs kept in {logs}", file=sys.stderr)
            raise
        finally:
            for each in processes:
                each.stop()
        if not keep_logs:  # reached only when nothing failed; a million fired deadlines log hundreds of MB
            shutil.rmtree(logs, ignore_errors=True)
    finally:
        for url in databases.values():
            await admin.execute(f'drop database if exists "{urlsplit(url).path[1:]}" with (force)')
        await admin.close()
        await _delete_topics(bootstrap, prefix)


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([prefix + t.name for t in ALL_TOPICS])
    finally:
        await admin.close()


# -------------------------------------------------------------------------- command line


def run_stoppable(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with SIGTERM handled like Ctrl-C: the coroutine is cancelled, so the services it
    launched stop and their databases and topics are dropped instead of being left behind."""

    async def guarded() -> T:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await main

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        raise SystemExit(128 + signal.SIGTERM) from None


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
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    async with contextlib.AsyncExitStack() as stack:
        if args.external:
            prefix, run, deadlines_url = os.environ.get("TOPIC_PREFIX", ""), uuid.uuid4().hex[:8], os.environ.get("DEADLINES_DATABASE_URL")
        else:
            admin_url = os.environ.get("POSTGRES_URL", "postgresql://fulfil:fulfil@127.0.0.1:15432/postgres")
            print("loadgen: starting the three services on fresh databases and topics", flush=True)
            system = await stack.enter_async_context(launched(bootstrap, admin_url, keep_logs=True))
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

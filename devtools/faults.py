"""The fault harness: a storefront load on an accelerated clock while services, the broker and the
database are killed and restarted, then every invariant checked (see devtools/invariants.py).

    python -m devtools.faults                      # the CI size: a few hundred orders, every fault
    python -m devtools.faults --orders 100000 --rate 400 --speed 20000   # the documented full run

It runs its own Kafka and PostgreSQL (scripts/stack.py with a private STACK_DIR and ports:
--kafka-port/--pg-port, or FAULTS_KAFKA_PORT/FAULTS_PG_PORT, so two checkouts can run it at once),
so it never disturbs a running development stack, and sends traffic only to 127.0.0.1. The
services run on it through the private-system harness (devtools/system.py). Seeded; bounded by
--max-seconds. Exit code 0 only when every invariant holds.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import random
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from devtools import invariants
from devtools.kafka_io import Tap
from devtools.launcher import REPO, run_stoppable
from devtools.system import SHORT_INTERVALS, PrivateSystem, Servers, unpublished
from shared.clock import ScaledClock
from shared.contracts import commands, events
from shared.contracts.codec import encode
from shared.contracts.envelope import Command, Message
from shared.contracts.topics import (
    DEAD_LETTERS,
    DEADLINES_EVENTS,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    SERVICES,
    Topic,
    consumer_group,
    order_key,
    topics_read_by,
)

# Connection errors while the broker is down are expected here; the harness reports what matters.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

WATCHED = (INVENTORY_EVENTS, ORDERS_EVENTS, DEADLINES_EVENTS, DEAD_LETTERS)  # what the invariants are checked on


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------- the private stack


@dataclass(frozen=True)
class Stack:
    directory: Path
    kafka_port: int
    pg_port: int

    @property
    def env(self) -> dict[str, str]:
        return {
            "STACK_DIR": str(self.directory),
            "KAFKA_PORT": str(self.kafka_port),
            "KAFKA_CONTROLLER_PORT": str(self.kafka_port + 1),
            "PG_PORT": str(self.pg_port),
        }

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "stack.py"), *args], env={**os.environ, **self.env}, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"faults: stack {' '.join(args)} failed:\n{result.stderr or result.stdout}")
        return result.stdout

    def servers(self) -> Servers:
        """Where the stack's servers are, as scripts/stack.py says (`env`: lines of `export NAME=value`)."""
        exported = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in self.run("env").splitlines() if line)
        return Servers(exported["KAFKA_BOOTSTRAP_SERVERS"], exported["POSTGRES_URL"])


# ----------------------------------------------------------------------------- the workload


@dataclass
class Workload:
    """Sellers' listings, a storefront's orders, and how each order's seller behaves."""

    rng: random.Random
    clock: ScaledClock
    sent: dict[uuid.UUID, Command] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)  # order key -> on_time | late | never
    listings: list[tuple[str, str]] = field(default_factory=list)  # (seller, listing)

    def catalogue(self, sellers: int, per_seller: int, orders: int) -> list[commands.CreateListing]:
        created = []
        # Enough capacity for most orders, not all: some run out (R2, R6 rejections).
        capacity = max(5, int(orders * 3 / (sellers * per_seller)))
        for s in range(sellers):
            for i in range(per_seller):
                seller, listing = f"seller-{s}", f"listing-{s}-{i}"
                self.listings.append((seller, listing))
                created.append(
                    commands.CreateListing(
                        command_id=uuid.uuid4(),
                        seller_id=seller,
                        listing_id=listing,
                        quantity=self.rng.randint(capacity // 2, capacity),
                        production_days=self.rng.choice((1, 2, 3, 5, 7, 14, 30)),
                    )
                )
        return created

    def order(self, number: int) -> commands.PlaceOrder:
        seller = self.rng.choice(self.listings)[0]
        own = [listing for s, listing in self.listings if s == seller]
        chosen = self.rng.sample(own, self.rng.choice((1, 1, 1, 2, 3)) if len(own) >= 3 else 1)
        command = commands.PlaceOrder(
            command_id=uuid.uuid4(),
            storefront_id="shop",
            order_id=f"o{number:06d}",
            seller_id=seller,
            placed_at=self.clock.now(),
            lines=[commands.OrderLine(listing_id=listing, quantity=self.rng.randint(1, 2)) for listing in chosen],
        )
        self.plans[order_key("shop", command.order_id)] = self.rng.choices(("on_time", "late", "never"), (50, 25, 25))[0]
        return command

    def confirmation(self, accepted: events.OrderAccepted) -> commands.ConfirmShipment:
        return commands.ConfirmShipment(
            command_id=uuid.uuid4(),
            storefront_id=accepted.storefront_id,
            order_id=accepted.order_id,
            seller_id=accepted.seller_id,
            ship_date=self.clock.now().date(),
            shipping_method="standard",
            carrier="Canada Post",
            tracking_id=f"T{accepted.order_id}",
        )


class Sellers:
    """How sellers answer their orders' acceptances: confirm on time right away, late just after the
    ship-by date ends, or never (the workload's plan for each order)."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.seen: set[str] = set()  # order keys with an answer; records may be seen twice (republished)
        self.late: list[events.OrderAccepted] = []

    def answered(self, message: Message) -> list[commands.ConfirmShipment]:
        """The confirmations to send now that `message` was read."""
        if not isinstance(message, (events.OrderAccepted, events.OrderRejected)):
            return []
        key = order_key(message.storefront_id, message.order_id)
        if key in self.seen:
            return []
        self.seen.add(key)
        if not isinstance(message, events.OrderAccepted):
            return []
        plan = self.workload.plans.get(key)
        if plan == "on_time":
            return [self.workload.confirmation(message)]
        if plan == "late" and message.ship_by_deadline < message.confirm_by_deadline:
            self.late.append(message)
        return []

    def late_ones_due(self, now: datetime) -> list[commands.ConfirmShipment]:
        """Confirmations of orders whose ship-by date ended two hours ago: late, not cancelled."""
        due = [a for a in self.late if a.ship_by_deadline + timedelta(hours=2) <= now]
        self.late = [a for a in self.late if a not in due]
        return [self.workload.confirmation(a) for a in due]

    def done(self, orders: int) -> bool:
        return not self.late and len(self.seen) >= orders


POISON = (
    b"\x00\xff\xfe not json",
    b'{"type": "order.place", "lines": "many"',
    b'{"type": "order.explode"}',
    b"[]",
    b'{"type": "listing.create", "quantity": -1}',
)


# ----------------------------------------------------------------------------- the run


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.stack = Stack(REPO / ".stack" / "faults", args.kafka_port, args.pg_port)
        self.clock = ScaledClock(datetime.now(UTC), datetime(2026, 1, 5, 9, tzinfo=UTC), args.speed)
        self.workload = Workload(self.rng, self.clock)
        self.faults: list[str] = []
        self.recoveries: list[tuple[str, float]] = []
        self.poison_sent = 0
        self.duplicates_sent = 0
        self.placed = 0
        self.system: PrivateSystem
        self.producer: AIOKafkaProducer
        self.deadline = time.monotonic() + args.max_seconds

    @property
    def bootstrap(self) -> str:
        return self.system.servers.kafka_bootstrap_servers

    # -- plumbing

    async def send(self, topic: Topic, key: str, value: bytes) -> None:
        """Publish, retrying through a broker outage: the storefront does not give up on an order."""
        while True:
            try:
                await self.producer.send_and_wait(self.system.prefix + topic.name, value, key=key.encode())
                return
            except KafkaError as exc:
                if time.monotonic() > self.deadline:
                    raise SystemExit(f"faults: could not publish within --max-seconds: {exc}") from None
                await asyncio.sleep(0.5)

    async def command(self, topic: Topic, key: str, command: Command) -> None:
        self.workload.sent[command.command_id] = command
        raw = encode(command)
        await self.send(topic, key, raw)
        if self.rng.random() < self.args.duplicate_share:  # a storefront's retry: the very same message again
            self.duplicates_sent += 1
            await self.send(topic, key, raw)

    async def poll_until(self, done: Callable[[], bool | Awaitable[bool]], every: float = 0.2) -> None:
        """Wait until `done()` (sync or async) is true, or --max-seconds have passed."""
        while time.monotonic() < self.deadline:
            outcome = done()
            if await outcome if inspect.isawaitable(outcome) else outcome:
                return
            await asyncio.sleep(every)

    # -- phases

    async def main(self) -> int:
        if self.stack.directory.exists():
            self.stack.run("down")
            shutil.rmtree(self.stack.directory)
        say(f"stack: starting a private Kafka on port {self.stack.kafka_port} and PostgreSQL on port {self.stack.pg_port}")
        self.stack.run("up")
        try:
            return await self.drive()
        finally:
            self.stack.run("down")

    async def drive(self) -> int:
        env = {**SHORT_INTERVALS, "STARTUP_TIMEOUT_SECONDS": "120"}
        # Static membership: a restarted instance rejoins as itself, with no wait for the old member's session to expire.
        async with PrivateSystem(
            self.stack.servers(), label="faults", clock=self.clock, env=env, static_membership=True,
            logs=self.stack.directory / "service-logs", start_timeout=120,
        ) as self.system:  # fmt: skip
            self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True)
            await self.producer.start()
            try:
                # What the invariants read: the services' events and dead letters, not the state topics or the
                # watermarks (a 100,000-order run would otherwise decode millions of records it never uses).
                async with Tap(self.bootstrap, self.system.prefix, topics=WATCHED, skip_types=frozenset({"orders.watermark"})) as tap:
                    await self.create_listings(tap)
                    say(f"load: placing {self.args.orders} orders at {self.args.rate}/s on a clock {self.clock.speed:g}x real time")
                    await asyncio.gather(self.place_orders(), self.confirm(tap), self.inject_faults())
                    await self.settle(tap)
                    return await self.verify(tap)
            finally:
                await self.producer.stop()

    async def create_listings(self, tap: Tap) -> None:
        listings = self.workload.catalogue(self.args.sellers, self.args.listings_per_seller, self.args.orders)
        for listing in listings:
            await self.command(INVENTORY_COMMANDS, listing.listing_id, listing)
        await tap.wait_for(events.ListingCreated, count=len(listings), timeout=120)
        say(f"load: {len(listings)} listings")

    async def place_orders(self) -> None:
        """Orders at --rate, sent a tick's worth at a time so the storefront itself keeps up."""
        started, tick, tenth = time.monotonic(), 0.1, max(1, self.args.orders // 10)
        while self.placed < self.args.orders:
            due = min(self.args.orders, int((time.monotonic() - started) * self.args.rate) + 1)
            batch = [self.workload.order(number) for number in range(self.placed, due)]
            await asyncio.gather(*(self.command(ORDERS_COMMANDS, order_key(o.storefront_id, o.order_id), o) for o in batch))
            before, self.placed = self.placed, due
            if self.placed // tenth > before // tenth:
                say(f"load: {self.placed}/{self.args.orders} orders placed")
            if self.args.poison_every and self.placed // self.args.poison_every > before // self.args.poison_every:
                await self.poison()
            await asyncio.sleep(tick)

    async def poison(self) -> None:
        topic = self.rng.choice((INVENTORY_COMMANDS, ORDERS_COMMANDS))
        await self.send(topic, f"poison-{self.placed}", self.rng.choice(POISON))
        self.poison_sent += 1

    async def confirm(self, tap: Tap) -> None:
        """Sellers: confirm on time right away, late just after the ship-by date ends, or never."""
        sellers = Sellers(self.workload)
        read = 0
        while not (self.placed == self.args.orders and sellers.done(self.args.orders)):
            fresh, read = tap.seen[read:], len(tap.seen)
            for _, _, message in fresh:
                for command in sellers.answered(message):
                    await self.command(ORDERS_COMMANDS, order_key(command.storefront_id, command.order_id), command)
            for command in sellers.late_ones_due(self.clock.now()):
                await self.command(ORDERS_COMMANDS, order_key(command.storefront_id, command.order_id), command)
            await asyncio.sleep(0.05)

    async def inject_faults(self) -> None:
        """Each service killed -9 and restarted (x3), the broker killed -9, PostgreSQL stopped
        immediately; all after at least 20% of the orders were placed, spread over the run."""
        plan = [("service", name) for name in SERVICES for _ in range(self.args.service_kills)]
        plan += [("kafka", "kafka")] * self.args.kafka_kills + [("postgres", "postgres")] * self.args.postgres_restarts
        self.rng.shuffle(plan)
        await self.poll_until(lambda: self.placed >= 0.2 * self.args.orders, every=0.05)
        gap = max(1.0, 0.8 * (self.args.orders / self.args.rate) / max(1, len(plan)))
        for kind, target in plan:
            say(f"fault: {kind} {target} at {self.placed}/{self.args.orders} orders placed")
            if kind == "service":
                await self.bounce_service(target)
            else:
                await self.bounce_server(target)
            self.faults.append(f"{kind}:{target}")
            await asyncio.sleep(gap)

    async def bounce_server(self, name: str) -> None:
        await asyncio.to_thread(self.stack.run, "crash", name)
        await asyncio.sleep(self.rng.uniform(0.2, 1.0))
        await asyncio.to_thread(self.stack.run, "up")

    async def bounce_service(self, name: str) -> None:
        process = self.system[name]
        process.kill()
        await asyncio.sleep(self.rng.uniform(0.1, 0.5))
        restarted = time.monotonic()
        targets = await self.end_offsets(topics_read_by(name))
        await process.restart(timeout=120)
        await self.poll_until(lambda: self.caught_up(name, targets), every=0.1)
        self.recoveries.append((name, time.monotonic() - restarted))

    async def end_offsets(self, topics: tuple[Topic, ...]) -> dict[TopicPartition, int]:
        probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await probe.start()
        try:
            return await probe.end_offsets([TopicPartition(self.system.prefix + t.name, p) for t in topics for p in range(t.partitions)])
        finally:
            await probe.stop()

    async def caught_up(self, service: str, targets: dict[TopicPartition, int]) -> bool:
        """Has the restarted service consumed what was on its topics when it restarted?"""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            for topic in topics_read_by(service):
                committed = await admin.list_consumer_group_offsets(consumer_group(service, topic, self.system.prefix))
                behind = [tp for tp, end in targets.items() if tp.topic == self.system.prefix + topic.name and end > 0 and (tp not in committed or committed[tp].offset < end)]
                if behind:
                    return False
            return True
        finally:
            await admin.close()

    async def settle(self, tap: Tap) -> None:
        """Until every deadline has passed on the clock and every service has published everything."""
        last_deadline = max((a.confirm_by_deadline for a in tap.of_type(events.OrderAccepted)), default=self.clock.now())
        say(f"settle: waiting for the last deadline ({last_deadline:%Y-%m-%d}) and for every outbox to drain")
        await self.poll_until(lambda: self.clock.now() >= last_deadline + timedelta(days=1))
        databases = self.system.databases
        await self.poll_until(lambda: self.drained(databases.values()))
        await self.poll_until(lambda: self.no_pending_timers(databases["deadlines"]))
        await self.poll_until(lambda: self.drained(databases.values()))

        # The orders service applies the last cancellations; inventory restores their stock.
        def subjects(kind: type) -> set[str]:
            return {order_key(m.storefront_id, m.order_id) for m in tap.of_type(kind)}

        await self.poll_until(lambda: subjects(events.StockRestored) >= subjects(events.CancellationIssued), every=1.0)
        await tap.caught_up(timeout=120)

    @staticmethod
    async def drained(urls: Iterable[str]) -> bool:
        return await unpublished(urls) == 0

    @staticmethod
    async def no_pending_timers(url: str) -> bool:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("select count(*) from deadlines where status = 'pending'") == 0
        finally:
            await conn.close()

    async def final_state(self) -> tuple[dict[str, int], list[invariants.Timer]]:
        """Every listing's quantity, and every timer, as the databases hold them at the end."""
        inventory = await asyncpg.connect(self.system.databases["inventory"])
        deadlines = await asyncpg.connect(self.system.databases["deadlines"])
        try:
            stock = dict(await inventory.fetch("select listing_id, quantity from listings"))
            timers = [
                invariants.Timer(order_key(r["storefront_id"], r["order_id"]), r["kind"], r["due_at"], r["fired_at"])
                for r in await deadlines.fetch("select * from deadlines")
            ]
        finally:
            await inventory.close()
            await deadlines.close()
        return stock, timers

    async def verify(self, tap: Tap) -> int:
        stock, timers = await self.final_state()
        messages = [m for _, _, m in tap.seen if not isinstance(m, (Command, events.OrdersWatermark))]
        report = invariants.check(list(self.workload.sent.values()), self.poison_sent, messages, stock, timers)
        summary = self.summary(report)
        (self.stack.directory / "report.json").write_text(json.dumps(summary, indent=2))
        print_report(summary)
        return 0 if report.ok else 1

    def summary(self, report: invariants.Report) -> dict:  # type: ignore[type-arg]
        recovery = sorted(seconds for _, seconds in self.recoveries)
        return {
            "orders": self.args.orders,
            "seed": self.args.seed,
            "faults": {kind: self.faults.count(kind) for kind in sorted(set(self.faults))},
            "duplicates_sent": self.duplicates_sent,
            "poison_sent": self.poison_sent,
            "recovery_seconds": {"max": round(max(recovery, default=0), 2), "median": round(recovery[len(recovery) // 2], 2) if recovery else 0},
            "counts": report.counts,
            "problems": {k: v[:20] for k, v in report.problems.items() if v},
            "ok": report.ok,
        }


def print_report(summary: dict) -> None:  # type: ignore[type-arg]
    print("\nfaults injected: " + ", ".join(f"{k} x{n}" for k, n in summary["faults"].items()))
    print(f"duplicates published: {summary['duplicates_sent']}, poison messages: {summary['poison_sent']}")
    print(f"restart -> caught up: median {summary['recovery_seconds']['median']}s, max {summary['recovery_seconds']['max']}s")
    print(f"\n{'count':<28}{'value':>10}")
    for name, value in summary["counts"].items():
        print(f"{name:<28}{value:>10}")
    for name, examples in summary["problems"].items():
        print(f"\nFAILED {name}:\n  " + "\n  ".join(examples))
    print("\nevery invariant holds" if summary["ok"] else "\nINVARIANTS BROKEN")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--rate", type=float, default=40.0, help="orders per second")
    parser.add_argument("--speed", type=float, default=100_000, help="simulated seconds per real second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sellers", type=int, default=8)
    parser.add_argument("--listings-per-seller", type=int, default=4)
    parser.add_argument("--service-kills", type=int, default=3, help="kill -9 and restart of each service")
    parser.add_argument("--kafka-kills", type=int, default=1)
    parser.add_argument("--postgres-restarts", type=int, default=1)
    parser.add_argument("--duplicate-share", type=float, default=0.05, help="share of inputs published twice")
    parser.add_argument("--poison-every", type=int, default=40, help="one poison message per this many orders (0: none)")
    # Defaults from the environment too, so two checkouts (or CI and a developer) can run it at once.
    parser.add_argument("--kafka-port", type=int, default=os.environ.get("FAULTS_KAFKA_PORT", "29092"),
                        help="the private broker's port, its controller's the next one (env FAULTS_KAFKA_PORT, default 29092)")
    parser.add_argument("--pg-port", type=int, default=os.environ.get("FAULTS_PG_PORT", "25432"),
                        help="the private PostgreSQL's port (env FAULTS_PG_PORT, default 25432)")
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    if args.orders < 10 or args.rate <= 0 or args.speed <= 0:
        parser.error("--orders must be at least 10; --rate and --speed positive")
    sys.exit(run_stoppable(Run(args).main()))


if __name__ == "__main__":
    main()

"""The fault harness: a storefront load on an accelerated clock while services, the broker and the
database are killed and restarted, then every invariant checked (see devtools/invariants.py).

    python -m devtools.faults                      # the CI size: a few hundred orders, every fault
    python -m devtools.faults --orders 100000 --rate 400 --speed 20000   # the documented full run

It runs its own Kafka and PostgreSQL (scripts/stack.py with a private STACK_DIR and ports), so it
never disturbs a running development stack, and sends traffic only to 127.0.0.1. Seeded; bounded by
--max-seconds. Exit code 0 only when every invariant holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from devtools import invariants
from devtools.kafka_io import Tap
from devtools.launcher import REPO, ServiceProcess
from shared.clock import ScaledClock
from shared.contracts import commands, events
from shared.contracts.codec import encode
from shared.contracts.envelope import Command
from shared.contracts.topics import ALL_TOPICS, INVENTORY_COMMANDS, ORDERS_COMMANDS, Topic, order_key
from shared.messaging.admin import ensure_topics

SERVICES = ("inventory", "orders", "deadlines")
SUBSCRIPTIONS = {"inventory": ("inventory.commands", "orders.events"), "orders": ("orders.commands", "inventory.events", "deadlines.events"), "deadlines": ("orders.events",)}
PARTITIONS = {t.name: t.partitions for t in ALL_TOPICS}


# Connection errors while the broker is down are expected here; the harness reports what matters.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


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

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def database_url(self, name: str) -> str:
        return f"postgresql://fulfil:fulfil@127.0.0.1:{self.pg_port}/{name}"

    def run(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "stack.py"), *args], env={**os.environ, **self.env}, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"faults: stack {' '.join(args)} failed:\n{result.stderr or result.stdout}")


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
        self.logs = self.stack.directory / "service-logs"
        self.faults: list[str] = []
        self.recoveries: list[tuple[str, float]] = []
        self.poison_sent = 0
        self.duplicates_sent = 0
        self.placed = 0
        self.services: dict[str, ServiceProcess] = {}
        self.producer: AIOKafkaProducer | None = None
        self.deadline = time.monotonic() + args.max_seconds

    # -- plumbing

    async def send(self, topic: Topic, key: str, value: bytes) -> None:
        """Publish, retrying through a broker outage: the storefront does not give up on an order."""
        assert self.producer is not None
        while True:
            try:
                await self.producer.send_and_wait(topic.name, value, key=key.encode())
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

    def service(self, name: str) -> ServiceProcess:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.stack.bootstrap,
            "DATABASE_URL": self.stack.database_url(name),
            "CLOCK_REAL_ANCHOR": self.clock.real_anchor.isoformat(),
            "CLOCK_SIMULATED_ANCHOR": self.clock.simulated_anchor.isoformat(),
            "CLOCK_SPEED": str(self.clock.speed),
            "WATERMARK_INTERVAL_SECONDS": "0.2",
            "OUTBOX_POLL_SECONDS": "0.5",
            "STARTUP_TIMEOUT_SECONDS": "120",
            # A restarted instance rejoins as itself: no wait for the old member's session to expire.
            "KAFKA_GROUP_INSTANCE_ID": f"{name}-1",
        }
        return ServiceProcess(name, env, self.logs / f"{name}.log")

    # -- phases

    async def main(self) -> int:
        if self.stack.directory.exists():
            self.stack.run("down")
            shutil.rmtree(self.stack.directory)
        self.logs.mkdir(parents=True)
        say(f"stack: starting a private Kafka on {self.stack.bootstrap} and PostgreSQL on port {self.stack.pg_port}")
        self.stack.run("up")
        try:
            return await self.drive()
        finally:
            for process in self.services.values():
                process.stop()
            self.stack.run("down")

    async def drive(self) -> int:
        await ensure_topics(self.stack.bootstrap)
        self.services = {name: self.service(name) for name in SERVICES}
        for process in self.services.values():
            process.start()
        for process in self.services.values():
            await process.wait_started(timeout=120)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.stack.bootstrap, acks="all", enable_idempotence=True)
        await self.producer.start()
        try:
            async with Tap(self.stack.bootstrap, topics=ALL_TOPICS) as tap:
                listings = self.workload.catalogue(self.args.sellers, self.args.listings_per_seller, self.args.orders)
                for listing in listings:
                    await self.command(INVENTORY_COMMANDS, listing.listing_id, listing)
                await tap.wait_for(events.ListingCreated, count=len(listings), timeout=120)
                say(f"load: {len(listings)} listings; placing {self.args.orders} orders at {self.args.rate}/s on a clock {self.clock.speed:g}x real time")
                await asyncio.gather(self.place_orders(), self.confirm(tap), self.inject_faults())
                await self.settle(tap)
                return await self.verify(tap)
        finally:
            await self.producer.stop()

    async def place_orders(self) -> None:
        """Orders at --rate, sent a tick's worth at a time so the storefront itself keeps up."""
        started, tick = time.monotonic(), 0.1
        while self.placed < self.args.orders:
            due = min(self.args.orders, int((time.monotonic() - started) * self.args.rate) + 1)
            batch = [self.workload.order(number) for number in range(self.placed, due)]
            await asyncio.gather(*(self.command(ORDERS_COMMANDS, order_key(o.storefront_id, o.order_id), o) for o in batch))
            before, self.placed = self.placed, due
            if self.placed // max(1, self.args.orders // 10) > before // max(1, self.args.orders // 10):
                say(f"load: {self.placed}/{self.args.orders} orders placed")
            if self.args.poison_every and self.placed // self.args.poison_every > before // self.args.poison_every:
                topic = self.rng.choice((INVENTORY_COMMANDS, ORDERS_COMMANDS))
                await self.send(topic, f"poison-{self.placed}", self.rng.choice(POISON))
                self.poison_sent += 1
            await asyncio.sleep(tick)

    async def confirm(self, tap: Tap) -> None:
        """Sellers: confirm on time right away, late just after the ship-by date ends, or never."""
        answered: set[str] = set()  # order keys with an answer; records may be seen twice (republished)
        late: list[events.OrderAccepted] = []
        read = 0
        while True:
            fresh, read = tap.seen[read:], len(tap.seen)
            for _, _, message in fresh:
                if not isinstance(message, (events.OrderAccepted, events.OrderRejected)):
                    continue
                key = order_key(message.storefront_id, message.order_id)
                if key in answered:
                    continue
                answered.add(key)
                plan = self.workload.plans.get(key)
                if not isinstance(message, events.OrderAccepted):
                    continue
                if plan == "on_time":
                    await self.command(ORDERS_COMMANDS, key, self.workload.confirmation(message))
                elif plan == "late" and message.ship_by_deadline < message.confirm_by_deadline:
                    late.append(message)
            now = self.clock.now()
            for accepted in [a for a in late if a.ship_by_deadline + timedelta(hours=2) <= now]:
                late.remove(accepted)
                await self.command(ORDERS_COMMANDS, order_key(accepted.storefront_id, accepted.order_id), self.workload.confirmation(accepted))
            if self.placed == self.args.orders and not late and len(answered) >= self.args.orders:
                return
            await asyncio.sleep(0.05)

    async def inject_faults(self) -> None:
        """Each service killed -9 and restarted (x3), the broker killed -9, PostgreSQL stopped
        immediately; all after at least 20% of the orders were placed, spread over the run."""
        plan = [("service", name) for name in SERVICES for _ in range(self.args.service_kills)]
        plan += [("kafka", "kafka")] * self.args.kafka_kills + [("postgres", "postgres")] * self.args.postgres_restarts
        self.rng.shuffle(plan)
        while self.placed < 0.2 * self.args.orders:
            await asyncio.sleep(0.05)
        load_seconds = self.args.orders / self.args.rate
        gap = max(1.0, 0.8 * load_seconds / max(1, len(plan)))
        for kind, target in plan:
            say(f"fault: {kind} {target} at {self.placed}/{self.args.orders} orders placed")
            if kind == "service":
                await self.bounce_service(target)
            else:
                await asyncio.to_thread(self.stack.run, "crash", target)
                await asyncio.sleep(self.rng.uniform(0.2, 1.0))
                await asyncio.to_thread(self.stack.run, "up")
            self.faults.append(f"{kind}:{target}")
            await asyncio.sleep(gap)

    async def bounce_service(self, name: str) -> None:
        process = self.services[name]
        process.kill()
        await asyncio.sleep(self.rng.uniform(0.1, 0.5))
        restarted = time.monotonic()
        targets = await self.end_offsets(SUBSCRIPTIONS[name])
        process.start()
        await process.wait_started(timeout=120)
        await self.caught_up(name, targets)
        self.recoveries.append((name, time.monotonic() - restarted))

    async def end_offsets(self, topics: tuple[str, ...]) -> dict[TopicPartition, int]:
        probe = AIOKafkaConsumer(bootstrap_servers=self.stack.bootstrap, enable_auto_commit=False)
        await probe.start()
        try:
            return await probe.end_offsets([TopicPartition(t, p) for t in topics for p in range(PARTITIONS[t])])
        finally:
            await probe.stop()

    async def caught_up(self, service: str, targets: dict[TopicPartition, int]) -> None:
        """Until the restarted service has consumed what was on its topics when it restarted."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.stack.bootstrap)
        await admin.start()
        try:
            while time.monotonic() < self.deadline:
                done = True
                for topic in SUBSCRIPTIONS[service]:
                    committed = await admin.list_consumer_group_offsets(f"{service}.{topic}")
                    for tp, end in targets.items():
                        if tp.topic == topic and end > 0 and (tp not in committed or committed[tp].offset < end):
                            done = False
                if done:
                    return
                await asyncio.sleep(0.1)
        finally:
            await admin.close()

    async def settle(self, tap: Tap) -> None:
        """Until every deadline has passed on the clock and every service has published everything."""
        last_deadline = max((a.confirm_by_deadline for a in tap.of_type(events.OrderAccepted)), default=self.clock.now())
        say(f"settle: waiting for the last deadline ({last_deadline:%Y-%m-%d}) and for every outbox to drain")
        while self.clock.now() < last_deadline + timedelta(days=1):
            await asyncio.sleep(0.2)
        for name in SERVICES:
            conn = await asyncpg.connect(self.stack.database_url(name))
            try:
                while await conn.fetchval("select count(*) from outbox where message_type <> 'orders.watermark'"):
                    await asyncio.sleep(0.2)
                if name == "deadlines":
                    while await conn.fetchval("select count(*) from deadlines where status = 'pending'"):
                        await asyncio.sleep(0.2)
                    while await conn.fetchval("select count(*) from outbox where message_type <> 'orders.watermark'"):
                        await asyncio.sleep(0.2)
            finally:
                await conn.close()
        # The orders service applies the last cancellations; inventory restores their stock.
        def subjects(kind: type) -> set[str]:
            return {order_key(m.storefront_id, m.order_id) for m in tap.of_type(kind)}

        while subjects(events.StockRestored) < subjects(events.CancellationIssued) and time.monotonic() < self.deadline:
            await asyncio.sleep(1.0)
        await tap.caught_up(timeout=120)

    async def verify(self, tap: Tap) -> int:
        inventory = await asyncpg.connect(self.stack.database_url("inventory"))
        deadlines = await asyncpg.connect(self.stack.database_url("deadlines"))
        try:
            stock = dict(await inventory.fetch("select listing_id, quantity from listings"))
            timers = [
                invariants.Timer(order_key(r["storefront_id"], r["order_id"]), r["kind"], r["due_at"], r["fired_at"])
                for r in await deadlines.fetch("select * from deadlines")
            ]
        finally:
            await inventory.close()
            await deadlines.close()
        messages = [m for _, _, m in tap.seen if not isinstance(m, (Command, events.OrdersWatermark))]
        report = invariants.check(list(self.workload.sent.values()), self.poison_sent, messages, stock, timers)
        recovery = sorted(seconds for _, seconds in self.recoveries)
        summary = {
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
        (self.stack.directory / "report.json").write_text(json.dumps(summary, indent=2))
        print_report(summary)
        return 0 if report.ok else 1


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
    parser.add_argument("--kafka-port", type=int, default=29092)
    parser.add_argument("--pg-port", type=int, default=25432)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    if args.orders < 10 or args.rate <= 0 or args.speed <= 0:
        parser.error("--orders must be at least 10; --rate and --speed positive")
    sys.exit(asyncio.run(Run(args).main()))


if __name__ == "__main__":
    main()

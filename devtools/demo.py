"""`make run`: the three services against the local stack, and a storefront placing orders.

Prints what happens (listings, accepted orders with their ship-by dates, rejections) until Ctrl-C
or --orders N, then stops the services. The services' own logs go to .stack/logs/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from devtools.kafka_io import Publisher, Tap
from devtools.launcher import REPO, ServiceProcess, run_stoppable, stop_all
from devtools.storefront import SimulatedStorefront
from devtools.system import Servers
from shared.contracts import events
from shared.contracts.envelope import Message
from shared.contracts.topics import (
    DEADLINES_EVENTS,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    SERVICES,
    order_key,
)
from shared.messaging.admin import BrokerUnavailable, ensure_topics


def describe(message: Message) -> str | None:
    """One line a person reads, or None for messages the demo does not narrate."""
    match message:
        case events.ListingCreated():
            stock = "out of stock" if message.quantity == 0 else f"{message.quantity} units"
            return f"listing  {message.listing_id:<22} {message.seller_id}: {stock}, made in {message.production_days} days"
        case events.OrderAccepted():
            return (
                f"accepted {message.order_id:<22} ordered {message.order_date}, "
                f"ship by {message.ship_by_date}, confirm by {message.confirm_by_date}"
            )
        case events.OrderRejected():
            return f"rejected {message.order_id:<22} {message.reason.value}: {message.message}"
        case events.CommandRejected():
            return f"refused  command {message.command_type}: {message.reason.value}: {message.message}"
    return None


async def run(args: argparse.Namespace) -> int:
    bootstrap = Servers.from_env().kafka_bootstrap_servers
    logs = Path(os.environ.get("STACK_DIR", REPO / ".stack")) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        await ensure_topics(bootstrap)
    except BrokerUnavailable as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2

    services = [
        ServiceProcess(name, {"DATABASE_URL": os.environ[f"{name.upper()}_DATABASE_URL"]}, logs / f"{name}.log")
        for name in SERVICES
        if f"{name.upper()}_DATABASE_URL" in os.environ
    ] or [ServiceProcess(name, {}, logs / f"{name}.log") for name in SERVICES]
    run_id = uuid.uuid4().hex[:4]
    market = SimulatedStorefront(seed=args.seed, run=run_id)
    outcomes: Counter[str] = Counter()

    def narrate(_topic: str, message: Message) -> None:
        ids = " ".join(str(getattr(message, f, "")) for f in ("order_id", "listing_id", "seller_id"))
        if run_id not in ids:
            return  # an earlier run's event
        outcomes[message.type] += 1
        line = describe(message)
        if line:
            print(line, flush=True)

    print(f"demo: starting the services (logs in {logs})", flush=True)
    for service in services:
        service.start()
    try:
        for service in services:
            await service.wait_started()
        print("demo: services are up; placing orders (Ctrl-C stops)", flush=True)
        async with (
            Tap(bootstrap, topics=(INVENTORY_EVENTS, ORDERS_EVENTS, DEADLINES_EVENTS), on_message=narrate),
            Publisher(bootstrap, "") as publisher,
        ):
            listings = market.create_listings()
            for command in listings:
                await publisher.send(INVENTORY_COMMANDS, command.listing_id, command)
            # Orders and listings travel on different topics, in no order relative to each other (M4):
            # a storefront only sells what the inventory has confirmed.
            await asyncio.wait_for(_counted(outcomes, "listing.created", len(listings)), 60)
            placed = 0
            while args.orders == 0 or placed < args.orders:
                order = market.next_order(datetime.now(UTC))
                await publisher.send(ORDERS_COMMANDS, order_key(order.storefront_id, order.order_id), order)
                placed += 1
                await asyncio.sleep(1 / args.rate)
            # Let the last answers arrive before stopping.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_counted(outcomes, ("order.accepted", "order.rejected"), placed), 30)
    finally:
        stop_all(services)
        answered = outcomes["order.accepted"] + outcomes["order.rejected"]
        print(
            f"demo: {outcomes['order.accepted']} accepted, {outcomes['order.rejected']} rejected "
            f"({answered} answered); services stopped",
            flush=True,
        )
    return 0


async def _counted(outcomes: Counter[str], types: str | tuple[str, ...], count: int) -> None:
    """Wait until `count` messages of the given types were narrated."""
    wanted = (types,) if isinstance(types, str) else types
    while sum(outcomes[t] for t in wanted) < count:
        await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=0, help="stop after this many orders (0: until Ctrl-C)")
    parser.add_argument("--rate", type=float, default=2.0, help="orders per second (default 2)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated marketplace")
    args = parser.parse_args()
    if args.rate <= 0 or args.orders < 0:
        parser.error("--rate must be positive and --orders not negative")
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(run_stoppable(run(args)))


if __name__ == "__main__":
    main()

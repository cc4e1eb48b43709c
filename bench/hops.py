"""Where an order's latency goes, hop by hop: orders placed at a steady rate through three fresh
services, then each order's records read back from Kafka with the time each was produced.

    python -m bench.hops [--rate 100] [--seconds 30]

An order crosses three hops: its order.place command becomes order.placed (the orders service and
its relay), order.placed becomes stock.reserved (inventory), stock.reserved becomes order.accepted
(orders again). Each hop's time is the difference between the producer timestamps of the record it
read and the record it wrote, so it holds the consumer's wait, the batch's transaction and the
relay. Placement -> acceptance as the storefront saw it is printed beside them. Warm-up orders are
left out. The figures of docs/benchmarks.md ("Latency, hop by hop") come from this.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from itertools import pairwise

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import QUICK, percentiles_ms, ready_system, servers
from devtools.launcher import run_stoppable
from devtools.loadgen import place_orders
from shared.contracts.topics import INVENTORY_EVENTS, ORDERS_COMMANDS, ORDERS_EVENTS

# The record each hop reads and the one it writes, by message type ("order.place": the storefront's command).
CHAIN = ("order.place", "order.placed", "stock.reserved", "order.accepted")


async def produced_at(bootstrap: str, prefix: str) -> dict[bytes, dict[str, int]]:
    """For each order key, the producer timestamp (ms) of each record of CHAIN, read up to the end of each topic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(prefix + topic.name, p) for topic in (ORDERS_COMMANDS, ORDERS_EVENTS, INVENTORY_EVENTS) for p in range(topic.partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        times: dict[bytes, dict[str, int]] = defaultdict(dict)
        while [p for p in partitions if await consumer.position(p) < ends[p]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    kind = dict(record.headers or ()).get("message_type", b"order.place").decode()
                    if kind in CHAIN and record.key is not None:
                        times[record.key].setdefault(kind, record.timestamp)
        return times
    finally:
        await consumer.stop()


def hops(times: dict[bytes, dict[str, int]], warm_up: set[bytes]) -> dict[str, list[float]]:
    """Seconds per hop (and in all) of every order that went the whole way."""
    spans: dict[str, list[float]] = defaultdict(list)
    for key, at in times.items():
        if key in warm_up or not all(kind in at for kind in CHAIN):
            continue
        for read, wrote in pairwise(CHAIN):
            spans[f"{read} -> {wrote}"].append((at[wrote] - at[read]) / 1000)
        spans["three hops"].append((at[CHAIN[-1]] - at[CHAIN[0]]) / 1000)
    return spans


async def main(rate: float, seconds: float) -> None:
    where = servers()
    async with ready_system(where, QUICK) as (system, stream):
        warm_up = set((await produced_at(where.kafka_bootstrap_servers, system.prefix)).keys())
        print(f"hops: placing {int(rate * seconds)} orders at {rate:g}/s", flush=True)
        result = await place_orders(
            where.kafka_bootstrap_servers, system.prefix, stream, orders=int(rate * seconds), rate=rate, seconds=seconds, settle=30, run=system.run
        )
        spans = hops(await produced_at(where.kafka_bootstrap_servers, system.prefix), warm_up)
    print(f"{'':38} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  (ms)")
    for name, values in [*spans.items(), ("placement -> acceptance (storefront)", result.latencies)]:
        figures = percentiles_ms(values)
        print(f"{name:38} " + " ".join(f"{figures[p] if figures[p] is not None else '-':>7}" for p in ("p50", "p95", "p99", "max")))


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="orders per second (default 100)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to place orders (default 30)")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0:
        parser.error("--rate and --seconds must be positive")
    run_stoppable(main(args.rate, args.seconds))


if __name__ == "__main__":
    cli()

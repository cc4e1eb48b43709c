"""Raw Kafka on this machine: a plain aiokafka consume -> produce relay with the system's message sizes.

The driver (this process) produces N records the size of the load generator's orders to an input
topic; a relay in its own process, like a service, reads them in batches with a consumer group,
produces one record the size of an OrderAccepted for each (acks=all, idempotent, as the services'
relays do) and commits its offsets once they are acknowledged; the driver reads the output topic.
Relay throughput = N / (first record produced -> last relayed record read). It is one hop with no
database, so the end-to-end figure is reported as a ratio of it: what the system keeps of Kafka.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.harness import Servers, Sizes
from devtools.loadgen import Catalogue, OrderStream, producer
from shared.contracts.events import OrderAccepted

PARTITIONS = 3  # as the system's topics


def accepted_size_record() -> bytes:
    """An OrderAccepted as the orders service writes it: the output record of the relay."""
    now = datetime.now(UTC)
    return OrderAccepted(
        storefront_id="shop-1", order_id="o00000001-abcdef12", seller_id="s000001-abcdef12", command_id=uuid.uuid4(), placed_at=now,
        timezone="UTC", order_date=date(2026, 1, 1), ship_by_date=date(2026, 1, 8), confirm_by_date=date(2026, 1, 31),
        ship_by_deadline=now, confirm_by_deadline=now,
    ).model_dump_json().encode()


async def relay(bootstrap: str, source: str, target: str, group: str, count: int) -> None:
    """Consume `count` records from `source` and produce one record per input to `target`, then exit."""
    value = accepted_size_record()
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
    out = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2, max_batch_size=256 << 10)
    await consumer.start()
    await out.start()
    try:
        while not consumer.assignment():  # joined its group: the driver may start the clock
            await asyncio.sleep(0.05)
        await out.partitions_for(target)
        print("ready", flush=True)
        relayed = 0
        while relayed < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=5_000)
            acks = [await out.send(target, value, key=record.key) for records in batches.values() for record in records]
            await asyncio.gather(*acks)
            if acks:
                await consumer.commit()
            relayed += len(acks)
    finally:
        await out.stop()
        await consumer.stop()


async def measure(servers: Servers, messages: int, cap: float) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    source, target = f"bench-{run}.baseline.in", f"bench-{run}.baseline.out"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in (source, target)])
    # The same payloads the load generator places, so the bytes per record match the system's.
    stream = OrderStream(Catalogue(seed=7, run=run, sellers=1000, listings_per_seller=10), seed=7)
    payloads = [stream.next() for _ in range(messages)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.kafka_baseline", servers.kafka_bootstrap_servers, source, target, f"bench-{run}.relay", str(messages),
        stdout=asyncio.subprocess.PIPE,
    )
    reader = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest")
    send = producer(servers.kafka_bootstrap_servers)
    await reader.start()
    await send.start()
    try:
        reader.assign([TopicPartition(target, p) for p in range(PARTITIONS)])
        await send.partitions_for(source)  # metadata fetched before the clock starts
        await asyncio.wait_for(process.stdout.readline(), 60)  # type: ignore[union-attr]
        start = time.monotonic()
        acks = [await send.send(source, value, key=key.encode()) for key, value in payloads]
        await asyncio.gather(*acks)
        produced = time.monotonic() - start
        seen = 0
        while seen < messages and time.monotonic() - start < cap:
            seen += sum(len(r) for r in (await reader.getmany(timeout_ms=200, max_records=10_000)).values())
        relayed = time.monotonic() - start
    finally:
        await send.stop()
        await reader.stop()
        if process.returncode is None:
            process.kill()
        await process.wait()
        await admin.delete_topics([source, target])
        await admin.close()
    return {
        "messages": messages,
        "relayed": seen,
        "complete": seen == messages,
        "input_bytes_avg": round(sum(len(v) for _, v in payloads) / messages),
        "output_bytes": len(accepted_size_record()),
        "producer_msgs_per_s": round(messages / produced),
        "relay_msgs_per_s": round(seen / relayed),
    }


async def run(sizes: Sizes, servers: Servers) -> dict[str, Any]:
    return await measure(servers, sizes.baseline_messages, sizes.cap_seconds)


def rows(f: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    return [
        ("Kafka producer alone (acks=all)", f"{f['producer_msgs_per_s']:,} msg/s", "reference: 76-141k msg/s", None),
        (f"Kafka consume->produce relay ({f['input_bytes_avg']} B in, {f['output_bytes']} B out)", f"{f['relay_msgs_per_s']:,} msg/s", "baseline", None),
    ]


if __name__ == "__main__":  # the relay process: bootstrap source target group count
    bootstrap, source, target, group, count = sys.argv[1:6]
    asyncio.run(relay(bootstrap, source, target, group, int(count)))

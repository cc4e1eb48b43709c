"""What operators see, against the running services: metrics that match what was sent, one trace that
spans the three services from a storefront's command to the stock a cancellation returned, and
readiness that follows PostgreSQL and Kafka going away and coming back."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.actors import Marketplace
from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from devtools.system import SHORT_INTERVALS, accelerated, clock_env, running, service_processes
from shared.contracts import events
from shared.contracts.topics import ORDERS_COMMANDS, order_key
from shared.messaging.admin import ensure_topics
from tests.support.infra import Infra
from tests.support.private_stack import PrivateStack
from tests.support.settle import published
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def scrape(service: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{service.http}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted((k, v) for k, v in sample.labels.items() if k != "service"))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return sum(value for (n, have), value in samples.items() if n == name and set(labels.items()) <= set(have))


async def test_metrics_count_what_was_sent(
    services: dict[str, ServiceProcess], publisher: Publisher, tap: Tap, service_databases: dict[str, str]
) -> None:
    market = Marketplace(publisher, tap, clock=accelerated(datetime.now(UTC), 1))
    await market.create_listing("maker", "bowl", quantity=100, production_days=5)
    orders = 12
    for i in range(orders):
        await market.place(f"m-{i}", "maker", [("bowl", 1)])
    await published(service_databases, tap)

    # Orders' outbox holds a watermark's rows for the moment between writing and relaying them, every
    # heartbeat: scrape until a moment without (everything the orders caused is on Kafka already).
    inventory, orders_service = [
        await eventually(lambda name=name: asyncio.to_thread(scrape, services[name]), lambda samples: total(samples, "fulfil_outbox_backlog") == 0)
        for name in ("inventory", "orders")
    ]
    assert total(orders_service, "fulfil_records_total", topic=ORDERS_COMMANDS.name, type="order.place", outcome="applied") == orders
    answers = total(orders_service, "fulfil_emitted_total", type="order.accepted") + total(orders_service, "fulfil_emitted_total", type="order.rejected")
    assert answers == orders
    assert total(inventory, "fulfil_emitted_total", type="stock.reserved") == orders
    assert total(inventory, "fulfil_emitted_total", type="listing.created") == 1
    # Deadlines applies the acceptances in its own time (it counts a batch once committed): then two
    # timers an order (ship-by, confirm-by), none due on the real clock, a warning before each.
    deadlines = await eventually(
        lambda: asyncio.to_thread(scrape, services["deadlines"]),
        lambda samples: total(samples, "fulfil_records_total", type="order.accepted", outcome="applied") == orders,
    )
    assert (total(deadlines, "fulfil_timers_pending", kind="ship_by"), total(deadlines, "fulfil_timers_pending", kind="confirm_by")) == (orders, orders)
    assert total(deadlines, "fulfil_dead_letters_total") == total(orders_service, "fulfil_dead_letters_total") == 0


# --------------------------------------------------------------------------------- one trace


@pytest.fixture
def traced_env(tmp_path: Path) -> dict[str, str]:
    return clock_env(accelerated(datetime(2026, 5, 1, 9, tzinfo=UTC), 500_000))


@pytest.fixture
async def traced_services(
    infra: Infra, topic_prefix: str, service_databases: dict[str, str], tmp_path: Path, traced_env: dict[str, str]
) -> AsyncIterator[dict[str, ServiceProcess]]:
    processes = service_processes(infra.kafka_bootstrap_servers, topic_prefix, service_databases, tmp_path, env={**SHORT_INTERVALS, **traced_env})
    for process in processes:
        process.env["TRACES_FILE"] = str(tmp_path / f"{process.name}-spans.jsonl")
    async with running(processes) as started:
        yield started


def spans(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_one_order_is_one_trace_across_the_three_services_from_its_command_to_its_restored_stock(
    traced_services: dict[str, ServiceProcess], publisher: Publisher, tap: Tap, tmp_path: Path, traced_env: dict[str, str]
) -> None:
    clock = accelerated(datetime(2026, 5, 1, 9, tzinfo=UTC), 500_000)
    market = Marketplace(publisher, tap, clock=clock)
    await market.create_listing("potter", "jug", quantity=3, production_days=2)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    command = market.place_command("traced", "potter", [("jug", 1)])
    await publisher.send(ORDERS_COMMANDS, order_key(command.storefront_id, command.order_id), command, headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    await tap.wait_for(events.StockRestored, timeout=90)  # never confirmed: penalty, cancellation, stock back

    wanted = {
        ("orders", "orders order.place"),
        ("inventory", "inventory order.placed"),
        ("orders", "orders stock.reserved"),
        ("deadlines", "deadlines order.accepted"),
        ("deadlines", "deadlines fire ship_by"),
        ("orders", "orders penalty.late_shipment"),
        ("deadlines", "deadlines fire confirm_by"),
        ("orders", "orders order.cancellation_issued"),
        ("inventory", "inventory order.cancelled"),
    }

    async def traced() -> set[tuple[str, str]]:
        found = [s for name in ("inventory", "orders", "deadlines") for s in spans(tmp_path / f"{name}-spans.jsonl")]
        return {(str(s["service"]), str(s["name"])) for s in found if s["trace_id"] == trace_id}

    seen = await eventually(traced, lambda found: wanted <= found, timeout=30)
    assert {service for service, _ in seen} == {"inventory", "orders", "deadlines"}


# ------------------------------------------------------------------------- readiness follows


def readiness(service: ServiceProcess) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"{service.http}/health/ready", timeout=10) as answer:
            return answer.status, json.loads(answer.read())["checks"]
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())["checks"]


async def status(service: ServiceProcess) -> tuple[int, dict[str, str]]:
    return readiness(service)


async def test_readiness_turns_false_while_postgres_or_kafka_is_down_and_true_again_without_a_restart(tmp_path: Path) -> None:
    stack = PrivateStack(tmp_path / "stack", databases=("inventory",), servers=("kafka", "postgres"))
    stack.up()
    try:
        await ensure_topics(stack.kafka, prefix="ready.")
        [service] = service_processes(stack.kafka, "ready.", {"inventory": stack.url("inventory")}, tmp_path)
        async with running([service]):
            assert readiness(service)[0] == 200
            stack.crash("postgres")
            _, checks = await eventually(lambda: status(service), lambda s: s[0] == 503)
            assert checks["database"] != "ok" and checks["kafka"] == "ok"
            stack.up("postgres")
            await eventually(lambda: status(service), lambda s: s[0] == 200, timeout=60)
            stack.crash("kafka")
            _, checks = await eventually(lambda: status(service), lambda s: s[0] == 503)
            assert checks["kafka"] != "ok" and checks["database"] == "ok"
            stack.up("kafka")
            await eventually(lambda: status(service), lambda s: s[0] == 200, timeout=90)
            assert service.running()
    finally:
        stack.down()

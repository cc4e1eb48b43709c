"""Least privilege, proved on a secured stack.

Kafka on SASL_SSL with one SCRAM user per service and per outside client and exactly the grants the
topic registry gives them (shared/messaging/acls.py); PostgreSQL with one role per service that may
reach only its own database. The module starts that stack itself (scripts/stack.py with STACK_SECURE=1,
its own STACK_DIR, free ports or SECURED_KAFKA_PORT (+1 for the controller) / SECURED_PG_PORT) and the
three services as processes, each with its own credentials. An order placed with the storefront's
credentials goes end to end; writes outside a principal's grants and a service reaching another's
database are refused and change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

from devtools.launcher import ServiceProcess, free_port
from devtools.system import SHORT_INTERVALS, accelerated, clock_env, running
from shared.contracts import commands, events
from shared.contracts.codec import encode
from shared.contracts.envelope import Message
from shared.contracts.topics import (
    ALL_TOPICS,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    SERVICES,
    Topic,
    consumer_group,
    order_key,
)
from shared.messaging.acls import PRINCIPALS
from shared.messaging.admin import TopicsUnavailable, ensure_topics
from shared.messaging.security import aiokafka_options
from shared.settings import KafkaSecurity
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PLACED_AT = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
SELLER, LISTING, STOREFRONT, ORDER = "seller-lp", "jug-lp", "shop-lp", "order-lp"


@dataclass
class SecuredStack:
    settings: dict[str, str]  # the environment scripts/stack.py runs with
    _envs: dict[str, dict[str, str]] = field(default_factory=dict)

    def run(self, *args: str) -> str:
        done = subprocess.run([sys.executable, str(REPO / "scripts" / "stack.py"), *args], env={**os.environ, **self.settings},
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"stack.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}", pytrace=False)
        return done.stdout

    def env(self, principal: str = "") -> dict[str, str]:
        """`stack.py env [PRINCIPAL]`: the administrator's variables, or one principal's."""
        if principal not in self._envs:
            lines = self.run("env", *([principal] if principal else [])).splitlines()
            self._envs[principal] = dict(shlex.split(line)[1].split("=", 1) for line in lines)
        return self._envs[principal]


def credentials(env: dict[str, str]) -> KafkaSecurity:
    """The Kafka settings of the principal whose variables (`stack.py env PRINCIPAL`) `env` holds."""
    return KafkaSecurity(**{k.lower(): v for k, v in env.items() if k.startswith("KAFKA_") and k != "KAFKA_BOOTSTRAP_SERVERS"})


def security(env: dict[str, str]) -> dict[str, object]:
    """aiokafka options for that principal."""
    return {"bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"], **aiokafka_options(credentials(env))}


@pytest.fixture(scope="module")
def stack() -> Iterator[SecuredStack]:
    # Ports free now, unless given: fixed ones collided with other runs' servers and clients on a shared machine.
    given = os.environ.get("SECURED_KAFKA_PORT")
    kafka, controller = (int(given), int(given) + 1) if given else (free_port(), free_port())
    main_stack = Path(os.environ.get("STACK_DIR", REPO / ".stack"))
    settings = {
        "STACK_DIR": str(REPO / ".stack" / "secured"),
        "STACK_SECURE": "1",
        "KAFKA_PORT": str(kafka),
        "KAFKA_CONTROLLER_PORT": str(controller),
        "PG_PORT": os.environ.get("SECURED_PG_PORT") or str(free_port()),
        # The jars `make test` fetched for its own stack: no second download.
        "KAFKA_LIBS_DIR": os.environ.get("KAFKA_LIBS_DIR", str(main_stack / "kafka-libs")),
    }
    secured = SecuredStack(settings)
    secured.run("reset")  # a new CA, new users and passwords, empty databases: what a fresh machine gets
    try:
        secured.run("up")
        with ThreadPoolExecutor() as pool:  # every principal's variables, read once and side by side
            list(pool.map(secured.env, ["", *PRINCIPALS]))
        yield secured
    finally:
        secured.run("down")


@pytest.fixture(scope="module")
async def services(stack: SecuredStack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The three services, each with its own Kafka user and database role; none may create topics."""
    logs = tmp_path_factory.mktemp("secured-services")
    common = {**SHORT_INTERVALS, **clock_env(accelerated(PLACED_AT, 1.0))}
    processes = [ServiceProcess(name, {**stack.env(name), **common}, logs / f"{name}.log") for name in SERVICES]
    async with running(processes) as started:
        yield started


@contextlib.asynccontextmanager
async def producer(env: dict[str, str]) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(acks="all", enable_idempotence=True, **security(env))
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def read_topic(env: dict[str, str], topic: Topic) -> list[tuple[bytes | None, Message]]:
    """Everything on `topic` now, read with the principal's credentials (no consumer group), decoded."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **security(env))
    await consumer.start()
    try:
        partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = []
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            batches = await consumer.getmany(timeout_ms=500)
            records += [r for batch in batches.values() for r in batch]
        return [(r.key, topic.adapter().validate_json(r.value)) for r in records]
    finally:
        await consumer.stop()


async def consumed_everything(admin_env: dict[str, str], topic: Topic) -> None:
    """Wait until every service reading `topic` has committed past what is on it now."""
    admin = AIOKafkaAdminClient(**security(admin_env))
    probe = AIOKafkaConsumer(enable_auto_commit=False, **security(admin_env))
    await admin.start()
    await probe.start()
    try:
        ends = await probe.end_offsets([TopicPartition(topic.name, p) for p in range(topic.partitions)])
        for service in (s for s in topic.read_by if s in SERVICES):  # the ones this module runs

            async def committed(service: str = service) -> dict[TopicPartition, int]:
                offsets = await admin.list_consumer_group_offsets(consumer_group(service, topic))
                return {tp: meta.offset for tp, meta in offsets.items()}

            await eventually(committed, lambda done: all(done.get(tp, 0) >= end for tp, end in ends.items()), every=0.2)
    finally:
        await probe.stop()
        await admin.close()


@pytest.fixture(scope="module")
async def accepted(stack: SecuredStack, services: dict[str, ServiceProcess]) -> events.OrderAccepted:
    """A seller (through the gateway) lists a jug; a storefront orders two; the storefront reads the acceptance."""
    try:
        return await list_and_order(stack)
    except AssertionError as failure:  # what the services said is what explains a missing answer
        said = "\n".join(f"--- {name} ---\n{process.log()[-3000:]}" for name, process in services.items())
        raise AssertionError(f"{failure}\n{said}") from failure


async def list_and_order(stack: SecuredStack) -> events.OrderAccepted:
    gateway, storefront = stack.env("seller-gateway"), stack.env("storefront")
    create = commands.CreateListing(command_id=uuid.uuid4(), seller_id=SELLER, listing_id=LISTING, quantity=5, production_days=3)
    async with producer(gateway) as send:
        await send.send_and_wait(INVENTORY_COMMANDS.name, encode(create), key=LISTING.encode())
    # The gateway reads the answer to its command on inventory.events (its grants allow it).
    await eventually(lambda: read_topic(gateway, INVENTORY_EVENTS), lambda seen: any(
        isinstance(m, events.ListingCreated) and m.command_id == create.command_id for _, m in seen), every=0.3, timeout=60)

    place = commands.PlaceOrder(command_id=uuid.uuid4(), storefront_id=STOREFRONT, order_id=ORDER, seller_id=SELLER, placed_at=PLACED_AT,
                                lines=[commands.OrderLine(listing_id=LISTING, quantity=2)])
    async with producer(storefront) as send:
        await send.send_and_wait(ORDERS_COMMANDS.name, encode(place), key=order_key(STOREFRONT, ORDER).encode())
    seen = await eventually(lambda: read_topic(storefront, ORDERS_EVENTS), lambda seen: any(
        isinstance(m, events.OrderAccepted) and m.command_id == place.command_id for _, m in seen), every=0.3, timeout=60)
    [answer] = [m for _, m in seen if isinstance(m, events.OrderAccepted) and m.command_id == place.command_id]
    return answer


async def snapshot(stack: SecuredStack) -> dict[str, object]:
    """What the order's fate is made of: its stock, its status, its deadlines (read as the administrator)."""
    admin = stack.env()
    inventory, orders, deadlines = [await asyncpg.connect(admin[f"{s.upper()}_DATABASE_URL"]) for s in ("inventory", "orders", "deadlines")]
    try:
        return {
            "stock": await inventory.fetchval("select quantity from listings where listing_id = $1", LISTING),
            "status": await orders.fetchval("select status from orders where order_id = $1", ORDER),
            "deadlines": sorted(map(tuple, await deadlines.fetch(
                "select kind, due_at, status from deadlines where order_id = $1", ORDER))),
        }
    finally:
        for conn in (inventory, orders, deadlines):
            await conn.close()


def stored(state: dict[str, object]) -> bool:
    """The deadlines service has stored the order's ship-by and confirm-by timers."""
    return {"ship_by", "confirm_by"} <= {kind for kind, _, _ in state["deadlines"]}  # type: ignore[attr-defined]


async def test_an_order_placed_with_a_storefronts_credentials_is_accepted_and_its_deadlines_stored(
    stack: SecuredStack, accepted: events.OrderAccepted
) -> None:
    assert accepted.order_id == ORDER and accepted.ship_by_date.isoformat() == "2026-03-13"
    state = await eventually(lambda: snapshot(stack), stored)
    assert state["stock"] == 3 and state["status"] == "unshipped"
    assert {kind: status for kind, _, status in state["deadlines"]}.items() >= {"ship_by": "pending", "confirm_by": "pending"}.items()


async def test_a_storefront_writing_a_services_event_topic_is_refused_and_nothing_changes(
    stack: SecuredStack, accepted: events.OrderAccepted
) -> None:
    before = await eventually(lambda: snapshot(stack), stored)
    # A forged cancellation: were it written, inventory would restore the stock and deadlines void the timers.
    forged = events.OrderCancelled(storefront_id=STOREFRONT, order_id=ORDER, seller_id=SELLER, reason="forged by a storefront",
                                   lines=[commands.OrderLine(listing_id=LISTING, quantity=2)])
    async with producer(stack.env("storefront")) as send:
        with pytest.raises(TopicAuthorizationFailedError):
            await send.send_and_wait(ORDERS_EVENTS.name, encode(forged), key=order_key(STOREFRONT, ORDER).encode())

    on_topic = await read_topic(stack.env(), ORDERS_EVENTS)
    assert not [m for _, m in on_topic if isinstance(m, events.OrderCancelled)]
    await consumed_everything(stack.env(), ORDERS_EVENTS)  # inventory and deadlines have read all there is
    assert await snapshot(stack) == before


async def test_every_principal_sees_only_its_topics_may_write_only_its_own_and_may_create_none(stack: SecuredStack) -> None:
    refused: list[tuple[str, str]] = []
    for principal in PRINCIPALS:
        env = stack.env(principal)
        # Metadata lists only the topics a principal may Describe: those it may read or write.
        probe = AIOKafkaConsumer(enable_auto_commit=False, **security(env))
        await probe.start()
        try:
            mine = {t.name for t in ALL_TOPICS if principal in t.writers + t.read_by + t.outside_readers}
            assert await probe.topics() == mine, principal
        finally:
            await probe.stop()
        async with producer(env) as send:
            for topic in ALL_TOPICS:
                if principal in topic.writers:
                    continue
                with contextlib.suppress(TopicAuthorizationFailedError):
                    await send.send_and_wait(topic.name, b"not yours", key=b"forged")
                    continue
                refused.append((principal, topic.name))
        with pytest.raises(TopicsUnavailable, match="could not be created"):
            await ensure_topics(env["KAFKA_BOOTSTRAP_SERVERS"], prefix="forged.", topics=(ORDERS_EVENTS,), timeout=10,
                                security=credentials(env))
    expected = [(p, t.name) for p in PRINCIPALS for t in ALL_TOPICS if p not in t.writers]
    assert refused == expected


async def test_a_storefront_cannot_join_a_services_consumer_group(stack: SecuredStack, services: dict[str, ServiceProcess]) -> None:
    """Joining the orders service's group would take its partitions of orders.commands away from it."""
    thief = AIOKafkaConsumer(ORDERS_COMMANDS.name, group_id=consumer_group("orders", ORDERS_COMMANDS), enable_auto_commit=False,
                             **security(stack.env("storefront")))
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            await asyncio.wait_for(thief.start(), 30)  # joining the group is part of starting
    finally:
        await thief.stop()


async def test_a_service_role_cannot_reach_another_services_database(stack: SecuredStack, tmp_path: Path) -> None:
    admin = stack.env()
    inventory_role = stack.env("inventory")["DATABASE_URL"]
    orders_as_inventory = inventory_role.rsplit("/", 1)[0] + "/orders"

    async def orders_tables() -> list[str]:
        conn = await asyncpg.connect(admin["ORDERS_DATABASE_URL"])
        try:
            return [r[0] for r in await conn.fetch("select tablename from pg_tables where schemaname = 'public' order by 1")]
        finally:
            await conn.close()

    before = await orders_tables()
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match='permission denied for database "orders"'):
        await asyncpg.connect(orders_as_inventory)

    # The inventory service pointed at the orders database stops with one line and touches nothing.
    process = ServiceProcess("inventory", {**stack.env("inventory"), "DATABASE_URL": orders_as_inventory}, tmp_path / "inventory.log")
    process.start()
    assert process.process is not None
    code = await asyncio.to_thread(process.process.wait, 60)
    assert code != 0
    # Besides its JSON log events: one line saying why, and no traceback.
    said = [line for line in process.log().splitlines() if not line.startswith("{")]
    assert said == [
        f'inventory: cannot use database postgresql://inventory@127.0.0.1:{stack.settings["PG_PORT"]}/orders: '
        'permission denied for database "orders"'
    ]
    assert await orders_tables() == before


@pytest.mark.parametrize(
    ("args", "settings", "says"),
    [
        (["env", "mallory"], {}, f"stack: error: no principal 'mallory': one of admin, {', '.join(PRINCIPALS)}"),
        (["env", "inventory"], {"STACK_SECURE": "0"}, "stack: error: `env inventory` is for a secured stack: set STACK_SECURE=1"),
        (["env"], {"STACK_SECURE": "maybe"}, "stack: error: STACK_SECURE must be 1 or 0 (true/false, yes/no), not 'maybe'"),
        (["up"], {"STACK_SECURE": "0"}, "holds a secured stack and STACK_SECURE asks for a plaintext one"),
    ],
    ids=["unknown principal", "principal of a plaintext stack", "not a flag", "secured directory started plaintext"],
)
def test_bad_input_to_the_stack_script_gets_one_line_and_a_non_zero_exit(
    stack: SecuredStack, args: list[str], settings: dict[str, str], says: str
) -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "stack.py"), *args], env={**os.environ, **stack.settings, **settings},
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1 and says in done.stderr

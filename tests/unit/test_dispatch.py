"""Dispatch by table: every message type on every topic a service reads is handled or ignored on
purpose, the tables agree with the topic registry, and a service whose wiring disagrees refuses to
start with one line."""

from __future__ import annotations

import dataclasses

import pytest

from services.deadlines.app import build as deadlines
from services.inventory.app import build as inventory
from services.orders.app import build as orders
from shared.contracts import commands, events
from shared.contracts.topics import INVENTORY_COMMANDS, SERVICES, topics_read_by
from shared.messaging.dispatch import Routes, on, wiring_problems
from shared.runtime import Service, WiringError

pytestmark = pytest.mark.unit

BUILDS = {"inventory": inventory, "orders": orders, "deadlines": deadlines}


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_handles_or_ignores_every_type_on_every_topic_it_reads(name: str) -> None:
    service = BUILDS[name]()
    assert wiring_problems(name, service.routes) == []
    assert {r.topic.name for r in service.routes} == {t.name for t in topics_read_by(name)}
    for routes in service.routes:
        assert set(routes.handlers) | routes.ignored == set(routes.topic.messages)


def test_a_type_neither_handled_nor_ignored_is_named() -> None:
    partial = Routes(INVENTORY_COMMANDS, dict([on(commands.CreateListing, lambda work, message: None)]))
    assert partial.problems() == ["listing.update on inventory.commands is neither handled nor ignored"]


def test_a_type_from_another_topic_or_handled_and_ignored_is_named() -> None:
    create = lambda work, message: None  # noqa: E731
    table = Routes(
        INVENTORY_COMMANDS,
        dict([on(commands.CreateListing, create), on(commands.UpdateListing, create), on(events.OrderPlaced, create)]),
        ignored=frozenset({commands.CreateListing}),
    )
    assert sorted(table.problems()) == ["CreateListing is both handled and ignored", "OrderPlaced is not on inventory.commands"]


def test_a_service_whose_tables_disagree_with_the_registry_refuses_to_start() -> None:
    service: Service = inventory()
    missing_a_topic = dataclasses.replace(service, routes=service.routes[:1])
    with pytest.raises(WiringError, match=r"the registry says inventory reads orders\.events, but nothing handles it"):
        missing_a_topic.app()
    foreign = dataclasses.replace(service, name="deadlines")
    with pytest.raises(WiringError, match=r"deadlines handles inventory\.commands, which the registry does not say it reads"):
        foreign.app()

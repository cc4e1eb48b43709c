"""S5 end to end: the orders service checks a confirmation's tracking id against its carrier's published
formats; an invalid one does not block the confirmation, it is marked on the event and on the order."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from devtools.actors import Marketplace
from devtools.kafka_io import Publisher, Tap
from devtools.launcher import ServiceProcess
from devtools.system import accelerated
from shared.contracts import events
from shared.contracts.state import OrderStateRecord

pytestmark = pytest.mark.e2e


async def test_S5_an_invalid_tracking_id_is_accepted_and_marked_a_valid_one_is_marked_valid(
    services: dict[str, ServiceProcess], publisher: Publisher, tap: Tap, service_databases: dict[str, str]
) -> None:
    market = Marketplace(publisher, tap, clock=accelerated(datetime.now(UTC), 1))
    await market.create_listing("maker", "cup", quantity=5, production_days=3)
    for order_id in ("valid", "invalid"):
        assert isinstance(await market.place(order_id, "maker", [("cup", 1)]), events.OrderAccepted)
    ups = market.confirm_command("valid", "maker").model_copy(update={"carrier": "UPS", "tracking_id": "1Z999AA10123456784"})
    wrong_check_digit = market.confirm_command("invalid", "maker").model_copy(update={"carrier": "UPS", "tracking_id": "1Z999AA10123456785"})
    for command in (ups, wrong_check_digit):
        await market.send(command)
    answers = {a.order_id: a for a in [await market.answer(ups), await market.answer(wrong_check_digit)]}
    assert all(isinstance(a, events.ShipmentConfirmed) for a in answers.values())
    assert answers["valid"].tracking_valid is True and answers["invalid"].tracking_valid is False  # type: ignore[union-attr]
    states = await tap.wait_for(OrderStateRecord, lambda s: s.status == "shipped", count=2)
    assert {s.order_id: s.shipment.tracking_valid for s in states if s.shipment} == {"valid": True, "invalid": False}
    conn = await asyncpg.connect(service_databases["orders"])
    try:
        assert dict(await conn.fetch("select order_id, tracking_valid from orders")) == {"valid": True, "invalid": False}
    finally:
        await conn.close()

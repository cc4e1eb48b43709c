"""Sellers and storefronts as tests and harnesses play them: send a command, wait for its one answer (M5)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from devtools.kafka_io import Publisher, Tap
from shared.clock import Clock
from shared.contracts import commands
from shared.contracts.envelope import Command, Message
from shared.contracts.topics import ANSWER_TYPES, INVENTORY_COMMANDS, ORDERS_COMMANDS, order_key

UTC_ZONE = ZoneInfo("UTC")


class Marketplace:
    def __init__(self, publisher: Publisher, tap: Tap, clock: Clock, zone: ZoneInfo = UTC_ZONE, storefront: str = "shop-1") -> None:
        self.publisher = publisher
        self.tap = tap
        self.clock = clock
        self.zone = zone  # the marketplace's: "today" for a ship date is a date there (T1)
        self.storefront = storefront

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    async def answer(self, command: Command, timeout: float = 60.0) -> Message:
        [found] = await self.tap.wait_for(ANSWER_TYPES, lambda m: m.command_id == command.command_id, timeout=timeout)  # type: ignore[arg-type]
        return found

    async def create_listing(self, seller: str, listing: str, quantity: int, production_days: int) -> Message:
        command = commands.CreateListing(
            command_id=uuid.uuid4(), seller_id=seller, listing_id=listing, quantity=quantity, production_days=production_days
        )
        await self.publisher.send(INVENTORY_COMMANDS, listing, command)
        return await self.answer(command)

    async def update_listing(self, seller: str, listing: str, *, quantity: int | None = None, production_days: int | None = None) -> Message:
        command = commands.UpdateListing(
            command_id=uuid.uuid4(), seller_id=seller, listing_id=listing, quantity=quantity, production_days=production_days
        )
        await self.publisher.send(INVENTORY_COMMANDS, listing, command)
        return await self.answer(command)

    def place_command(self, order_id: str, seller: str, lines: list[tuple[str, int]], placed_at: datetime | None = None) -> commands.PlaceOrder:
        """An order placed now on the clock, or at `placed_at` (a storefront sends the placement instant)."""
        return commands.PlaceOrder(
            command_id=uuid.uuid4(),
            storefront_id=self.storefront,
            order_id=order_id,
            seller_id=seller,
            placed_at=placed_at or self.clock.now(),
            lines=[commands.OrderLine(listing_id=listing, quantity=qty) for listing, qty in lines],
        )

    async def send(self, command: commands.PlaceOrder | commands.ConfirmShipment) -> None:
        await self.publisher.send(ORDERS_COMMANDS, order_key(command.storefront_id, command.order_id), command)

    async def place(self, order_id: str, seller: str, lines: list[tuple[str, int]]) -> Message:
        command = self.place_command(order_id, seller, lines)
        await self.send(command)
        return await self.answer(command)

    def confirm_command(self, order_id: str, seller: str, ship_date: date | None = None) -> commands.ConfirmShipment:
        return commands.ConfirmShipment(
            command_id=uuid.uuid4(),
            storefront_id=self.storefront,
            order_id=order_id,
            seller_id=seller,
            ship_date=ship_date or self.today(),
            shipping_method="standard",
            carrier="Canada Post",
            tracking_id=f"TRK-{order_id}",
            memo="gift wrapped",
        )

    async def confirm(self, order_id: str, seller: str, ship_date: date | None = None) -> Message:
        command = self.confirm_command(order_id, seller, ship_date)
        await self.send(command)
        return await self.answer(command)

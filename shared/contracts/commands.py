"""Commands sent from outside: sellers manage listings and confirm shipments, storefronts place orders."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .envelope import PARTS, Command
from .fields import CalendarDate, EntityId, Text, UtcInstant, integer

Quantity = integer(0, 100_000)  # R1
ProductionDays = integer(1, 30)  # R1
ShortText = Annotated[Text, Field(min_length=1, max_length=100)]


class OrderLine(BaseModel):
    model_config = ConfigDict(PARTS, extra="forbid")

    listing_id: EntityId
    quantity: integer(1, 100_000)


class CreateListing(Command):
    """A seller lists a product: units it can make within the production time (R1, R2)."""

    type: Literal["listing.create"] = "listing.create"
    seller_id: EntityId
    listing_id: EntityId
    quantity: Quantity
    production_days: ProductionDays


class UpdateListing(Command):
    """A seller changes quantity and/or production time; edits apply forward (R4). At least one of
    them is set (a null field is left as it is)."""

    # What `_changes_something` refuses, so JSON Schema validators agree with the service.
    schema_rules: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"required": ["quantity"], "properties": {"quantity": {"type": "integer"}}},
            {"required": ["production_days"], "properties": {"production_days": {"type": "integer"}}},
        ]
    }

    type: Literal["listing.update"] = "listing.update"
    seller_id: EntityId
    listing_id: EntityId
    quantity: Quantity | None = None
    production_days: ProductionDays | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateListing:
        if self.quantity is None and self.production_days is None:
            raise ValueError("an update must set quantity, production_days or both")
        return self


class PlaceOrder(Command):
    """A storefront places an order for one seller's listings (R5)."""

    type: Literal["order.place"] = "order.place"
    storefront_id: EntityId
    order_id: EntityId  # unique per storefront
    seller_id: EntityId
    placed_at: UtcInstant
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]


class ConfirmShipment(Command):
    """A seller confirms it shipped an accepted order (R8)."""

    type: Literal["shipment.confirm"] = "shipment.confirm"
    storefront_id: EntityId
    order_id: EntityId
    seller_id: EntityId
    ship_date: CalendarDate
    shipping_method: ShortText
    carrier: ShortText
    tracking_id: ShortText
    memo: Annotated[Text, Field(max_length=1000)] | None = None

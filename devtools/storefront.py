"""A simulated marketplace outside the services: sellers with listings, storefronts placing orders.

Seeded, so a run can be repeated; ids are short, as it runs on topics of its own. Some orders are meant
to fail (out of stock, a listing the seller does not sell) so that every answer the system gives shows up.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime

from shared.contracts.commands import CreateListing, OrderLine, PlaceOrder

PRODUCTS = ("mug", "vase", "scarf", "bowl", "quilt", "candle", "necklace", "basket", "print", "soap")


@dataclass(frozen=True)
class CatalogueListing:
    listing_id: str
    seller_id: str


class SimulatedStorefront:
    """The demo's storefront and its sellers: a seeded catalogue of listings, then seeded orders for it."""

    def __init__(self, *, seed: int, sellers: int = 3, listings_per_seller: int = 4, storefront: str = "shop-1") -> None:
        self._random = random.Random(seed)
        self.storefront = storefront
        self.sellers = [f"seller-{chr(ord('a') + i)}" for i in range(sellers)]
        self.listings: list[CatalogueListing] = []
        self._listings_per_seller = listings_per_seller
        self._orders = 0

    def create_listings(self) -> list[CreateListing]:
        commands = []
        for seller in self.sellers:
            for product in self._random.sample(PRODUCTS, self._listings_per_seller):
                listing = CatalogueListing(f"{product}-{seller.split('-')[1]}", seller)
                self.listings.append(listing)
                commands.append(
                    CreateListing(
                        command_id=uuid.uuid4(),
                        seller_id=seller,
                        listing_id=listing.listing_id,
                        # A few listings start out of stock (R2).
                        quantity=0 if self._random.random() < 0.05 else self._random.randint(5, 40),
                        # Under 30 days: a seller's late shipment then still lands before the cancellation (R13).
                        production_days=self._random.choice((1, 2, 3, 5, 7, 14)),
                    )
                )
        return commands

    def next_order(self, placed_at: datetime) -> PlaceOrder:
        self._orders += 1
        seller = self._random.choice(self.sellers)
        own = [item for item in self.listings if item.seller_id == seller]
        chosen = self._random.sample(own, self._random.randint(1, min(2, len(own))))
        lines = [OrderLine(listing_id=item.listing_id, quantity=self._random.randint(1, 3)) for item in chosen]
        if self._random.random() < 0.05:  # a storefront bug: a listing of another seller (R5, R6)
            stranger = self._random.choice([item for item in self.listings if item.seller_id != seller])
            lines.append(OrderLine(listing_id=stranger.listing_id, quantity=1))
        return PlaceOrder(
            command_id=uuid.uuid4(),
            storefront_id=self.storefront,
            order_id=f"o{self._orders:05d}",
            seller_id=seller,
            placed_at=placed_at,
            lines=lines,
        )

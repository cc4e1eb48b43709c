"""The messages a storefront expects, as Pact message interactions: shared by the consumer tests that
write the pact files and the provider tests that verify the services' message builders against them."""

from __future__ import annotations

from pathlib import Path

PACTS = Path(__file__).with_name("pacts")
CONSUMER = "storefront-js"

ACCEPTED = "an order.accepted answer to an order.place whose lines are in stock"
REJECTED = "an order.rejected answer to an order.place with an out-of-stock line"
REFUSED = "a command.rejected answer to an order.place the orders service cannot read"
IN_STOCK = "a listing.state record of a listing in stock"
SOLD_OUT = "a listing.state record of a listing that is out of stock"

# Which service publishes each expected message.
PROVIDERS = {"orders": (ACCEPTED, REJECTED, REFUSED), "inventory": (IN_STOCK, SOLD_OUT)}


def pact_file(provider: str) -> Path:
    return PACTS / f"{CONSUMER}-{provider}.json"

"""S1, S2 as consumer-driven contracts (Pact message pacts, pact-python): what the Node.js storefront
needs from the answers to its orders and from listing state records. Each expected message is handed
to the storefront's own reading code (storefront-js/src/messages.js, through bin/read-message.js),
and the expectations are written to tests/contract/pacts/, which test_pact_provider_services.py
verifies against the services' real message builders."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pact import Pact, match

from tests.contract.pact_messages import ACCEPTED, CONSUMER, IN_STOCK, PACTS, REFUSED, REJECTED, SOLD_OUT

pytestmark = pytest.mark.unit

STOREFRONT = Path(__file__).resolve().parents[2] / "storefront-js"
ORDER_KEY = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}/[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
COMMAND_ID = "3f1e6c7a-1111-4222-8333-444455556666"


class Storefront:
    """The storefront's own reading code (storefront-js/bin/read-message.js), one process for the module."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (STOREFRONT / "node_modules").is_dir():
            pytest.fail("the storefront needs node and its packages: `make test` runs npm ci in storefront-js/", pytrace=False)
        self.process = subprocess.Popen(
            [node, "bin/read-message.js"], cwd=STOREFRONT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def reads(self, body: str | bytes | None, metadata: dict[str, object]) -> None:
        """The consumer handler: the storefront reads the message, or the test fails with its words."""
        assert self.process.stdin is not None and self.process.stdout is not None
        text = body.decode() if isinstance(body, bytes) else body or ""
        self.process.stdin.write(json.dumps(json.loads(text)) + "\n")
        self.process.stdin.flush()
        result = json.loads(self.process.stdout.readline())
        assert result["ok"], result["error"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def storefront() -> Iterator[Storefront]:
    reader = Storefront()
    yield reader
    reader.close()


def order_answer(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "command_id": match.uuid(COMMAND_ID),
        "command_type": "order.place",
        "storefront_id": match.str("shop-js"),
        "order_id": match.str("o1"),
        "seller_id": match.str("seller-1"),
        **fields,
    }


def answers_pact() -> Pact:
    pact = Pact(CONSUMER, "orders").with_specification("V4")
    metadata = {"kafka_topic": "orders.events", "key": match.regex("shop-js/o1", regex=ORDER_KEY)}
    (
        pact.upon_receiving(ACCEPTED, "Async")
        .given("listings with enough units")
        .with_body(
            order_answer(
                "order.accepted",
                order_date=match.date("2026-11-26"),
                ship_by_date=match.date("2026-12-01"),
                confirm_by_date=match.date("2026-12-26"),
            ),
            "application/json",
        )
        .with_metadata(metadata)
    )
    failed_line = {"listing_id": match.str("soap-1"), "reason": "out_of_stock", "message": match.str("listing soap-1 is out of stock")}
    (
        pact.upon_receiving(REJECTED, "Async")
        .given("a listing with quantity 0")
        .with_body(
            order_answer(
                "order.rejected",
                reason="out_of_stock",
                rule="R2",
                listing_id=match.str("soap-1"),
                message=match.str("listing soap-1 is out of stock"),
                failed_lines=match.each_like(failed_line, min=1),
            ),
            "application/json",
        )
        .with_metadata(metadata)
    )
    (
        pact.upon_receiving(REFUSED, "Async")
        .given("an order.place with a line of quantity 0")
        .with_body(
            order_answer("command.rejected", reason="invalid", rule="M3", message=match.str("invalid: lines.0.quantity: ...")),
            "application/json",
        )
        .with_metadata(metadata)
    )
    return pact


def listings_pact() -> Pact:
    pact = Pact(CONSUMER, "inventory").with_specification("V4")
    metadata = {"kafka_topic": "inventory.listings", "key": match.str("scarf-1")}
    for description, quantity, out_of_stock in ((IN_STOCK, match.int(4, min=1), False), (SOLD_OUT, 0, True)):
        (
            pact.upon_receiving(description, "Async")
            .given("a listing")
            .with_body(
                {
                    "type": "listing.state",
                    "listing_id": match.str("scarf-1"),
                    "seller_id": match.str("seller-1"),
                    "quantity": quantity,
                    "out_of_stock": out_of_stock,
                    "production_days": match.int(5),
                    "version": match.int(2),
                },
                "application/json",
            )
            .with_metadata(metadata)
        )
    return pact


@pytest.mark.parametrize("build", [answers_pact, listings_pact], ids=["answers", "listing state"])
def test_S2_the_storefront_reads_the_messages_it_expects_and_writes_its_pact(build: Any, storefront: Storefront) -> None:
    pact = build()
    pact.verify(storefront.reads, "Async")
    pact.write_file(PACTS, overwrite=True)
    written = json.loads((PACTS / f"{pact.consumer}-{pact.provider}.json").read_text())
    assert len(written["interactions"]) == len(list(pact.interactions("Async")))


def test_the_storefront_refuses_an_answer_without_its_command_type(storefront: Storefront) -> None:
    """The consumer test can fail: an answer lacking a field the storefront needs is refused."""
    body = json.dumps({"type": "order.accepted", "command_id": COMMAND_ID, "order_id": "o1", "order_date": "2026-11-26"})
    with pytest.raises(AssertionError, match="command_type"):
        storefront.reads(body, {})

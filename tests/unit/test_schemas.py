"""M1: the committed JSON Schemas and AsyncAPI document are generated from the models, have not
drifted, and change only compatibly within a schema version."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.contracts import compat
from shared.contracts.fields import ORDER_KEY_PATTERN
from shared.contracts.generate import check, expected_files, messages, schema_file
from shared.contracts.published import ASYNCAPI, SCHEMAS, load_asyncapi
from shared.contracts.topics import ALL_TOPICS, ANSWER_TYPES, ANSWERS

ORDERS_OR_INVENTORY = {"listing.create": "inventory.commands", "listing.update": "inventory.commands", "order.place": "orders.commands", "shipment.confirm": "orders.commands"}

pytestmark = pytest.mark.unit


def test_M1_committed_schemas_match_the_models() -> None:
    assert check(expected_files()) == [], "run `make schemas` and commit the result"


def test_M1_every_message_has_a_published_schema_with_its_envelope() -> None:
    for message in messages():
        schema = json.loads(schema_file(message).read_text())
        assert {"event_id", "type", "schema_version", "occurred_at"} <= set(schema["properties"])
        assert schema["properties"]["type"]["const"] == message.model_fields["type"].default


def sample() -> dict:  # type: ignore[type-arg]
    return json.loads((SCHEMAS / "order.place.v1.json").read_text())


def test_adding_an_optional_field_is_compatible() -> None:
    new = sample()
    new["properties"]["gift_note"] = {"type": "string"}
    assert compat.problems(sample(), new) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["properties"].pop("seller_id"),
        lambda s: s["required"].append("occurred_at"),
        lambda s: s["properties"]["placed_at"].update(format="date"),
        lambda s: s["$defs"]["OrderLine"]["properties"]["quantity"].update(maximum=10),
    ],
    ids=["removed", "newly required", "type changed", "nested constraint changed"],
)
def test_breaking_changes_are_caught(change) -> None:  # type: ignore[no-untyped-def]
    new = copy.deepcopy(sample())
    change(new)
    assert compat.problems(sample(), new) != []


def test_the_architecture_page_lists_every_topic_and_message() -> None:

    page = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    for topic in ALL_TOPICS:
        assert f"`{topic.name}`" in page, f"docs/architecture.md does not list {topic.name}"
        for message in topic.messages:
            assert f"`{message.model_fields['type'].default}`" in page, f"docs/architecture.md lacks {message.__name__}"


def test_S2_every_command_operation_replies_on_its_answer_topic_with_its_answer_types() -> None:
    document = load_asyncapi()
    for answers in ANSWERS:
        command = answers.command.model_fields["type"].default
        operation = document["operations"][f"receive.{command}"]
        assert operation["channel"] == {"$ref": f"#/channels/{ORDERS_OR_INVENTORY[command]}"}
        assert operation["reply"]["channel"] == {"$ref": f"#/channels/{answers.topic.name}"}
        replied = [ref["$ref"].rsplit("/", 1)[1] for ref in operation["reply"]["messages"]]
        assert replied == [m.model_fields["type"].default for m in answers.messages]


def test_S2_every_answer_carries_the_command_id_and_the_command_type() -> None:
    for message in ANSWER_TYPES:
        schema = json.loads(schema_file(message).read_text())
        assert "command_id" in schema["required"], message.__name__
        assert "command_type" in schema["properties"], message.__name__


def test_M4_every_message_names_its_key_and_keys_of_one_order_share_a_pattern() -> None:
    document = load_asyncapi()
    for topic in ALL_TOPICS:
        for message in topic.messages:
            channel_message = document["channels"][topic.name]["messages"][message.model_fields["type"].default]
            entry = document["components"]["messages"][channel_message["$ref"].rsplit("/", 1)[1]]
            key = entry["bindings"]["kafka"]["key"]
            assert key["description"] == topic.key_of(message).description
            if "storefront_id" in message.model_fields and "order_id" in message.model_fields and message.model_fields["order_id"].is_required():
                assert key["pattern"] == ORDER_KEY_PATTERN, (topic.name, message.__name__)


def test_M1_every_schema_declares_its_dialect() -> None:
    for message in messages():
        assert json.loads(schema_file(message).read_text())["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_package_and_docs_carry_the_same_asyncapi_document() -> None:
    assert ASYNCAPI.read_text() == (Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json").read_text()


def _published_before_corrections() -> dict:  # type: ignore[type-arg]
    """order.place v1 as first published: no dialect, `type` optional, plain UUIDs and instants."""
    old = copy.deepcopy(sample())
    old.pop("$schema")
    old["required"].remove("type")
    for name in ("event_id", "command_id"):
        old["properties"][name].pop("pattern")
    for name in ("occurred_at", "placed_at"):
        old["properties"][name].pop("pattern")
    return old


def test_the_reviewed_corrections_of_a_published_schema_are_compatible() -> None:
    assert compat.problems(_published_before_corrections(), sample()) == []


def test_a_correction_is_allowed_only_for_the_schemas_it_was_reviewed_for() -> None:
    reviewed = json.loads(compat.REVIEWED.read_text())
    reviewed["schemas"].remove("order.place.v1")
    assert compat.problems(_published_before_corrections(), sample(), reviewed) != []


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(anyOf=[{"required": ["seller_id"]}]),
        lambda s: s["properties"]["command_id"].update(pattern="^[0-9a-f-]{36}$"),
        lambda s: s["properties"]["placed_at"].update(pattern="^.*Z$"),
    ],
    ids=["a rule across fields", "another uuid pattern", "another instant pattern"],
)
def test_a_tightening_nobody_reviewed_is_caught(change) -> None:  # type: ignore[no-untyped-def]
    new = copy.deepcopy(sample())
    change(new)
    assert compat.problems(sample(), new) != []

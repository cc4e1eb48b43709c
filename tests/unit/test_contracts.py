"""M1, T1: every message carries the envelope, instants are aware UTC, bad bytes fail as DecodeError only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.contracts import commands, events
from shared.contracts.codec import DecodeError, decode, encode
from shared.contracts.envelope import derived_id
from shared.contracts.topics import ALL_TOPICS, ORDERS_COMMANDS, ORDERS_EVENTS, order_key

pytestmark = pytest.mark.unit


def place(**changes: object) -> commands.PlaceOrder:
    fields: dict[str, object] = {
        "command_id": uuid.uuid4(),
        "storefront_id": "shop",
        "order_id": "o-1",
        "seller_id": "s1",
        "placed_at": datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=2))),
        "lines": [{"listing_id": "l1", "quantity": 1}],
    }
    fields.update(changes)
    return commands.PlaceOrder.model_validate(fields)


def test_M1_every_message_on_every_topic_has_the_envelope_fields() -> None:
    for topic in ALL_TOPICS:
        for message in topic.messages:
            for field in ("event_id", "type", "schema_version", "occurred_at"):
                assert field in message.model_fields, f"{message.__name__} lacks {field}"


def test_M1_correlation_names_the_ids_a_message_carries() -> None:
    command = place()
    ids = command.correlation()
    assert ids["order_id"] == "o-1" and ids["storefront_id"] == "shop" and ids["seller_id"] == "s1"
    assert ids["command_id"] == command.command_id and ids["message_type"] == "order.place"
    assert "listing_id" not in ids  # not a field of PlaceOrder


def test_T1_instants_are_normalised_to_utc_and_survive_the_wire() -> None:
    command = place()
    assert command.placed_at == datetime(2026, 1, 1, 7, tzinfo=UTC)
    assert command.placed_at.utcoffset() == timedelta(0)
    assert decode(ORDERS_COMMANDS, encode(command)) == command


def test_T1_an_instant_without_an_offset_is_invalid() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        place(placed_at=datetime(2026, 1, 1, 9))


@pytest.mark.parametrize("count", [0, 51])
def test_R5_an_order_has_1_to_50_lines(count: int) -> None:
    with pytest.raises(ValidationError):
        place(lines=[{"listing_id": f"l{i}", "quantity": 1} for i in range(count)])


def test_commands_from_outside_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        place(quantitiy=3)


def test_M4_every_order_message_is_keyed_by_storefront_and_order() -> None:
    assert order_key("shop", "o-1") == "shop/o-1"
    assert [t.name for t in ALL_TOPICS if events.OrderAccepted in t.messages] == [ORDERS_EVENTS.name]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"\xff\x00garbage", "undecodable"),
        (b'{"type": "order.place"', "undecodable"),
        (b"[1, 2]", "invalid"),
        (b'{"type": "order.explode"}', "unknown_message_type"),
        (b'{"type": "order.place", "command_id": "not-a-uuid"}', "invalid"),
    ],
)
def test_M3_bad_bytes_are_classified(raw: bytes, kind: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(ORDERS_COMMANDS, raw)
    assert caught.value.kind == kind


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_M3_decoding_arbitrary_bytes_raises_nothing_but_decode_error(raw: bytes) -> None:
    for topic in ALL_TOPICS:
        try:
            decode(topic, raw)
        except DecodeError:
            pass


def test_new_ids_are_random_version_4_uuids_never_repeated() -> None:
    from shared.contracts.envelope import new_id

    ids = [new_id() for _ in range(5_000)]  # many refills of the entropy read ahead
    assert len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}
    assert len({i.int >> 96 for i in ids}) > 4_900  # the leading bits vary: not a counter


def test_a_message_gets_a_fresh_id_each_time() -> None:
    first, second = (events.OrdersWatermark(partition=0, as_of=datetime(2026, 6, 1, tzinfo=UTC)) for _ in range(2))
    assert first.event_id != second.event_id and first.event_id.version == 4


@given(name=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_a_derived_id_is_uuid5_of_its_name(name: str) -> None:
    """Event ids that must come out the same on every publication (fired timers, dead letters)."""
    assert derived_id(name) == uuid.uuid5(uuid.NAMESPACE_URL, name)

"""The operator CLI's pure parts: what operators type (durations, order keys, dead-letter references,
replay edits), how a replay is built and validated before anything is sent, and the figures status
and timers derive (lag, due and overdue). The commands themselves: tests/e2e/test_ops_cli.py."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest

from ops.deadletters import Letter, find, readable, select
from ops.errors import OpsError, UsageError
from ops.kafka import partition_of
from ops.output import relative, span
from ops.parsing import LetterRef, apply_edits, parse_duration, parse_letter_ref, parse_order_key, parse_set, parse_unset
from ops.replay import Correction, build
from ops.status import partition_lag
from ops.timeline import describe
from ops.timers import Moments
from shared.clock import ScaledClock
from shared.contracts import commands, events
from shared.contracts.reasons import RejectionReason

pytestmark = pytest.mark.unit

PREFIX = "run-1."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w", timedelta(weeks=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5h", timedelta(minutes=90)),
        ("45", timedelta(seconds=45)),
        ("0", timedelta(0)),
        ("PT2H", timedelta(hours=2)),
        ("p1d", timedelta(days=1)),
    ],
)
def test_durations_in_short_units_seconds_or_iso_8601(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["soon", "", "-1m", "2x", "h", "1h-", "PT-1H", "P"])
def test_a_bad_duration_is_one_usage_line_naming_the_option(text: str) -> None:
    with pytest.raises(UsageError, match=r"--due-within: .* is not a duration") as raised:
        parse_duration(text, "--due-within")
    assert raised.value.exit_code == 2


def test_order_keys_are_storefront_slash_order_with_contract_ids() -> None:
    key = parse_order_key("shop-1/o00001")
    assert (key.storefront_id, key.order_id, str(key)) == ("shop-1", "o00001", "shop-1/o00001")
    for bad, says in [("nobody", "STOREFRONT/ORDER"), ("a/b/c", "STOREFRONT/ORDER"), ("shop 1/o1", "storefront id"), ("shop-1/", "order id"), ("/o1", "storefront id")]:
        with pytest.raises(UsageError, match=says):
            parse_order_key(bad)


def test_dead_letters_are_named_by_an_id_prefix_or_a_position() -> None:
    assert parse_letter_ref("0:17") == LetterRef(partition=0, offset=17)
    assert parse_letter_ref("3F2A9C1E") == LetterRef(id_prefix="3f2a9c1e")
    full = str(uuid.uuid4())
    assert parse_letter_ref(full) == LetterRef(id_prefix=full)
    for bad in ("abc", "what?", "1:", "0:x", "zzzz"):
        with pytest.raises(UsageError, match="PARTITION:OFFSET"):
            parse_letter_ref(bad)


def test_set_reads_json_values_and_falls_back_to_text() -> None:
    assert parse_set("lines.0.quantity=2").path == ("lines", 0, "quantity")
    assert parse_set("lines.0.quantity=2").value == 2
    assert parse_set("memo=null").value is None
    assert parse_set('tracking_id="007"').value == "007"
    assert parse_set("carrier=Canada Post").value == "Canada Post"
    assert parse_set("note=a=b").value == "a=b"
    for bad in ("quantity", "=1", "lines..quantity=1", ".x=1"):
        with pytest.raises(UsageError):
            parse_set(bad)


def test_edits_apply_in_order_to_a_copy_and_name_the_field_they_cannot_reach() -> None:
    original = {"lines": [{"listing_id": "a", "quantity": 0}], "memo": "x"}
    edited = apply_edits(original, [parse_set("lines.0.quantity=2"), parse_set("lines.1={\"listing_id\": \"b\", \"quantity\": 1}"), parse_unset("memo")])
    assert edited == {"lines": [{"listing_id": "a", "quantity": 2}, {"listing_id": "b", "quantity": 1}]}
    assert original["lines"][0]["quantity"] == 0 and "memo" in original  # untouched
    for edit, says in [
        (parse_set("lines.5.quantity=1"), "lines.5"),
        (parse_set("lines.3=1"), "lines has 1 items"),
        (parse_unset("colour"), "no field colour"),
        (parse_set("memo.text=1"), "memo is not an object"),
        (parse_unset("lines.1"), "lines has 1 items"),
    ]:
        with pytest.raises(UsageError, match=says):
            apply_edits(original, [edit])


# ------------------------------------------------------------------------------------ replay


def letter_for(value: bytes, *, source: str = PREFIX + "orders.commands", key: bytes | None = b"shop-1/o1", offset: int = 7) -> Letter:
    body = events.DeadLetter(
        service="orders",
        source_topic=source,
        partition=2,
        offset=offset,
        key_base64=base64.b64encode(key).decode() if key is not None else None,
        value_base64=base64.b64encode(value).decode(),
        error_kind="invalid",
        error="lines.0.quantity: Input should be greater than or equal to 1",
    )
    return Letter(0, offset, body)


def place_order(quantity: int = 0) -> dict[str, object]:
    command = commands.PlaceOrder(
        command_id=uuid.uuid4(),
        storefront_id="shop-1",
        order_id="o1",
        seller_id="s1",
        placed_at=datetime(2026, 5, 4, 12, tzinfo=UTC),
        lines=[commands.OrderLine(listing_id="mug-1", quantity=1)],
    )
    payload = command.model_dump(mode="json")
    payload["lines"][0]["quantity"] = quantity  # type: ignore[index]
    return payload


def test_a_replay_as_it_was_sends_the_very_bytes_to_the_original_partition_and_key() -> None:
    raw = orjson.dumps(place_order())
    replay = build(letter_for(raw), PREFIX, Correction())
    assert (replay.full_topic, replay.partition, replay.key, replay.value) == (PREFIX + "orders.commands", 2, b"shop-1/o1", raw)
    assert replay.headers["message_type"] == "order.place" and replay.headers["replay_of"] == replay.letter.id
    assert not replay.corrected and not replay.as_new
    garbage = build(letter_for(b"\xff not json"), PREFIX, Correction())
    assert garbage.value == b"\xff not json" and "message_type" not in garbage.headers and garbage.event_id is None


def test_a_correction_is_validated_against_the_contract_before_anything_is_sent() -> None:
    letter = letter_for(orjson.dumps(place_order()))
    corrected = build(letter, PREFIX, Correction((parse_set("lines.0.quantity=2"),)))
    assert orjson.loads(corrected.value)["lines"][0]["quantity"] == 2 and corrected.changed == ("lines.0.quantity",)
    with pytest.raises(OpsError, match=r"not a valid orders.commands message: lines.0.quantity"):
        build(letter, PREFIX, Correction((parse_set("lines.0.quantity=-1"),)))
    with pytest.raises(OpsError, match="colour"):
        build(letter, PREFIX, Correction((parse_set("lines.0.quantity=2"), parse_set("colour=red"))))
    with pytest.raises(OpsError, match="not one of"):
        build(letter, PREFIX, Correction((parse_set("type=order.teleport"),)))


def test_as_new_derives_fresh_ids_from_the_letter_and_the_content_so_a_repeat_is_the_same_message() -> None:
    original = place_order()
    letter = letter_for(orjson.dumps(original))
    fix = Correction((parse_set("lines.0.quantity=2"),), as_new=True)
    first, again = build(letter, PREFIX, fix), build(letter, PREFIX, fix)
    assert first.value == again.value and first.command_id == again.command_id
    assert str(first.command_id) != original["command_id"] and str(first.event_id) != original["event_id"]
    other = build(letter, PREFIX, Correction((parse_set("lines.0.quantity=3"),), as_new=True))
    assert other.command_id != first.command_id and other.event_id != first.event_id
    elsewhere = build(letter_for(orjson.dumps(original), offset=8), PREFIX, fix)
    assert elsewhere.command_id != first.command_id  # another dead letter: another message


def test_a_correction_cannot_move_a_record_to_another_order() -> None:
    letter = letter_for(orjson.dumps(place_order()))
    with pytest.raises(OpsError, match="about order shop-1/o2 but the record is keyed shop-1/o1"):
        build(letter, PREFIX, Correction((parse_set("lines.0.quantity=1"), parse_set("order_id=o2"))))


def test_replacements_must_be_json_objects_and_unreadable_originals_need_one() -> None:
    letter = letter_for(b"\xff not json")
    with pytest.raises(OpsError, match="--from-file"):
        build(letter, PREFIX, Correction((parse_set("a=1"),)))
    with pytest.raises(OpsError, match=r"fix\.json is not JSON"):
        build(letter, PREFIX, Correction(replacement=b"{", replacement_name="fix.json"))
    with pytest.raises(OpsError, match="holds a JSON list"):
        build(letter, PREFIX, Correction(replacement=b"[1]", replacement_name="fix.json"))
    fixed = build(letter, PREFIX, Correction(replacement=orjson.dumps(place_order(1)), replacement_name="fix.json"))
    assert fixed.changed == ("*",) and orjson.loads(fixed.value)["lines"][0]["quantity"] == 1


def test_a_dead_letter_from_another_systems_topic_is_not_replayed() -> None:
    with pytest.raises(OpsError, match="not one of this system's topics"):
        build(letter_for(b"{}", source="other-run.orders.commands"), PREFIX, Correction())


def test_dead_letters_are_found_by_unique_id_prefix_or_position_and_filtered() -> None:
    letters = [letter_for(b"{}", offset=n) for n in range(3)]
    assert find(letters, LetterRef(partition=0, offset=1), "deadletters") is letters[1]
    assert find(letters, LetterRef(id_prefix=letters[2].id[:13]), "deadletters") is letters[2]
    with pytest.raises(OpsError, match="no dead letter"):
        find(letters, LetterRef(partition=0, offset=9), "deadletters")
    same = [letters[0], Letter(0, 5, letters[0].letter)]
    with pytest.raises(OpsError, match="give more characters"):
        find(same, LetterRef(id_prefix=letters[0].id[:8]), "deadletters")
    assert select(letters, "orders", "invalid", 2) == letters[1:]
    assert select(letters, "inventory", None, None) == []


def test_dead_lettered_bytes_are_shown_as_json_text_or_base64() -> None:
    assert readable(b'{"a": 1}') == {"a": 1}
    assert readable(b"plain words") == "plain words"
    assert readable(b"\xff\xfe") == {"base64": "//4="}


# ------------------------------------------------------------------------------------ figures


def test_lag_is_what_the_group_has_not_applied_or_all_that_is_kept_when_it_never_committed() -> None:
    offsets = {0: (0, 10), 1: (5, 8), 2: (0, 0)}
    assert partition_lag(offsets, {0: 7, 1: 8}) == {0: 3, 1: 0, 2: 0}
    assert partition_lag(offsets, {}) == {0: 10, 1: 3, 2: 0}
    assert partition_lag(offsets, {1: 2}) == {0: 10, 1: 3, 2: 0}  # committed before what is kept


def test_due_and_overdue_are_read_on_the_services_clock_with_overdue_in_real_time() -> None:
    # 1,000 simulated seconds a real second: "overdue after 1 real second" is 1,000 simulated seconds ago.
    real = datetime.now(UTC)
    clock = ScaledClock(real, datetime(2026, 5, 4, tzinfo=UTC), 1_000)
    moments = Moments.of(clock, timedelta(seconds=1))
    assert moments.now - moments.overdue_before == timedelta(seconds=1_000)
    assert moments.state(moments.now + timedelta(seconds=1)) == "pending"
    assert moments.state(moments.now - timedelta(seconds=10)) == "due"
    assert moments.state(moments.now - timedelta(seconds=1_001)) == "overdue"


def test_partition_of_follows_the_default_partitioner_and_stays_in_range() -> None:
    assert {partition_of("shop-1/o00001", 3) for _ in range(5)} == {partition_of("shop-1/o00001", 3)}
    assert all(0 <= partition_of(f"shop-1/o{n}", 3) < 3 for n in range(200))
    assert len({partition_of(f"shop-1/o{n}", 3) for n in range(200)}) == 3


def test_timeline_lines_say_what_each_message_means() -> None:
    ids = {"storefront_id": "shop-1", "order_id": "o1", "seller_id": "s1"}
    failed = events.StockReservationFailed(
        **ids,
        reason=RejectionReason.OUT_OF_STOCK,
        message="vase-1 is out of stock",
        listing_id="vase-1",
        failed_lines=[events.FailedLine(listing_id="vase-1", reason=RejectionReason.OUT_OF_STOCK, message="out")],
    )
    assert describe(failed) == "inventory refused the reservation (vase-1: out_of_stock)"
    confirmed = events.ShipmentConfirmed(
        **ids, command_id=uuid.uuid4(), confirmed_at=datetime(2026, 5, 9, tzinfo=UTC), ship_date=date(2026, 5, 8),
        shipping_method="standard", carrier="UPS", tracking_id="x", late=True, tracking_valid=False,
    )  # fmt: skip
    assert describe(confirmed) == "shipment confirmed at 2026-05-09 00:00:00Z: late, tracking invalid"


def test_spans_read_in_their_two_largest_units() -> None:
    assert span(timedelta(days=3, hours=4, minutes=5)) == "3d4h"
    assert span(timedelta(seconds=45)) == "45s"
    assert span(timedelta(seconds=0.25)) == "0.2s"
    now = datetime(2026, 5, 4, tzinfo=UTC)
    assert relative(now + timedelta(hours=2, minutes=5), now) == "in 2h5m"
    assert relative(now - timedelta(days=1), now) == "1d ago"

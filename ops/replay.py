"""`fulfil deadletters replay`: put a dead-lettered record back on its original topic, as it was or
corrected, for the service that set it aside to try again.

Why a replay is safe: the services drop a message whose event id they applied before (inbox) and a
command they answered before (by command id), so a replay changes nothing that was applied already
(M2, M5). The same protection means a replay meant to take effect usually needs new ids: the
original's command was answered (`command.rejected`) when it was dead-lettered, and a record that
broke a rule or failed in processing had its event id claimed. So before sending, the CLI asks the
service's database (read-only) whether it would drop the replay; for a correction it then refuses
and names `--as-new`, which gives the replay a fresh event id and, for a command, a fresh command id.
Those ids derive from the dead letter and the bytes sent, so the same replay sent twice is still one
message. A correction is validated against the topic's contract before anything is sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import orjson

from ops.databases import database
from ops.deadletters import Letter, find, read_letters, source_topic_name
from ops.errors import OpsError
from ops.kafka import KafkaReader, KafkaWriter
from ops.output import Output
from ops.parsing import Edit, LetterRef, apply_edits
from ops.settings import OpsSettings
from shared.contracts.codec import DecodeError, decode
from shared.contracts.envelope import Command
from shared.contracts.topics import ALL_TOPICS, DEAD_LETTERS, Topic, order_key


@dataclass(frozen=True)
class Correction:
    edits: tuple[Edit, ...] = ()
    replacement: bytes | None = None  # the whole corrected message (--from-file)
    replacement_name: str = ""
    as_new: bool = False

    @property
    def changes_bytes(self) -> bool:
        return bool(self.edits) or self.replacement is not None or self.as_new


@dataclass(frozen=True)
class Replay:
    """What will be sent: the record, where, and what was changed."""

    letter: Letter
    topic: Topic
    full_topic: str
    partition: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    event_id: UUID | None
    command_id: UUID | None
    changed: tuple[str, ...] = ()  # the fields a correction set or removed; ("*",) for a whole new message
    as_new: bool = False  # fresh event id (and command id)
    notes: list[str] = field(default_factory=list)

    @property
    def corrected(self) -> bool:
        return bool(self.changed)


def original_topic(letter: Letter, prefix: str) -> Topic:
    name = source_topic_name(letter, prefix)
    for topic in ALL_TOPICS:
        if topic.name == name and letter.letter.source_topic == prefix + name:
            return topic
    raise OpsError(f"dead letter {letter.id} came from {letter.letter.source_topic!r}, not one of this system's topics (TOPIC_PREFIX={prefix!r})")


def build(letter: Letter, prefix: str, correction: Correction) -> Replay:
    """The record a replay sends. Pure: nothing is read or sent here."""
    topic = original_topic(letter, prefix)
    if not correction.changes_bytes:
        value = letter.value
        payload = _json_object(value)
        changed: tuple[str, ...] = ()
    else:
        payload = _base(letter, correction)
        payload = apply_edits(payload, list(correction.edits))
        changed = tuple(edit.field for edit in correction.edits) or (("*",) if correction.replacement is not None else ())
        if correction.as_new:
            payload = _with_new_ids(payload, letter, topic)
        value = orjson.dumps(payload)
        try:
            decode(topic, value)  # refused here, before anything is sent, naming the field at fault
        except DecodeError as error:
            raise OpsError(f"replay refused: the corrected message is not a valid {topic.name} message: {error.detail}") from None
        _same_order(payload, letter)
    event_id, command_id = _uuid(payload, "event_id"), _uuid(payload, "command_id") if _is_command(payload, topic) else None
    headers = {"replay_of": letter.id}
    if event_id is not None:
        headers["event_id"] = str(event_id)
    kind = payload.get("type") if payload else None
    if isinstance(kind, str) and kind in {m.model_fields["type"].default for m in topic.messages}:
        headers["message_type"] = kind  # as the relay names it; a type the service ignores is then dropped unread
    return Replay(letter, topic, letter.letter.source_topic, letter.letter.partition, letter.key, value, headers, event_id, command_id, changed, correction.as_new)


def _same_order(payload: dict[str, Any], letter: Letter) -> None:
    """The replay keeps the record's key (and partition): a correction cannot move it to another order."""
    key = letter.key.decode(errors="replace") if letter.key is not None else None
    if key is None or "/" not in key or not {"storefront_id", "order_id"} <= payload.keys():
        return
    corrected = order_key(str(payload["storefront_id"]), str(payload["order_id"]))
    if corrected != key:
        raise OpsError(f"replay refused: the correction is about order {corrected} but the record is keyed {key}; a replay keeps its key, so send a new message for another order")


def _base(letter: Letter, correction: Correction) -> dict[str, Any]:
    if correction.replacement is not None:
        try:
            loaded = orjson.loads(correction.replacement)
        except orjson.JSONDecodeError as exc:
            raise OpsError(f"replay refused: {correction.replacement_name} is not JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise OpsError(f"replay refused: {correction.replacement_name} holds a JSON {type(loaded).__name__}, not a message (an object)")
        return loaded
    payload = _json_object(letter.value)
    if payload is None:
        raise OpsError(f"dead letter {letter.id} holds bytes that are not a JSON object, so --set/--unset/--as-new cannot edit them; give the whole corrected message with --from-file")
    return payload


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        loaded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _with_new_ids(payload: dict[str, Any], letter: Letter, topic: Topic) -> dict[str, Any]:
    """Fresh event id (and command id, for a command) derived from the dead letter and the content."""
    content = {name: value for name, value in payload.items() if name not in ("event_id", "command_id")}
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    renewed = {**payload, "event_id": str(uuid5(NAMESPACE_URL, f"replay:{letter.id}:{digest}"))}
    if _is_command(payload, topic):
        renewed["command_id"] = str(uuid5(NAMESPACE_URL, f"replay-command:{letter.id}:{digest}"))
    return renewed


def _is_command(payload: dict[str, Any] | None, topic: Topic) -> bool:
    if payload is None:
        return False
    kinds = {m.model_fields["type"].default: m for m in topic.messages}
    message = kinds.get(payload.get("type"))  # type: ignore[arg-type]
    return message is not None and issubclass(message, Command)


def _uuid(payload: dict[str, Any] | None, name: str) -> UUID | None:
    try:
        return UUID(str(payload[name])) if payload and name in payload else None
    except ValueError:
        return None


# ------------------------------------------------------------------------------------ command


async def what_the_service_has_seen(settings: OpsSettings, replay: Replay) -> tuple[bool, bool]:
    """Whether the service applied the replay's event id before (it would drop the copy, M2) and
    answered its command id before (it would neither apply nor answer it again, M5)."""
    async with database(settings, replay.letter.letter.service) as conn:
        applied = replay.event_id is not None and await conn.fetchval("select exists (select 1 from inbox where event_id = $1)", replay.event_id)
        answered = replay.command_id is not None and await conn.fetchval("select exists (select 1 from handled_commands where command_id = $1)", replay.command_id)
    return bool(applied), bool(answered)


async def replay_letter(settings: OpsSettings, reader: KafkaReader, out: Output, ref: LetterRef, correction: Correction, *, dry_run: bool) -> None:
    letters = await read_letters(reader)
    letter = find(letters, ref, reader.prefix + DEAD_LETTERS.name)
    replay = build(letter, reader.prefix, correction)
    service = letter.letter.service
    try:
        applied, answered = await what_the_service_has_seen(settings, replay)
    except OpsError as exc:
        applied = answered = False
        replay.notes.append(f"could not check what {service} has seen: {exc}")
    if applied or answered:
        if replay.as_new:
            raise OpsError(f"replay refused: {service} has applied this very replay before (event id {replay.event_id}); sending it again would change nothing")
        if applied:
            effect = f"{service} has applied event id {replay.event_id} before and will drop this copy (M2)"
        else:
            effect = f"{service} answered command {replay.command_id} before and will neither apply nor answer it again (M5)"
        if replay.corrected:
            raise OpsError(f"replay refused: {effect}; add --as-new to send the correction as a new message")
        replay.notes.append(f"{effect}; --as-new sends it as a new message")
    offset = None
    if not dry_run:
        async with KafkaWriter(settings) as writer:
            offset = await writer.send(replay.full_topic, replay.partition, replay.key, replay.value, replay.headers)
    _report(out, replay, offset, dry_run)


def _report(out: Output, replay: Replay, offset: int | None, dry_run: bool) -> None:
    report = {
        "dead_letter": replay.letter.id,
        "sent": not dry_run,
        "topic": replay.topic.name,
        "partition": replay.partition,
        "offset": offset,
        "key": replay.key.decode(errors="replace") if replay.key is not None else None,
        "event_id": replay.event_id,
        "command_id": replay.command_id,
        "corrected": list(replay.changed),
        "as_new": replay.as_new,
        "headers": replay.headers,
        "notes": replay.notes,
    }
    if dry_run:
        report["value"] = orjson.loads(replay.value) if _json_object(replay.value) is not None else replay.value.decode(errors="replace")
    if out.as_json:
        out.json(report)
        return
    how = " ".join(
        part for part in (f"corrected ({', '.join(replay.changed)})" if replay.corrected else "", "as a new message" if replay.as_new else "") if part
    ) or "as it was"
    where = f"{replay.topic.name} partition {replay.partition}"
    if dry_run:
        out.line(f"would replay dead letter {replay.letter.id} {how} onto {where}, key {report['key']}:")
        out.line(replay.value.decode(errors="replace"))
    else:
        out.line(f"replayed dead letter {replay.letter.id} {how} onto {where} at offset {offset}, key {report['key']}")
    if replay.command_id is not None:
        out.line(f"command id {replay.command_id}; event id {replay.event_id}")
    for note in replay.notes:
        out.line(f"note: {note}")

"""`fulfil deadletters list | show`: the records the services set aside on the dead-letter topic (M3),
each with its original bytes and the error. Replaying one is ops/replay.py's job."""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import ConsumerRecord

from ops.errors import OpsError
from ops.kafka import KafkaReader
from ops.output import Output, instant
from ops.parsing import LetterRef
from shared.contracts.codec import DecodeError, decode
from shared.contracts.events import DeadLetter
from shared.contracts.topics import DEAD_LETTERS

SHORT_ID = 8  # characters of a dead letter's id shown in lists; any unique prefix names it


@dataclass(frozen=True)
class Letter:
    """One record of the dead-letter topic, where it is and what it says."""

    partition: int
    offset: int
    letter: DeadLetter

    @property
    def id(self) -> str:
        return str(self.letter.event_id)

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def key(self) -> bytes | None:
        return _b64(self.letter.key_base64) if self.letter.key_base64 is not None else None

    @property
    def value(self) -> bytes:
        return _b64(self.letter.value_base64)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()  # not base64 after all: the text itself is the best account of it


def letter_of(record: ConsumerRecord) -> Letter | None:
    """The dead letter a record of the dead-letter topic holds (None: something else was written there)."""
    try:
        message = decode(DEAD_LETTERS, record.value or b"")
    except DecodeError:
        return None
    return Letter(record.partition, record.offset, message) if isinstance(message, DeadLetter) else None


async def read_letters(reader: KafkaReader) -> list[Letter]:
    """Every dead letter on the topic, oldest first."""
    records = reader.read([(DEAD_LETTERS.name, p) for p in reader.partitions(DEAD_LETTERS.name)])
    letters = [letter async for letter in _letters(records)]
    return sorted(letters, key=lambda letter: (letter.letter.occurred_at, letter.partition, letter.offset))


async def _letters(records: AsyncIterator[ConsumerRecord]) -> AsyncIterator[Letter]:
    async for record in records:
        letter = letter_of(record)
        if letter is not None:
            yield letter


def counts(letters: Iterable[Letter]) -> Counter[tuple[str, str]]:
    """How many dead letters each service set aside, by error kind."""
    return Counter((each.letter.service, each.letter.error_kind) for each in letters)


def select(letters: list[Letter], service: str | None, kind: str | None, limit: int | None) -> list[Letter]:
    """Those of `service` and `kind` (None: any), the newest `limit` of them, oldest first."""
    chosen = [each for each in letters if (service is None or each.letter.service == service) and (kind is None or each.letter.error_kind == kind)]
    return chosen[-limit:] if limit else chosen


def find(letters: list[Letter], ref: LetterRef, topic: str) -> Letter:
    if ref.id_prefix is None:
        for each in letters:
            if (each.partition, each.offset) == (ref.partition, ref.offset):
                return each
        raise OpsError(f"no dead letter at {ref} on {topic}")
    wanted = ref.id_prefix.replace("-", "")
    matches = [each for each in letters if each.id.replace("-", "").startswith(wanted)]
    if not matches:
        raise OpsError(f"no dead letter with id {ref} on {topic}")
    if len(matches) > 1:
        raise OpsError(f"{len(matches)} dead letters have ids starting {ref} ({', '.join(m.id for m in matches[:3])}...); give more characters")
    return matches[0]


def readable(raw: bytes | None) -> Any:
    """Bytes as an operator wants to read them: the JSON value, else the text, else base64."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode()}


def source_topic_name(letter: Letter, prefix: str) -> str:
    """The registry name of the topic the record was read from (the dead letter names it with the prefix)."""
    return letter.letter.source_topic.removeprefix(prefix) if prefix else letter.letter.source_topic


def summary(letter: Letter, prefix: str) -> dict[str, Any]:
    body = letter.letter
    return {
        "id": letter.id,
        "position": letter.position,
        "occurred_at": body.occurred_at,
        "service": body.service,
        "source_topic": source_topic_name(letter, prefix),
        "source_partition": body.partition,
        "source_offset": body.offset,
        "key": letter.key.decode(errors="replace") if letter.key is not None else None,
        "error_kind": body.error_kind,
        "error": body.error,
    }


def details(letter: Letter, prefix: str) -> dict[str, Any]:
    return {**summary(letter, prefix), "value": readable(letter.value), "value_base64": letter.letter.value_base64}


# ------------------------------------------------------------------------------------ commands


async def list_letters(reader: KafkaReader, out: Output, *, service: str | None, kind: str | None, limit: int | None) -> None:
    letters = await read_letters(reader)
    chosen = select(letters, service, kind, limit)
    if out.as_json:
        out.json({"total": len(letters), "shown": len(chosen), "dead_letters": [summary(each, reader.prefix) for each in chosen]})
        return
    rows = [
        (each.id[:SHORT_ID], each.position, instant(each.letter.occurred_at), each.letter.service, f"{source_topic_name(each, reader.prefix)}@{each.letter.partition}:{each.letter.offset}",
         each.letter.error_kind, (each.key or b"").decode(errors="replace"), _one_line(each.letter.error, 90))
        for each in chosen
    ]  # fmt: skip
    out.table(None, ("id", "at", "when", "service", "from", "kind", "key", "error"), rows)
    out.line(f"{len(chosen)} shown of {len(letters)} dead letters on {reader.prefix}{DEAD_LETTERS.name}")


async def show_letter(reader: KafkaReader, out: Output, ref: LetterRef) -> None:
    letters = await read_letters(reader)
    letter = find(letters, ref, reader.prefix + DEAD_LETTERS.name)
    shown = details(letter, reader.prefix)
    if out.as_json:
        out.json(shown)
        return
    out.table(None, ("field", "value"), [(name, instant(value) if name == "occurred_at" else value) for name, value in shown.items() if name not in ("value", "value_base64")])
    out.line("record as it was:")
    value = shown["value"]
    out.line(value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"

"""Bytes on the wire <-> contract models. JSON via pydantic; decoding is per record and never raises
anything but DecodeError, so a consumer can dead-letter one bad record and carry on (M3)."""

from __future__ import annotations

import functools
from typing import Any

import orjson
from pydantic import ValidationError

from .envelope import Message
from .topics import Topic


class DecodeError(Exception):
    """The bytes are not a valid message for the topic. `kind` is machine-readable."""

    def __init__(
        self, kind: str, detail: str, payload: dict[str, Any] | None = None, fields: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        # The parsed JSON object when there was one: enough to identify the sender and answer it.
        self.payload = payload
        # Each bad field and what is wrong with it ("lines.0.quantity", "..."); "(message)" for the whole.
        self.fields = fields or [("(message)", detail)]


@functools.cache
def _type_names(topic: Topic) -> frozenset[str]:
    return frozenset(m.model_fields["type"].default for m in topic.messages)


def encode(message: Message) -> bytes:
    return message.model_dump_json().encode()


def decode(topic: Topic, raw: bytes) -> Message:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("undecodable", f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise DecodeError("invalid", f"expected a JSON object, got {type(payload).__name__}")
    known = _type_names(topic)
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in known:
        raise DecodeError(
            "unknown_message_type",
            f"type {payload.get('type')!r} is not one of {sorted(known)} on {topic.name}",
            payload,
        )
    try:
        return topic.adapter().validate_python(payload)
    except ValidationError as exc:
        fields = [(".".join(str(p) for p in err["loc"][1:]) or "(message)", err["msg"].removeprefix("Value error, ")) for err in exc.errors(include_url=False)]
        problems = "; ".join(f"{where}: {what}" for where, what in fields)
        raise DecodeError("invalid", problems[:2000], payload, fields) from None
    except (OverflowError, ValueError) as exc:  # arithmetic out of range that pydantic does not wrap
        raise DecodeError("invalid", f"value out of range: {exc}"[:2000], payload) from None

"""The one place that builds `command.rejected` answers and dead letters (M3, M5).

A command the service refuses (it breaks a rule), one that cannot be read, and one that failed in
processing over and over are all answered here when their sender can be identified, and kept on the
dead-letter topic with their original bytes. Ids derive from the record's position, so a redelivered
record is answered and dead-lettered once.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord

from shared.contracts.envelope import derived_id
from shared.contracts.events import CommandRejected, DeadLetter
from shared.contracts.reasons import Refusal, RejectionReason

# error_kind of a dead letter whose record was readable but failed in processing every time.
PROCESSING_FAILED = "processing_failed"
RULE_VIOLATION = "rule_violation"


def origin(service: str, record: ConsumerRecord) -> str:
    return f"{service}:{record.topic}:{record.partition}:{record.offset}"


def letter_id(service: str, record: ConsumerRecord) -> UUID:
    return derived_id(f"dead-letter:{origin(service, record)}")


def record_key(record: ConsumerRecord) -> str:
    return record.key.decode(errors="replace") if record.key else ""


def dead_letter(service: str, record: ConsumerRecord, kind: str, error: str, now: datetime) -> DeadLetter:
    return DeadLetter(
        event_id=letter_id(service, record),
        occurred_at=now,
        service=service,
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key_base64=base64.b64encode(record.key).decode() if record.key is not None else None,
        value_base64=base64.b64encode(record.value or b"").decode(),
        error_kind=kind,
        error=error[:4000],
    )


def command_rejected(service: str, record: ConsumerRecord, payload: Mapping[str, Any], command_id: UUID, refusal: Refusal, now: datetime) -> CommandRejected:
    """The answer to a command that changed nothing; `payload` is the command as sent (maybe malformed)."""

    def text(name: str) -> str | None:
        value = payload.get(name)
        return value if isinstance(value, str) and len(value) <= 64 and "\x00" not in value else None

    return CommandRejected(
        event_id=derived_id(f"rejection:{origin(service, record)}"),
        occurred_at=now,
        command_id=command_id,
        command_type=text("type"),
        reason=refusal.reason,
        rule=refusal.rule,
        message=refusal.message,
        seller_id=text("seller_id"),
        storefront_id=text("storefront_id"),
        order_id=text("order_id"),
        listing_id=text("listing_id") or refusal.listing_id,
    )


def unreadable(kind: str, detail: str) -> Refusal:
    return Refusal(RejectionReason.INVALID, f"{kind}: {detail}"[:2000])


def processing_failed(error: BaseException) -> Refusal:
    return Refusal(
        RejectionReason.INVALID,
        f"the service could not process this command ({type(error).__name__}); it is kept on the dead-letter topic for an operator",
    )


def command_id_in(payload: Mapping[str, Any]) -> UUID | None:
    try:
        return UUID(str(payload.get("command_id")))
    except ValueError:
        return None

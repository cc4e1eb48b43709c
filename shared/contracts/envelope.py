"""The envelope every message carries (rule M1), and the field types the contracts share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar
from uuid import UUID, uuid4

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field


def _to_utc(value: datetime) -> datetime:
    # Instants this marketplace can mean: the bounds keep every date computed from them (30 days
    # later, in any zone) representable.
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("instant out of range") from None
    if not 1970 <= utc.year <= 2999:
        raise ValueError("instant must lie between the years 1970 and 2999")
    return utc


# T1: an instant without an offset is invalid input; accepted instants are normalised to UTC.
UtcInstant = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# Free text from outside: PostgreSQL text cannot hold NUL characters, so they are invalid input.
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]

# Ids are opaque, short and safe to join into Kafka keys ("storefront/order").
EntityId = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
]


def _system_now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    """Fields common to every message on every topic.

    `type` names the message and selects its model when decoding; `schema_version` changes
    when a message changes incompatibly. The correlating ids a message carries are its own
    fields (order_id, listing_id, seller_id, command_id), named the same on every message.
    """

    # Internal events are read tolerantly (unknown fields ignored) so a producer can add an
    # optional field before every consumer is upgraded. Commands from outside override this.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID = Field(default_factory=uuid4)
    type: str
    schema_version: int = 1
    # When the sender says it happened, on its clock. The services stamp every message they emit from
    # their configured clock (T3); only a command sent without it gets the reading system's time.
    occurred_at: UtcInstant = Field(default_factory=_system_now)

    # Whether consumers record its id in their inbox; messages idempotent by nature opt out.
    needs_inbox: ClassVar[bool] = True
    # The ids a log line about this message should name; subclasses add theirs.
    correlation_fields: ClassVar[tuple[str, ...]] = ("command_id", "storefront_id", "order_id", "listing_id", "seller_id")

    def correlation(self) -> dict[str, str]:
        """The correlating ids this message carries, for structured logs."""
        ids = {"message_id": str(self.event_id), "message_type": self.type}
        for name in self.correlation_fields:
            value = getattr(self, name, None)
            if value is not None:
                ids[name] = str(value)
        return ids


class Command(Message):
    """A request from outside (a storefront or a seller) that is answered exactly once (M5)."""

    # Outside senders get told about a misspelt field instead of having it silently dropped.
    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: UUID

"""Dispatch by table: what a service does with each message type on a topic it reads.

Every type the registry puts on a topic a service reads is either handled or deliberately ignored;
a service whose tables miss a type, or that reads a topic the registry does not say it reads,
refuses to start (`problems`). Handlers are plain functions of the unit of work and the message;
the few that need to know where the record was read (its partition) say so.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.contracts.envelope import Message
from shared.contracts.reasons import Refusal
from shared.contracts.topics import Topic, topics_read_by
from shared.messaging.work import Delivery, UnitOfWork

Handler = Callable[..., Refusal | None]


@dataclass(frozen=True)
class Route:
    handle: Handler
    with_delivery: bool = False  # the handler takes the record's Delivery as a third argument

    def __call__(self, work: UnitOfWork, message: Message, delivery: Delivery) -> Refusal | None:
        return self.handle(work, message, delivery) if self.with_delivery else self.handle(work, message)


@dataclass(frozen=True)
class Routes:
    """One topic a service reads: a handler per message type, and the types it ignores on purpose."""

    topic: Topic
    handlers: Mapping[type[Message], Route]
    ignored: frozenset[type[Message]] = field(default_factory=frozenset)
    # Command topics answer refused and unreadable commands (M5); None for event topics.
    answers_on: Topic | None = None
    answer_key: Callable[[Mapping[str, Any]], str | None] = lambda _payload: None

    def route(self, message: Message) -> Route | None:
        return self.handlers.get(type(message))

    def ignores_type(self, message_type: str) -> bool:
        return message_type in _type_names(self.ignored)

    def problems(self) -> list[str]:
        on_topic = set(self.topic.messages)
        problems = [f"{m.__name__} is not on {self.topic.name}" for m in (set(self.handlers) | self.ignored) - on_topic]
        problems += [f"{m.__name__} is both handled and ignored" for m in set(self.handlers) & self.ignored]
        missing = on_topic - set(self.handlers) - self.ignored
        problems += [f"{m.model_fields['type'].default} on {self.topic.name} is neither handled nor ignored" for m in missing]
        return problems


@functools.cache
def _type_names(messages: frozenset[type[Message]]) -> frozenset[str]:
    return frozenset(m.model_fields["type"].default for m in messages)


def on(message: type[Message], handle: Handler, *, with_delivery: bool = False) -> tuple[type[Message], Route]:
    """One row of a dispatch table: `dict([on(OrderPlaced, reserve_stock), ...])`."""
    return message, Route(handle, with_delivery)


def wiring_problems(service: str, tables: tuple[Routes, ...]) -> list[str]:
    """Why this service's dispatch tables disagree with the registry; empty when they agree."""
    read = {t.name for t in topics_read_by(service)}
    wired = [r.topic.name for r in tables]
    problems = [f"the registry says {service} reads {name}, but nothing handles it" for name in sorted(read - set(wired))]
    problems += [f"{service} handles {name}, which the registry does not say it reads" for name in sorted(set(wired) - read)]
    problems += [f"{name} is wired twice" for name in sorted({n for n in wired if wired.count(n) > 1})]
    for routes in tables:
        problems += routes.problems()
    return problems

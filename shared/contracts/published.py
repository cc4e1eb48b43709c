"""What the contracts publish: one JSON Schema per message type and version, and the AsyncAPI document.

The files live in this package (`schemas/`, `asyncapi.json`), so whoever installs the contracts gets
them; `make schemas` writes them from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .envelope import Message

HERE = Path(__file__).parent
SCHEMAS = HERE / "schemas"
ASYNCAPI = HERE / "asyncapi.json"

# pydantic writes JSON Schema draft 2020-12; each published schema says so.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def message_type(message: type[Message]) -> str:
    return message.model_fields["type"].default


def version(message: type[Message]) -> int:
    return message.model_fields["schema_version"].default


def schema_name(message: type[Message]) -> str:
    """`order.place.v1`: a message type at one schema version."""
    return f"{message_type(message)}.v{version(message)}"


def json_schema(message: type[Message]) -> dict[str, Any]:
    """The message's JSON Schema as published, with its dialect."""
    return {"$schema": DIALECT, **message.model_json_schema()}


def schema_path(name: str) -> Path:
    return SCHEMAS / f"{name}.json"


def load_schema(name: str) -> dict[str, Any]:
    """A published schema by name, e.g. `load_schema("order.place.v1")`."""
    return json.loads(schema_path(name).read_text())


def load_asyncapi() -> dict[str, Any]:
    return json.loads(ASYNCAPI.read_text())

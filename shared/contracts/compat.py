"""Is a message's new JSON Schema compatible with the one already published under the same version?

Compatible means a reader of either version can read messages written with the other: optional
fields may be added; nothing may be removed, become required, or change its type, format,
constraints or allowed values, and no constraint across fields (anyOf, not...) may change. Anything
else needs a new `schema_version`.

One narrow exception, reviewed by people and recorded in `reviewed_tightenings.json`: a published
schema may be corrected to refuse payloads the services always refused (or that its own `format`
already refused), so that a validator and the services agree (docs/adr/0008). The file names each
schema it covers and the exact fragments; compat applies those corrections to the published schema
before comparing, so any other change is still caught.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REVIEWED = Path(__file__).with_name("reviewed_tightenings.json")

_COSMETIC = {"title", "description", "examples"}
_STRUCTURE = {"properties", "required", "additionalProperties", "$defs"}


def _plain(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if k not in _COSMETIC}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema


def name_of(schema: dict[str, Any]) -> str:
    """`order.place.v1`: the message type and version a schema describes."""
    properties = schema.get("properties", {})
    return f"{properties.get('type', {}).get('const')}.v{properties.get('schema_version', {}).get('default', 1)}"


@cache
def _reviewed() -> dict[str, Any]:
    return json.loads(REVIEWED.read_text())


def _replace(schema: Any, old: Any, new: Any) -> Any:
    if schema == old:
        return new
    if isinstance(schema, dict):
        return {k: _replace(v, old, new) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_replace(v, old, new) for v in schema]
    return schema


def corrected(published: dict[str, Any], reviewed: dict[str, Any]) -> dict[str, Any]:
    """The published schema with the reviewed corrections that cover it applied."""
    name = name_of(published)
    schema = _plain(published)
    if name not in reviewed["schemas"]:
        return schema
    for rule in reviewed["replace"]:
        schema = _replace(schema, _plain(rule["from"]), _plain(rule["to"]))
    for rule in reviewed["add"]:
        if rule["to"] not in ("*", name):
            continue
        for keyword, value in rule["keywords"].items():
            if keyword == "required":
                schema["required"] = [*value, *(f for f in schema.get("required", []) if f not in value)]
            else:
                schema[keyword] = value
    return schema


def _object_problems(where: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{where}.{name} was removed")
        elif old_prop != new_props[name]:
            problems.append(f"{where}.{name} changed from {old_prop} to {new_props[name]}")
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        problems.append(f"{where}.{name} became required")
    if old.get("additionalProperties") != new.get("additionalProperties"):
        problems.append(f"{where} changed whether unknown fields are allowed")
    for keyword in sorted((set(old) | set(new)) - _STRUCTURE):
        if old.get(keyword) != new.get(keyword):
            problems.append(f"{where} keyword {keyword} changed from {old.get(keyword)} to {new.get(keyword)}")
    return problems


def problems(old: dict[str, Any], new: dict[str, Any], reviewed: dict[str, Any] | None = None) -> list[str]:
    """Why `new` cannot replace the published `old` under the same schema version; empty when it can."""
    old = corrected(old, _reviewed() if reviewed is None else reviewed)
    new = _plain(new)
    found = _object_problems("(message)", old, new)
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, old_def in old_defs.items():
        new_def = new_defs.get(name)
        if new_def is None:
            found.append(f"definition {name} was removed")
        elif "properties" in old_def:
            found.extend(_object_problems(name, old_def, new_def))
        elif old_def != new_def:
            found.append(f"definition {name} changed")
    return found

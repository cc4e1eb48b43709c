"""Is a message's new JSON Schema compatible with the one already published under the same version?

Compatible means a reader of either version can read messages written with the other:
optional fields may be added; nothing may be removed, become required, or change its type,
format, constraints or allowed values. Anything else needs a new `schema_version`.
"""

from __future__ import annotations

from typing import Any

_COSMETIC = {"title", "description", "examples"}


def _plain(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if k not in _COSMETIC}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema


def _object_problems(where: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{where}.{name} was removed")
        elif _plain(old_prop) != _plain(new_props[name]):
            problems.append(f"{where}.{name} changed from {_plain(old_prop)} to {_plain(new_props[name])}")
    for name in sorted(new_required - old_required):
        problems.append(f"{where}.{name} became required")
    if old.get("additionalProperties") != new.get("additionalProperties"):
        problems.append(f"{where} changed whether unknown fields are allowed")
    return problems


def problems(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why `new` cannot replace `old` under the same schema version; empty when it can."""
    found = _object_problems("(message)", old, new)
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, old_def in old_defs.items():
        new_def = new_defs.get(name)
        if new_def is None:
            found.append(f"definition {name} was removed")
        elif "properties" in old_def:
            found.extend(_object_problems(name, old_def, new_def))
        elif _plain(old_def) != _plain(new_def):
            found.append(f"definition {name} changed")
    return found

"""Pure parsing of what operators type: durations, order keys, dead-letter references and the
`--set`/`--unset` edits of a replay. No I/O; every failure is a UsageError with one line."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from pydantic import ConfigDict, TypeAdapter, ValidationError

from ops.errors import UsageError
from shared.contracts.envelope import EntityId

_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1), "s": timedelta(seconds=1), "ms": timedelta(milliseconds=1)}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")
_ISO = TypeAdapter(timedelta)
_ENTITY_ID = TypeAdapter(EntityId, config=ConfigDict(regex_engine="python-re"))  # the contracts' patterns use look-ahead


def parse_duration(text: str, option: str = "duration") -> timedelta:
    """`90s`, `30m`, `2h`, `1d12h`, `1w`, `250ms`, plain seconds (`45`) or ISO 8601 (`PT2H`, `P1D`); never negative."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", cleaned):
        return timedelta(seconds=float(cleaned))
    if cleaned and _PART.sub("", cleaned) == "":
        return sum((float(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned)), timedelta())
    if cleaned.startswith("p"):
        try:
            value = _ISO.validate_python(text.strip().upper())
        except ValidationError:
            pass
        else:
            if value >= timedelta(0):
                return value
    raise UsageError(f"{option}: {text!r} is not a duration; use e.g. 90s, 30m, 2h, 1d12h or PT2H")


@dataclass(frozen=True)
class OrderKey:
    storefront_id: str
    order_id: str

    def __str__(self) -> str:
        return f"{self.storefront_id}/{self.order_id}"  # the Kafka key of everything about the order (M4)


def parse_order_key(text: str) -> OrderKey:
    """STOREFRONT/ORDER, each an id as the contracts define it (shared/contracts/envelope.EntityId)."""
    parts = text.split("/")
    if len(parts) != 2:
        raise UsageError(f"an order is STOREFRONT/ORDER (e.g. shop-1/o00001), got {text!r}")
    for what, part in zip(("storefront id", "order id"), parts, strict=True):
        try:
            _ENTITY_ID.validate_python(part)
        except ValidationError:
            raise UsageError(f"{what} {part!r} in {text!r} is not an id (1-64 letters, digits, '.', '_', ':' or '-')") from None
    return OrderKey(parts[0], parts[1])


@dataclass(frozen=True)
class LetterRef:
    """A dead letter named by (a unique prefix of) its id, or by its position on the dead-letter topic."""

    id_prefix: str | None = None
    partition: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        return self.id_prefix if self.id_prefix is not None else f"{self.partition}:{self.offset}"


def parse_letter_ref(text: str) -> LetterRef:
    cleaned = text.strip().lower()
    position = re.fullmatch(r"(\d+):(\d+)", cleaned)
    if position:
        return LetterRef(partition=int(position[1]), offset=int(position[2]))
    if re.fullmatch(r"[0-9a-f-]{4,36}", cleaned) and len(cleaned.replace("-", "")) >= 4:
        return LetterRef(id_prefix=cleaned)
    raise UsageError(f"a dead letter is named by its id (at least its first 4 characters) or PARTITION:OFFSET, got {text!r}")


# ------------------------------------------------------------------------------- replay edits


@dataclass(frozen=True)
class Edit:
    path: tuple[str | int, ...]
    value: Any = None
    remove: bool = False

    @property
    def field(self) -> str:
        return ".".join(str(p) for p in self.path)


def _path(text: str, flag: str) -> tuple[str | int, ...]:
    if not text or any(not part for part in text.split(".")):
        raise UsageError(f"{flag}: {text!r} is not a field path; use e.g. quantity or lines.0.quantity")
    return tuple(int(p) if p.isdigit() else p for p in text.split("."))


def parse_set(text: str) -> Edit:
    """`FIELD=VALUE`: VALUE is read as JSON when it is JSON (`2`, `null`, `true`, `"007"`, `[...]`), else as text."""
    field, sep, raw = text.partition("=")
    if not sep:
        raise UsageError(f"--set {text!r}: expected FIELD=VALUE, e.g. lines.0.quantity=2")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    return Edit(_path(field.strip(), "--set"), value)


def parse_unset(text: str) -> Edit:
    return Edit(_path(text.strip(), "--unset"), remove=True)


def apply_edits(payload: dict[str, Any], edits: list[Edit]) -> dict[str, Any]:
    """A copy of `payload` with the edits applied in order; a path through something that is not an
    object or list, or past the end of a list, is refused naming the field."""
    result = copy.deepcopy(payload)
    for edit in edits:
        parent: Any = result
        for depth, step in enumerate(edit.path[:-1]):
            parent = _child(parent, step, edit, depth)
        last = edit.path[-1]
        if isinstance(parent, dict):
            if edit.remove:
                if str(last) not in parent:
                    raise UsageError(f"--unset {edit.field}: the message has no field {edit.field}")
                del parent[str(last)]
            else:
                parent[str(last)] = edit.value
        elif isinstance(parent, list) and isinstance(last, int):
            largest = len(parent) - 1 if edit.remove else len(parent)  # --set one past the end appends
            if last > largest:
                raise UsageError(f"{_flag(edit)} {edit.field}: {'.'.join(map(str, edit.path[:-1]))} has {len(parent)} items")
            if edit.remove:
                del parent[last]
            elif last == len(parent):
                parent.append(edit.value)
            else:
                parent[last] = edit.value
        else:
            raise UsageError(f"{_flag(edit)} {edit.field}: {'.'.join(map(str, edit.path[:-1])) or 'the message'} is not an object or a list")
    return result


def _child(node: Any, step: str | int, edit: Edit, depth: int) -> Any:
    here = ".".join(str(p) for p in edit.path[: depth + 1])
    if isinstance(node, dict) and str(step) in node:
        return node[str(step)]
    if isinstance(node, list) and isinstance(step, int) and step < len(node):
        return node[step]
    raise UsageError(f"{_flag(edit)} {edit.field}: the message has no {here}")


def _flag(edit: Edit) -> str:
    return "--unset" if edit.remove else "--set"

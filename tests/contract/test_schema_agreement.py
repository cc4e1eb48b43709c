"""M1/M3: what the services' decoder refuses, the published JSON Schema refuses too, and the other way
round. Payloads are drawn from each published schema (hypothesis-jsonschema); each is then spoilt one
field at a time, every field in turn, with near misses (a number as text, an instant without offset,
an id with a newline, a field left out...) and a few arbitrary JSON values. The decoder the services
use and a standard validator with format checking must give the same verdict on every one."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator, FormatChecker

from shared.contracts.codec import DecodeError, decode
from shared.contracts.generate import messages, schema_file
from shared.contracts.topics import ALL_TOPICS

pytestmark = pytest.mark.unit

TOPIC_OF = {message: topic for topic in ALL_TOPICS for message in topic.messages}
MESSAGES = messages()
# Examples per schema: enough to meet every field's near misses in `make test`; raise it for a deeper run.
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "10"))

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "5", "5.0", "true", "null", "x\n", "1700000000", "2026-01-01", "2026-01-01T10:00:00", "2026-01-01 10:00:00Z"]),
)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def _near_misses(value: Any) -> list[Any]:
    """Values a careless sender might write instead of a valid one."""
    if isinstance(value, bool):
        return [int(value), str(value).lower(), None]
    if isinstance(value, int):
        return [float(value), str(value), value + 0.5, value - 1, value + 1, -value, 2**53, 2**63]
    if isinstance(value, str):
        misses = [value + "\n", "\n" + value, value + " ", value.lower(), value.upper(), value[:-1], value + "0", value.replace("-", "")]
        if "T" in value:
            misses += [value.replace("T", " "), value.split("+")[0].rstrip("Z"), value.replace("Z", "+01:00"), value.replace("Z", "+0000")]
        return misses
    if isinstance(value, list):
        return [[], value + value, value[:1] * 60]
    return [None, {}, []]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif value and isinstance(value, list):
        found += _paths(value[0], (*path, 0))  # the other items are alike
    return found


def _replace(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if new is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


_DELETE = object()


def _spoilt(payload: Any) -> list[Any]:
    """Every near miss of every field, every field left out, and an unknown field at every level."""
    variants = []
    for path in _paths(payload):
        value = payload
        for step in path:
            value = value[step]
        variants += [_replace(payload, path, miss) for miss in _near_misses(value)]
        if path and isinstance(path[-1], str):
            variants.append(_replace(payload, path, _DELETE))
        if isinstance(value, dict):
            variants.append(_replace(payload, (*path, "unexpected"), 1))
    return variants


def _decoder_accepts(message: type, raw: bytes) -> bool:
    try:
        decoded = decode(TOPIC_OF[message], raw)
    except DecodeError:
        return False
    assert type(decoded) is message
    return True


@pytest.mark.parametrize("message", MESSAGES, ids=[m.model_fields["type"].default for m in MESSAGES])
def test_M1_the_decoder_and_the_published_schema_agree_on_every_payload(message: type) -> None:
    schema = json.loads(schema_file(message).read_text())
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    def agree(payload: Any) -> None:
        raw = json.dumps(payload).encode()
        by_schema = validator.is_valid(payload)
        by_decoder = _decoder_accepts(message, raw)
        detail = "" if by_schema else "; ".join(e.message for e in validator.iter_errors(payload))[:500]
        assert by_schema == by_decoder, f"schema says {by_schema} ({detail}), decoder says {by_decoder}: {raw!r}"

    # No shrinking: the failure message shows the payload, and shrinking these can take minutes.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(from_schema(schema), st.lists(st.tuples(st.integers(min_value=0), _JSON), max_size=3))
    def every_payload(payload: Any, replacements: list[tuple[int, Any]]) -> None:
        agree(payload)
        for variant in _spoilt(payload):
            agree(variant)
        paths = _paths(payload)
        for index, value in replacements:  # and a few arbitrary JSON values anywhere
            agree(_replace(payload, paths[index % len(paths)], value))

    every_payload()

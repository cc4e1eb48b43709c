"""M1: the committed JSON Schemas and AsyncAPI document are generated from the models, have not
drifted, and change only compatibly within a schema version."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.contracts import compat
from shared.contracts.generate import SCHEMAS, check, expected_files, messages, schema_file
from shared.contracts.topics import ALL_TOPICS

pytestmark = pytest.mark.unit


def test_M1_committed_schemas_match_the_models() -> None:
    assert check(expected_files()) == [], "run `make schemas` and commit the result"


def test_M1_every_message_has_a_published_schema_with_its_envelope() -> None:
    for message in messages():
        schema = json.loads(schema_file(message).read_text())
        assert {"event_id", "type", "schema_version", "occurred_at"} <= set(schema["properties"])
        assert schema["properties"]["type"]["const"] == message.model_fields["type"].default


def sample() -> dict:  # type: ignore[type-arg]
    return json.loads((SCHEMAS / "order.place.v1.json").read_text())


def test_adding_an_optional_field_is_compatible() -> None:
    new = sample()
    new["properties"]["gift_note"] = {"type": "string"}
    assert compat.problems(sample(), new) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["properties"].pop("seller_id"),
        lambda s: s["required"].append("occurred_at"),
        lambda s: s["properties"]["placed_at"].update(format="date"),
        lambda s: s["$defs"]["OrderLine"]["properties"]["quantity"].update(maximum=10),
    ],
    ids=["removed", "newly required", "type changed", "nested constraint changed"],
)
def test_breaking_changes_are_caught(change) -> None:  # type: ignore[no-untyped-def]
    new = copy.deepcopy(sample())
    change(new)
    assert compat.problems(sample(), new) != []


def test_the_architecture_page_lists_every_topic_and_message() -> None:

    page = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    for topic in ALL_TOPICS:
        assert f"`{topic.name}`" in page, f"docs/architecture.md does not list {topic.name}"
        for message in topic.messages:
            assert f"`{message.model_fields['type'].default}`" in page, f"docs/architecture.md lacks {message.__name__}"


def test_M1_faststream_docs_gen_writes_the_committed_asyncapi_document(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    faststream = Path(sys.executable).with_name("faststream")
    subprocess.run(
        [str(faststream), "docs", "gen", "shared.contracts.asyncapi:app"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(repo)},
        check=True,
        capture_output=True,
    )
    assert json.loads((tmp_path / "asyncapi.json").read_text()) == json.loads((repo / "docs" / "asyncapi.json").read_text())

"""M1, S2: the published AsyncAPI document is valid for the AsyncAPI project's own parser
(@asyncapi/parser from npm), not only for our generator: it checks the document against the
AsyncAPI 3 schema, the Kafka bindings' schemas and every reference (replies included)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.contracts.published import load_asyncapi

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
STOREFRONT = REPO / "storefront-js"


def parse(document: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None or not (STOREFRONT / "node_modules").is_dir():
        pytest.fail("the AsyncAPI check needs node and the packages of storefront-js/: `make test` runs npm ci", pytrace=False)
    return subprocess.run([node, "bin/check-asyncapi.js", str(document)], cwd=STOREFRONT, capture_output=True, text=True, timeout=120)


def test_M1_the_asyncapi_parser_accepts_the_published_document() -> None:
    result = parse(REPO / "docs" / "asyncapi.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.1.0" in result.stdout


def test_the_parser_refuses_a_reply_to_a_channel_that_does_not_exist(tmp_path: Path) -> None:
    document = load_asyncapi()
    document["operations"]["receive.order.place"]["reply"]["channel"] = {"$ref": "#/channels/no.such.topic"}
    broken = tmp_path / "asyncapi.json"
    broken.write_text(json.dumps(document))
    result = parse(broken)
    assert result.returncode == 1
    assert "no.such.topic" in result.stdout + result.stderr

"""The contracts build as a package of their own: `pip install ./shared/contracts` gives the models,
the published JSON Schemas and AsyncAPI document, and the `fulfilment-contracts validate` command,
and nothing in it reaches into the services or the rest of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.contracts.published import ASYNCAPI, SCHEMAS

pytestmark = pytest.mark.unit

CONTRACTS = Path(__file__).resolve().parents[2] / "shared" / "contracts"
COMMAND = "3f1e6c7a-1111-4222-8333-444455556666"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed into a folder of its own (its dependencies are the test run's)."""
    root = tmp_path_factory.mktemp("contracts")
    source = root / "source"
    shutil.copytree(CONTRACTS, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(root / "site"), str(source)],
        check=True,
        capture_output=True,
    )
    return root / "site"


def run(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=60
    )


def test_the_package_carries_the_models_schemas_and_asyncapi_document_and_nothing_else_of_the_repo(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import sys, json, fulfilment_contracts.validate, fulfilment_contracts.asyncapi\n"
        "from fulfilment_contracts.published import SCHEMAS, ASYNCAPI\n"
        "from fulfilment_contracts.commands import PlaceOrder\n"
        "print(json.dumps({'schemas': sorted(p.name for p in SCHEMAS.glob('*.json')), 'asyncapi': ASYNCAPI.read_text(),\n"
        "  'foreign': sorted(m for m in sys.modules if m.split('.')[0] in ('shared', 'services', 'devtools', 'faststream'))}))\n"
    )
    result = run(installed, "-c", probe, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["schemas"] == sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert found["asyncapi"] == ASYNCAPI.read_text()
    assert found["foreign"] == []
    assert (installed / "bin" / "fulfilment-contracts").exists()


def test_validate_names_each_bad_field_of_a_json_lines_file(installed: Path, tmp_path: Path) -> None:
    good = {
        "type": "order.place",
        "command_id": COMMAND,
        "storefront_id": "shop-1",
        "order_id": "o-1",
        "seller_id": "seller-1",
        "placed_at": "2026-11-26T10:00:00+01:00",
        "lines": [{"listing_id": "scarf-1", "quantity": 2}],
    }
    bad = {**good, "placed_at": "2026-11-26T10:00:00", "lines": [{"listing_id": "scarf-1", "quantity": "2"}]}
    update = {"type": "listing.update", "command_id": COMMAND, "seller_id": "seller-1", "listing_id": "scarf-1"}
    messages = tmp_path / "sent.jsonl"
    messages.write_text("\n".join(json.dumps(m) for m in (good, bad, update)) + "\nnot json\n")

    result = run(installed, "-m", "fulfilment_contracts", "validate", str(messages), cwd=tmp_path)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-1].startswith(f"{messages}:4: (no type): (message): not JSON: ")
    assert lines[:-1] == [
        f"{messages}:2: order.place: placed_at: must be an instant YYYY-MM-DDThh:mm:ss with an offset (Z or ±hh:mm) in the years 1970-2999",
        f"{messages}:2: order.place: lines.0.quantity: must be an integer",
        f"{messages}:3: listing.update: (message): an update must set quantity, production_days or both",
    ], result.stdout
    assert "4 messages, 3 invalid" in result.stderr


def test_validate_accepts_a_valid_file_and_checks_the_topic_it_is_for(installed: Path, tmp_path: Path) -> None:
    answer = {"type": "listing.created", "command_id": COMMAND, "seller_id": "s", "listing_id": "l", "quantity": 3, "production_days": 2}
    sent = tmp_path / "answers.json"
    sent.write_text(json.dumps([answer]))

    assert run(installed, "-m", "fulfilment_contracts", "validate", str(sent), cwd=tmp_path).returncode == 0
    wrong_topic = run(installed, "-m", "fulfilment_contracts", "validate", "--topic", "orders.events", str(sent), cwd=tmp_path)
    assert wrong_topic.returncode == 1
    assert "listing.created: (message): type 'listing.created' is not one of" in wrong_topic.stdout


def test_the_committed_package_data_is_what_generate_writes() -> None:
    assert ASYNCAPI.parent == CONTRACTS and SCHEMAS.parent == CONTRACTS

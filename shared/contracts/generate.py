"""Generate the committed contract files from the models: one JSON Schema per message version,
and the AsyncAPI document. `--check` fails on drift or on an incompatible change instead of writing.

    python -m shared.contracts.generate          # write (refuses incompatible changes)
    python -m shared.contracts.generate --check  # CI: committed files must match the code
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.contracts import compat
from shared.contracts.envelope import Message
from shared.contracts.topics import ALL_TOPICS

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).parent / "schemas"
ASYNCAPI = REPO / "docs" / "asyncapi.json"


def messages() -> list[type[Message]]:
    seen: dict[str, type[Message]] = {}
    for topic in ALL_TOPICS:
        for message in topic.messages:
            seen[message.model_fields["type"].default] = message
    return [seen[name] for name in sorted(seen)]


def schema_file(message: type[Message]) -> Path:
    version = message.model_fields["schema_version"].default
    return SCHEMAS / f"{message.model_fields['type'].default}.v{version}.json"


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[Path, str]:
    from shared.contracts.asyncapi import specification

    files = {schema_file(m): render(m.model_json_schema()) for m in messages()}
    files[ASYNCAPI] = render(json.loads(specification.to_specification().to_json()))
    return files


def check(files: dict[Path, str]) -> list[str]:
    """Every difference between the committed files and the code, and every incompatible change."""
    found = []
    for path, text in files.items():
        name = path.relative_to(REPO)
        if not path.exists():
            found.append(f"{name} is missing (run `make schemas`)")
            continue
        committed = path.read_text()
        if committed == text:
            continue
        if path.parent == SCHEMAS:
            breaks = compat.problems(json.loads(committed), json.loads(text))
            if breaks:
                found.append(f"{name}: incompatible change, bump schema_version instead: " + "; ".join(breaks))
                continue
        found.append(f"{name} is out of date (run `make schemas`)")
    committed_schemas = set(SCHEMAS.glob("*.json")) if SCHEMAS.exists() else set()
    for stale in sorted(committed_schemas - set(files)):
        found.append(f"{stale.relative_to(REPO)} has no model any more (a published version is kept only on purpose)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail on drift instead of writing")
    args = parser.parse_args()
    files = expected_files()
    problems = check(files)
    if args.check:
        for problem in problems:
            print(f"schemas: {problem}", file=sys.stderr)
        sys.exit(1 if problems else 0)
    incompatible = [p for p in problems if "incompatible" in p]
    if incompatible:
        sys.exit("schemas: refusing to overwrite published schemas:\n" + "\n".join(incompatible))
    SCHEMAS.mkdir(exist_ok=True)
    for path, text in files.items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()

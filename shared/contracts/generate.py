"""Generate the committed contract files from the models: one JSON Schema per message version, and
the AsyncAPI document (in this package and, for readers of the repository, in docs/). `--check`
fails on drift or on an incompatible change instead of writing.

    python -m shared.contracts.generate          # write (refuses incompatible changes)
    python -m shared.contracts.generate --check  # CI: committed files must match the code
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import compat
from .asyncapi import document
from .envelope import Message
from .published import ASYNCAPI, SCHEMAS, json_schema, message_type, schema_name, schema_path
from .topics import ALL_TOPICS

REPO = Path(__file__).resolve().parents[2]
DOCS_ASYNCAPI = REPO / "docs" / "asyncapi.json"


def messages() -> list[type[Message]]:
    seen: dict[str, type[Message]] = {}
    for topic in ALL_TOPICS:
        for message in topic.messages:
            seen[message_type(message)] = message
    return [seen[name] for name in sorted(seen)]


def schema_file(message: type[Message]) -> Path:
    return schema_path(schema_name(message))


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[Path, str]:
    files = {schema_file(m): render(json_schema(m)) for m in messages()}
    files[ASYNCAPI] = files[DOCS_ASYNCAPI] = render(document())
    return files


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def check(files: dict[Path, str]) -> list[str]:
    """Every difference between the committed files and the code, and every incompatible change."""
    found = []
    for path, text in files.items():
        name = _shown(path)
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
        found.append(f"{_shown(stale)} has no model any more (a published version is kept only on purpose)")
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
            print(f"wrote {_shown(path)}")


if __name__ == "__main__":
    main()

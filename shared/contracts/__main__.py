"""`fulfilment-contracts` (or `python -m fulfilment_contracts`): the contract kit's command line.

    fulfilment-contracts validate FILE...            check messages against the contract
    fulfilment-contracts validate --topic NAME       check a topic's records, keys included
    fulfilment-contracts files                       where the JSON Schemas and the AsyncAPI document are
"""

from __future__ import annotations

import sys

from . import validate
from .published import ASYNCAPI, SCHEMAS


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["validate"]:
        return validate.main(args[1:])
    if args[:1] == ["files"]:
        print(f"schemas:  {SCHEMAS}\nasyncapi: {ASYNCAPI}")
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 0 if args[:1] in (["-h"], ["--help"]) else 2


if __name__ == "__main__":
    sys.exit(main())

"""The CLI's one kind of expected failure: a sentence for the operator, printed as one line."""

from __future__ import annotations


class OpsError(Exception):
    """Something the operator can act on (bad input, nothing found, a dependency not answering).
    `exit_code` 1 by default; 2 for bad usage, as for the command-line parser's own errors."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(OpsError):
    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)

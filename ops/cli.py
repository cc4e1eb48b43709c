"""`fulfil`, the operator CLI (typer). Each command is a few lines here calling its module; bad input
and unreachable dependencies end with one line on stderr and a non-zero exit, never a traceback:

    0  done (status: every service ready)     1  an error (nothing found, a refusal, a dependency down)
    2  bad usage (flags, ids, durations)       3  status: a service is down or not ready

The commands' modules (Kafka, PostgreSQL, the contracts) are imported by the command that runs, so
`fulfil --help` and a mistyped flag answer at once.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

# Typer bundles its own copy of click (0.27); its exceptions are how a parsing error surfaces when
# typer is asked not to print and exit itself. Pinned to typer <0.28 in pyproject.toml.
from typer._click.exceptions import Abort, ClickException, Exit

from ops.errors import OpsError, UsageError

app = typer.Typer(
    name="fulfil",
    help="See and steer the running fulfilment system: health and backlogs, one order's story, dead letters, timers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
letters_app = typer.Typer(help="Records the services set aside (M3): list them, show one, replay one onto its original topic.", no_args_is_help=True)
app.add_typer(letters_app, name="deadletters")

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
OverdueAfter = Annotated[str, typer.Option("--overdue-after", help="A timer due longer ago than this (real time) is overdue.", metavar="DURATION")]
LetterId = Annotated[str, typer.Argument(help="Its id (a unique prefix will do) or PARTITION:OFFSET on the dead-letter topic.", metavar="ID")]


@app.command("status")
def status_command(as_json: Json = False, overdue_after: OverdueAfter = "1m") -> None:
    """Each service's health, consumer lag and outbox backlog; timers pending, due and overdue; dead letters.
    Exits 3 when a service is down or not ready."""
    from ops import status
    from ops.output import Output
    from ops.parsing import parse_duration
    from ops.settings import load_settings

    after = parse_duration(overdue_after, "--overdue-after")
    raise typer.Exit(asyncio.run(status.show_status(load_settings(), Output(as_json), after)))


@app.command("order")
def order_command(order: Annotated[str, typer.Argument(help="STOREFRONT/ORDER, e.g. shop-1/o00001", metavar="STOREFRONT/ORDER")], as_json: Json = False) -> None:
    """One order's timeline across the three services, its state and its timers."""
    from ops import timeline
    from ops.kafka import with_reader
    from ops.output import Output
    from ops.parsing import parse_order_key
    from ops.settings import load_settings

    key = parse_order_key(order)
    settings = load_settings()
    asyncio.run(with_reader(settings, lambda reader: timeline.show_order(settings, reader, Output(as_json), key)))


@app.command("timers")
def timers_command(
    due_within: Annotated[str, typer.Option("--due-within", help="Pending timers due within this much of the services' clock (90s, 2h, 3d, PT2H).", metavar="DURATION")] = "1h",
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind: ship_by, confirm_by or their _warning.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, soonest first.")] = 100,
    overdue_after: OverdueAfter = "1m",
    as_json: Json = False,
) -> None:
    """Pending timers coming due (and overdue ones), soonest first, on the services' clock."""
    from ops import timers
    from ops.output import Output
    from ops.parsing import parse_duration
    from ops.settings import load_settings

    within = parse_duration(due_within, "--due-within")
    after = parse_duration(overdue_after, "--overdue-after")
    if kind is not None and kind not in timers.KINDS:
        raise UsageError(f"--kind: {kind!r} is not a timer kind; use one of {', '.join(timers.KINDS)}")
    asyncio.run(timers.show_timers(load_settings(), Output(as_json), within=within, kind=kind, limit=limit, overdue_after=after))


@letters_app.command("list")
def list_command(
    service: Annotated[str | None, typer.Option("--service", help="Only those set aside by this service (inventory, orders, deadlines).")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this error kind (invalid, undecodable, rule_violation, processing_failed, ...).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The newest this many.")] = 50,
    as_json: Json = False,
) -> None:
    """Dead letters, oldest first (the newest --limit of them)."""
    from ops import deadletters
    from ops.kafka import with_reader
    from ops.output import Output
    from ops.settings import load_settings
    from shared.contracts.topics import SERVICES

    if service is not None and service not in SERVICES:
        raise UsageError(f"--service: {service!r} is not a service; use one of {', '.join(SERVICES)}")
    settings = load_settings()
    asyncio.run(with_reader(settings, lambda reader: deadletters.list_letters(reader, Output(as_json), service=service, kind=kind, limit=limit)))


@letters_app.command("show")
def show_command(letter: LetterId, as_json: Json = False) -> None:
    """One dead letter: where the record came from, the error, and the record itself (decoded if JSON)."""
    from ops import deadletters
    from ops.kafka import with_reader
    from ops.output import Output
    from ops.parsing import parse_letter_ref
    from ops.settings import load_settings

    ref = parse_letter_ref(letter)
    settings = load_settings()
    asyncio.run(with_reader(settings, lambda reader: deadletters.show_letter(reader, Output(as_json), ref)))


@letters_app.command("replay")
def replay_command(
    letter: LetterId,
    sets: Annotated[list[str] | None, typer.Option("--set", help="Correct a field: FIELD=VALUE, VALUE as JSON or text (lines.0.quantity=2). Repeatable.", metavar="FIELD=VALUE")] = None,
    unsets: Annotated[list[str] | None, typer.Option("--unset", help="Remove a field (a misspelt one, say). Repeatable.", metavar="FIELD")] = None,
    from_file: Annotated[Path | None, typer.Option("--from-file", help="The whole corrected message, as JSON; --set/--unset apply on top.", metavar="FILE")] = None,
    as_new: Annotated[bool, typer.Option("--as-new", help="Send it as a new message: a fresh event id and, for a command, a fresh command id.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and print what would be sent; send nothing.")] = False,
    as_json: Json = False,
) -> None:
    """Publish a dead-lettered record onto its original topic, partition and key: as it was, or
    corrected (validated against the message's contract before anything is sent)."""
    from ops import replay
    from ops.kafka import with_reader
    from ops.output import Output
    from ops.parsing import parse_letter_ref, parse_set, parse_unset
    from ops.settings import load_settings

    ref = parse_letter_ref(letter)
    edits = tuple(parse_set(s) for s in sets or ()) + tuple(parse_unset(u) for u in unsets or ())
    replacement = None
    if from_file is not None:
        try:
            replacement = from_file.read_bytes()
        except OSError as exc:
            raise UsageError(f"--from-file: cannot read {from_file}: {exc.strerror or exc}") from None
    correction = replay.Correction(edits, replacement, str(from_file or ""), as_new)
    settings = load_settings()
    asyncio.run(with_reader(settings, lambda reader: replay.replay_letter(settings, reader, Output(as_json), ref, correction, dry_run=dry_run)))


def main(argv: list[str] | None = None) -> int:
    """The console script: run a command; whatever goes wrong is one line on stderr and an exit status."""
    try:
        result = typer.main.get_command(app).main(args=argv, prog_name="fulfil", standalone_mode=False)
    except OpsError as exc:
        return _fail(str(exc), exc.exit_code)
    except Exit as exc:
        return int(exc.exit_code)
    except ClickException as exc:  # bad usage: an unknown flag, a missing argument, a non-number
        return _fail(f"{exc.format_message()} (see fulfil --help)", exc.exit_code)
    except (Abort, KeyboardInterrupt, asyncio.CancelledError):
        return _fail("interrupted", 130)
    except BrokenPipeError:  # `fulfil ... | head` stopped reading: not an error worth a line
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("FULFIL_DEBUG"):
            raise
        return _fail(f"unexpected error {type(exc).__name__}: {exc} (FULFIL_DEBUG=1 shows the traceback)", 1)
    return int(result) if isinstance(result, int) else 0


def _fail(message: str, code: int) -> int:
    print(f"fulfil: {' '.join(message.split())}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())

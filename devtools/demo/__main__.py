"""`make run`: the marketplace's whole lifecycle, live, on an accelerated clock.

Starts a private system (fresh databases and topics, the three services) on the local stack, with all
services on one clock that runs a simulated day every 3 real seconds by default. A storefront orders;
simulated sellers confirm on time, late, with an invalid tracking id or never, and restock listings
that run low; the services answer, and their deadlines fire: late-shipment penalties, 30-day
cancellations, stock restorations. On a terminal it is a live dashboard; otherwise plain lines.
Ctrl-C (or SIGTERM) stops everything it started and prints a summary.
"""

from __future__ import annotations

import argparse
import sys

from devtools.demo.run import Options, main
from shared.settings import ServiceSettings, load

DAY = 86_400
DEFAULT_SPEED = DAY / 3  # a simulated day every 3 real seconds
SETTLE_DAYS = 32  # a never-confirmed order is cancelled at the end of its order date + 30 days


def options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--orders", type=int, default=0, help="stop after this many orders, once each has run its course (default 0: until Ctrl-C)"
    )
    parser.add_argument("--rate", type=float, default=2.0, help="orders per real second (default 2)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated storefront (default 7)")
    clock = parser.add_mutually_exclusive_group()
    clock.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help=f"simulated seconds per real second (default {DEFAULT_SPEED:g}: a day every 3 s)"
    )
    clock.add_argument("--real-clock", action="store_true", help="run on the real clock: nothing ships or passes a deadline for days")
    parser.add_argument(
        "--settle",
        type=float,
        help=f"with --orders, real seconds to wait for the last orders' deadlines (default: {SETTLE_DAYS} simulated days; 30 s on the real clock)",
    )
    parser.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.orders < 0 or args.speed <= 0 or (args.settle is not None and args.settle < 0):
        parser.error("--rate and --speed must be positive, --orders and --settle not negative")
    speed = 1.0 if args.real_clock else args.speed
    settle = args.settle if args.settle is not None else (30.0 if args.real_clock else SETTLE_DAYS * DAY / speed)
    return Options(args.orders, args.rate, args.seed, speed, args.real_clock, settle, args.plain)


if __name__ == "__main__":
    chosen = options()
    sys.exit(main(chosen, load(ServiceSettings).zone))

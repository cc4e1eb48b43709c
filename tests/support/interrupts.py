"""Tools a test stops with SIGINT (Ctrl-C) must not inherit an ignored SIGINT: a shell that starts a job
in the background (`make test &`, `nohup`) ignores it for that job, and a Python process that starts
with SIGINT ignored never raises KeyboardInterrupt, so the test would wait for nothing."""

from __future__ import annotations

import signal


def ctrl_c_works() -> None:
    """`preexec_fn` for such a child: SIGINT back to its default before the tool starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

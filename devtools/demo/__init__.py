"""`make run`, the main job's demo (python -m devtools.demo): see __main__.py.

sellers.py       what each simulated seller does with an accepted order; restocking (pure)
tracking_ids.py  the UPS tracking ids sellers type, valid or with a wrong check digit (pure)
rates.py         S6 seller rates: late shipments, cancellations, valid tracking (pure)
tally.py         what the demo has seen, folded from the services' topics (pure)
probe.py         lag, outbox backlog and timers from the services' /metrics
report.py        plain lines and the summary (pure); dashboard.py: the terminal screen (pure)
output.py        which of the two a run shows, and showing it
run.py           the loop: a private system, the storefront, the sellers, the output
portal.py        the hook that adds the seller portal once it exists (issue 12)
"""

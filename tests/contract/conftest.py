"""Contract tests: pure, no servers; they run Node.js (storefront-js/, packages from `make install`)."""

import os

# Pact's libraries report usage to the internet unless told not to, and this machine has no internet:
# set before any test imports pact.
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")

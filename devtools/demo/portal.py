"""HOOK (issue 12): the seller portal in `make run`, once services/portal/ exists.

`make run` is to print the portal's address and the demo sellers' sign-in links, so the main job can be
watched from a seller's side too. Until the portal is merged, `available()` is False and nothing here
does anything. When it lands (to be wired and checked by whoever merges it): the portal runs as one
more service of the demo's private system (its own fresh database, the same topics and clock) on a free
port, and `links` gives the lines to print, made by the portal's own `services.portal.links.describe`.
"""

from __future__ import annotations

import importlib.util

from devtools.launcher import free_port
from devtools.system import PrivateSystem

PORTAL = "portal"


def available() -> bool:
    return importlib.util.find_spec(f"services.{PORTAL}") is not None


def services() -> tuple[str, ...]:
    """The portal, as a service the private system starts, when it exists."""
    return (PORTAL,) if available() else ()


def env() -> dict[str, str]:
    """Where the portal serves its pages (every service gets it; only the portal reads it)."""
    return {"PORTAL_PORT": str(free_port())} if available() else {}


def links(system: PrivateSystem, sellers: list[str]) -> list[str]:
    """The portal's address and one sign-in link per seller; nothing while there is no portal."""
    if PORTAL not in system.services:
        return []
    from services.portal.links import describe  # type: ignore[import-not-found,unused-ignore]

    port = system[PORTAL].env["PORTAL_PORT"]
    return list(describe(sellers, base_url=f"http://127.0.0.1:{port}").splitlines())

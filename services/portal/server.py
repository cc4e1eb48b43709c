"""One process, two jobs: the read model's Kafka consumers (shared runtime) and the HTTP server (uvicorn).

The consumers start first, so a database or broker that does not answer ends the process with one line
before any page is served; uvicorn then serves until SIGINT/SIGTERM, and the consumers stop after it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import uvicorn

from services.portal.app import LOCAL_SECRET, PortalSettings, build
from services.portal.web import create_app
from shared.logs import configure, get_logger
from shared.messaging.admin import BrokerUnavailable
from shared.runtime import WiringError
from shared.settings import load
from shared.storage.database import DatabaseUnavailable
from shared.storage.migrate import MigrationError

log = get_logger()


async def serve(settings: PortalSettings) -> None:
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # "portal.serving" says what matters
    consumers = build(settings).app()
    await consumers.start()
    try:
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host=settings.portal_host,
                port=settings.portal_port,
                log_config=None,  # our JSON logs; uvicorn's own lines go through the root logger
                access_log=False,
                server_header=False,
                lifespan="on",
            )
        )
        announce = asyncio.create_task(_announce(server, settings))
        # uvicorn catches SIGINT/SIGTERM while serving and raises them again when it is done; ignoring
        # them then lets the consumers below stop cleanly instead of the default handler killing us.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: None)
        await server.serve()
        announce.cancel()
        if not server.started:
            raise SystemExit(f"portal: could not serve HTTP on {settings.portal_host}:{settings.portal_port} (is the port taken?)")
    finally:
        await consumers.stop()
        log.info("service.stopped")


async def _announce(server: uvicorn.Server, settings: PortalSettings) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    log.info("portal.serving", url=settings.public_url(port), port=port)
    if settings.portal_secret_key.get_secret_value() == LOCAL_SECRET:
        log.warning("portal.local_secret", hint="PORTAL_SECRET_KEY is the local-development default; set your own outside a laptop")


def main() -> None:
    settings = load(PortalSettings)
    configure("portal", settings.log_level)
    try:
        asyncio.run(serve(settings))
    except (DatabaseUnavailable, BrokerUnavailable, MigrationError, WiringError) as exc:
        sys.exit(f"portal: {exc}")
    except KeyboardInterrupt:
        pass

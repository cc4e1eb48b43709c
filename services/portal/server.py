"""One process, two jobs: the read model's consumers and the pages, on the shared runtime.

The runtime (shared/runtime.py) runs the consumers, the outbox relay, health and metrics on HTTP_PORT,
and its background jobs; serving the portal's pages on PORTAL_PORT is one of those jobs, started once
the database is migrated and the consumers are subscribed, stopped before the pool closes. The portal's
socket is bound before anything starts, so a port in use ends the process with one line.
"""

from __future__ import annotations

import asyncio
import sys

from services.portal.app import LOCAL_SECRET, PortalSettings, build
from services.portal.web import create_app
from shared import tracing
from shared.http import HttpServer, HttpUnavailable
from shared.logs import configure, get_logger
from shared.messaging.admin import BrokerUnavailable
from shared.runtime import BackgroundJob, Resources, RetentionTooShort, WiringError
from shared.settings import load
from shared.storage.database import DatabaseUnavailable
from shared.storage.migrate import MigrationError

log = get_logger()


def pages(settings: PortalSettings, server: HttpServer, web: object) -> BackgroundJob:
    async def serve_pages(running: Resources) -> None:
        web.state.portal.pool = running.pool  # type: ignore[attr-defined]  # the pages read the consumers' pool
        await server.start()
        log.info("portal.serving", url=settings.public_url(server.port), port=server.port)
        if settings.portal_secret_key.get_secret_value() == LOCAL_SECRET:
            log.warning("portal.local_secret", hint="PORTAL_SECRET_KEY is the local-development default; set your own outside a laptop")
        try:
            await running.stopping.wait()
        finally:
            await asyncio.shield(server.stop())

    return serve_pages


def main() -> None:
    settings = load(PortalSettings)
    configure("portal", settings.log_level)
    tracing.configure("portal", settings.traces_file)
    try:
        web = create_app(settings)
        server = HttpServer(web, settings.portal_host, settings.portal_port)
        asyncio.run(build(settings, background=(pages(settings, server, web),)).serve())
    except (DatabaseUnavailable, BrokerUnavailable, MigrationError, WiringError, RetentionTooShort, HttpUnavailable) as exc:
        sys.exit(f"portal: {exc}")
    except KeyboardInterrupt:
        pass
    finally:
        tracing.shutdown()

"""A service's HTTP surface for operators and orchestrators: liveness, readiness and Prometheus metrics.

    GET /health/live    200 while the process's event loop answers
    GET /health/ready   200 when it can do its work; 503 and the checks that fail otherwise
    GET /metrics        Prometheus text format (shared/metrics.py)

uvicorn serves it on HTTP_HOST:HTTP_PORT in the service's own event loop. Three fixed read-only
routes need no web framework: the ASGI callable below answers them and 404s the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson
import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

# (ready?, {check: "ok" or what is wrong})
Readiness = Callable[[], Awaitable[tuple[bool, dict[str, str]]]]
Response = tuple[int, str, bytes]


def asgi_app(readiness: Readiness, refresh_gauges: Callable[[], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    async def live() -> Response:
        return 200, "application/json", b'{"live": true}'

    async def ready() -> Response:
        ok, checks = await readiness()
        return (200 if ok else 503), "application/json", orjson.dumps({"ready": ok, "checks": checks})

    async def metrics() -> Response:
        with contextlib.suppress(Exception):  # a gauge that cannot be read now keeps its last value
            await asyncio.wait_for(refresh_gauges(), 2.0)
        return 200, CONTENT_TYPE_LATEST, generate_latest()

    table = {"/health/live": live, "/health/ready": ready, "/metrics": metrics}

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        route = table.get(scope["path"])
        if scope["method"] not in ("GET", "HEAD"):
            status, kind, body = 405, "text/plain", b"only GET\n"
        elif route is None:
            status, kind, body = 404, "text/plain", b"not found: /health/live, /health/ready, /metrics\n"
        else:
            status, kind, body = await route()
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind.encode())]})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})

    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the service handles SIGTERM and Ctrl-C itself and stops this server


class HttpUnavailable(RuntimeError):
    pass


class HttpServer:
    def __init__(self, app: Callable[..., Awaitable[None]], host: str, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))  # here, so a port in use is a start-up error of one line
        except OSError as exc:
            self._socket.close()
            raise HttpUnavailable(f"cannot serve HTTP on {host}:{port} ({exc.strerror}); set HTTP_PORT to a free port") from None
        self.port: int = self._socket.getsockname()[1]
        self._server = _Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)

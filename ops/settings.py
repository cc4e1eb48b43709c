"""What the CLI reads from its environment: where Kafka, the three databases and the services' HTTP
surfaces are, and the clock. The Kafka, topic-prefix, security and clock settings are the services'
own (shared/settings.py), so the CLI sees the topics and the time the services see."""

from __future__ import annotations

from pydantic import Field, ValidationError

from ops.errors import OpsError
from shared.contracts.topics import SERVICES
from shared.settings import ServiceSettings, configuration_error, local_database_url


class OpsSettings(ServiceSettings):
    # `scripts/stack.py env` prints the three database variables for the local stack.
    inventory_database_url: str = local_database_url("inventory")
    orders_database_url: str = local_database_url("orders")
    deadlines_database_url: str = local_database_url("deadlines")
    # Each service's HTTP surface (health, metrics); the defaults are the services' default ports.
    inventory_http: str = "http://127.0.0.1:18081"
    orders_http: str = "http://127.0.0.1:18082"
    deadlines_http: str = "http://127.0.0.1:18083"
    # How long one question to Kafka, a database or a service may take before the answer is "not answering".
    ops_timeout_seconds: float = Field(default=5.0, gt=0, le=120)

    def database_url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_database_url"))

    def http_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_http")).rstrip("/")


def load_settings() -> OpsSettings:
    try:
        settings = OpsSettings()
    except ValidationError as exc:
        raise OpsError(configuration_error(exc)) from None
    for service in SERVICES:
        url = settings.database_url_of(service)
        if not url.startswith(("postgresql://", "postgres://")):
            raise OpsError(f"configuration error: {service.upper()}_DATABASE_URL must be a postgresql:// URL, got {url[:40]!r}")
    return settings

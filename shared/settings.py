"""Settings every service reads from its environment. Every default works with `make run`'s local stack."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BeforeValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, make_clock

LOCAL_KAFKA = "127.0.0.1:19092"


def _seconds_or_iso(value: object) -> object:
    """A duration from the environment: seconds as a plain number, or ISO 8601 (`P14D`, `PT12H`)."""
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso)]
S = TypeVar("S", bound="KafkaSecurity")


def local_database_url(database: str) -> str:
    return f"postgresql://fulfil:fulfil@127.0.0.1:15432/{database}"


class KafkaSecurity(BaseSettings):
    """Kafka authentication and encryption; the defaults suit the local stack (plaintext on loopback)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_ignore_empty=True)

    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None  # None: the system's trusted CAs
    kafka_ssl_certfile: str | None = None  # client certificate, for mutual TLS
    kafka_ssl_keyfile: str | None = None

    @model_validator(mode="after")
    def _credentials_for_sasl(self) -> KafkaSecurity:
        if self.kafka_security_protocol.startswith("SASL") and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        return self


class ServiceSettings(KafkaSecurity):
    # An empty variable (`FOO=` from a compose passthrough) means "not set", not an empty value.
    model_config = SettingsConfigDict(env_file=None, extra="ignore", env_ignore_empty=True)

    kafka_bootstrap_servers: str = LOCAL_KAFKA
    database_url: str = Field(default="", description="postgresql:// URL of this service's own database")
    # Prepended to every topic name: lets environments (or test runs) share one Kafka cluster.
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    topic_replication_factor: int = Field(default=1, ge=1)
    marketplace_timezone: str = "UTC"  # T1
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # T3: a shared shifted/accelerated clock (both anchors required); unset means the system clock.
    clock_real_anchor: AwareDatetime | None = None
    clock_simulated_anchor: AwareDatetime | None = None
    clock_speed: float = Field(default=1.0, gt=0)
    # Static group membership: a stable id unique to this instance (a pod name, say) lets a restarted
    # instance take its partitions back at once instead of waiting out the session timeout.
    kafka_group_instance_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]+$")
    # How long the group waits for a silent member (a crashed one) before reassigning its partitions.
    kafka_session_timeout_ms: int = Field(default=10_000, ge=6_000, le=300_000)
    # Bookkeeping that guards against redelivery (inbox, answered commands) is pruned once older than this;
    # it must exceed the retention of every topic the service reads (refused at start-up otherwise).
    bookkeeping_retention: Duration = Field(default=timedelta(days=14), gt=timedelta(0))
    retention_interval_seconds: float = Field(default=300.0, gt=0)
    retention_batch_size: int = Field(default=5_000, ge=1, le=1_000_000)
    # Spans as JSON lines, for a look at traces without a collector (OTEL_EXPORTER_OTLP_ENDPOINT exports OTLP).
    traces_file: str | None = None
    # Liveness, readiness and metrics over HTTP (shared/http.py); port 0 picks a free one (logged at start).
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65_535)
    # How long start-up waits for Kafka and PostgreSQL to answer before giving up with one line.
    startup_timeout_seconds: float = Field(default=60.0, gt=0)
    # Records a consumer applies per transaction (1: one at a time).
    consume_batch_size: int = Field(default=200, ge=1, le=5_000)
    # How long one poll of a consumer waits for records; it returns as soon as any arrive, so this adds
    # no latency (FastStream's pause after an empty poll is removed: shared/messaging/polling.py).
    consume_poll_ms: int = Field(default=50, ge=1, le=1_000)
    # How often the outbox relay looks for rows when no notification woke it.
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    # How long the producer waits to fill a batch. 0: the relay and the timer loop already hand it whole
    # batches (Producer.send_many), and any wait is added to every hop (2 ms cost ~3 ms an ack, measured).
    producer_linger_ms: int = Field(default=0, ge=0, le=1_000)
    # A record that fails this many times while the database answers other work is set aside (M3).
    processing_attempts: int = Field(default=3, ge=1, le=100)
    # The longest wait between two attempts at work that failed (capped, jittered exponential backoff).
    retry_max_seconds: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _one_clock_for_every_process(self) -> ServiceSettings:
        self.clock()  # raises on a scaled clock without both anchors (T3)
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("marketplace_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.marketplace_timezone)

    def clock(self) -> Clock:
        """The clock of this process (T3); build it once and pass it to what reads "now"."""
        return make_clock(self.clock_real_anchor, self.clock_simulated_anchor, self.clock_speed)


def configuration_error(exc: ValidationError) -> str:
    """One line naming each bad environment variable."""
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else str(e["msg"]).removeprefix("Value error, ")
        for e in exc.errors()
    )
    return f"configuration error: {problems}"


def load(settings_class: type[S]) -> S:
    """Settings from the environment, or exit with one line saying what is wrong."""
    try:
        return settings_class()
    except ValidationError as exc:
        raise SystemExit(configuration_error(exc)) from None

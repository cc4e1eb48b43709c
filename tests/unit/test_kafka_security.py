"""Kafka credentials come from configuration: plaintext locally, SASL_SSL in a deployment."""

from __future__ import annotations

import ssl

import pytest
from faststream.security import SASLScram512
from pydantic import ValidationError

from shared.messaging.security import aiokafka_options, faststream_security
from shared.settings import KafkaSecurity, ServiceSettings

pytestmark = pytest.mark.unit


def test_the_local_default_is_plaintext_without_credentials() -> None:
    security = KafkaSecurity()
    assert faststream_security(security) is None
    assert aiokafka_options(security) == {"security_protocol": "PLAINTEXT"}


def test_sasl_ssl_credentials_reach_both_kinds_of_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "orders-service")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    settings = ServiceSettings()
    assert "s3cret" not in repr(settings)  # a secret is never printed with the settings
    broker_security = faststream_security(settings)
    assert isinstance(broker_security, SASLScram512) and broker_security.use_ssl
    assert isinstance(broker_security.ssl_context, ssl.SSLContext)
    options = aiokafka_options(settings)
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "orders-service" and options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_sasl_without_credentials_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME"):
        ServiceSettings()

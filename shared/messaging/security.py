"""How the services authenticate to Kafka: plaintext locally, TLS and SASL credentials in a deployment.

The same settings feed FastStream's broker and the plain aiokafka clients (topic creation), so a
deployment that restricts who may produce to which topic (Kafka ACLs per SASL principal, see
docs/operations.md) needs only environment variables.
"""

from __future__ import annotations

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import KafkaSecurity


def _ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    if not security.kafka_security_protocol.endswith("SSL"):
        return None
    context = ssl.create_default_context(cafile=security.kafka_ssl_cafile)
    if security.kafka_ssl_certfile:
        context.load_cert_chain(security.kafka_ssl_certfile, security.kafka_ssl_keyfile)
    return context


def faststream_security(security: KafkaSecurity) -> BaseSecurity | None:
    """The `security=` argument of FastStream's KafkaBroker."""
    protocol = security.kafka_security_protocol
    context = _ssl_context(security)
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    username = security.kafka_sasl_username or ""
    password = security.kafka_sasl_password.get_secret_value() if security.kafka_sasl_password else ""
    sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[security.kafka_sasl_mechanism]
    return sasl(username, password, ssl_context=context, use_ssl=protocol == "SASL_SSL")


def aiokafka_options(security: KafkaSecurity) -> dict[str, Any]:
    """The same settings as keyword arguments of aiokafka clients."""
    protocol = security.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.endswith("SSL"):
        options["ssl_context"] = _ssl_context(security)
    if protocol.startswith("SASL"):
        options["sasl_mechanism"] = security.kafka_sasl_mechanism
        options["sasl_plain_username"] = security.kafka_sasl_username
        options["sasl_plain_password"] = security.kafka_sasl_password.get_secret_value() if security.kafka_sasl_password else None
    return options

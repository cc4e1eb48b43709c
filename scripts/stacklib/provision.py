"""A secured broker's users, topics and grants, made as its admin at every `up`: a SCRAM user per
principal, the registry's topics, and exactly the ACLs shared/messaging/acls.py gives.

kafka-python does this part because aiokafka's admin client has no ACL or SCRAM calls; the
services never need it."""
from __future__ import annotations

import asyncio

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from shared.messaging.acls import ADMIN, PRINCIPALS, Grant, grants
from shared.messaging.admin import BrokerUnavailable, TopicsUnavailable, ensure_topics

from .common import StackError, say
from .config import Config
from .secured import MECHANISM, credentials, kafka_security, tls_paths


def kafka_acl(grant: Grant) -> ACL:
    pattern = ACLResourcePatternType.PREFIXED if grant.prefixed else ACLResourcePatternType.LITERAL
    operation = {"Read": ACLOperation.READ, "Write": ACLOperation.WRITE, "DescribeConfigs": ACLOperation.DESCRIBE_CONFIGS}[grant.operation]
    return ACL(principal=f"User:{grant.principal}", host="*", operation=operation,
               permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(ResourceType[grant.resource.upper()], grant.name, pattern))


def sync_acls(admin: KafkaAdminClient, wanted: set[ACL]) -> tuple[int, int]:
    """Make the broker's ACLs exactly `wanted`: a grant the registry no longer gives is taken back."""
    everything = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
    present, _ = admin.describe_acls(everything)
    stale = [acl for acl in present if acl not in wanted]
    new = [acl for acl in wanted if acl not in set(present)]
    if stale:
        errors = [error for _, _, error in admin.delete_acls(stale) if error.errno]
        if errors:
            raise StackError(f"removing stale Kafka ACLs failed: {errors[0].__name__}")
    if new and (failed := admin.create_acls(new)["failed"]):
        raise StackError(f"adding Kafka ACLs failed: {failed[0].__name__}")
    return len(new), len(stale)


def provision_kafka(cfg: Config) -> None:
    """As the admin: a SCRAM user per principal, the registry's topics, and exactly the registry's grants.
    Idempotent, at every `up`, so a topic or service added to the registry is provided for."""
    passwords = credentials(cfg)["kafka"]
    admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap, client_id="stack-admin", security_protocol="SASL_SSL",
                             sasl_mechanism=MECHANISM, sasl_plain_username=ADMIN, sasl_plain_password=passwords[ADMIN],
                             ssl_cafile=str(tls_paths(cfg)[1]))
    try:
        known = admin.describe_user_scram_credentials()
        users = [UserScramCredentialUpsertion(p, MECHANISM, passwords[p]) for p in PRINCIPALS if p not in known]
        if users and (failed := {user: error for user, error in admin.alter_user_scram_credentials(users).items() if error}):
            raise StackError(f"creating SCRAM users failed: {failed}")
        asyncio.run(ensure_topics(cfg.bootstrap, security=kafka_security(cfg, ADMIN), timeout=cfg.timeout))
        added, removed = sync_acls(admin, {kafka_acl(g) for g in grants()})
    except (KafkaError, BrokerUnavailable, TopicsUnavailable) as exc:
        raise StackError(f"setting up Kafka's users, topics and grants failed: {exc}") from None
    finally:
        admin.close()
    say(f"kafka: {len(PRINCIPALS)} SCRAM users, topics and {len(grants())} ACLs as the topic registry says "
        f"({len(users)} users and {added} ACLs added, {removed} ACLs removed)")

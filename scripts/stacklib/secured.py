"""What makes a stack secured (STACK_SECURE=1) besides the broker's users and grants (provision.py):
the passwords, the broker's TLS key and certificate, its SASL_SSL listener settings, and the
variables a principal needs to reach the stack.

The passwords are made at random once per STACK_DIR and kept there (mode 600), so a secured stack
keeps its credentials across restarts, and `reset` forgets them with the data."""
from __future__ import annotations

import ipaddress
import json
import secrets
import shutil
import subprocess
from pathlib import Path

from shared.messaging.acls import ADMIN, PRINCIPALS
from shared.settings import KafkaSecurity

from .common import QUICK_JVM, StackError, say, tail
from .config import Config

MECHANISM = "SCRAM-SHA-512"
BROKER_PRINCIPAL = "CN=kafka-broker"  # the subject of the broker's certificate: its identity towards the controller


def secrets_dir(cfg: Config) -> Path:
    return cfg.stack_dir / "secrets"


def credentials(cfg: Config) -> dict[str, dict[str, str]]:
    """The stack's passwords, made at random once and kept in secrets/credentials.json (mode 600).

    A principal or database added since (a new service in the registry) gets its password on the next `up`.
    """
    path = secrets_dir(cfg) / "credentials.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    wanted = {"kafka": (ADMIN, *PRINCIPALS), "postgres": cfg.pg_databases, "tls": ("keystore",)}
    missing = [(kind, name) for kind, names in wanted.items() for name in names if name not in stored.get(kind, {})]
    for kind, name in missing:
        stored.setdefault(kind, {})[name] = secrets.token_hex(16)  # hex: safe in SCRAM, JAAS and URL syntax
    if missing:
        secrets_dir(cfg).mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(stored, indent=2))
    return stored


def tls_paths(cfg: Config) -> tuple[Path, Path]:
    """The broker's keystore (PKCS12) and the CA certificate clients trust (PEM)."""
    return secrets_dir(cfg) / "broker.p12", secrets_dir(cfg) / "ca.pem"


def make_tls(cfg: Config) -> None:
    """The broker's key and certificate, signed by a throwaway CA whose key is deleted at once: clients
    trust the CA's certificate (KAFKA_SSL_CAFILE), and nothing else can ever be signed with it."""
    keystore, ca = tls_paths(cfg)
    if keystore.exists() and ca.exists():
        return
    java = shutil.which("java")
    keytool = shutil.which("keytool") or (java and str(Path(java).resolve().with_name("keytool")))
    if not keytool or not Path(keytool).exists():
        raise StackError("the secured stack needs keytool (part of every JDK and JRE) on PATH: install one, "
                         "e.g. `apt-get install openjdk-17-jre-headless`")
    password = credentials(cfg)["tls"]["keystore"]
    work = keystore.with_name("broker.partial.p12")  # renamed only once complete
    work.unlink(missing_ok=True)
    store = ["-keystore", str(work), "-storetype", "PKCS12", "-storepass", password]
    ec = ["-keyalg", "EC", "-groupname", "secp256r1", "-validity", "3650"]
    try:
        name = f"ip:{ipaddress.ip_address(cfg.host)}"
    except ValueError:
        name = f"dns:{cfg.host}"
    steps = (
        ["-genkeypair", "-alias", "ca", "-dname", "CN=fulfilment stack CA", "-ext", "bc:c", *ec],
        ["-genkeypair", "-alias", "broker", "-dname", BROKER_PRINCIPAL, "-signer", "ca", "-signerkeypass", password,
         "-ext", f"SAN={name},dns:localhost", *ec],
        ["-exportcert", "-rfc", "-alias", "ca", "-file", str(ca)],
        ["-delete", "-alias", "ca"],
    )
    for step in steps:
        result = subprocess.run([keytool, *(f"-J{option}" for option in QUICK_JVM), *step, *store], capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(f"keytool {step[0]} failed:\n{tail(result.stdout + result.stderr)}")
    work.chmod(0o600)
    work.rename(keystore)
    say(f"kafka: TLS key and certificate for {cfg.host} made in {keystore.parent} (CA: {ca.name})")


def secured_listeners(cfg: Config) -> dict[str, object]:
    """Clients on SASL_SSL with SCRAM users; mutual TLS between the broker and its controller, because SCRAM
    users live in the metadata the controller serves and so cannot authenticate the broker to it."""
    keystore, ca = tls_paths(cfg)
    passwords = credentials(cfg)
    login = f'username="{ADMIN}" password="{passwords["kafka"][ADMIN]}"'  # the broker's own SASL login
    return {
        "listeners": f"SASL_SSL://{cfg.bootstrap},CONTROLLER://{cfg.host}:{cfg.controller_port}",
        "advertised.listeners": f"SASL_SSL://{cfg.bootstrap}",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config":
            f"org.apache.kafka.common.security.scram.ScramLoginModule required {login};",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": keystore,
        "ssl.keystore.password": passwords["tls"]["keystore"],
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": ca,
        "listener.name.controller.ssl.client.auth": "required",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN};User:{BROKER_PRINCIPAL}",  # no ACL applies to these two
    }


def principal_env(cfg: Config, principal: str) -> dict[str, str]:
    """What one principal needs to reach the secured stack: its Kafka credentials and, for a service, its database."""
    passwords = credentials(cfg)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": principal,
        "KAFKA_SASL_PASSWORD": passwords["kafka"][principal],
        "KAFKA_SSL_CAFILE": str(tls_paths(cfg)[1]),
    }
    if principal in cfg.pg_databases:
        env["DATABASE_URL"] = cfg.pg_url(principal, principal, passwords["postgres"][principal])
    return env


def kafka_security(cfg: Config, principal: str) -> KafkaSecurity:
    env = principal_env(cfg, principal)
    return KafkaSecurity(**{key.lower(): value for key, value in env.items() if key.startswith("KAFKA_") and key != "KAFKA_BOOTSTRAP_SERVERS"},
                         kafka_ssl_certfile=None, kafka_ssl_keyfile=None)

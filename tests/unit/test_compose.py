"""docker-compose.yml, docker/postgres-init.sql and the Dockerfile agree with the code they run (read, not run)."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from services.deadlines.app import DeadlinesSettings
from services.inventory.app import InventorySettings
from services.orders.app import OrdersSettings
from services.portal.app import PortalSettings
from shared.contracts.topics import ALL_TOPICS
from shared.messaging import admin
from shared.settings import LOCAL_KAFKA, ServiceSettings, local_database_url

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
SERVICES = {"inventory": InventorySettings, "orders": OrdersSettings, "deadlines": DeadlinesSettings, "portal": PortalSettings}
SETTINGS = {**SERVICES, "topics": ServiceSettings}  # `topics` runs shared.messaging.admin, which reads ServiceSettings


def environment(service: str) -> dict[str, str | None]:
    """The environment compose gives the service when the shell sets nothing (None: a key left unset)."""
    env = COMPOSE[service]["environment"]
    assert isinstance(env, dict), f"{service}: write environment as a mapping"
    resolved = {k: None if v is None else re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(v)) for k, v in env.items()}
    assert not [v for v in resolved.values() if v and "$" in v], f"{service}: only ${{VAR:-default}} is understood"
    return resolved


def use_environment(env: dict[str, str | None], settings_class: type, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings_class.model_fields:  # nothing from the test process's own environment (`make test` sets some)
        monkeypatch.delenv(name.upper(), raising=False)
    for key, value in env.items():
        if value is not None:
            monkeypatch.setenv(key, value)


def database(url: str | None) -> str:
    return urlsplit(url).path.lstrip("/")


@pytest.mark.parametrize(("service", "settings_class"), SETTINGS.items())
def test_the_environment_holds_only_settings_and_they_validate(service, settings_class, monkeypatch) -> None:
    env = environment(service)
    unknown = set(env) - {name.upper() for name in settings_class.model_fields}
    assert not unknown, f"{service}: {sorted(unknown)} are not fields of {settings_class.__name__}"
    use_environment(env, settings_class, monkeypatch)
    settings = settings_class()  # a ValidationError here is a container that exits at start-up
    assert settings.kafka_bootstrap_servers == env["KAFKA_BOOTSTRAP_SERVERS"]
    assert env["TOPIC_PREFIX"] == environment("orders")["TOPIC_PREFIX"], "all must use the same topics"


@pytest.mark.parametrize(("service", "settings_class"), SERVICES.items())
def test_each_service_uses_its_own_database_on_the_compose_postgres(service, settings_class) -> None:
    url = urlsplit(environment(service)["DATABASE_URL"])
    postgres = COMPOSE["postgres"]["environment"]
    assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432)
    assert (url.username, url.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
    assert database(url.geturl()) == database(settings_class.model_fields["database_url"].default)


def test_the_databases_used_are_exactly_those_the_init_script_creates() -> None:
    script = (ROOT / "docker" / "postgres-init.sql").read_text()
    created = set(re.findall(r"create\s+database\s+(\w+)", script, re.IGNORECASE))
    used = [database(environment(service)["DATABASE_URL"]) for service in SERVICES]
    assert len(set(used)) == len(SERVICES), f"services share a database: {used}"
    assert set(used) == created
    mounts = [volume.split(":")[:2] for volume in COMPOSE["postgres"]["volumes"]]
    assert ["./docker/postgres-init.sql", "/docker-entrypoint-initdb.d/10-databases.sql"] in mounts


def test_every_registry_topic_exists_before_the_services_start(monkeypatch) -> None:
    assert COMPOSE["topics"]["command"] == ["python", "-m", "shared.messaging.admin"]
    assert COMPOSE["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert COMPOSE["kafka"]["healthcheck"]["test"] and COMPOSE["postgres"]["healthcheck"]["test"]
    for service in SERVICES:
        assert COMPOSE[service]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert COMPOSE[service]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # What that command does in the container: admin.main() calls ensure_topics for the whole registry.
    default_topics = inspect.signature(admin.ensure_topics).parameters["topics"].default
    calls = []

    async def record(bootstrap_servers: str, **options: object) -> None:
        calls.append((bootstrap_servers, options.get("topics", default_topics)))

    use_environment(environment("topics"), ServiceSettings, monkeypatch)
    monkeypatch.setattr(admin, "ensure_topics", record)
    admin.main()
    assert calls == [("kafka:9092", ALL_TOPICS)]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_its_own_module(service) -> None:
    assert COMPOSE[service]["command"] == ["python", "-m", f"services.{service}"]
    assert importlib.util.find_spec(f"services.{service}.__main__") is not None


def test_kafka_and_postgres_are_published_where_the_local_defaults_look() -> None:
    kafka = COMPOSE["kafka"]["environment"]
    listeners = dict(item.split("://") for item in kafka["KAFKA_LISTENERS"].split(","))
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    host_listener = [name for name, address in advertised.items() if address == LOCAL_KAFKA]
    assert host_listener, f"no listener advertised as {LOCAL_KAFKA}"
    assert f"{LOCAL_KAFKA}:{listeners[host_listener[0]].rsplit(':', 1)[1]}" in COMPOSE["kafka"]["ports"]
    assert environment("orders")["KAFKA_BOOTSTRAP_SERVERS"] in advertised.values()
    local = urlsplit(local_database_url("orders"))
    assert f"{local.hostname}:{local.port}:5432" in COMPOSE["postgres"]["ports"]
    postgres = COMPOSE["postgres"]["environment"]
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"]) == (local.username, local.password)


def test_the_image_installs_the_lock_then_the_project_and_runs_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    steps = [line.split(None, 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    runs = [" ".join(args.split()) for op, args in steps if op == "RUN"]
    lock = [i for i, run in enumerate(runs) if "pip install -r /src/requirements.lock" in run]
    project = [i for i, run in enumerate(runs) if "pip install --no-deps /src" in run]
    assert lock and project and lock[0] < project[0]
    user = [args.split(":")[0].strip() for op, args in steps if op == "USER"][-1:]
    assert user and user[0] not in {"root", "0"}
    assert any("useradd" in run and run.endswith(f" {user[0]}") for run in runs), "USER must be a user the image adds"


@pytest.mark.parametrize(("service", "settings_class"), SERVICES.items())
def test_each_service_is_healthy_only_when_its_readiness_endpoint_says_so(service, settings_class) -> None:
    port = settings_class.model_fields["http_port"].default
    check = COMPOSE[service]["healthcheck"]["test"]
    assert check[:3] == ["CMD", "python", "-c"] and f"http://127.0.0.1:{port}/health/ready" in check[3]
    assert environment(service)["HTTP_HOST"] == "0.0.0.0"  # reachable from outside the container
    assert f"127.0.0.1:{port}:{port}" in COMPOSE[service]["ports"]


def test_the_portal_starts_once_the_services_it_commands_are_ready() -> None:
    for service in ("inventory", "orders", "deadlines"):
        assert COMPOSE["portal"]["depends_on"][service]["condition"] == "service_healthy"


def test_the_installed_package_carries_every_data_file_the_code_reads() -> None:
    """The image installs the project as a package: a template or migration left out of package-data is
    missing in the container only (the tests run from the checkout)."""
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    for top in ("shared", "services"):
        for path in (ROOT / top).rglob("*"):
            # pyproject.toml builds the contract kit on its own (shared/contracts/): no code reads it.
            if path.is_file() and path.suffix not in {".py", ".pyc"} and path.name != "pyproject.toml" and "__pycache__" not in path.parts:
                package = next(p for p in path.parents if (p / "__init__.py").exists())
                relative = path.relative_to(package).as_posix()
                assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), f"{path.relative_to(ROOT)} is not in package-data"

"""The Kafka broker: one KRaft node (broker and controller in one JVM) run from Maven Central's jars
on the local JDK, so no Kafka distribution or Docker image is needed.

Here: fetching the jars, writing server.properties, formatting the log directory once, starting the
broker in a session of its own and waiting until it answers, and stopping (or killing) it. A secured
broker's listeners, TLS material and first SCRAM user come from secured.py."""
from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from shared.messaging.acls import ADMIN
from shared.messaging.security import aiokafka_options

from .common import QUICK_JVM, StackError, check_port_free, fresh_log, log_tail, process_alive, say, tail, wait_gone
from .config import SCRIPTS, Config
from .secured import MECHANISM, credentials, kafka_security, make_tls, secured_listeners


def kafka_paths(cfg: Config) -> dict[str, Path]:
    base = cfg.stack_dir / "kafka"
    return {"base": base, "data": base / "data", "logs": base / "logs", "pid": base / "kafka.pid"}


def kafka_pid(cfg: Config) -> int | None:
    pid_file = kafka_paths(cfg)["pid"]
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text())
        if process_alive(pid, "kafka.Kafka"):
            return pid
    return None


def java_command(cfg: Config, heap: str, quick: bool = False) -> list[str]:
    java = shutil.which("java")
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr if java else ""
    match = re.search(r'version "(\d+)', version)
    if not match or int(match.group(1)) < 17:
        raise StackError("Kafka needs Java 17 or newer on PATH: install a JDK, e.g. "
                         "`apt-get install openjdk-17-jre-headless`")
    return [java, f"-Xmx{heap}", "-Xms256m", *(QUICK_JVM if quick else ["-XX:+UseG1GC"]), "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={kafka_paths(cfg)['logs']}",
            f"-Dlog4j2.configurationFile={SCRIPTS / 'kafka' / 'log4j2.properties'}",
            "-cp", str(kafka_libs(cfg) / "*")]


def kafka_libs(cfg: Config) -> Path:
    """The broker's jars, fetched by Maven into a per-version folder on first use."""
    libs = cfg.libs_dir / cfg.kafka_version
    if (libs / ".complete").exists():
        return libs
    if not shutil.which("mvn"):
        raise StackError("Maven is needed once to fetch Kafka's jars: install it, "
                         "e.g. `apt-get install maven`")
    say(f"kafka: resolving org.apache.kafka:kafka_2.13:{cfg.kafka_version} with Maven (first run only)...")
    started = time.monotonic()
    partial = libs.with_name(libs.name + ".partial")  # renamed only once complete
    shutil.rmtree(partial, ignore_errors=True)
    maven = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(SCRIPTS / "kafka" / "pom.xml"), f"-Dkafka.version={cfg.kafka_version}",
         f"-DoutputDirectory={partial}", "dependency:copy-dependencies"],
        capture_output=True, text=True)
    if maven.returncode != 0:
        raise StackError(f"Maven could not resolve Kafka {cfg.kafka_version} (check KAFKA_VERSION and the "
                         f"network); last Maven lines:\n{tail(maven.stdout + maven.stderr)}")
    (partial / ".complete").touch()
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    say(f"kafka: {len(list(libs.glob('*.jar')))} jars resolved in {time.monotonic() - started:.1f}s")
    return libs


def write_server_properties(cfg: Config) -> Path:
    paths = kafka_paths(cfg)
    settings = {
        "process.roles": "broker,controller",
        "node.id": 1,
        # A static voter set (rather than a formatted dynamic quorum) lets ports change between runs.
        "controller.quorum.voters": f"1@{cfg.host}:{cfg.controller_port}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://{cfg.bootstrap},CONTROLLER://{cfg.host}:{cfg.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{cfg.bootstrap}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        **(secured_listeners(cfg) if cfg.secure else {}),
        "log.dirs": paths["data"],
        "num.partitions": 3,
        "auto.create.topics.enable": "false",  # the services create their topics themselves
        # One broker: internal topics cannot have more replicas than that.
        "offsets.topic.replication.factor": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,  # tests should not wait 3 s for every new group
    }
    properties = paths["base"] / "server.properties"
    properties.touch(mode=0o600)  # a secured broker's file holds passwords
    properties.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    return properties


def format_kafka_storage(cfg: Config, properties: Path) -> None:
    """Format the log directory once; the cluster id is kept so a wiped data dir re-forms the same cluster."""
    paths = kafka_paths(cfg)
    if (paths["data"] / "meta.properties").exists():
        return
    id_file = paths["base"] / "cluster-id"
    if not id_file.exists():
        cluster_id = "-"
        while cluster_id.startswith("-"):  # Kafka's own generator avoids ids that look like CLI flags
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        id_file.write_text(cluster_id)
    # A secured broker admits only SCRAM users, and its first one must exist before it starts: the
    # format step writes the admin's credential into the metadata log (the others are added later).
    scram = ["--add-scram", f"{MECHANISM}=[name={ADMIN},password={credentials(cfg)['kafka'][ADMIN]}]"] if cfg.secure else []
    fmt = subprocess.run(
        java_command(cfg, "256m", quick=True) + ["kafka.tools.StorageTool", "format", "-t", id_file.read_text().strip(),
                                     "-c", str(properties), *scram],
        capture_output=True, text=True)
    if fmt.returncode != 0:
        raise StackError(f"formatting Kafka storage failed:\n{tail(fmt.stdout + fmt.stderr)}")


async def kafka_answers(cfg: Config) -> bool:
    security = aiokafka_options(kafka_security(cfg, ADMIN)) if cfg.secure else {}
    admin = AIOKafkaAdminClient(bootstrap_servers=cfg.bootstrap, request_timeout_ms=5000, **security)
    try:
        await admin.start()
        return bool((await admin.describe_cluster())["brokers"])
    except Exception:  # not up yet: any client error means "try again"
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def wait_for_kafka(cfg: Config, broker: subprocess.Popen) -> None:
    deadline = time.monotonic() + cfg.timeout
    while broker.poll() is None and time.monotonic() < deadline:
        if asyncio.run(kafka_answers(cfg)):
            return
        time.sleep(0.5)
    problem = "exited" if broker.poll() is not None else f"did not answer within {cfg.timeout:.0f}s"
    logs = kafka_paths(cfg)["logs"]
    raise StackError(f"Kafka {problem} on {cfg.bootstrap}; log tail:\n"
                     f"{log_tail(logs / 'server.log', logs / 'stdout.log')}")


def start_kafka(cfg: Config) -> bool:
    """Start the broker unless it runs; True if this call started it."""
    if pid := kafka_pid(cfg):
        say(f"kafka: already running (pid {pid}) on {cfg.bootstrap}")
        return False
    check_port_free(cfg.host, cfg.kafka_port, "KAFKA_PORT")
    check_port_free(cfg.host, cfg.controller_port, "KAFKA_CONTROLLER_PORT")
    paths = kafka_paths(cfg)
    for key in ("data", "logs"):
        paths[key].mkdir(parents=True, exist_ok=True)
    fresh_log(paths["logs"] / "server.log")
    if cfg.secure:
        make_tls(cfg)
    properties = write_server_properties(cfg)
    format_kafka_storage(cfg, properties)
    started = time.monotonic()
    with open(paths["logs"] / "stdout.log", "wb") as out:
        # Own session: a Ctrl-C in the terminal that ran `up` must not reach the broker.
        broker = subprocess.Popen(java_command(cfg, "512m") + ["kafka.Kafka", str(properties)],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=paths["base"], start_new_session=True)
    paths["pid"].write_text(str(broker.pid))
    try:
        wait_for_kafka(cfg, broker)
    except BaseException:  # failed or interrupted: do not leave a half-started broker behind
        stop_kafka(cfg, quiet=True)
        raise
    say(f"kafka: started on {cfg.bootstrap} in {time.monotonic() - started:.1f}s (pid {broker.pid})")
    return True


def stop_kafka(cfg: Config, quiet: bool = False) -> None:
    pid = kafka_pid(cfg)
    if pid is None:
        if not quiet:
            say("kafka: not running")
    else:
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # controlled shutdown flushes and closes the logs
        how = "stopped"
        if not wait_gone(pid, "kafka.Kafka", 60):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_gone(pid, "kafka.Kafka", 10)
            how = "killed after 60s"
        if not quiet:
            say(f"kafka: {how} (pid {pid}) in {time.monotonic() - started:.1f}s")
    kafka_paths(cfg)["pid"].unlink(missing_ok=True)


def crash_kafka(cfg: Config) -> None:
    """kill -9: no controlled shutdown, the logs are recovered at the next start."""
    pid = kafka_pid(cfg)
    if pid is None:
        raise StackError("kafka is not running")
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid, "kafka.Kafka", 10)
    say(f"kafka: killed -9 (pid {pid})")

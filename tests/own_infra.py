"""Kafka brokers and PostgreSQL clusters of a test's own, started by infra/kafka.sh and
infra/postgres.sh as development starts its own: for tests that need a broker configured
otherwise (authenticated, with ACLs), or that stop, pause or restart a part, never the
shared ones."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from prahari_events.kafka import KafkaAccess, Topics, create_topics

ROOT = Path(__file__).resolve().parent.parent
KAFKA_SH = ROOT / "infra" / "kafka.sh"
POSTGRES_SH = ROOT / "infra" / "postgres.sh"


def run_script(script: Path, env: dict[str, str], *args: str) -> str:
    """Run one of infra/'s scripts; its stdout, or RuntimeError with what it said."""
    done = subprocess.run(
        ["bash", str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def free_port_pair() -> int:
    """A port whose successor is free too: the broker listens on both (clients, controller)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            try:
                with socket.socket() as second:
                    second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no two consecutive free ports on 127.0.0.1")


@dataclass
class OwnBroker:
    home: Path
    port: int
    security: str = "plaintext"
    prefix: str = ""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PRAHARI_KAFKA_HOME": str(self.home),
            "PRAHARI_KAFKA_PORT": str(self.port),
            "PRAHARI_KAFKA_SECURITY": self.security,
            "PRAHARI_TOPIC_PREFIX": self.prefix,
        }

    def _run(self, command: str) -> None:
        run_script(KAFKA_SH, self._env(), command)

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    @property
    def pid(self) -> int:
        """The broker's process, for tests that pause or kill it."""
        return int((self.home / "run" / "kafka.pid").read_text())

    def password_file(self, principal: str) -> Path:
        return self.home / "kafka-secrets" / f"{principal}.password"

    @property
    def ca_file(self) -> Path:
        return self.home / "kafka-tls" / "ca.pem"

    def access(self, principal: str | None = None) -> KafkaAccess:
        """A client's settings: as `principal` on a sasl_ssl broker (admin, intake, cases,
        notify, audit)."""
        if self.security == "plaintext":
            return KafkaAccess(self.bootstrap)
        assert principal is not None, "a sasl_ssl broker admits only a named principal"
        return KafkaAccess(
            self.bootstrap,
            "sasl_ssl",
            user=principal,
            password=self.password_file(principal).read_text().strip(),
            ca_file=str(self.ca_file),
        )

    def env(self, principal: str) -> dict[str, str]:
        """The PRAHARI_KAFKA_* settings of a process that connects as `principal`."""
        env = {"PRAHARI_KAFKA_BOOTSTRAP": self.bootstrap, "PRAHARI_KAFKA_SECURITY": self.security}
        if self.security == "sasl_ssl":
            env |= {
                "PRAHARI_KAFKA_USER": principal,
                "PRAHARI_KAFKA_PASSWORD_FILE": str(self.password_file(principal)),
                "PRAHARI_KAFKA_CA": str(self.ca_file),
            }
        return env

    def create_topics(self) -> None:
        asyncio.run(create_topics(self.access("admin"), Topics(self.prefix).specs(partitions=1)))


@dataclass
class OwnPostgres:
    """A PostgreSQL cluster of its own (Debian's server, as the postgres user), with the
    roles of infra/roles.sql. Its data lives outside the checkout and the test's tmp folder,
    where the postgres user can enter."""

    port: int
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"own-{uuid.uuid4().hex[:8]}"

    @property
    def data(self) -> Path:
        return Path("/var/lib/prahari") / self.name

    def _run(self, command: str, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
        env |= {
            "PRAHARI_PG_PORT": str(self.port),
            "PRAHARI_PG_DATA": str(self.data),
            "PRAHARI_PG_LOG": f"{self.data}.log",
        }
        return run_script(POSTGRES_SH, env, command, *args)

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    def url(self, role: str | None = None) -> str:
        """The owner's URL, or a role's (prahari_cases, ...)."""
        return self._run("url", *([role] if role else []))

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)
        Path(f"{self.data}.log").unlink(missing_ok=True)


def free_port_block(count: int, step: int = 10) -> int:
    """A base port such that base + step*i and the port after each are free, i < count."""
    for _ in range(100):
        base = random.randrange(20000, 40000, 10)
        try:
            for i in range(count):
                for port in (base + step * i, base + step * i + 1):
                    with socket.socket() as sock:
                        sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no block of free ports on 127.0.0.1")


@dataclass
class OwnCluster:
    """Three brokers (infra/kafka-cluster.sh) of a test's own: node N listens on
    base + 10*(N-1)."""

    home: Path
    base: int

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PRAHARI_KAFKA_CLUSTER_HOME": str(self.home),
            "PRAHARI_KAFKA_CLUSTER_PORT": str(self.base),
        }

    def _run(self, command: str) -> None:
        run_script(ROOT / "infra" / "kafka-cluster.sh", self._env(), command)

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.base + 10 * i}" for i in range(3))

    def access(self) -> KafkaAccess:
        return KafkaAccess(self.bootstrap)

    def pid(self, node: int) -> int:
        return int((self.home / f"node-{node}" / "run" / "kafka.pid").read_text())

"""Settings are read once, from an injected environment, and fail loudly when a value is
missing or malformed (the starlette.config pattern)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from prahari_events.auth import TokenAuthority
from prahari_events.errors import ConfigError
from prahari_events.kafka import KafkaAccess

_MISSING: Final = object()


class Secret(str):
    """A string that does not print itself."""

    def __repr__(self) -> str:
        return "Secret('**********')"


class Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str | None = None) -> str:
        value = self._environ.get(name)
        if value is None or value == "":
            if default is None:
                raise ConfigError(f"{name} must be set")
            return default
        return value

    def optional(self, name: str) -> str | None:
        return self._environ.get(name) or None

    def integer(self, name: str, default: int | None = None) -> int:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            if default is None:
                raise ConfigError(f"{name} must be set")
            return default
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None

    def number(self, name: str, default: float) -> float:
        raw = self._environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None

    def kafka(self) -> KafkaAccess:
        return KafkaAccess.from_environ(self._environ)

    def secret(self, name: str) -> Secret:
        return Secret(self.text(name))


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class CommonSettings:
    """What every service needs."""

    kafka: KafkaAccess
    database_url: str
    db_schema: str
    topic_prefix: str
    # The token issuers trusted (their keys and states), a revocation list, and the longest
    # a token may live; both files are read again when they change.
    token_trust: str
    http_host: str
    http_port: int
    trace_file: str | None
    log_level: str
    db_pool_size: int = 10
    token_revocations: str | None = None
    # Replicas every topic a service writes must have (it refuses to start otherwise): 1 for
    # a development broker, 3 for a production cluster.
    kafka_replication: int = 1
    token_max_lifetime_s: float = 12 * 3600
    token_reload_s: float = 30.0
    # The service's Ed25519 key for signed checkpoints (PEM); None: it makes none, and
    # `prahari-audit verify` says that its newest events are not anchored.
    checkpoint_key_file: str | None = None
    checkpoint_interval_s: float = 60.0
    # File systems whose free space /metrics reports (colon-separated): Kafka's log
    # directory and PostgreSQL's data, where they share the host.
    disk_paths: tuple[str, ...] = ("/",)
    # Traces also go to an OTLP/HTTP collector when OpenTelemetry's standard variables
    # name one (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
    otlp_traces: bool = False

    @classmethod
    def from_env(cls, env: Env, *, service: str, default_port: int) -> CommonSettings:
        schema = env.text("PRAHARI_DB_SCHEMA", service)
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"PRAHARI_DB_SCHEMA must be a lower-case SQL name, got {schema!r}")
        return cls(
            kafka=env.kafka(),
            database_url=env.text(
                "DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari"
            ),
            db_schema=schema,
            topic_prefix=env.text("PRAHARI_TOPIC_PREFIX", ""),
            token_trust=env.text("PRAHARI_TOKEN_TRUST"),
            http_host=env.text("PRAHARI_HTTP_HOST", "127.0.0.1"),
            http_port=env.integer(f"PRAHARI_{service.upper()}_PORT", default_port),
            trace_file=env.optional("PRAHARI_TRACE_FILE"),
            log_level=env.text("PRAHARI_LOG_LEVEL", "INFO"),
            db_pool_size=env.integer("PRAHARI_DB_POOL_SIZE", 10),
            token_revocations=env.optional("PRAHARI_TOKEN_REVOCATIONS"),
            kafka_replication=env.integer("PRAHARI_KAFKA_REPLICATION", 1),
            token_max_lifetime_s=env.number("PRAHARI_TOKEN_MAX_LIFETIME_S", 12 * 3600),
            token_reload_s=env.number("PRAHARI_TOKEN_RELOAD_S", 30.0),
            checkpoint_key_file=env.optional(f"PRAHARI_{service.upper()}_CHECKPOINT_KEY"),
            checkpoint_interval_s=env.number("PRAHARI_CHECKPOINT_INTERVAL_S", 60.0),
            disk_paths=tuple(env.text("PRAHARI_DISK_PATHS", "/").split(":")),
            otlp_traces=bool(
                env.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                or env.optional("OTEL_EXPORTER_OTLP_ENDPOINT")
            ),
        )


def token_authority(common: CommonSettings, service: str) -> TokenAuthority:
    """The service's token verifier, from its settings."""
    return TokenAuthority(
        common.token_trust,
        service=service,
        revocations_path=common.token_revocations,
        max_lifetime_s=common.token_max_lifetime_s,
        reload_s=common.token_reload_s,
    )

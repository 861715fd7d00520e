from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from prahari_events.config import CommonSettings, Env, Secret
from prahari_events.errors import ConfigError
from prahari_notify.domain.routing import DEFAULT_ROUTES


def _host_port(raw: str | None, name: str) -> tuple[str, int] | None:
    if raw is None:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{name} must be host:port, got {raw!r}")
    return host, int(port)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every window is in seconds, so that tests can run them in seconds."""

    common: CommonSettings
    consumer_group: str
    directory_path: str
    routes_path: str
    sms_gateway_url: str
    sms_fallback_url: str | None
    sms_sender_id: str
    dlt_entity_id: str
    smtp_host: str
    smtp_port: int
    smtp_fallback: tuple[str, int] | None
    mail_from: str
    provider_timeout_s: float
    max_attempts: int
    retry_base_s: float
    retry_cap_s: float
    breaker_threshold: int
    breaker_cooldown_s: float
    sms_concurrency: int
    email_concurrency: int
    lease_s: float
    dispatch_poll_s: float
    digest_window_s: float
    sweep_s: float
    receipt_secret: Secret | None
    receipt_skew_s: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        common = CommonSettings.from_env(env, service="notify", default_port=8083)
        timeout = env.number("PRAHARI_NOTIFY_PROVIDER_TIMEOUT_S", 10.0)
        receipt_secret = env.optional("PRAHARI_SMS_RECEIPT_SECRET")
        return cls(
            common=common,
            consumer_group=env.text("PRAHARI_NOTIFY_GROUP", f"{common.topic_prefix}notify"),
            directory_path=env.text("PRAHARI_UNIT_DIRECTORY"),
            routes_path=env.text("PRAHARI_NOTIFY_ROUTES", str(DEFAULT_ROUTES)),
            sms_gateway_url=env.text("PRAHARI_SMS_GATEWAY_URL"),
            sms_fallback_url=env.optional("PRAHARI_SMS_FALLBACK_URL"),
            sms_sender_id=env.text("PRAHARI_SMS_SENDER_ID", "PRHARI"),
            dlt_entity_id=env.text("PRAHARI_DLT_ENTITY_ID", "1001000000000000000"),
            smtp_host=env.text("PRAHARI_SMTP_HOST", "127.0.0.1"),
            smtp_port=env.integer("PRAHARI_SMTP_PORT", 8025),
            smtp_fallback=_host_port(
                env.optional("PRAHARI_SMTP_FALLBACK"), "PRAHARI_SMTP_FALLBACK"
            ),
            mail_from=env.text("PRAHARI_MAIL_FROM", "Prahari <alerts@prahari.local>"),
            provider_timeout_s=timeout,
            max_attempts=env.integer("PRAHARI_NOTIFY_MAX_ATTEMPTS", 12),
            retry_base_s=env.number("PRAHARI_NOTIFY_RETRY_BASE_S", 2.0),
            retry_cap_s=env.number("PRAHARI_NOTIFY_RETRY_CAP_S", 120.0),
            breaker_threshold=env.integer("PRAHARI_NOTIFY_BREAKER_FAILURES", 5),
            breaker_cooldown_s=env.number("PRAHARI_NOTIFY_BREAKER_COOLDOWN_S", 30.0),
            sms_concurrency=env.integer("PRAHARI_NOTIFY_SMS_CONCURRENCY", 32),
            email_concurrency=env.integer("PRAHARI_NOTIFY_EMAIL_CONCURRENCY", 8),
            # Longer than a provider call can take, so a live attempt never loses its lease.
            lease_s=env.number("PRAHARI_NOTIFY_LEASE_S", max(30.0, 3 * timeout)),
            dispatch_poll_s=env.number("PRAHARI_NOTIFY_POLL_S", 0.1),
            digest_window_s=env.number("PRAHARI_NOTIFY_DIGEST_WINDOW_S", 300.0),
            sweep_s=env.number("PRAHARI_NOTIFY_SWEEP_S", 1.0),
            receipt_secret=Secret(receipt_secret) if receipt_secret else None,
            receipt_skew_s=env.number("PRAHARI_SMS_RECEIPT_SKEW_S", 300.0),
        )

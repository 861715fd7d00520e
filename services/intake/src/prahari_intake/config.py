from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from prahari_events.config import CommonSettings, Env


@dataclass(frozen=True, slots=True)
class Settings:
    common: CommonSettings
    max_body_bytes: int
    kafka_ack_timeout_s: float
    consumer_group: str
    # The SMS channel is on when its webhook secret is configured; it then needs the unit
    # directory (whose phones may file reports). Replies go out through notify.
    unit_directory_path: str | None
    sms_webhook_secret: str | None
    # How far a webhook's timestamp may be from now (and how long a replay is remembered).
    sms_webhook_skew_s: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        common = CommonSettings.from_env(env, service="intake", default_port=8081)
        sms = env.optional("PRAHARI_SMS_WEBHOOK_SECRET") is not None
        return cls(
            common=common,
            max_body_bytes=env.integer("PRAHARI_INTAKE_MAX_BODY_BYTES", 64 * 1024),
            kafka_ack_timeout_s=env.number("PRAHARI_INTAKE_KAFKA_ACK_TIMEOUT_S", 10.0),
            consumer_group=env.text("PRAHARI_INTAKE_GROUP", f"{common.topic_prefix}intake"),
            unit_directory_path=env.text("PRAHARI_UNIT_DIRECTORY") if sms else None,
            sms_webhook_secret=env.secret("PRAHARI_SMS_WEBHOOK_SECRET") if sms else None,
            sms_webhook_skew_s=env.number("PRAHARI_SMS_WEBHOOK_SKEW_S", 300.0),
        )

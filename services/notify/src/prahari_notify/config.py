from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from prahari_events.config import CommonSettings, Env


@dataclass(frozen=True, slots=True)
class Settings:
    common: CommonSettings
    consumer_group: str
    directory_path: str
    sms_gateway_url: str
    sms_sender_id: str
    dlt_entity_id: str
    sms_template_en: str
    sms_template_hi: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    max_attempts: int
    retry_base_s: float
    dispatch_poll_s: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        common = CommonSettings.from_env(env, service="notify", default_port=8083)
        return cls(
            common=common,
            consumer_group=env.text("PRAHARI_NOTIFY_GROUP", f"{common.topic_prefix}notify"),
            directory_path=env.text("PRAHARI_UNIT_DIRECTORY"),
            sms_gateway_url=env.text("PRAHARI_SMS_GATEWAY_URL"),
            sms_sender_id=env.text("PRAHARI_SMS_SENDER_ID", "PRHARI"),
            dlt_entity_id=env.text("PRAHARI_DLT_ENTITY_ID", "1001000000000000000"),
            sms_template_en=env.text("PRAHARI_SMS_TEMPLATE_EN", "1007000000000000001"),
            sms_template_hi=env.text("PRAHARI_SMS_TEMPLATE_HI", "1007000000000000002"),
            smtp_host=env.text("PRAHARI_SMTP_HOST", "127.0.0.1"),
            smtp_port=env.integer("PRAHARI_SMTP_PORT", 8025),
            mail_from=env.text("PRAHARI_MAIL_FROM", "Prahari <alerts@prahari.local>"),
            max_attempts=env.integer("PRAHARI_NOTIFY_MAX_ATTEMPTS", 48),
            retry_base_s=env.number("PRAHARI_NOTIFY_RETRY_BASE_S", 5.0),
            dispatch_poll_s=env.number("PRAHARI_NOTIFY_POLL_S", 0.2),
        )

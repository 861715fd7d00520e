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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        common = CommonSettings.from_env(env, service="intake", default_port=8081)
        return cls(
            common=common,
            max_body_bytes=env.integer("PRAHARI_INTAKE_MAX_BODY_BYTES", 64 * 1024),
            kafka_ack_timeout_s=env.number("PRAHARI_INTAKE_KAFKA_ACK_TIMEOUT_S", 10.0),
            consumer_group=env.text("PRAHARI_INTAKE_GROUP", f"{common.topic_prefix}intake"),
        )

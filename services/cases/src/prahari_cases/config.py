from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from prahari_events.config import CommonSettings, Env


@dataclass(frozen=True, slots=True)
class Settings:
    common: CommonSettings
    consumer_group: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        common = CommonSettings.from_env(env, service="cases", default_port=8082)
        return cls(
            common=common,
            consumer_group=env.text("PRAHARI_CASES_GROUP", f"{common.topic_prefix}cases"),
        )

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from prahari_cases.adapters.sla_config import load_sla_policy
from prahari_cases.domain.sla import SlaPolicy
from prahari_events.config import CommonSettings, Env


@dataclass(frozen=True, slots=True)
class Settings:
    common: CommonSettings
    consumer_group: str
    unit_directory_path: str
    # Deadlines per stage and report type, from a reviewed file (the package's sla.json,
    # the cVIGIL budget, unless PRAHARI_CASES_SLA_FILE names another).
    sla: SlaPolicy
    # A rumour reported again within this long is attached to the first report's case.
    rumour_window: timedelta
    # How often the timer loop looks for deadlines that came.
    timer_poll_s: float
    # How often the partner states' feeds look for new events when idle.
    share_feed_poll_s: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        common = CommonSettings.from_env(env, service="cases", default_port=8082)
        return cls(
            common=common,
            consumer_group=env.text("PRAHARI_CASES_GROUP", f"{common.topic_prefix}cases"),
            unit_directory_path=env.text("PRAHARI_UNIT_DIRECTORY"),
            sla=load_sla_policy(env.optional("PRAHARI_CASES_SLA_FILE")),
            rumour_window=timedelta(seconds=env.number("PRAHARI_CASES_RUMOUR_WINDOW_S", 259200)),
            timer_poll_s=env.number("PRAHARI_CASES_TIMER_POLL_S", 1.0),
            share_feed_poll_s=env.number("PRAHARI_CASES_SHARE_FEED_POLL_S", 1.0),
        )

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from prahari_cases.domain.commands import Deadlines
from prahari_events.config import CommonSettings, Env


@dataclass(frozen=True, slots=True)
class Settings:
    common: CommonSettings
    consumer_group: str
    unit_directory_path: str
    deadlines: Deadlines
    # A rumour reported again within this long is attached to the first report's case.
    rumour_window: timedelta

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        common = CommonSettings.from_env(env, service="cases", default_port=8082)
        return cls(
            common=common,
            consumer_group=env.text("PRAHARI_CASES_GROUP", f"{common.topic_prefix}cases"),
            unit_directory_path=env.text("PRAHARI_UNIT_DIRECTORY"),
            # The cVIGIL budget by default: assign within 5 minutes, decide within 100.
            deadlines=Deadlines(
                assign_within=timedelta(seconds=env.number("PRAHARI_CASES_ASSIGN_WITHIN_S", 300)),
                decide_within=timedelta(seconds=env.number("PRAHARI_CASES_DECIDE_WITHIN_S", 6000)),
            ),
            rumour_window=timedelta(seconds=env.number("PRAHARI_CASES_RUMOUR_WINDOW_S", 259200)),
        )

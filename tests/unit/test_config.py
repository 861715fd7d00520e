from __future__ import annotations

import pytest

from prahari_events.config import CommonSettings, Env
from prahari_events.errors import ConfigError
from prahari_intake.config import Settings as IntakeSettings
from prahari_notify.config import Settings as NotifySettings


def test_a_missing_token_trust_file_fails_loudly() -> None:
    with pytest.raises(ConfigError, match="PRAHARI_TOKEN_TRUST"):
        CommonSettings.from_env(Env({}), service="cases", default_port=1)


def test_a_malformed_number_fails_loudly() -> None:
    env = Env({"PRAHARI_TOKEN_TRUST": "trust.json", "PRAHARI_CASES_PORT": "eighty"})
    with pytest.raises(ConfigError, match="PRAHARI_CASES_PORT"):
        CommonSettings.from_env(env, service="cases", default_port=1)


def test_an_unsafe_schema_name_is_refused() -> None:
    env = Env({"PRAHARI_TOKEN_TRUST": "trust.json", "PRAHARI_DB_SCHEMA": "x; DROP TABLE"})
    with pytest.raises(ConfigError, match="PRAHARI_DB_SCHEMA"):
        CommonSettings.from_env(env, service="cases", default_port=1)


def test_secrets_do_not_print_themselves() -> None:
    settings = IntakeSettings.from_env(
        {
            "PRAHARI_TOKEN_TRUST": "trust.json",
            "PRAHARI_SMS_WEBHOOK_SECRET": "very-secret-value",
            "PRAHARI_UNIT_DIRECTORY": "units.json",
        }
    )
    assert "very-secret-value" not in repr(settings)


def test_notify_needs_its_gateway_and_directory() -> None:
    with pytest.raises(ConfigError, match="PRAHARI_UNIT_DIRECTORY"):
        NotifySettings.from_env({"PRAHARI_TOKEN_TRUST": "trust.json"})

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from prahari_events import lgd
from prahari_events.auth import TokenAuthority, Unit, check_unit
from prahari_events.errors import ConfigError, InvalidInput, Unauthenticated
from prahari_events.policy import Area, CaseAccess, may_read
from tests.factories import AUDITOR, BIHAR, CHANDAULI, SONBHADRA, STATE_ROOM, STATION, UP

SECRET = "unit-test-secret-0123456789-abcdefghij"


def test_lgd_knows_up_and_its_border_districts() -> None:
    directory = lgd.load()
    assert directory.problems(UP, SONBHADRA) == {}
    assert directory.problems(UP, CHANDAULI) == {}
    assert directory.district_name(SONBHADRA) == "Sonbhadra"
    for state in (9, 10, 20, 22, 6, 23, 2, 5, 8, 7):  # UP and its nine neighbours
        assert state in directory.states


def test_lgd_names_the_bad_field() -> None:
    directory = lgd.load()
    assert "district" in directory.problems(BIHAR, SONBHADRA)  # Sonbhadra is in UP
    assert "state" in directory.problems(99, None)
    assert "district" in directory.problems(UP, 99999)


def test_a_minted_token_verifies_to_the_same_unit() -> None:
    tokens = TokenAuthority(SECRET)
    assert tokens.verify(tokens.mint(STATION, timedelta(hours=1))) == STATION
    assert tokens.verify(tokens.mint(AUDITOR, timedelta(hours=1))) == AUDITOR


def test_an_expired_token_is_refused() -> None:
    tokens = TokenAuthority(SECRET)
    old = tokens.mint(STATION, timedelta(minutes=1), now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(old)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = TokenAuthority("another-secret-0123456789-abcdefghijkl").mint(
        STATION, timedelta(hours=1)
    )
    with pytest.raises(Unauthenticated):
        TokenAuthority(SECRET).verify(forged)


def test_a_token_with_an_unknown_role_is_refused() -> None:
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "prahari",
        "sub": "x",
        "kind": "police_station",
        "role": "king",
        "state": 9,
        "district": None,
        "iat": now,
        "exp": now + 60,
    }
    with pytest.raises(Unauthenticated, match="unknown role"):
        TokenAuthority(SECRET).verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_jurisdiction_rules() -> None:
    assert STATION.may_write(UP, SONBHADRA)
    assert not STATION.may_write(UP, CHANDAULI)
    # Reading goes by the shared policy (tests/unit/test_policy.py has its whole table).
    bihar_case = CaseAccess(owner=Area(BIHAR, 200), reported_by=None)
    assert not may_read(STATION, bihar_case)
    assert STATE_ROOM.may_write(UP, CHANDAULI)  # a state unit covers every district
    assert not may_read(STATE_ROOM, bihar_case)
    assert may_read(AUDITOR, bihar_case)
    assert not AUDITOR.may_write(UP, SONBHADRA)  # auditors change nothing


def test_minting_checks_the_jurisdiction_against_lgd() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_unit(Unit("x", "police_station", "reporter", BIHAR, SONBHADRA), lgd.load())
    assert "district" in caught.value.fields


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ConfigError):
        TokenAuthority("too-short")


def test_a_cached_token_is_still_refused_once_it_expires() -> None:
    tokens = TokenAuthority(SECRET, leeway_s=0)
    token = tokens.mint(
        STATION, timedelta(seconds=11), now=datetime.now(UTC) - timedelta(seconds=10)
    )
    assert tokens.verify(token) == STATION  # verified and cached
    time.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)

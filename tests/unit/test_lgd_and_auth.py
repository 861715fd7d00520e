from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from prahari_events import lgd
from prahari_events.auth import (
    TokenAuthority,
    TokenIssuer,
    Unit,
    check_unit,
    dev_issuer,
    ensure_dev_issuers,
)
from prahari_events.errors import InvalidInput, Unauthenticated
from prahari_events.keys import key_id, load_signing_key, trust_entry
from prahari_events.policy import Area, CaseAccess, may_read
from tests.factories import AUDITOR, BIHAR, CHANDAULI, SONBHADRA, STATE_ROOM, STATION, UP


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


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("issuers")
    ensure_dev_issuers(folder, folder / "trust.json", [UP, BIHAR])
    return folder


def authority(keys: Path, **options: Any) -> TokenAuthority:
    return TokenAuthority(str(keys / "trust.json"), service="cases", **options)


def test_a_minted_token_verifies_to_the_same_unit_and_names_its_issuer(keys: Path) -> None:
    tokens = authority(keys)
    unit = tokens.verify(dev_issuer(keys, UP).mint(STATION, timedelta(hours=1)))
    assert (unit, unit.issuer) == (STATION, "state-9")
    assert unit.actor().to_json()["issuer"] == "state-9"  # recorded with every event it causes
    auditor = tokens.verify(dev_issuer(keys, None).mint(AUDITOR, timedelta(hours=1)))
    assert (auditor, auditor.issuer) == (AUDITOR, "national")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "state-9", "aud": ["intake", "cases", "notify"], "sub": STATION.unit_id,
        "kind": STATION.kind, "role": STATION.role, "state": UP, "district": SONBHADRA,
        "iat": now, "exp": now + 600, "jti": "t-1",
    }  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(keys: Path, claims: dict[str, Any], *, issuer: str = "state-9") -> str:
    key = load_signing_key(keys / f"{issuer}.pem")
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(key)})


def _hs256_with_public_key(keys: Path) -> str:
    """HS256 with the issuer's public key as the HMAC secret, made by hand: PyJWT itself
    refuses to make one."""
    key = load_signing_key(keys / "state-9.pem")
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key_id(key)}).encode())
    body = b64(json.dumps(_claims()).encode())
    mac = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def _unsigned(keys: Path) -> str:
    """alg=none: no signature at all."""
    return jwt.encode(_claims(), "", algorithm="none")


@pytest.mark.parametrize(
    ("make", "why"),
    [
        # alg=none: no signature at all.
        (_unsigned, "EdDSA"),
        # HS256 with the issuer's public key as the HMAC secret (the classic confusion).
        (_hs256_with_public_key, "EdDSA"),
        (lambda k: _signed(k, _claims(iss="state-99")), "issuer is not trusted"),
        (lambda k: _signed(k, _claims(aud=["intake"])), "(?i)audience"),
        (lambda k: _signed(k, _claims(exp=None)), "exp"),
        (lambda k: _signed(k, _claims(exp=int(time.time()) + 13 * 3600)), "longer than allowed"),
        (lambda k: jwt.encode(_claims(), load_signing_key(k / "state-9.pem"), algorithm="EdDSA",
                              headers={"kid": "0000000000000000"}), "kid"),
        # Bihar's issuer speaking for a UP unit, or making an auditor.
        (lambda k: _signed(k, _claims(iss="state-10"), issuer="state-10"), "state 9"),
        (lambda k: _signed(k, _claims(iss="state-10", role="auditor", kind="audit_office",
                                      state=None, district=None), issuer="state-10"),
         "may not make auditors"),
        # Signed by UP's key but claiming to come from Bihar's issuer: the kid is not Bihar's.
        (lambda k: _signed(k, _claims(iss="state-10", state=10, district=None)), "kid"),
        (lambda k: _signed(k, _claims(nbf=int(time.time()) + 3600)), "not yet valid"),
        (lambda k: _signed(k, _claims(role="king")), "unknown role"),
    ],
)  # fmt: skip
def test_tokens_that_are_refused(keys: Path, make: Any, why: str) -> None:
    with pytest.raises(Unauthenticated, match=why):
        authority(keys).verify(make(keys))


def test_a_revoked_unit_or_token_is_refused_while_running(keys: Path, tmp_path: Path) -> None:
    revoked = tmp_path / "revoked.json"
    revoked.write_text(json.dumps({"units": [], "tokens": []}), "utf-8")
    tokens = authority(keys, revocations_path=str(revoked), reload_s=0)
    lost = dev_issuer(keys, UP).mint(STATION, timedelta(hours=1))
    leaked = dev_issuer(keys, UP).mint(STATE_ROOM, timedelta(hours=1), token_id="leaked-1")
    assert tokens.verify(lost) == STATION  # verified and cached
    assert tokens.verify(leaked) == STATE_ROOM
    revoked.write_text(
        json.dumps({"units": [{"state": UP, "unit_id": STATION.unit_id}], "tokens": ["leaked-1"]}),
        "utf-8",
    )
    os.utime(revoked, ns=(time.time_ns(), time.time_ns() + 10**9))  # a newer file
    for token in (lost, leaked):
        with pytest.raises(Unauthenticated, match="revoked"):
            tokens.verify(token)
    # Another unit of the same id in another state is not the revoked one.
    namesake = Unit(STATION.unit_id, "police_station", "reporter", BIHAR, None)
    assert tokens.verify(dev_issuer(keys, BIHAR).mint(namesake, timedelta(hours=1))) == namesake


def test_a_key_added_to_the_trust_file_is_taken_without_a_restart(
    keys: Path, tmp_path: Path
) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text((keys / "trust.json").read_text("utf-8"), "utf-8")
    tokens = TokenAuthority(str(trust), service="cases", reload_s=0)
    rotated = TokenIssuer("state-9", Ed25519PrivateKey.generate())
    fresh = rotated.mint(STATION, timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="kid"):
        tokens.verify(fresh)
    data = json.loads(trust.read_text("utf-8"))
    data["issuers"]["state-9"]["keys"].append(trust_entry(rotated._key))
    trust.write_text(json.dumps(data), "utf-8")
    os.utime(trust, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert tokens.verify(fresh) == STATION


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


def test_a_cached_token_is_still_refused_once_it_expires(keys: Path) -> None:
    tokens = authority(keys, leeway_s=0)
    token = dev_issuer(keys, UP).mint(
        STATION, timedelta(seconds=11), now=datetime.now(UTC) - timedelta(seconds=10)
    )
    assert tokens.verify(token) == STATION  # verified and cached
    time.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)

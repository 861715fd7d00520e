"""Who is asking: signed bearer tokens that name a unit, its kind, its role and its
jurisdiction, and the rules of what each role may see and do.

Tokens are JWTs signed with EdDSA (Ed25519, PyJWT) by an issuer: each state's identity
service, and a national one for auditors. A trust file names each issuer's public keys (by
`kid`) and the states it may speak for, so Bihar's issuer cannot make a UP control room or
an auditor. Every token names the services it is for (`aud`), expires, and lives no longer
than allowed; a revocation list refuses a lost phone's unit or a leaked token at once. Both
files are read again when they change. `prahari-token` mints with development issuers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from prahari_events import lgd
from prahari_events.envelope import Actor
from prahari_events.errors import ConfigError, InvalidInput, Unauthenticated
from prahari_events.keys import (
    key_id,
    load_signing_key,
    trust_entry,
    trusted_keys,
    write_new_key,
)

UNIT_KINDS = (
    "police_station",
    "check_post",
    "flying_squad",
    "static_surveillance_team",
    "district_control_room",
    "state_control_room",
    "social_media_cell",
    "excise_unit",
    "audit_office",
)
# reporter: files reports for its own jurisdiction and reads what it filed.
# control_room: files and reads everything in its jurisdiction (a state-level unit, with no
#   district, covers the whole state).
# auditor: reads everything, everywhere, and changes nothing.
ROLES = ("reporter", "control_room", "auditor")


@dataclass(frozen=True, slots=True)
class Unit:
    unit_id: str
    kind: str
    role: str
    state: int | None
    district: int | None
    # Who vouched for it (the token's issuer); not part of a unit's identity.
    issuer: str | None = field(default=None, compare=False)

    def actor(self) -> Actor:
        return Actor(self.unit_id, self.role, self.kind, self.state, self.district, self.issuer)

    def covers(self, state: int, district: int | None) -> bool:
        """Is (state, district) inside this unit's own jurisdiction?"""
        if self.state != state:
            return False
        return self.district is None or self.district == district

    def may_write(self, state: int, district: int | None) -> bool:
        return self.role != "auditor" and self.covers(state, district)


# The services a token may be for; a token names those it is for in `aud` (by default all).
SERVICES = ("intake", "cases", "notify")
# The issuer whose tokens may name auditors (a national one: auditors have no state).
NATIONAL = "national"


@dataclass(frozen=True, slots=True)
class Issuer:
    """A trusted token issuer: a state's identity service (or the national one), its public
    keys by id, the states it may speak for, and whether it may make auditors."""

    name: str
    states: frozenset[int]
    auditors: bool
    keys: Mapping[str, Ed25519PublicKey]


def load_trust(path: str | Path) -> dict[str, Issuer]:
    """The trust file: {"issuers": {"<name>": {"states": [9], "auditors": false,
    "keys": [{"kid": ..., "public_key": <base64>}]}}}."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        return {
            name: Issuer(
                name,
                frozenset(int(s) for s in entry.get("states", [])),
                bool(entry.get("auditors", False)),
                trusted_keys(entry["keys"]),
            )
            for name, entry in data["issuers"].items()
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"token trust file {path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Revocations:
    """Lost phones and leaked tokens: units (by state and id) and token ids refused at once."""

    units: frozenset[tuple[int | None, str]] = frozenset()
    tokens: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: str | Path) -> Revocations:
        try:
            data = json.loads(Path(path).read_text("utf-8"))
            return cls(
                frozenset((u.get("state"), str(u["unit_id"])) for u in data.get("units", [])),
                frozenset(str(t) for t in data.get("tokens", [])),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"token revocation list {path}: {exc}") from exc


class _Watched:
    """A file read again when it changes, looked at no more than every `every_s` seconds:
    keys added (rotation) and units revoked take effect while the service runs."""

    def __init__(self, path: str, load: Any, every_s: float, clock: Any) -> None:
        self._path, self._load, self._every, self._clock = path, load, every_s, clock
        self._seen = os.stat(path).st_mtime_ns
        self.value = load(path)
        self._looked = clock()

    def current(self) -> Any:
        now = self._clock()
        if now - self._looked >= self._every:
            self._looked = now
            try:
                changed = os.stat(self._path).st_mtime_ns
            except OSError:
                return self.value  # gone for a moment (being replaced): keep the last one
            if changed != self._seen:
                self.value = self._load(self._path)  # a broken file raises: loudly
                self._seen = changed
        return self.value


class TokenAuthority:
    """Verifies bearer tokens for one service: EdDSA only, signed by a trusted issuer's key
    (by `kid`), issued by an issuer that may speak for the token's state (the national one
    for auditors), for this service (`aud`), within the longest lifetime allowed, and not
    revoked."""

    # Verified tokens, by their exact text: a unit sends many requests with one token, and
    # checking a signature costs more than validating the report it carries. Expiry and
    # revocation are still checked on every use; the cache is bounded.
    _CACHE_SIZE = 10_000

    def __init__(
        self,
        trust_path: str,
        *,
        service: str,
        revocations_path: str | None = None,
        max_lifetime_s: float = 12 * 3600,
        leeway_s: int = 30,
        reload_s: float = 30.0,
        clock: Any = time.time,
    ) -> None:
        self._service = service
        self._trust = _Watched(trust_path, load_trust, reload_s, clock)
        self._revoked = (
            _Watched(revocations_path, Revocations.load, reload_s, clock)
            if revocations_path
            else None
        )
        self._max_lifetime = max_lifetime_s
        self._leeway = leeway_s
        self._clock = clock
        self._verified: dict[str, tuple[Unit, float, str]] = {}

    def verify(self, token: str) -> Unit:
        known = self._verified.get(token)
        if known is None:
            known = self._verify(token)
            if len(self._verified) >= self._CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = known
        unit, expires, token_id = known
        if self._clock() >= expires + self._leeway:
            self._verified.pop(token, None)
            raise Unauthenticated("the token has expired")
        revoked: Revocations = self._revoked.current() if self._revoked else Revocations()
        if (unit.state, unit.unit_id) in revoked.units or token_id in revoked.tokens:
            raise Unauthenticated("the token was revoked")
        return unit

    def _verify(self, token: str) -> tuple[Unit, float, str]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        if header.get("alg") != "EdDSA":
            raise Unauthenticated("the token must be signed with EdDSA")
        issuer: Issuer | None = self._trust.current().get(str(unverified.get("iss")))
        if issuer is None:
            raise Unauthenticated("the token's issuer is not trusted")
        key = issuer.keys.get(str(header.get("kid")))
        if key is None:
            raise Unauthenticated("the token's key (kid) is not one of its issuer's")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                issuer=issuer.name,
                audience=self._service,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        if float(claims["exp"]) - float(claims["iat"]) > self._max_lifetime:
            raise Unauthenticated("the token lives longer than allowed")
        unit = _unit_of(claims, issuer)
        return unit, float(claims["exp"]), str(claims["jti"])


def _unit_of(claims: Mapping[str, Any], issuer: Issuer) -> Unit:
    role, kind = claims.get("role"), claims.get("kind")
    state, district = claims.get("state"), claims.get("district")
    if role not in ROLES or kind not in UNIT_KINDS:
        raise Unauthenticated("the token names an unknown role or unit kind")
    if not (state is None or isinstance(state, int)) or not (
        district is None or isinstance(district, int)
    ):
        raise Unauthenticated("the token's jurisdiction is malformed")
    if role == "auditor":
        if not issuer.auditors:
            raise Unauthenticated(f"issuer {issuer.name} may not make auditors")
    elif state is None:
        raise Unauthenticated("only auditors may hold a token without a state")
    elif state not in issuer.states:
        raise Unauthenticated(f"issuer {issuer.name} may not speak for state {state}")
    return Unit(str(claims["sub"]), kind, role, state, district, issuer=issuer.name)


class TokenIssuer:
    """What a state's identity service does (development and tests mint with it)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        self.name = name
        self._key = key
        self._kid = key_id(key)

    def mint(
        self,
        unit: Unit,
        ttl: timedelta,
        *,
        now: datetime | None = None,
        audience: Sequence[str] = SERVICES,
        not_before: datetime | None = None,
        token_id: str | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.name,
            "aud": list(audience),
            "sub": unit.unit_id,
            "kind": unit.kind,
            "role": unit.role,
            "state": unit.state,
            "district": unit.district,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            "jti": token_id or uuid.uuid4().hex,
        }
        if not_before is not None:
            claims["nbf"] = int(not_before.timestamp())
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self._kid})


def issuer_name(state: int | None) -> str:
    """The development issuer for a state (or the national one for auditors)."""
    return NATIONAL if state is None else f"state-{state}"


def ensure_dev_issuers(folder: Path, trust_path: Path, states: Sequence[int]) -> None:
    """Development keys, one issuer per state and a national one for auditors, and the trust
    file that lists them (infra/services.sh, the tests)."""
    issuers: dict[str, Any] = {}
    for name, served, auditors in [
        *((issuer_name(s), [s], False) for s in states),
        (NATIONAL, [], True),
    ]:
        path = folder / f"{name}.pem"
        key = load_signing_key(path) if path.exists() else write_new_key(path)
        issuers[name] = {
            "states": served,
            "auditors": auditors,
            "keys": [trust_entry(key)],
        }
    trust_path.write_text(json.dumps({"issuers": issuers}, indent=1) + "\n", "utf-8")


def dev_issuer(folder: Path, state: int | None) -> TokenIssuer:
    name = issuer_name(state)
    return TokenIssuer(name, load_signing_key(folder / f"{name}.pem"))


def check_unit(unit: Unit, directory: lgd.Directory) -> None:
    if unit.kind not in UNIT_KINDS:
        raise InvalidInput("unknown unit kind", fields={"kind": [f"one of {UNIT_KINDS}"]})
    if unit.role not in ROLES:
        raise InvalidInput("unknown role", fields={"role": [f"one of {ROLES}"]})
    problems = directory.problems(unit.state, unit.district)
    if problems:
        raise InvalidInput("unknown jurisdiction", fields=problems)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prahari-token",
        description="Mint a signed bearer token for a unit (development and tests), with the "
        "development issuer of its state (PRAHARI_TOKEN_KEYS: the folder of issuer keys).",
    )
    parser.add_argument("--unit", required=True, help="unit id, e.g. UP-SON-PS-ROBERTSGANJ")
    parser.add_argument("--kind", required=True, choices=UNIT_KINDS)
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--state", type=int, help="LGD state code (e.g. 9 for Uttar Pradesh)")
    parser.add_argument("--district", type=int, help="LGD district code (e.g. 184)")
    parser.add_argument("--ttl-hours", type=float, default=12.0)
    parser.add_argument("--audience", nargs="+", default=list(SERVICES), choices=SERVICES)
    args = parser.parse_args(argv)
    folder = os.environ.get("PRAHARI_TOKEN_KEYS")
    if not folder:
        print("prahari-token: PRAHARI_TOKEN_KEYS must name the issuer keys", file=sys.stderr)
        return 2
    unit = Unit(args.unit, args.kind, args.role, args.state, args.district)
    try:
        check_unit(unit, lgd.load())
        issuer = dev_issuer(Path(folder), None if args.role == "auditor" else args.state)
    except (InvalidInput, ConfigError) as exc:
        print(f"prahari-token: {exc}", file=sys.stderr)
        return 2
    print(issuer.mint(unit, timedelta(hours=args.ttl_hours), audience=args.audience))
    return 0


def keys_main(argv: Sequence[str] | None = None) -> int:
    """prahari-token-keys --dir D --trust F: development issuers for every LGD state."""
    parser = argparse.ArgumentParser(prog="prahari-token-keys", description=keys_main.__doc__)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--trust", required=True, type=Path)
    args = parser.parse_args(argv)
    ensure_dev_issuers(args.dir, args.trust, sorted(lgd.load().states))
    return 0


if __name__ == "__main__":
    sys.exit(main())

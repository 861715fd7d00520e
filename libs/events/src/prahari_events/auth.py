"""Who is asking: signed bearer tokens that name a unit, its kind, its role and its
jurisdiction, and the rules of what each role may see and do.

Tokens are JWTs signed with HMAC-SHA256 (PyJWT) and always expire. `prahari-token` mints
them for development and tests; in the field a state's identity service would issue them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from prahari_events import lgd
from prahari_events.envelope import Actor
from prahari_events.errors import ConfigError, InvalidInput, Unauthenticated

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
ISSUER = "prahari"


@dataclass(frozen=True, slots=True)
class Unit:
    unit_id: str
    kind: str
    role: str
    state: int | None
    district: int | None

    def actor(self) -> Actor:
        return Actor(self.unit_id, self.role, self.kind, self.state, self.district)

    def covers(self, state: int, district: int | None) -> bool:
        """Is (state, district) inside this unit's own jurisdiction?"""
        if self.state != state:
            return False
        return self.district is None or self.district == district

    def may_write(self, state: int, district: int | None) -> bool:
        return self.role != "auditor" and self.covers(state, district)


class TokenAuthority:
    # Verified tokens, by their exact text: a unit sends many requests with one token, and
    # checking a signature costs more than validating the report it carries. Expiry is
    # still checked on every use; the cache is bounded.
    _CACHE_SIZE = 10_000

    def __init__(self, secret: str, *, leeway_s: int = 30) -> None:
        # RFC 7518 3.2: an HS256 key must be at least as long as the hash (32 bytes).
        if len(secret.encode()) < 32:
            raise ConfigError("the token secret must be at least 32 bytes")
        self._secret = secret
        self._leeway = leeway_s
        self._verified: dict[str, tuple[Unit, float]] = {}

    def mint(self, unit: Unit, ttl: timedelta, *, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": unit.unit_id,
            "kind": unit.kind,
            "role": unit.role,
            "state": unit.state,
            "district": unit.district,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Unit:
        known = self._verified.get(token)
        if known is not None:
            unit, expires = known
            if time.time() < expires + self._leeway:
                return unit
            del self._verified[token]
            raise Unauthenticated("the token has expired")
        unit, expires = self._verify(token)
        if len(self._verified) >= self._CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (unit, expires)
        return unit

    def _verify(self, token: str) -> tuple[Unit, float]:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from None
        role, kind = claims.get("role"), claims.get("kind")
        state, district = claims.get("state"), claims.get("district")
        if role not in ROLES or kind not in UNIT_KINDS:
            raise Unauthenticated("the token names an unknown role or unit kind")
        if not (state is None or isinstance(state, int)) or not (
            district is None or isinstance(district, int)
        ):
            raise Unauthenticated("the token's jurisdiction is malformed")
        if role != "auditor" and state is None:
            raise Unauthenticated("only auditors may hold a token without a state")
        return Unit(str(claims["sub"]), kind, role, state, district), float(claims["exp"])


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
        description="Mint a signed bearer token for a unit (development and tests). "
        "The secret is read from PRAHARI_TOKEN_SECRET.",
    )
    parser.add_argument("--unit", required=True, help="unit id, e.g. UP-SON-PS-ROBERTSGANJ")
    parser.add_argument("--kind", required=True, choices=UNIT_KINDS)
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--state", type=int, help="LGD state code (e.g. 9 for Uttar Pradesh)")
    parser.add_argument("--district", type=int, help="LGD district code (e.g. 184)")
    parser.add_argument("--ttl-hours", type=float, default=12.0)
    args = parser.parse_args(argv)
    secret = os.environ.get("PRAHARI_TOKEN_SECRET")
    if not secret:
        print("prahari-token: PRAHARI_TOKEN_SECRET must be set", file=sys.stderr)
        return 2
    unit = Unit(args.unit, args.kind, args.role, args.state, args.district)
    try:
        check_unit(unit, lgd.load())
    except InvalidInput as exc:
        print(f"prahari-token: {exc.message}: {dict(exc.fields)}", file=sys.stderr)
        return 2
    print(TokenAuthority(secret).mint(unit, timedelta(hours=args.ttl_hours)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

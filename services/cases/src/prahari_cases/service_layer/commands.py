"""Carries out a unit's command on a case: read the case and any answer already given under
the request's Idempotency-Key (one query), check, decide, then commit the events with their
outbox rows, the read model and the remembered answer in one statement, all or nothing. No
transaction is held open while Python decides; optimistic concurrency does the rest: when
someone else committed first, the command is read and decided again.

The order of the checks is part of the contract: a replayed Idempotency-Key answers as the
first time did, before If-Match is looked at (the first success moved the version on);
then a case the unit may not see is 404, an action not the unit's is 403, a state change
without If-Match is 428, and a stale If-Match is 412.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import asyncpg

from prahari_cases.adapters import read_model
from prahari_cases.domain import commands as cmd
from prahari_cases.domain.case import Case, decide, stream_for
from prahari_cases.domain.events import Assignee
from prahari_cases.service_layer.handlers import Clock, case_from, drafts_for, fold
from prahari_events import policy
from prahari_events.auth import Unit
from prahari_events.envelope import Jurisdiction, utcnow
from prahari_events.errors import (
    ConcurrencyError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unavailable,
    Unprocessable,
)
from prahari_events.store import EventStore
from prahari_events.units import UnitDirectory


@dataclass(frozen=True, slots=True)
class AssignTo:
    """An assignment as a unit asks for it: by unit id, which the directory resolves within
    the case owner's state."""

    ACTION: ClassVar[policy.Action | None] = policy.Action.ASSIGN
    STATE_CHANGE: ClassVar[bool] = True
    unit_id: str
    note: str | None = None


Request = cmd.Command | AssignTo


@dataclass(frozen=True, slots=True)
class Answer:
    case: dict[str, Any]
    version: int
    replayed: bool


class CaseCommands:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        topic: str,
        units: UnitDirectory,
        *,
        clock: Clock = utcnow,
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
        attempts: int = 8,
    ) -> None:
        # Ids of notes and seizures: injected, like the clock, so tests can name them.
        self.new_id = new_id
        self._pool = pool
        self._store = store
        self._topic = topic
        self._units = units
        self._clock = clock
        self._attempts = attempts

    async def execute(
        self,
        unit: Unit,
        case_id: uuid.UUID,
        request: Request,
        *,
        if_match: int | None,
        key: str | None,
        fingerprint: bytes,
    ) -> Answer:
        claim = (
            read_model.KeyClaim(f"{unit.state}:{unit.unit_id}", key, fingerprint) if key else None
        )
        for _ in range(self._attempts):
            row, held = await read_model.load_for_command(self._pool, case_id, claim)
            if held is not None:
                if held.request_hash != fingerprint:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was already used for a different request",
                        fields={"Idempotency-Key": ["already used for a different request"]},
                    )
                return Answer(held.body, held.version, replayed=True)
            case = await case_from(row, self._pool, self._store, case_id)
            if case is None or not policy.may_read(unit, case.access()):
                raise NotFound("no such case")
            self._check(unit, case, request, if_match)
            now = self._clock()
            decided = decide(case, self._resolve(case, request), now)
            prepared = (
                self._store.prepare(
                    stream_for(case_id),
                    case.version,
                    drafts_for(
                        decided,
                        actor=unit.actor(),
                        jurisdiction=Jurisdiction(case.state, case.district),
                        correlation_id=case.correlation_id,
                        occurred_at=now,
                    ),
                    publish_to=self._topic,
                )
                if decided
                else None
            )
            after = fold(case, prepared.envelopes) if prepared else case
            body = after.to_json()
            if prepared is not None or claim is not None:
                try:
                    await read_model.commit(self._pool, prepared, after, body, claim)
                except ConcurrencyError:
                    # Someone else was first. Read again: a stale If-Match is then a 412, a
                    # twin's key gives the twin's answer, and a note is decided again (notes
                    # and seizures never conflict with each other).
                    continue
            return Answer(body, after.version, replayed=False)
        raise Unavailable("the case is too busy right now; retry", retry_after_s=1)

    @staticmethod
    def _check(unit: Unit, case: Case, request: Request, if_match: int | None) -> None:
        action = request.ACTION
        assert action is not None
        if not policy.may(unit, action, case.access()):
            raise Forbidden(_why_not(unit, action))
        if request.STATE_CHANGE and if_match is None:
            raise PreconditionRequired(
                "this command changes the case: send If-Match with the case's ETag",
                fields={"If-Match": [f'required, e.g. If-Match: "{case.version}"']},
            )
        if if_match is not None and if_match != case.version:
            raise PreconditionFailed(
                "the case changed since that version; read it again",
                fields={"If-Match": [f"the case is at version {case.version}"]},
            )

    def _resolve(self, case: Case, request: Request) -> cmd.Command:
        if not isinstance(request, AssignTo):
            return request
        found = self._units.get(policy.UnitRef(case.state, request.unit_id))
        if found is None:
            raise Unprocessable(
                "no such unit in the case owner's state",
                fields={"unit_id": [f"no unit {request.unit_id} in state {case.state}"]},
            )
        assignee = Assignee(policy.UnitRef(case.state, found.unit_id), found.kind, found.name)
        return cmd.Assign(assignee, request.note)


def _why_not(unit: Unit, action: policy.Action) -> str:
    if policy.is_auditor(unit):
        return "auditors read cases and change nothing"
    who = sorted(r.value.replace("_", " ") for r in policy.RULES[action])
    return f"only the case's {' or '.join(who)} may {action.value.replace('_', ' ')}"

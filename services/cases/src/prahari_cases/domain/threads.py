"""Threads: where border districts and a case's units talk, on the record, instead of in a
WhatsApp group. A border pair has one standing thread (its id is the pair's); a case has one
(its id is the case's). Members are units, and who they are follows from the pair or from
the case as it stands (the access policy says which units): a posting changes nothing, and
a share or a transfer changes a case thread's members with the case.

Every message is a `thread.message_posted` event in the thread's own stream, `thread-<id>`.
Pure: who may read or post is the policy's (prahari_events.policy), checked before `post`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from prahari_cases.domain.events import Attachment
from prahari_events import catalogue as c
from prahari_events.borders import BorderPair
from prahari_events.envelope import JSON
from prahari_events.errors import Unprocessable
from prahari_events.policy import Area, CaseAccess, UnitRef

BORDER, CASE = "border", "case"
MAX_MENTIONS = 20
_KEYED_IDS = uuid.UUID("0b7f3f9e-4c8a-4d59-9a8e-2f1d6c3b5a71")


def stream_for(thread_id: uuid.UUID) -> str:
    return f"thread-{thread_id}"


def message_id_for(poster: UnitRef, thread_id: uuid.UUID, key: str) -> uuid.UUID:
    """A retried post (the same Idempotency-Key from the same unit) names the same message."""
    return uuid.uuid5(_KEYED_IDS, f"{poster.state}:{poster.unit_id}:{thread_id}:{key}")


@dataclass(frozen=True, slots=True)
class Thread:
    """A thread as it stands: what it is about and whose it is."""

    thread_id: uuid.UUID
    kind: str
    title: str
    # A border thread's two districts; a case thread's owner and its partners' areas: whose
    # control rooms notify tells of new messages.
    audience: tuple[Area, ...]
    case_id: uuid.UUID | None = None
    access: CaseAccess | None = None  # a case thread's

    def to_json(self) -> JSON:
        return {
            "thread_id": str(self.thread_id),
            "kind": self.kind,
            "title": self.title,
            "case_id": str(self.case_id) if self.case_id else None,
            "sides": [{"state": a.state, "district": a.district} for a in self.audience]
            if self.kind == BORDER
            else None,
        }


def border_thread(pair: BorderPair, name: Callable[[Area], str]) -> Thread:
    return Thread(
        pair.pair_id,
        BORDER,
        f"{name(pair.up)} – {name(pair.other)}",
        (pair.up, pair.other),
    )


def case_thread(case_id: uuid.UUID, access: CaseAccess, title: str) -> Thread:
    audience = (access.owner, *(a for a in access.shares if a != access.owner))
    return Thread(case_id, CASE, title, audience, case_id=case_id, access=access)


@dataclass(frozen=True, slots=True)
class Post:
    message_id: uuid.UUID
    text: str
    attachments: tuple[Attachment, ...] = ()
    mentions: tuple[UnitRef, ...] = ()


@dataclass(frozen=True, slots=True)
class MessagePosted:
    TYPE: ClassVar[str] = c.THREAD_MESSAGE_POSTED
    thread_id: uuid.UUID
    kind: str
    message_id: uuid.UUID
    text: str
    attachments: tuple[Attachment, ...]
    mentions: tuple[UnitRef, ...]
    audience: tuple[Area, ...]
    case_id: uuid.UUID | None

    def payload(self) -> JSON:
        return {
            "thread_id": str(self.thread_id),
            "kind": self.kind,
            "message_id": str(self.message_id),
            "text": self.text,
            "attachments": [a.to_json() for a in self.attachments],
            "mentions": [{"state": m.state, "unit_id": m.unit_id} for m in self.mentions],
            "audience": [{"state": a.state, "district": a.district} for a in self.audience],
            "case_id": str(self.case_id) if self.case_id else None,
        }

    @classmethod
    def parse(cls, p: Mapping[str, Any]) -> MessagePosted:
        return cls(
            uuid.UUID(p["thread_id"]),
            p["kind"],
            uuid.UUID(p["message_id"]),
            p["text"],
            tuple(Attachment.from_json(a) for a in p["attachments"]),
            tuple(UnitRef(m["state"], m["unit_id"]) for m in p["mentions"]),
            tuple(Area(a["state"], a["district"]) for a in p["audience"]),
            uuid.UUID(p["case_id"]) if p["case_id"] else None,
        )


def post(thread: Thread, command: Post, member: Callable[[UnitRef], bool | None]) -> MessagePosted:
    """The event a post makes. `member(ref)`: True for a member, False for a unit that is not
    one, None for a unit the directory does not know. A mention of anyone but a member is
    refused by name: a mention sends an SMS, and only to someone who can read the thread."""
    if not command.text.strip():
        raise Unprocessable("the message is empty", fields={"text": ["must not be blank"]})
    problems: list[str] = []
    for ref in command.mentions:
        known = member(ref)
        if known is None:
            problems.append(f"{ref.unit_id} ({ref.state}) is not in the unit directory")
        elif not known:
            problems.append(f"{ref.unit_id} ({ref.state}) is not a member of this thread")
    if len(set(command.mentions)) != len(command.mentions):
        problems.append("a unit is mentioned twice")
    if problems:
        raise Unprocessable("the message mentions units it cannot", fields={"mentions": problems})
    return MessagePosted(
        thread.thread_id,
        thread.kind,
        command.message_id,
        command.text,
        command.attachments,
        command.mentions,
        thread.audience,
        thread.case_id,
    )

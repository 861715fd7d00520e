"""What notify does with each event it consumes, in the consumer's transaction: follow who
may see the case, route the event to the units the routing table names, and queue their
messages (notification.queued and a deliveries row, together). Sending happens later, in
the dispatchers, outside any transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prahari_events import catalogue as c
from prahari_events import lgd
from prahari_events.db import Conn
from prahari_events.envelope import Draft, Envelope, Jurisdiction, service_actor
from prahari_events.policy import Area, CaseAccess, UnitRef
from prahari_events.store import EventStore
from prahari_events.telemetry import current_carrier
from prahari_events.units import DirectoryUnit, UnitDirectory
from prahari_notify.adapters import store
from prahari_notify.domain import access as case_access
from prahari_notify.domain import digest
from prahari_notify.domain.messages import (
    IST,
    Message,
    case_ref,
    compose,
    details_for,
    place_name,
    reply,
    values_for,
)
from prahari_notify.domain.notification import notification_id
from prahari_notify.domain.routing import Route, RoutingTable, Unreachable, recipients
from prahari_notify.domain.templates import TEMPLATES

log = logging.getLogger("prahari.notify")

ACTOR = service_actor("notify")


def stream_for(notification_id: object) -> str:
    return f"notification-{notification_id}"


@dataclass(frozen=True, slots=True)
class Cause:
    """Why messages are queued: the event (or expiry, digest, reply) and its context."""

    key: str  # what notification ids derive from
    event_type: str
    event_id: uuid.UUID | None
    case_id: str | None
    jurisdiction: Jurisdiction
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None

    @classmethod
    def of(cls, event: Envelope, case_id: str | None, key: str | None = None) -> Cause:
        """The cause that is an event consumed; its messages' ids derive from `key` (by
        default the event's id)."""
        return cls(
            key or str(event.event_id),
            event.type,
            event.event_id,
            case_id,
            event.jurisdiction,
            event.correlation_id,
            event.event_id,
        )


class Outbox:
    """Queues messages: each one's notification.queued event and deliveries row are written
    in one statement, inside the caller's transaction; a message already queued (same
    derived id) is skipped, so a redelivered cause queues nothing twice."""

    def __init__(self, store: EventStore, topic: str, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._topic = topic
        self._clock = clock

    async def queue(
        self,
        conn: Conn,
        messages: Sequence[Message],
        cause: Cause,
        route: Route,
        *,
        digest_of: int | None = None,
        fresh: bool = False,
    ) -> list[uuid.UUID]:
        """`fresh`: the cause is an event this consumer has not processed before, so no
        message derived from it can exist yet (processed_messages guarantees it)."""
        if not messages:
            return []
        ids = [m.notification_id for m in messages]
        have = set() if fresh else await store.existing(conn, ids)
        expires_at = self._clock() + timedelta(seconds=route.ttl_s)
        trace = current_carrier()
        items = []
        for m in messages:
            if m.notification_id in have:
                continue
            draft = Draft(
                type=c.NOTIFICATION_QUEUED,
                payload=m.payload(cause.case_id, cause.event_type, expires_at, digest_of),
                actor=ACTOR,
                jurisdiction=cause.jurisdiction,
                correlation_id=cause.correlation_id,
                causation_id=cause.causation_id,
            )
            append = self._store.prepare(
                stream_for(m.notification_id), 0, [draft], publish_to=self._topic
            )
            unit = m.recipient
            items.append(
                (
                    append,
                    {
                        "notification_id": m.notification_id,
                        "case_id": uuid.UUID(cause.case_id) if cause.case_id else None,
                        "state": cause.jurisdiction.state,
                        "district": cause.jurisdiction.district,
                        "channel": m.channel,
                        "recipient_name": m.recipient_name,
                        "address": m.address,
                        "subject": m.subject,
                        "body": m.body,
                        "template_id": m.template_id,
                        "trace": trace,
                        "correlation_id": cause.correlation_id,
                        "queued_event_id": append.envelopes[0].event_id,
                        "recipient_state": unit.state if unit else None,
                        "recipient_unit": unit.unit_id if unit else None,
                        "template": m.template,
                        "cause": cause.event_type,
                        "cause_event_id": cause.event_id,
                        "expires_at": expires_at,
                        "escalate": route.escalate and unit is not None,
                    },
                )
            )
        await store.queue(conn, items)
        return ids

    async def undeliverable(self, conn: Conn, cause: Cause, lost: Sequence[Unreachable]) -> None:
        """A recipient the rule named and no one can reach: an event, never a silent skip."""
        for miss in lost:
            log.warning(
                "a routed recipient cannot be reached",
                extra={"fields": {"cause": cause.event_type, "who": miss.who, "why": miss.reason}},
            )
            nid = notification_id(cause.key, "none", f"{miss.selector}:{miss.who}")
            stream = stream_for(nid)
            if await self._store.stream_version(conn, stream) > 0:
                continue
            draft = Draft(
                type=c.NOTIFICATION_UNDELIVERABLE,
                payload={
                    "notification_id": str(nid),
                    "case_id": cause.case_id,
                    "cause": cause.event_type,
                    "recipient": f"{miss.selector}: {miss.who}",
                    "reason": miss.reason,
                },
                actor=ACTOR,
                jurisdiction=cause.jurisdiction,
                correlation_id=cause.correlation_id,
                causation_id=cause.causation_id,
            )
            await self._store.append(conn, stream, 0, [draft], publish_to=self._topic)


class NotifyHandlers:
    def __init__(
        self,
        outbox: Outbox,
        routes: RoutingTable,
        units: UnitDirectory,
        places: lgd.Directory,
        *,
        digest_window_s: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._outbox = outbox
        self._routes = routes
        self._units = units
        self._places = places
        self._digest_s = digest_window_s
        self._clock = clock
        # What notify follows: what changes who may see a case, what the routing table
        # names, and intake's requests for SMS replies.
        self.wants = case_access.ACCESS_EVENTS | routes.event_types | {c.SMS_REPLY_REQUESTED}

    async def __call__(self, conn: Conn, envelope: Envelope) -> None:
        if envelope.type == c.SMS_REPLY_REQUESTED:
            await self.reply(conn, envelope)
            return
        if envelope.type == c.THREAD_MESSAGE_POSTED:
            await self.thread_message(conn, envelope)
            return
        access: CaseAccess | None = None
        report_type: str | None = None
        if "case_id" in envelope.payload:
            access, report_type = await self.follow_access(conn, envelope)
        route = self._routes.route(envelope.type)
        if route is not None:
            await self.route(conn, envelope, route, access, report_type)

    async def follow_access(
        self, conn: Conn, event: Envelope
    ) -> tuple[CaseAccess | None, str | None]:
        case_id = uuid.UUID(event.payload["case_id"])
        found = await store.access_of(conn, case_id)
        known = case_access.Known(*found) if found else None
        after = case_access.follow(known, event)
        if after is None:
            if known is not None:
                return known.access, known.report_type
            # A case never seen opened: nothing to guard, but its type still names templates.
            typed = event.type in case_access.ACCESS_EVENTS
            return None, event.payload.get("report_type") if typed else None
        await store.save_access(conn, case_id, after.version, after.access, after.report_type)
        return after.access, after.report_type

    async def route(
        self,
        conn: Conn,
        event: Envelope,
        route: Route,
        access: CaseAccess | None,
        report_type: str | None,
    ) -> None:
        case_id = str(event.payload["case_id"])
        units, lost = recipients(route, event.payload, access, self._units)
        place_area = (
            Area(event.payload["state"], event.payload["district"])
            if event.type == c.CASE_OPENED
            else (access.owner if access else None)
        )
        place = place_name(self._places, place_area)
        cause = Cause.of(event, case_id)
        lost += no_contact(units)
        if route.digest:
            units = [u for u in units if await self._first_in_window(conn, event, u, place)]
        values = values_for(
            event.type,
            event.payload,
            case_id=case_id,
            place=place,
            report_type=report_type,
            places=self._places,
        )
        details = [
            *details_for(event.type, event.payload),
            ("Case / मामला", case_id),
            ("Event / घटना", event.type),
            ("At / समय", event.occurred_at.astimezone(IST).strftime("%Y-%m-%d %H:%M IST")),
        ]
        messages = compose(event.event_id, TEMPLATES[route.template], units, values, details)
        await self._outbox.queue(conn, messages, cause, route, fresh=True)
        await self._outbox.undeliverable(conn, cause, lost)

    async def _first_in_window(
        self, conn: Conn, event: Envelope, unit: Any, place: str, *, subject: str | None = None
    ) -> bool:
        """True when this follow-up goes now; False when it waits for the window's digest.
        The window is per case, or per thread for a thread's messages (`subject`)."""
        case_id = uuid.UUID(subject or event.payload["case_id"])
        held = await store.window(conn, case_id, unit.state, unit.unit_id, event.type)
        now_, after = digest.on_follow_up(held, self._clock(), self._digest_s)
        key = {
            "case_id": case_id,
            "recipient_state": unit.state,
            "recipient_unit": unit.unit_id,
            "cause": event.type,
            "place": place,
            "state": event.jurisdiction.state,
            "district": event.jurisdiction.district,
            "correlation_id": event.correlation_id,
        }
        await store.save_window(conn, key, after)
        return now_

    async def thread_message(self, conn: Conn, event: Envelope) -> None:
        """A message in a thread: each unit it mentions is told at once; the thread's other
        control rooms by its route (the first message in a window at once, the rest in the
        window's digest). The poster is never told of its own message."""
        p = event.payload
        thread_id = p["thread_id"]
        poster = (event.actor.state, event.actor.unit_id)
        case_id = p["case_id"]
        values = {"ref": case_ref(thread_id), "origin": event.actor.unit_id, "detail": p["text"]}
        details = [
            ("Thread / थ्रेड", thread_id),
            ("From / से", event.actor.unit_id),
            ("Message / संदेश", p["text"]),
            ("At / समय", event.occurred_at.astimezone(IST).strftime("%Y-%m-%d %H:%M IST")),
        ]
        lost: list[Unreachable] = []
        mentioned = []
        for m in p["mentions"]:
            unit = self._units.get(UnitRef(m["state"], m["unit_id"]))
            if unit is None:
                lost.append(Unreachable("mention", m["unit_id"], "not in the unit directory"))
            elif (unit.state, unit.unit_id) != poster:
                mentioned.append(unit)
        lost += no_contact(mentioned)
        cause = Cause.of(event, case_id, f"{event.event_id}:mention")
        mention = TEMPLATES[self._routes.mention.template]
        messages = compose(cause.key, mention, mentioned, values, details)
        await self._outbox.queue(conn, messages, cause, self._routes.mention, fresh=True)
        route = self._routes.route(event.type)
        if route is not None:
            told = {(u.state, u.unit_id) for u in mentioned} | {poster}
            units, missing = recipients(route, p, None, self._units)
            lost += missing
            units = [u for u in units if (u.state, u.unit_id) not in told]
            lost += no_contact(units)
            if route.digest:
                # A thread's digest names no place: it is about the thread (its ref).
                units = [
                    u
                    for u in units
                    if await self._first_in_window(conn, event, u, "", subject=thread_id)
                ]
            everyone = Cause.of(event, case_id)
            messages = compose(everyone.key, TEMPLATES[route.template], units, values, details)
            await self._outbox.queue(conn, messages, everyone, route, fresh=True)
        await self._outbox.undeliverable(conn, cause, lost)

    async def reply(self, conn: Conn, event: Envelope) -> None:
        p = event.payload
        template = p["template"]
        if template not in TEMPLATES:
            log.warning("a reply names an unknown template", extra={"fields": {"t": template}})
            template = "reply_not_filed"
        message = reply(p["message_id"], p["to"], template, p["values"], "en")
        cause = Cause(
            f"reply:{p['message_id']}",
            event.type,
            event.event_id,
            None,
            event.jurisdiction,
            event.correlation_id,
            event.event_id,
        )
        await self._outbox.queue(conn, [message], cause, self._routes.reply)


def no_contact(units: Sequence[DirectoryUnit]) -> list[Unreachable]:
    """Units a rule named that have neither a phone nor an email: told as undeliverable."""
    return [
        Unreachable("contact", u.unit_id, "the unit has no phone or email")
        for u in units
        if not u.phone and not u.email
    ]


def digest_cause(window: dict[str, Any]) -> Cause:
    ends = window["ends_at"].isoformat()
    # A thread's digest is about the thread, not a case (its window keeps the thread's id).
    about_case = window["cause"] != c.THREAD_MESSAGE_POSTED
    return Cause(
        f"digest:{window['case_id']}:{window['recipient_state']}:{window['recipient_unit']}:{ends}",
        window["cause"],
        None,
        str(window["case_id"]) if about_case else None,
        Jurisdiction(window["state"], window["district"]),
        window["correlation_id"],
        None,
    )


def digest_values(window: dict[str, Any], count: int) -> dict[str, str]:
    return {
        "count": str(count),
        "ref": case_ref(str(window["case_id"])),
        "district": window["place"],
    }

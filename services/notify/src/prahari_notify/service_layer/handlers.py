"""What notify does with each case event it consumes: decide the messages and queue them,
in the consumer's transaction. Sending happens later, in the dispatcher."""

from __future__ import annotations

import logging
import uuid

from prahari_events.catalogue import CASE_OPENED, NOTIFICATION_QUEUED
from prahari_events.db import Conn
from prahari_events.envelope import Draft, Envelope, service_actor
from prahari_events.lgd import Directory
from prahari_events.sms import SmsTemplate
from prahari_events.store import EventStore
from prahari_events.telemetry import current_carrier
from prahari_notify.adapters import store
from prahari_notify.domain import access as case_access
from prahari_notify.domain.messages import ContactDirectory, case_opened_messages

log = logging.getLogger("prahari.notify")


def stream_for(notification_id: object) -> str:
    return f"notification-{notification_id}"


class NotifyHandlers:
    def __init__(
        self,
        store: EventStore,
        topic: str,
        contacts: ContactDirectory,
        places: Directory,
        templates: dict[str, SmsTemplate],
    ) -> None:
        self._store = store
        self._topic = topic
        self._contacts = contacts
        self._places = places
        self._templates = templates

    # What notify follows on the case topic: what changes who may see a case (case.opened
    # among them, which is also what it tells control rooms of today).
    WANTS = case_access.ACCESS_EVENTS

    async def __call__(self, conn: Conn, envelope: Envelope) -> None:
        if envelope.type in case_access.ACCESS_EVENTS:
            await self.follow_access(conn, envelope)
        if envelope.type == CASE_OPENED:
            await self.case_opened(conn, envelope)

    async def follow_access(self, conn: Conn, event: Envelope) -> None:
        case_id = uuid.UUID(event.payload["case_id"])
        known = await store.access_of(conn, case_id)
        if known is not None and known[0] >= event.stream_version:
            return  # seen already
        access = case_access.evolve(known[1] if known else None, event)
        if access is not None:
            await store.save_access(conn, case_id, event.stream_version, access)

    async def case_opened(self, conn: Conn, event: Envelope) -> None:
        case = event.payload
        rooms = self._contacts.for_place(case["state"], case["district"])
        if not rooms:
            log.warning(
                "no control room listed for the case's place",
                extra={"fields": {"state": case["state"], "district": case["district"]}},
            )
        messages = case_opened_messages(
            event.event_id,
            case,
            rooms,
            self._places.district_name(case["district"]),
            self._templates,
        )
        for message in messages:
            stream = stream_for(message.notification_id)
            if await self._store.stream_version(conn, stream) > 0:
                continue
            await self._store.append(
                conn,
                stream,
                0,
                [
                    Draft(
                        type=NOTIFICATION_QUEUED,
                        payload=message.payload(case["case_id"]),
                        actor=service_actor("notify"),
                        jurisdiction=event.jurisdiction,
                        correlation_id=event.correlation_id,
                        causation_id=event.event_id,
                    )
                ],
                publish_to=self._topic,
            )
            await conn.execute(
                "INSERT INTO deliveries (notification_id, case_id, state, district, channel,"
                " recipient_name, address, subject, body, template_id, trace)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                message.notification_id,
                case["case_id"],
                event.jurisdiction.state,
                event.jurisdiction.district,
                message.channel,
                message.recipient_name,
                message.address,
                message.subject,
                message.body,
                message.template_id,
                current_carrier(),
            )

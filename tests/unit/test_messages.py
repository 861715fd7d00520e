"""notify's message rules, pure: DLT templates, SMS segments, routing, the notification's
states, backoff, the circuit breaker and digests."""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from prahari_events import catalogue as c
from prahari_events import lgd
from prahari_events.errors import ConfigError, DeliveryError
from prahari_events.policy import Area, CaseAccess, UnitRef
from prahari_events.units import parse_units
from prahari_notify.adapters.providers import mime
from prahari_notify.domain import digest
from prahari_notify.domain.breaker import Breaker, choose
from prahari_notify.domain.messages import compose, values_for
from prahari_notify.domain.notification import (
    Notification,
    Outcome,
    RetryPolicy,
    State,
    after_attempt,
    evolve,
    is_overdue,
    notification_id,
    on_receipt,
    scrub,
)
from prahari_notify.domain.routing import DEFAULT_ROUTES, load_routes, parse_routes, recipients
from prahari_notify.domain.sms import MAX_VAR, sms_segments
from prahari_notify.domain.templates import TEMPLATES, render_email, render_sms
from tests.notify_support import UNITS

PLACES = lgd.load()
DIRECTORY = parse_units({"units": UNITS}, PLACES)
ROUTES = load_routes(DEFAULT_ROUTES)
NOW = datetime(2024, 4, 11, 10, 0, tzinfo=UTC)
CASE = "8786c783-91b2-54fd-9b26-59044443f88c"
ACCESS = CaseAccess(owner=Area(9, 184), reported_by=UnitRef(9, "UP-SON-PS-ROBERTSGANJ"))


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("क" * 70, "UCS-2", 1),
        ("क" * 71, "UCS-2", 2),
        ("क" * 134, "UCS-2", 2),
        ("क" * 135, "UCS-2", 3),
        ("a" * 69 + "क", "UCS-2", 1),  # one Hindi letter turns the whole message UCS-2
    ],
)
def test_sms_segments(text: str, encoding: str, parts: int) -> None:
    segments = sms_segments(text)
    assert (segments.encoding, segments.parts) == (encoding, parts)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_template_renders_within_dlt_rules_in_both_languages(
    name: str, language: str
) -> None:
    template = TEMPLATES[name]
    values = dict.fromkeys((*template.en_values, *template.hi_values), "x" * 100)
    sms, _ = template.sms(language)
    rendered = render_sms(template, language, values)
    assert sms.matches(rendered.text)  # every value clipped to the DLT limit
    assert "x" * (MAX_VAR + 1) not in rendered.text
    assert rendered.segments == sms_segments(rendered.text).parts
    subject, _ = render_email(template, values, [("Case", CASE)])
    assert template.title_en in subject
    assert template.title_hi in subject


def test_template_ids_are_unique_and_dlt_shaped() -> None:
    ids = [t.en.template_id for t in TEMPLATES.values() if not t.name.startswith("reply")]
    ids += [t.hi.template_id for t in TEMPLATES.values() if not t.name.startswith("reply")]
    assert len(ids) == len(set(ids))
    assert all(len(i) == 19 and i.isdigit() for i in ids)


def test_a_message_that_strays_from_its_template_does_not_match() -> None:
    en = TEMPLATES["case_opened"].en
    text = en.render(["seizure", "REF", "Sonbhadra", "10:05 IST"])
    assert not en.matches(text.replace("Assign by", "Ignore by"))
    assert not en.matches(text + " extra")


def _opened() -> dict[str, Any]:
    return {
        "case_id": CASE,
        "report_type": "smuggling_tip",
        "description": "अवैध शराब",
        "state": 9,
        "district": 184,
        "assign_by": "2024-04-11T10:05:00+00:00",
    }


def test_a_case_tells_the_district_room_by_sms_in_hindi_and_by_email_in_both() -> None:
    route = ROUTES.routes[c.CASE_OPENED]
    units, lost = recipients(route, _opened(), ACCESS, DIRECTORY)
    assert [u.unit_id for u in units] == ["UP-SON-DCR"]
    assert lost == []
    values = values_for(
        c.CASE_OPENED,
        _opened(),
        case_id=CASE,
        place="Sonbhadra",
        report_type="smuggling_tip",
        places=PLACES,
    )
    sms, mail = compose(uuid.uuid4(), TEMPLATES["case_opened"], units, values, [])
    assert (sms.channel, sms.address, sms.template_id) == (
        "sms",
        "+919000000184",
        "1007000000000000002",
    )
    assert "तस्करी सूचना" in sms.body
    assert "15:35 IST" in sms.body  # 10:05 UTC in India
    assert sms_segments(sms.body).encoding == "UCS-2"
    assert mail.subject is not None
    assert "8786C783" in mail.subject
    assert "New smuggling tip case" in mail.body
    assert "नया तस्करी सूचना मामला" in mail.body


ROUTING = [
    (c.CASE_ASSIGNED, {"assignee": {"state": 9, "unit_id": "UP-SON-FS-1"}}, ["UP-SON-FS-1"]),
    (c.CASE_SHARED, {"partner": {"state": 10, "district": 200}}, ["BR-SCR", "BR-KAI-DCR"]),
    (c.CASE_SHARED, {"partner": {"state": 10, "district": None}}, ["BR-SCR"]),
    (c.CASE_TRANSFER_REQUESTED, {"to": {"state": 10, "district": 200}}, ["BR-SCR", "BR-KAI-DCR"]),
    (c.CASE_TRANSFERRED, {"to": {"state": 10, "district": None}}, ["BR-SCR"]),
    (c.CASE_SLA_BREACHED, {"level": "district"}, ["UP-SCR"]),
    (c.CASE_ESCALATED, {"to_level": "state"}, ["UP-SCR"]),
    (c.CASE_WATCHLIST_HIT, {"owner": {"state": 10, "unit_id": "BR-SCR"}}, ["BR-SCR"]),
    (c.CASE_CLOSED, {}, ["UP-SON-PS-ROBERTSGANJ"]),
    (c.CASE_REPORT_LINKED, {}, ["UP-SON-DCR"]),
]


@pytest.mark.parametrize(("event_type", "payload", "expected"), ROUTING)
def test_each_route_names_its_recipients(
    event_type: str, payload: dict[str, Any], expected: list[str]
) -> None:
    units, lost = recipients(ROUTES.routes[event_type], payload, ACCESS, DIRECTORY)
    assert [u.unit_id for u in units] == expected
    assert lost == []


def test_a_recipient_the_directory_does_not_know_is_reported_not_skipped() -> None:
    route = ROUTES.routes[c.CASE_ASSIGNED]
    units, lost = recipients(
        route, {"assignee": {"state": 9, "unit_id": "GONE"}}, ACCESS, DIRECTORY
    )
    assert units == []
    assert [m.reason for m in lost] == ["not in the unit directory"]
    units, lost = recipients(
        ROUTES.routes[c.CASE_CLOSED], {}, CaseAccess(Area(9, 184), None), DIRECTORY
    )
    assert units == []
    assert len(lost) == 1


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            {"routes": {"case.nope": {"to": [], "template": "case_opened", "ttl_s": 1}}},
            "does not exist",
        ),
        (
            {"routes": {"case.opened": {"to": ["mayor"], "template": "case_opened", "ttl_s": 1}}},
            "unknown recipient",
        ),
        (
            {"routes": {"case.opened": {"to": [], "template": "nope", "ttl_s": 1}}},
            "unknown template",
        ),
        ({"routes": {"case.opened": {"to": [], "template": "case_opened", "ttl_s": 0}}}, "ttl_s"),
        (
            {
                "routes": {
                    "case.opened": {"to": [], "template": "case_opened", "ttl_s": 1, "digest": True}
                }
            },
            "digest",
        ),
    ],
)
def test_a_bad_routing_table_fails_at_start(raw: dict[str, Any], problem: str) -> None:
    raw = {
        **raw,
        "expiry": {"template": "alert_expired", "ttl_s": 1},
        "reply": {"template": "reply_filed", "ttl_s": 1},
    }
    with pytest.raises(ConfigError, match=problem):
        parse_routes(json.loads(json.dumps(raw)))


def test_message_ids_are_derived_so_a_redelivery_cannot_double_them() -> None:
    event_id = uuid.uuid4()
    assert notification_id(event_id, "sms", "+919000000184") == notification_id(
        event_id, "sms", "+919000000184"
    )
    assert notification_id(event_id, "sms", "+919000000184") != notification_id(
        uuid.uuid4(), "sms", "+919000000184"
    )


RETRY = RetryPolicy(base_s=1, cap_s=8, max_attempts=4)


def _queued(channel: str = "sms") -> Notification:
    return Notification(uuid.uuid4(), channel, State.QUEUED, 1, 0, None, NOW + timedelta(hours=1))


def _fold(n: Notification, events: list[tuple[str, dict[str, Any]]]) -> Notification:
    for event_type, payload in events:
        n = evolve(n, event_type, payload)
    return n


@pytest.mark.parametrize(
    ("outcome", "types", "state", "pinned", "retry"),
    [
        (Outcome("accepted", "p", "ref-1"), [c.NOTIFICATION_SENT], State.SENT, "p", False),
        (
            Outcome("accepted", "p", "ref-1", delivered=True),
            [c.NOTIFICATION_SENT, c.NOTIFICATION_DELIVERED],
            State.DELIVERED,
            "p",
            False,
        ),
        (
            Outcome("failed", "p", reason="503"),
            [c.NOTIFICATION_ATTEMPT_FAILED],
            State.QUEUED,
            None,
            True,
        ),
        (
            Outcome("failed", "p", reason="400", retriable=False),
            [c.NOTIFICATION_FAILED],
            State.FAILED,
            None,
            False,
        ),
        # A timeout after sending: the provider may have it; only it is asked again.
        (
            Outcome("unknown", "p", reason="timeout"),
            [c.NOTIFICATION_ATTEMPT_FAILED],
            State.QUEUED,
            "p",
            True,
        ),
    ],
)
def test_an_attempts_outcome(
    outcome: Outcome, types: list[str], state: State, pinned: str | None, retry: bool
) -> None:
    n = _queued()
    events, retry_at = after_attempt(n, 1, outcome, NOW, retry=RETRY, jitter=0.5)
    assert [t for t, _ in events] == types
    after = _fold(n, events)
    assert (after.state, after.pinned, retry_at is not None) == (state, pinned, retry)


def test_the_last_attempt_ends_failed_not_permanent() -> None:
    events, retry_at = after_attempt(
        _queued(), 4, Outcome("failed", "p", reason="503"), NOW, retry=RETRY, jitter=0.0
    )
    assert [(t, p["permanent"]) for t, p in events] == [(c.NOTIFICATION_FAILED, False)]
    assert retry_at is None


@pytest.mark.parametrize(
    ("attempt", "jitter", "delay"), [(1, 0.0, 0.5), (1, 1.0, 1.0), (3, 0.0, 2.0), (9, 0.999, 7.996)]
)
def test_backoff_is_exponential_capped_and_jittered(
    attempt: int, jitter: float, delay: float
) -> None:
    assert RETRY.delay(attempt, jitter) == pytest.approx(delay)


def test_states_only_move_forward() -> None:
    n = _fold(_queued(), [(c.NOTIFICATION_SENT, {"attempt": 1, "provider": "p"})])
    delivered = on_receipt(n, delivered=True, provider="p", reference="r", reason="", at=NOW)
    n = _fold(n, delivered)
    assert n.state == State.DELIVERED
    # A late "sent", a "failed" report, a replayed report: nothing moves a final state.
    late, _ = after_attempt(n, 2, Outcome("accepted", "p", "r"), NOW, retry=RETRY, jitter=0)
    assert _fold(n, late).state == State.DELIVERED
    assert on_receipt(n, delivered=False, provider="p", reference="r", reason="x", at=NOW) == []
    assert on_receipt(n, delivered=True, provider="p", reference="r", reason="", at=NOW) == []


def test_overdue_means_not_delivered_in_time() -> None:
    later = NOW + timedelta(hours=2)
    sent_sms = _fold(_queued(), [(c.NOTIFICATION_SENT, {"attempt": 1, "provider": "p"})])
    sent_mail = _fold(_queued("email"), [(c.NOTIFICATION_SENT, {"attempt": 1, "provider": "p"})])
    assert is_overdue(_queued(), later)
    assert not is_overdue(_queued(), NOW)
    assert is_overdue(sent_sms, later)  # an SMS counts once its receipt says delivered
    assert not is_overdue(sent_mail, later)  # mail has no receipts: the relay took it
    assert not is_overdue(sent_sms, later, sms_receipts=False)  # nor SMS without reports


def test_the_breaker_opens_after_failures_and_lets_one_trial_through_after_cooling() -> None:
    b = Breaker(threshold=2, cooldown_s=10)
    b.record(False, NOW)
    assert b.allows(NOW)
    b.record(False, NOW)
    assert not b.allows(NOW + timedelta(seconds=5))
    assert b.allows(NOW + timedelta(seconds=11))  # the trial
    assert not b.allows(NOW + timedelta(seconds=11))  # only one
    b.record(True, NOW + timedelta(seconds=12))
    assert b.allows(NOW + timedelta(seconds=12))


@pytest.mark.parametrize(
    ("pinned", "last_failed", "open_", "expected"),
    [
        (None, None, set(), "primary"),
        (None, "primary", set(), "fallback"),  # after a definite failure: the fallback
        (None, "fallback", set(), "primary"),
        (None, None, {"primary"}, "fallback"),  # primary resting
        ("primary", "fallback", set(), "primary"),  # it may hold the message: only it
        ("primary", None, {"primary"}, None),  # and if it rests, wait rather than resend
        (None, None, {"primary", "fallback"}, None),
    ],
)
def test_choosing_a_provider(
    pinned: str | None, last_failed: str | None, open_: set[str], expected: str | None
) -> None:
    got = choose(
        ["primary", "fallback"],
        pinned=pinned,
        last_failed=last_failed,
        allows=lambda name: name not in open_,
    )
    assert got == expected


def test_digest_windows() -> None:
    send, w = digest.on_follow_up(None, NOW, 60)
    assert send
    for i in range(1, 50):
        send, w = digest.on_follow_up(w, NOW + timedelta(seconds=i), 60)
        assert not send
    assert w.held == 49
    count, w2 = digest.at_window_end(w, NOW + timedelta(seconds=30), 60)
    assert (count, w2) == (0, w)  # not yet
    count, w2 = digest.at_window_end(w, NOW + timedelta(seconds=61), 60)
    assert count == 49
    assert w2 is not None
    assert w2.held == 0
    count, w3 = digest.at_window_end(w2, NOW + timedelta(seconds=200), 60)
    assert (count, w3) == (0, None)  # a quiet window closes


def test_a_built_email_reads_back_whole_in_hindi_and_english() -> None:
    raw = mime(
        sender="Prahari <alerts@prahari.local>",
        recipient_name="District Control Room, Sonbhadra",
        recipient="dcr-184@control-room.prahari.test",
        subject="[Prahari] New case 8786C783 / नया मामला",
        message_id="<n-1@prahari.local>",
        headers={
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "X-Injected": "a\r\nBcc: someone@example.test",
        },
        body="PRAHARI ALERT\n\nप्रहरी सूचना: सोनभद्र में नया मामला\n" * 40,
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(message["Subject"]) == "[Prahari] New case 8786C783 / नया मामला"
    assert message["To"].addresses[0].display_name == "District Control Room, Sonbhadra"
    assert message["To"].addresses[0].addr_spec == "dcr-184@control-room.prahari.test"
    assert message["Bcc"] is None  # a line break in data never makes a header
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().count("प्रहरी सूचना: सोनभद्र में नया मामला") == 40
    with pytest.raises(DeliveryError):
        mime(
            sender="a@b.c",
            recipient_name="x",
            recipient="not an address",
            subject="s",
            message_id="<m>",
            headers={},
            body="b",
        )


@pytest.mark.parametrize(
    ("reason", "kept"),
    [
        ("550 5.1.1 <dcr.son@up.police.example>: mailbox unavailable",
         "550 5.1.1 <[email]>: mailbox unavailable"),
        ("gateway: +91 92000 00135 is on DND", "gateway: [number] is on DND"),
        ("number 919200000135 blocked", "number [number] blocked"),
        ("HTTP 503 after 10 s", "HTTP 503 after 10 s"),  # nothing personal: kept whole
        ("x" * 600, "x" * 500),
    ],
)  # fmt: skip
def test_a_providers_error_is_kept_without_numbers_or_addresses(reason: str, kept: str) -> None:
    assert scrub(reason) == kept

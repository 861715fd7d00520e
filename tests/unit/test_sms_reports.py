"""Reports by SMS: the compact format, read into the same report the HTTP API takes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prahari_events.errors import InvalidInput
from prahari_intake.entrypoints import sms
from prahari_intake.entrypoints.common import report_command
from prahari_notify.domain.templates import TEMPLATES

AT = datetime(2024, 4, 12, 1, 10, tzinfo=UTC)

GOOD = {
    "rumour": "PR RUM 184 p=whatsapp h=+919800000021 मतदान की तारीख बदलने का झूठा संदेश",
    "smuggling_tip": "PR TIP 135 c=liquor v=BR01AB1234 truck from Kaimur tonight",
    "seizure": "PR SZR 135 c=liquor q=1,200 val=480000 a=excise cp=Naubatpur ट्रक में शराब",
    "intelligence": "pr int 184 s=inter_state_gang v=JH03K4567 four men on two motorcycles",
    "incident": "PR INC 184 c=violence inj=2 scuffle outside booth 112",
}


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_each_type_reads_into_a_report_the_http_schema_accepts(kind: str) -> None:
    body = sms.parse(GOOD[kind], state=9, received_at=AT)
    assert body["type"] == kind
    command = report_command(body)  # the very validation the HTTP API applies
    assert command.report_type == kind
    assert command.occurred_at == AT


def test_seizure_fields_are_read_with_the_category_unit() -> None:
    body = sms.parse(GOOD["seizure"], state=9, received_at=AT)
    assert body["description"] == "ट्रक में शराब"
    assert body["seizure"] == {
        "category": "liquor",
        "quantity": 1200.0,
        "value_inr": 480000,
        "agency": "excise",
        "unit": "litres",
        "place": {"district": 135, "check_post": "Naubatpur"},
    }


def test_a_rumour_in_devanagari_is_marked_hindi() -> None:
    body = sms.parse(GOOD["rumour"], state=9, received_at=AT)
    assert body["rumour"]["language"] == "hi"
    assert body["rumour"]["handle"] == "+919800000021"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", "start with PR"),
        ("PR SZR", "too short"),
        ("PR XYZ 135 something", "unknown type"),
        ("PR SZR Chandauli c=liquor text", "district must be its LGD code"),
        ("PR SZR 135 colour=red text", "unknown key"),
        ("PR SZR 135 c=liquor q=lots val=1 a=excise text", "q= must be a number"),
        ("PR INC 184 c=violence", "add what happened"),
        # What float() and str.isdigit() would let through: never a 500, never a NaN report.
        ("PR SZR ²³ c=liquor q=1 val=1 a=excise text", "district must be its LGD code"),
        ("PR SZR 135 c=liquor q=NaN val=1 a=excise text", "q= must be a number"),
        ("PR SZR 135 c=liquor q=1 val=inf a=excise text", "val= must be a number"),
        ("PR SZR 135 c=liquor q=1e999 val=1 a=excise text", "q= must be a number"),
        ("PR INC 184 c=violence inj=-Infinity text", "inj= must be a number"),
        ("PR SZR 135 c=liquor q=١٢ val=1 a=excise text", "q= must be a number"),
    ],
)
def test_a_malformed_sms_says_why_briefly(text: str, reason: str) -> None:
    with pytest.raises(sms.SmsFormatError, match=reason) as caught:
        sms.parse(text, state=9, received_at=AT)
    assert len(str(caught.value)) <= 30  # it goes into a DLT variable


def test_help_names_the_type() -> None:
    with pytest.raises(sms.SmsHelp) as caught:
        sms.parse("PR HELP SZR", state=9, received_at=AT)
    assert caught.value.report_type == "seizure"


def test_a_well_formed_sms_with_a_bad_value_is_refused_by_the_shared_schema() -> None:
    body = sms.parse("PR SZR 135 c=liquor q=-5 val=1 a=excise text", state=9, received_at=AT)
    with pytest.raises(InvalidInput) as caught:
        report_command(body)
    assert sms.first_problem(dict(caught.value.fields)) == "seizure.quantity invalid"


def test_every_reply_intake_names_is_a_template_notify_renders_within_dlt_rules() -> None:
    # The contract between the two services: intake names a reply, notify owns its words.
    for name, values in [
        (sms.FILED, ["8786C783", "135"]),
        (sms.NOT_FILED, ["x" * 100]),
        *((help_, []) for help_ in sms.HELP.values()),
    ]:
        template = TEMPLATES[name]
        text = template.en.render(values)
        assert template.en.matches(text), name

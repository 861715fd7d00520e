"""An authenticated broker: SASL SCRAM-SHA-512 over TLS with the ACLs of docs/security.md,
started by infra/kafka.sh for this module alone (its own port, data, certificates and
passwords). Each principal writes and reads exactly what the matrix (prahari_events.acls)
gives it; a client without the password, without TLS, or not trusting the broker's CA is
not let in; and the three services, each as its own principal, take a report from the
front door to an SMS, which the audit principal can then follow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from aiokafka.helpers import create_ssl_context

from prahari_audit.cli import main as audit_main
from prahari_audit.topics import read_whole
from prahari_events.acls import SERVICES, groups, reads, state_principal
from prahari_events.errors import ConfigError
from prahari_events.kafka import KafkaAccess, Topics, check_replication, make_producer
from tests.cases_support import SON_ROOM, run_example
from tests.factories import BIHAR, SONBHADRA, STATION, UP
from tests.own_infra import OwnBroker, free_port_pair
from tests.support import AUDIT_URL, bearer, eventually, read_topic
from tests.system_support import call, running_system

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

TOPICS = Topics()
REFUSED = (TopicAuthorizationFailedError, ClusterAuthorizationFailedError)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnBroker]:
    own = OwnBroker(tmp_path_factory.mktemp("kafka-sasl"), free_port_pair(), "sasl_ssl")
    own.start()
    try:
        own.create_topics()
        # One message on every topic, so that a permitted read has something to return.
        asyncio.run(_seed(own.access("admin")))
        yield own
    finally:
        own.stop()


async def _seed(admin: KafkaAccess) -> None:
    producer = make_producer(admin, "seed")
    await producer.start()
    try:
        for spec in TOPICS.specs():
            await producer.send_and_wait(spec.name, b"{}", key=b"seed")
    finally:
        await producer.stop()


async def _writes(producer: AIOKafkaProducer, topic: str) -> bool:
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"probe"), 20)
    except REFUSED:
        return False
    return True


async def test_notify_cannot_write_the_reports_topic(broker: OwnBroker) -> None:
    # A rogue client holding notify's password cannot inject reports that would open cases
    # and send official SMS; notify itself writes its own topic.
    producer = make_producer(broker.access("notify"), "notify")
    await producer.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(producer.send_and_wait(TOPICS.reports, b"{}"), 20)
        assert await _writes(producer, TOPICS.notify_events)
    finally:
        await producer.stop()


@pytest.mark.parametrize("principal", [*SERVICES, "audit"])
async def test_each_principal_writes_exactly_its_own_topics(
    broker: OwnBroker, principal: str
) -> None:
    allowed = set(TOPICS.written_by(principal)) if principal != "audit" else set()
    producer = make_producer(broker.access(principal), principal)
    try:
        await producer.start()
    except ClusterAuthorizationFailedError:
        # A principal that may write no topic is not even given an idempotent producer id.
        written: set[str] = set()
    else:
        written = {spec.name for spec in TOPICS.specs() if await _writes(producer, spec.name)}
    finally:
        await producer.stop()
    assert written == allowed


async def _reads(access: KafkaAccess, topic: str, group: str) -> bool:
    consumer = AIOKafkaConsumer(
        topic,
        **access.options(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )

    async def fetched() -> bool | None:
        return True if await consumer.getmany(timeout_ms=500) else None

    try:
        await consumer.start()
        return await eventually(fetched, within=20, every=0)
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_reads_exactly_what_it_consumes_in_its_own_group(
    broker: OwnBroker, service: str
) -> None:
    access = broker.access(service)
    [group, *_] = groups(TOPICS, service)
    readable = {spec.name for spec in TOPICS.specs() if await _reads(access, spec.name, group)}
    assert readable == set(reads(TOPICS, service))
    # And it cannot join another service's group (to take its partitions away).
    other = next(s for s in SERVICES if s != service)
    with pytest.raises(GroupAuthorizationFailedError):
        await _reads(access, reads(TOPICS, service)[0], groups(TOPICS, other)[0])


async def test_a_partner_state_reads_its_own_feed_and_nothing_else(broker: OwnBroker) -> None:
    access = broker.access(state_principal(BIHAR))
    group = f"{state_principal(BIHAR)}-control-room"
    readable = {spec.name for spec in TOPICS.specs() if await _reads(access, spec.name, group)}
    assert readable == {TOPICS.share(BIHAR)}
    # Nor may it join a group outside its own names (a service's, to take its partitions).
    with pytest.raises(GroupAuthorizationFailedError):
        await _reads(access, TOPICS.share(BIHAR), groups(TOPICS, "cases")[0])
    # And it writes nothing: not even its own feed.
    producer = make_producer(access, "bihar")
    with pytest.raises(ClusterAuthorizationFailedError):
        await producer.start()  # no idempotent producer id for a principal that writes nothing
    await producer.stop()


async def test_the_audit_principal_reads_every_topic(broker: OwnBroker) -> None:
    for spec in TOPICS.specs():
        assert await read_whole(broker.access("audit"), spec.name), spec.name


async def test_a_service_given_another_principal_refuses_to_start(broker: OwnBroker) -> None:
    # notify's credentials in intake's deployment: intake's start-up check names the ACLs
    # instead of publishing into a refusal.
    with pytest.raises(ConfigError, match="does not authorize"):
        await check_replication(broker.access("notify"), TOPICS.written_by("intake"), 1)


async def _connects(options: dict[str, Any]) -> bool:
    producer = AIOKafkaProducer(**options, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(producer.start(), 20)
    except KafkaConnectionError:
        return False
    finally:
        await producer.stop()
    return True


async def test_no_client_gets_in_without_the_password_tls_and_the_brokers_ca(
    broker: OwnBroker,
) -> None:
    notify = broker.access("notify")
    assert await _connects(notify.options())
    wrong_password = KafkaAccess(
        notify.bootstrap, "sasl_ssl", user="notify", password="guess", ca_file=notify.ca_file
    )
    assert not await _connects(wrong_password.options())
    # Another principal's name with notify's password: SCRAM checks the pair.
    other_name = KafkaAccess(
        notify.bootstrap, "sasl_ssl", user="cases", password=notify.password, ca_file=notify.ca_file
    )
    assert not await _connects(other_name.options())
    assert not await _connects({"bootstrap_servers": notify.bootstrap})  # no TLS, no SASL
    # TLS against the system's CAs: a man in the middle's certificate would be refused alike.
    system_cas = {**notify.options(), "ssl_context": create_ssl_context()}
    assert not await _connects(system_cas)


@pytest.fixture
async def secure_system(broker: OwnBroker, test_id: str, tmp_path: Path) -> AsyncIterator[Any]:
    async with running_system(TOPICS, test_id, tmp_path, kafka_env=broker.env) as system:
        yield system


async def test_the_services_as_their_own_principals_take_a_report_to_an_sms(
    broker: OwnBroker,
    secure_system: Any,
    test_id: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = {
        "type": "smuggling_tip",
        "description": "सीमा चौकी के पास नकदी से भरी गाड़ी",
        "state": UP,
        "district": SONBHADRA,
        "occurred_at": "2024-04-11T18:00:00+05:30",
        "smuggling_tip": {"commodity": "cash", "vehicles": ["UP64 AB 1234"]},
    }
    urls = secure_system.urls
    async with aiohttp.ClientSession() as http:
        status, accepted = await call(http, "POST", f"{urls['intake']}/v1/reports", STATION,
                                      json=report)  # fmt: skip
        assert status == 202, accepted

        async def case_opened() -> dict[str, Any] | None:
            url = f"{urls['intake']}/v1/reports/{accepted['report_id']}"
            status, tracked = await call(http, "GET", url, STATION)
            return tracked if status == 200 and tracked["status"] == "case_opened" else None

        # intake published (intake), cases consumed and published (cases), intake followed
        # the case (intake's group), notify consumed it and sent the SMS (notify).
        opened = await eventually(case_opened, within=60)
        await eventually(lambda: _first(secure_system.sms.requests), within=60)

        # Shared with Bihar: cases puts the case on Bihar's feed, and Bihar's system (the
        # example of docs/, as the state-10 principal) reads it there.
        case_url = f"{urls['cases']}/v1/cases/{opened['case_id']}"
        async with http.get(case_url, headers=bearer(SON_ROOM)) as response:
            etag = response.headers["ETag"]
        share = {"state": BIHAR, "reason": "the truck is registered in Bihar"}
        headers = {**bearer(SON_ROOM), "If-Match": etag}
        async with http.post(f"{case_url}/shares", json=share, headers=headers) as response:
            assert response.status == 200, await response.text()
    # The seed and probe messages of this module's other tests (not CloudEvents: the example
    # ignores them), then the case.
    await read_topic(TOPICS.share(BIHAR), at_least=3, kafka=broker.access("admin"))
    summary = await run_example(BIHAR, "", broker.env(state_principal(BIHAR)))
    assert (summary["cases"], summary["snapshots"], summary["invalid"]) == (1, 1, 0), summary

    # The auditor's tool, as the audit principal, reads the report back from its topic.
    for name, value in broker.env("audit").items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = await asyncio.to_thread(audit_main, [
        "--database-url", AUDIT_URL, "--auditor-id", "ECI-OBSERVER-7", "--json",
        "--cases-schema", f"cases_{test_id}", "--notify-schema", f"notify_{test_id}",
        "timeline", "--report", accepted["report_id"],
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    entries = [(e["service"], e["type"]) for e in json.loads(out)["entries"]]
    assert entries[:2] == [("intake", "report.received"), ("cases", "case.opened")]


async def _first(items: list[Any]) -> Any:
    return items[0] if items else None

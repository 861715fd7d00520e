"""Backup and restore (infra/backup.sh): cases' history dumped from one PostgreSQL cluster
and restored into a fresh one; there `prahari-audit verify` finds every chain whole and
`replay` rebuilds the read models exactly, the services' roles work as before, and history
is still append-only. Both clusters are this test's own."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import asyncpg
import pytest

from prahari_audit.cli import main as audit
from prahari_cases.domain.sla import SlaPolicy
from prahari_cases.service_layer.handlers import CaseHandlers
from prahari_events.db import create_pool
from prahari_events.kafka import Topics
from prahari_events.migrations import migrate_service
from prahari_events.registry import Registry
from prahari_events.store import EventStore
from tests.factories import report_envelope
from tests.own_infra import ROOT, OwnPostgres
from tests.support import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


async def _backup(command: str, file: Path, url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "bash", str(ROOT / "infra" / "backup.sh"), command, str(file),
        env={**os.environ, "DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()


async def test_a_restored_backup_verifies_and_replays_clean(
    tmp_path: Path,
    registry: Registry,
    topics: Topics,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, target = OwnPostgres(free_port()), OwnPostgres(free_port())
    await asyncio.to_thread(source.start)
    try:
        await migrate_service(source.url(), "cases", "cases")
        pool = await create_pool(source.url("prahari_cases"), "cases", application="tests")
        handlers = CaseHandlers(EventStore(registry), topics.case_events, SlaPolicy())
        for _ in range(20):
            async with pool.acquire() as conn, conn.transaction():
                await handlers.report_received(conn, report_envelope(registry))
        await pool.close()
        dump = tmp_path / "prahari.dump"
        # The postgres user runs pg_dump's server side only; the file is written by us.
        await _backup("dump", dump, source.url())
        await asyncio.to_thread(target.start)
        await _backup("restore", dump, target.url())

        async def run(*argv: str) -> tuple[int, str]:
            capsys.readouterr()
            code = await asyncio.to_thread(audit, [
                "--database-url", target.url("prahari_audit"), "--auditor-id", "backup-test",
                "--json", "--topic-prefix", topics.prefix, *argv,
            ])  # fmt: skip
            return code, capsys.readouterr().out

        monkeypatch.delenv("PRAHARI_AUDIT_TRUST", raising=False)
        code, out = await run("verify", "--schema", "cases")
        assert code == 0, out
        code, out = await run("replay", "--service", "cases")
        assert code == 0, out
        assert json.loads(out)["differences"] == []

        restored = await asyncpg.connect(target.url("prahari_cases"))
        try:
            await restored.execute("SET search_path TO cases")
            assert await restored.fetchval("SELECT count(*) FROM events") == 20
            assert await restored.fetchval("SELECT count(*) FROM case_view") == 20
            # The grants and the append-only trigger came back with the tables.
            with pytest.raises(asyncpg.PostgresError):
                await restored.execute("UPDATE events SET type = 'x' WHERE true")
            await restored.execute(
                "INSERT INTO access_log (unit_id, role, kind, what) VALUES ($1, 'auditor',"
                " 'read', 'restore check')",
                str(uuid.uuid4()),
            )
        finally:
            await restored.close()
    finally:
        await asyncio.to_thread(source.remove)
        await asyncio.to_thread(target.remove)

"""The three services as separate processes on the real Kafka and PostgreSQL, with a real
SMTP server and an HTTP SMS gateway in the test: for the end-to-end tests, on the shared
broker or on one of their own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from prahari_devsinks.sms import SmsGateway
from prahari_devsinks.smtp import MailSink, start_smtp
from prahari_events.auth import Unit
from prahari_events.db import drop_schema
from prahari_events.kafka import Topics
from prahari_events.migrations import migrate_service
from tests.factories import SONBHADRA, UP
from tests.support import (
    DATABASE_URL,
    KAFKA,
    TOKEN_TRUST,
    bearer,
    eventually,
    filing,
    free_port,
    role_url,
)

SERVICES = ("intake", "cases", "notify")


@dataclass
class System:
    urls: dict[str, str]
    processes: dict[str, asyncio.subprocess.Process]
    mail: MailSink
    sms: SmsGateway
    trace_files: dict[str, Path]
    logs: dict[str, Path]
    envs: dict[str, dict[str, str]]

    async def spawn(self, name: str) -> None:
        """Start a service's process (again), appending to its log; wait until it is ready."""
        with self.logs[name].open("ab") as log:
            self.processes[name] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", f"prahari_{name}", env=self.envs[name], stdout=log,
                stderr=log,
            )  # fmt: skip
        async with aiohttp.ClientSession() as http:
            await eventually(lambda: _ready(http, self.urls[name]), within=60)

    async def kill(self, name: str) -> None:
        """SIGKILL: no graceful stop, whatever it held in flight."""
        process = self.processes[name]
        if process.returncode is None:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def running_system(
    topics: Topics,
    test_id: str,
    tmp_path: Path,
    kafka_env: Callable[[str], dict[str, str]] | None = None,
    *,
    owner_url: str = DATABASE_URL,
    url_of: Callable[[str], str] = role_url,
    extra_env: dict[str, str] | None = None,
    units: list[dict[str, Any]] | None = None,
) -> AsyncIterator[System]:
    """The three services as processes, each as its database role; `kafka_env(service)`
    gives a service's PRAHARI_KAFKA_* settings (default: the shared plaintext broker), and
    `owner_url`/`url_of(role)` the database (default: the shared one); `units` are added
    to the unit directory's two (Sonbhadra's and UP's control rooms)."""
    mail = MailSink()
    smtp_port = free_port()
    smtp = start_smtp("127.0.0.1", smtp_port, mail)
    sms = SmsGateway()
    runner = web.AppRunner(sms.app())
    await runner.setup()
    sms_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", sms_port).start()
    directory = tmp_path / "units.json"
    directory.write_text(
        json.dumps(
            {
                "units": [
                    {
                        "unit_id": "UP-SON-DCR",
                        "name": "District Control Room, Sonbhadra",
                        "kind": "district_control_room",
                        "state": UP,
                        "district": SONBHADRA,
                        "email": "dcr-184@control-room.prahari.test",
                        "phone": "+919000000184",
                        "language": "hi",
                    },
                    {
                        "unit_id": "UP-SCR",
                        "name": "State Control Room, Uttar Pradesh",
                        "kind": "state_control_room",
                        "state": UP,
                        "district": None,
                        "email": "scr-9@control-room.prahari.test",
                        "phone": None,
                        "language": "en",
                    },
                    *(units or []),
                ]
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    ports = {name: free_port() for name in SERVICES}
    base_env = {
        "PATH": os.environ.get("PATH", ""),
        "PRAHARI_KAFKA_BOOTSTRAP": KAFKA.bootstrap,
        "DATABASE_URL": DATABASE_URL,
        "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "PRAHARI_UNIT_DIRECTORY": str(directory),
        "PRAHARI_SMS_GATEWAY_URL": f"http://127.0.0.1:{sms_port}/sms",
        "PRAHARI_SMTP_PORT": str(smtp_port),
        "PRAHARI_NOTIFY_RETRY_BASE_S": "0.2",
        **{f"PRAHARI_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **(extra_env or {}),
    }
    trace_files = {name: tmp_path / f"{name}-spans.jsonl" for name in SERVICES}
    logs = {name: tmp_path / f"{name}.log" for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    system = System(urls, {}, mail, sms, trace_files, logs, envs={})
    processes = system.processes
    try:
        for name in SERVICES:
            await migrate_service(owner_url, name, f"{name}_{test_id}")
            system.envs[name] = {
                **base_env,
                "DATABASE_URL": url_of(f"prahari_{name}"),
                "PRAHARI_DB_SCHEMA": f"{name}_{test_id}",
                "PRAHARI_TRACE_FILE": str(trace_files[name]),
                **(kafka_env(name) if kafka_env else {}),
            }
        # Together, as ./dev up starts them; each waited for after.
        await asyncio.gather(*(system.spawn(name) for name in SERVICES))
        yield system
    finally:
        for process in processes.values():
            if process.returncode is None:
                process.kill()
                await process.wait()
        smtp.stop()
        await runner.cleanup()
        pool = await asyncpg.create_pool(owner_url, min_size=1, max_size=1)
        assert pool is not None
        for name in SERVICES:
            await drop_schema(pool, f"{name}_{test_id}")
        await pool.close()


async def _ready(http: aiohttp.ClientSession, url: str) -> bool | None:
    try:
        async with http.get(f"{url}/readyz") as response:
            return True if response.status == 200 else None
    except aiohttp.ClientError:
        return None


async def call(
    http: aiohttp.ClientSession, method: str, url: str, unit: Unit, **kwargs: Any
) -> tuple[int, Any]:
    # Filing a report needs an Idempotency-Key; every other request goes as it is.
    headers = filing(unit) if method == "POST" and url.endswith("/v1/reports") else bearer(unit)
    async with http.request(method, url, headers=headers, **kwargs) as response:
        return response.status, await response.json()

"""What the benchmarks share: a free port on loopback, waiting for a service to answer,
development token issuers, and some of the services as their own processes on topics and
schemas of a run's own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import timedelta
from pathlib import Path

import aiohttp

from prahari_events import lgd
from prahari_events.auth import Unit, dev_issuer, ensure_dev_issuers
from prahari_events.db import create_pool, drop_schema
from prahari_events.kafka import KafkaAccess, Topics, create_topics, delete_topics
from prahari_events.migrations import migrate_service

ROOT = Path(__file__).resolve().parents[1]
KAFKA = KafkaAccess("127.0.0.1:9092")
URL = os.environ.get("DATABASE_URL", "postgresql://prahari:prahari@127.0.0.1:54329/prahari")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


# Development token issuers for the benchmarks' services: one per state, one national.
_KEYS = Path(tempfile.mkdtemp(prefix="prahari-bench-keys-"))
TOKEN_TRUST = str(_KEYS / "trust.json")
ensure_dev_issuers(_KEYS, Path(TOKEN_TRUST), sorted(lgd.load().states))


def mint(unit: Unit, ttl: timedelta = timedelta(hours=1)) -> str:
    return dev_issuer(_KEYS, None if unit.role == "auditor" else unit.state).mint(unit, ttl)


@contextlib.asynccontextmanager
async def services(
    names: tuple[str, ...],
    env: Mapping[str, str],
    *,
    python_args: Callable[[str], list[str]] = lambda _name: [],
) -> AsyncIterator[dict[str, int]]:
    """These services as their own processes, as ./dev starts them, on topics and schemas of
    their own (dropped after); `env` is added to each one's environment. Gives each one's
    port once all answer /readyz."""
    run = uuid.uuid4().hex[:8]
    topics = Topics(f"bench{run}.")
    await create_topics(KAFKA, topics.specs())
    ports = {name: free_port() for name in names}
    base = {
        "PATH": os.environ.get("PATH", ""), "PRAHARI_TOKEN_TRUST": TOKEN_TRUST,
        "DATABASE_URL": URL, "PRAHARI_TOPIC_PREFIX": topics.prefix,
        "PRAHARI_LOG_LEVEL": "WARNING", **env,
        **{f"PRAHARI_{name.upper()}_PORT": str(p) for name, p in ports.items()},
    }  # fmt: skip
    for name in names:  # as ./dev does before services start
        await migrate_service(URL, name, f"bench_{name}_{run}")
    processes = []
    try:
        for name in names:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    *python_args(name),
                    "-m",
                    f"prahari_{name}",
                    cwd=ROOT,
                    env={**base, "PRAHARI_DB_SCHEMA": f"bench_{name}_{run}"},
                )
            )
        for port in ports.values():
            await wait_ready(f"http://127.0.0.1:{port}/readyz")
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await process.wait()
        pool = await create_pool(URL, "public", application="bench", max_size=1)
        for name in names:
            await drop_schema(pool, f"bench_{name}_{run}")
        await pool.close()
        await delete_topics(KAFKA, [s.name for s in topics.specs()])

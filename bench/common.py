"""What the benchmarks share: a free port on loopback, waiting for a service to answer, and
development token issuers."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from datetime import timedelta
from pathlib import Path

import aiohttp

from prahari_events import lgd
from prahari_events.auth import Unit, dev_issuer, ensure_dev_issuers


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

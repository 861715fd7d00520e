"""Threads' HTTP API: a unit's threads, a thread's messages (keyset pages, search) and
posting one. Every read goes to the access log, as a case's does."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from aiohttp import web

from prahari_cases.domain import search
from prahari_cases.domain.events import Attachment
from prahari_cases.entrypoints.schemas import MessageRequest, MessagesQuery, ThreadSearchQuery
from prahari_cases.service_layer.threads import ThreadDesk
from prahari_events.errors import NotFound
from prahari_events.policy import UnitRef
from prahari_events.reads import READS
from prahari_events.registry import canonical_json
from prahari_events.runtime import POOL
from prahari_events.web import (
    authenticate,
    idempotency_key,
    json_response,
    load_input,
    read_json_object,
)

THREADS = web.AppKey("threads", ThreadDesk)
_MESSAGE = MessageRequest()
_PAGE = MessagesQuery()
_SEARCH = ThreadSearchQuery()


def _thread_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["thread_id"])
    except ValueError:
        raise NotFound("no such thread") from None


async def list_threads(request: web.Request) -> web.Response:
    unit = authenticate(request)
    threads = await request.app[THREADS].mine(unit)
    await request.app[READS].record(
        request.app[POOL], unit, "threads.list", detail={"count": len(threads)}
    )
    return json_response({"threads": threads})


async def list_messages(request: web.Request) -> web.Response:
    unit = authenticate(request)
    thread_id = _thread_id(request)
    query = load_input(_PAGE, dict(request.query), "invalid query")
    thread, messages = await request.app[THREADS].messages(
        unit,
        thread_id,
        after=query["after"],
        limit=query["limit"],
        words=search.words(query["q"]) if query["q"] else (),
    )
    head = await request.app[THREADS].head(thread_id)
    body: dict[str, Any] = {"thread": {**thread.to_json(), **head}, "messages": messages}
    if len(messages) == query["limit"]:
        body["next"] = messages[-1]["version"]
    await request.app[READS].record(
        request.app[POOL],
        unit,
        "thread.messages",
        case_id=thread.case_id,
        detail={"thread_id": str(thread_id), "query": dict(request.query), "count": len(messages)},
    )
    return json_response(body)


async def search_messages(request: web.Request) -> web.Response:
    unit = authenticate(request)
    query = load_input(_SEARCH, dict(request.query), "invalid query")
    words = search.words(query["q"])
    found = await request.app[THREADS].search(unit, words, query["limit"]) if words else []
    await request.app[READS].record(
        request.app[POOL],
        unit,
        "threads.search",
        detail={"query": dict(request.query), "count": len(found)},
    )
    return json_response({"messages": found})


async def post_message(request: web.Request) -> web.Response:
    unit = authenticate(request)
    thread_id = _thread_id(request)
    key = idempotency_key(request)
    raw = await read_json_object(request)
    data = load_input(_MESSAGE, raw, "the message has invalid fields")
    fingerprint = hashlib.sha256(
        f"{request.method} {request.path}\n".encode() + canonical_json(raw)
    ).digest()
    message, replayed = await request.app[THREADS].post(
        unit,
        thread_id,
        data["text"],
        tuple(Attachment(a["sha256"], a["media_type"], a["size"]) for a in data["attachments"]),
        tuple(UnitRef(m["state"], m["unit_id"]) for m in data["mentions"]),
        key=key,
        fingerprint=fingerprint,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return json_response(message, status=200 if replayed else 201, headers=headers)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/threads", list_threads)
    app.router.add_get("/v1/threads/search", search_messages)
    app.router.add_get("/v1/threads/{thread_id}/messages", list_messages)
    app.router.add_post("/v1/threads/{thread_id}/messages", post_message)

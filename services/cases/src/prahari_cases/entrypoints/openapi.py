"""cases' OpenAPI 3.1 document, generated from the same marshmallow schemas that check the
requests and from the command table, with examples. Served at GET /v1/openapi.json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apispec import APISpec

from prahari_cases.entrypoints import schemas as s
from prahari_cases.entrypoints.commands import Endpoint
from prahari_events.web import api_spec, error_response, finished, uuid_path

EXAMPLES: dict[str, dict[str, Any]] = {
    "/assignment": {"unit_id": "UP-SON-FS-1", "note": "नाका चेकिंग करें, ट्रक बिहार की ओर"},
    "/notes": {
        "text": "ट्रक का नंबर BR01AB1234 टोल प्लाज़ा पर दिखा (seen at the toll plaza)",
        "attachments": [{"sha256": "9f2c" + "0" * 60, "media_type": "image/jpeg", "size": 482113}],
    },
    "/field-report": {
        "findings": "Truck stopped at Naubatpur; 1200 litres of illicit liquor found",
        "action_taken": "Liquor seized, driver detained, FIR registered",
    },
    "/seizures": {
        "category": "liquor",
        "quantity": 1200,
        "unit": "litres",
        "value_inr": 480000,
        "agency": "excise",
        "fir_number": "0123/2024",
        "police_station": "Robertsganj",
    },
    "/escalation": {"reason": "Inter-state gang suspected; the state control room must know"},
    "/shares": {"state": 10, "district": 200, "reason": "The truck is registered in Kaimur"},
    "/transfer": {"state": 10, "district": 200, "reason": "The offence took place in Kaimur"},
    "/transfer/withdrawal": {"reason": "Settled on the phone"},
    "/transfer/refusal": {"reason": "The crossing point is on the UP side"},
    "/closure": {"disposition": "seizure_made", "summary": "1200 litres seized, FIR 0123/2024"},
    "/reopening": {"reason": "The court asked for a further report"},
    "/unlinking": {
        "report_id": "4e9f2468-2427-4988-a786-fdbcfe79b2c2",
        "reason": "Another post with the same picture: a different rumour",
    },
}


_CASE_ID = uuid_path("case_id")
_ETAG = {"ETag": {"schema": {"type": "string"}, "description": 'the case\'s version, "<n>"'}}
_COMMON = {
    "401": error_response("no token, or a token that is expired or not valid"),
    "404": error_response("no such case, or not one this unit may see"),
}


def _command(endpoint: Endpoint) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        _CASE_ID,
        {
            "in": "header",
            "name": "If-Match",
            "required": endpoint.state_change,
            "description": "the ETag the change was decided on; "
            + ("required" if endpoint.state_change else "optional: without it the command")
            + ("" if endpoint.state_change else " applies to the case as it is"),
            "schema": {"type": "string", "pattern": r'^"\d{1,9}"$'},
        },
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "description": "Retry with the same key and request: the first answer, never a"
            " second effect. Checked before If-Match.",
            "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
        },
    ]
    if endpoint.path == "/shares/{state}":
        parameters.append(
            {
                "in": "path",
                "name": "state",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 99_999},
            }
        )
    if "{request_id}" in endpoint.path:
        parameters.append(uuid_path("request_id"))
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "description": f"Who: {endpoint.who}. Event: `{endpoint.event}`.",
        "security": [{"unitToken": []}],
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "the case after the command",
                "headers": _ETAG,
                "content": {"application/json": {"schema": "Case"}},
            },
            "400": error_response("invalid fields, each named"),
            **_COMMON,
            "403": error_response("not this unit's role or relation to the case"),
            "409": error_response("the command does not apply in the case's status (named)"),
            "412": error_response("If-Match names a version that is no longer current"),
            "422": error_response("the Idempotency-Key was used for a different request"),
            "428": error_response("If-Match is required for this command"),
            "503": error_response(
                "the database did not answer or the case is too busy; retry", retry=True
            ),
        },
    }
    if endpoint.method != "DELETE":
        schema = type(endpoint.schema).__name__
        content: dict[str, Any] = {"schema": schema}
        if endpoint.path in EXAMPLES:
            content["example"] = EXAMPLES[endpoint.path]
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {"application/json": content},
        }
    return operation


def build(table: Sequence[Endpoint]) -> dict[str, Any]:
    spec = api_spec(
        "Prahari cases",
        "Cases across state borders: assign, acknowledge, report, seize, escalate, share,"
        " transfer, close. Every request carries a unit's bearer token; every change needs"
        " the case's ETag in If-Match.",
        {
            "Case": s.CaseJson,
            "CaseList": s.CaseList,
            "Timeline": s.Timeline,
            "EventList": s.EventList,
            "WatchlistRequest": s.WatchlistRequest,
            "WatchlistChange": s.WatchlistChange,
            "WatchlistEntry": s.WatchlistEntryJson,
            "Watchlist": s.WatchlistJson,
            "Thread": s.ThreadJson,
            "Message": s.MessageJson,
            "ThreadList": s.ThreadList,
            "MessagePage": s.MessagePage,
            "MessageList": s.MessageList,
            "MessageRequest": s.MessageRequest,
        },
        openapi_version="3.1.0",
    )
    for endpoint in table:
        name = type(endpoint.schema).__name__
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=type(endpoint.schema))
    spec.path(
        path="/v1/cases",
        operations={
            "get": {
                "summary": "Cases this unit may see, newest first, in keyset pages",
                "security": [{"unitToken": []}],
                "parameters": [{"in": "query", "schema": s.CaseListQuery}],
                "responses": {
                    "200": {
                        "description": "a page of cases; `next` when there may be more",
                        "content": {"application/json": {"schema": "CaseList"}},
                    },
                    "400": error_response("invalid query, each parameter named"),
                    "401": _COMMON["401"],
                },
            }
        },
    )
    spec.path(
        path="/v1/stats/seizures",
        operations={
            "get": {
                "summary": "Seizure totals: each seizure counted once, with every agency that"
                " recorded it; within the caller's jurisdiction (auditors: everywhere)",
                "security": [{"unitToken": []}],
                "parameters": [{"in": "query", "schema": s.SeizureStatsQuery}],
                "responses": {
                    "200": {
                        "description": "one row per combination of the group_by dimensions;"
                        " with Accept: text/csv, CSV with a UTF-8 byte-order mark",
                        "content": {
                            "application/json": {"schema": {"type": "object"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "400": error_response("invalid query, each parameter named"),
                    "401": _COMMON["401"],
                    "403": error_response("a state or district outside the caller's jurisdiction"),
                },
            }
        },
    )
    entry = {"application/json": {"schema": "WatchlistEntry"}}
    entry_id = uuid_path("entry_id")
    if_match = {
        "in": "header",
        "name": "If-Match",
        "required": True,
        "schema": {"type": "string", "pattern": r'^"\d{1,9}"$'},
    }
    watch_errors = {
        "400": error_response("invalid fields, each named"),
        "401": _COMMON["401"],
        "403": error_response("not a control room of the entry's state"),
    }
    spec.path(
        path="/v1/watchlist",
        operations={
            "post": {
                "summary": "Watch for a vehicle, phone, handle or person (control rooms)",
                "security": [{"unitToken": []}],
                "parameters": [
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": "WatchlistRequest",
                            "example": {
                                "kind": "vehicle",
                                "value": "BR 01 AB 1234",
                                "reason": "अंतरराज्यीय शराब तस्कर गिरोह का ट्रक",
                                "expires_at": "2024-06-04T23:59:00+05:30",
                            },
                        }
                    },
                },
                "responses": {
                    "201": {"description": "added", "headers": _ETAG, "content": entry},
                    "200": {
                        "description": "a retried addition",
                        "headers": _ETAG,
                        "content": entry,
                    },
                    **watch_errors,
                    "422": error_response("the Idempotency-Key was used for another entry"),
                },
            },
            "get": {
                "summary": "The watchlist of the caller's state (auditors: all)",
                "security": [{"unitToken": []}],
                "parameters": [{"in": "query", "schema": s.WatchlistQuery}],
                "responses": {
                    "200": {
                        "description": "entries",
                        "content": {"application/json": {"schema": "Watchlist"}},
                    },
                    **watch_errors,
                },
            },
        },
    )
    spec.path(
        path="/v1/watchlist/{entry_id}",
        operations={
            "get": {
                "summary": "One entry, with its reason",
                "security": [{"unitToken": []}],
                "parameters": [entry_id],
                "responses": {
                    "200": {"description": "the entry", "headers": _ETAG, "content": entry},
                    **watch_errors,
                    "404": error_response("no such entry, or not the caller's state's"),
                },
            },
            "patch": {
                "summary": "Change an entry's reason or expiry",
                "security": [{"unitToken": []}],
                "parameters": [entry_id, if_match],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "WatchlistChange"}},
                },
                "responses": {
                    "200": {"description": "the entry", "headers": _ETAG, "content": entry},
                    **watch_errors,
                    "404": error_response("no such entry, or not the caller's state's"),
                    "409": error_response("the entry was removed"),
                    "412": error_response("If-Match is stale"),
                    "428": error_response("If-Match is required"),
                },
            },
            "delete": {
                "summary": "Remove an entry",
                "security": [{"unitToken": []}],
                "parameters": [
                    entry_id,
                    if_match,
                    {"in": "query", "name": "reason", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "the entry, removed",
                        "headers": _ETAG,
                        "content": entry,
                    },
                    **watch_errors,
                    "404": error_response("no such entry, or not the caller's state's"),
                    "409": error_response("the entry was removed already"),
                    "412": error_response("If-Match is stale"),
                    "428": error_response("If-Match is required"),
                },
            },
        },
    )
    reads = {
        "": ("The case (or, with as_of, as it stood then)", "Case"),
        "/events": ("The case's events: its audit trail", "EventList"),
        "/timeline": ("The case's history, one line a person reads per event", "Timeline"),
    }
    for suffix, (summary, answer) in reads.items():
        parameters: list[Any] = [_CASE_ID]
        if not suffix:
            parameters.append({"in": "query", "schema": s.AsOfQuery})
        spec.path(
            path=f"/v1/cases/{{case_id}}{suffix}",
            operations={
                "get": {
                    "summary": summary,
                    "security": [{"unitToken": []}],
                    "parameters": parameters,
                    "responses": {
                        "200": {
                            "description": summary,
                            "headers": _ETAG if not suffix else {},
                            "content": {"application/json": {"schema": answer}},
                        },
                        "400": error_response("invalid query"),
                        **_COMMON,
                    },
                }
            },
        )
    by_path: dict[str, dict[str, Any]] = {}
    for endpoint in table:
        by_path.setdefault(endpoint.path, {})[endpoint.method.lower()] = _command(endpoint)
    for path, operations in by_path.items():
        spec.path(path=f"/v1/cases/{{case_id}}{path}", operations=operations)
    _threads(spec)
    return finished(spec.to_dict())


def _threads(spec: APISpec) -> None:
    """Border pairs' standing threads and cases' threads: members are units."""
    no_thread = error_response("no such thread, or not one this unit is a member of")
    spec.path(
        path="/v1/threads",
        operations={
            "get": {
                "summary": "This unit's threads (an auditor's: all), the most recently active"
                " first: its border pairs' standing threads, and the threads of its cases",
                "security": [{"unitToken": []}],
                "responses": {
                    "200": {
                        "description": "the threads",
                        "content": {"application/json": {"schema": "ThreadList"}},
                    },
                    "401": _COMMON["401"],
                },
            }
        },
    )
    spec.path(
        path="/v1/threads/search",
        operations={
            "get": {
                "summary": "Messages holding every word (Hindi or English; prefixes match),"
                " newest first, in the threads this unit has (an auditor: all)",
                "security": [{"unitToken": []}],
                "parameters": [{"in": "query", "schema": s.ThreadSearchQuery}],
                "responses": {
                    "200": {
                        "description": "the messages found",
                        "content": {"application/json": {"schema": "MessageList"}},
                    },
                    "400": error_response("invalid query, each parameter named"),
                    "401": _COMMON["401"],
                },
            }
        },
    )
    thread_id = uuid_path("thread_id")
    spec.path(
        path="/v1/threads/{thread_id}/messages",
        operations={
            "get": {
                "summary": "A thread's messages in the order posted, in keyset pages; with q,"
                " those holding every word (Hindi or English). Members and auditors only",
                "security": [{"unitToken": []}],
                "parameters": [thread_id, {"in": "query", "schema": s.MessagesQuery}],
                "responses": {
                    "200": {
                        "description": "a page of messages; `next` when there may be more",
                        "content": {"application/json": {"schema": "MessagePage"}},
                    },
                    "400": error_response("invalid query, each parameter named"),
                    "401": _COMMON["401"],
                    "404": no_thread,
                },
            },
            "post": {
                "summary": "Post a message (Hindi or English, attachment references, mentions"
                " of member units, each told at once by SMS). Event: `thread.message_posted`",
                "security": [{"unitToken": []}],
                "parameters": [
                    thread_id,
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "required": False,
                        "description": "Retry with the same key and body: the same message.",
                        "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "MessageRequest"}},
                },
                "responses": {
                    "201": {
                        "description": "the message, posted",
                        "content": {"application/json": {"schema": "Message"}},
                    },
                    "200": {
                        "description": "the message a retry with this key posted before",
                        "content": {"application/json": {"schema": "Message"}},
                    },
                    "400": error_response("invalid fields, each named"),
                    "401": _COMMON["401"],
                    "403": error_response("auditors read threads and post nothing"),
                    "404": no_thread,
                    "422": error_response(
                        "a mention of a unit that is not a member, or a reused Idempotency-Key"
                    ),
                    "503": error_response("the database did not answer; retry", retry=True),
                },
            },
        },
    )

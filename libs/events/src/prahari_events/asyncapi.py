"""docs/asyncapi.yaml, generated from the event registry: every topic with its key and
headers, and a JSON Schema for every event type at every version. Not written by hand: a
test fails when the registry and the document disagree (`prahari-asyncapi --check`).

The schemas come from the same marshmallow schemas that validate every event, converted by
apispec's converter (OpenAPI 3.1, whose schema objects are JSON Schema 2020-12).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from prahari_events.catalogue import CASE_SNAPSHOT, PRODUCERS, build_registry, dataschema_of
from prahari_events.kafka import Topics
from prahari_events.lgd import AGREEMENT_STATES
from prahari_events.registry import Registry, _EnvelopeSchema

# Which topic carries each family of events.
_CHANNEL_OF = {
    "report": "reports",
    "sms": "intakeReplies",
    "case": "caseEvents",
    "watchlist": "caseEvents",
    "thread": "caseEvents",
    "notification": "notifyEvents",
}

CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0, Kafka protocol binding, binary mode (docs/versioning.md)",
    "required": [
        "ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject",
        "ce_dataschema", "content-type",
    ],
    "properties": {
        "ce_specversion": {"const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid", "description": "the event id"},
        "ce_type": {"type": "string", "description": "the catalogue name, e.g. case.opened"},
        "ce_source": {"type": "string", "enum": [f"/prahari/{s}" for s in
                                                 sorted(set(PRODUCERS.values()))]},
        "ce_time": {"type": "string", "format": "date-time", "description": "occurred at"},
        "ce_subject": {"type": "string", "description": "the stream id, also the key"},
        "ce_dataschema": {"type": "string", "description": "urn:prahari:event:<type>:v<n>"},
        "content-type": {"const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
        "event-type": {"type": "string", "description": "deprecated: ce_type"},
        "event-version": {"type": "string", "description": "deprecated: ce_dataschema"},
        "event-id": {"type": "string", "description": "deprecated: ce_id"},
    },
}  # fmt: skip


# The access log and the checkpoints are CloudEvents too, but not envelopes of a versioned
# event type: no ce_dataschema.
RECORD_HEADERS: dict[str, Any] = {
    **CLOUDEVENT_HEADERS,
    "required": [h for h in CLOUDEVENT_HEADERS["required"] if h != "ce_dataschema"],
}
_NULLABLE_INT = {"type": ["integer", "null"]}
_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
# One row of a service's access_log, as reads.py publishes it.
ACCESS_READ: dict[str, Any] = {
    "type": "object",
    "description": "Who read what: one row of a service's access log",
    "required": [
        "service", "id", "at", "unit_id", "role", "kind", "state", "district", "what",
        "case_id", "detail", "trace_id",
    ],
    "properties": {
        "service": {"type": "string", "enum": ["cases", "notify"]},
        "id": {"type": "integer", "description": "the row's id in that service's log"},
        "at": {"type": "string", "format": "date-time"},
        "unit_id": {"type": "string"},
        "role": {"type": "string"},
        "kind": {"type": "string"},
        "state": _NULLABLE_INT,
        "district": _NULLABLE_INT,
        "what": {"type": "string", "description": "what was read, e.g. case, case.events"},
        "case_id": {"type": ["string", "null"], "format": "uuid"},
        "detail": {"type": "object"},
        "trace_id": {"type": ["string", "null"]},
    },
}  # fmt: skip
# A signed checkpoint, as checkpoints.py makes it (docs/security.md).
CHECKPOINT_SIGNED: dict[str, Any] = {
    "type": "object",
    "description": "A service's signed checkpoint: the heads of the streams changed since the"
    " previous one, chained to it by digest, signed with Ed25519",
    "required": [
        "format", "service", "seq", "upto", "made_at", "events", "prev", "heads", "digest",
        "kid", "signature",
    ],
    "properties": {
        "format": {"const": 1},
        "service": {"type": "string", "enum": ["cases", "notify"]},
        "seq": {"type": "integer", "minimum": 1},
        "upto": {"type": "string", "pattern": "^[0-9]+:[0-9]+$",
                 "description": "the global position reached: transaction id:position"},
        "made_at": {"type": "string", "format": "date-time"},
        "events": {"type": "integer", "minimum": 1},
        "prev": _HEX64,
        "heads": {
            "type": "array",
            "description": "[stream id, version, hash (hex)] of each stream changed",
            "items": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "integer"}, _HEX64],
                "minItems": 3,
                "maxItems": 3,
            },
        },
        "digest": _HEX64,
        "kid": {"type": "string"},
        "signature": {"type": "string", "description": "Ed25519, base64"},
    },
}  # fmt: skip


def _first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def message_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}"


def document(registry: Registry | None = None, topics: Topics | None = None) -> dict[str, Any]:
    registry = registry or build_registry()
    topics = topics or Topics()
    plugin = MarshmallowPlugin()
    spec = APISpec("events", "1", "3.1.0", plugins=[plugin])
    converter = plugin.converter
    assert converter is not None

    def json_schema(schema: type[Schema]) -> dict[str, Any]:
        # apispec's converter is untyped; its result is a plain JSON Schema dict.
        converted: dict[str, Any] = converter.schema2jsonschema(schema())  # type: ignore[no-untyped-call]
        return converted

    envelope = json_schema(_EnvelopeSchema)
    schemas: dict[str, Any] = {"CloudEventHeaders": CLOUDEVENT_HEADERS}
    messages: dict[str, Any] = {}
    by_channel: dict[str, list[str]] = {}
    for name in registry.names():
        for version, payload in sorted(registry.schemas(name).items()):
            key = message_name(name, version)
            body = {
                **envelope,
                "properties": {
                    **envelope["properties"],
                    "type": {"const": name},
                    "version": {"const": version},
                    "payload": json_schema(payload),
                },
            }
            schemas[key] = body
            messages[key] = {
                "name": name,
                "title": f"{name}, version {version}",
                "summary": _first_paragraph(payload.__doc__) or name,
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
                "payload": {"$ref": f"#/components/schemas/{key}"},
                "correlationId": {"location": "$message.payload#/correlation_id"},
                "bindings": {"kafka": {"key": {"type": "string",
                                               "description": "the stream id"}}},
                "x-dataschema": dataschema_of(name, version),
            }  # fmt: skip
            family = name.split(".", 1)[0]
            if name != CASE_SNAPSHOT:
                by_channel.setdefault(_CHANNEL_OF[family], []).append(key)
            if family == "case":  # a partner state's feed: its cases' events, and snapshots
                by_channel.setdefault("shareFeed", []).append(key)
    # Nested schemas the converter registered by reference (none today; kept if added).
    schemas.update(spec.to_dict().get("components", {}).get("schemas", {}))
    addresses = {
        "reports": (topics.reports, "intake", "Reports as units filed them."),
        "intakeReplies": (topics.intake_replies, "intake", "SMS replies for notify to send."),
        "caseEvents": (topics.case_events, "cases", "Every case's events."),
        "notifyEvents": (topics.notify_events, "notify", "Every notification's events."),
        "shareFeed": (
            topics.share("{state}"),
            "cases",
            "One partner state's feed: the events of the cases shared with it or transferred"
            " to it, from the moment it starts seeing each case (a case.snapshot of the whole"
            " case, then the case's later events) to the event that ends its view. Only that"
            " state's principal (state-<code>) may read it.",
        ),
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel, (address, service, description) in addresses.items():
        refs = {m: {"$ref": f"#/components/messages/{m}"} for m in by_channel.get(channel, [])}
        channels[channel] = {"address": address, "description": description, "messages": refs}
        if "{state}" in address:
            channels[channel]["parameters"] = {
                "state": {
                    "description": "the partner state's LGD code",
                    "enum": [str(state) for state in sorted(AGREEMENT_STATES)],
                }
            }
        operations[f"{service}Publishes{channel[0].upper()}{channel[1:]}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in refs],
        }
    schemas["RecordHeaders"] = RECORD_HEADERS
    schemas["access.read"] = ACCESS_READ
    schemas["checkpoint.signed"] = CHECKPOINT_SIGNED
    for name, summary in (
        ("access.read", "who read what, from a service's access log"),
        ("checkpoint.signed", "a service's signed checkpoint"),
    ):
        messages[name] = {
            "name": name,
            "title": name,
            "summary": summary,
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/RecordHeaders"},
            "payload": {"$ref": f"#/components/schemas/{name}"},
        }
    channels["access"] = {
        "address": topics.access,
        "description": "Who read what, from the access logs of cases and notify; keyed by"
        " case id (or the unit's id for a read of no one case).",
        "messages": {"access.read": {"$ref": "#/components/messages/access.read"}},
    }
    channels["checkpoints"] = {
        "address": topics.checkpoints("{service}"),
        "description": "A service's signed checkpoints, in order, one partition; keyed by"
        " the service. prahari-audit verify folds them (docs/security.md).",
        "parameters": {"service": {"enum": ["cases", "notify"]}},
        "messages": {"checkpoint.signed": {"$ref": "#/components/messages/checkpoint.signed"}},
    }
    for channel, message in (("access", "access.read"), ("checkpoints", "checkpoint.signed")):
        operations[f"servicesPublish{channel.title()}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
        }
    channels["deadletter"] = {
        "address": topics.deadletter,
        "description": "Any message a consumer could not process, as it was, with the"
        " headers dlq-reason, dlq-consumer and dlq-source (topic/partition/offset).",
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Prahari events",
            "version": "1",
            "description": "The events Prahari's services publish on Kafka, generated from"
            " the event registry (prahari_events/catalogue.py). Keys are stream ids; every"
            " topic is kept forever. How versions change: docs/versioning.md.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render(doc: dict[str, Any]) -> str:
    header = "# Generated by prahari-asyncapi from the event registry: do not edit.\n"
    body: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prahari-asyncapi", description="Write (or --check) docs/asyncapi.yaml."
    )
    parser.add_argument("--out", type=Path, default=Path("docs/asyncapi.yaml"))
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs")
    args = parser.parse_args(argv)
    text = render(document())
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        if not same:
            print(f"{args.out} disagrees with the registry: run prahari-asyncapi", file=sys.stderr)
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""schemathesis hooks (schemathesis.toml): what a real client of Prahari does that a
generator cannot know.

- Each request's Idempotency-Key is fresh, as a client mints one per new request: a
  generated value repeats across different bodies, which the API rightly refuses (422).
  A request generated without the header keeps going without it (the check of a missing
  required header).
- The SMS gateways' webhooks (intake's inbound SMS, notify's delivery reports) are signed
  with the shared secret in PRAHARI_WEBHOOK_SECRET over the exact bytes sent, now; only
  requests generated as valid are signed, so invalid ones still test the refusal.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import schemathesis
from schemathesis import GenerationMode

from prahari_events.webhooks import signature

_SIGNED = {"/v1/sms/inbound", "/v1/receipts/sms"}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if case.path in _SIGNED:
        with open("/tmp/st_debug.log", "a") as f:
            f.write(f"BEFORE {case.meta.generation.mode if case.meta else None} {case.headers}\n")
    headers = case.headers if case.headers is not None else {}
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if case.path in _SIGNED and positive and "X-Prahari-Signature" in headers:
        body = json.dumps(case.body, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        secret = os.environ["PRAHARI_WEBHOOK_SECRET"].encode()
        headers["X-Prahari-Timestamp"] = stamp
        headers["X-Prahari-Signature"] = signature(secret, stamp, body)
        case.body = body  # sent as these bytes, the ones signed
    case.headers = headers

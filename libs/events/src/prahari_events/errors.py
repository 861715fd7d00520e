"""The one error hierarchy. Every error says whether retrying the same operation can help;
`prahari_events.web` maps these to HTTP status codes in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PrahariError(Exception):
    code = "error"
    retriable = False

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, Any] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: Mapping[str, Any] = fields or {}
        # For errors that reach a client: when trying again makes sense (Retry-After).
        self.retry_after_s = retry_after_s


class InvalidInput(PrahariError):
    """The caller sent something we will never accept as it is."""

    code = "invalid_input"


class Unprocessable(InvalidInput):
    """Well-formed, as the API's document describes it, but not acceptable as it stands: an
    LGD code not in the directory, a district of another state, a unit not in the
    directory, a moment in the future. The rules the document can only state in words."""

    code = "unprocessable"


class IdempotencyKeyReused(InvalidInput):
    """The same Idempotency-Key came back with a different request."""

    code = "idempotency_key_reused"


class Unauthenticated(PrahariError):
    code = "unauthenticated"


class Forbidden(PrahariError):
    code = "forbidden"


class NotFound(PrahariError):
    code = "not_found"


class ConcurrencyError(PrahariError):
    """Someone else appended to the stream first; re-read and decide again."""

    code = "conflict"
    retriable = True


class Replayed(PrahariError):
    """An exact copy of a signed request already answered (a captured webhook sent again)."""

    code = "replayed"


class InvalidTransition(PrahariError):
    """The command does not apply to the aggregate as it stands (a closed case cannot be
    assigned); `fields` names the current status and what is allowed from it."""

    code = "invalid_transition"


class PreconditionRequired(PrahariError):
    """A state-changing command came without If-Match: the caller must say which version
    it decided on."""

    code = "precondition_required"


class PreconditionFailed(PrahariError):
    """If-Match named a version that is no longer current; re-read and decide again."""

    code = "precondition_failed"


class Unavailable(PrahariError):
    """A dependency (Kafka, PostgreSQL, a gateway) did not answer; try again later."""

    code = "unavailable"
    retriable = True


class InvalidEvent(PrahariError):
    """An event that does not match its contract: unknown type, version or payload."""

    code = "invalid_event"


class ConfigError(PrahariError):
    code = "config_error"


class DeliveryError(PrahariError):
    """A provider refused or failed a notification."""

    code = "delivery_failed"

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable

"""What the HTTP and the SMS entrypoints share: the desk, and the one way a report body
becomes a command."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from prahari_events.web import load_input
from prahari_intake.domain.reports import FileReport
from prahari_intake.entrypoints.schemas import ReportRequest
from prahari_intake.service_layer.desk import ReportDesk

DESK = web.AppKey("desk", ReportDesk)

# Built once: a marshmallow Schema is reusable, and building one (with its nested schemas)
# costs more than validating a report with it.
_REPORT_REQUEST = ReportRequest()


def report_command(body: dict[str, Any]) -> FileReport:
    """The one way a report body, from HTTP or SMS, becomes a command."""
    data = load_input(_REPORT_REQUEST, body, "the report has invalid fields")
    return FileReport(
        report_type=data["type"],
        description=data["description"],
        state=data["state"],
        district=data["district"],
        occurred_at=data["occurred_at"],
        location=data["location"],
        details=data["details"],
        source=data["source"],
    )

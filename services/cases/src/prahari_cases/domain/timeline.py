"""A case's history as lines a person reads: when (in IST), who, from which unit and state,
and what they did. Pure: names come from the reference data handed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

from prahari_cases.domain import events as ev
from prahari_events.envelope import Envelope, iso
from prahari_events.lgd import Directory
from prahari_events.policy import Area

IST = timezone(timedelta(hours=5, minutes=30), "IST")
UnitName = Callable[[int | None, str], str | None]


def rupees(amount: int) -> str:
    """Indian digit grouping: 4,80,000 and 1,25,00,000."""
    digits = str(amount)
    if len(digits) <= 3:
        return f"Rs {digits}"
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return f"Rs {','.join(groups)},{tail}"


class Narrator:
    def __init__(self, places: Directory, unit_name: UnitName) -> None:
        self._places = places
        self._unit_name = unit_name

    def place(self, area: Area) -> str:
        state = self._places.states.get(area.state, str(area.state)).title()
        if area.district is None:
            return f"{state} (its control rooms)"
        return f"{self._places.district_name(area.district)}, {state}"

    def unit(self, unit_id: str, state: int | None, district: int | None) -> str:
        """`UP-SON-DCR (District Control Room, Sonbhadra, Uttar Pradesh)`: the id, the name
        the directory gives it, and its state, each said once."""
        if state is None:
            where = "national"
        else:
            place = self.place(Area(state, district))
            where = place.replace(" (its control rooms)", "")
        name = self._unit_name(state, unit_id)
        if name is None:
            return f"{unit_id} ({where})"
        state_name = where.rsplit(", ", 1)[-1]
        return (
            f"{unit_id} ({name})"
            if name.endswith(state_name)
            else f"{unit_id} ({name}, {state_name})"
        )

    def line(self, envelope: Envelope) -> dict[str, Any]:
        actor = envelope.actor
        at_ist = envelope.recorded_at.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S IST")
        if actor.role == "system":
            unit = f"{actor.unit_id.removeprefix('service:')} service"
        else:
            unit = self.unit(actor.unit_id, actor.state, actor.district)
        what = self.what(ev.parse(envelope.type, envelope.payload))
        return {
            "version": envelope.stream_version,
            "type": envelope.type,
            "at": iso(envelope.recorded_at),
            "at_ist": at_ist,
            "who": actor.to_json(),
            "unit": unit,
            "what": what,
            "line": f"{at_ist}: {unit} {what}",
        }

    def what(self, event: ev.CaseEvent) -> str:  # noqa: PLR0912 (one branch per event type)
        match event:
            case ev.CaseOpened(report_type=kind, reported_by=by, place=place):
                label = kind.replace("_", " ")
                filer = self.unit(by.unit_id, by.state, by.district)
                return f"opened the case in {self.place(place)} from a {label} filed by {filer}"
            case ev.CaseAssigned(assignee=assignee, note=note):
                to = self.unit(assignee.ref.unit_id, assignee.ref.state, None)
                return f"assigned the case to {to}" + (f": {note}" if note else "")
            case ev.CaseAcknowledged():
                return "acknowledged the assignment"
            case ev.NoteAdded(text=text, attachments=attachments):
                extra = f" ({len(attachments)} attachment(s))" if attachments else ""
                return f"added a note{extra}: {text}"
            case ev.FieldReportFiled(findings=findings, action_taken=action):
                return f"filed the field report: {findings}; action taken: {action}"
            case ev.SeizureRecorded():
                amount = f"{event.quantity:g} {event.unit}"
                label = event.category.replace("_", " ")
                refs = [event.agency.replace("_", " ")]
                if event.fir_number:
                    refs.append(f"FIR {event.fir_number}")
                if event.police_station:
                    refs.append(f"PS {event.police_station}")
                return (
                    f"recorded a seizure of {amount} of {label} worth {rupees(event.value_inr)}"
                    f" ({', '.join(refs)})"
                )
            case ev.Escalated(from_level=low, to_level=high, reason=reason):
                return f"escalated the case from {low} to {high} level: {reason}"
            case ev.Shared(partner=partner, reason=reason):
                return f"shared the case with {self.place(partner)}: {reason}"
            case ev.ShareRevoked(partner=partner):
                return f"stopped sharing the case with {self.place(partner)}"
            case ev.TransferRequested(to=to, reason=reason):
                return f"asked {self.place(to)} to take the case over: {reason}"
            case ev.TransferWithdrawn(to=to, reason=reason):
                why = f": {reason}" if reason else ""
                return f"withdrew the transfer to {self.place(to)}{why}"
            case ev.Transferred(origin=origin, to=to):
                return f"accepted the case: it moved from {self.place(origin)} to {self.place(to)}"
            case ev.TransferRefused(reason=reason):
                return f"refused the transfer: {reason}"
            case ev.Closed(disposition=disposition, summary=summary, duplicate_of=original):
                dup = f" of case {original}" if original else ""
                return f"closed the case as {disposition.replace('_', ' ')}{dup}: {summary}"
            case ev.Reopened(reason=reason):
                return f"reopened the case: {reason}"
            case ev.ReportLinked(report=report, matched=matched):
                filer = self.unit(
                    report.reported_by.unit_id,
                    report.reported_by.state,
                    report.reported_by.district,
                )
                return (
                    f"attached a {report.report_type.replace('_', ' ')} filed by {filer}:"
                    f" the same {matched.kind} ({matched.value})"
                )
            case ev.WatchlistHit(owner=owner, identifier=identifier):
                return (
                    f"flagged a watchlist entry of {owner.unit_id}:"
                    f" {identifier.kind} {identifier.value}"
                )
            case ev.SlaBreached(stage=stage, due_at=due_at, level=level):
                due = due_at.astimezone(IST).strftime("%H:%M IST")
                return (
                    f"recorded a missed deadline: {stage.replace('_', ' ')} was due by {due}"
                    f" ({level} level)"
                )
            case ev.ReportUnlinked(report=report, reason=reason):
                return f"detached report {report.report_id} (it opens its own case): {reason}"
            case ev.CaseLinked(other_case_id=other, other_state=state, identifier=identifier):
                where = self.place(Area(state)).replace(" (its control rooms)", "")
                return (
                    f"linked the case to case {other} in {where}:"
                    f" the same {identifier.kind} ({identifier.value})"
                )
            case ev.TakedownRequested():
                due = event.due_at.astimezone(IST).strftime("%Y-%m-%d %H:%M IST")
                basis = _LEGAL_BASES.get(event.legal_basis, event.legal_basis)
                return (
                    f"asked {event.platform} to take down {event.url} ({basis}, through"
                    f" {event.nodal_officer}), by {due}"
                )
            case ev.TakedownConfirmed(platform_reference=reference):
                return f"recorded that the platform took the post down (its reference {reference})"
            case ev.TakedownRefused(platform_reference=reference, reason=reason):
                ref = f" (its reference {reference})" if reference else ""
                return f"recorded that the platform refused the takedown{ref}: {reason}"
            case ev.FactCheckPublished(url=url, text_en=text_en):
                return f"published a fact-check at {url}: {text_en}"
            case ev.SourceActionTaken(fir_number=fir, sections=sections, police_station=ps):
                at = f" at PS {ps}" if ps else ""
                return f"acted against the source: FIR {fir}{at} under {', '.join(sections)}"
        raise ValueError(f"no words for {type(event).__name__}")  # pragma: no cover


_LEGAL_BASES = {"it_act_69a": "IT Act s.69A", "it_act_79_3_b": "IT Act s.79(3)(b)"}

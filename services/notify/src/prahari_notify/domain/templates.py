"""Every message notify sends, by template name: a DLT-registered SMS template in English
and in Hindi (their text must match what is registered, to the letter, and each `{#var#}`
takes at most 30 characters), the names of the values each one takes in order, and an
email subject. Emails are always bilingual: the English text, then the Hindi, then the
details. Pure data and pure rendering; reviewed like code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prahari_notify.domain.sms import VAR, SmsTemplate, sms_segments


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    en: SmsTemplate
    en_values: tuple[str, ...]
    hi: SmsTemplate
    hi_values: tuple[str, ...]
    title_en: str
    title_hi: str

    def sms(self, language: str) -> tuple[SmsTemplate, tuple[str, ...]]:
        return (self.hi, self.hi_values) if language == "hi" else (self.en, self.en_values)


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    template_id: str
    segments: int


def _t(  # noqa: PLR0917 (the catalogue below reads best as rows)
    name: str,
    ids: tuple[str, str],
    en: str,
    en_values: Sequence[str],
    hi: str,
    hi_values: Sequence[str],
    title_en: str,
    title_hi: str,
) -> Template:
    for text, values in ((en, en_values), (hi, hi_values)):
        if text.count(VAR) != len(values):
            raise ValueError(f"template {name}: {text.count(VAR)} slots, {len(values)} values")
    return Template(
        name,
        SmsTemplate(ids[0], "en", en),
        tuple(en_values),
        SmsTemplate(ids[1], "hi", hi),
        tuple(hi_values),
        title_en,
        title_hi,
    )


_ALL = [
    _t(
        "case_opened",
        ("1007000000000000001", "1007000000000000002"),
        "PRAHARI ALERT: New {#var#} case {#var#} in {#var#}. Assign by {#var#}. -Prahari",
        ["type_en", "ref", "district", "deadline"],
        "प्रहरी सूचना: {#var#} में नया {#var#} मामला {#var#}। {#var#} तक आवंटित करें।",
        ["district", "type_hi", "ref", "deadline"],
        "New case",
        "नया मामला",
    ),
    _t(
        "case_assigned",
        ("1007000000000000104", "1007000000000000105"),
        "PRAHARI: Case {#var#} in {#var#} is assigned to you. Acknowledge it now. -Prahari",
        ["ref", "district"],
        "प्रहरी: {#var#} का मामला {#var#} आपको सौंपा गया है। तुरंत पावती दें।",
        ["district", "ref"],
        "Case assigned to you",
        "मामला आपको सौंपा गया",
    ),
    _t(
        "report_linked",
        ("1007000000000000106", "1007000000000000107"),
        "PRAHARI: New report on case {#var#} in {#var#}: {#var#}. -Prahari",
        ["ref", "district", "detail"],
        "प्रहरी: {#var#} के मामले {#var#} पर नई सूचना: {#var#}।",
        ["district", "ref", "detail"],
        "New report on a case",
        "मामले पर नई सूचना",
    ),
    _t(
        "report_linked_digest",
        ("1007000000000000108", "1007000000000000109"),
        "PRAHARI: {#var#} more reports linked to case {#var#} in {#var#}. -Prahari",
        ["count", "ref", "district"],
        "प्रहरी: {#var#} के मामले {#var#} से {#var#} और सूचनाएँ जुड़ीं।",
        ["district", "ref", "count"],
        "More reports on a case",
        "मामले पर और सूचनाएँ",
    ),
    _t(
        "case_shared",
        ("1007000000000000110", "1007000000000000111"),
        "PRAHARI: {#var#} shared case {#var#} with you: {#var#}. -Prahari",
        ["origin", "ref", "detail"],
        "प्रहरी: {#var#} ने मामला {#var#} आपसे साझा किया: {#var#}।",
        ["origin", "ref", "detail"],
        "Case shared with you",
        "मामला आपसे साझा",
    ),
    _t(
        "transfer_requested",
        ("1007000000000000112", "1007000000000000113"),
        "PRAHARI: {#var#} asks you to take over case {#var#}: {#var#}. -Prahari",
        ["origin", "ref", "detail"],
        "प्रहरी: {#var#} ने मामला {#var#} आपको सौंपने का अनुरोध किया: {#var#}।",
        ["origin", "ref", "detail"],
        "Transfer requested",
        "स्थानांतरण अनुरोध",
    ),
    _t(
        "case_transferred",
        ("1007000000000000114", "1007000000000000115"),
        "PRAHARI: Case {#var#} from {#var#} is now yours. -Prahari",
        ["ref", "origin"],
        "प्रहरी: {#var#} का मामला {#var#} अब आपका है।",
        ["origin", "ref"],
        "Case transferred to you",
        "मामला आपको स्थानांतरित",
    ),
    _t(
        "sla_breached",
        ("1007000000000000116", "1007000000000000117"),
        "PRAHARI: Case {#var#} in {#var#} missed its {#var#} deadline of {#var#}. -Prahari",
        ["ref", "district", "detail", "deadline"],
        "प्रहरी: {#var#} का मामला {#var#} {#var#} की समय-सीमा {#var#} चूक गया।",
        ["district", "ref", "detail", "deadline"],
        "Deadline missed",
        "समय-सीमा चूकी",
    ),
    _t(
        "case_escalated",
        ("1007000000000000118", "1007000000000000119"),
        "PRAHARI: Case {#var#} in {#var#} escalated to you: {#var#}. -Prahari",
        ["ref", "district", "detail"],
        "प्रहरी: {#var#} का मामला {#var#} आपको भेजा गया: {#var#}।",
        ["district", "ref", "detail"],
        "Case escalated",
        "मामला आगे भेजा गया",
    ),
    _t(
        "watchlist_hit",
        ("1007000000000000120", "1007000000000000121"),
        "PRAHARI: Your watchlist entry {#var#} appears in case {#var#} in {#var#}. -Prahari",
        ["detail", "ref", "district"],
        "प्रहरी: आपकी निगरानी सूची की प्रविष्टि {#var#} {#var#} के मामले {#var#} में है।",
        ["detail", "district", "ref"],
        "Watchlist hit",
        "निगरानी सूची मिलान",
    ),
    _t(
        "case_closed",
        ("1007000000000000122", "1007000000000000123"),
        "PRAHARI: Case {#var#} you reported in {#var#} is closed: {#var#}. -Prahari",
        ["ref", "district", "detail"],
        "प्रहरी: आपकी सूचना पर {#var#} का मामला {#var#} बंद: {#var#}।",
        ["district", "ref", "detail"],
        "Case closed",
        "मामला बंद",
    ),
    _t(
        "takedown_requested",
        ("1007000000000000126", "1007000000000000127"),
        "PRAHARI: Rumour case {#var#} in {#var#}: get the post taken down by {#var#}"
        " by {#var#}. -Prahari",
        ["ref", "district", "detail", "deadline"],
        "प्रहरी: {#var#} का अफवाह मामला {#var#}: {#var#} से पोस्ट {#var#} तक हटवाएँ।",
        ["district", "ref", "detail", "deadline"],
        "Takedown requested",
        "पोस्ट हटाने का अनुरोध",
    ),
    _t(
        "takedown_refused",
        ("1007000000000000128", "1007000000000000129"),
        "PRAHARI: {#var#} refused the takedown in case {#var#} in {#var#}."
        " Decide the next step. -Prahari",
        ["detail", "ref", "district"],
        "प्रहरी: {#var#} ने {#var#} के मामले {#var#} में पोस्ट हटाने से मना किया। अगला कदम तय करें।",
        ["detail", "district", "ref"],
        "Takedown refused",
        "पोस्ट हटाने से इनकार",
    ),
    _t(
        "thread_mention",
        ("1007000000000000130", "1007000000000000131"),
        "PRAHARI: {#var#} mentioned you in thread {#var#}: {#var#} -Prahari",
        ["origin", "ref", "detail"],
        "प्रहरी: {#var#} ने थ्रेड {#var#} में आपका उल्लेख किया: {#var#}",
        ["origin", "ref", "detail"],
        "You were mentioned",
        "आपका उल्लेख",
    ),
    _t(
        "thread_message",
        ("1007000000000000132", "1007000000000000133"),
        "PRAHARI: New message in thread {#var#} from {#var#}: {#var#} -Prahari",
        ["ref", "origin", "detail"],
        "प्रहरी: थ्रेड {#var#} में {#var#} का नया संदेश: {#var#}",
        ["ref", "origin", "detail"],
        "New message in a thread",
        "थ्रेड में नया संदेश",
    ),
    _t(
        "thread_message_digest",
        ("1007000000000000134", "1007000000000000135"),
        "PRAHARI: {#var#} more messages in thread {#var#}. -Prahari",
        ["count", "ref"],
        "प्रहरी: थ्रेड {#var#} में {#var#} और संदेश।",
        ["ref", "count"],
        "More messages in a thread",
        "थ्रेड में और संदेश",
    ),
    _t(
        "alert_expired",
        ("1007000000000000124", "1007000000000000125"),
        "PRAHARI: Alert to {#var#} on case {#var#} was not delivered in time. Act now. -Prahari",
        ["detail", "ref"],
        "प्रहरी: मामला {#var#} की सूचना {#var#} तक समय पर नहीं पहुँची। तुरंत कार्रवाई करें।",
        ["ref", "detail"],
        "Alert not delivered",
        "सूचना नहीं पहुँची",
    ),
]


def _reply(name: str, template_id: str, text: str, values: Sequence[str], title: str) -> Template:
    # Replies to SMS reports are registered in English only (the format is English keys),
    # under the ids they had when intake sent them itself.
    sms = SmsTemplate(template_id, "en", text)
    return Template(name, sms, tuple(values), sms, tuple(values), title, title)


_HELP_TEXT = {
    "rumour": "PRAHARI: PR RUM <district> p=platform h=handle-or-URL [l=language] <text>."
    " E.g. PR RUM 184 p=whatsapp h=+9198xxxxxx21 fake poll date message",
    "smuggling_tip": "PRAHARI: PR TIP <district> c=commodity [v=vehicle] <text>."
    " Commodities: cash liquor drugs precious_metals freebies arms other",
    "seizure": "PRAHARI: PR SZR <district> c=category q=quantity val=rupees a=agency"
    " [cp=check-post] [v=vehicle] <text>. E.g. PR SZR 135 c=liquor q=1200 val=480000 a=excise",
    "intelligence": "PRAHARI: PR INT <district> s=subject [v=vehicle] <text>. Subjects:"
    " naxal_activity inter_state_gang anti_social_elements suspicious_movement other",
    "incident": "PRAHARI: PR INC <district> c=category [inj=injured] <text>. Categories:"
    " violence booth_capturing voter_intimidation code_of_conduct_violation other",
}
_ALL += [
    _reply(
        "reply_filed",
        "1007000000000000010",
        "PRAHARI: report {#var#} received for district {#var#}.",
        ["ref", "district"],
        "Report received",
    ),
    _reply(
        "reply_not_filed",
        "1007000000000000011",
        "PRAHARI: report not filed: {#var#}. Format: PR TYPE DISTRICT key=value text."
        " Types RUM TIP SZR INT INC. Send PR HELP TYPE for its keys.",
        ["detail"],
        "Report not filed",
    ),
] + [
    _reply(f"reply_help_{kind}", f"100700000000000002{n}", text, [], "Help")
    for n, (kind, text) in enumerate(_HELP_TEXT.items())
]
TEMPLATES: Mapping[str, Template] = {t.name: t for t in _ALL}


def fill(text: str, values: Sequence[str]) -> str:
    """The template with its slots filled, unclipped (for email, which has no DLT limit)."""
    parts = text.split(VAR)
    out = [parts[0]]
    for value, tail in zip(values, parts[1:], strict=True):
        out.extend((value, tail))
    return "".join(out)


def render_sms(template: Template, language: str, values: Mapping[str, str]) -> Rendered:
    sms, names = template.sms(language)
    text = sms.render([values.get(n, "") for n in names])
    return Rendered(text, sms.template_id, sms_segments(text).parts)


def render_email(
    template: Template, values: Mapping[str, str], details: Sequence[tuple[str, str]]
) -> tuple[str, str]:
    """Subject and body: English, then Hindi, then the details, so either reader can act."""
    ref = values.get("ref", "")
    subject = f"[Prahari] {template.title_en} {ref} / {template.title_hi}".replace("  ", " ")
    en = fill(template.en.text, [values.get(n, "") for n in template.en_values])
    hi = fill(template.hi.text, [values.get(n, "") for n in template.hi_values])
    lines = [en, "", hi, ""] + [f"{label}: {value}" for label, value in details]
    return subject, "\n".join(lines) + "\n"

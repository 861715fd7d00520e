"""SMS rules in India, pure: DLT templates and segment counting. Hindi needs UCS-2 (70
characters in one SMS, 67 per part), GSM-7 text gets 160 (153 per part). Every outbound
SMS, alerts and intake's replies alike, is rendered here, in notify."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

# DLT: a template's {#var#} placeholders take at most 30 characters each, and a message
# that strays from its registered template is blocked.
VAR = "{#var#}"
MAX_VAR = 30


@dataclass(frozen=True, slots=True)
class SmsTemplate:
    template_id: str
    language: str
    text: str

    def render(self, values: Sequence[str]) -> str:
        if self.text.count(VAR) != len(values):
            raise ValueError(f"template {self.template_id} takes {self.text.count(VAR)} values")
        parts = self.text.split(VAR)
        out = [parts[0]]
        for value, tail in zip(values, parts[1:], strict=True):
            out.append(clip(value))
            out.append(tail)
        return "".join(out)

    def matches(self, message: str) -> bool:
        """Would the DLT scrubber pass this message for this template?"""
        pattern = f".{{0,{MAX_VAR}}}"
        regex = "".join(pattern if i % 2 else re.escape(p) for i, p in enumerate(_split(self.text)))
        return re.fullmatch(regex, message, flags=re.DOTALL) is not None


def _split(text: str) -> list[str]:
    out: list[str] = []
    for i, piece in enumerate(text.split(VAR)):
        if i:
            out.append(VAR)
        out.append(piece)
    return out


def clip(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= MAX_VAR else value[: MAX_VAR - 1] + "…"


# GSM 03.38 basic set; the extension set costs two septets each.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    parts: int
    units: int


def sms_segments(text: str) -> Segments:
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        parts = 1 if septets <= 160 else math.ceil(septets / 153)
        return Segments("GSM-7", parts, septets)
    units = len(text.encode("utf-16-le")) // 2
    parts = 1 if units <= 70 else math.ceil(units / 67)
    return Segments("UCS-2", parts, units)

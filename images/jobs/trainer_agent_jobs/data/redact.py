"""Short, redacted excerpts for reports: no e-mail addresses, URLs, long numbers, or whole rows."""
from __future__ import annotations

import re

from .dedupe import strip_mail_headers

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
NUMBER = re.compile(r"\d[\d\s().-]{5,}\d")


def redact(text: str, limit: int = 80) -> str:
    """The first ``limit`` characters of the body with addresses, URLs and long numbers masked."""
    body = " ".join(strip_mail_headers(text).split())
    body = EMAIL.sub("[email]", body)
    body = URL.sub("[url]", body)
    body = NUMBER.sub("[number]", body)
    return body[:limit] + ("…" if len(body) > limit else "")

"""Normalisation and removal of unusable rows."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Sequence

from ..common.records import Record


@dataclass(frozen=True)
class CleanOutcome:
    """Kept records and how many were dropped as unusable."""

    records: list[Record]
    invalid: int


def normalise_text(text: str, lowercase: bool, max_chars: int | None) -> str:
    """NFC, Unix newlines, no NULs, stripped ends; optionally lowercased and truncated."""
    cleaned = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    cleaned = cleaned.strip()
    if lowercase:
        cleaned = cleaned.lower()
    return cleaned[:max_chars] if max_chars else cleaned


def image_is_readable(path: str) -> bool:
    """True when Pillow can open and verify the file."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except Exception:  # noqa: BLE001 - any decoding failure makes the row unusable
        return False


def clean(records: Sequence[Record], lowercase: bool = False, max_chars: int | None = None) -> CleanOutcome:
    """Normalise text, drop empty texts and unreadable images."""
    kept: list[Record] = []
    for record in records:
        if record.text is not None:
            text = normalise_text(record.text, lowercase, max_chars)
            if text:
                kept.append(replace(record, text=text))
        elif record.image is not None and image_is_readable(record.image):
            kept.append(record)
    return CleanOutcome(kept, len(records) - len(kept))

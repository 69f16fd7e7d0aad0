"""The row every job passes around: text, image or a table row's features, an optional label, and where it came from."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Record:
    """One example. ``image`` is an absolute file path; ``features`` maps a table row's feature names to a number,
    a string or None (missing); ``label`` is None when unlabelled (a regression target is its number as text)."""

    source: str
    index: int
    text: str | None = None
    image: str | None = None
    label: str | None = None
    origin: str = "source"  # source | corrected | auto-label | augment
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    features: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def content(self) -> str:
        """The text, the image path, or a table row's features as canonical JSON."""
        if self.features is not None:
            return json.dumps(self.features, sort_keys=True, default=str)
        return self.text if self.text is not None else (self.image or "")

    def with_label(self, label: str | None, origin: str) -> "Record":
        """A copy with a new label and the reason it changed."""
        return replace(self, label=label, origin=origin)

    def to_row(self) -> dict[str, Any]:
        """The JSON-lines row of the prepared splits: ``{"text"|"image"|"features": ..., "label": ...}``."""
        row: dict[str, Any]
        if self.features is not None:
            row = {"features": self.features}
        else:
            row = {"text": self.text} if self.text is not None else {"image": self.image}
        if self.label is not None:
            row["label"] = self.label
        if self.origin != "source":
            row["origin"] = self.origin
        return row


def from_row(row: dict[str, Any], source: str, index: int) -> Record:
    """The inverse of :meth:`Record.to_row` for rows read back from a prepared split."""
    label = row.get("label")
    return Record(
        source=source,
        index=index,
        text=row.get("text"),
        image=row.get("image"),
        label=None if label is None else str(label),
        origin=str(row.get("origin", "source")),
        features=row.get("features"),
    )

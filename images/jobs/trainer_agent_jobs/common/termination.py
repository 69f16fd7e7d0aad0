"""The compact summary (< 4 KiB) that Kubernetes reads from a finished pod's termination log."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LIMIT_BYTES = 4096


def compact(summary: dict[str, Any], limit: int = LIMIT_BYTES) -> str:
    """JSON of ``summary``, dropping its largest fields until it fits ``limit`` bytes."""
    data = dict(summary)
    text = json.dumps(data, separators=(",", ":"), default=float)
    while len(text.encode()) > limit and data:
        largest = max(data, key=lambda k: len(json.dumps(data[k], default=float)))
        data.pop(largest)
        data["truncated"] = True
        text = json.dumps(data, separators=(",", ":"), default=float)
    return text[:limit]


def termination_path(explicit: str | None) -> Path | None:
    """The explicit path, else $TERMINATION_MESSAGE_PATH, else None (skip)."""
    chosen = explicit or os.environ.get("TERMINATION_MESSAGE_PATH")
    return Path(chosen) if chosen else None


def write(summary: dict[str, Any], explicit: str | None) -> None:
    """Write the compact summary when a termination path is known."""
    path = termination_path(explicit)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(compact(summary))

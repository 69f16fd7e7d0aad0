"""Progress as JSON lines on stdout (machine-readable); human logs on stderr."""
from __future__ import annotations

import json
import sys
from typing import Any


def progress(stage: str, step: int, total: int, metric: dict[str, Any] | None = None) -> None:
    """Emit ``{"event":"progress","stage":...,"step":n,"total":m,"metric":{...}}`` on stdout."""
    line = {"event": "progress", "stage": stage, "step": step, "total": total, "metric": metric or {}}
    sys.stdout.write(json.dumps(line, default=float) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    """A human log line on stderr."""
    sys.stderr.write(message.rstrip() + "\n")
    sys.stderr.flush()

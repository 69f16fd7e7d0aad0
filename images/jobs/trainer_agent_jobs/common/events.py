"""Progress as JSON lines on stdout (machine-readable); human logs on stderr.

Under ``torchrun`` only rank 0 reports progress (the ranks train the same steps together); the other
ranks' log lines carry their rank.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any


def _rank() -> int:
    value = os.environ.get("RANK", "0")
    return int(value) if value.isdigit() else 0


def progress(stage: str, step: int, total: int, metric: dict[str, Any] | None = None) -> None:
    """Emit ``{"event":"progress","stage":...,"step":n,"total":m,"metric":{...}}`` on stdout."""
    if _rank() != 0:
        return
    line = {"event": "progress", "stage": stage, "step": step, "total": total, "metric": metric or {}}
    sys.stdout.write(json.dumps(line, default=float) + "\n")
    sys.stdout.flush()


def log(message: str) -> None:
    """A human log line on stderr."""
    rank = _rank()
    sys.stderr.write((f"[rank {rank}] " if rank else "") + message.rstrip() + "\n")
    sys.stderr.flush()

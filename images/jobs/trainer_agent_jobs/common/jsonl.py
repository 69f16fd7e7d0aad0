"""Reading and writing JSON-lines files."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, Iterable, Iterator


class JsonlError(ValueError):
    """A line that is not a JSON object, named by file and line number."""


def special_file_kind(path: Path) -> str | None:
    """What ``path`` is when it exists but is not a regular file or folder (reading a FIFO or a device never ends)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line. A UTF-8 BOM and CRLF line ends are tolerated;
    a line that is not UTF-8 or not a JSON object raises :class:`JsonlError` naming the file and line."""
    p = Path(path)
    kind = special_file_kind(p)
    if kind:
        raise JsonlError(f"{p} is {kind}, not a regular file")
    with p.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise JsonlError(f"{p}:{number}: not UTF-8 text (byte {error.start + 1} of the line)") from None
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise JsonlError(f"{p}:{number}: not valid JSON ({error.msg} at column {error.colno})") from None
            if not isinstance(value, dict):
                raise JsonlError(f"{p}:{number}: expected a JSON object per line, got {type(value).__name__}")
            yield number, value


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """All objects of a JSON-lines file (blank lines skipped); a missing file reads as empty."""
    p = Path(path)
    if not p.exists():
        return []
    return [row for _, row in iter_jsonl(p)]


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows, one compact JSON object per line; returns the count."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count

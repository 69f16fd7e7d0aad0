"""Reading the declared sources (csv, jsonl, imagefolder) from local files into records."""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..common.jsonl import JsonlError, iter_jsonl, special_file_kind
from ..common.records import Record
from ..common.runner import JobError
from .spec import Source

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def local_path(uri: str, base: Path | None = None) -> Path:
    """``file:///abs`` or ``file:rel`` (relative to ``base`` or the working directory) to a path."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", ""):
        raise JobError(f"source scheme {parsed.scheme}:// is fetched by the backend, not the data job: {uri}")
    if uri.startswith("file://"):
        return Path(unquote(parsed.path))
    relative = unquote(uri[len("file:"):] if uri.startswith("file:") else uri)
    return ((base or Path.cwd()) / relative).resolve()


def _label(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _tabular_records(rows: list[dict[str, object]], source: Source) -> list[Record]:
    if rows and source.text_column not in rows[0]:
        raise JobError(f"source {source.name}: no column {source.text_column!r} (has {sorted(rows[0])[:20]})")
    unlabelled = source.role == "unlabelled"
    if rows and not unlabelled and not any(source.label_column in row for row in rows):
        raise JobError(f"source {source.name}: no label column {source.label_column!r} (has {sorted(rows[0])[:20]}); "
                       "set labelColumn, or role: unlabelled for data without labels")
    return [
        Record(
            source=source.name, index=i, text=None if row.get(source.text_column) is None else str(row[source.text_column]),
            label=None if unlabelled else _label(row.get(source.label_column)),
        )
        for i, row in enumerate(rows)
    ]


def read_csv(path: Path, source: Source) -> list[Record]:
    """Rows of a CSV file with a header line (a UTF-8 BOM and CRLF line ends are fine)."""
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _tabular_records(list(csv.DictReader(handle)), source)
    except UnicodeDecodeError as error:
        raise JobError(f"source {source.name}: {path} is not UTF-8 text (byte {error.start + 1})") from None
    except csv.Error as error:
        raise JobError(f"source {source.name}: {path}: {error}") from None


def read_jsonl(path: Path, source: Source) -> list[Record]:
    """Objects of a JSON-lines file; a bad line is named with the file and line number."""
    try:
        return _tabular_records([row for _, row in iter_jsonl(path)], source)
    except JsonlError as error:
        raise JobError(f"source {source.name}: {error}") from None


def read_imagefolder(path: Path, source: Source) -> list[Record]:
    """One subfolder per label; an unlabelled source may also hold images directly."""
    records: list[Record] = []
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    for i, file in enumerate(files):
        parent = file.parent
        label = None if source.role == "unlabelled" or parent == path else parent.relative_to(path).parts[0]
        records.append(Record(source=source.name, index=i, image=str(file.resolve()), label=label))
    return records


READERS = {"csv": read_csv, "jsonl": read_jsonl, "imagefolder": read_imagefolder}


def checked_path(source: Source, folder_allowed: bool, allowed: str = "files or folders of files") -> Path:
    """The source's local path, refused with a clear error when missing, a special file (FIFO, device…),
    or a folder where the format reads one file."""
    path = local_path(source.uri)
    if not path.exists():
        raise JobError(f"source {source.name}: {path} does not exist")
    kind = special_file_kind(path)
    if kind:
        raise JobError(f"source {source.name}: {path} is {kind}, not a regular file; data sources must be {allowed}")
    if not folder_allowed and path.is_dir():
        raise JobError(f"source {source.name}: {path} is a folder; format {source.format} reads one file")
    return path


def load_source(source: Source) -> list[Record]:
    """All records of one source; a missing path is a clear error."""
    path = checked_path(source, folder_allowed=source.format == "imagefolder")
    if source.format == "imagefolder" and not path.is_dir():
        raise JobError(f"source {source.name}: imagefolder {path} is not a directory")
    return READERS[source.format](path, source)

"""Reading tables (CSV, Parquet, JSON lines) into plain columns of values: numbers, strings or None.

CSV cells are read as text and typed later (:mod:`.table_columns`), so a CSV and the same table as
Parquet come out the same; the usual spellings of a missing cell ("", NA, N/A, NaN, null, None, ?) are
None. Parquet keeps its own types: numbers stay numbers, booleans become 0/1, dates become ISO text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.jsonl import JsonlError, iter_jsonl
from ..common.runner import JobError
from .sources import checked_path
from .spec import Source

MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


@dataclass(frozen=True)
class Table:
    """One source's rows as columns (every column as long as ``rows``)."""

    source: Source
    columns: dict[str, list[Any]]
    rows: int


def cell(value: Any) -> Any:
    """A cell as a number, a string or None (missing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return cell(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value).strip()
    return None if text.lower() in MISSING_TOKENS else text


def _from_frame(frame: Any, source: Source) -> Table:
    import pandas as pd

    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        series = frame[name]
        values = series.astype(object).where(pd.notna(series), None).tolist()
        columns[str(name)] = [cell(v) for v in values]
    return Table(source, columns, len(frame))


def read_csv_table(path: Path, source: Source) -> Table:
    """Every cell as text (typed later); a header line is required."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise JobError(f"source {source.name}: {path} is not UTF-8 text (byte {error.start + 1})") from None
    except pd.errors.EmptyDataError:
        raise JobError(f"source {source.name}: {path} is empty (a CSV needs a header line and rows)") from None
    except pd.errors.ParserError as error:
        raise JobError(f"source {source.name}: {path} is not a readable CSV: {str(error).strip()}") from None
    return _from_frame(frame, source)


def read_parquet_table(path: Path, source: Source) -> Table:
    """A Parquet file through pyarrow."""
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise JobError(f"source {source.name}: {path} is not a readable Parquet file: {type(error).__name__}: {error}") from None
    return _from_frame(frame, source)


def read_jsonl_table(path: Path, source: Source) -> Table:
    """One JSON object per line; keys are columns (a key missing from a row is a missing cell)."""
    try:
        rows = [row for _, row in iter_jsonl(path)]
    except JsonlError as error:
        raise JobError(f"source {source.name}: {error}") from None
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(str(k) for k in row))
    return Table(source, {name: [cell(row.get(name)) for row in rows] for name in names}, len(rows))


READERS = {"csv": read_csv_table, "parquet": read_parquet_table, "jsonl": read_jsonl_table}


def read_table(source: Source) -> Table:
    """One source as a table; a missing or unreadable file, and a missing label column, are clear errors."""
    path = checked_path(source, folder_allowed=False, allowed="files")
    reader = READERS.get(source.format)
    if reader is None:
        raise JobError(f"source {source.name}: tables are read from csv, parquet or jsonl files, not {source.format}")
    table = reader(path, source)
    if source.role != "unlabelled" and source.label_column not in table.columns:
        raise JobError(f"source {source.name}: no label column {source.label_column!r} (has {sorted(table.columns)[:30]}); "
                       "set labelColumn to the column to predict, or role: unlabelled for rows without labels")
    return table

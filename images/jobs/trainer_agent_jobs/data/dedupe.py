"""Exact and near duplicates: within the data (before splitting) and across splits (leakage).

Text is compared by its content: a leading RFC 822 header block is dropped (the same mail body
delivered twice differs only in its headers), whitespace collapsed and case folded. Images are compared
by their decoded pixels. Near duplicates are pairs whose TF-IDF (text) or pixel (image) vectors have a
cosine similarity at or above a threshold.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..common.records import Record

HEADER_LINE = re.compile(r"^(From \S|[A-Za-z0-9-]+:\s|[ \t]+\S)")
MIN_HEADER_LINES = 3


def strip_mail_headers(text: str) -> str:
    """The body of an RFC 822 message (text after the first blank line) when ``text`` starts with headers."""
    head, separator, body = text.partition("\n\n")
    lines = head.split("\n")
    if separator and len(lines) >= MIN_HEADER_LINES and all(HEADER_LINE.match(line) for line in lines):
        return body
    return text


def text_content(text: str) -> str:
    """What duplicate detection compares for a text: the body, whitespace collapsed, case folded."""
    return " ".join(strip_mail_headers(text).split()).casefold()


def image_key(path: str) -> str:
    """sha256 of the decoded pixels and size (same picture saved twice counts as one)."""
    from PIL import Image

    with Image.open(path) as image:
        converted = image.convert("RGB")
        return hashlib.sha256(f"{converted.size}".encode() + converted.tobytes()).hexdigest()


def content_key(record: Record) -> str:
    """Hash identifying a record's content for exact-duplicate detection."""
    if record.text is not None:
        return hashlib.sha256(text_content(record.text).encode()).hexdigest()
    return image_key(record.image or "")


@dataclass(frozen=True)
class DedupeOutcome:
    """Kept records plus the counts the profile reports."""

    records: list[Record]
    exact: int
    near: int


def _vectors(records: Sequence[Record]) -> "np.ndarray | object":
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    if records and records[0].text is not None:
        contents = [text_content(r.text or "") for r in records]
        return TfidfVectorizer(min_df=1, max_features=100000, dtype=np.float32).fit_transform(contents)
    from ..common.features import image_matrix, infer_geometry

    matrix = image_matrix(records, infer_geometry(records))
    return normalize(matrix - matrix.mean(axis=1, keepdims=True))


def _similar(left: object, right: object, threshold: float, chunk: int = 512) -> list[tuple[int, int]]:
    """(row of left, row of right) pairs with dot product >= threshold (vectors are L2-normalised)."""
    pairs: list[tuple[int, int]] = []
    n = left.shape[0]  # type: ignore[attr-defined]
    for start in range(0, n, chunk):
        block = left[start:start + chunk] @ right.T  # type: ignore[index]
        block = block.toarray() if hasattr(block, "toarray") else np.asarray(block)
        rows, cols = np.nonzero(block >= threshold)
        pairs += [(start + r, c) for r, c in zip(rows.tolist(), cols.tolist())]
    return pairs


def near_duplicate_pairs(records: Sequence[Record], threshold: float) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, whose vectors have cosine similarity >= threshold."""
    if len(records) < 2:
        return []
    vectors = _vectors(records)
    return [(i, j) for i, j in _similar(vectors, vectors, threshold) if i < j]


def near_cross_pairs(left: Sequence[Record], right: Sequence[Record], threshold: float) -> list[tuple[int, int]]:
    """Pairs (i in left, j in right) with cosine similarity >= threshold."""
    if not left or not right:
        return []
    vectors = _vectors(list(left) + list(right))
    return _similar(vectors[: len(left)], vectors[len(left):], threshold)


def dedupe(
    records: Sequence[Record], near: bool, threshold: float, keep_first: Sequence[Record] = (),
) -> DedupeOutcome:
    """Drop exact duplicates (first occurrence wins; ``keep_first`` — the locked test — always wins),
    then near duplicates of earlier rows. Returns only the rows of ``records`` that survive."""
    if not records:
        return DedupeOutcome([], 0, 0)
    ordered = list(keep_first) + list(records)
    protected = len(keep_first)
    seen: set[str] = set()
    survivors: list[int] = []
    exact = 0
    for i, record in enumerate(ordered):
        key = content_key(record)
        if key in seen and i >= protected:
            exact += 1
            continue
        seen.add(key)
        survivors.append(i)
    near_removed: set[int] = set()
    if near:
        kept = [ordered[i] for i in survivors]
        for i, j in near_duplicate_pairs(kept, threshold):
            if i not in near_removed and survivors[j] >= protected:
                near_removed.add(j)
    final = [ordered[survivors[k]] for k in range(len(survivors)) if k not in near_removed and survivors[k] >= protected]
    return DedupeOutcome(final, exact, len(near_removed))


def leakage(train: Sequence[Record], test: Sequence[Record], threshold: float) -> tuple[int, int]:
    """(exact, near) counts of training rows that duplicate a test row."""
    test_keys = {content_key(r) for r in test}
    exact = sum(1 for r in train if content_key(r) in test_keys)
    near_rows = {j for _, j in near_cross_pairs(test, train, threshold)}
    return exact, max(0, len(near_rows) - exact)

"""The locked, stratified test split and stratified reduction."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

from ..common.records import Record


def stratifiable(labels: Sequence[str], test_fraction: float) -> bool:
    """Stratification needs two rows per class and at least one test row per class."""
    counts = Counter(labels)
    return min(counts.values()) >= 2 and int(len(labels) * test_fraction) >= len(counts)


def split_train_test(records: Sequence[Record], test_fraction: float, seed: int,
                     stratum: Callable[[Record], str] | None = None) -> tuple[list[Record], list[Record]]:
    """Stratified (by label, or by ``stratum``: a regression target's range) when possible, shuffled by
    ``seed``; the test split is locked from here on."""
    from sklearn.model_selection import train_test_split

    rows = list(records)
    labels = [stratum(r) if stratum else r.label or "" for r in rows]
    stratify = labels if stratifiable(labels, test_fraction) else None
    train, test = train_test_split(rows, test_size=test_fraction, random_state=seed, stratify=stratify)
    return list(train), list(test)


def reduce_stratified(records: Sequence[Record], max_rows: int, seed: int) -> list[Record]:
    """At most ``max_rows`` rows with class proportions kept."""
    if len(records) <= max_rows:
        return list(records)
    from sklearn.model_selection import train_test_split

    labels = [r.label or "" for r in records]
    stratify = labels if min(Counter(labels).values()) >= 2 else None
    kept, _ = train_test_split(list(records), train_size=max_rows, random_state=seed, stratify=stratify)
    return list(kept)

"""The data profile: counts, classes, balance, lengths or image sizes, duplicates, leakage."""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np

from ..common.records import Record


def distribution(values: Sequence[float]) -> dict[str, float]:
    """min, median, 95th percentile, max and mean."""
    if not values:
        return {"min": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0, "mean": 0.0}
    array = np.asarray(values, dtype=float)
    return {
        "min": float(array.min()), "p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
        "max": float(array.max()), "mean": round(float(array.mean()), 2),
    }


def class_table(train: Sequence[Record], test: Sequence[Record]) -> list[dict[str, Any]]:
    """Per-class counts in train and test, labels sorted."""
    train_counts = Counter(r.label for r in train)
    test_counts = Counter(r.label for r in test)
    labels = sorted({str(label) for label in list(train_counts) + list(test_counts) if label is not None})
    return [{"label": label, "train": train_counts.get(label, 0), "test": test_counts.get(label, 0)} for label in labels]


def minority_ratio(train: Sequence[Record]) -> float:
    """Smallest class count over largest (1.0 is perfectly balanced; 0 when a split is empty)."""
    counts = Counter(r.label for r in train if r.label is not None)
    return round(min(counts.values()) / max(counts.values()), 4) if counts else 0.0


def image_sizes(records: Sequence[Record]) -> dict[str, int]:
    """"WxHxC" → count."""
    from PIL import Image

    sizes: Counter[str] = Counter()
    for record in records:
        with Image.open(record.image or "") as image:
            sizes[f"{image.width}x{image.height}x{len(image.getbands())}"] += 1
    return dict(sizes)


def shape_profile(records: Sequence[Record], modality: str) -> dict[str, Any]:
    """textLengths for text, imageSizes for images."""
    if modality == "image":
        return {"imageSizes": image_sizes(records)}
    return {"textLengths": distribution([len(r.text or "") for r in records])}

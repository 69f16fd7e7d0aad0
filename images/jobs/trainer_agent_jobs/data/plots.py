"""PNG plots for the data report (matplotlib, headless)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(figure: Any, path: Path) -> Path:
    """Write a figure as a small PNG and free it (matplotlib keeps figures alive otherwise)."""
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def class_balance(classes: Sequence[dict[str, Any]], path: Path) -> Path:
    """Bars of train and test counts per class."""
    labels = [c["label"] for c in classes]
    x = range(len(labels))
    figure, axis = plt.subplots(figsize=(max(4, len(labels) * 0.6), 3))
    axis.bar([i - 0.2 for i in x], [c["train"] for c in classes], width=0.4, label="train")
    axis.bar([i + 0.2 for i in x], [c["test"] for c in classes], width=0.4, label="test")
    axis.set_xticks(list(x), labels, rotation=45, ha="right")
    axis.set_title("Class balance")
    axis.legend()
    return _save(figure, path)


def lengths(values: Sequence[float], path: Path, title: str) -> Path:
    """Histogram of text lengths (characters, log scale) or image sides."""
    figure, axis = plt.subplots(figsize=(5, 3))
    axis.hist(values, bins=40)
    axis.set_xscale("symlog")
    axis.set_title(title)
    return _save(figure, path)


def label_errors(per_class: dict[str, dict[str, int]], path: Path) -> Path:
    """Stacked bars: corrected, flagged and dropped label issues per given class."""
    labels = sorted(per_class)
    figure, axis = plt.subplots(figsize=(max(4, len(labels) * 0.6), 3))
    bottom = [0] * len(labels)
    for action in ("corrected", "flagged", "dropped"):
        heights = [per_class[label].get(action, 0) for label in labels]
        axis.bar(labels, heights, bottom=bottom, label=action)
        bottom = [b + h for b, h in zip(bottom, heights)]
    axis.set_title("Label issues by given label")
    axis.legend()
    return _save(figure, path)

"""Evaluation plots: confusion matrix and learning curve (matplotlib, headless)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: Path) -> Path:
    """Heat map with counts; rows true, columns predicted."""
    size = max(3.0, 0.5 * len(labels) + 1.5)
    figure, axis = plt.subplots(figsize=(size, size))
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            axis.text(j, i, str(value), ha="center", va="center", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def learning_curve(points: Sequence[tuple[int, float]], metric: str, path: Path) -> Path:
    """Metric on the evaluation rows against the number of training rows."""
    figure, axis = plt.subplots(figsize=(5, 3))
    axis.plot([p[0] for p in points], [p[1] for p in points], marker="o")
    axis.set_xlabel("training rows")
    axis.set_ylabel(metric)
    axis.set_title("Learning curve")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def training_curve(history: Sequence[dict[str, float]], path: Path) -> Path:
    """The validation metric after each epoch (what early stopping watched)."""
    figure, axis = plt.subplots(figsize=(5, 3))
    axis.plot([p["epoch"] for p in history], [p["metric"] for p in history], marker="o")
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation metric")
    axis.set_title("Training curve")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path

"""Evaluation plots of tabular models: feature importance; predicted against true values and residuals (regression)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .plots import plt


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def feature_importance(ranked: Sequence[dict[str, Any]], path: Path) -> Path:
    """Share of the split gain per feature, the 20 largest."""
    top = list(ranked)[:20]
    figure, axis = plt.subplots(figsize=(6, max(2.5, 0.3 * len(top))))
    axis.barh([r["feature"] for r in top][::-1], [r["importance"] for r in top][::-1])
    axis.set_xlabel("share of total split gain")
    axis.set_title("Feature importance")
    return _save(figure, path)


def predicted_vs_true(y_true: np.ndarray, predicted: np.ndarray, path: Path) -> Path:
    """Scatter of predictions against the true values, with the identity line."""
    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    axis.scatter(y_true, predicted, s=8, alpha=0.6)
    low, high = float(min(y_true.min(), predicted.min())), float(max(y_true.max(), predicted.max()))
    axis.plot([low, high], [low, high], color="#c44", linewidth=1)
    axis.set_xlabel("true")
    axis.set_ylabel("predicted")
    axis.set_title("Predicted against true (scored rows)")
    return _save(figure, path)


def residuals(y_true: np.ndarray, predicted: np.ndarray, path: Path) -> Path:
    """Histogram of prediction errors (predicted − true)."""
    figure, axis = plt.subplots(figsize=(5, 3))
    axis.hist(predicted - y_true, bins=40)
    axis.set_xlabel("predicted − true")
    axis.set_title("Residuals")
    return _save(figure, path)

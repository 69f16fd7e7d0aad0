"""Metrics of tabular models, each with a 95% bootstrap interval over the scored rows.

Classification: the shared classification metrics (accuracy, macro F1/precision/recall, AUC when binary)
plus the macro one-vs-rest AUC for several classes. Regression: MAE, RMSE, MAPE (a fraction: 0.12 is
12%, over rows whose target is not zero) and R².
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .metrics import classification_metrics

BOOTSTRAP_ROUNDS = 200


def tabular_classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """accuracy, f1, precision, recall; auc (binary, or macro one-vs-rest when every class is present)."""
    from sklearn.metrics import roc_auc_score

    metrics = classification_metrics(y_true, probabilities)
    classes = probabilities.shape[1]
    if classes > 2 and len(set(y_true.tolist())) == classes:
        metrics["auc"] = round(float(roc_auc_score(y_true, probabilities, multi_class="ovr", average="macro")), 6)
    return metrics


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """mae, rmse, mape (fraction, rows with a non-zero target) and r2."""
    errors = predicted - y_true
    nonzero = y_true != 0
    metrics = {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors ** 2))),
        "mape": float(np.mean(np.abs(errors[nonzero] / y_true[nonzero]))) if nonzero.any() else float("nan"),
    }
    variance = float(np.sum((y_true - y_true.mean()) ** 2))
    if len(y_true) > 1 and variance > 0:
        metrics["r2"] = 1.0 - float(np.sum(errors ** 2)) / variance
    return {k: round(v, 6) for k, v in metrics.items() if np.isfinite(v)}


def bootstrap_intervals(metrics: Callable[[np.ndarray, np.ndarray], dict[str, float]], y_true: np.ndarray,
                        predicted: np.ndarray, seed: int, rounds: int = BOOTSTRAP_ROUNDS) -> dict[str, dict[str, float]]:
    """95% percentile intervals of every metric over ``rounds`` resamples of the scored rows."""
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {}
    n = len(y_true)
    for _ in range(rounds):
        index = rng.integers(0, n, n)
        for name, value in metrics(y_true[index], predicted[index]).items():
            samples.setdefault(name, []).append(value)
    return {name: {"low": round(float(np.percentile(values, 2.5)), 6), "high": round(float(np.percentile(values, 97.5)), 6)}
            for name, values in samples.items() if len(values) >= rounds // 2}

"""Classification metrics, with intervals: bootstrap on a holdout, t-interval across folds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

INTERVAL_METRICS = ("accuracy", "f1")


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """accuracy, macro f1/precision/recall; auc when binary (positive = class index 1)."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    y_pred = probabilities.argmax(axis=1)
    labels = list(range(probabilities.shape[1]))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0)
    metrics = {"accuracy": float(accuracy_score(y_true, y_pred)), "f1": float(f1),
               "precision": float(precision), "recall": float(recall)}
    if probabilities.shape[1] == 2 and len(set(y_true.tolist())) == 2:
        metrics["auc"] = float(roc_auc_score(y_true, probabilities[:, 1]))
    return {k: round(v, 6) for k, v in metrics.items()}


def bootstrap_intervals(
    y_true: np.ndarray, probabilities: np.ndarray, seed: int, rounds: int = 200,
) -> dict[str, dict[str, float]]:
    """95% percentile intervals of accuracy and F1 over ``rounds`` resamples of the test rows."""
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {m: [] for m in INTERVAL_METRICS}
    n = len(y_true)
    for _ in range(rounds):
        index = rng.integers(0, n, n)
        values = classification_metrics(y_true[index], probabilities[index])
        for metric in INTERVAL_METRICS:
            samples[metric].append(values[metric])
    return {m: {"low": round(float(np.percentile(v, 2.5)), 6), "high": round(float(np.percentile(v, 97.5)), 6)}
            for m, v in samples.items()}


@dataclass(frozen=True)
class FoldSummary:
    """Mean of each metric across folds and its 95% t-interval."""

    metrics: dict[str, float]
    intervals: dict[str, dict[str, float]]


def summarise_folds(per_fold: Sequence[dict[str, float]]) -> FoldSummary:
    """Mean ± t(0.975, k-1) × sd / sqrt(k) for every metric present in all folds."""
    from scipy import stats

    names = set.intersection(*(set(f) for f in per_fold))
    k = len(per_fold)
    means: dict[str, float] = {}
    intervals: dict[str, dict[str, float]] = {}
    for name in sorted(names):
        values = np.asarray([f[name] for f in per_fold])
        mean = float(values.mean())
        half = float(stats.t.ppf(0.975, k - 1) * values.std(ddof=1) / np.sqrt(k)) if k > 1 else 0.0
        means[name] = round(mean, 6)
        intervals[name] = {"low": round(mean - half, 6), "high": round(min(1.0, mean + half), 6)}
    return FoldSummary(means, intervals)


def per_class_report(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> list[dict[str, object]]:
    """precision/recall/F1/support for each class."""
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(labels))), zero_division=0)
    return [{"label": label, "precision": round(float(p[i]), 6), "recall": round(float(r[i]), 6),
             "f1": round(float(f[i]), 6), "support": int(s[i])} for i, label in enumerate(labels)]


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=list(range(n_classes))).astype(int).tolist()

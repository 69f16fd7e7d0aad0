"""PNG plots of a table's data report: missing values, what each column alone says about the label, the target."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .plots import _save, plt
from .table_columns import LEAK_BALANCED_ACCURACY, LEAK_R2, Column


def missing_values(columns: Sequence[Column], path: Path) -> Path:
    """Missing share per column (features and excluded columns), highest first."""
    ranked = sorted(columns, key=lambda c: -c.missing_rate)[:40]
    figure, axis = plt.subplots(figsize=(6, max(2.5, 0.25 * len(ranked))))
    axis.barh([c.column for c in ranked][::-1], [c.missing_rate for c in ranked][::-1],
              color=["#c44" if not c.used else "#48a" for c in ranked][::-1])
    axis.set_xlim(0, 1)
    axis.set_xlabel("share of rows missing (red: column left out)")
    axis.set_title("Missing values")
    return _save(figure, path)


def target_scores(columns: Sequence[Column], regression: bool, path: Path) -> Path:
    """Each column alone against the label (cross-validated); a leak line at the exclusion limit."""
    scored = sorted((c for c in columns if c.target_score is not None), key=lambda c: -(c.target_score or 0))[:40]
    figure, axis = plt.subplots(figsize=(6, max(2.5, 0.25 * len(scored))))
    axis.barh([c.column for c in scored][::-1], [c.target_score or 0 for c in scored][::-1],
              color=["#c44" if c.excluded == "leakage" else "#48a" for c in scored][::-1])
    limit = LEAK_R2 if regression else LEAK_BALANCED_ACCURACY
    axis.axvline(limit, color="#c44", linestyle="--")
    axis.set_xlim(0, 1)
    axis.set_xlabel(("R²" if regression else "balanced accuracy") + " of the column alone (red: leaks the target)")
    axis.set_title("Single-column predictiveness")
    return _save(figure, path)


def target_distribution(values: Sequence[float], path: Path) -> Path:
    """Histogram of a regression target."""
    figure, axis = plt.subplots(figsize=(5, 3))
    axis.hist(values, bins=40)
    axis.set_title("Target distribution")
    return _save(figure, path)

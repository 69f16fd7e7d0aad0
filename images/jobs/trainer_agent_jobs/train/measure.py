"""Measured model size: parameters counted in the fitted estimator, bytes on disk."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SKIPPED_ATTRIBUTES = {"classes_", "n_features_in_", "feature_names_in_", "n_iter_", "t_", "loss_curve_",
                      "validation_scores_", "best_loss_", "n_support_", "_n_support", "class_count_",
                      "feature_count_", "_sparse", "fit_status_", "train_score_", "validation_score_"}


def count_parameters(obj: Any, seen: set[int] | None = None) -> int:
    """Numbers a fitted estimator learned: its numeric array attributes (``coef_``, ``idf_``,
    ``support_vectors_``, tree nodes, ...) found by walking the estimator, its steps and sub-estimators.
    A vectorizer's vocabulary counts one per term (the term → column mapping)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        if obj.dtype.names:  # structured arrays (tree nodes): every field is a learned number
            return int(obj.size * len(obj.dtype.names))
        return int(obj.size) if obj.dtype.kind in "fiub" else 0
    if isinstance(obj, (list, tuple)):
        return sum(count_parameters(item, seen) for item in obj)
    if isinstance(obj, dict):
        return sum(count_parameters(v, seen) for v in obj.values())
    if not hasattr(obj, "get_params") and not hasattr(obj, "__dict__"):
        return 0
    total = 0
    for name, value in vars(obj).items():
        if name in SKIPPED_ATTRIBUTES:
            continue
        if name == "vocabulary_" and isinstance(value, dict):
            total += len(value)
        elif name.endswith("_") or name in ("steps", "estimator", "calibrators", "_predictors", "nodes"):
            total += count_parameters(value if name != "steps" else [step for _, step in value], seen)
        elif hasattr(value, "get_params") or (isinstance(value, (list, tuple)) and value and hasattr(value[0], "__dict__")):
            total += count_parameters(value, seen)
    return total


def file_bytes(path: Path) -> int:
    """Size of a file, or of every file under a directory."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size

"""Hierarchical mode: a trained teacher's probabilities on each view's unlabelled rows, for a student.

Every train job writes ``predictions/unlabelled-<view>.npy`` (and ``predictions/labels.json``): the
probabilities of the model fitted on that view for that view's unlabelled rows. A student fitted on a
view reads its teacher's file for the same view, so in cross-validation the pseudo-labels of fold ``i``
come from a teacher that never saw fold ``i``'s test rows.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ..common.runner import JobError
from ..data.evaluation import View
from .trainers import PseudoLabels

PREDICTIONS_DIR = "predictions"
LABELS_FILE = "labels.json"


def predictions_path(job_out: Path, view: str) -> Path:
    """Where a job keeps a view's probabilities on its unlabelled rows."""
    return job_out / PREDICTIONS_DIR / f"unlabelled-{view}.npy"


def save_unlabelled_predictions(job_out: Path, view: str, probabilities: np.ndarray, labels: Sequence[str]) -> None:
    """Record a view's probabilities on its unlabelled rows (for students of this model)."""
    folder = job_out / PREDICTIONS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    np.save(predictions_path(job_out, view), probabilities.astype(np.float32))
    (folder / LABELS_FILE).write_text(json.dumps(list(labels)) + "\n")


def teacher_job_dir(model_dir: str) -> Path:
    """The teacher's train-job output folder (``modelDir`` is its ``model/`` folder)."""
    path = Path(model_dir)
    return path.parent if path.name == "model" else path


def sharpen(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """``p^(1/T)`` renormalised: T < 1 moves soft targets toward the teacher's decisions, keeping their order."""
    if temperature == 1.0:
        return probabilities
    powered = np.power(np.clip(probabilities, 1e-12, 1.0), 1.0 / temperature)
    return powered / powered.sum(axis=1, keepdims=True)


def pseudo_labels(view: View, teacher_dir: str, threshold: float, max_rows: int | None,
                  labels: Sequence[str], temperature: float = 1.0) -> PseudoLabels:
    """The teacher's soft labels for the view's unlabelled rows whose top probability reaches
    ``threshold`` (most confident first, at most ``max_rows``), as probabilities over ``labels``,
    sharpened by ``temperature``."""
    if not view.unlabelled:
        return PseudoLabels([], np.zeros((0, len(labels))))
    root = teacher_job_dir(teacher_dir)
    path = predictions_path(root, view.name)
    if not path.is_file():
        raise JobError(f"the teacher at {root} has no predictions for view {view.name}: was it trained on the same data?")
    teacher_labels = json.loads((root / PREDICTIONS_DIR / LABELS_FILE).read_text())
    unknown = sorted(set(teacher_labels) - set(labels))
    if unknown:
        raise JobError(f"the teacher predicts labels the student does not know: {unknown[:5]}")
    raw = np.load(path)
    if raw.shape[0] != len(view.unlabelled):
        raise JobError(f"the teacher labelled {raw.shape[0]} unlabelled rows of view {view.name}, the data has "
                       f"{len(view.unlabelled)}: it was trained on other data")
    probabilities = np.zeros((raw.shape[0], len(labels)))
    for column, label in enumerate(teacher_labels):
        probabilities[:, list(labels).index(label)] = raw[:, column]
    confidence = probabilities.max(axis=1)
    order = [int(i) for i in np.argsort(-confidence, kind="stable") if confidence[i] >= threshold]
    if max_rows is not None:
        order = order[:max_rows]
    return PseudoLabels([view.unlabelled[i] for i in order], sharpen(probabilities[order], temperature))

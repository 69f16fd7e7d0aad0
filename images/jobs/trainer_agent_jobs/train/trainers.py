"""What every model family's trainer does for the train job, and the scikit-learn one.

A trainer fits one view (training rows plus optional pseudo-labelled rows with soft targets), predicts
class probabilities, saves the model directory with its manifest, and measures it. The train job drives
it over the evaluation plan's views; torch families live in torch_trainers.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from ..common.features import ImageGeometry
from ..common.records import Record
from ..data.evaluation import View
from .dataset import encode_labels, model_inputs
from .families import build_estimator
from .measure import count_parameters, file_bytes
from .model_io import MODEL_FILE, save_model
from .vocabulary import filtered_vocabulary, text_vectorizer

# Soft targets become weighted copies of a row, one per class at least this probable.
SOFT_LABEL_MIN_PROBABILITY = 0.05


@dataclass(frozen=True)
class PseudoLabels:
    """Unlabelled rows a teacher labelled, with its probabilities over the student's labels (soft targets)."""

    records: list[Record]
    probabilities: np.ndarray

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class FitReport:
    """What a fit says about itself beyond its predictions (torch: device, epochs, speed)."""

    details: dict[str, Any] = field(default_factory=dict)
    curve: list[dict[str, float]] = field(default_factory=list)


class Trainer(Protocol):
    """One family's training code, as the train job drives it."""

    labels: list[str]
    report: FitReport

    def planned_steps(self, view: View, pseudo: int) -> int:
        """Optimizer steps the view's fit will take (0 when it has no steps to report)."""

    def fit(self, view: View, pseudo: PseudoLabels | None) -> Any:
        """A fitted model for the view."""

    def probabilities(self, fitted: Any, records: Sequence[Record]) -> np.ndarray:
        """``[N, len(labels)]`` class probabilities."""

    def save(self, fitted: Any, directory: Path, versions: dict[str, str]) -> dict[str, Any]:
        """Write the model directory (manifest.json included); returns the manifest."""

    def measure(self, fitted: Any, directory: Path) -> tuple[int, int]:
        """Parameters and bytes of the saved model."""


def soft_label_rows(pseudo: PseudoLabels, labels: Sequence[str]) -> tuple[list[Record], np.ndarray]:
    """Each pseudo-labelled row once per class it is at least SOFT_LABEL_MIN_PROBABILITY likely to be,
    weighted by that probability: a weighted fit on them minimises cross-entropy against the soft targets."""
    rows: list[Record] = []
    weights: list[float] = []
    for record, probabilities in zip(pseudo.records, pseudo.probabilities):
        for k, p in enumerate(probabilities):
            if p >= SOFT_LABEL_MIN_PROBABILITY:
                rows.append(record.with_label(labels[k], "pseudo-label"))
                weights.append(float(p))
    return rows, np.asarray(weights, dtype=np.float64)


class SklearnTrainer:
    """scikit-learn pipelines (the vectorizer or pixel normalisation inside, so ONNX carries it)."""

    def __init__(self, family: str, modality: str, hyperparameters: dict[str, Any], seed: int,
                 labels: Sequence[str], geometry: ImageGeometry | None, task: str, model_id: str) -> None:
        self.family, self.modality, self.hyperparameters, self.seed = family, modality, hyperparameters, seed
        self.labels, self.geometry, self.task, self.model_id = list(labels), geometry, task, model_id
        self.report = FitReport()

    def planned_steps(self, view: View, pseudo: int) -> int:
        return 0

    def fit(self, view: View, pseudo: PseudoLabels | None) -> Any:
        records, weights = list(view.train), np.ones(len(view.train))
        if pseudo is not None and len(pseudo):
            extra, extra_weights = soft_label_rows(pseudo, self.labels)
            records, weights = records + extra, np.concatenate([weights, extra_weights])
        return self.fit_records(records, weights)

    def fit_records(self, records: Sequence[Record], weights: np.ndarray | None = None) -> Any:
        """Fit on records (with optional per-row weights); text models are refitted without secret-like
        words in their vocabulary (vocabulary.py), since the vocabulary ships inside the ONNX graph."""
        estimator = build_estimator(self.family, self.modality, self.hyperparameters, self.seed)
        fit_params = {}
        if weights is not None and not np.allclose(weights, 1.0):
            fit_params[f"{estimator.steps[-1][0]}__sample_weight"] = weights
        inputs, y = model_inputs(records, self.modality, self.geometry), encode_labels(records, self.labels)
        estimator.fit(inputs, y, **fit_params)
        vectorizer = text_vectorizer(estimator)
        kept = filtered_vocabulary(vectorizer.vocabulary_) if vectorizer is not None else None
        if kept is None:
            return estimator
        self.report.details["vocabularyTermsRemoved"] = len(vectorizer.vocabulary_) - len(kept)
        refit = build_estimator(self.family, self.modality, self.hyperparameters, self.seed)
        refit.steps[0][1].set_params(vocabulary=kept)
        return refit.fit(inputs, y, **fit_params)

    def probabilities(self, fitted: Any, records: Sequence[Record]) -> np.ndarray:
        if not records:
            return np.zeros((0, len(self.labels)))
        raw = fitted.predict_proba(model_inputs(records, self.modality, self.geometry))
        full = np.zeros((len(records), len(self.labels)))
        full[:, fitted.classes_.astype(int)] = raw
        return full

    def save(self, fitted: Any, directory: Path, versions: dict[str, str]) -> dict[str, Any]:
        return save_model(directory, fitted, task=self.task, modality=self.modality, model_id=self.model_id,
                          family=self.family, labels=self.labels, geometry=self.geometry, versions=versions)

    def measure(self, fitted: Any, directory: Path) -> tuple[int, int]:
        return count_parameters(fitted), file_bytes(directory / MODEL_FILE)

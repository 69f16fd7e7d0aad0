"""The train job: fit the chosen family, evaluate on the locked test (or k-fold when small), save."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common import events
from ..common.features import ImageGeometry
from ..common.records import Record
from ..common.runner import JobError
from ..common.versions import package_versions
from . import plots
from .dataset import encode_labels, geometry_for, load_splits, model_inputs
from .families import build_estimator, family_for
from .measure import count_parameters, file_bytes
from .metrics import (bootstrap_intervals, classification_metrics, confusion, per_class_report,
                      summarise_folds)
from .model_io import save_model
from .spec import TrainSpec, parse
from .teacher import pseudo_label

LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5)


@dataclass(frozen=True)
class Evaluation:
    """What the evaluation measured."""

    method: str
    rows: int
    folds: int | None
    metrics: dict[str, float]
    intervals: dict[str, dict[str, float]]
    y_true: np.ndarray
    y_pred: np.ndarray


class Trainer:
    """Fits and scores one family on records, with fixed labels and image geometry."""

    def __init__(self, spec: TrainSpec, labels: Sequence[str], geometry: ImageGeometry | None) -> None:
        self.spec, self.labels, self.geometry = spec, list(labels), geometry

    def fit(self, records: Sequence[Record]) -> Any:
        """A fitted estimator."""
        estimator = build_estimator(self.spec.family, self.spec.modality, self.spec.hyperparameters, self.spec.seed)
        return estimator.fit(model_inputs(records, self.spec.modality, self.geometry), encode_labels(records, self.labels))

    def probabilities(self, estimator: Any, records: Sequence[Record]) -> np.ndarray:
        """``[N, len(labels)]`` probabilities (columns of classes absent from training stay 0)."""
        raw = estimator.predict_proba(model_inputs(records, self.spec.modality, self.geometry))
        full = np.zeros((len(records), len(self.labels)))
        full[:, estimator.classes_.astype(int)] = raw
        return full


def holdout(trainer: Trainer, train: list[Record], test: list[Record], seed: int) -> tuple[Any, Evaluation]:
    """Fit on train, score on the locked test; bootstrap intervals."""
    estimator = trainer.fit(train)
    probabilities = trainer.probabilities(estimator, test)
    y_true = encode_labels(test, trainer.labels)
    metrics = classification_metrics(y_true, probabilities)
    return estimator, Evaluation("holdout", len(test), None, metrics, bootstrap_intervals(y_true, probabilities, seed),
                                 y_true, probabilities.argmax(axis=1))


def cross_validate(
    trainer: Trainer, labelled: list[Record], extra: list[Record], folds: int, seed: int,
) -> tuple[Any, Evaluation]:
    """Stratified k-fold over the labelled rows (pseudo-labelled ``extra`` only ever trains); final fit on all."""
    from sklearn.model_selection import StratifiedKFold

    y = encode_labels(labelled, trainer.labels)
    k = max(2, min(folds, int(np.bincount(y)[np.bincount(y) > 0].min())))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    per_fold, y_true, y_pred = [], [], []
    for n, (train_index, test_index) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        fold_train = [labelled[i] for i in train_index] + extra
        fold_test = [labelled[i] for i in test_index]
        probabilities = trainer.probabilities(trainer.fit(fold_train), fold_test)
        per_fold.append(classification_metrics(y[test_index], probabilities))
        y_true.append(y[test_index])
        y_pred.append(probabilities.argmax(axis=1))
        events.progress("evaluate", n, k, {"accuracy": per_fold[-1]["accuracy"]})
    summary = summarise_folds(per_fold)
    estimator = trainer.fit(labelled + extra)
    return estimator, Evaluation("cross-validation", len(labelled), k, summary.metrics, summary.intervals,
                                 np.concatenate(y_true), np.concatenate(y_pred))


def learning_curve_points(trainer: Trainer, train: list[Record], test: list[Record], final: float, seed: int) -> list[tuple[int, float]]:
    """Accuracy on the evaluation rows for growing stratified fractions of train; the full fit is the last point."""
    from sklearn.model_selection import train_test_split

    points: list[tuple[int, float]] = []
    y = [r.label for r in train]
    for fraction in LEARNING_CURVE_FRACTIONS:
        try:
            subset, _ = train_test_split(train, train_size=fraction, random_state=seed, stratify=y)
        except ValueError:
            continue
        if len({r.label for r in subset}) < 2:
            continue
        probabilities = trainer.probabilities(trainer.fit(subset), test)
        points.append((len(subset), classification_metrics(encode_labels(test, trainer.labels), probabilities)["accuracy"]))
    return points + [(len(train), final)]


def objective_outcomes(spec: TrainSpec, metrics: dict[str, float]) -> list[dict[str, Any]]:
    """Each objective with the measured value and whether it is met."""
    return [{"metric": o.metric, "op": o.op, "value": o.value, "measured": metrics.get(o.metric),
             "met": o.met_by(metrics.get(o.metric))} for o in spec.objectives]


def model_bytes(estimator: Any, model_dir: Path) -> int:
    """Bytes of model.joblib plus any pretrained weights the estimator loads from a package instead of
    pickling them (the MiniLM teacher: ~91 MB of safetensors/tokenizer beside a few-KB joblib)."""
    external = getattr(estimator, "external_weight_bytes", None)
    return file_bytes(model_dir / "model.joblib") + (int(external()) if callable(external) else 0)


def run(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train and evaluate; returns (result.json, termination summary)."""
    started = time.monotonic()
    spec = parse(raw)
    family_for(spec.family, spec.modality)
    splits = load_splits(spec.data_dir)
    labels = sorted({r.label for r in splits.train + splits.test if r.label is not None})
    if len({r.label for r in splits.train}) < 2:
        raise JobError("the training split needs at least two classes")
    geometry = geometry_for(splits.train, spec.modality)
    trainer = Trainer(spec, labels, geometry)
    events.progress("train", 0, 3, {"trainRows": len(splits.train), "testRows": len(splits.test)})

    pseudo: list[Record] = []
    if spec.teacher:
        result = pseudo_label(splits.unlabelled, spec.teacher.model_dir, spec.teacher.confidence_threshold,
                              spec.teacher.max_rows, labels)
        pseudo = result.records
        events.log(f"Pseudo-labelled {len(pseudo)} of {result.offered} unlabelled rows with the teacher")
    events.progress("train", 1, 3, {"pseudoLabelled": len(pseudo)})

    if len(splits.test) <= spec.cross_validation_below_rows:
        estimator, evaluation = cross_validate(trainer, splits.train + splits.test, pseudo, spec.folds, spec.seed)
        curve_train, curve_test = (splits.train + pseudo, splits.test)
    else:
        estimator, evaluation = holdout(trainer, splits.train + pseudo, splits.test, spec.seed)
        curve_train, curve_test = (splits.train + pseudo, splits.test)
    events.progress("train", 2, 3, evaluation.metrics)
    events.log(f"Evaluated {spec.model_id} by {evaluation.method} on {evaluation.rows} rows: {evaluation.metrics}")

    versions = package_versions()
    model_dir = out / "model"
    save_model(model_dir, estimator, task=spec.task, modality=spec.modality, model_id=spec.model_id,
               family=spec.family, labels=labels, geometry=geometry, versions=versions)
    matrix = confusion(evaluation.y_true, evaluation.y_pred, len(labels))
    plot_files = [plots.confusion_matrix(matrix, labels, out / "confusion-matrix.png").name]
    if spec.learning_curve and curve_test:
        points = learning_curve_points(trainer, curve_train, curve_test, evaluation.metrics["accuracy"]
                                       if evaluation.method == "holdout" else float("nan"), spec.seed)
        points = [p for p in points if not np.isnan(p[1])]
        plot_files.append(plots.learning_curve(points, "accuracy", out / "learning-curve.png").name)
    events.progress("train", 3, 3, {})

    outcomes = objective_outcomes(spec, evaluation.metrics)
    result_doc = {
        "kind": "train", "modelId": spec.model_id, "family": spec.family,
        "metrics": evaluation.metrics, "intervals": evaluation.intervals,
        "evaluation": {"method": evaluation.method, "rows": evaluation.rows,
                       **({"folds": evaluation.folds} if evaluation.folds else {})},
        "objectives": outcomes, "objectivesMet": all(o["met"] for o in outcomes),
        "parameters": count_parameters(estimator), "modelBytes": model_bytes(estimator, model_dir),
        "trainRows": len(splits.train) + (len(splits.test) if evaluation.method == "cross-validation" else 0),
        "pseudoLabelledRows": len(pseudo),
        "durationSeconds": round(time.monotonic() - started, 3), "seed": spec.seed,
        **({"dataDigest": splits.digest} if splits.digest else {}),
        "perClass": per_class_report(evaluation.y_true, evaluation.y_pred, labels),
        "confusionMatrix": {"labels": labels, "matrix": matrix},
        "plots": plot_files, "modelDir": str(model_dir), "packageVersions": versions,
    }
    summary = {k: result_doc[k] for k in ("kind", "modelId", "family", "metrics", "objectivesMet", "parameters",
                                          "modelBytes", "trainRows", "pseudoLabelledRows", "durationSeconds", "seed")}
    summary["evaluation"] = result_doc["evaluation"]
    return result_doc, summary

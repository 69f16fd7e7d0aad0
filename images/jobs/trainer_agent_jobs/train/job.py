"""The train job: fit the chosen family on every view of the data job's evaluation plan, score, save.

Holdout: one fit on the training rows, scored on the locked test rows. Cross-validation: one fit per
fold (scored on that fold's test rows, with the labels the user gave), then the final fit on every
labelled row, which is the model that is saved. Each fit sees only its view's training and unlabelled
rows (and the teacher's pseudo-labels for that same view), so the score is an honest estimate. Fits a
killed job finished are not redone; a torch fit it was in resumes from its newest checkpoint.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common import events
from ..common.boxes import is_box_task
from ..common.records import Record
from ..common.runner import JobError
from ..common.versions import package_versions
from . import distributed, plots
from .dataset import Plan, encode_labels, geometry_for, load_plan
from .families import family_for
from .metrics import bootstrap_intervals, classification_metrics, confusion, per_class_report
from .spec import TrainSpec, parse
from .teacher import pseudo_labels, save_unlabelled_predictions
from .trainers import PseudoLabels, SklearnTrainer, Trainer

LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5)
VIEWS_DIR = "views"


@dataclass(frozen=True)
class Scored:
    """One view's test rows with their given labels and the fit's probabilities."""

    y_true: np.ndarray
    probabilities: np.ndarray


def make_trainer(spec: TrainSpec, labels: Sequence[str], plan: Plan, out: Path) -> Trainer:
    """The trainer for the spec's family (scikit-learn, or torch on the best device here)."""
    family = family_for(spec.family, spec.modality)
    if family.framework == "torch":
        from .torch_env import select_device
        from .torch_loop import Progress, TerminationFlag
        from .torch_trainers import torch_trainer

        device = select_device(str(spec.hyperparameters.get("device", "auto")), bool(spec.hyperparameters.get("mixedPrecision", True)))
        world = distributed.init(device.kind)
        events.log(f"Training {spec.model_id} with PyTorch on {device.name}"
                   + (f" (mixed precision {device.amp_dtype})" if device.amp_dtype else "")
                   + (f", rank {world.rank} of {world.size} (DistributedDataParallel, {'NCCL' if device.kind == 'cuda' else 'gloo'})" if world.active else ""))
        trainer = torch_trainer(spec.modality, task=spec.task, family=spec.family, model_id=spec.model_id,
                                hyperparameters=dict(family.defaults, **spec.hyperparameters), seed=spec.seed,
                                labels=labels, out=out, device=device, progress=Progress(1), stop=TerminationFlag())
        trainer.progress.total = sum(trainer.planned_steps(v, len(v.unlabelled) if spec.teacher else 0) for v in plan.views) or 1
        return trainer
    return SklearnTrainer(spec.family, spec.modality, spec.hyperparameters, spec.seed, labels,
                          geometry_for(plan.final.train, spec.modality), spec.task, spec.model_id)


def view_done_path(out: Path, view: str) -> Path:
    return out / VIEWS_DIR / f"{view}.npz"


def fit_views(spec: TrainSpec, plan: Plan, trainer: Trainer, out: Path) -> tuple[list[Scored], Any, PseudoLabels | None]:
    """Fit every view (skipping fold views a killed run finished); returns the scored views, the final
    fit and the final view's pseudo-labels. Under torchrun every rank fits (together); only rank 0
    scores and writes."""
    world = distributed.current()
    scored: list[Scored] = []
    final_fit: Any = None
    final_pseudo: PseudoLabels | None = None
    for n, view in enumerate(plan.views, start=1):
        done = view_done_path(out, view.name)
        is_final = view.name == plan.final.name
        if distributed.broadcast(done.is_file() and not is_final):
            if world.primary:
                saved = np.load(done)
                scored.append(Scored(saved["y_true"], saved["probabilities"]))
                events.log(f"View {view.name} was fitted by an earlier run: reused")
            continue
        pseudo = None
        if spec.teacher:
            pseudo = pseudo_labels(view, spec.teacher.model_dir, spec.teacher.confidence_threshold,
                                   spec.teacher.max_rows, trainer.labels, spec.teacher.temperature)
            events.log(f"View {view.name}: {len(pseudo)} of {len(view.unlabelled)} unlabelled rows pseudo-labelled by the teacher")
        events.log(f"Fitting view {view.name} ({n}/{len(plan.views)}): {len(view.train)} training rows, {len(view.test)} test rows")
        fitted = trainer.fit(view, pseudo)
        if not world.primary:
            continue
        if view.unlabelled:
            save_unlabelled_predictions(out, view.name, trainer.probabilities(fitted, view.unlabelled), trainer.labels)
        if view.name in {v.name for v in plan.scored}:
            result = Scored(encode_labels(view.test, trainer.labels), trainer.probabilities(fitted, view.test))
            scored.append(result)
            done.parent.mkdir(parents=True, exist_ok=True)
            np.savez(done, y_true=result.y_true, probabilities=result.probabilities)
            events.progress("evaluate", len(scored), len(plan.scored), classification_metrics(result.y_true, result.probabilities))
        shutil.rmtree(out / "checkpoints" / view.name, ignore_errors=True)
        if is_final:
            final_fit, final_pseudo = fitted, pseudo
    return scored, final_fit, final_pseudo


def learning_curve_points(trainer: SklearnTrainer, train: list[Record], test: list[Record], seed: int) -> list[tuple[int, float]]:
    """Accuracy on the test rows for growing stratified fractions of train (scikit-learn families only)."""
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
        probabilities = trainer.probabilities(trainer.fit_records(subset), test)
        points.append((len(subset), classification_metrics(encode_labels(test, trainer.labels), probabilities)["accuracy"]))
    return points


def objective_outcomes(spec: TrainSpec, metrics: dict[str, float]) -> list[dict[str, Any]]:
    """Each objective with the measured value and whether it is met."""
    return [{"metric": o.metric, "op": o.op, "value": o.value, "measured": metrics.get(o.metric),
             "met": o.met_by(metrics.get(o.metric))} for o in spec.objectives]


def write_plots(spec: TrainSpec, plan: Plan, trainer: Trainer, matrix: list[list[int]], accuracy: float, out: Path) -> list[str]:
    """Confusion matrix; the learning curve (scikit-learn, holdout) or the training curve (torch)."""
    files = [plots.confusion_matrix(matrix, trainer.labels, out / "confusion-matrix.png").name]
    if isinstance(trainer, SklearnTrainer) and spec.learning_curve and plan.method == "holdout" and plan.final.test:
        points = learning_curve_points(trainer, plan.final.train, plan.final.test, spec.seed) + [(len(plan.final.train), accuracy)]
        files.append(plots.learning_curve(points, "accuracy", out / "learning-curve.png").name)
    if trainer.report.curve:
        files.append(plots.training_curve(trainer.report.curve, out / "training-curve.png").name)
    return files


def run(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Train and evaluate; returns (result.json, termination summary), or None on a rank other than 0
    of a distributed run (rank 0 writes the results)."""
    if raw.get("modality") == "tabular":
        from .tabular_job import run_tabular

        return run_tabular(raw, out)
    started = time.monotonic()
    spec = parse(raw)
    if is_box_task(spec.task):
        from .box_job import run_box_train

        return run_box_train(raw, out)
    family_for(spec.family, spec.modality)
    plan = load_plan(spec.data_dir)
    labels = sorted({r.label for v in plan.views for r in v.train + v.test if r.label is not None})
    if len({r.label for r in plan.final.train}) < 2:
        raise JobError("the training split needs at least two classes")
    if not any(v.test for v in plan.scored):
        raise JobError("the evaluation plan has no test rows to score")
    trainer = make_trainer(spec, labels, plan, out)
    if not distributed.env_world().primary and not distributed.current().active:
        events.log(f"{spec.family} trains in one process: rank 0 does it alone")
        return None
    scored, final_fit, final_pseudo = fit_views(spec, plan, trainer, out)
    if not distributed.current().primary:
        events.log("Finished training; rank 0 scores the model and writes the results")
        distributed.shutdown()
        return None
    y_true = np.concatenate([s.y_true for s in scored])
    probabilities = np.concatenate([s.probabilities for s in scored])
    metrics = classification_metrics(y_true, probabilities)
    intervals = bootstrap_intervals(y_true, probabilities, spec.seed)
    events.log(f"Evaluated {spec.model_id} by {plan.method} on {len(y_true)} rows: {metrics}")

    versions = package_versions()
    model_dir = out / "model"
    trainer.save(final_fit, model_dir, versions)
    parameters, model_bytes = trainer.measure(final_fit, model_dir)
    matrix = confusion(y_true, probabilities.argmax(axis=1), len(labels))
    plot_files = write_plots(spec, plan, trainer, matrix, metrics["accuracy"], out)

    outcomes = objective_outcomes(spec, metrics)
    evaluation = {"method": plan.method, "rows": int(len(y_true)), **({"folds": plan.folds} if plan.folds else {})}
    result_doc = {
        "kind": "train", "modelId": spec.model_id, "family": spec.family,
        "metrics": metrics, "intervals": intervals, "evaluation": evaluation,
        "objectives": outcomes, "objectivesMet": all(o["met"] for o in outcomes),
        "parameters": parameters, "modelBytes": model_bytes,
        "trainRows": len(plan.final.train), "pseudoLabelledRows": len(final_pseudo) if final_pseudo else 0,
        "durationSeconds": round(time.monotonic() - started, 3), "seed": spec.seed,
        **({"dataDigest": plan.digest} if plan.digest else {}),
        "perClass": per_class_report(y_true, probabilities.argmax(axis=1), labels),
        "confusionMatrix": {"labels": labels, "matrix": matrix},
        "plots": plot_files, "modelDir": str(model_dir), "packageVersions": versions,
        "training": {"framework": "torch" if not isinstance(trainer, SklearnTrainer) else "sklearn",
                     "hyperparameters": getattr(trainer, "h", spec.hyperparameters), **trainer.report.details},
    }
    summary = {k: result_doc[k] for k in ("kind", "modelId", "family", "metrics", "objectivesMet", "parameters",
                                          "modelBytes", "trainRows", "pseudoLabelledRows", "durationSeconds", "seed")}
    summary["evaluation"] = evaluation
    world = distributed.current()
    if world.active:
        result_doc["training"]["processes"] = world.size
    distributed.shutdown()
    return result_doc, summary

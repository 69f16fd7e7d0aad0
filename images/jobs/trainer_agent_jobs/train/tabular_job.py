"""The train job for tables: fit a tabular family on every view of the evaluation plan, score, save.

Like the text and image train job (holdout, or one fit per fold and the final fit on every labelled row),
with a number instead of classes for regression (MAE, RMSE, MAPE, R², each with its 95% interval, and
objectives such as ``rmse <= 60`` judged on the pooled scored rows). A gradient-boosting attempt also fits
the linear baseline on the same views and reports its metrics beside its own.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..common import events
from ..common.runner import JobError
from ..common.versions import package_versions
from . import plots, tabular_plots
from .dataset import Plan, load_plan
from .job import objective_outcomes, view_done_path
from .metrics import confusion, per_class_report
from .spec import TrainSpec, parse
from .tabular import LIGHTGBM, LINEAR, Fitted, TabularTrainer, load_schema
from .tabular_metrics import bootstrap_intervals, regression_metrics, tabular_classification_metrics
from .teacher import pseudo_labels, save_unlabelled_predictions

Scores = tuple[np.ndarray, np.ndarray]


def metric_function(trainer: TabularTrainer) -> Callable[[np.ndarray, np.ndarray], dict[str, float]]:
    """Regression or classification metrics, as the trainer predicts."""
    return regression_metrics if trainer.regression else tabular_classification_metrics


def fit_views(spec: TrainSpec, plan: Plan, trainer: TabularTrainer, out: Path) -> tuple[list[Scores], Fitted | None, int]:
    """Fit every view (reusing fold views a killed run finished); returns each scored view's (truth,
    predictions), the final fit and how many pseudo-labelled rows it learned from."""
    scored: list[Scores] = []
    final: Fitted | None = None
    final_pseudo = 0
    scored_names = {v.name for v in plan.scored}
    measure = metric_function(trainer)
    for n, view in enumerate(plan.views, start=1):
        done = view_done_path(out, view.name)
        is_final = view.name == plan.final.name
        if done.is_file() and not is_final:
            saved = np.load(done)
            scored.append((saved["y_true"], saved["predicted"]))
            events.log(f"View {view.name} was fitted by an earlier run: reused")
            continue
        pseudo = None
        if spec.teacher and not trainer.regression:
            pseudo = pseudo_labels(view, spec.teacher.model_dir, spec.teacher.confidence_threshold, spec.teacher.max_rows,
                                   trainer.labels, spec.teacher.temperature)
        events.log(f"Fitting {trainer.family} on view {view.name} ({n}/{len(plan.views)}): {len(view.train)} training rows, {len(view.test)} test rows")
        fitted = trainer.fit(view, pseudo)
        if view.unlabelled and not trainer.regression:
            save_unlabelled_predictions(out, view.name, trainer.predict(fitted, view.unlabelled), trainer.labels)
        if view.name in scored_names:
            result = (trainer.targets(view.test), trainer.predict(fitted, view.test))
            scored.append(result)
            done.parent.mkdir(parents=True, exist_ok=True)
            np.savez(done, y_true=result[0], predicted=result[1])
            events.progress("evaluate", len(scored), len(plan.scored), measure(*result))
        if is_final:
            final, final_pseudo = fitted, len(pseudo) if pseudo else 0
    return scored, final, final_pseudo


def pooled(scored: list[Scores]) -> Scores:
    """Every scored row once: the holdout's, or every fold's test rows."""
    return np.concatenate([s[0] for s in scored]), np.concatenate([s[1] for s in scored])


def baseline_metrics(spec: TrainSpec, plan: Plan, trainer: TabularTrainer) -> dict[str, Any] | None:
    """The linear baseline on the same scored views (gradient boosting attempts only)."""
    if trainer.family != LIGHTGBM:
        return None
    baseline = TabularTrainer(LINEAR, trainer.schema, {}, spec.seed, trainer.labels, trainer.task, spec.model_id)
    scored = []
    for view in plan.scored:
        fitted = baseline.fit(view, None)
        scored.append((baseline.targets(view.test), baseline.predict(fitted, view.test)))
    return {"model": LINEAR, "metrics": metric_function(trainer)(*pooled(scored))}


def write_plots(trainer: TabularTrainer, y_true: np.ndarray, predicted: np.ndarray, importance: list[dict[str, Any]],
                matrix: list[list[int]], out: Path) -> list[str]:
    """Confusion matrix (classes) or predicted-against-true and residuals (regression); feature importance (trees)."""
    if trainer.regression:
        files = [tabular_plots.predicted_vs_true(y_true, predicted, out / "predicted-vs-true.png").name,
                 tabular_plots.residuals(y_true, predicted, out / "residuals.png").name]
    else:
        files = [plots.confusion_matrix(matrix, trainer.labels, out / "confusion-matrix.png").name]
    if importance:
        files.append(tabular_plots.feature_importance(importance, out / "feature-importance.png").name)
    return files


def run_tabular(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train and evaluate a tabular model; returns (result.json, termination summary)."""
    started = time.monotonic()
    spec = parse(raw)
    plan = load_plan(spec.data_dir)
    schema = load_schema(spec.data_dir)
    if schema.task != spec.task:
        raise JobError(f"the data was prepared for {schema.task}, the model is asked for {spec.task}")
    labels = [] if schema.regression else sorted({r.label for v in plan.views for r in v.train + v.test if r.label is not None})
    if not schema.regression and len({r.label for r in plan.final.train}) < 2:
        raise JobError("the training split needs at least two classes")
    if not any(v.test for v in plan.scored):
        raise JobError("the evaluation plan has no test rows to score")
    trainer = TabularTrainer(spec.family, schema, spec.hyperparameters, spec.seed, labels, spec.task, spec.model_id)
    scored, final, pseudo_rows = fit_views(spec, plan, trainer, out)
    assert final is not None
    y_true, predicted = pooled(scored)
    measure = metric_function(trainer)
    metrics = measure(y_true, predicted)
    intervals = bootstrap_intervals(measure, y_true, predicted, spec.seed)
    events.log(f"Evaluated {spec.model_id} by {plan.method} on {len(y_true)} rows: {metrics}")
    baseline = baseline_metrics(spec, plan, trainer)
    if baseline:
        events.log(f"Linear baseline on the same rows: {baseline['metrics']}")

    versions = package_versions()
    model_dir = out / "model"
    trainer.save(final, model_dir, versions)
    parameters, model_bytes = trainer.measure(final, model_dir)
    importance = trainer.feature_importance(final)
    matrix = [] if trainer.regression else confusion(y_true, predicted.argmax(axis=1), len(labels))
    plot_files = write_plots(trainer, y_true, predicted, importance, matrix, out)

    outcomes = objective_outcomes(spec, metrics)
    evaluation = {"method": plan.method, "rows": int(len(y_true)), **({"folds": plan.folds} if plan.folds else {})}
    details: dict[str, Any] = {"framework": "sklearn", "hyperparameters": trainer.h, **trainer.report.details}
    if baseline:
        details["baseline"] = baseline
    if importance:
        details["featureImportance"] = importance
    result_doc = {
        "kind": "train", "modelId": spec.model_id, "family": spec.family,
        "metrics": metrics, "intervals": intervals, "evaluation": evaluation,
        "objectives": outcomes, "objectivesMet": all(o["met"] for o in outcomes),
        "parameters": parameters, "modelBytes": model_bytes,
        "trainRows": len(plan.final.train), "pseudoLabelledRows": pseudo_rows,
        "durationSeconds": round(time.monotonic() - started, 3), "seed": spec.seed,
        **({"dataDigest": plan.digest} if plan.digest else {}),
        "perClass": [] if trainer.regression else per_class_report(y_true, predicted.argmax(axis=1), labels),
        "confusionMatrix": {"labels": labels, "matrix": matrix},
        "plots": plot_files, "modelDir": str(model_dir), "packageVersions": versions,
        "training": details,
    }
    summary = {k: result_doc[k] for k in ("kind", "modelId", "family", "metrics", "objectivesMet", "parameters",
                                          "modelBytes", "trainRows", "pseudoLabelledRows", "durationSeconds", "seed")}
    summary["evaluation"] = evaluation
    return result_doc, summary

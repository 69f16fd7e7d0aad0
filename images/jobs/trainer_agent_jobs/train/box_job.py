"""The train job for box tasks: fit every view of the data job's plan, score the pooled test rows against
the trivial baselines, save the final fit.

Holdout: one fit, scored on the locked test images. Cross-validation: one fit per fold (scored on its
test images), then the final fit on every labelled row, which is the saved model. Fold views a killed run
finished are reused from ``views/<view>.json``.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..common import events
from ..common.boxes import BoxRow, box_row
from ..common.jsonl import read_jsonl
from ..common.runner import JobError
from ..common.versions import package_versions
from ..data.evaluation import FINAL
from .box_metrics import detection_baselines, detection_metrics, grounding_baselines, grounding_intervals, grounding_metrics
from .box_trainers import BoxTrainerBase, BoxViewData, box_trainer
from .families import family_for
from .spec import TrainSpec, parse

VIEWS_DIR = "views"


def _read(root: Path, name: str, split: str) -> list[BoxRow]:
    return [box_row(row, f"{name}/{split}", i) for i, row in enumerate(read_jsonl(root / f"{split}.jsonl"))]


def load_box_plan(data_dir: str) -> tuple[str, int | None, list[BoxViewData], str | None]:
    """(method, folds, views with the final one last, data digest) of a box data job's output."""
    root = Path(data_dir)
    if not (root / "train.jsonl").is_file():
        raise JobError(f"{root}/train.jsonl not found: is dataDir the data job's output?")
    digest = json.loads((root / "result.json").read_text()).get("digest") if (root / "result.json").is_file() else None
    if not (root / "evaluation.json").is_file():
        return "holdout", None, [BoxViewData(FINAL, _read(root, FINAL, "train"), _read(root, FINAL, "test"))], digest
    raw = json.loads((root / "evaluation.json").read_text())
    views = []
    for v in raw["views"]:
        base = root / v["directory"] if v["directory"] else root
        views.append(BoxViewData(v["name"], _read(base, v["name"], "train"), _read(base, v["name"], "test")))
    views.sort(key=lambda v: v.name == FINAL)
    return str(raw["method"]), raw.get("folds"), views, digest


def make_box_trainer(spec: TrainSpec, labels: list[str], out: Path, views: list[BoxViewData]) -> BoxTrainerBase:
    """The task's trainer on the best device here, with progress over every view's steps."""
    from .torch_env import select_device
    from .torch_loop import Progress, TerminationFlag

    family = family_for(spec.family, spec.modality)
    device = select_device(str(spec.hyperparameters.get("device", "auto")), bool(spec.hyperparameters.get("mixedPrecision", True)))
    events.log(f"Training {spec.model_id} with PyTorch on {device.name}" + (f" (mixed precision {device.amp_dtype})" if device.amp_dtype else ""))
    trainer = box_trainer(spec.task, family=spec.family, model_id=spec.model_id, hyperparameters=dict(family.defaults, **spec.hyperparameters),
                          seed=spec.seed, labels=labels, out=out, device=device, progress=Progress(1), stop=TerminationFlag())
    trainer.modality = spec.modality
    trainer.progress.total = sum(trainer.planned_steps(v, 0) for v in views) or 1
    return trainer


def _scored_json(kind: str, predictions: Any) -> Any:
    if kind == "grounding":
        return np.asarray(predictions).tolist()
    return [{k: np.asarray(v).tolist() for k, v in p.items()} for p in predictions]


def _scored_from(kind: str, raw: Any) -> Any:
    if kind == "grounding":
        return np.asarray(raw, dtype=np.float32).reshape(-1, 4)
    return [{k: np.asarray(v) for k, v in p.items()} for p in raw]


def fit_box_views(method: str, views: list[BoxViewData], trainer: BoxTrainerBase, kind: str, out: Path) -> tuple[list[tuple[BoxViewData, Any]], Any]:
    """Fit every view; returns (view, predictions on its test rows) for the scored views and the final fit."""
    scored_names = {v.name for v in views if v.name != FINAL} if method == "cross-validation" else {FINAL}
    scored: list[tuple[BoxViewData, Any]] = []
    final_fit: Any = None
    for n, view in enumerate(views, start=1):
        done = out / VIEWS_DIR / f"{view.name}.json"
        if done.is_file() and view.name != FINAL:
            scored.append((view, _scored_from(kind, json.loads(done.read_text()))))
            events.log(f"View {view.name} was fitted by an earlier run: reused")
            continue
        events.log(f"Fitting view {view.name} ({n}/{len(views)}): {len(view.train)} training rows, {len(view.test)} test rows")
        fitted = trainer.fit(view)
        if view.name in scored_names:
            predictions = trainer.predict(fitted, view.test)
            scored.append((view, predictions))
            done.parent.mkdir(parents=True, exist_ok=True)
            done.write_text(json.dumps(_scored_json(kind, predictions)))
        shutil.rmtree(out / "checkpoints" / view.name, ignore_errors=True)
        if view.name == FINAL:
            final_fit = fitted
    return scored, final_fit


def evaluate(kind: str, scored: list[tuple[BoxViewData, Any]], labels: list[str], seed: int) -> tuple[dict[str, float], dict[str, Any], dict[str, Any], dict[str, float]]:
    """Metrics, intervals, baselines (each view's baselines from its own training rows) and per-class AP."""
    rows = [r for view, _ in scored for r in view.test]
    if kind == "grounding":
        predicted = np.concatenate([np.asarray(p).reshape(-1, 4) for _, p in scored])
        metrics = grounding_metrics(predicted, rows)
        baselines: dict[str, dict[str, float]] = {}
        pooled = [(grounding_baselines(view.test, view.train), len(view.test)) for view, _ in scored]
        for name in ("largest-box", "centre-box"):
            total = sum(n for _, n in pooled)
            baselines[name] = {m: round(sum(b[name][m] * n for b, n in pooled if name in b) / max(1, total), 6) for m in ("accuracy", "iou")}
        return metrics, grounding_intervals(predicted, rows, seed), baselines, {}
    predictions = [p for _, ps in scored for p in ps]
    metrics, per_class = detection_metrics(predictions, rows, labels)
    train = [r for view, _ in scored for r in view.train]
    return metrics, {}, detection_baselines(rows, train, labels), per_class


def run_box_train(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The train job's ``run`` for box tasks."""
    started = time.monotonic()
    spec = parse(raw)
    kind = "grounding" if spec.task == "visual-grounding" else "detection"
    method, folds, views, digest = load_box_plan(spec.data_dir)
    final = next(v for v in views if v.name == FINAL)
    labels = sorted({label for v in views for r in v.train + v.test for label in r.labels}) if kind == "detection" else []
    if kind == "detection" and not labels:
        raise JobError("the detection data has no labelled boxes")
    if not any(v.test for v in views if (v.name != FINAL) == (method == "cross-validation")):
        raise JobError("the evaluation plan has no test rows to score")
    trainer = make_box_trainer(spec, labels, out, views)
    scored, final_fit = fit_box_views(method, views, trainer, kind, out)
    metrics, intervals, baselines, per_class = evaluate(kind, scored, labels, spec.seed)
    rows = sum(len(v.test) for v, _ in scored)
    events.log(f"Evaluated {spec.model_id} by {method} on {rows} rows: {metrics}; baselines {baselines}")

    versions = package_versions()
    model_dir = out / "model"
    trainer.save(final_fit, model_dir, versions)
    parameters, model_bytes = trainer.measure(final_fit, model_dir)
    outcomes = [{"metric": o.metric, "op": o.op, "value": o.value, "measured": metrics.get(o.metric), "met": o.met_by(metrics.get(o.metric))}
                for o in spec.objectives]
    evaluation = {"method": method, "rows": rows, **({"folds": folds} if folds else {})}
    images = len({r.image for v, _ in scored for r in v.test})
    result = {
        "kind": "train", "modelId": spec.model_id, "family": spec.family, "metrics": metrics, "intervals": intervals,
        "evaluation": evaluation, "objectives": outcomes, "objectivesMet": all(o["met"] for o in outcomes),
        "parameters": parameters, "modelBytes": model_bytes, "trainRows": len(final.train), "pseudoLabelledRows": 0,
        "durationSeconds": round(time.monotonic() - started, 3), "seed": spec.seed, **({"dataDigest": digest} if digest else {}),
        "perClass": [], "confusionMatrix": {"labels": [], "matrix": []}, "plots": [], "modelDir": str(model_dir),
        "packageVersions": versions,
        "training": {"framework": "torch", "hyperparameters": trainer.h, **trainer.report.details},
        "boxes": {"task": kind, "images": images, "iouThreshold": 0.5, "baselines": baselines,
                  **({"perClassAp": per_class} if per_class else {})},
    }
    summary = {k: result[k] for k in ("kind", "modelId", "family", "metrics", "objectivesMet", "parameters", "modelBytes", "trainRows",
                                      "pseudoLabelledRows", "durationSeconds", "seed")}
    summary["evaluation"] = evaluation
    summary["baselines"] = baselines
    return result, summary

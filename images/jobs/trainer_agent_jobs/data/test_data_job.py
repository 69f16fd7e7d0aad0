"""Data job on real data: SpamAssassin (npm) and scikit-learn digits as an imagefolder."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import JobRun, run_job, spam_spec

def test_spam_dedupes_before_splitting_and_profiles_the_corpus(spam_data: JobRun) -> None:
    profile = spam_data.result["profile"]
    assert profile["rows"]["loaded"] == 6046
    assert profile["duplicates"]["exact"] >= 171, "the 171 duplicate bodies must be found despite different headers"
    assert profile["leakage"]["exact"] == 0
    assert profile["rows"]["train"] + profile["rows"]["test"] == 6046 - profile["duplicates"]["removed"]
    assert {c["label"] for c in profile["classes"]} == {"ham", "spam"}
    assert 0.3 < profile["minorityRatio"] < 0.6
    assert profile["textLengths"]["max"] > profile["textLengths"]["p50"] > 0
    assert spam_data.result["digest"].startswith("sha256:")
    for name in ("train.jsonl", "test.jsonl", "unlabelled.jsonl", "data-report.json", "class-balance.png", "lengths.png"):
        assert (spam_data.out / name).is_file(), name


def test_spam_test_split_is_stratified(spam_data: JobRun) -> None:
    classes = spam_data.result["profile"]["classes"]
    ratios = [c["test"] / (c["train"] + c["test"]) for c in classes]
    assert max(ratios) - min(ratios) < 0.01


def test_spam_report_examples_are_short_and_redacted(spam_data: JobRun) -> None:
    issues = spam_data.result["profile"]["labelIssues"]
    for example in issues["examples"]:
        assert len(example["excerpt"]) <= 81
        assert "@" not in example["excerpt"] and "http" not in example["excerpt"].lower()


def test_progress_events_and_compact_termination_summary(spam_data: JobRun) -> None:
    stages = [e for e in spam_data.events if e["event"] == "progress"]
    assert stages and all({"stage", "step", "total", "metric"} <= set(e) for e in stages)
    assert stages[-1]["step"] == stages[-1]["total"]
    assert spam_data.termination["ok"] is True
    assert len(json.dumps(spam_data.termination)) < 4096


def test_digits_imagefolder_is_prepared_with_image_rows(digits_folder: Path, tmp_path: Path) -> None:
    spec = {"task": "image-classification", "modality": "image", "seed": 0, "operations": [{"op": "dedupe", "near": False}],
            "sources": [{"name": "digits", "uri": f"file://{digits_folder}", "format": "imagefolder"}]}
    run = run_job("data", spec, tmp_path / "digits")
    again = run_job("data", spec, tmp_path / "again")
    assert run.code == 0 and again.code == 0, run.stderr[-2000:]
    assert run.result["digest"] == again.result["digest"], "same inputs, same content digest"
    profile = run.result["profile"]
    assert profile["imageSizes"] == {"8x8x1": profile["rows"]["train"] + profile["rows"]["test"]}
    assert len(profile["classes"]) == 10
    first = json.loads((run.out / "train.jsonl").read_text().splitlines()[0])
    assert Path(first["image"]).is_absolute() and Path(first["image"]).is_file()


@pytest.mark.parametrize("name, spec_change, message", [
    ("a missing source file", {"sources": [{"name": "x", "uri": "file:///nonexistent/data.jsonl", "format": "jsonl"}]}, "does not exist"),
    ("a spec that breaks the schema", {"operations": [{"op": "shuffle"}]}, "data-spec"),
    ("a remote source the job does not fetch", {"sources": [{"name": "x", "uri": "s3://bucket/key", "format": "jsonl"}]}, "fetched by the backend"),
])
def test_failures_exit_non_zero_with_the_reason_in_the_termination_log(name: str, spec_change: dict, message: str, tmp_path: Path) -> None:
    spec = {**spam_spec("file:///tmp/none.jsonl", []), **spec_change}
    run = run_job("data", spec, tmp_path / "fail")
    assert run.code != 0
    assert run.termination["ok"] is False and message in run.termination["error"]
    assert message in run.stderr


def test_planted_label_noise_is_found_and_correcting_it_beats_training_on_it(spam_data: JobRun, tmp_path: Path) -> None:
    """Flip 5% of the (deduplicated) SpamAssassin training labels; the test split stays clean."""
    train = [json.loads(line) for line in (spam_data.out / "train.jsonl").read_text().splitlines()]
    rng = random.Random(5)
    flipped = set(rng.sample(range(len(train)), int(0.05 * len(train))))
    noisy = tmp_path / "noisy.jsonl"
    noisy.write_text("".join(
        json.dumps({"text": r["text"], "label": ({"ham": "spam", "spam": "ham"}[r["label"]] if i in flipped else r["label"])}) + "\n"
        for i, r in enumerate(train)))
    test_source = {"name": "test", "uri": f"file://{spam_data.out / 'test.jsonl'}", "format": "jsonl", "role": "test"}
    sources = [{"name": "noisy", "uri": f"file://{noisy}", "format": "jsonl"}, test_source]
    fixed = run_job("data", spam_spec("", [{"op": "label-errors"}]) | {"sources": sources}, tmp_path / "fixed")
    raw = run_job("data", spam_spec("", []) | {"sources": sources}, tmp_path / "raw")
    assert fixed.code == 0 and raw.code == 0, fixed.stderr[-2000:] + raw.stderr[-2000:]
    issues = [json.loads(line) for line in (fixed.out / "label-issues.jsonl").read_text().splitlines()]
    found = {i["row"] for i in issues if i["source"] == "noisy"}
    recall = len(found & flipped) / len(flipped)
    precision = len(found & flipped) / max(1, len(found))
    print(f"planted noise: {len(flipped)} flipped, {len(found)} issues, recall {recall:.3f}, precision {precision:.3f}")
    assert recall >= 0.8
    model = {"id": "tfidf-logreg", "family": "sklearn-tfidf-logreg", "hyperparameters": {"C": 10}}
    accuracy = {}
    for name, data in (("fixed", fixed), ("raw", raw)):
        trained = run_job("train", {"task": "text-classification", "modality": "text", "dataDir": str(data.out),
                                    "model": model, "learningCurve": False}, tmp_path / f"train-{name}")
        assert trained.code == 0, trained.stderr[-2000:]
        accuracy[name] = trained.result["metrics"]["accuracy"]
    print(f"planted noise: accuracy after correction {accuracy['fixed']:.4f}, without {accuracy['raw']:.4f}")
    assert accuracy["fixed"] > accuracy["raw"]


def write_shapes(root: Path, n: int, seed: int, flip: float = 0.0) -> set[str]:
    """GENERATED 24×24 images of circles, squares and triangles (random size, position and noise), in an
    imagefolder; a fraction ``flip`` is filed under a wrong class. Returns the names of the flipped files."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    shapes = ["circle", "square", "triangle"]
    flipped: set[str] = set()
    for i in range(n):
        shape = shapes[i % 3]
        image = Image.new("L", (24, 24), 0)
        draw = ImageDraw.Draw(image)
        r, cx, cy = rng.randint(5, 9), rng.randint(10, 14), rng.randint(10, 14)
        if shape == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        elif shape == "square":
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=255)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=255)
        noisy = np.clip(np.asarray(image, dtype=np.float32) + np.random.default_rng(seed * 100000 + i).normal(0, 25, (24, 24)), 0, 255)
        label = shape
        if rng.random() < flip:
            label = rng.choice([s for s in shapes if s != shape])
            flipped.add(f"shape-{i:04d}.png")
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(noisy.astype(np.uint8), mode="L").save(root / label / f"shape-{i:04d}.png")
    return flipped


@pytest.mark.parametrize("name, flip", [("clean shapes: nothing is corrected", 0.0), ("5% of the shapes filed wrongly", 0.05)])
def test_label_correction_changes_only_wrong_labels(name: str, flip: float, tmp_path: Path) -> None:
    """Corrections need strong agreement: none on clean data, and nearly all of them right on noisy data."""
    flipped = write_shapes(tmp_path / "shapes", 450, seed=3, flip=flip)
    spec = {"task": "image-classification", "modality": "image", "seed": 0, "testFraction": 0.2,
            "evaluation": {"minHoldoutRows": 50},
            "operations": [{"op": "label-errors"}],
            "sources": [{"name": "shapes", "uri": f"file://{tmp_path / 'shapes'}", "format": "imagefolder"}]}
    run = run_job("data", spec, tmp_path / "data")
    assert run.code == 0, run.stderr[-2000:]
    issues = [json.loads(line) for line in (run.out / "label-issues.jsonl").read_text().splitlines()] if (run.out / "label-issues.jsonl").is_file() else []
    corrected = {Path(i["image"]).name for i in issues if i["action"] == "corrected"}
    in_train = {Path(json.loads(line)["image"]).name for line in (run.out / "train.jsonl").read_text().splitlines()}
    planted = flipped & in_train
    right = len(corrected & planted)
    print(f"{name}: {len(planted)} planted in train, {len(issues)} issues, {len(corrected)} corrected, {right} of them right")
    if not planted:
        assert corrected == set()
    else:
        assert right / max(1, len(corrected)) >= 0.9, "a correction must almost always be right"
        assert right >= len(planted) / 2
    assert run.result["profile"]["labelIssues"]["corrected"] == len(corrected)

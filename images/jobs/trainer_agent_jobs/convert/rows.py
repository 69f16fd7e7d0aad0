"""Held-out rows from the prepared data directory, turned into model inputs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .image_preprocessing import preprocess_batch
from .manifest import ModelManifest

SPLIT_FILES = ("test.jsonl", "eval.jsonl", "val.jsonl", "validation.jsonl")


@dataclass
class Rows:
    """Raw rows, their labels (when known) and the model-ready inputs."""

    raw: list[dict[str, Any]]
    labels: list[str | None]
    inputs: Any  # np.ndarray of str (text) or float32 (image)
    source: str


def _has_rows(path: Path) -> bool:
    return path.is_file() and any(line.strip() for line in path.open(encoding="utf-8"))


def find_splits(data_dir: str | Path) -> list[Path]:
    """The held-out rows of a data directory: its test split, or (cross-validation, where the final model
    learned from every labelled row) the folds' test parts, which parity and the precision gate then use."""
    d = Path(data_dir)
    if d.is_file():
        return [d]
    found = next((d / f for f in SPLIT_FILES if _has_rows(d / f)), None)
    if found is not None:
        return [found]
    return sorted(p for p in d.glob("folds/*/test.jsonl") if _has_rows(p))


def preprocessing_of(manifest: ModelManifest) -> dict[str, Any]:
    """The ``preprocessing.json`` body for a manifest (written to the model repository). Torch text
    models name their tokenizer (copied beside it) and the graph inputs it feeds."""
    if manifest.image is None:
        model_input = manifest.raw.get("input") or {}
        if model_input.get("tokenizer"):
            return {"kind": "text", "tokenizer": "tokenizer.json", "maxLength": int(model_input.get("maxLength", 128)),
                    "graphInputs": ["input_ids", "attention_mask"]}
        return {"kind": "text"}
    img = manifest.image
    return {"kind": "image", "height": img.height, "width": img.width, "channels": img.channels,
            "mean": list(img.mean), "std": list(img.std), "scale": img.scale, "layout": img.layout,
            "resize": "pillow-bilinear", "colour": "pillow convert('L') for 1 channel, convert('RGB') for 3"}


def load_rows(manifest: ModelManifest, data_dir: str | None, limit: int, seed: int) -> Rows:
    """Read up to ``limit`` held-out rows; synthesise inputs (labels unknown) when there is no data."""
    splits = find_splits(data_dir) if data_dir else []
    if not splits:
        return _synthetic(manifest, min(limit, 64), seed)
    raw: list[dict[str, Any]] = []
    for split in splits:
        with split.open(encoding="utf-8") as fh:
            raw += [json.loads(line) for line in fh if line.strip()]
    raw = raw[:limit]
    split = splits[0]
    labels = [None if r.get("label") is None else str(r["label"]) for r in raw]
    if manifest.image is None:
        inputs: Any = np.array([str(r.get("text", "")) for r in raw], dtype=object)
    else:
        blobs = [_image_bytes(r["image"], split.parent) for r in raw]
        inputs = preprocess_batch(blobs, preprocessing_of(manifest))
    source = str(split) if len(splits) == 1 else f"{len(splits)} cross-validation test folds under {split.parent.parent}"
    return Rows(raw=raw, labels=labels, inputs=inputs, source=source)


def _image_bytes(ref: str, base: Path) -> bytes:
    p = Path(ref)
    return (p if p.is_absolute() else base / p).read_bytes()


def _synthetic(manifest: ModelManifest, n: int, seed: int) -> Rows:
    rng = np.random.default_rng(seed)
    if manifest.image is None:
        words = ["free", "offer", "meeting", "report", "win", "hello", "price", "today", "click", "team"]
        texts = [" ".join(rng.choice(words, size=8)) for _ in range(n)]
        return Rows(raw=[{"text": t} for t in texts], labels=[None] * n, inputs=np.array(texts, dtype=object),
                    source="synthetic")
    img = manifest.image
    shape = (n, img.channels, img.height, img.width) if img.layout == "chw" else (n, img.height * img.width * img.channels)
    return Rows(raw=[{} for _ in range(n)], labels=[None] * n,
                inputs=rng.normal(size=shape).astype(np.float32), source="synthetic")

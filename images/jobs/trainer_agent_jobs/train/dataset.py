"""The data job's output read back (its evaluation plan and views), and records turned into model inputs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common.features import ImageGeometry, image_matrix, infer_geometry, texts
from ..common.jsonl import read_jsonl
from ..common.records import Record, from_row
from ..common.runner import JobError
from ..data.evaluation import FINAL, EvaluationPlan, View




@dataclass(frozen=True)
class Plan(EvaluationPlan):
    """The data job's evaluation plan read back (views in fitting order), with the data's content digest."""

    digest: str | None = None


def _read_view(root: Path, name: str, directory: str) -> View:
    base = root / directory if directory else root
    load = lambda split: [from_row(row, f"{name}/{split}", i) for i, row in enumerate(read_jsonl(base / f"{split}.jsonl"))]  # noqa: E731
    return View(name, load("train"), load("test"), load("unlabelled"))


def load_plan(data_dir: str) -> Plan:
    """Read evaluation.json and every view's splits (a data dir without evaluation.json is one holdout view)."""
    root = Path(data_dir)
    if not (root / "train.jsonl").is_file():
        raise JobError(f"{root}/train.jsonl not found: is dataDir the data job's output?")
    digest = None
    if (root / "result.json").is_file():
        digest = json.loads((root / "result.json").read_text()).get("digest")
    if not (root / "evaluation.json").is_file():
        return Plan("holdout", None, [_read_view(root, FINAL, "")], "a single test split", digest=digest)
    raw = json.loads((root / "evaluation.json").read_text())
    views = [_read_view(root, v["name"], v["directory"]) for v in raw["views"]]
    # Fold views first, the final view last: a teacher's fold predictions exist before a student needs them.
    views.sort(key=lambda v: v.name == FINAL)
    return Plan(str(raw["method"]), raw.get("folds"), views, str(raw.get("reason", "")), digest=digest)


def model_inputs(records: Sequence[Record], modality: str, geometry: ImageGeometry | None) -> Any:
    """Raw strings for text; normalised flat pixel vectors for images."""
    if modality == "text":
        return texts(records)
    if modality == "image":
        if geometry is None:
            raise JobError("image inputs need a geometry")
        return image_matrix(records, geometry)
    raise JobError(f"the train job reads text and image splits; {modality} is not supported yet")


def geometry_for(records: Sequence[Record], modality: str) -> ImageGeometry | None:
    """Image size and normalisation measured on the training rows (None for text)."""
    return infer_geometry(records) if modality == "image" else None


def encode_labels(records: Sequence[Record], labels: Sequence[str]) -> np.ndarray:
    """Indices into ``labels`` (the model predicts indices; the manifest names them)."""
    lookup = {label: i for i, label in enumerate(labels)}
    unknown = sorted({r.label for r in records if r.label not in lookup}, key=str)
    if unknown:
        raise JobError(f"labels {unknown[:5]} are not among the training labels {list(labels)[:20]}")
    return np.asarray([lookup[r.label or ""] for r in records], dtype=np.int64)

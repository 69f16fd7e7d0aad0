"""The prepared splits of a data job's output, as records and model inputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common.features import ImageGeometry, image_matrix, infer_geometry, texts
from ..common.jsonl import read_jsonl
from ..common.records import Record, from_row
from ..common.runner import JobError


@dataclass(frozen=True)
class Splits:
    """train / test / unlabelled records of a data dir."""

    train: list[Record]
    test: list[Record]
    unlabelled: list[Record]
    digest: str | None


def load_splits(data_dir: str) -> Splits:
    """Read train.jsonl, test.jsonl, unlabelled.jsonl (and the digest from result.json when present)."""
    root = Path(data_dir)
    if not (root / "train.jsonl").is_file():
        raise JobError(f"{root}/train.jsonl not found: is dataDir the data job's output?")
    load = lambda name: [from_row(row, name, i) for i, row in enumerate(read_jsonl(root / f"{name}.jsonl"))]  # noqa: E731
    digest = None
    if (root / "result.json").is_file():
        import json

        digest = json.loads((root / "result.json").read_text()).get("digest")
    return Splits(load("train"), load("test"), load("unlabelled"), digest)


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

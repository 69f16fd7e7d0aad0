"""Saving and loading a trained model directory: model.joblib + manifest.json."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common.features import ImageGeometry
from ..common.records import Record
from ..common.runner import JobError
from ..common.schemas import validate
from .dataset import model_inputs

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class LoadedModel:
    """A fitted estimator with the manifest that says how to feed it."""

    estimator: Any
    manifest: dict[str, Any]

    @property
    def labels(self) -> list[str]:
        """Class names; the estimator predicts indices into this list."""
        return list(self.manifest["labels"])

    @property
    def geometry(self) -> ImageGeometry | None:
        """Image size and normalisation from the manifest (None for text)."""
        spec = self.manifest["input"]
        if spec["kind"] != "image":
            return None
        return ImageGeometry(spec["height"], spec["width"], spec["channels"], tuple(spec["mean"]),
                             tuple(spec["std"]), spec.get("scale", 1 / 255))

    def predict_proba(self, records: Sequence[Record]) -> np.ndarray:
        """``[N, len(labels)]`` probabilities."""
        return np.asarray(self.estimator.predict_proba(model_inputs(records, self.manifest["modality"], self.geometry)))


def save_model(
    directory: Path, estimator: Any, *, task: str, modality: str, model_id: str, family: str,
    labels: Sequence[str], geometry: ImageGeometry | None, versions: dict[str, str],
) -> dict[str, Any]:
    """Write model.joblib and a schema-valid manifest.json; returns the manifest."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, directory / MODEL_FILE, compress=3)
    manifest = {
        "framework": "sklearn", "task": task, "modality": modality, "modelId": model_id, "family": family,
        "labels": list(labels),
        "input": geometry.to_manifest() if geometry else {"kind": "text"},
        "files": {"model": MODEL_FILE},
        "packageVersions": versions,
    }
    validate(manifest, "model-manifest")
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load_model(directory: str | Path) -> LoadedModel:
    """Read a model directory written by :func:`save_model`."""
    import joblib

    root = Path(directory)
    if not (root / MANIFEST_FILE).is_file():
        raise JobError(f"{root}/{MANIFEST_FILE} not found: not a trained model directory")
    manifest = json.loads((root / MANIFEST_FILE).read_text())
    if manifest.get("framework") != "sklearn":
        raise JobError(f"model {root} is {manifest.get('framework')}; this job loads sklearn models")
    return LoadedModel(joblib.load(root / manifest["files"]["model"]), manifest)

"""Parity between the trained model and an ONNX export, and accuracy on labelled rows."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class Predictions:
    """Labels and class probabilities for a batch of rows."""

    labels: list[str]
    probabilities: np.ndarray


@dataclass
class Parity:
    """How closely two predictors agree on the same rows."""

    rows: int
    max_abs_prob_diff: float
    label_agreement: float
    passed: bool

    def to_json(self) -> dict[str, Any]:
        """camelCase for result.json."""
        d = asdict(self)
        return {"rows": d["rows"], "maxAbsProbDiff": d["max_abs_prob_diff"],
                "labelAgreement": d["label_agreement"], "passed": d["passed"]}


def onnx_predict(session: Any, feed: Any, inputs: Any, batch: int = 64) -> Predictions:
    """Run an onnxruntime session over ``inputs`` in batches; ``feed`` turns rows into the graph's inputs."""
    labels: list[str] = []
    probs: list[np.ndarray] = []
    for start in range(0, len(inputs), batch):
        chunk = inputs[start:start + batch]
        out = session.run(["label", "probabilities"], feed(chunk))
        labels += [x.decode() if isinstance(x, bytes) else str(x) for x in out[0].reshape(-1)]
        probs.append(np.asarray(out[1], dtype=np.float64))
    return Predictions(labels=labels, probabilities=np.concatenate(probs) if probs else np.zeros((0, 0)))


def compare(reference: Predictions, candidate: Predictions, max_abs_prob_diff: float, min_label_agreement: float) -> Parity:
    """Max absolute probability difference and label agreement, judged against the limits."""
    n = len(reference.labels)
    if n == 0:
        return Parity(rows=0, max_abs_prob_diff=0.0, label_agreement=1.0, passed=True)
    diff = float(np.max(np.abs(reference.probabilities - candidate.probabilities)))
    agree = float(np.mean([a == b for a, b in zip(reference.labels, candidate.labels)]))
    return Parity(rows=n, max_abs_prob_diff=diff, label_agreement=agree,
                  passed=diff <= max_abs_prob_diff and agree >= min_label_agreement)


def accuracy(predicted: list[str], truth: list[str | None]) -> float | None:
    """Accuracy on the rows that have a label; None when none has."""
    pairs = [(p, t) for p, t in zip(predicted, truth) if t is not None]
    if not pairs:
        return None
    return float(np.mean([p == t for p, t in pairs]))

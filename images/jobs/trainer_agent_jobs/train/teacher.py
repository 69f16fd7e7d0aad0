"""Hierarchical mode: a trained teacher pseudo-labels the unlabelled rows for the student."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..common.records import Record
from ..common.runner import JobError
from .model_io import load_model


@dataclass(frozen=True)
class PseudoLabels:
    """Rows the teacher labelled confidently, and how many it was offered."""

    records: list[Record]
    offered: int


def pseudo_label(
    unlabelled: Sequence[Record], teacher_dir: str, threshold: float, max_rows: int | None, labels: Sequence[str],
) -> PseudoLabels:
    """Teacher labels with top probability >= ``threshold``, most confident first, at most ``max_rows``."""
    if not unlabelled:
        return PseudoLabels([], 0)
    teacher = load_model(teacher_dir)
    unknown = sorted(set(teacher.labels) - set(labels))
    if unknown:
        raise JobError(f"the teacher predicts labels the student does not know: {unknown[:5]}")
    probabilities = teacher.predict_proba(unlabelled)
    best = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    order = [int(i) for i in np.argsort(-confidence, kind="stable") if confidence[i] >= threshold]
    if max_rows is not None:
        order = order[:max_rows]
    chosen = [unlabelled[i].with_label(teacher.labels[int(best[i])], "pseudo-label") for i in order]
    return PseudoLabels(chosen, len(unlabelled))

"""Auto-labelling: a teacher labels unlabelled rows; confident ones join the training split."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..common.quick_model import fit_and_predict
from ..common.records import Record


@dataclass(frozen=True)
class AutoLabelOutcome:
    """Rows accepted into training and rows left unlabelled."""

    accepted: list[Record]
    remaining: list[Record]


def teacher_probabilities(
    train: Sequence[Record], unlabelled: Sequence[Record], modality: str, teacher_dir: str | None, seed: int,
) -> tuple[np.ndarray, list[str]]:
    """Class probabilities for the unlabelled rows from a trained model dir, or a quick model fitted on train."""
    if teacher_dir:
        from ..train.model_io import load_model

        model = load_model(teacher_dir)
        return model.predict_proba(unlabelled), list(model.labels)
    return fit_and_predict(train, unlabelled, modality, seed)


def accept_confident(
    unlabelled: Sequence[Record], probabilities: np.ndarray, classes: Sequence[str], threshold: float, origin: str,
) -> AutoLabelOutcome:
    """Rows whose top probability reaches ``threshold`` get that label; the rest stay unlabelled."""
    accepted: list[Record] = []
    remaining: list[Record] = []
    for record, row in zip(unlabelled, probabilities):
        best = int(np.argmax(row))
        if float(row[best]) >= threshold:
            accepted.append(record.with_label(classes[best], origin))
        else:
            remaining.append(record)
    return AutoLabelOutcome(accepted, remaining)


def auto_label(
    train: Sequence[Record], unlabelled: Sequence[Record], modality: str, teacher_dir: str | None,
    threshold: float, seed: int,
) -> AutoLabelOutcome:
    """Label what the teacher is sure about."""
    if not unlabelled or len({r.label for r in train}) < 2:
        return AutoLabelOutcome([], list(unlabelled))
    probabilities, classes = teacher_probabilities(train, unlabelled, modality, teacher_dir, seed)
    return accept_confident(unlabelled, probabilities, classes, threshold, "auto-label")

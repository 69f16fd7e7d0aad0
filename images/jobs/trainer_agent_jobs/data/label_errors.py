"""Label-error detection by cross-validated confident learning (cleanlab), then correct or flag."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..common.quick_model import cross_validated_probabilities
from ..common.records import Record


@dataclass(frozen=True)
class LabelIssue:
    """One row whose given label confident learning doubts."""

    position: int
    given: str
    suggested: str
    confidence: float
    action: str  # corrected | flagged | dropped


@dataclass
class LabelErrorOutcome:
    """Training rows after the fix, the issues found, and rows set aside for review."""

    records: list[Record]
    issues: list[LabelIssue] = field(default_factory=list)
    flagged: list[Record] = field(default_factory=list)


def find_issue_positions(labels: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]) -> list[int]:
    """Positions cleanlab ranks as likely mislabelled (most suspicious first)."""
    from cleanlab.filter import find_label_issues

    y = np.asarray([list(classes).index(label) for label in labels])
    ranked = find_label_issues(labels=y, pred_probs=probabilities, return_indices_ranked_by="self_confidence")
    return [int(i) for i in ranked]


def decide_action(action: str, confidence: float, min_confidence: float) -> str:
    """correct → corrected when the suggestion is confident enough, else flagged; flag/drop as asked."""
    if action == "correct":
        return "corrected" if confidence >= min_confidence else "flagged"
    return "flagged" if action == "flag" else "dropped"


def fix_label_errors(
    records: Sequence[Record], modality: str, action: str, folds: int, min_confidence: float, seed: int,
) -> LabelErrorOutcome:
    """Find issues with out-of-fold probabilities; correct, flag (set aside) or drop each one."""
    labelled = list(records)
    if len({r.label for r in labelled}) < 2:
        return LabelErrorOutcome(labelled)
    labels = [r.label or "" for r in labelled]
    probabilities, classes = cross_validated_probabilities(labelled, labels, modality, folds, seed)
    issues: list[LabelIssue] = []
    for position in find_issue_positions(labels, probabilities, classes):
        best = int(np.argmax(probabilities[position]))
        confidence = float(probabilities[position, best])
        issues.append(LabelIssue(position, labels[position], classes[best], confidence,
                                 decide_action(action, confidence, min_confidence)))
    by_position = {issue.position: issue for issue in issues}
    kept: list[Record] = []
    flagged: list[Record] = []
    for position, record in enumerate(labelled):
        issue = by_position.get(position)
        if issue is None:
            kept.append(record)
        elif issue.action == "corrected":
            kept.append(record.with_label(issue.suggested, "corrected"))
        elif issue.action == "flagged":
            flagged.append(record)
    return LabelErrorOutcome(kept, issues, flagged)

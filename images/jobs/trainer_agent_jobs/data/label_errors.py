"""Label-error detection by cross-validated confident learning (cleanlab), then correct or flag.

The base model that produces the out-of-fold probabilities is TF-IDF + logistic regression for text
(:mod:`..common.quick_model`), except on small text sets (at most ``EMBEDDING_MAX_ROWS`` rows) when the
pretrained MiniLM package is installed: there TF-IDF has too few rows to learn the vocabulary, and
logistic regression on frozen MiniLM sentence embeddings separates the classes far better, so flipped
labels stand out. Large sets keep TF-IDF, which is good there and much cheaper than a transformer pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..common import events
from ..common.quick_model import class_indices, cross_validated_probabilities
from ..common.records import Record

# Text sets up to this size use MiniLM embeddings (when installed); ~10 s of encoding single-threaded.
EMBEDDING_MAX_ROWS = 1000
# On the embeddings a fold costs milliseconds, so small sets use at least 10 folds (each model sees 90%
# of the few rows) and average 3 differently shuffled splits (steadier rankings).
EMBEDDING_MIN_FOLDS = 10
EMBEDDING_REPEATS = 3
TFIDF_BASE = "tfidf-logreg"
MINILM_BASE = "minilm-embeddings-logreg"


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
    base_model: str = TFIDF_BASE


def base_model_for(records: Sequence[Record], modality: str) -> str:
    """Which model gives the out-of-fold probabilities: MiniLM embeddings for small text sets when the
    package is installed, else the quick model (TF-IDF for text, RBF SVM for images)."""
    if modality != "text" or len(records) > EMBEDDING_MAX_ROWS:
        return TFIDF_BASE
    from ..train.minilm import minilm_available

    return MINILM_BASE if minilm_available() else TFIDF_BASE


def embedding_probabilities(
    records: Sequence[Record], labels: Sequence[str], folds: int, seed: int,
) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold probabilities of logistic regression on MiniLM sentence embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from ..train.minilm import embed_texts

    y, classes = class_indices(labels)
    k = max(2, min(max(folds, EMBEDDING_MIN_FOLDS), int(np.bincount(y).min())))
    features = embed_texts([r.text or "" for r in records])
    runs = []
    for repeat in range(EMBEDDING_REPEATS):
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed + repeat)
        classifier = LogisticRegression(C=10.0, max_iter=3000, random_state=seed)
        runs.append(cross_val_predict(classifier, features, y, cv=splitter, method="predict_proba"))
    return np.mean(runs, axis=0), classes


def out_of_fold_probabilities(
    records: Sequence[Record], labels: Sequence[str], modality: str, folds: int, seed: int,
) -> tuple[np.ndarray, list[str], str]:
    """Confident learning's input ``[N, K]``, the class order, and the base model used."""
    base = base_model_for(records, modality)
    if base == MINILM_BASE:
        probabilities, classes = embedding_probabilities(records, labels, folds, seed)
    else:
        probabilities, classes = cross_validated_probabilities(records, labels, modality, folds, seed)
    return probabilities, classes, base


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
    probabilities, classes, base = out_of_fold_probabilities(labelled, labels, modality, folds, seed)
    events.log(f"Label-error detection on {len(labelled)} rows with out-of-fold probabilities from {base}")
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
    return LabelErrorOutcome(kept, issues, flagged, base)

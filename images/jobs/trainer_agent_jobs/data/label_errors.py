"""Label-error detection by cross-validated confident learning (cleanlab), then correct, flag or drop.

Out-of-fold probabilities come from a quick model: logistic regression on frozen MiniLM sentence
embeddings for text sets up to ``EMBEDDING_MAX_ROWS`` rows when PyTorch and the pretrained package are
installed (TF-IDF has too few rows to learn a vocabulary there), TF-IDF + logistic regression for larger
text sets, an RBF SVM on pixels for images, logistic regression on scaled and one-hot encoded columns
for tables. They are computed ``REPEATS`` times over differently
shuffled folds. A label is only *corrected* with strong agreement: cleanlab ranks it as an issue, every
repeat predicts the same other class, the averaged probability of that class reaches the confidence
threshold, and it beats the given label by the margin. Weaker suspicions are flagged: the row keeps its
label and is listed for the user to review, so correct labels on clean data are left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..common import events
from ..common.quick_model import class_indices, cross_validated_probabilities
from ..common.records import Record

# Text sets up to this size use MiniLM embeddings when available (a few seconds of encoding per hundred rows).
EMBEDDING_MAX_ROWS = 2000
# On the embeddings a fold costs milliseconds, so small sets use at least 10 folds (each model sees 90%
# of the few rows).
EMBEDDING_MIN_FOLDS = 10
# Differently shuffled cross-validations; a correction needs all of them to agree.
REPEATS = 3
TFIDF_BASE = "tfidf-logreg"
MINILM_BASE = "minilm-embeddings-logreg"
TABLE_BASE = "logreg-on-encoded-columns"


@dataclass(frozen=True)
class LabelIssue:
    """One row whose given label confident learning doubts."""

    position: int
    given: str
    suggested: str
    confidence: float
    action: str  # corrected | flagged | dropped
    margin: float = 0.0


@dataclass
class LabelErrorOutcome:
    """Training rows after the fix and the issues found (flagged rows stay, with their given label)."""

    records: list[Record]
    issues: list[LabelIssue] = field(default_factory=list)
    base_model: str = TFIDF_BASE


def base_model_for(records: Sequence[Record], modality: str) -> str:
    """MiniLM embeddings for small text sets when torch and the weights are installed, else the quick
    model (TF-IDF for text, RBF SVM for images, logistic regression on encoded columns for tables)."""
    if modality == "tabular":
        return TABLE_BASE
    if modality != "text" or len(records) > EMBEDDING_MAX_ROWS:
        return TFIDF_BASE
    from ..train.torch_env import torch_missing_reason
    from ..train.weights import package_weights_missing_reason

    if torch_missing_reason() is None and package_weights_missing_reason() is None:
        return MINILM_BASE
    return TFIDF_BASE


def embedding_probabilities(
    records: Sequence[Record], labels: Sequence[str], folds: int, seed: int,
) -> tuple[list[np.ndarray], list[str]]:
    """Out-of-fold probabilities of logistic regression on MiniLM sentence embeddings, once per repeat."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from ..train.text_encoder import embed_texts

    y, classes = class_indices(labels)
    k = max(2, min(max(folds, EMBEDDING_MIN_FOLDS), int(np.bincount(y).min())))
    features = embed_texts([r.text or "" for r in records])
    runs = []
    for repeat in range(REPEATS):
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed + repeat)
        classifier = LogisticRegression(C=10.0, max_iter=3000, random_state=seed)
        runs.append(cross_val_predict(classifier, features, y, cv=splitter, method="predict_proba"))
    return runs, classes


def out_of_fold_probabilities(
    records: Sequence[Record], labels: Sequence[str], modality: str, folds: int, seed: int,
) -> tuple[list[np.ndarray], list[str], str]:
    """Confident learning's input ``[N, K]`` per repeat, the class order, and the base model used."""
    base = base_model_for(records, modality)
    if base == MINILM_BASE:
        runs, classes = embedding_probabilities(records, labels, folds, seed)
        return runs, classes, base
    runs = []
    classes: list[str] = []
    for repeat in range(REPEATS):
        probabilities, classes = cross_validated_probabilities(records, labels, modality, folds, seed + repeat)
        runs.append(probabilities)
    return runs, classes, base


def find_issue_positions(labels: Sequence[str], probabilities: np.ndarray, classes: Sequence[str]) -> list[int]:
    """Positions cleanlab ranks as likely mislabelled (most suspicious first)."""
    from cleanlab.filter import find_label_issues

    y = np.asarray([list(classes).index(label) for label in labels])
    ranked = find_label_issues(labels=y, pred_probs=probabilities, return_indices_ranked_by="self_confidence")
    return [int(i) for i in ranked]


def decide_action(action: str, confidence: float, margin: float, agreed: bool, min_confidence: float, min_margin: float) -> str:
    """correct → corrected only with agreement, confidence and margin, else flagged; flag/drop as asked."""
    if action == "correct":
        return "corrected" if agreed and confidence >= min_confidence and margin >= min_margin else "flagged"
    return "flagged" if action == "flag" else "dropped"


def fix_label_errors(
    records: Sequence[Record], modality: str, action: str, folds: int, min_confidence: float, min_margin: float,
    seed: int,
) -> LabelErrorOutcome:
    """Find issues with out-of-fold probabilities; correct (strong agreement only), flag or drop each one."""
    labelled = list(records)
    if len({r.label for r in labelled}) < 2:
        return LabelErrorOutcome(labelled)
    labels = [r.label or "" for r in labelled]
    runs, classes, base = out_of_fold_probabilities(labelled, labels, modality, folds, seed)
    probabilities = np.mean(runs, axis=0)
    events.log(f"Label-error detection on {len(labelled)} rows with out-of-fold probabilities from {base} ({len(runs)} repeats)")
    issues: list[LabelIssue] = []
    for position in find_issue_positions(labels, probabilities, classes):
        best = int(np.argmax(probabilities[position]))
        given = classes.index(labels[position])
        confidence = float(probabilities[position, best])
        margin = confidence - float(probabilities[position, given])
        agreed = best != given and all(int(np.argmax(run[position])) == best for run in runs)
        issues.append(LabelIssue(position, labels[position], classes[best], confidence,
                                 decide_action(action, confidence, margin, agreed, min_confidence, min_margin), margin))
    by_position = {issue.position: issue for issue in issues}
    kept: list[Record] = []
    for position, record in enumerate(labelled):
        issue = by_position.get(position)
        if issue is None or issue.action == "flagged":
            kept.append(record)
        elif issue.action == "corrected":
            kept.append(record.with_label(issue.suggested, "corrected"))
    return LabelErrorOutcome(kept, issues, base)

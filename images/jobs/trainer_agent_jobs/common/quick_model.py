"""A fast, reasonable classifier used inside the data job (label-error detection, auto-labelling).

Features are fitted once, without labels, on every row involved (TF-IDF vocabulary and IDF for text,
pixel normalisation for images, imputation, scaling and one-hot categories for table rows); only the classifier is refitted per fold. That keeps cross-validated
confident learning at one vectorizer pass instead of one per fold.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .features import image_matrix, infer_geometry
from .records import Record


def quick_classifier(modality: str, seed: int) -> Any:
    """Logistic regression on sparse TF-IDF (fast, well-ranked probabilities); an RBF SVM with Platt
    probabilities on pixels, where a linear model is too weak to tell noise from hard examples; logistic
    regression on scaled, one-hot encoded table rows."""
    if modality == "tabular":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0, max_iter=3000, random_state=seed)
    if modality == "text":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=10.0, max_iter=3000, random_state=seed)
    from sklearn.svm import SVC

    return SVC(C=10.0, gamma="scale", probability=True, random_state=seed)


def unsupervised_features(records: Sequence[Record], modality: str) -> Any:
    """TF-IDF matrix (text), normalised pixel matrix (images) or encoded table rows for all ``records``, fitted without labels."""
    if modality == "tabular":
        from .table_features import encoded_matrix

        return encoded_matrix(records)
    if modality == "text":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=50000)
        return vectorizer.fit_transform([r.text or "" for r in records])
    return image_matrix(records, infer_geometry(records))


def class_indices(labels: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Labels as indices into the sorted class list."""
    classes = sorted(set(labels))
    lookup = {label: i for i, label in enumerate(classes)}
    return np.asarray([lookup[label] for label in labels]), classes


def cross_validated_probabilities(
    records: Sequence[Record], labels: Sequence[str], modality: str, folds: int, seed: int,
) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold predicted probabilities ``[N, K]`` and the class order (confident learning's input)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y, classes = class_indices(labels)
    smallest = int(np.bincount(y).min())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)
    features = unsupervised_features(records, modality)
    probabilities = cross_val_predict(quick_classifier(modality, seed), features, y, cv=splitter, method="predict_proba")
    return np.asarray(probabilities), classes


def fit_and_predict(
    train: Sequence[Record], other: Sequence[Record], modality: str, seed: int,
) -> tuple[np.ndarray, list[str]]:
    """Fit on labelled ``train``; class probabilities for ``other`` (features fitted on both, no labels)."""
    features = unsupervised_features(list(train) + list(other), modality)
    y, classes = class_indices([r.label or "" for r in train])
    classifier = quick_classifier(modality, seed).fit(features[: len(train)], y)
    return classifier.predict_proba(features[len(train):]), classes

"""The evaluation plan, fixed before anything learns: a locked holdout test split, or k stratified folds.

A *view* is one model fit's world: the rows it may learn from (``train``, ``unlabelled``) and the rows it
is scored on (``test``, always with the labels the user gave). Every train-side operation (label
correction, auto-labelling, augmentation, reduction) runs per view on that view's rows only, and the
train job fits one model per view, so no fold's test rows influence the labels, pseudo-labels or
teachers its model learns from. The ``final`` view is what the deployed model learns from: the training
split in holdout mode, every labelled row in cross-validation (its test part is then empty).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Sequence, TypeVar

from ..common.records import Record

FINAL = "final"
RowT = TypeVar("RowT")


@dataclass
class View(Generic[RowT]):
    """What one fit may learn from and what it is scored on (rows: text/image records, or box rows)."""

    name: str
    train: list[RowT]
    test: list[RowT]
    unlabelled: list[RowT] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> str:
        """Where the view's files go, relative to the data job's output ('' for the final view)."""
        return "" if self.name == FINAL else f"folds/{self.name.removeprefix('fold-')}"


@dataclass(frozen=True)
class EvaluationPlan(Generic[RowT]):
    """How the model is judged: ``holdout`` (one view) or ``cross-validation`` (fold views, then final).
    ``grouped_by`` names what the split keeps together (box tasks: image content), if anything."""

    method: str
    folds: int | None
    views: list[View[RowT]]
    reason: str
    grouped_by: str | None = None

    @property
    def final(self) -> View[RowT]:
        """The view the deployed model learns from."""
        return next(v for v in self.views if v.name == FINAL)

    @property
    def scored(self) -> list[View[RowT]]:
        """The views whose test rows are scored: the final one in holdout, the folds in cross-validation."""
        return [v for v in self.views if v.name != FINAL] if self.method == "cross-validation" else [self.final]

    @property
    def evaluated_rows(self) -> int:
        """Labelled rows the evaluation scores (each once)."""
        return sum(len(v.test) for v in self.scored)

    def to_json(self) -> dict[str, Any]:
        """``evaluation.json``: the plan without the rows."""
        return {"method": self.method, "folds": self.folds, "rows": self.evaluated_rows, "reason": self.reason,
                **({"groupedBy": self.grouped_by} if self.grouped_by else {}),
                "views": [{"name": v.name, "directory": v.directory, "train": len(v.train), "test": len(v.test),
                           "unlabelled": len(v.unlabelled)} for v in self.views]}


def stratified_folds(records: Sequence[Record], folds: int, seed: int, stratum: Callable[[Record], str] | None = None) -> list[int]:
    """Fold index per record (stratified by label, or by ``stratum``; shuffled by ``seed``)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    labels = [stratum(r) if stratum else r.label or "" for r in records]
    assignment = [0] * len(records)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, test_index) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        for i in test_index:
            assignment[int(i)] = fold
    return assignment


def plan_evaluation(
    train: Sequence[Record], test: Sequence[Record], unlabelled: Sequence[Record], *, given_test: bool,
    min_holdout_rows: int, folds: int, seed: int, stratum: Callable[[Record], str] | None = None,
) -> EvaluationPlan:
    """Holdout on a given test source or a large enough test split; otherwise k-fold over every labelled row.

    Cross-validation needs two labelled rows per class at least; with fewer it falls back to the holdout
    and says so (the interval will be wide, and the Model agent asks for more data when it is too wide).
    ``stratum`` replaces the label as what folds keep in proportion (a regression target's range).
    """
    train, test, unlabelled = list(train), list(test), list(unlabelled)
    if given_test:
        return EvaluationPlan("holdout", None, [View(FINAL, train, test, unlabelled)],
                              f"the {len(test)} rows of the given test source are the locked test split")
    if len(test) >= min_holdout_rows:
        return EvaluationPlan("holdout", None, [View(FINAL, train, test, unlabelled)],
                              f"the locked test split has {len(test)} rows (at least {min_holdout_rows})")
    pool = train + test
    smallest = min(Counter(stratum(r) if stratum else r.label for r in pool).values())
    k = min(folds, smallest)
    if k < 2:
        return EvaluationPlan("holdout", None, [View(FINAL, train, test, unlabelled)],
                              f"a class has {smallest} labelled row(s): too few to cross-validate, so the "
                              f"{len(test)}-row test split is used")
    assignment = stratified_folds(pool, k, seed, stratum)
    views = [View(f"fold-{i}", [r for r, f in zip(pool, assignment) if f != i],
                  [r for r, f in zip(pool, assignment) if f == i], list(unlabelled)) for i in range(k)]
    views.append(View(FINAL, pool, [], unlabelled))
    return EvaluationPlan("cross-validation", k, views,
                          f"the test split would have {len(test)} rows (fewer than {min_holdout_rows}): "
                          f"{k}-fold cross-validation over all {len(pool)} labelled rows, each fold's "
                          "training rows prepared and learned from without its test rows")

"""What each column of a table is: a numeric or categorical feature, or a column left out and why.

Left out, with the reason in the data report: empty and constant columns, identifiers (every value
distinct: a row number, a customer id), free text (too many distinct strings to learn categories from),
and columns that leak the target (one column alone predicts the label almost perfectly: it was most
likely computed from the label, or recorded after it). Feature names are made safe to serve as tensor
names (Triton and KServe inputs); the report keeps the original column name beside each.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

#: A column counts as numeric when at least this share of its non-missing cells are numbers.
NUMERIC_SHARE = 0.95
#: Categorical columns with more distinct values than this share of their rows (and than MAX_CATEGORIES) are free text.
FREE_TEXT_SHARE = 0.5
MAX_CATEGORIES = 50
#: One column alone reaching this balanced accuracy (classification) or R² (regression) leaks the target.
LEAK_BALANCED_ACCURACY = 0.99
LEAK_R2 = 0.98
#: Leakage checks look at this many labelled rows at most (a seeded sample beyond it).
LEAK_SAMPLE_ROWS = 20_000
#: Output names of served tabular models: a feature may not take them.
RESERVED_NAMES = frozenset({"label", "probabilities", "prediction"})

ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid|key|idx|index)$|^(id|uuid|guid|idx|index)([_\s.-]|$)|^unnamed: ?0$", re.IGNORECASE)


@dataclass
class Column:
    """One column of the table: a feature (numeric or categorical) or an excluded column with its reason."""

    name: str  # the served (tensor-safe) name
    column: str  # the name in the source
    kind: str  # numeric | categorical
    missing_rate: float
    distinct: int
    stats: dict[str, Any] = field(default_factory=dict)
    unparsed: int = 0  # cells of a numeric column that were not numbers (read as missing)
    excluded: str | None = None  # identifier | free-text | constant | empty | leakage
    reason: str | None = None
    target_score: float | None = None  # this column alone: balanced accuracy or R², cross-validated

    def to_json(self) -> dict[str, Any]:
        """camelCase for the data report (None fields left out)."""
        out = {"name": self.name, "column": self.column, "kind": self.kind, "missingRate": round(self.missing_rate, 4),
               "distinct": self.distinct, **({"stats": self.stats} if self.stats else {}),
               **({"unparsed": self.unparsed} if self.unparsed else {}),
               **({"excluded": self.excluded, "reason": self.reason} if self.excluded else {}),
               **({"targetScore": round(self.target_score, 4)} if self.target_score is not None else {})}
        return out

    @property
    def used(self) -> bool:
        """Whether the model learns from this column."""
        return self.excluded is None


def as_number(value: Any) -> float | None:
    """A finite number from a number or its text, else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(float(value)) else None
    try:
        parsed = float(str(value))
    except ValueError:
        return None
    return parsed if math.isfinite(parsed) else None


def safe_names(columns: Sequence[str]) -> list[str]:
    """Tensor-safe, unique names: letters, digits, ``_``, ``.``, ``-``; not starting with a digit; not an output name."""
    out: list[str] = []
    taken: set[str] = set()
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", column).strip("_")[:60] or "column"
        if not re.match(r"[A-Za-z_]", name):
            name = f"f_{name}"
        if name.lower() in RESERVED_NAMES:
            name = f"{name}_feature"
        base, n = name, 2
        while name.lower() in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name.lower())
        out.append(name)
    return out


def describe_column(name: str, column: str, values: Sequence[Any]) -> tuple[Column, list[Any]]:
    """Infer the column's kind and statistics; returns it with its values typed (floats or strings, None missing)."""
    present = [v for v in values if v is not None]
    numbers = [as_number(v) for v in present]
    parsed = sum(n is not None for n in numbers)
    numeric = bool(present) and parsed >= NUMERIC_SHARE * len(present)
    if numeric:
        typed = [None if v is None else as_number(v) for v in values]
        finite = np.asarray([v for v in typed if v is not None], dtype=float)
        stats = {"min": float(finite.min()), "max": float(finite.max()), "mean": round(float(finite.mean()), 6)} if finite.size else {}
        col = Column(name, column, "numeric", 1 - finite.size / max(1, len(values)), len(set(finite.tolist())), stats,
                     unparsed=len(present) - parsed)
        return col, typed
    typed = [None if v is None else str(v) for v in values]
    counts = Counter(v for v in typed if v is not None)
    col = Column(name, column, "categorical", 1 - len(present) / max(1, len(values)), len(counts),
                 {"top": [{"value": v, "rows": n} for v, n in counts.most_common(5)]})
    return col, typed


def _consecutive_integers(values: Sequence[float]) -> bool:
    array = np.sort(np.asarray(values, dtype=float))
    return bool(np.all(array == np.round(array))) and array.size > 1 and array[-1] - array[0] + 1 == array.size


def exclusion(col: Column, typed: Sequence[Any]) -> tuple[str, str] | None:
    """Why a column cannot be a feature whatever the label: (kind, reason), or None."""
    present = [v for v in typed if v is not None]
    rows = len(typed)
    if not present:
        return "empty", f"column {col.column!r} has no values"
    if col.distinct == 1:
        return "constant", f"column {col.column!r} holds one value ({present[0]!r}) in every row that has one"
    named_id = bool(ID_NAME.search(col.column))
    all_distinct = col.distinct == len(present) and len(present) >= 20
    if col.kind == "numeric":
        integral = all(float(v) == round(float(v)) for v in present)
        if all_distinct and integral and len(present) == rows and (named_id or _consecutive_integers(present)):
            return "identifier", (f"column {col.column!r} is an identifier ({col.distinct} distinct whole numbers in {rows} rows"
                                  f"{', consecutive' if _consecutive_integers(present) else ''}): it names rows, it does not describe them")
        return None
    if all_distinct or (named_id and col.distinct >= 0.95 * len(present)):
        return "identifier", (f"column {col.column!r} is an identifier ({col.distinct} distinct values in {len(present)} rows): "
                              "every row has its own value, so nothing can be learned from it")
    if col.distinct > MAX_CATEGORIES and col.distinct > FREE_TEXT_SHARE * len(present):
        return "free-text", (f"column {col.column!r} has {col.distinct} distinct values in {len(present)} rows: free text or "
                             "codes too varied to learn categories from")
    return None


def _single_feature_matrix(col: Column, typed: Sequence[Any]) -> np.ndarray:
    if col.kind == "numeric":
        array = np.asarray([np.nan if v is None else float(v) for v in typed], dtype=float)
        fill = (np.nanmin(array) - 1.0) if np.isfinite(array).any() else 0.0
        return np.where(np.isnan(array), fill, array).reshape(-1, 1)
    codes = {v: i for i, v in enumerate(sorted({v for v in typed if v is not None}))}
    return np.asarray([-1 if v is None else codes[v] for v in typed], dtype=float).reshape(-1, 1)


def target_score(col: Column, typed: Sequence[Any], labels: Sequence[str], regression: bool, seed: int) -> float | None:
    """How well this column alone predicts the label, cross-validated: balanced accuracy of a small tree
    (classification) or the larger of a small tree's R² and the squared correlation (regression).
    Categories enter as codes, so a tree can isolate each one."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    x = _single_feature_matrix(col, typed)
    if regression:
        y = np.asarray([float(v) for v in labels])
        if len(y) < 10 or np.std(y) == 0:
            return None
        tree = DecisionTreeRegressor(max_leaf_nodes=64, min_samples_leaf=2, random_state=seed)
        r2 = float(np.mean(cross_val_score(tree, x, y, cv=KFold(5, shuffle=True, random_state=seed), scoring="r2")))
        corr = float(np.corrcoef(x[:, 0], y)[0, 1]) if np.std(x[:, 0]) > 0 else 0.0
        return max(r2, corr * corr)
    classes = Counter(labels)
    folds = min(5, min(classes.values()))
    if len(classes) < 2 or folds < 2:
        return None
    leaves = max(4, 2 * len(classes)) if col.kind == "numeric" else max(4, min(col.distinct + 1, 256))
    tree = DecisionTreeClassifier(max_leaf_nodes=leaves, random_state=seed)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(tree, x, list(labels), cv=splitter, scoring="balanced_accuracy")))


def flag_leakage(columns: Sequence[Column], typed: dict[str, list[Any]], labels: Sequence[str | None],
                 regression: bool, seed: int) -> None:
    """Score every usable column alone against the labelled rows; exclude those that leak the target."""
    rows = [i for i, label in enumerate(labels) if label is not None]
    if len(rows) > LEAK_SAMPLE_ROWS:
        rows = sorted(np.random.default_rng(seed).choice(rows, LEAK_SAMPLE_ROWS, replace=False).tolist())
    y = [str(labels[i]) for i in rows]
    for col in columns:
        if not col.used:
            continue
        score = target_score(col, [typed[col.name][i] for i in rows], y, regression, seed)
        col.target_score = score
        limit = LEAK_R2 if regression else LEAK_BALANCED_ACCURACY
        if score is not None and score >= limit:
            measure = "R²" if regression else "balanced accuracy"
            col.excluded = "leakage"
            col.reason = (f"column {col.column!r} alone predicts the label with {measure} {score:.3f} (cross-validated, "
                          f"limit {limit}): it was most likely derived from the target or recorded after it, and a model "
                          "using it would fail on new rows")


def describe_table(columns: dict[str, list[Any]], label_column: str | None) -> tuple[list[Column], dict[str, list[Any]]]:
    """Every column but the label, described and typed; identifiers, free text, empty and constant columns excluded."""
    originals = [c for c in columns if c != label_column]
    described: list[Column] = []
    typed: dict[str, list[Any]] = {}
    for name, column in zip(safe_names(originals), originals):
        col, values = describe_column(name, column, columns[column])
        reason = exclusion(col, values)
        if reason:
            col.excluded, col.reason = reason
        described.append(col)
        typed[name] = values
    return described, typed


def schema_json(columns: Sequence[Column], label_column: str, task: str) -> dict[str, Any]:
    """``columns.json``: the features the model takes, in order, and the columns left out."""
    return {
        "task": task, "label": label_column,
        "features": [{"name": c.name, "column": c.column, "kind": c.kind} for c in columns if c.used],
        "excluded": [{"column": c.column, "excluded": c.excluded, "reason": c.reason} for c in columns if not c.used],
    }

"""Table rows (records with ``features``) as the frames models learn from and serve on.

One rule for training, parity checks and serving: a numeric feature is float32 with NaN for a missing
value (what an FP32 input carries); a categorical feature is a string with ``""`` for a missing value
(what a BYTES input carries). The model's own preprocessing (imputation, encoding) is inside its
pipeline, so its ONNX graph carries it too.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .records import Record

#: How a missing categorical value travels (a BYTES input cannot be null).
MISSING_CATEGORY = ""


def infer_kinds(records: Sequence[Record]) -> dict[str, str]:
    """Feature name → ``numeric`` (every value a number or missing) or ``categorical``, in first-seen order."""
    kinds: dict[str, str] = {}
    for record in records:
        for name, value in (record.features or {}).items():
            if value is None:
                kinds.setdefault(name, "numeric")
            elif isinstance(value, str):
                kinds[name] = "categorical"
            else:
                kinds.setdefault(name, "numeric")
    return kinds


def feature_frame(records: Sequence[Record], features: Sequence[tuple[str, str]]) -> Any:
    """A pandas DataFrame with one column per ``(name, kind)``, typed as serving sends them."""
    import pandas as pd

    data: dict[str, Any] = {}
    for name, kind in features:
        values = [(r.features or {}).get(name) for r in records]
        if kind == "numeric":
            data[name] = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float32)
        else:
            data[name] = np.asarray([MISSING_CATEGORY if v is None else str(v) for v in values], dtype=object)
    return pd.DataFrame(data, index=range(len(records)))


def encoded_matrix(records: Sequence[Record]) -> np.ndarray:
    """Numbers imputed (median) and scaled, categories one-hot: a dense matrix for quick models in the data job."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    kinds = infer_kinds(records)
    numeric = [n for n, k in kinds.items() if k == "numeric"]
    categorical = [n for n, k in kinds.items() if k == "categorical"]
    parts = []
    if numeric:
        parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()), numeric))
    if categorical:
        parts.append(("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=2), categorical))
    frame = feature_frame(records, list(kinds.items()))
    if not parts:
        return np.zeros((len(records), 1))
    return np.asarray(ColumnTransformer(parts).fit_transform(frame), dtype=float)

"""Tabular model families and their trainer: LightGBM gradient-boosted trees and a linear baseline.

Each model is one scikit-learn pipeline whose first step prepares the columns the data job chose
(``columns.json``), so the ONNX export carries the preprocessing and serving takes the raw feature values:
- ``lightgbm``: numbers as they are (LightGBM learns where missing values go), categories as codes split
  natively by LightGBM (sets of categories per split; an unseen or missing category is its own code).
  The number of boosting rounds is chosen by early stopping on a validation part of the fit's training
  rows, then the model is refitted on all of them with that many rounds.
- ``sklearn-linear``: numbers imputed with the median and standardised, categories one-hot (unseen ones
  all zero); logistic regression for classes, ridge regression for a number.
"""
from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..common.records import Record
from ..common.runner import JobError
from ..common.schemas import validate
from ..common.table_features import feature_frame
from ..data.evaluation import View
from .dataset import encode_labels
from .measure import count_parameters, file_bytes
from .model_io import MANIFEST_FILE, MODEL_FILE
from .trainers import FitReport, PseudoLabels, soft_label_rows

LIGHTGBM = "lightgbm"
LINEAR = "sklearn-linear"
TABULAR_FAMILIES = (LIGHTGBM, LINEAR)
COLUMNS_FILE = "columns.json"
#: Below this many training rows a fit keeps every row for training and uses the planned rounds as they are.
MIN_ROWS_FOR_EARLY_STOPPING = 50

Hyper = dict[str, Any]


@contextmanager
def quiet_feature_names() -> Iterator[None]:
    """LightGBM 4.6 records generated feature names when fitted on arrays, so scikit-learn warns on every
    later call with arrays (the pipeline's columns step always hands it arrays): the warning says nothing."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        yield


@dataclass(frozen=True)
class TableSchema:
    """The features a model takes, in order, as the data job chose them (``columns.json``)."""

    task: str
    label: str
    features: list[tuple[str, str]]
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def regression(self) -> bool:
        """Whether the label is a number to predict."""
        return self.task == "tabular-regression"

    @property
    def numeric(self) -> list[str]:
        """Numeric feature names, in order."""
        return [n for n, k in self.features if k == "numeric"]

    @property
    def categorical(self) -> list[str]:
        """Categorical feature names, in order."""
        return [n for n, k in self.features if k == "categorical"]

    def manifest_input(self) -> dict[str, Any]:
        """The ``input`` block of model/manifest.json."""
        return {"kind": "tabular", "target": "regression" if self.regression else "classification",
                "features": [{"name": n, "kind": k, "column": self.columns.get(n, n)} for n, k in self.features]}


def load_schema(data_dir: str | Path) -> TableSchema:
    """Read ``columns.json`` from the data job's output."""
    path = Path(data_dir) / COLUMNS_FILE
    if not path.is_file():
        raise JobError(f"{path} not found: tabular training needs the data job's output for a table")
    raw = json.loads(path.read_text())
    features = [(f["name"], f["kind"]) for f in raw["features"]]
    return TableSchema(raw["task"], raw["label"], features, {f["name"]: f["column"] for f in raw["features"]})


def schema_from_manifest(manifest: dict[str, Any]) -> TableSchema:
    """The schema a saved model was trained with."""
    spec = manifest["input"]
    task = "tabular-regression" if spec["target"] == "regression" else "tabular-classification"
    return TableSchema(task, "", [(f["name"], f["kind"]) for f in spec["features"]], {f["name"]: f["column"] for f in spec["features"]})


def preprocessing(schema: TableSchema, family: str) -> Any:
    """The columns step of a family's pipeline (numeric columns first, then categorical ones)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    parts: list[tuple[str, Any, list[str]]] = []
    if family == LIGHTGBM:
        if schema.numeric:
            parts.append(("numeric", "passthrough", schema.numeric))
        if schema.categorical:
            parts.append(("categorical", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=np.float32),
                          schema.categorical))
    else:
        if schema.numeric:
            parts.append(("numeric", make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()),
                          schema.numeric))
        if schema.categorical:
            parts.append(("categorical", OneHotEncoder(handle_unknown="ignore", dtype=np.float32), schema.categorical))
    return ColumnTransformer(parts, sparse_threshold=0)


def categorical_positions(schema: TableSchema) -> list[int]:
    """Where the categorical codes sit in the tree model's input (after the numeric columns)."""
    return list(range(len(schema.numeric), len(schema.features)))


def lightgbm_estimator(regression: bool, h: Hyper, seed: int, rounds: int) -> Any:
    """A LightGBM model with the planned settings; deterministic, quiet."""
    import lightgbm as lgb

    settings = dict(
        n_estimators=rounds, learning_rate=float(h.get("learningRate", 0.05)), num_leaves=int(h.get("numLeaves", 31)),
        min_child_samples=int(h.get("minChildSamples", 20)), reg_lambda=float(h.get("l2", 1.0)),
        colsample_bytree=float(h.get("featureFraction", 1.0)), min_data_per_group=int(h.get("minDataPerGroup", 20)),
        cat_smooth=float(h.get("catSmooth", 10.0)), random_state=seed, deterministic=True, force_row_wise=True,
        n_jobs=int(h.get("threads", 1)), verbose=-1,
    )
    if regression:
        return lgb.LGBMRegressor(**settings)
    return lgb.LGBMClassifier(class_weight=h.get("classWeight") or None, **settings)


def linear_estimator(regression: bool, h: Hyper, seed: int) -> Any:
    """Ridge regression, or logistic regression."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if regression:
        return Ridge(alpha=float(h.get("alpha", 1.0)))
    return LogisticRegression(C=float(h.get("C", 1.0)), max_iter=int(h.get("maxIter", 5000)),
                              class_weight=h.get("classWeight") or None, random_state=seed)


@dataclass
class Fitted:
    """A fitted pipeline and how many boosting rounds it kept (trees)."""

    pipeline: Any
    rounds: int | None = None


class TabularTrainer:
    """Fits one family on a view's table rows; class probabilities or numbers out."""

    def __init__(self, family: str, schema: TableSchema, hyperparameters: Hyper, seed: int, labels: Sequence[str],
                 task: str, model_id: str) -> None:
        if family not in TABULAR_FAMILIES:
            raise JobError(f"family {family} does not train tables; tabular families: {list(TABULAR_FAMILIES)}")
        self.family, self.schema, self.h, self.seed = family, schema, dict(hyperparameters), seed
        self.labels, self.task, self.model_id = list(labels), task, model_id
        self.report = FitReport()

    @property
    def regression(self) -> bool:
        """Whether the label is a number."""
        return self.schema.regression

    def frame(self, records: Sequence[Record]) -> Any:
        """The records as the pipeline (and serving) sees them."""
        return feature_frame(records, self.schema.features)

    def targets(self, records: Sequence[Record]) -> np.ndarray:
        """Numbers (regression) or class indices."""
        if self.regression:
            return np.asarray([float(r.label or "nan") for r in records], dtype=np.float64)
        return encode_labels(records, self.labels)

    def fit(self, view: View, pseudo: PseudoLabels | None) -> Fitted:
        """Fit on the view's training rows (and a teacher's soft labels as weighted rows, classification)."""
        records, weights = list(view.train), np.ones(len(view.train))
        if pseudo is not None and len(pseudo) and not self.regression:
            extra, extra_weights = soft_label_rows(pseudo, self.labels)
            records, weights = records + extra, np.concatenate([weights, extra_weights])
        return self.fit_records(records, weights)

    def fit_records(self, records: Sequence[Record], weights: np.ndarray | None = None) -> Fitted:
        """Fit the family on ``records``."""
        from sklearn.pipeline import Pipeline

        frame, y = self.frame(records), self.targets(records)
        w = None if weights is None or np.allclose(weights, 1.0) else weights
        if self.family == LINEAR:
            pipeline = Pipeline([("columns", preprocessing(self.schema, LINEAR)), ("model", linear_estimator(self.regression, self.h, self.seed))])
            return Fitted(pipeline.fit(frame, y, **({"model__sample_weight": w} if w is not None else {})))
        rounds = self.early_stopped_rounds(frame, y, w)
        pipeline = Pipeline([("columns", preprocessing(self.schema, LIGHTGBM)),
                             ("model", lightgbm_estimator(self.regression, self.h, self.seed, rounds))])
        pipeline.fit(frame, y, model__categorical_feature=categorical_positions(self.schema) or "auto",
                     **({"model__sample_weight": w} if w is not None else {}))
        self.report.details.setdefault("boostingRounds", []).append(rounds)
        return Fitted(pipeline, rounds)

    def early_stopped_rounds(self, frame: Any, y: np.ndarray, weights: np.ndarray | None) -> int:
        """Rounds at which the validation loss stopped improving for ``earlyStoppingRounds`` rounds (at most
        ``maxRounds``); the planned maximum when there are too few rows to hold some out."""
        import lightgbm as lgb
        from sklearn.model_selection import train_test_split

        most = int(self.h.get("maxRounds", 500))
        patience = int(self.h.get("earlyStoppingRounds", 50))
        if len(frame) < MIN_ROWS_FOR_EARLY_STOPPING or patience <= 0:
            return most
        index = np.arange(len(frame))
        stratify = None if self.regression or np.bincount(y).min() < 2 else y
        fit_idx, val_idx = train_test_split(index, test_size=float(self.h.get("validationFraction", 0.15)),
                                            random_state=self.seed, stratify=stratify)
        columns = preprocessing(self.schema, LIGHTGBM).fit(frame.iloc[fit_idx])
        model = lightgbm_estimator(self.regression, self.h, self.seed, most)
        model.fit(columns.transform(frame.iloc[fit_idx]), y[fit_idx],
                  sample_weight=None if weights is None else weights[fit_idx],
                  eval_set=[(columns.transform(frame.iloc[val_idx]), y[val_idx])],
                  categorical_feature=categorical_positions(self.schema) or "auto",
                  callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)])
        return max(1, int(model.best_iteration_ or most))

    def predict(self, fitted: Fitted, records: Sequence[Record]) -> np.ndarray:
        """``[N]`` numbers (regression) or ``[N, len(labels)]`` class probabilities."""
        if not records:
            return np.zeros((0,)) if self.regression else np.zeros((0, len(self.labels)))
        frame = self.frame(records)
        with quiet_feature_names():
            if self.regression:
                return np.asarray(fitted.pipeline.predict(frame), dtype=np.float64)
            raw = fitted.pipeline.predict_proba(frame)
        full = np.zeros((len(records), len(self.labels)))
        full[:, np.asarray(fitted.pipeline.classes_).astype(int)] = raw
        return full

    def feature_importance(self, fitted: Fitted) -> list[dict[str, Any]]:
        """Share of the total split gain per feature (trees only), most important first."""
        if self.family != LIGHTGBM:
            return []
        gains = fitted.pipeline.named_steps["model"].booster_.feature_importance(importance_type="gain")
        names = self.schema.numeric + self.schema.categorical
        total = float(np.sum(gains)) or 1.0
        ranked = sorted(zip(names, gains), key=lambda pair: -pair[1])[:50]
        return [{"feature": name, "importance": round(float(gain) / total, 6)} for name, gain in ranked]

    def save(self, fitted: Fitted, directory: Path, versions: dict[str, str]) -> dict[str, Any]:
        """model.joblib (the whole pipeline) and a schema-valid manifest.json."""
        import joblib

        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(fitted.pipeline, directory / MODEL_FILE, compress=3)
        manifest = {"framework": "sklearn", "task": self.task, "modality": "tabular", "modelId": self.model_id,
                    "family": self.family, "labels": [] if self.regression else self.labels,
                    "input": self.schema.manifest_input(), "files": {"model": MODEL_FILE}, "packageVersions": versions}
        validate(manifest, "model-manifest")
        (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest

    def measure(self, fitted: Fitted, directory: Path) -> tuple[int, int]:
        """Learned numbers (tree thresholds and leaf values, or weights; the column statistics) and file bytes."""
        columns = count_parameters(fitted.pipeline.named_steps["columns"])
        model = fitted.pipeline.named_steps["model"]
        if self.family == LIGHTGBM:
            trees = model.booster_.dump_model()["tree_info"]
            learned = sum(2 * int(t["num_leaves"]) - 1 for t in trees)
        else:
            learned = count_parameters(model)
        return columns + learned, file_bytes(directory / MODEL_FILE)

"""Tables through training and conversion: LightGBM with categories, missing values and early stopping, the
linear baseline beside it, regression metrics with intervals and ``<=`` targets, and ONNX with one named
input per feature whose answers equal the trained pipeline's."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import JobRun, churn_rows, run_job, table_spec, write_table
from trainer_agent_jobs.data.tabular_job import run_tabular as prepare_table

FAST_BENCHMARK = {"secondsPerPoint": 0.1, "batchSizes": [1, 2], "concurrencies": [1, 2], "maxRequestsPerPoint": 200}
LIGHTGBM = {"id": "tabular-lightgbm", "family": "lightgbm",
            "hyperparameters": {"maxRounds": 400, "learningRate": 0.1, "numLeaves": 15, "minChildSamples": 10,
                                "earlyStoppingRounds": 20, "minDataPerGroup": 10}}


def house_rows(n: int = 300, seed: int = 2) -> list[dict[str, object]]:
    """Generated house prices: size, a district (category, some missing) and a noisy price."""
    rng = np.random.default_rng(seed)
    premium = {"centre": 900.0, "harbour": 400.0, "suburb": 0.0}
    rows = []
    for _ in range(n):
        size = float(rng.uniform(30, 200))
        district = str(rng.choice(list(premium)))
        rows.append({"size": size if rng.random() > 0.05 else None, "district": district if rng.random() > 0.05 else None,
                     "price": round(size * (2500 + premium[district]) + float(rng.normal(0, 20000)), 2)})
    return rows


@pytest.fixture(scope="module")
def churn_prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("churn-table")
    path = write_table(churn_rows(600, seed=5), root / "customers.csv")
    prepare_table(table_spec(f"file://{path}", "csv"), root / "data")
    return root / "data"


@pytest.fixture(scope="module")
def churn_trees(churn_prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    spec = {"task": "tabular-classification", "modality": "tabular", "dataDir": str(churn_prepared), "model": LIGHTGBM,
            "objectives": [{"metric": "auc", "op": ">=", "value": 0.8}], "seed": 0}
    run = run_job("train", spec, tmp_path_factory.mktemp("churn-train") / "train")
    assert run.code == 0, run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def churn_converted(churn_trees: JobRun, churn_prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    spec = {"modelDir": str(churn_trees.out), "modelName": "churn", "dataDir": str(churn_prepared), "benchmark": FAST_BENCHMARK}
    run = run_job("convert", spec, tmp_path_factory.mktemp("churn-convert") / "convert")
    assert run.code == 0, run.stderr[-3000:]
    return run


def test_lightgbm_learns_categories_and_missing_values_with_early_stopping(churn_trees: JobRun) -> None:
    result = churn_trees.result
    assert result["evaluation"]["method"] == "cross-validation"
    assert result["metrics"]["auc"] >= 0.8 and result["objectivesMet"] is True
    for metric in ("accuracy", "f1", "auc"):
        assert result["intervals"][metric]["low"] <= result["metrics"][metric] <= result["intervals"][metric]["high"]
    rounds = result["training"]["boostingRounds"]
    assert len(rounds) == 6, "five folds and the final fit"
    assert min(rounds) < 400, "early stopping ended some fit before the planned maximum"
    baseline = result["training"]["baseline"]
    assert baseline["model"] == "sklearn-linear" and set(baseline["metrics"]) >= {"accuracy", "auc"}
    important = {f["feature"] for f in result["training"]["featureImportance"][:3]}
    assert "plan" in important, "the categorical column that drives churn is used"
    manifest = json.loads((churn_trees.out / "model" / "manifest.json").read_text())
    assert manifest["input"] == {"kind": "tabular", "target": "classification", "features": [
        {"name": "tenure_months", "kind": "numeric", "column": "tenure_months"},
        {"name": "monthly_charges", "kind": "numeric", "column": "monthly charges"},
        {"name": "plan", "kind": "categorical", "column": "plan"},
        {"name": "region", "kind": "categorical", "column": "region"}]}
    assert (churn_trees.out / "feature-importance.png").is_file() and (churn_trees.out / "confusion-matrix.png").is_file()


def test_the_onnx_graph_takes_one_named_input_per_feature_and_agrees_with_the_pipeline(churn_converted: JobRun, churn_trees: JobRun) -> None:
    result = churn_converted.result
    assert result["parity"]["passed"] and result["parity"]["labelAgreement"] == 1.0
    assert result["parity"]["maxAbsProbDiff"] < 1e-5
    assert [(f["name"], f["datatype"]) for f in result["tabular"]["features"]] == [
        ("tenure_months", "FP32"), ("monthly_charges", "FP32"), ("plan", "BYTES"), ("region", "BYTES")]
    config = (Path(result["modelDir"]) / "config.pbtxt").read_text()
    assert '{ name: "plan" data_type: TYPE_STRING dims: [ 1 ] }' in config
    assert '{ name: "tenure_months" data_type: TYPE_FP32 dims: [ 1 ] }' in config
    assert result["tabular"]["example"]["label"] in ("yes", "no")

    # A row the data never had: a missing number and a category seen in no training row.
    import joblib
    import onnxruntime as ort
    import pandas as pd

    session = ort.InferenceSession(result["onnxPath"], providers=["CPUExecutionProvider"])
    assert [(i.name, i.type, i.shape[1]) for i in session.get_inputs()] == [
        ("tenure_months", "tensor(float)", 1), ("monthly_charges", "tensor(float)", 1), ("plan", "tensor(string)", 1), ("region", "tensor(string)", 1)]
    frame = pd.DataFrame({"tenure_months": np.asarray([np.nan, 12.0], dtype=np.float32), "monthly_charges": np.asarray([95.0, 40.0], dtype=np.float32),
                          "plan": np.asarray(["platinum", ""], dtype=object), "region": np.asarray(["north", "south"], dtype=object)})
    numeric = {"tenure_months", "monthly_charges"}
    feed = {c: np.asarray(frame[c], dtype=np.float32 if c in numeric else object).reshape(-1, 1) for c in frame}
    label, probabilities = session.run(["label", "probabilities"], feed)
    expected = joblib.load(churn_trees.out / "model" / "model.joblib").predict_proba(frame)
    assert np.abs(probabilities - expected).max() < 1e-5
    assert list(label) == [["no", "yes"][int(i)] for i in expected.argmax(axis=1)]


def test_a_regression_reports_errors_with_intervals_and_judges_a_lower_is_better_target(tmp_path: Path) -> None:
    path = write_table(house_rows(), tmp_path / "houses.parquet")
    prepare_table(table_spec(f"file://{path}", "parquet", task="tabular-regression", label="price"), tmp_path / "data")
    spec = {"task": "tabular-regression", "modality": "tabular", "dataDir": str(tmp_path / "data"), "seed": 0,
            "model": {"id": "tabular-linear", "family": "sklearn-linear", "hyperparameters": {"alpha": 1.0}},
            "objectives": [{"metric": "rmse", "op": "<=", "value": 60000}, {"metric": "mape", "op": "<=", "value": 0.01}]}
    trained = run_job("train", spec, tmp_path / "train")
    assert trained.code == 0, trained.stderr[-3000:]
    result = trained.result
    assert set(result["metrics"]) == {"mae", "rmse", "mape", "r2"}
    assert set(result["intervals"]) == {"mae", "rmse", "mape", "r2"}
    assert result["metrics"]["r2"] > 0.8
    met = {o["metric"]: o["met"] for o in result["objectives"]}
    assert met == {"rmse": True, "mape": False}, "rmse under its ceiling is met, a 1% MAPE is not"
    assert result["objectivesMet"] is False
    assert result["perClass"] == [] and result["confusionMatrix"] == {"labels": [], "matrix": []}
    assert (tmp_path / "train" / "predicted-vs-true.png").is_file() and (tmp_path / "train" / "residuals.png").is_file()

    converted = run_job("convert", {"modelDir": str(tmp_path / "train"), "modelName": "houses", "dataDir": str(tmp_path / "data"),
                                    "benchmark": FAST_BENCHMARK}, tmp_path / "convert")
    assert converted.code == 0, converted.stderr[-3000:]
    parity = converted.result["parity"]
    assert parity["passed"] and parity["prediction"]["maxRelDiff"] <= 1e-4
    assert converted.result["labels"] == [] and converted.result["tabular"]["task"] == "regression"
    assert "prediction" in converted.result["tabular"]["example"]
    config = (Path(converted.result["modelDir"]) / "config.pbtxt").read_text()
    assert '{ name: "prediction" data_type: TYPE_FP32 dims: [ 1 ] }' in config
    assert '{ name: "district" data_type: TYPE_STRING dims: [ 1 ] }' in config

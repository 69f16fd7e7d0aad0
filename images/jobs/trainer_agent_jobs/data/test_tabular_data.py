"""The data job on tables: column types, missing values, identifiers and target leakage flagged with
reasons and plots, CSV and Parquet alike, and bad tables refused with a clear reason."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import JobRun, churn_rows, run_job, table_spec, write_table
from trainer_agent_jobs.common.runner import JobError
from trainer_agent_jobs.data.tabular_job import run_tabular


@pytest.fixture(scope="module")
def churn_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_table(churn_rows(), tmp_path_factory.mktemp("churn") / "customers.csv")


@pytest.fixture(scope="module")
def churn_data(churn_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    run = run_job("data", table_spec(f"file://{churn_csv}", "csv"), tmp_path_factory.mktemp("churn-data") / "data")
    assert run.code == 0, run.stderr[-2000:]
    return run


def test_columns_are_typed_with_missing_rates(churn_data: JobRun) -> None:
    table = churn_data.result["profile"]["table"]
    columns = {c["column"]: c for c in table["columns"]}
    assert columns["tenure_months"]["kind"] == "numeric" and 0.05 < columns["tenure_months"]["missingRate"] < 0.15
    assert columns["plan"]["kind"] == "categorical" and 0.01 < columns["plan"]["missingRate"] < 0.1
    assert columns["region"]["kind"] == "categorical" and columns["region"]["distinct"] == 4
    assert columns["monthly charges"]["name"] == "monthly_charges", "column names become tensor-safe feature names"
    assert table["features"] == {"numeric": 2, "categorical": 2}
    assert table["rowsWithMissingValues"] > 0


def test_identifier_constant_and_leaking_columns_are_left_out_with_reasons(churn_data: JobRun) -> None:
    excluded = {e["column"]: e for e in churn_data.result["profile"]["table"]["excluded"]}
    assert set(excluded) == {"customer_id", "country", "refund_issued"}
    assert excluded["customer_id"]["excluded"] == "identifier"
    assert excluded["country"]["excluded"] == "constant"
    assert excluded["refund_issued"]["excluded"] == "leakage"
    assert "alone predicts the label" in excluded["refund_issued"]["reason"]
    assert any("refund_issued" in w for w in churn_data.result["warnings"]), "a leak is a warning the user sees"
    leak = next(c for c in churn_data.result["profile"]["table"]["columns"] if c["column"] == "refund_issued")
    assert leak["targetScore"] >= 0.99
    honest = [c["targetScore"] for c in churn_data.result["profile"]["table"]["columns"] if "excluded" not in c]
    assert max(honest) < 0.9, "a genuinely useful column is not mistaken for a leak"


def test_splits_carry_only_the_features_and_the_report_has_plots(churn_data: JobRun) -> None:
    first = json.loads((churn_data.out / "train.jsonl").read_text().splitlines()[0])
    assert set(first["features"]) == {"tenure_months", "monthly_charges", "plan", "region"}
    assert first["label"] in {"yes", "no"}
    schema = json.loads((churn_data.out / "columns.json").read_text())
    assert [(f["name"], f["kind"]) for f in schema["features"]] == [
        ("tenure_months", "numeric"), ("monthly_charges", "numeric"), ("plan", "categorical"), ("region", "categorical")]
    for plot in ("missing-values.png", "single-column-scores.png", "class-balance.png"):
        assert (churn_data.out / plot).is_file(), plot
    assert churn_data.result["files"]["plot:single-column-scores"] == "single-column-scores.png"


def test_label_errors_are_found_in_table_rows_without_echoing_them(tmp_path: Path) -> None:
    rows = churn_rows(400, seed=3)
    flipped = [i for i in range(400) if i % 40 == 0]
    for i in flipped:
        rows[i]["churn"] = "no" if rows[i]["churn"] == "yes" else "yes"
    path = write_table(rows, tmp_path / "table.csv")
    operations = [{"op": "clean"}, {"op": "dedupe", "near": False}, {"op": "label-errors", "action": "flag"}]
    result, _ = run_tabular(table_spec(f"file://{path}", "csv", operations=operations), tmp_path / "out")
    issues = result["profile"]["labelIssues"]
    assert issues["flagged"] >= 3
    assert all(e["excerpt"].startswith("source customers, row ") for e in issues["examples"])
    suspects = {json.loads(line)["row"] for line in (tmp_path / "out" / "label-issues.jsonl").read_text().splitlines()}
    assert len(suspects & set(flipped)) >= 3, "the flipped labels are among the suspects"


def test_parquet_prepares_the_same_data_as_csv(churn_data: JobRun, tmp_path: Path) -> None:
    parquet = write_table(churn_rows(), tmp_path / "customers.parquet")
    raw = table_spec(f"file://{parquet}", "parquet")
    result, _ = run_tabular(raw, tmp_path / "out")
    assert result["digest"] == churn_data.result["digest"]
    assert result["profile"]["table"]["excluded"] == churn_data.result["profile"]["table"]["excluded"]


@pytest.mark.parametrize(("name", "rows", "spec", "message"), [
    ("a label column that is not there", churn_rows(60), {"label": "cancelled"},
     r"no label column 'cancelled' \(has \[.*'churn'.*\]\); set labelColumn"),
    ("a regression on a yes/no label", churn_rows(60), {"task": "tabular-regression"},
     r"label column 'churn' is not numeric \(e\.g\. \['no', 'yes'\]\): tabular-regression predicts a number"),
    ("classes of a quantity", [{"x": float(i % 7), "amount": float(i) * 1.5} for i in range(200)], {"label": "amount"},
     r"'amount' holds 200 distinct numbers in 200 rows: that is a quantity to predict.*tabular-regression"),
])
def test_bad_tables_are_refused_with_a_reason(name: str, rows: list[dict[str, object]], spec: dict[str, str], message: str,
                                              tmp_path: Path) -> None:
    path = write_table(rows, tmp_path / "table.csv")
    raw = table_spec(f"file://{path}", "csv", task=spec.get("task", "tabular-classification"), label=spec.get("label", "churn"))
    with pytest.raises(JobError, match=message):
        run_tabular(raw, tmp_path / "out")


def test_rows_without_a_label_are_counted_and_left_out(tmp_path: Path) -> None:
    rows = churn_rows(200)
    for row in rows[:7]:
        row["churn"] = None
    path = write_table(rows, tmp_path / "table.csv")
    result, _ = run_tabular(table_spec(f"file://{path}", "csv"), tmp_path / "out")
    profile = result["profile"]
    assert profile["invalidRows"] == 7
    assert profile["rows"]["train"] + profile["rows"]["test"] == 193
    assert any("7 row(s) have no value in label column 'churn'" in w for w in result["warnings"])


def test_a_regression_target_copied_into_a_column_is_a_leak(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    rows = [{"size": float(s), "rooms": int(s // 30), "price_per_m2_times_size": None, "price": 0.0} for s in rng.uniform(30, 200, 300)]
    for row in rows:
        row["price"] = round(3000 * row["size"] + rng.normal(0, 40000), 2)
        row["price_per_m2_times_size"] = row["price"] * 1.0001  # the target, slightly disguised
    path = write_table(rows, tmp_path / "houses.csv")
    result, _ = run_tabular(table_spec(f"file://{path}", "csv", task="tabular-regression", label="price"), tmp_path / "out")
    table = result["profile"]["table"]
    assert [e["column"] for e in table["excluded"]] == ["price_per_m2_times_size"]
    assert table["target"] == "regression" and table["targetDistribution"]["max"] > table["targetDistribution"]["min"]
    assert result["profile"]["classes"] == []
    assert (tmp_path / "out" / "target-distribution.png").is_file()
    assert "labelIssues" not in result["profile"], "a number has no label errors to look for"

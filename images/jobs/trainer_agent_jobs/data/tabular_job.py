"""The data job for tables (tabular classification and regression): read CSV/Parquet/JSON-lines sources,
type and profile every column, leave out identifiers, free text, empty, constant and target-leaking
columns (each with its reason in the report), drop rows without a usable label, deduplicate, fix the
evaluation plan (stratified by class, or by the target's range for regression), run the training-side
operations per view, and write the splits with ``columns.json`` (the features the model takes, in order).
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..common import events
from ..common.records import Record
from ..common.runner import JobError
from ..common.versions import package_versions
from . import table_plots
from .digest import data_digest
from .evaluation import EvaluationPlan, plan_evaluation
from .job import Corrections, Pools, fix_evaluation, label_issue_summary, prepare_views, write_outputs
from .profile import class_table, distribution, minority_ratio
from .spec import DataSpec, Operation, parse
from .split import split_train_test
from .table_columns import Column, as_number, describe_table, flag_leakage, schema_json
from .table_read import Table, read_table

COLUMNS_FILE = "columns.json"
#: Regression splits and folds keep the target's quantile ranges in proportion.
TARGET_STRATA = 5
#: A classification label column of numbers with more distinct values than this (and than a fifth of the rows) is a regression target.
MAX_NUMERIC_CLASSES = 50
#: Operations that need classes (a regression target has none) or perturb rows in ways tables do not survive.
CLASS_OPERATIONS = ("label-errors", "auto-label")


@dataclass
class LoadedTable:
    """Every source's rows as records, the columns as described, and the label's kind."""

    pools: Pools
    columns: list[Column]
    label_column: str
    regression: bool


def _label(value: Any, regression: bool) -> str | None:
    if value is None:
        return None
    if regression:
        number = as_number(value)
        return None if number is None else repr(float(number))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def reference_columns(tables: list[Table]) -> tuple[str, list[str]]:
    """The label column name and the feature columns (those of the first labelled source), checked in every source."""
    first = next((t for t in tables if t.source.role != "unlabelled"), tables[0])
    label = first.source.label_column
    features = [c for c in first.columns if c != label]
    for table in tables:
        own = table.source.label_column if table.source.role != "unlabelled" else None
        missing = [c for c in features if c not in table.columns and c != own]
        if missing:
            raise JobError(f"source {table.source.name} lacks column(s) {missing[:10]} that source {first.source.name} has; "
                           "every source needs the same feature columns")
    return label, features


def check_labels(labels: list[str | None], raw: list[Any], regression: bool, label_column: str) -> None:
    """A regression target must be numbers; a classification label of many distinct numbers is a regression target."""
    present = [v for v in raw if v is not None]
    if regression:
        numbers = sum(1 for v in labels if v is not None)
        if present and numbers < 0.5 * len(present):
            examples = sorted({str(v) for v in present if as_number(v) is None})[:3]
            raise JobError(f"label column {label_column!r} is not numeric (e.g. {examples}): tabular-regression predicts a "
                           "number; ask for a classification of these labels, or set labelColumn to a numeric column")
        return
    numeric = [as_number(v) for v in present]
    distinct = len({v for v in labels if v is not None})
    if present and all(n is not None for n in numeric) and distinct > max(MAX_NUMERIC_CLASSES, 0.2 * len(present)):
        raise JobError(f"label column {label_column!r} holds {distinct} distinct numbers in {len(present)} rows: that is a "
                       "quantity to predict, not classes; ask for a prediction of the value (tabular-regression)")


def load_table_pools(spec: DataSpec) -> LoadedTable:
    """Read every source, describe the columns on all rows, score leakage on the labelled rows, build records."""
    regression = spec.task == "tabular-regression"
    tables = [read_table(source) for source in spec.sources]
    for table in tables:
        events.log(f"Loaded {table.rows} rows and {len(table.columns)} columns from source {table.source.name} "
                   f"({table.source.format}, {table.source.role})")
    label_column, features = reference_columns(tables)
    combined = {c: [v for t in tables for v in t.columns.get(c, [None] * t.rows)] for c in features}
    raw_labels = [v for t in tables for v in (t.columns.get(t.source.label_column, [None] * t.rows)
                                              if t.source.role != "unlabelled" else [None] * t.rows)]
    labels = [_label(v, regression) for v in raw_labels]
    check_labels(labels, raw_labels, regression, label_column)
    columns, typed = describe_table(combined, None)
    roles = [t.source.role for t in tables for _ in range(t.rows)]
    learnable = [label if role in ("train", "eval") else None for label, role in zip(labels, roles)]
    flag_leakage(columns, typed, learnable, regression, spec.seed)
    used = [c for c in columns if c.used]
    if not used:
        raise JobError("no column is left to learn from: " + "; ".join(c.reason or c.column for c in columns)[:1500])
    pools = Pools([], [], [])
    pools.stats["loaded"] = len(labels)
    offset = 0
    for table in tables:
        extra = sorted(set(table.columns) - set(features) - {table.source.label_column})
        if extra:
            pools.warnings.append(f"source {table.source.name}: column(s) {extra[:10]} are not in the first source and were ignored")
        for i in range(table.rows):
            row = offset + i
            record = Record(source=table.source.name, index=i, label=labels[row],
                            features={c.name: typed[c.name][row] for c in used})
            if table.source.role == "unlabelled":
                pools.unlabelled.append(record)
            elif record.label is None:
                pools.stats["invalidRows"] += 1
            elif table.source.role == "test":
                pools.given_test.append(record)
            else:
                pools.labelled.append(record)
        offset += table.rows
    if pools.stats["invalidRows"]:
        pools.warnings.append(f"{pools.stats['invalidRows']} row(s) have no {'numeric ' if regression else ''}value in label "
                              f"column {label_column!r} and were left out of training and testing")
    for col in columns:
        if not col.used:
            pools.warnings.append(col.reason or f"column {col.column!r} was left out")
        elif col.unparsed:
            pools.warnings.append(f"column {col.column!r}: {col.unparsed} cell(s) are not numbers and were read as missing")
    return LoadedTable(pools, columns, label_column, regression)


def clean_rows(pools: Pools, op: Operation) -> None:
    """Tables are typed when read (blank and NA-like cells are missing); ``lowercase`` folds categorical values."""
    if not op.params.get("lowercase"):
        return
    for name in ("labelled", "given_test", "unlabelled"):
        setattr(pools, name, [Record(source=r.source, index=r.index, label=r.label, origin=r.origin,
                                     features={k: v.lower() if isinstance(v, str) else v for k, v in (r.features or {}).items()})
                              for r in getattr(pools, name)])


def dedupe_rows(pools: Pools) -> None:
    """Exact duplicates (same features and label) are removed, keeping the first; a labelled row equal to a
    given test row is removed from the labelled rows (it would leak the test); same features with
    different labels are kept and counted."""
    seen: set[tuple[str, str | None]] = {(r.content, r.label) for r in pools.given_test}
    test_features = {r.content for r in pools.given_test}
    kept: list[Record] = []
    removed = 0
    for record in pools.labelled:
        key = (record.content, record.label)
        if key in seen or record.content in test_features:
            removed += 1
            continue
        seen.add(key)
        kept.append(record)
    conflicting = sum(n - 1 for n in Counter(r.content for r in kept).values() if n > 1)
    if conflicting:
        pools.warnings.append(f"{conflicting} row(s) repeat another row's features with a different label")
    pools.stats["duplicates"]["exact"] += removed
    pools.stats["duplicates"]["removed"] += removed
    pools.labelled = kept


def target_stratum(records: list[Record]) -> Callable[[Record], str]:
    """The quantile range of a regression target (TARGET_STRATA ranges over ``records``)."""
    values = np.asarray([float(r.label or 0) for r in records])
    edges = np.quantile(values, np.linspace(0, 1, TARGET_STRATA + 1)[1:-1]) if len(values) else np.asarray([])
    return lambda r: f"range-{int(np.searchsorted(edges, float(r.label or 0), side='right'))}"


def fix_regression_evaluation(pools: Pools, spec: DataSpec) -> EvaluationPlan:
    """As for classes, with the target's quantile ranges in the place of classes."""
    if pools.given_test:
        plan = plan_evaluation(pools.labelled, pools.given_test, pools.unlabelled, given_test=True,
                               min_holdout_rows=spec.min_holdout_rows, folds=spec.folds, seed=spec.seed)
    else:
        if len(pools.labelled) < 4:
            raise JobError(f"only {len(pools.labelled)} labelled rows: too few to split")
        stratum = target_stratum(pools.labelled)
        train, test = split_train_test(pools.labelled, spec.test_fraction, spec.seed, stratum)
        plan = plan_evaluation(train, test, pools.unlabelled, given_test=False, min_holdout_rows=spec.min_holdout_rows,
                               folds=spec.folds, seed=spec.seed, stratum=stratum)
    events.log(f"Evaluation by {plan.method}: {plan.reason}")
    return plan


def table_operations(spec: DataSpec, regression: bool, warnings: list[str]) -> list[Operation]:
    """The training-side operations tables take: reduce always, label-errors and auto-label with classes;
    augmentation (perturbed copies of rows) is not done on tables (the trainer weights classes instead)."""
    kept: list[Operation] = []
    for op in spec.operations:
        if op.before_split:
            continue
        if op.op == "augment" or (regression and op.op in CLASS_OPERATIONS):
            warnings.append(f"operation {op.op} skipped: it does not apply to {'a regression target' if regression and op.op != 'augment' else 'table rows'}")
            continue
        kept.append(op)
    return kept


def run_table_operations(loaded: LoadedTable, spec: DataSpec, out: Path) -> tuple[EvaluationPlan, Corrections]:
    """clean/dedupe on everything, the evaluation plan, then the training-side operations per view."""
    pools = loaded.pools
    for op in spec.operations:
        if op.op == "clean":
            clean_rows(pools, op)
        elif op.op == "dedupe":
            dedupe_rows(pools)
        if op.before_split:
            pools.applied.append(op.op)
    plan = fix_regression_evaluation(pools, spec) if loaded.regression else fix_evaluation(pools, spec)
    post = table_operations(spec, loaded.regression, pools.warnings)
    return plan, prepare_views(plan, post, spec, out, pools)


def table_leakage(plan: EvaluationPlan) -> int:
    """Test rows whose features all equal a training row's (holdout; every row is tested once in cross-validation)."""
    if plan.method != "holdout":
        return 0
    train = {r.content for r in plan.final.train}
    return sum(r.content in train for r in plan.final.test)


def build_table_profile(loaded: LoadedTable, plan: EvaluationPlan, corrections: Corrections) -> dict[str, Any]:
    """The data profile (DataProfile in agents/jobs/data-spec.ts) with its ``table`` part."""
    pools, final = loaded.pools, plan.final
    targets = [float(r.label or 0) for v in plan.scored for r in v.test] + [float(r.label or 0) for r in final.train] \
        if loaded.regression else []
    used = [c for c in loaded.columns if c.used]
    rows_with_missing = sum(any(v is None for v in (r.features or {}).values()) for r in final.train + final.test)
    profile: dict[str, Any] = {
        "rows": {"loaded": pools.stats["loaded"], "train": len(final.train), "test": len(final.test), "unlabelled": len(final.unlabelled)},
        "classes": [] if loaded.regression else class_table(final.train, final.test),
        "minorityRatio": 1.0 if loaded.regression else minority_ratio(final.train),
        "duplicates": pools.stats["duplicates"],
        "leakage": {"exact": table_leakage(plan), "near": 0},
        "invalidRows": pools.stats["invalidRows"],
        "evaluation": {"method": plan.method, "rows": plan.evaluated_rows, **({"folds": plan.folds} if plan.folds else {}),
                       "reason": plan.reason},
        "table": {
            "label": loaded.label_column,
            "target": "regression" if loaded.regression else "classification",
            **({"targetDistribution": distribution(targets)} if loaded.regression else {}),
            "features": {"numeric": sum(c.kind == "numeric" for c in used), "categorical": sum(c.kind == "categorical" for c in used)},
            "rowsWithMissingValues": rows_with_missing,
            "columns": [c.to_json() for c in loaded.columns],
            "excluded": [{"column": c.column, "excluded": c.excluded, "reason": c.reason} for c in loaded.columns if not c.used],
        },
    }
    if "label-errors" in pools.applied and not loaded.regression:
        summary = label_issue_summary(corrections)
        for example, record in zip(summary["examples"], corrections.issue_records):
            example["excerpt"] = f"source {record.source}, row {record.index + 1}"  # a row's values are not echoed
        profile["labelIssues"] = summary
    for key in ("autoLabelled", "reducedFrom"):
        if key in final.stats:
            profile[key] = final.stats[key]
    return profile


def write_table_plots(loaded: LoadedTable, profile: dict[str, Any], plan: EvaluationPlan, out: Path) -> list[str]:
    """Missing values, single-column predictiveness (leakage), and the class balance or the target's distribution."""
    from . import plots

    written = [table_plots.missing_values(loaded.columns, out / "missing-values.png").name]
    if any(c.target_score is not None for c in loaded.columns):
        written.append(table_plots.target_scores(loaded.columns, loaded.regression, out / "single-column-scores.png").name)
    if loaded.regression:
        values = [float(r.label or 0) for r in plan.final.train]
        written.append(table_plots.target_distribution(values, out / "target-distribution.png").name)
    else:
        written.append(plots.class_balance(profile["classes"], out / "class-balance.png").name)
    return written


def run_tabular(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prepare a table; returns (result.json, termination summary) like the text and image data job."""
    started = time.monotonic()
    spec = parse(raw)
    if spec.task not in ("tabular-classification", "tabular-regression"):
        raise JobError(f"tabular data is prepared for tabular-classification or tabular-regression, not {spec.task}")
    loaded = load_table_pools(spec)
    events.progress("data", 1, 3, {"operation": "profiled", "columns": len(loaded.columns)})
    plan, corrections = run_table_operations(loaded, spec, out)
    events.progress("data", 2, 3, {"operation": plan.method, "evaluatedRows": plan.evaluated_rows})
    if not loaded.regression and len({r.label for r in plan.final.train}) < 2:
        raise JobError(f"the training split has {len({r.label for r in plan.final.train})} class(es); need at least 2")
    files, written = write_outputs(plan, corrections, out)
    (out / COLUMNS_FILE).write_text(json.dumps(schema_json(loaded.columns, loaded.label_column, spec.task), indent=2) + "\n")
    files["columns"] = COLUMNS_FILE  # derived from the splits' feature keys, which the digest covers
    profile = build_table_profile(loaded, plan, corrections)
    files.update({f"plot:{Path(name).stem}": name for name in write_table_plots(loaded, profile, plan, out)})
    files["report"] = "data-report.json"
    digest = data_digest(written, out)
    warnings = loaded.pools.warnings
    result = {
        "kind": "data", "digest": digest, "outDir": str(out), "files": files, "profile": profile,
        "operationsApplied": loaded.pools.applied, "warnings": warnings,
        "durationSeconds": round(time.monotonic() - started, 3), "seed": spec.seed, "packageVersions": package_versions(),
    }
    (out / files["report"]).write_text(json.dumps({"digest": digest, **profile, "warnings": warnings}, indent=2) + "\n")
    events.progress("data", 3, 3, {"operation": "prepared", "views": len(plan.views)})
    summary = {"kind": "data", "digest": digest, "rows": profile["rows"], "classes": len(profile["classes"]),
               "minorityRatio": profile["minorityRatio"], "duplicates": profile["duplicates"],
               "evaluation": {k: v for k, v in profile["evaluation"].items() if k != "reason"},
               "excludedColumns": [c["column"] for c in profile["table"]["excluded"]][:20],
               "durationSeconds": result["durationSeconds"]}
    return result, summary

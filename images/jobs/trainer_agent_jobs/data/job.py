"""The data job: sources → clean/dedupe → evaluation plan (locked test or folds) → per view: label fixes,
auto-label, augment, reduce → files."""
from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common import events
from ..common.boxes import is_box_task
from ..common.jsonl import write_jsonl
from ..common.records import Record
from ..common.runner import JobError
from ..common.versions import package_versions
from . import plots
from .auto_label import auto_label
from .class_sizes import check_class_sizes
from .augment import augment
from .clean import clean
from .dedupe import dedupe, leakage
from .digest import data_digest
from .evaluation import FINAL, EvaluationPlan, View, plan_evaluation
from .label_errors import LabelIssue, fix_label_errors
from .profile import class_table, minority_ratio, shape_profile
from .redact import redact
from .sources import load_source
from .spec import DataSpec, Operation, parse
from .split import reduce_stratified, split_train_test

LEAKAGE_THRESHOLD = 0.95


@dataclass
class Pools:
    """The rows before the evaluation plan is fixed: labelled, a given test source, unlabelled."""

    labelled: list[Record]
    given_test: list[Record]
    unlabelled: list[Record]
    stats: dict[str, Any] = field(default_factory=lambda: {"invalidRows": 0, "duplicates": {"exact": 0, "near": 0, "removed": 0}})
    applied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Corrections:
    """What label-error detection found in one view's training rows."""

    issues: list[LabelIssue] = field(default_factory=list)
    issue_records: list[Record] = field(default_factory=list)


def load_pools(spec: DataSpec) -> Pools:
    """Read every source; train and eval rows are labelled data, test rows the locked test."""
    labelled: list[Record] = []
    given_test: list[Record] = []
    unlabelled: list[Record] = []
    for source in spec.sources:
        records = load_source(source)
        events.log(f"Loaded {len(records)} rows from source {source.name} ({source.format}, {source.role})")
        if source.role == "unlabelled":
            unlabelled += records
        elif source.role == "test":
            given_test += records
        else:
            labelled += records
    missing = [r for r in labelled + given_test if r.label is None]
    pools = Pools([r for r in labelled if r.label is not None], [r for r in given_test if r.label is not None], unlabelled)
    pools.stats["invalidRows"] += len(missing)
    pools.stats["loaded"] = len(labelled) + len(given_test) + len(unlabelled)
    return pools


def apply_clean(pools: Pools, op: Operation) -> None:
    """Normalise every pool."""
    for name in ("labelled", "given_test", "unlabelled"):
        outcome = clean(getattr(pools, name), bool(op.params["lowercase"]), op.params.get("maxChars"))
        setattr(pools, name, outcome.records)
        pools.stats["invalidRows"] += outcome.invalid


def apply_dedupe(pools: Pools, op: Operation) -> None:
    """Deduplicate labelled, then unlabelled rows, never removing a row of a given test source."""
    near, threshold = bool(op.params["near"]), float(op.params["nearThreshold"])
    labelled = dedupe(pools.labelled, near, threshold, keep_first=pools.given_test)
    unlabelled = dedupe(pools.unlabelled, near, threshold, keep_first=pools.given_test + labelled.records)
    dups = pools.stats["duplicates"]
    dups["exact"] += labelled.exact + unlabelled.exact
    dups["near"] += labelled.near + unlabelled.near
    dups["removed"] += labelled.exact + labelled.near + unlabelled.exact + unlabelled.near
    pools.labelled, pools.unlabelled = labelled.records, unlabelled.records


def fix_evaluation(pools: Pools, spec: DataSpec) -> EvaluationPlan:
    """Lock the test rows (a given test source, or a stratified split) and decide holdout or k-fold,
    before any operation that learns from labels runs."""
    if pools.given_test:
        train, test = list(pools.labelled), list(pools.given_test)
    else:
        if len(pools.labelled) < 4:
            raise JobError(f"only {len(pools.labelled)} labelled rows: too few to split")
        pools.labelled, warning = check_class_sizes(pools.labelled)
        if warning:
            pools.warnings.append(warning)
        train, test = split_train_test(pools.labelled, spec.test_fraction, spec.seed)
    plan = plan_evaluation(train, test, pools.unlabelled, given_test=bool(pools.given_test),
                           min_holdout_rows=spec.min_holdout_rows, folds=spec.folds, seed=spec.seed)
    events.log(f"Evaluation by {plan.method}: {plan.reason}")
    return plan


def apply_label_errors(view: View, op: Operation, spec: DataSpec) -> Corrections:
    """Confident learning on the view's training rows: confident fixes are applied, doubtful rows kept
    with their label and listed for review (dropped only when asked to)."""
    before = list(view.train)
    outcome = fix_label_errors(before, spec.modality, str(op.params["action"]), int(op.params["folds"]),
                               float(op.params["minCorrectionConfidence"]), float(op.params["minMargin"]), spec.seed)
    view.train = outcome.records
    events.log(f"Found {len(outcome.issues)} label issues in {len(before)} training rows of view {view.name} "
               f"({sum(i.action == 'corrected' for i in outcome.issues)} corrected)")
    return Corrections(outcome.issues, [before[issue.position] for issue in outcome.issues])


def apply_auto_label(view: View, op: Operation, spec: DataSpec) -> None:
    """Move confidently teacher-labelled rows from the view's unlabelled rows into its training rows."""
    outcome = auto_label(view.train, view.unlabelled, spec.modality, op.params.get("teacherModelDir"),
                         float(op.params["confidenceThreshold"]), spec.seed)
    view.stats["autoLabelled"] = {"candidates": len(view.unlabelled), "accepted": len(outcome.accepted),
                                  "threshold": float(op.params["confidenceThreshold"])}
    view.train, view.unlabelled = view.train + outcome.accepted, outcome.remaining


def apply_augment(view: View, op: Operation, spec: DataSpec, out: Path) -> None:
    """Add perturbed copies of minority-class rows to the view's training rows."""
    added = augment(view.train, float(op.params["targetMinorityRatio"]), float(op.params["maxFactor"]),
                    spec.seed, out / (view.directory or ".") / "augmented")
    view.stats["augmented"] = view.stats.get("augmented", 0) + len(added)
    view.train = view.train + added


def apply_reduce(view: View, op: Operation, spec: DataSpec) -> None:
    """Stratified subsample of the view's training rows."""
    view.stats["reducedFrom"] = len(view.train)
    view.train = reduce_stratified(view.train, int(op.params["maxRows"]), spec.seed)


def prepare_views(plan: EvaluationPlan, operations: list[Operation], spec: DataSpec, out: Path, pools: Pools) -> Corrections:
    """Run the train-side ``operations`` on every view of ``plan`` (each on its own rows); the final view's
    corrections are what the data report shows."""
    final = Corrections()
    for view in plan.views:
        corrections = prepare_view(view, operations, spec, out)
        if view.name == FINAL:
            final = corrections
    pools.applied += [op.op for op in operations]
    return final


def prepare_view(view: View, operations: list[Operation], spec: DataSpec, out: Path) -> Corrections:
    """The training-side operations, in the order given, on one view's rows only."""
    corrections = Corrections()
    for op in operations:
        if op.op == "label-errors":
            corrections = apply_label_errors(view, op, spec)
        elif op.op == "auto-label":
            apply_auto_label(view, op, spec)
        elif op.op == "augment":
            apply_augment(view, op, spec, out)
        elif op.op == "reduce":
            apply_reduce(view, op, spec)
    return corrections


def run_operations(pools: Pools, spec: DataSpec, out: Path) -> tuple[EvaluationPlan, Corrections]:
    """clean/dedupe on everything, then the evaluation plan, then the training-side operations per view.

    Returns the plan and the final view's corrections (what the deployed model learns from)."""
    pre = [op for op in spec.operations if op.before_split]
    post = [op for op in spec.operations if not op.before_split]
    total = len(pre) + 1 + len(post)
    step = 0
    for op in pre:
        (apply_clean if op.op == "clean" else apply_dedupe)(pools, op)
        step += 1
        pools.applied.append(op.op)
        events.progress("data", step, total, {"operation": op.op, "labelled": len(pools.labelled)})
    plan = fix_evaluation(pools, spec)
    step += 1
    events.progress("data", step, total, {"operation": plan.method, "evaluatedRows": plan.evaluated_rows})
    final = prepare_views(plan, post, spec, out, pools)
    events.progress("data", total, total, {"operation": "prepared", "views": len(plan.views)})
    return plan, final


def label_issue_summary(corrections: Corrections) -> dict[str, Any]:
    """Counts by action and up to five short, redacted examples (the final view's training rows)."""
    actions = Counter(issue.action for issue in corrections.issues)
    examples = []
    for issue, record in list(zip(corrections.issues, corrections.issue_records))[:5]:
        excerpt = redact(record.text) if record.text is not None else Path(record.image or "").name
        examples.append({"excerpt": excerpt, "given": issue.given, "suggested": issue.suggested,
                         "confidence": round(issue.confidence, 4), "action": issue.action})
    return {"found": len(corrections.issues), "corrected": actions.get("corrected", 0),
            "flagged": actions.get("flagged", 0), "dropped": actions.get("dropped", 0), "examples": examples}


def build_profile(pools: Pools, plan: EvaluationPlan, corrections: Corrections, spec: DataSpec) -> dict[str, Any]:
    """The profile written to data-report.json and result.json (counts of the final view)."""
    final = plan.final
    scored_test = [r for v in plan.scored for r in v.test]
    exact, near = leakage(final.train if plan.method == "holdout" else [], final.test, LEAKAGE_THRESHOLD)
    if exact or near:
        pools.warnings.append(f"{exact} exact and {near} near duplicates of test rows remain in train")
    profile: dict[str, Any] = {
        "rows": {"loaded": pools.stats["loaded"], "train": len(final.train), "test": len(final.test),
                 "unlabelled": len(final.unlabelled)},
        "classes": class_table(final.train, final.test),
        "minorityRatio": minority_ratio(final.train),
        "duplicates": pools.stats["duplicates"],
        "leakage": {"exact": exact, "near": near},
        "invalidRows": pools.stats["invalidRows"],
        "evaluation": {"method": plan.method, "rows": plan.evaluated_rows, **({"folds": plan.folds} if plan.folds else {}),
                       "reason": plan.reason},
        **shape_profile(final.train + scored_test, spec.modality),
    }
    if "label-errors" in pools.applied:
        profile["labelIssues"] = label_issue_summary(corrections)
    for key in ("autoLabelled", "augmented", "reducedFrom"):
        if key in final.stats:
            profile[key] = final.stats[key]
    return profile


def write_plots(plan: EvaluationPlan, corrections: Corrections, profile: dict[str, Any], spec: DataSpec, out: Path) -> list[str]:
    """Class balance, lengths (or image sides) and label issues as PNGs; returns file names."""
    written = [plots.class_balance(profile["classes"], out / "class-balance.png").name]
    if spec.modality == "image":
        sides = [float(size.split("x")[0]) for size, n in profile.get("imageSizes", {}).items() for _ in range(n)]
        written.append(plots.lengths(sides, out / "lengths.png", "Image width (pixels)").name)
    else:
        written.append(plots.lengths([len(r.text or "") for r in plan.final.train], out / "lengths.png",
                                     "Text length (characters)").name)
    if corrections.issues:
        per_class: dict[str, dict[str, int]] = defaultdict(dict)
        for issue in corrections.issues:
            per_class[issue.given][issue.action] = per_class[issue.given].get(issue.action, 0) + 1
        written.append(plots.label_errors(per_class, out / "label-errors.png").name)
    return written


def write_view(view: View, out: Path) -> list[Path]:
    """train/test/unlabelled JSON lines of one view (the final view at the top, folds under folds/<i>/)."""
    root = out / view.directory if view.directory else out
    root.mkdir(parents=True, exist_ok=True)
    paths = [root / "train.jsonl", root / "test.jsonl", root / "unlabelled.jsonl"]
    write_jsonl(paths[0], (r.to_row() for r in view.train))
    write_jsonl(paths[1], (r.to_row() for r in view.test))
    write_jsonl(paths[2], ({k: v for k, v in r.to_row().items() if k != "label"} for r in view.unlabelled))
    return paths


def write_outputs(plan: EvaluationPlan, corrections: Corrections, out: Path) -> tuple[dict[str, str], list[Path]]:
    """Every view's splits, evaluation.json, and the final view's label-issue list (no text: source,
    row index, given and suggested label, what was done)."""
    files = {"train": "train.jsonl", "test": "test.jsonl", "unlabelled": "unlabelled.jsonl", "evaluation": "evaluation.json"}
    written: list[Path] = []
    for view in plan.views:
        written += write_view(view, out)
    (out / files["evaluation"]).write_text(json.dumps(plan.to_json(), indent=2) + "\n")
    if corrections.issues:
        files["labelIssues"] = "label-issues.jsonl"
        write_jsonl(out / files["labelIssues"], (
            {"source": rec.source, "row": rec.index, **({"image": rec.image} if rec.image else {}), "given": issue.given,
             "suggested": issue.suggested, "confidence": round(issue.confidence, 4), "margin": round(issue.margin, 4),
             "action": issue.action}
            for issue, rec in zip(corrections.issues, corrections.issue_records)))
    return files, written


def run(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prepare the data; returns (result.json, termination summary)."""
    started = time.monotonic()
    spec = parse(raw)
    if spec.modality == "tabular":
        from .tabular_job import run_tabular

        return run_tabular(raw, out)
    if is_box_task(spec.task):
        from .box_job import run_box_data

        return run_box_data(spec, out)
    if spec.modality not in ("text", "image"):
        raise JobError(f"the data job prepares text, image and tabular data; {spec.modality} is not supported yet")
    pools = load_pools(spec)
    plan, corrections = run_operations(pools, spec, out)
    if len({r.label for r in plan.final.train}) < 2:
        raise JobError(f"the training split has {len({r.label for r in plan.final.train})} class(es); need at least 2")
    files, written = write_outputs(plan, corrections, out)
    profile = build_profile(pools, plan, corrections, spec)
    files.update({f"plot:{Path(name).stem}": name for name in write_plots(plan, corrections, profile, spec, out)})
    files["report"] = "data-report.json"
    digest = data_digest(written, out)
    result = {
        "kind": "data", "digest": digest, "outDir": str(out), "files": files, "profile": profile,
        "operationsApplied": pools.applied, "warnings": pools.warnings,
        "durationSeconds": round(time.monotonic() - started, 3), "seed": spec.seed,
        "packageVersions": package_versions(),
    }
    (out / files["report"]).write_text(json.dumps({"digest": digest, **profile, "warnings": pools.warnings}, indent=2) + "\n")
    summary = {"kind": "data", "digest": digest, "rows": profile["rows"], "classes": len(profile["classes"]),
               "minorityRatio": profile["minorityRatio"], "duplicates": profile["duplicates"],
               "evaluation": {k: v for k, v in profile["evaluation"].items() if k != "reason"},
               "labelIssues": {k: v for k, v in profile.get("labelIssues", {}).items() if k != "examples"},
               "durationSeconds": result["durationSeconds"]}
    return result, summary

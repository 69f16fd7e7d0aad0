"""The data job: sources → clean/dedupe → locked split → label fixes, auto-label, augment, reduce → files."""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common import events
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
from .label_errors import LabelIssue, fix_label_errors
from .profile import class_table, distribution, minority_ratio, shape_profile
from .redact import redact
from .sources import load_source
from .spec import DataSpec, Operation, parse
from .split import reduce_stratified, split_train_test

LEAKAGE_THRESHOLD = 0.95


@dataclass
class Pools:
    """The rows as they move through the job, plus what the profile reports about them."""

    labelled: list[Record]
    given_test: list[Record]
    unlabelled: list[Record]
    train: list[Record] = field(default_factory=list)
    test: list[Record] = field(default_factory=list)
    flagged: list[Record] = field(default_factory=list)
    issues: list[LabelIssue] = field(default_factory=list)
    issue_records: list[Record] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=lambda: {"invalidRows": 0, "duplicates": {"exact": 0, "near": 0, "removed": 0}})
    applied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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


def split(pools: Pools, spec: DataSpec) -> None:
    """Use the given test source, or carve a stratified test split from the labelled rows."""
    if pools.given_test:
        pools.train, pools.test = list(pools.labelled), list(pools.given_test)
    else:
        if len(pools.labelled) < 4:
            raise JobError(f"only {len(pools.labelled)} labelled rows: too few to split")
        pools.labelled, warning = check_class_sizes(pools.labelled)
        if warning:
            pools.warnings.append(warning)
        pools.train, pools.test = split_train_test(pools.labelled, spec.test_fraction, spec.seed)
    events.log(f"Split {len(pools.train)} train / {len(pools.test)} test rows (test locked)")


def apply_label_errors(pools: Pools, op: Operation, spec: DataSpec) -> None:
    """Confident learning on train; corrected rows stay, flagged ones are set aside for review."""
    before = list(pools.train)
    outcome = fix_label_errors(before, spec.modality, str(op.params["action"]), int(op.params["folds"]),
                               float(op.params["minCorrectionConfidence"]), spec.seed)
    pools.train, pools.issues, pools.flagged = outcome.records, outcome.issues, outcome.flagged
    pools.issue_records = [before[issue.position] for issue in outcome.issues]
    events.log(f"Found {len(outcome.issues)} label issues in {len(before)} training rows")


def apply_auto_label(pools: Pools, op: Operation, spec: DataSpec) -> None:
    """Move confidently teacher-labelled rows from unlabelled into train."""
    outcome = auto_label(pools.train, pools.unlabelled, spec.modality, op.params.get("teacherModelDir"),
                         float(op.params["confidenceThreshold"]), spec.seed)
    pools.stats["autoLabelled"] = {"candidates": len(pools.unlabelled), "accepted": len(outcome.accepted),
                                   "threshold": float(op.params["confidenceThreshold"])}
    pools.train, pools.unlabelled = pools.train + outcome.accepted, outcome.remaining


def apply_augment(pools: Pools, op: Operation, spec: DataSpec, out: Path) -> None:
    """Add perturbed copies of minority-class rows to train."""
    added = augment(pools.train, float(op.params["targetMinorityRatio"]), float(op.params["maxFactor"]),
                    spec.seed, out / "augmented")
    pools.stats["augmented"] = pools.stats.get("augmented", 0) + len(added)
    pools.train = pools.train + added


def apply_reduce(pools: Pools, op: Operation, spec: DataSpec) -> None:
    """Stratified subsample of train."""
    pools.stats["reducedFrom"] = len(pools.train)
    pools.train = reduce_stratified(pools.train, int(op.params["maxRows"]), spec.seed)


def run_operations(pools: Pools, spec: DataSpec, out: Path) -> None:
    """clean/dedupe before the split, then the training-split operations in the order given."""
    pre = [op for op in spec.operations if op.before_split]
    post = [op for op in spec.operations if not op.before_split]
    total = len(spec.operations) + 1
    step = 0
    for op in pre:
        (apply_clean if op.op == "clean" else apply_dedupe)(pools, op)
        step += 1
        pools.applied.append(op.op)
        events.progress("data", step, total, {"operation": op.op, "labelled": len(pools.labelled)})
    split(pools, spec)
    step += 1
    events.progress("data", step, total, {"operation": "split", "train": len(pools.train), "test": len(pools.test)})
    for op in post:
        if op.op == "label-errors":
            apply_label_errors(pools, op, spec)
        elif op.op == "auto-label":
            apply_auto_label(pools, op, spec)
        elif op.op == "augment":
            apply_augment(pools, op, spec, out)
        elif op.op == "reduce":
            apply_reduce(pools, op, spec)
        step += 1
        pools.applied.append(op.op)
        events.progress("data", step, total, {"operation": op.op, "train": len(pools.train)})


def label_issue_summary(pools: Pools, modality: str) -> dict[str, Any]:
    """Counts by action and up to five short, redacted examples."""
    actions = Counter(issue.action for issue in pools.issues)
    examples = []
    for issue, record in list(zip(pools.issues, pools.issue_records))[:5]:
        excerpt = redact(record.text) if record.text is not None else Path(record.image or "").name
        examples.append({"excerpt": excerpt, "given": issue.given, "suggested": issue.suggested,
                         "confidence": round(issue.confidence, 4)})
    return {"found": len(pools.issues), "corrected": actions.get("corrected", 0),
            "flagged": actions.get("flagged", 0), "dropped": actions.get("dropped", 0), "examples": examples}


def build_profile(pools: Pools, spec: DataSpec) -> dict[str, Any]:
    """The profile written to data-report.json and result.json."""
    exact, near = leakage(pools.train, pools.test, LEAKAGE_THRESHOLD)
    if exact or near:
        pools.warnings.append(f"{exact} exact and {near} near duplicates of test rows remain in train")
    profile: dict[str, Any] = {
        "rows": {"loaded": pools.stats["loaded"], "train": len(pools.train), "test": len(pools.test),
                 "unlabelled": len(pools.unlabelled)},
        "classes": class_table(pools.train, pools.test),
        "minorityRatio": minority_ratio(pools.train),
        "duplicates": pools.stats["duplicates"],
        "leakage": {"exact": exact, "near": near},
        "invalidRows": pools.stats["invalidRows"],
        **shape_profile(pools.train + pools.test, spec.modality),
    }
    if "label-errors" in pools.applied:
        profile["labelIssues"] = label_issue_summary(pools, spec.modality)
    for key in ("autoLabelled", "augmented", "reducedFrom"):
        if key in pools.stats:
            profile[key] = pools.stats[key]
    return profile


def write_plots(pools: Pools, profile: dict[str, Any], spec: DataSpec, out: Path) -> list[str]:
    """Class balance, lengths (or image sides) and label issues as PNGs; returns file names."""
    written = [plots.class_balance(profile["classes"], out / "class-balance.png").name]
    if spec.modality == "image":
        sides = [float(size.split("x")[0]) for size, n in profile.get("imageSizes", {}).items() for _ in range(n)]
        written.append(plots.lengths(sides, out / "lengths.png", "Image width (pixels)").name)
    else:
        written.append(plots.lengths([len(r.text or "") for r in pools.train], out / "lengths.png",
                                     "Text length (characters)").name)
    if pools.issues:
        per_class: dict[str, dict[str, int]] = defaultdict(dict)
        for issue in pools.issues:
            per_class[issue.given][issue.action] = per_class[issue.given].get(issue.action, 0) + 1
        written.append(plots.label_errors(per_class, out / "label-errors.png").name)
    return written


def write_outputs(pools: Pools, out: Path) -> dict[str, str]:
    """Split files, flagged rows and the label-issue list (no text: source and row index only)."""
    files = {"train": "train.jsonl", "test": "test.jsonl", "unlabelled": "unlabelled.jsonl"}
    write_jsonl(out / files["train"], (r.to_row() for r in pools.train))
    write_jsonl(out / files["test"], (r.to_row() for r in pools.test))
    write_jsonl(out / files["unlabelled"], ({k: v for k, v in r.to_row().items() if k != "label"} for r in pools.unlabelled))
    if pools.issues:
        files["labelIssues"] = "label-issues.jsonl"
        write_jsonl(out / files["labelIssues"], (
            {"source": rec.source, "row": rec.index, **({"image": rec.image} if rec.image else {}), "given": issue.given, "suggested": issue.suggested,
             "confidence": round(issue.confidence, 4), "action": issue.action}
            for issue, rec in zip(pools.issues, pools.issue_records)))
    if pools.flagged:
        files["flagged"] = "flagged.jsonl"
        write_jsonl(out / files["flagged"], (r.to_row() for r in pools.flagged))
    return files


def run(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prepare the data; returns (result.json, termination summary)."""
    started = time.monotonic()
    spec = parse(raw)
    if spec.modality not in ("text", "image"):
        raise JobError(f"the data job prepares text and image data; {spec.modality} is not supported yet")
    pools = load_pools(spec)
    run_operations(pools, spec, out)
    if len({r.label for r in pools.train}) < 2:
        raise JobError(f"the training split has {len({r.label for r in pools.train})} class(es); need at least 2")
    files = write_outputs(pools, out)
    profile = build_profile(pools, spec)
    files.update({f"plot:{Path(name).stem}": name for name in write_plots(pools, profile, spec, out)})
    files["report"] = "data-report.json"
    digest = data_digest([out / files[k] for k in ("train", "test", "unlabelled")])
    result = {
        "kind": "data", "digest": digest, "outDir": str(out), "files": files, "profile": profile,
        "operationsApplied": pools.applied, "warnings": pools.warnings,
        "durationSeconds": round(time.monotonic() - started, 3), "seed": spec.seed,
        "packageVersions": package_versions(),
    }
    import json

    (out / files["report"]).write_text(json.dumps({"digest": digest, **profile, "warnings": pools.warnings}, indent=2) + "\n")
    summary = {"kind": "data", "digest": digest, "rows": profile["rows"], "classes": len(profile["classes"]),
               "minorityRatio": profile["minorityRatio"], "duplicates": profile["duplicates"],
               "labelIssues": {k: v for k, v in profile.get("labelIssues", {}).items() if k != "examples"},
               "durationSeconds": result["durationSeconds"]}
    return result, summary

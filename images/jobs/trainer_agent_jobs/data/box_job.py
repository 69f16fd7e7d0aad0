"""The data job for box tasks (visual grounding, object detection): read, check, deduplicate, plan the
evaluation by image, profile, plot, write.

The text/image operations (cleaning text, near-duplicates, label errors by confident learning, augmenting
a minority class) do not apply to boxes; any asked for are listed as skipped with the reason. What does
apply: exact duplicate annotations are removed, rows whose image is also in a given test source are
taken out of training (the test is locked), and every unusable annotation is counted under its reason.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ..common import events
from ..common.boxes import BoxRow
from ..common.runner import JobError
from ..common.versions import package_versions
from .box_evaluation import BoxPlan, image_digest, plan_box_evaluation, write_box_views
from .box_profile import box_class_table, box_plots, box_profile
from .box_sources import ImageSizes, Problems, load_box_source
from .digest import data_digest
from .profile import distribution
from .spec import DataSpec

# Fail rather than train on the rest when at least this share of annotations is unusable: the data is
# almost surely in another format (boxes as x, y, width, height; image paths relative to another folder).
MAX_UNUSABLE_SHARE = 0.5


def dedupe_rows(rows: list[BoxRow]) -> tuple[list[BoxRow], int]:
    """Exact duplicate annotations (same image, query or labels, boxes) once."""
    seen: set[tuple[Any, ...]] = set()
    kept: list[BoxRow] = []
    for row in rows:
        key = (row.image, row.query, row.boxes, row.labels)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept, len(rows) - len(kept)


def load(spec: DataSpec) -> tuple[list[BoxRow], list[BoxRow], Problems, list[str]]:
    """Labelled rows, the given test rows, the problems of every source, and warnings."""
    sizes = ImageSizes()
    problems = Problems()
    labelled: list[BoxRow] = []
    given_test: list[BoxRow] = []
    warnings: list[str] = []
    for source in spec.sources:
        if source.role == "unlabelled":
            warnings.append(f"source {source.name}: unlabelled images are not used for {spec.task} yet (no teacher labels boxes)")
            continue
        rows, found = load_box_source(source, spec.task, sizes)
        events.log(f"Loaded {len(rows)} rows from source {source.name} ({source.format}, {source.role})"
                   + (f"; left out: {found.sentence()}" if found.counts else ""))
        problems.merge(found)
        (given_test if source.role == "test" else labelled).extend(rows)
    usable = len(labelled) + len(given_test)
    if usable == 0 or problems.lost >= MAX_UNUSABLE_SHARE * (usable + problems.lost):
        raise JobError(f"{problems.lost} of {usable + problems.lost} annotations cannot be used: "
                       f"{problems.sentence() or 'the sources hold no annotations'}")
    if problems.counts:
        warnings.append(f"left out {problems.lost} annotation(s): {problems.sentence()}")
    if problems.clipped:
        warnings.append(f"clipped {problems.clipped} box(es) that reached past the edge of their image")
    return labelled, given_test, problems, warnings


def remove_test_images(labelled: list[BoxRow], given_test: list[BoxRow], digests: dict[str, str]) -> tuple[list[BoxRow], int]:
    """Training rows whose picture is also in the given test source are removed (the test stays locked)."""
    test_images = {image_digest(r.image, digests) for r in given_test}
    kept = [r for r in labelled if image_digest(r.image, digests) not in test_images]
    return kept, len(labelled) - len(kept)


def build_profile(plan: BoxPlan, problems: Problems, loaded: int, duplicates: dict[str, int], grounding: bool) -> dict[str, Any]:
    """The DataProfile of a box task (counts of the final view; box statistics over every scored row)."""
    final = plan.final
    everything = final.train + final.test  # every labelled row once, in holdout and in cross-validation
    classes = [] if grounding else box_class_table(final.train, final.test)
    counts = [c["train"] for c in classes if c["train"] > 0]
    sizes = Counter(f"{r.width}x{r.height}" for r in {r.image: r for r in everything}.values())
    profile: dict[str, Any] = {
        "rows": {"loaded": loaded, "train": len(final.train), "test": len(final.test), "unlabelled": 0},
        "classes": classes,
        "minorityRatio": round(min(counts) / max(counts), 4) if counts else 1.0,
        "duplicates": duplicates,
        "leakage": {"exact": 0, "near": 0},
        "invalidRows": problems.lost,
        "evaluation": {"method": plan.method, "rows": plan.evaluated_rows, **({"folds": plan.folds} if plan.folds else {}),
                       "reason": plan.reason},
        "imageSizes": dict(sizes.most_common(50)),
        "boxes": box_profile(everything, problems, grounding),
    }
    if grounding:
        profile["textLengths"] = distribution([len(r.query or "") for r in everything])
    return profile


def run_box_data(spec: DataSpec, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The data job's ``run`` for box tasks."""
    started = time.monotonic()
    grounding = spec.task == "visual-grounding"
    warnings: list[str] = []
    skipped = [op.op for op in spec.operations]
    if skipped:
        warnings.append(f"skipped {', '.join(skipped)}: these operations are for text and image labels, not boxes")
    labelled, given_test, problems, found = load(spec)
    warnings += found
    loaded = len(labelled) + len(given_test)
    labelled, exact = dedupe_rows(labelled)
    digests: dict[str, str] = {}
    labelled, leaked = remove_test_images(labelled, given_test, digests)
    if leaked:
        warnings.append(f"removed {leaked} training row(s) whose image is also in the test source")
    if len(labelled) < 4:
        raise JobError(f"only {len(labelled)} usable labelled rows: too few to train and test a {spec.task} model")
    events.progress("data", 1, 3, {"operation": "loaded", "labelled": len(labelled)})
    plan = plan_box_evaluation(labelled, given_test, test_fraction=spec.test_fraction, min_holdout_rows=spec.min_holdout_rows,
                               folds=spec.folds, seed=spec.seed, digests=digests)
    events.log(f"Evaluation by {plan.method}: {plan.reason}")
    events.progress("data", 2, 3, {"operation": plan.method, "evaluatedRows": plan.evaluated_rows})
    written = write_box_views(plan, out)
    files = {"train": "train.jsonl", "test": "test.jsonl", "unlabelled": "unlabelled.jsonl", "evaluation": "evaluation.json",
             "report": "data-report.json"}
    (out / files["evaluation"]).write_text(json.dumps(plan.to_json(), indent=2) + "\n")
    profile = build_profile(plan, problems, loaded, {"exact": exact, "near": 0, "removed": exact + leaked}, grounding)
    files.update({f"plot:{p.stem}": p.name for p in box_plots(plan.final.train + plan.final.test, profile["classes"],
                                                                profile["boxes"], out)})
    digest = data_digest(written, out)
    applied = ["dedupe"] + (["remove-test-images"] if leaked else [])
    result = {
        "kind": "data", "digest": digest, "outDir": str(out), "files": files, "profile": profile,
        "operationsApplied": applied, "warnings": warnings, "durationSeconds": round(time.monotonic() - started, 3),
        "seed": spec.seed, "packageVersions": package_versions(),
    }
    (out / files["report"]).write_text(json.dumps({"digest": digest, **profile, "warnings": warnings}, indent=2) + "\n")
    events.progress("data", 3, 3, {"operation": "prepared", "views": len(plan.views)})
    summary = {"kind": "data", "digest": digest, "rows": profile["rows"], "classes": len(profile["classes"]),
               "minorityRatio": profile["minorityRatio"], "duplicates": profile["duplicates"],
               "evaluation": {k: v for k, v in profile["evaluation"].items() if k != "reason"},
               "boxes": {k: profile["boxes"][k] for k in ("images", "annotations", "emptyImages", "clipped", "dropped")},
               "durationSeconds": result["durationSeconds"]}
    return result, summary

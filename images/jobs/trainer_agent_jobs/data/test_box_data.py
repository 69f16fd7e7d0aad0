"""Box data (visual grounding, object detection): readers, bad data with reasons, grouped evaluation, the job."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import REPO_ROOT, run_job
from trainer_agent_jobs.common.boxes import BoxRow
from trainer_agent_jobs.common.runner import JobError
from trainer_agent_jobs.data.box_evaluation import plan_box_evaluation
from trainer_agent_jobs.data.box_sources import ImageSizes, read_coco, read_grounding_jsonl
from trainer_agent_jobs.data.spec import Source

GENERATOR = REPO_ROOT / "examples" / "product-grounding" / "generate-data.py"


def image(path: Path, size: tuple[int, int] = (100, 80), colour: tuple[int, int, int] = (10, 20, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def write_lines(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated set (the example's generator, few frames)."""
    out = tmp_path_factory.mktemp("generated")
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), "--frames", "30", "--test-frames", "8", "--size", "160x120"], check=True)
    return out


def test_grounding_lines_are_read_with_bad_rows_counted_by_reason(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    path = write_lines(tmp_path / "g.jsonl", [
        {"image": "a.png", "query": "red mug", "box": [10, 10, 50, 40]},
        {"image": "a.png", "query": "blue tin", "box": [80, 60, 130, 90]},       # partly outside: clipped
        {"image": "a.png", "query": "green cup", "box": [120, 90, 150, 110]},    # wholly outside: dropped
        {"image": "a.png", "query": "  ", "box": [1, 1, 5, 5]},                   # no query
        {"image": "missing.png", "query": "red mug", "box": [1, 1, 5, 5]},        # unknown image file
        {"image": "broken.png", "query": "red mug", "box": [1, 1, 5, 5]},         # unreadable image
        {"image": "a.png", "query": "red mug", "box": [30, 20, 10, 15]},          # looks like x, y, w, h
        {"image": "a.png", "query": "red mug", "bbox": [10, 10, 20, 20]},         # COCO-style bbox accepted
    ])
    rows, problems = read_grounding_jsonl(path, Source("g", "", "jsonl"), ImageSizes())
    assert [(r.query, r.box) for r in rows] == [("red mug", (10.0, 10.0, 50.0, 40.0)), ("blue tin", (80.0, 60.0, 100.0, 80.0)),
                                               ("red mug", (10.0, 10.0, 30.0, 30.0))]
    assert dict(problems.counts) == {"box-outside-image": 1, "missing-query": 1, "missing-image": 1, "unreadable-image": 1, "degenerate-box": 1}
    assert problems.clipped == 1 and problems.lost == 5
    assert "looks like [x, y, width, height]" in problems.examples["degenerate-box"][0]
    assert "g.jsonl:5: missing.png" in problems.examples["missing-image"][0]


def test_coco_detection_keeps_empty_images_and_names_unknown_ids(tmp_path: Path) -> None:
    for name in ("one.png", "two.png", "empty.png"):
        image(tmp_path / "images" / name)
    doc = {
        "images": [{"id": 1, "file_name": "one.png", "width": 100, "height": 80}, {"id": 2, "file_name": "two.png", "width": 200, "height": 80},
                   {"id": 3, "file_name": "empty.png"}, {"id": 4, "file_name": "gone.png"}],
        "annotations": [{"id": 1, "image_id": 1, "bbox": [5, 5, 20, 20], "category_id": 1}, {"id": 2, "image_id": 1, "bbox": [50, 30, 10, 10], "category_id": 2},
                        {"id": 3, "image_id": 2, "bbox": [5, 5, 20, 20], "category_id": 9}, {"id": 4, "image_id": 7, "bbox": [1, 1, 2, 2], "category_id": 1},
                        {"id": 5, "image_id": 4, "bbox": [1, 1, 2, 2], "category_id": 1}],
        "categories": [{"id": 1, "name": "mug"}, {"id": 2, "name": "tin"}],
    }
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(doc))
    rows, problems = read_coco(path, Source("c", "", "coco"), ImageSizes(), grounding=False)
    by_name = {Path(r.image).name: r for r in rows}
    assert by_name["one.png"].labels == ("mug", "tin") and by_name["one.png"].boxes[0] == (5.0, 5.0, 25.0, 25.0)
    assert by_name["empty.png"].boxes == () and by_name["two.png"].boxes == ()
    assert dict(problems.counts) == {"size-mismatch": 1, "unknown-category": 1, "unknown-image-id": 1, "missing-image": 1}
    assert problems.lost == 3  # the unknown category, the unknown image id, and the annotation of the missing image


def test_coco_grounding_takes_phrases_and_falls_back_to_category_names(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "mug"}],
                                "annotations": [{"image_id": 1, "bbox": [1, 1, 10, 10], "category_id": 1, "phrase": "the  red mug on the left"},
                                                {"image_id": 1, "bbox": [20, 20, 10, 10], "category_id": 1}]}))
    rows, _ = read_coco(path, Source("c", "", "coco"), ImageSizes(), grounding=True)
    assert [r.query for r in rows] == ["the red mug on the left", "mug"]


def test_the_evaluation_never_splits_an_image_and_folds_when_the_test_part_is_small(tmp_path: Path) -> None:
    rows = []
    for i in range(40):
        path = image(tmp_path / f"{i}.png", colour=(i, i, i))
        rows += [BoxRow("s", len(rows) + k, str(path), 100, 80, ((1.0, 1.0, 9.0, 9.0),), (), f"q{k}") for k in range(3)]
    holdout = plan_box_evaluation(rows, [], test_fraction=0.25, min_holdout_rows=20, folds=5, seed=0, digests={})
    assert holdout.method == "holdout"
    assert not {r.image for r in holdout.final.train} & {r.image for r in holdout.final.test}
    folded = plan_box_evaluation(rows, [], test_fraction=0.25, min_holdout_rows=1000, folds=5, seed=0, digests={})
    assert folded.method == "cross-validation" and folded.folds == 5
    for view in folded.scored:
        assert not {r.image for r in view.train} & {r.image for r in view.test}
    assert sorted(r.index for v in folded.scored for r in v.test) == list(range(len(rows)))


def test_a_copy_of_a_picture_under_another_name_is_the_same_image(tmp_path: Path) -> None:
    a, b = image(tmp_path / "a.png", colour=(1, 2, 3)), image(tmp_path / "b.png", colour=(1, 2, 3))
    others = [image(tmp_path / f"o{i}.png", colour=(100 + i, 0, 0)) for i in range(10)]
    rows = [BoxRow("s", i, str(p), 100, 80, ((1.0, 1.0, 9.0, 9.0),), (), "q") for i, p in enumerate([a, b, *others])]
    plan = plan_box_evaluation(rows, [], test_fraction=0.3, min_holdout_rows=1, folds=5, seed=3, digests={})
    names = lambda rs: {Path(r.image).name for r in rs}  # noqa: E731
    assert ({"a.png", "b.png"} <= names(plan.final.train)) or ({"a.png", "b.png"} <= names(plan.final.test))


def test_the_data_job_profiles_generated_grounding_data(generated: Path, tmp_path: Path) -> None:
    root = generated / "grounding"
    spec = {"task": "visual-grounding", "modality": "multimodal", "seed": 0, "operations": [{"op": "clean"}],
            "sources": [{"name": "frames", "uri": f"file://{root / 'train.jsonl'}", "format": "jsonl"},
                        {"name": "held-out", "uri": f"file://{root / 'test.jsonl'}", "format": "jsonl", "role": "test"}]}
    run = run_job("data", spec, tmp_path / "data")
    assert run.code == 0, run.stderr[-2000:]
    profile = run.result["profile"]
    boxes = profile["boxes"]
    assert boxes["task"] == "grounding" and boxes["images"] == 38 and boxes["problems"] == []
    assert 2 <= boxes["perImage"]["min"] and boxes["perImage"]["max"] <= 4
    assert 0.01 < boxes["relativeArea"]["p50"] < 0.3
    assert boxes["queries"]["distinct"] > 5 and profile["evaluation"]["method"] == "holdout"
    assert {"plot:box-sizes", "plot:boxes-per-image", "plot:box-centres"} <= set(run.result["files"])
    assert any("skipped clean" in w for w in run.result["warnings"])
    train = [json.loads(line) for line in (tmp_path / "data" / "train.jsonl").read_text().splitlines()]
    assert set(train[0]) == {"image", "width", "height", "query", "box"}


def test_the_data_job_on_coco_detection_reports_classes_and_empty_images(generated: Path, tmp_path: Path) -> None:
    root = generated / "detection"
    spec = {"task": "object-detection", "modality": "image", "seed": 0,
            "sources": [{"name": "frames", "uri": f"file://{root / 'train.json'}", "format": "coco"},
                        {"name": "held-out", "uri": f"file://{root / 'test.json'}", "format": "coco", "role": "test"}]}
    run = run_job("data", spec, tmp_path / "data")
    assert run.code == 0, run.stderr[-2000:]
    profile = run.result["profile"]
    assert {c["label"] for c in profile["classes"]} <= {"mug", "tin", "bottle", "box", "toy", "headphones"}
    assert profile["boxes"]["task"] == "detection" and profile["rows"]["train"] == 30 and profile["rows"]["test"] == 8
    assert "plot:class-balance" in run.result["files"]


def test_mostly_unusable_data_fails_with_the_reasons(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    path = write_lines(tmp_path / "g.jsonl", [{"image": "a.png", "query": "mug", "box": [10, 10, 5, 5]}] * 3
                       + [{"image": "nowhere.png", "query": "mug", "box": [1, 1, 5, 5]}] * 3 + [{"image": "a.png", "query": "mug", "box": [1, 1, 5, 5]}])
    spec = {"task": "visual-grounding", "modality": "multimodal", "sources": [{"name": "g", "uri": f"file://{path}", "format": "jsonl"}]}
    run = run_job("data", spec, tmp_path / "out")
    assert run.code == 1
    error = run.termination["error"]
    assert "6 of 7 annotations cannot be used" in error
    assert "unknown image file (not found)" in error and "box with no area" in error and "nowhere.png" in error


def test_a_format_the_task_cannot_read_is_refused(tmp_path: Path) -> None:
    from trainer_agent_jobs.data.box_sources import load_box_source

    path = write_lines(tmp_path / "d.jsonl", [{"image": "a.png"}])
    with pytest.raises(JobError, match="object-detection reads format coco"):
        load_box_source(Source("d", f"file://{path}", "jsonl"), "object-detection", ImageSizes())

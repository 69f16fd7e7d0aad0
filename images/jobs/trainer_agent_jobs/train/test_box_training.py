"""Box models end to end on generated frames: OWL-ViT grounding and FCOS detection built from tiny configs,
trained for a few steps by the real train job, exported by the real conversion job, checked for parity."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import REPO_ROOT, run_job

pytestmark = pytest.mark.torch

GENERATOR = REPO_ROOT / "examples" / "product-grounding" / "generate-data.py"
TINY_GROUNDING = {"imageSize": 64, "patchSize": 16, "width": 32, "layers": 1, "textWidth": 32, "textLayers": 1, "projectionDim": 32,
                  "epochs": 2, "batchSize": 8, "learningRate": 0.001, "device": "cpu"}
TINY_DETECTION = {"imageSize": 64, "width": 64, "headConvs": 1, "maxDetections": 5, "epochs": 1, "batchSize": 8, "learningRate": 0.001, "device": "cpu"}


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("frames")
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), "--frames", "16", "--test-frames", "6", "--size", "120x90",
                    "--format", "png"], check=True)
    return out


def prepared(frames: Path, tmp: Path, task: str) -> Path:
    grounding = task == "visual-grounding"
    root = frames / ("grounding" if grounding else "detection")
    ext, fmt = ("jsonl", "jsonl") if grounding else ("json", "coco")
    spec = {"task": task, "modality": "multimodal" if grounding else "image", "seed": 0,
            "sources": [{"name": "train", "uri": f"file://{root / f'train.{ext}'}", "format": fmt},
                        {"name": "test", "uri": f"file://{root / f'test.{ext}'}", "format": fmt, "role": "test"}]}
    run = run_job("data", spec, tmp / "data")
    assert run.code == 0, run.stderr[-2000:]
    return tmp / "data"


def train(data: Path, tmp: Path, task: str, family: str, h: dict[str, Any]) -> dict[str, Any]:
    spec = {"task": task, "modality": "multimodal" if task == "visual-grounding" else "image", "dataDir": str(data),
            "model": {"id": "tiny", "family": family, "hyperparameters": h}, "objectives": [], "seed": 0}
    run = run_job("train", spec, tmp / "train")
    assert run.code == 0, run.stderr[-3000:]
    return run.result


def convert(tmp: Path, data: Path) -> dict[str, Any]:
    spec = {"modelDir": str(tmp / "train"), "dataDir": str(data), "modelName": "frames", "precisions": [],
            "benchmark": {"secondsPerPoint": 0.1, "batchSizes": [1, 2], "concurrencies": [1], "maxRequestsPerPoint": 50}}
    run = run_job("convert", spec, tmp / "convert")
    assert run.code == 0, run.stderr[-3000:]
    return json.loads((tmp / "convert" / "result.json").read_text())


def test_grounding_trains_scores_against_baselines_and_exports_with_parity(frames: Path, tmp_path: Path) -> None:
    data = prepared(frames, tmp_path, "visual-grounding")
    result = train(data, tmp_path, "visual-grounding", "torch-grounding-owlvit", TINY_GROUNDING)
    assert set(result["metrics"]) == {"accuracy", "iou"} and 0 <= result["metrics"]["iou"] <= 1
    assert set(result["boxes"]["baselines"]) == {"largest-box", "centre-box"}
    assert result["training"]["steps"] == 2 * 2 and result["evaluation"]["method"] == "holdout"
    manifest = json.loads((tmp_path / "train" / "model" / "manifest.json").read_text())
    assert manifest["input"]["kind"] == "grounding" and manifest["labels"] == []
    converted = convert(tmp_path, data)
    assert converted["parity"]["passed"] and converted["parity"]["labelAgreement"] == 1.0
    assert converted["inputName"] == "pixel_values" and converted["accuracy"]["measure"] == "Acc@0.5"
    files = set(converted["repositoryFiles"])
    assert {"frames/config.pbtxt", "frames/tokenizer.json", "frames_onnx/1/model.onnx", "frames_preprocess/1/model.py",
            "frames_preprocess/1/image_preprocessing.py"} <= files
    assert "ensemble_scheduling" in (tmp_path / "convert" / "model-repository" / "frames" / "config.pbtxt").read_text()
    example = converted["example"]
    assert example["query"] and len(example["boxes"][0]) == 4 and len(example["image"]) > 100
    reference = [json.loads(line) for line in Path(converted["referencePredictions"]).read_text().splitlines()]
    assert len(reference) == converted["rows"]["count"] > 0 and {"image", "query", "boxes", "scores", "truth"} <= set(reference[0])


def test_detection_trains_with_map_and_exports_one_image_per_run_with_parity(frames: Path, tmp_path: Path) -> None:
    data = prepared(frames, tmp_path, "object-detection")
    result = train(data, tmp_path, "object-detection", "torch-detection-fcos", TINY_DETECTION)
    assert {"map", "map50", "map75", "mar100"} == set(result["metrics"])
    assert "centre-box" in result["boxes"]["baselines"]
    converted = convert(tmp_path, data)
    assert converted["parity"]["passed"] and converted["maxDetections"] == 5
    onnx_config = (tmp_path / "convert" / "model-repository" / "frames_onnx" / "config.pbtxt").read_text()
    assert "max_batch_size: 0" in onnx_config and "dims: [ 1, 3, 64, 64 ]" in onnx_config
    public = (tmp_path / "convert" / "model-repository" / "frames" / "config.pbtxt").read_text()
    assert 'backend: "python"' in public and 'name: "count" data_type: TYPE_INT32' in public


def test_positive_patches_cover_the_middle_of_the_box_and_always_its_centre() -> None:
    from trainer_agent_jobs.train.grounding import positive_patches

    big = positive_patches(np.asarray([0.5, 0.5, 0.8, 0.8], dtype=np.float32), 4)
    assert big.reshape(4, 4).astype(int).tolist() == [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    tiny = positive_patches(np.asarray([0.1, 0.9, 0.01, 0.01], dtype=np.float32), 4)
    assert np.nonzero(tiny)[0].tolist() == [12]


def test_the_answer_is_the_best_patch_box_in_input_pixels() -> None:
    import torch

    from trainer_agent_jobs.train.grounding import answer_boxes

    logits = torch.tensor([[[0.1], [2.0], [-1.0]]])
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.25, 0.5, 0.5, 0.2], [0.9, 0.9, 0.1, 0.1]]])
    corners, scores = answer_boxes(logits, boxes, torch.tensor([[200.0, 100.0]]))
    assert np.allclose(corners.numpy(), [[0.0, 40.0, 100.0, 60.0]], atol=1e-4)
    assert abs(float(scores[0]) - 1 / (1 + np.exp(-2.0))) < 1e-6


def test_the_grounding_loss_prefers_the_right_patch() -> None:
    import torch

    from trainer_agent_jobs.train.grounding import grounding_loss, positive_patches

    box = np.asarray([0.25, 0.25, 0.3, 0.3], dtype=np.float32)
    masks = positive_patches(box, 2)[None]
    pred = torch.tensor([[[0.25, 0.25, 0.3, 0.3]] * 4])
    right = torch.tensor([[[4.0], [-4.0], [-4.0], [-4.0]]])
    wrong = torch.tensor([[[-4.0], [4.0], [-4.0], [-4.0]]])
    assert float(grounding_loss(right, pred, [(box[None], masks)])) < float(grounding_loss(wrong, pred, [(box[None], masks)]))


def test_a_product_absent_from_the_image_is_a_negative_on_every_patch() -> None:
    import torch

    from trainer_agent_jobs.train.grounding import grounding_loss, positive_patches

    box = np.asarray([0.25, 0.25, 0.3, 0.3], dtype=np.float32)
    present = positive_patches(box, 2)
    target = [(np.stack([box, np.zeros(4, dtype=np.float32)]), np.stack([present, np.zeros_like(present)]))]
    pred = torch.tensor([[[0.25, 0.25, 0.3, 0.3]] * 4])
    right = [[4.0, -4.0], [-4.0, -4.0], [-4.0, -4.0], [-4.0, -4.0]]
    fires = [[4.0, 4.0], [-4.0, -4.0], [-4.0, -4.0], [-4.0, -4.0]]  # the absent product's query fires on the product's patch
    assert float(grounding_loss(torch.tensor([right]), pred, target)) < float(grounding_loss(torch.tensor([fires]), pred, target))
    # a third query is padding (past the target's rows): whatever it scores changes nothing
    padded = torch.tensor([[row + [9.0] for row in right]])
    assert abs(float(grounding_loss(padded, pred, target)) - float(grounding_loss(torch.tensor([right]), pred, target))) < 1e-6


def test_the_baselines_and_metrics_of_grounding() -> None:
    from trainer_agent_jobs.common.boxes import BoxRow
    from trainer_agent_jobs.train.box_metrics import grounding_baselines, grounding_metrics

    rows = [BoxRow("s", 0, "a", 100, 100, ((0.0, 0.0, 50.0, 50.0),), (), "big"), BoxRow("s", 1, "a", 100, 100, ((60.0, 60.0, 70.0, 70.0),), (), "small")]
    assert grounding_metrics(np.asarray([[0, 0, 50, 50], [0, 0, 10, 10]], dtype=np.float32), rows) == {"accuracy": 0.5, "iou": 0.5}
    baselines = grounding_baselines(rows, rows)
    assert baselines["largest-box"]["accuracy"] == 0.5  # right for the big product, wrong for the small one
    assert baselines["centre-box"]["accuracy"] == 0.0


@pytest.mark.parametrize(("reference", "candidate", "agree"), [
    ([10, 10, 50, 50], [10.2, 10, 50, 50.1], True),   # a fraction of a pixel apart
    ([30, 30, 30, 30], [30, 30, 30, 30], True),        # the same zero-area box (IoU 0, no corner moved)
    ([30, 30, 30, 30], [31, 30, 31, 30], False),       # a zero-area box a pixel away
    ([10, 10, 50, 50], [20, 10, 60, 50], False),       # overlapping, a different answer
])
def test_the_parity_check_compares_boxes_by_overlap_or_by_corners(reference: list[float], candidate: list[float], agree: bool) -> None:
    from trainer_agent_jobs.convert.box_export import box_parity

    r, c = np.asarray([reference], dtype=np.float32), np.asarray([candidate], dtype=np.float32)
    assert box_parity("grounding", (r, np.asarray([0.5])), (c, np.asarray([0.5])))["labelAgreement"] == float(agree)
    detection = box_parity("detection", [{"boxes": r, "scores": np.asarray([0.5]), "labels": np.asarray(["mug"])}],
                           [{"boxes": c, "scores": np.asarray([0.5]), "labels": np.asarray(["mug"])}])
    assert detection["labelAgreement"] == float(agree)


def test_detections_of_the_background_index_are_dropped_and_the_rest_padded() -> None:
    import torch

    from trainer_agent_jobs.train.detection import padded_detections

    boxes = torch.tensor([[0.0, 0.0, 32.0, 32.0], [8.0, 8.0, 16.0, 16.0], [4.0, 4.0, 60.0, 60.0]])
    out_boxes, scores, labels, count = padded_detections(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([2, 0, 1]),
                                                         torch.tensor([128.0, 64.0]), 64, 4)
    assert int(count[0]) == 2 and labels.tolist() == [2, 1, 0, 0]
    assert np.allclose(scores.numpy(), [0.9, 0.7, 0, 0])
    assert np.allclose(out_boxes[:2].numpy(), [[0, 0, 64, 32], [8, 4, 120, 60]])

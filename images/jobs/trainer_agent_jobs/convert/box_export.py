"""Export of box models to ONNX, with what the serving contract returns computed inside the graph.

Grounding (OWL-ViT): inputs ``pixel_values`` ``[N, 3, S, S]``, ``input_ids``/``attention_mask``
``[N, L]`` (the model's tokenizer.json), ``image_size`` ``[N, 2]`` (each input image's width, height);
outputs ``boxes`` ``[N, 4]`` (x1 y1 x2 y2 in the input image's pixels) and ``scores`` ``[N]``.

Detection (torchvision FCOS, whose post-processing — score threshold, per-class NMS, top K — is part of
the graph): inputs ``pixels`` ``[1, 3, S, S]`` and ``image_size`` ``[1, 2]``, one image per run (the
post-processing loops over images, which a traced graph cannot do for a variable batch); outputs
``boxes`` ``[1, K, 4]``, ``scores`` ``[1, K]``, ``labels`` ``[1, K]`` (indices 1..C into the label list,
0 for padding) and ``count`` ``[1]``. Servers run it once per image of a request.

Both graphs compute exactly what the train job's predictions computed (grounding.answer_boxes,
detection.padded_detections), and the parity check compares them on the held-out rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import onnx

from ..common.boxes import BoxRow, box_row, ious
from ..common.jsonl import read_jsonl
from .manifest import ModelManifest
from .rows import find_splits

GROUNDING_INPUTS = ["pixel_values", "input_ids", "attention_mask", "image_size"]
DETECTION_INPUTS = ["pixels", "image_size"]
# Boxes of the trained model and the export agree when they overlap this much or no corner moved more
# than AGREEMENT_PX (a barely trained detector answers zero-area boxes, whose IoU is 0 even when equal);
# for detection, the labels and counts must be the same too.
AGREEMENT_IOU = 0.99
AGREEMENT_PX = 0.5


def boxes_agree(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Row-wise: whether two ``[N, 4]`` arrays of ``(x1, y1, x2, y2)`` boxes are the same answer."""
    r, c = np.asarray(reference, dtype=np.float64).reshape(-1, 4), np.asarray(candidate, dtype=np.float64).reshape(-1, 4)
    return (ious(r, c) >= AGREEMENT_IOU) | (np.abs(r - c).max(axis=1) <= AGREEMENT_PX)


@dataclass
class BoxExport:
    """An exported box model, the held-out rows, and predictions of both the trained model and a graph."""

    kind: str
    model: onnx.ModelProto
    labels: list[str]
    rows: list[BoxRow]
    rows_source: str
    feeds: list[dict[str, np.ndarray]]
    reference: Any
    preprocessing: dict[str, Any]
    tokenizer: Path | None = None
    warnings: list[str] = field(default_factory=list)


def held_out_rows(data_dir: str | None, limit: int) -> tuple[list[BoxRow], str]:
    """The held-out rows (test split, or the folds' test parts) of the prepared data."""
    splits = find_splits(data_dir) if data_dir else []
    rows: list[BoxRow] = []
    for split in splits:
        rows += [box_row(r, str(split), i) for i, r in enumerate(read_jsonl(split))]
    source = str(splits[0]) if len(splits) == 1 else f"{len(splits)} cross-validation test folds" if splits else "none"
    return rows[:limit], source


def _session(model: onnx.ModelProto) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def export_grounding(manifest: ModelManifest, model_dir: Path, work: Path, rows: list[BoxRow]) -> tuple[onnx.ModelProto, list[dict[str, np.ndarray]], Any, dict[str, Any], Path]:
    """The OWL-ViT graph, per-batch feeds of the held-out rows, the trained model's predictions."""
    import torch

    from ..train import grounding as g

    model = g.load_grounding_model(model_dir)

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model.module

        def forward(self, pixel_values: Any, input_ids: Any, attention_mask: Any, image_size: Any) -> tuple[Any, Any]:
            out = self.inner(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask)
            return g.answer_boxes(out.logits, out.pred_boxes, image_size)

    graph = Graph().eval()
    ids, mask = g.encode_queries(model.tokenizer, ["a query", "a somewhat longer example query"])
    example = (torch.zeros(2, 3, model.image.size, model.image.size), torch.as_tensor(ids), torch.as_tensor(mask),
               torch.as_tensor([[640.0, 480.0], [320.0, 200.0]]))
    path = work / "grounding.onnx"
    torch.onnx.export(graph, example, str(path), input_names=GROUNDING_INPUTS, output_names=["boxes", "scores"], opset_version=18,
                      dynamo=False, dynamic_axes={"pixel_values": {0: "N"}, "input_ids": {0: "N", 1: "S"}, "attention_mask": {0: "N", 1: "S"},
                                                  "image_size": {0: "N"}, "boxes": {0: "N"}, "scores": {0: "N"}})
    cache: dict[str, np.ndarray] = {}
    feeds = []
    for start in range(0, len(rows), 16):
        chunk = rows[start:start + 16]
        ids, mask = g.encode_queries(model.tokenizer, [r.query or "" for r in chunk])
        feeds.append({"pixel_values": g.pixels_of([r.image for r in chunk], model.image, cache), "input_ids": ids, "attention_mask": mask,
                      "image_size": np.asarray([[r.width, r.height] for r in chunk], dtype=np.float32)})
    reference = g.predict_rows(model, rows, cache=cache)
    return onnx.load(str(path)), feeds, reference, model.image.preprocessing(), model_dir / manifest.files["tokenizer"]


def export_detection(manifest: ModelManifest, model_dir: Path, work: Path, rows: list[BoxRow]) -> tuple[onnx.ModelProto, list[dict[str, np.ndarray]], Any, dict[str, Any]]:
    """The FCOS graph (one image per run), per-image feeds of the held-out rows, the trained model's predictions."""
    import torch

    from ..train import detection as d
    from ..train.grounding import pixels_of

    module, config = d.load_detector(model_dir)

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, pixels: Any, image_size: Any) -> tuple[Any, Any, Any, Any]:
            out = self.inner([pixels[0]])[0]
            boxes, scores, labels, count = d.padded_detections(out["boxes"], out["scores"], out["labels"], image_size[0],
                                                               config.image_size, config.max_detections)
            return boxes[None], scores[None], labels[None], count

    graph = Graph().eval()
    path = work / "detection.onnx"
    torch.onnx.export(graph, (torch.rand(1, 3, config.image_size, config.image_size), torch.as_tensor([[640.0, 480.0]])), str(path),
                      input_names=DETECTION_INPUTS, output_names=["boxes", "scores", "labels", "count"], opset_version=18, dynamo=False)
    cache: dict[str, np.ndarray] = {}
    spec = d._ImageSpec(config)
    feeds = [{"pixels": pixels_of([r.image], spec, cache), "image_size": np.asarray([[r.width, r.height]], dtype=np.float32)} for r in rows]
    reference = d.predict_images(module, config, rows, cache=cache)
    return onnx.load(str(path)), feeds, reference, config.preprocessing()


def export_boxes(manifest: ModelManifest, model_dir: Path, work: Path, data_dir: str | None, limit: int) -> BoxExport:
    """Export whichever box model the manifest names, with the held-out rows it is checked on."""
    rows, source = held_out_rows(data_dir, limit)
    if manifest.task == "visual-grounding":
        model, feeds, reference, pre, tokenizer = export_grounding(manifest, model_dir, work, rows)
        return BoxExport("grounding", model, [], rows, source, feeds, reference, pre, tokenizer)
    model, feeds, reference, pre = export_detection(manifest, model_dir, work, rows)
    return BoxExport("detection", model, list(manifest.labels), rows, source, feeds, reference, pre)


def run_graph(kind: str, model: onnx.ModelProto, feeds: Sequence[dict[str, np.ndarray]]) -> Any:
    """The graph's predictions in the trained model's shapes (grounding boxes ``[N, 4]``; detection dicts)."""
    session = _session(model)
    if kind == "grounding":
        out = [session.run(["boxes", "scores"], feed) for feed in feeds]
        boxes = np.concatenate([o[0] for o in out]) if out else np.zeros((0, 4), dtype=np.float32)
        scores = np.concatenate([o[1] for o in out]) if out else np.zeros((0,), dtype=np.float32)
        return boxes, scores
    predictions = []
    for feed in feeds:
        boxes, scores, labels, count = session.run(["boxes", "scores", "labels", "count"], feed)
        n = int(count[0])
        predictions.append({"boxes": boxes[0, :n], "scores": scores[0, :n], "labels": labels[0, :n].astype(np.int64) - 1})
    return predictions


def box_parity(kind: str, reference: Any, candidate: Any) -> dict[str, Any]:
    """Largest score and box differences, and the share of rows whose answers agree."""
    if kind == "grounding":
        (rb, rs), (cb, cs) = reference, candidate
        if len(rb) == 0:
            return {"rows": 0, "maxAbsProbDiff": 0.0, "labelAgreement": 1.0, "maxBoxDiffPx": 0.0}
        agree = float(boxes_agree(rb, cb).mean())
        return {"rows": len(rb), "maxAbsProbDiff": float(np.abs(rs - cs).max()), "labelAgreement": agree,
                "maxBoxDiffPx": float(np.abs(rb - cb).max())}
    if not reference:
        return {"rows": 0, "maxAbsProbDiff": 0.0, "labelAgreement": 1.0, "maxBoxDiffPx": 0.0}
    agree, score_diff, box_diff = 0, 0.0, 0.0
    for r, c in zip(reference, candidate):
        same = len(r["scores"]) == len(c["scores"]) and np.array_equal(r["labels"], c["labels"])
        if same and len(r["scores"]):
            score_diff = max(score_diff, float(np.abs(r["scores"] - c["scores"]).max()))
            box_diff = max(box_diff, float(np.abs(r["boxes"] - c["boxes"]).max()))
            same = bool(boxes_agree(r["boxes"], c["boxes"]).all())
        agree += int(same)
    return {"rows": len(reference), "maxAbsProbDiff": score_diff, "labelAgreement": agree / len(reference), "maxBoxDiffPx": box_diff}


def box_quality(kind: str, predictions: Any, rows: list[BoxRow], labels: list[str]) -> float | None:
    """Acc@0.5 (grounding) or mAP@0.5 (detection) of predictions on the held-out rows: the accuracy gate's measure."""
    if not rows:
        return None
    from ..train.box_metrics import detection_metrics, grounding_metrics

    if kind == "grounding":
        return grounding_metrics(predictions[0], rows)["accuracy"]
    return detection_metrics(predictions, rows, labels)[0]["map50"]

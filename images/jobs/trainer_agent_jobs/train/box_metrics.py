"""Metrics of the box tasks, and the trivial baselines a model must beat.

Grounding: ``accuracy`` is Acc@0.5 (a query counts when its predicted box has IoU >= 0.5 with the given
one), ``iou`` the mean IoU beside it. Detection: ``map`` is COCO's mAP@0.5:0.95, ``map50`` mAP@0.5 and
``map75`` mAP@0.75 (torchmetrics' MeanAveragePrecision on pycocotools' evaluator), with per-class AP.

Baselines, scored on the same rows: grounding's *largest box* answers every query with the largest box
annotated in its image (it knows where the products are, not which one is meant), and *centre box* with a
box of the training boxes' median size at the centre of the image; detection's *centre box* predicts
that box with the most frequent training label in every image.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Sequence

import numpy as np

from ..common.boxes import BoxRow, area, ious

ACC_IOU = 0.5


def grounding_metrics(predicted: np.ndarray, rows: Sequence[BoxRow]) -> dict[str, float]:
    """Acc@0.5 (``accuracy``) and mean IoU (``iou``)."""
    if not rows:
        return {"accuracy": 0.0, "iou": 0.0}
    overlap = ious(predicted, np.asarray([r.box for r in rows]))
    return {"accuracy": round(float((overlap >= ACC_IOU).mean()), 6), "iou": round(float(overlap.mean()), 6)}


def median_relative_size(train: Sequence[BoxRow]) -> tuple[float, float]:
    """Median box width and height as shares of their images' sides."""
    boxes = [(b, r) for r in train for b in r.boxes]
    if not boxes:
        return 0.25, 0.25
    return (float(np.median([(b[2] - b[0]) / r.width for b, r in boxes])), float(np.median([(b[3] - b[1]) / r.height for b, r in boxes])))


def centre_box(row: BoxRow, size: tuple[float, float]) -> tuple[float, float, float, float]:
    """A box of ``size`` (shares of the sides) at the image's centre."""
    w, h = size[0] * row.width, size[1] * row.height
    return (row.width / 2 - w / 2, row.height / 2 - h / 2, row.width / 2 + w / 2, row.height / 2 + h / 2)


def grounding_baselines(rows: Sequence[BoxRow], train: Sequence[BoxRow]) -> dict[str, dict[str, float]]:
    """Largest box of the image and centre box, scored like the model."""
    if not rows:
        return {}
    boxes_of: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for r in rows:
        boxes_of[r.image].append(r.box)
    largest = np.asarray([max(boxes_of[r.image], key=area) for r in rows])
    size = median_relative_size(train)
    centre = np.asarray([centre_box(r, size) for r in rows])
    return {"largest-box": grounding_metrics(largest, rows), "centre-box": grounding_metrics(centre, rows)}


def detection_metrics(predictions: Sequence[dict[str, np.ndarray]], rows: Sequence[BoxRow], labels: Sequence[str]) -> tuple[dict[str, float], dict[str, float]]:
    """(``map``, ``map50``, ``map75``, ``mar100``) and AP per class. ``predictions[i]`` has ``boxes`` ``[K, 4]``
    (pixels), ``scores`` ``[K]`` and ``labels`` ``[K]`` (indices into ``labels``)."""
    import torch
    from torchmetrics.detection import MeanAveragePrecision

    index = {label: i for i, label in enumerate(labels)}
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=True, backend="pycocotools")
    preds = [{"boxes": torch.as_tensor(p["boxes"], dtype=torch.float32).reshape(-1, 4),
              "scores": torch.as_tensor(p["scores"], dtype=torch.float32).reshape(-1),
              "labels": torch.as_tensor(p["labels"], dtype=torch.int64).reshape(-1)} for p in predictions]
    targets = [{"boxes": torch.as_tensor(np.asarray(r.boxes, dtype=np.float32).reshape(-1, 4)),
                "labels": torch.as_tensor([index[label] for label in r.labels], dtype=torch.int64)} for r in rows]
    metric.update(preds, targets)
    raw = metric.compute()
    clean = lambda v: max(0.0, round(float(v), 6))  # noqa: E731 - pycocotools reports -1 for "no such boxes"
    metrics = {"map": clean(raw["map"]), "map50": clean(raw["map_50"]), "map75": clean(raw["map_75"]), "mar100": clean(raw["mar_100"])}
    per_class: dict[str, float] = {}
    classes = raw.get("classes")
    if classes is not None:
        for k, ap in zip(torch.atleast_1d(classes).tolist(), torch.atleast_1d(raw["map_per_class"]).tolist()):
            if 0 <= int(k) < len(labels):
                per_class[labels[int(k)]] = max(0.0, round(float(ap), 6))
    return metrics, per_class


def detection_baselines(rows: Sequence[BoxRow], train: Sequence[BoxRow], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """The centre box with the most frequent training label, in every image."""
    if not rows or not labels:
        return {}
    common = Counter(label for r in train for label in r.labels).most_common(1)
    label = labels.index(common[0][0]) if common else 0
    size = median_relative_size(train)
    predictions = [{"boxes": np.asarray([centre_box(r, size)]), "scores": np.ones(1), "labels": np.asarray([label])} for r in rows]
    metrics, _ = detection_metrics(predictions, rows, labels)
    return {"centre-box": metrics}


def bootstrap_rows(values: np.ndarray, seed: int, rounds: int = 1000) -> dict[str, float]:
    """95% percentile-bootstrap interval of a per-row mean."""
    if len(values) == 0:
        return {"low": 0.0, "high": 0.0}
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(rounds, len(values)))].mean(axis=1)
    return {"low": round(float(np.percentile(means, 2.5)), 6), "high": round(float(np.percentile(means, 97.5)), 6)}


def grounding_intervals(predicted: np.ndarray, rows: Sequence[BoxRow], seed: int) -> dict[str, Any]:
    """Bootstrap intervals of Acc@0.5 and mean IoU over the scored rows."""
    overlap = ious(predicted, np.asarray([r.box for r in rows])) if rows else np.zeros(0)
    return {"accuracy": bootstrap_rows((overlap >= ACC_IOU).astype(np.float64), seed), "iou": bootstrap_rows(overlap, seed)}

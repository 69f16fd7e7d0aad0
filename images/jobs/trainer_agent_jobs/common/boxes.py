"""Boxes and the rows of the box tasks (visual grounding, object detection) every job passes around.

A box is ``(x1, y1, x2, y2)`` in pixels of its image (the serving contract's order). A grounding row is
one image, one query and the one box it names; a detection row is one image with all its boxes and their
labels (none: an empty image, a valid negative). Prepared splits store them as JSON lines with the
image's size, so no job has to open an image to know it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

BOX_TASKS = ("visual-grounding", "object-detection")
Box = tuple[float, float, float, float]


def is_box_task(task: str) -> bool:
    """Whether ``task`` is trained on boxes (and prepared, trained and served by the box modules)."""
    return task in BOX_TASKS


@dataclass(frozen=True)
class BoxRow:
    """One example: an image (absolute path, its size) and its boxes; ``query`` is set for grounding."""

    source: str
    index: int
    image: str
    width: int
    height: int
    boxes: tuple[Box, ...]
    labels: tuple[str, ...] = ()
    query: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def box(self) -> Box:
        """The grounding row's one box."""
        return self.boxes[0]

    def to_row(self) -> dict[str, Any]:
        """The prepared split's JSON line."""
        row: dict[str, Any] = {"image": self.image, "width": self.width, "height": self.height}
        if self.query is not None:
            row.update(query=self.query, box=[round(v, 2) for v in self.box])
        else:
            row.update(boxes=[[round(v, 2) for v in b] for b in self.boxes], labels=list(self.labels))
        return row


def box_row(row: dict[str, Any], source: str, index: int) -> BoxRow:
    """The inverse of :meth:`BoxRow.to_row`."""
    if "query" in row:
        return BoxRow(source, index, str(row["image"]), int(row["width"]), int(row["height"]),
                      (tuple(float(v) for v in row["box"]),), (), str(row["query"]))  # type: ignore[arg-type]
    return BoxRow(source, index, str(row["image"]), int(row["width"]), int(row["height"]),
                  tuple(tuple(float(v) for v in b) for b in row.get("boxes", [])),  # type: ignore[misc]
                  tuple(str(label) for label in row.get("labels", [])))


def xywh_to_xyxy(box: Sequence[float]) -> Box:
    """COCO's ``[x, y, width, height]`` to ``(x1, y1, x2, y2)``."""
    x, y, w, h = (float(v) for v in box)
    return (x, y, x + w, y + h)


def area(box: Sequence[float]) -> float:
    """Area of an ``(x1, y1, x2, y2)`` box (0 when degenerate)."""
    return max(0.0, float(box[2]) - float(box[0])) * max(0.0, float(box[3]) - float(box[1]))


def clip(box: Sequence[float], width: int, height: int) -> Box:
    """The part of ``box`` inside a ``width`` × ``height`` image."""
    return (min(max(float(box[0]), 0.0), width), min(max(float(box[1]), 0.0), height),
            min(max(float(box[2]), 0.0), width), min(max(float(box[3]), 0.0), height))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes."""
    inter = area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    union = area(a) + area(b) - inter
    return float(inter / union) if union > 0 else 0.0


def ious(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Row-wise IoU of two ``[N, 4]`` arrays of ``(x1, y1, x2, y2)`` boxes."""
    p, t = np.asarray(predicted, dtype=np.float64).reshape(-1, 4), np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    w = np.clip(np.minimum(p[:, 2], t[:, 2]) - np.maximum(p[:, 0], t[:, 0]), 0, None)
    h = np.clip(np.minimum(p[:, 3], t[:, 3]) - np.maximum(p[:, 1], t[:, 1]), 0, None)
    inter = w * h
    union = (np.clip(p[:, 2] - p[:, 0], 0, None) * np.clip(p[:, 3] - p[:, 1], 0, None)
             + np.clip(t[:, 2] - t[:, 0], 0, None) * np.clip(t[:, 3] - t[:, 1], 0, None) - inter)
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)

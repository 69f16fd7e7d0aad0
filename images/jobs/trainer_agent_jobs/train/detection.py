"""Object detection with torchvision's FCOS (an anchor-free one-stage detector, BSD-3-Clause).

``fcos-small`` is built from a config, no weights: a ResNet-10 body (one BasicBlock per stage), a
feature pyramid of ``width`` channels and a detection head of ``headConvs`` convolutions: a few million
parameters that train on a CPU. ``fcos-resnet50-fpn`` is torchvision's COCO architecture; with
``pretrained`` naming its state dict (a ``.pth``/``.safetensors`` path on the artifact volume) everything
but the class logits is loaded, and the classes are learned anew.

Images are resized (stretched) to ``imageSize`` squares and normalised by the shared preprocessing (the
same as serving), so torchvision's own transform is an identity (mean 0, std 1, min = max size) and a box
maps back to the input image by scaling x by its width and y by its height. Label indices are 1..C
(0 stays background, as in torchvision); ``labels[i - 1]`` names index i.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common.boxes import BoxRow
from ..common.runner import JobError

CONFIG_FILE = "detector.json"
WEIGHTS_FILE = "model.safetensors"
ARCHITECTURES = ("fcos-small", "fcos-resnet50-fpn")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class DetectorConfig:
    """What rebuilds the detector: architecture, labels, square input size, sizes and post-processing."""

    architecture: str
    labels: tuple[str, ...]
    image_size: int
    width: int = 64
    head_convs: int = 2
    score_threshold: float = 0.05
    nms_threshold: float = 0.6
    max_detections: int = 20

    def to_json(self) -> dict[str, Any]:
        return {"architecture": self.architecture, "labels": list(self.labels), "imageSize": self.image_size, "width": self.width,
                "headConvs": self.head_convs, "scoreThreshold": self.score_threshold, "nmsThreshold": self.nms_threshold,
                "maxDetections": self.max_detections}

    @staticmethod
    def from_json(raw: dict[str, Any]) -> "DetectorConfig":
        return DetectorConfig(str(raw["architecture"]), tuple(raw["labels"]), int(raw["imageSize"]), int(raw["width"]),
                              int(raw["headConvs"]), float(raw["scoreThreshold"]), float(raw["nmsThreshold"]), int(raw["maxDetections"]))

    def preprocessing(self) -> dict[str, Any]:
        """The serving preprocessing.json (and what training uses)."""
        return {"kind": "image", "height": self.image_size, "width": self.image_size, "channels": 3, "mean": list(IMAGENET_MEAN),
                "std": list(IMAGENET_STD), "scale": 1 / 255, "layout": "chw"}


def config_from(h: dict[str, Any], labels: Sequence[str]) -> DetectorConfig:
    """The detector's config from the planned hyperparameters."""
    architecture = str(h.get("architecture", "fcos-small"))
    if architecture not in ARCHITECTURES:
        raise JobError(f"unknown detector architecture {architecture!r}; known: {list(ARCHITECTURES)}")
    width = int(h.get("width", 64))
    if width % 32 or width < 64:
        # FCOS's head normalises in 32 groups; one channel per group on the 1x1 top level cannot be normalised.
        raise JobError(f"detector width {width} must be a multiple of 32 and at least 64")
    return DetectorConfig(architecture, tuple(labels), int(h.get("imageSize", 160)), width, int(h.get("headConvs", 2)),
                          float(h.get("scoreThreshold", 0.05)), float(h.get("nmsThreshold", 0.6)), int(h.get("maxDetections", 20)))


def build_detector(config: DetectorConfig) -> Any:
    """An untrained torchvision FCOS (no downloads)."""
    from torchvision.models import resnet
    from torchvision.models.detection import FCOS, fcos_resnet50_fpn
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.models.detection.fcos import FCOSHead
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    common = {"min_size": config.image_size, "max_size": config.image_size, "image_mean": [0.0, 0.0, 0.0], "image_std": [1.0, 1.0, 1.0],
              "score_thresh": config.score_threshold, "nms_thresh": config.nms_threshold, "detections_per_img": config.max_detections,
              "topk_candidates": 200}
    classes = len(config.labels) + 1
    if config.architecture == "fcos-resnet50-fpn":
        return fcos_resnet50_fpn(weights=None, weights_backbone=None, num_classes=classes, **common)
    body = resnet.ResNet(resnet.BasicBlock, [1, 1, 1, 1])
    width = config.width
    backbone = BackboneWithFPN(body, {"layer2": "0", "layer3": "1", "layer4": "2"}, [128, 256, 512], width,
                               extra_blocks=LastLevelP6P7(width, width))
    anchors = AnchorGenerator(tuple((s,) for s in (8, 16, 32, 64, 128)), ((1.0,),) * 5)
    return FCOS(backbone, classes, anchor_generator=anchors, head=FCOSHead(width, 1, classes, num_convs=config.head_convs), **common)


def load_pretrained_detector(model: Any, path: Path) -> dict[str, int]:
    """Load a COCO state dict into everything but the class logits (their shape depends on the labels)."""
    from .image_model import read_state_dict

    state = read_state_dict(path)
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise JobError(f"{path}: no tensor matches the {type(model).__name__} detector")
    model.load_state_dict(usable, strict=False)
    return {"loaded": len(usable), "total": len(own)}


def targets_of(rows: Sequence[BoxRow], labels: Sequence[str], size: int, device: Any = None) -> list[dict[str, Any]]:
    """torchvision targets: boxes in the square input's pixels, label indices 1..C (empty images: none)."""
    import torch

    index = {label: i + 1 for i, label in enumerate(labels)}
    out = []
    for r in rows:
        boxes = np.asarray(r.boxes, dtype=np.float32).reshape(-1, 4) * np.asarray([size / r.width, size / r.height] * 2, dtype=np.float32)
        out.append({"boxes": torch.as_tensor(boxes, device=device),
                    "labels": torch.as_tensor([index[label] for label in r.labels], dtype=torch.int64, device=device)})
    return out


def padded_detections(boxes: Any, scores: Any, labels: Any, size: Any, image_size: int, k: int) -> tuple[Any, Any, Any, Any]:
    """One image's detections (square-input pixels) in its own pixels, padded to ``k``: ``[k, 4]``, ``[k]``,
    ``[k]`` label indices (1..C; 0 pads) and how many are real. What the exported graph computes too.

    torchvision's FCOS scores index 0 like any class; it is never a target, so training pushes it down, but
    a barely trained head can still rank it: such detections name no class and are dropped here."""
    import torch

    real = labels > 0
    boxes, scores, labels = boxes[real], scores[real], labels[real]
    n = boxes.shape[0]
    scale = torch.stack([size[0], size[1], size[0], size[1]]) / image_size
    boxes = torch.cat([boxes * scale, boxes.new_zeros((k, 4))], 0)[:k]
    scores = torch.cat([scores, scores.new_zeros((k,))], 0)[:k]
    labels = torch.cat([labels, labels.new_zeros((k,))], 0)[:k]
    count = torch.clamp(scores.new_zeros((1,), dtype=torch.int64) + n, max=k)
    return boxes, scores, labels, count


def predict_images(model: Any, config: DetectorConfig, rows: Sequence[BoxRow], device: Any = None,
                   cache: dict[str, np.ndarray] | None = None) -> list[dict[str, np.ndarray]]:
    """Detections per row in its image's pixels: ``boxes`` ``[n, 4]``, ``scores`` ``[n]``, ``labels`` ``[n]``
    as indices into ``config.labels`` (0-based)."""
    import torch

    from .grounding import pixels_of

    model.eval()
    spec = _ImageSpec(config)
    out: list[dict[str, np.ndarray]] = []
    with torch.inference_mode():
        for start in range(0, len(rows), 16):
            chunk = rows[start:start + 16]
            pixels = torch.as_tensor(pixels_of([r.image for r in chunk], spec, cache), device=device)
            for r, detections in zip(chunk, model(list(pixels))):
                size = torch.as_tensor([r.width, r.height], dtype=torch.float32, device=device)
                boxes, scores, labels, count = padded_detections(detections["boxes"], detections["scores"], detections["labels"], size,
                                                                 config.image_size, config.max_detections)
                n = int(count[0])
                out.append({"boxes": boxes[:n].float().cpu().numpy(), "scores": scores[:n].float().cpu().numpy(),
                            "labels": labels[:n].cpu().numpy().astype(np.int64) - 1})
    return out


@dataclass(frozen=True)
class _ImageSpec:
    """Adapter so grounding's pixel loader reads the detector's preprocessing."""

    config: DetectorConfig

    def preprocessing(self) -> dict[str, Any]:
        return self.config.preprocessing()


def save_detector(model: Any, config: DetectorConfig, directory: Path) -> dict[str, str]:
    """Config and weights; returns the manifest's ``files``."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=2) + "\n")
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(directory / WEIGHTS_FILE))
    return {"config": CONFIG_FILE, "weights": WEIGHTS_FILE}


def load_detector(directory: str | Path) -> tuple[Any, DetectorConfig]:
    """The inverse of :func:`save_detector`, in eval mode."""
    from safetensors.torch import load_file

    root = Path(directory)
    config = DetectorConfig.from_json(json.loads((root / CONFIG_FILE).read_text()))
    model = build_detector(config)
    model.load_state_dict(load_file(str(root / WEIGHTS_FILE)))
    return model.eval(), config

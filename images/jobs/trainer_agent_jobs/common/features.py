"""Turning records into model inputs: raw strings for text, normalised pixel vectors for images."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .records import Record


@dataclass(frozen=True)
class ImageGeometry:
    """Size and normalisation every image is brought to before it reaches a model."""

    height: int
    width: int
    channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale: float = 1.0 / 255.0

    def to_manifest(self) -> dict[str, object]:
        """The ``input`` block of model/manifest.json (layout flat-hwc: one row per image)."""
        return {
            "kind": "image", "height": self.height, "width": self.width, "channels": self.channels,
            "mean": list(self.mean), "std": list(self.std), "scale": self.scale, "layout": "flat-hwc",
        }


def texts(records: Sequence[Record]) -> list[str]:
    """The raw strings: text pipelines take them as they are (the vectorizer is inside the model)."""
    return [r.text or "" for r in records]


def _open(path: str, channels: int, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        converted = image.convert("L" if channels == 1 else "RGB")
        if converted.size != (size[1], size[0]):
            converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(converted, dtype=np.float32)
    return array.reshape(size[0], size[1], channels)


def infer_geometry(records: Sequence[Record]) -> ImageGeometry:
    """Most common size, grayscale unless any image has colour, per-channel mean/std of the pixels."""
    from PIL import Image

    sizes: Counter[tuple[int, int]] = Counter()
    colour = False
    for record in records:
        with Image.open(record.image or "") as image:
            sizes[(image.height, image.width)] += 1
            colour = colour or image.mode not in ("L", "1", "I", "I;16", "F", "LA")
    (height, width), _ = sizes.most_common(1)[0]
    channels = 3 if colour else 1
    raw = np.stack([_open(r.image or "", channels, (height, width)) for r in records]) / 255.0
    mean = tuple(float(m) for m in raw.mean(axis=(0, 1, 2)))
    std = tuple(max(float(s), 1e-6) for s in raw.std(axis=(0, 1, 2)))
    return ImageGeometry(height, width, channels, mean, std)


def image_matrix(records: Sequence[Record], geometry: ImageGeometry) -> np.ndarray:
    """``[N, H*W*C]`` float32: pixels × scale, minus mean, over std, flattened in HWC order."""
    size = (geometry.height, geometry.width)
    mean = np.asarray(geometry.mean, dtype=np.float32)
    std = np.asarray(geometry.std, dtype=np.float32)
    rows = [((_open(r.image or "", geometry.channels, size) * geometry.scale) - mean) / std for r in records]
    if not rows:
        return np.zeros((0, geometry.height * geometry.width * geometry.channels), dtype=np.float32)
    return np.stack(rows).reshape(len(rows), -1).astype(np.float32)

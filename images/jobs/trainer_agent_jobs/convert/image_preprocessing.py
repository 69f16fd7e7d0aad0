"""Image bytes -> model input, exactly as the train job prepares images (common/features.py).

Pillow does the work: ``convert("L")`` (ITU-R 601 fixed point) or ``convert("RGB")``, then
``resize((width, height), BILINEAR)`` (antialiased when shrinking) only when the size differs, then
``pixels * scale``, ``- mean``, ``/ std`` in float32, flattened HWC (``hwc``) or CHW (``chw``).
Dependency-light (numpy + Pillow) so it is copied next to the Triton Python-backend ``model.py``; the
Node server (operator/local/serve/preprocess.ts) reimplements these Pillow steps and is tested against them.
"""
from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np

LAYOUTS = {"hwc": "hwc", "flat-hwc": "hwc", "chw": "chw", "nchw": "chw"}


def load_pixels(data: bytes, channels: int, height: int, width: int) -> np.ndarray:
    """Decode PNG/JPEG bytes to ``(height, width, channels)`` float32 values 0..255."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        converted = image.convert("L" if channels == 1 else "RGB")
        if converted.size != (width, height):
            converted = converted.resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(converted, dtype=np.float32)
    return array.reshape(height, width, channels)


def preprocess(data: bytes, spec: dict[str, Any]) -> np.ndarray:
    """Bytes -> one float32 model row per ``preprocessing.json``."""
    x = load_pixels(data, int(spec["channels"]), int(spec["height"]), int(spec["width"]))
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    x = (x * np.float32(spec.get("scale", 1.0 / 255.0)) - mean) / std
    if LAYOUTS.get(str(spec.get("layout", "hwc")), "hwc") == "chw":
        return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)
    return x.reshape(-1).astype(np.float32)


def preprocess_batch(items: Sequence[bytes], spec: dict[str, Any]) -> np.ndarray:
    """Preprocess several images into one batch array."""
    return np.stack([preprocess(b, spec) for b in items])

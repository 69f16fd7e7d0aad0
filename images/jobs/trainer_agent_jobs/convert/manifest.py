"""The train job's ``model/manifest.json``: what was trained and how its inputs look."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.features import ImageGeometry


_LAYOUTS = {"flat-hwc": "hwc", "hwc": "hwc", "nchw": "chw", "chw": "chw"}


@dataclass(frozen=True)
class ImageInput(ImageGeometry):
    """The training-time image geometry plus how pixels are laid out for the model."""

    layout: str = "hwc"  # sklearn: flattened HWC rows; torch: NCHW tensors


@dataclass(frozen=True)
class ModelManifest:
    """The parts of ``manifest.json`` the conversion needs."""

    framework: str
    task: str
    modality: str
    labels: tuple[str, ...]
    image: ImageInput | None
    files: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


def _per_channel(values: Any, channels: int, default: float) -> tuple[float, ...]:
    if values is None:
        return tuple([default] * channels)
    if isinstance(values, (int, float)):
        return tuple([float(values)] * channels)
    out = tuple(float(v) for v in values)
    if len(out) == 1:
        return out * channels
    if len(out) != channels:
        raise ValueError(f"expected {channels} per-channel values, got {len(out)}")
    return out


def parse_manifest(raw: dict[str, Any]) -> ModelManifest:
    """Validate and normalise a manifest dictionary."""
    framework = raw.get("framework")
    if framework not in ("sklearn", "torch"):
        raise ValueError(f"manifest.framework must be sklearn or torch, got {framework!r}")
    inp = raw.get("input") or {}
    image: ImageInput | None = None
    if inp.get("kind") == "image":
        channels = int(inp.get("channels", 1))
        image = ImageInput(
            height=int(inp["height"]),
            width=int(inp["width"]),
            channels=channels,
            mean=_per_channel(inp.get("mean"), channels, 0.0),
            std=_per_channel(inp.get("std"), channels, 1.0),
            scale=float(inp.get("scale", 1.0 / 255.0)),
            layout=_LAYOUTS[str(inp.get("layout", "flat-hwc" if framework == "sklearn" else "nchw"))],
        )
    elif inp.get("kind") not in ("text", "tabular", "grounding", "detection", None):  # box models: convert/box_export.py reads the rest
        raise ValueError(f"unsupported input kind {inp.get('kind')!r}")
    labels = tuple(str(x) for x in raw.get("labels") or [])
    return ModelManifest(
        framework=framework,
        task=str(raw.get("task", "")),
        modality=str(raw.get("modality", "image" if image else "text")),
        labels=labels,
        image=image,
        files={str(k): str(v) for k, v in (raw.get("files") or {}).items()},
        raw=raw,
    )


def resolve_model_dir(path: str | Path) -> Path:
    """Accept the train job's output directory or its ``model/`` folder."""
    p = Path(path)
    if (p / "model" / "manifest.json").is_file():
        return p / "model"
    if (p / "manifest.json").is_file():
        return p
    raise FileNotFoundError(f"no manifest.json under {p} or {p / 'model'}")


def load_manifest(path: str | Path) -> tuple[ModelManifest, Path]:
    """Read ``manifest.json`` from a train output; returns it with the model folder."""
    model_dir = resolve_model_dir(path)
    return parse_manifest(json.loads((model_dir / "manifest.json").read_text())), model_dir

"""Test fixtures of the image generation jobs: the GENERATED style set of examples/brand-style (posters
drawn by a script, not real campaign images), and spec builders for the tiny from-config model."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[4]
GENERATOR = REPO_ROOT / "examples" / "brand-style" / "generate-style-set.py"


def write_style_set(out: Path, count: int = 24, size: int = 64, seed: int = 0, captions: bool = False) -> list[Path]:
    """The example's generated "spring campaign" posters under ``out/<product>/``."""
    spec = importlib.util.spec_from_file_location("generate_style_set", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.write_style_set(out, count, size, seed, captions))


def data_spec(folder: Path, resolution: int = 32, **extra: Any) -> dict[str, Any]:
    return {"task": "image-generation", "sources": [{"name": "style", "uri": f"file://{folder}", "format": "imagefolder"}],
            "resolution": resolution, **extra}


def tiny_train_spec(data_dir: Path, steps: int = 6, **evaluation: Any) -> dict[str, Any]:
    """LoRA on the tiny from-config model: a few steps, few inference steps (seconds on a CPU)."""
    return {
        "task": "image-generation", "dataDir": str(data_dir),
        "model": {"id": "diffusion-tiny-lora", "family": "diffusers-sd-lora", "hyperparameters": {
            "pretrained": "tiny", "resolution": 32, "steps": steps, "batchSize": 4, "gradientAccumulation": 1,
            "learningRate": 0.001, "rank": 4, "checkpointEvery": 3, "inferenceSteps": 4, "guidanceScale": 3.0}},
        "evaluation": {"images": 4, **evaluation},
    }

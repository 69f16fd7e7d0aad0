"""The Triton model repository of a fine-tuned generator: one Python-backend model named after the request.

``<root>/<model>/config.pbtxt`` declares the DESIGN.md contract — ``prompt`` BYTES, optional ``seed``
INT64 and ``steps`` INT32 in, ``image`` BYTES (base64 PNG) out, batched — and ``1/`` holds ``model.py``
(triton_model.py), ``generation.json`` and the LoRA weights. The base model stays where it is (a folder
on the artifact volume or a hub id) and is only named in generation.json. A ``parameters`` entry tells
the local server which job environment runs the model (Triton ignores parameters it does not know).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .triton_model import CONFIG_FILE

RUNTIME_PARAMETER = "TRAINER_AGENT_RUNTIME"


def config_pbtxt(name: str, max_batch_size: int, instances: int, accelerator: str, queue_delay_us: int) -> str:
    """config.pbtxt text of the generator."""
    one = "dims: [ 1 ] reshape: { shape: [ ] }"
    kind = "KIND_GPU" if accelerator == "gpu" else "KIND_CPU"
    return "\n".join([
        f'name: "{name}"',
        'backend: "python"',
        f"max_batch_size: {max_batch_size}",
        "input [",
        f'  {{ name: "prompt" data_type: TYPE_STRING {one} }},',
        f'  {{ name: "seed" data_type: TYPE_INT64 {one} optional: true }},',
        f'  {{ name: "steps" data_type: TYPE_INT32 {one} optional: true }}',
        "]",
        "output [",
        f'  {{ name: "image" data_type: TYPE_STRING {one} }}',
        "]",
        f"instance_group [ {{ count: {instances} kind: {kind} }} ]",
        f"dynamic_batching {{ max_queue_delay_microseconds: {queue_delay_us} }}",
        f'parameters: {{ key: "{RUNTIME_PARAMETER}" value: {{ string_value: "torch" }} }}',
    ]) + "\n"


@dataclass(frozen=True)
class GeneratorRepository:
    root: Path
    version_dir: Path
    config: dict[str, Any]
    files: list[str]
    lora_bytes: int


def write_repository(root: Path, name: str, manifest: dict[str, Any], model_dir: Path, steps: int, triton: dict[str, Any]) -> GeneratorRepository:
    """Write ``root/<name>/`` (replacing what was there) for the trained generator in ``model_dir``."""
    if root.exists():
        shutil.rmtree(root)
    version = root / name / "1"
    version.mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("triton_model.py"), version / "model.py")
    lora = manifest["lora"]["file"]
    shutil.copy(model_dir / lora, version / lora)
    config = {
        "base": manifest["base"]["location"], "baseReference": manifest["base"]["reference"], "lora": lora,
        "resolution": manifest["resolution"], "steps": steps, "guidanceScale": manifest["inference"]["guidanceScale"],
        "scheduler": manifest["inference"]["scheduler"],
    }
    (version / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    (root / name / "config.pbtxt").write_text(config_pbtxt(
        name, int(triton.get("maxBatchSize", 4)), int(triton.get("instances", 1)), str(triton.get("accelerator", "cpu")),
        int(triton.get("queueDelayUs", 100_000))))
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return GeneratorRepository(root, version, config, files, (version / lora).stat().st_size)

"""The generator's conversion job: ``python -m trainer_agent_jobs.generation.convert``.

Writes the Triton Python-backend repository (repository.py), loads it with the serving code, checks that
the LoRA artifact reproduces the training job's reference image for its fixed prompt and seed, and
measures what sizing needs: seconds per image at the served steps and resolution (single requests, and
one full batch), peak resident memory (and peak GPU memory on a GPU). It also writes a real example for
the API document.
"""
from __future__ import annotations

import base64
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..common import events, schemas
from ..common.runner import JobError, main
from .repository import write_repository

EXAMPLE_FILE = "example.png"
# An example image is inlined into the API document up to this size; larger ones are referenced.
INLINE_EXAMPLE_BYTES = 256 * 1024


def rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc), else its peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def pixels_of(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def find_model_dir(path: Path) -> Path:
    for candidate in (path, path / "model"):
        if (candidate / "manifest.json").is_file():
            return candidate
    raise JobError(f"no generator manifest.json in {path} or {path / 'model'}")


def run(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Repository, reproduction, benchmark, example; returns (result.json, termination summary)."""
    import json

    started = time.monotonic()
    model_dir = find_model_dir(Path(raw["modelDir"]))
    manifest = json.loads((model_dir / "manifest.json").read_text())
    schemas.validate(manifest, "generation-manifest")
    triton = {"instances": 1, "maxBatchSize": 4, "queueDelayUs": 100_000, "accelerator": "cpu", **raw.get("triton", {})}
    steps = int(raw.get("steps") or manifest["inference"]["steps"])
    name = raw["modelName"]
    repository = write_repository(out / "model-repository", name, manifest, model_dir, steps, triton)
    events.log(f"Wrote the Triton Python-backend repository {repository.root} ({len(repository.files)} files)")

    import torch

    from .triton_model import StyleGenerator, encode_png

    from ..train.torch_env import select_device

    base_rss = rss_bytes()
    # The same threads and device choice as training: on a CPU, TRAINER_AGENT_TORCH_THREADS (else every core).
    device = "cuda" if triton["accelerator"] == "gpu" and select_device("auto").kind == "cuda" else select_device("cpu").kind
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    generator = StyleGenerator.load(repository.config, str(repository.version_dir), device)

    # The artifact reloaded in another process must make the training job's reference image again.
    reference = manifest["reference"]
    again = generator.generate([reference["prompt"]], [reference["seed"]], reference["steps"])[0]
    expected = pixels_of((model_dir / reference["file"]).read_bytes())
    diff = int(np.abs(expected - again.astype(np.int16)).max()) if expected.shape == again.shape else 255
    tolerance = int(raw.get("reproductionTolerance", 2))
    events.log(f"Reproduced the reference image (seed {reference['seed']}): largest pixel difference {diff} (tolerance {tolerance})")
    if diff > tolerance:
        raise JobError(f"the reloaded LoRA does not reproduce the training job's reference image for seed {reference['seed']}: "
                       f"pixels differ by up to {diff} (tolerance {tolerance})")

    bench = raw.get("benchmark", {})
    prompt = raw.get("examplePrompt") or reference["prompt"]
    for i in range(int(bench.get("warmup", 1))):
        generator.generate([prompt], [i], steps)
    times: list[float] = []
    for i in range(int(bench.get("images", 4))):
        t0 = time.perf_counter()
        generator.generate([prompt], [100 + i], steps)
        times.append(time.perf_counter() - t0)
    batch = int(triton["maxBatchSize"])
    t0 = time.perf_counter()
    generator.generate([prompt] * batch, list(range(200, 200 + batch)), steps)
    batch_seconds = time.perf_counter() - t0
    mean = statistics.fmean(times)
    p99 = float(np.percentile(times, 99))
    cv = statistics.pstdev(times) / mean if mean > 0 else 0.0
    peak_rss = max(rss_bytes(), int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024)
    peak_gpu = int(torch.cuda.max_memory_allocated()) if device == "cuda" else None
    per_instance = max(1.0 / mean, batch / batch_seconds)
    events.log(f"{mean:.3f} s per image at {steps} steps and {manifest['resolution']} px on {device} (p99 {p99:.3f} s); "
               f"a batch of {batch} took {batch_seconds:.3f} s; peak RSS {peak_rss / 1e6:.0f} MB")

    seed = int(raw.get("seed", 0))
    example_png = encode_png(generator.generate([prompt], [seed], steps)[0])
    (out / EXAMPLE_FILE).write_bytes(example_png)
    instances = int(triton["instances"])
    profile = {
        "source": "python-backend", "accelerator": "gpu" if device == "cuda" else "cpu", "instances": instances,
        "maxBatchSize": batch, "serviceTimeMs": round(mean * 1000, 3), "serviceTimeP99Ms": round(max(p99, mean) * 1000, 3),
        "serviceTimeCv": round(cv, 4), "saturationQps": round(instances * per_instance, 6),
        "peakRssBytes": peak_rss, "baseRssBytes": base_rss,
    }
    notes = [f"The base model {manifest['base']['reference']} is referenced ({repository.config['base']}), not copied; "
             f"the repository holds the {repository.lora_bytes:,}-byte LoRA.",
             f"Measured {len(times)} single images and one batch of {batch} at {steps} steps, {manifest['resolution']} px, on {device}."]
    result = {
        "kind": "generation-convert", "ok": True, "modelName": name, "backend": "python",
        "repositoryDir": str(repository.root), "repositoryFiles": repository.files, "modelDir": str(model_dir),
        "modelBytes": repository.lora_bytes, "baseModel": manifest["base"]["reference"], "resolution": manifest["resolution"], "steps": steps,
        "reproduction": {"prompt": reference["prompt"], "seed": reference["seed"], "steps": reference["steps"],
                         "maxAbsDiff": diff, "tolerance": tolerance, "passed": True},
        "benchmark": {"device": device, "images": len(times), "secondsPerImage": round(mean, 4), "p99SecondsPerImage": round(max(p99, mean), 4),
                      "cv": round(cv, 4), "peakRssBytes": peak_rss, "baseRssBytes": base_rss,
                      **({"peakGpuBytes": peak_gpu} if peak_gpu is not None else {})},
        "example": {"prompt": prompt, "seed": seed, "steps": steps, "file": EXAMPLE_FILE,
                    **({"pngBase64": base64.b64encode(example_png).decode()} if len(example_png) <= INLINE_EXAMPLE_BYTES else {})},
        "profile": profile, "notes": notes, "durationSeconds": round(time.monotonic() - started, 3),
    }
    summary = {"kind": "generation-convert", "modelName": name, "secondsPerImage": result["benchmark"]["secondsPerImage"],
               "reproduction": diff, "peakRssBytes": peak_rss}
    return result, summary


if __name__ == "__main__":
    sys.exit(main("generation-convert", run))

"""The LoRA fine-tuning job: ``python -m trainer_agent_jobs.generation.train``.

Loads the base (a Stable Diffusion-class model named by path or hub id, or the tiny from-config one),
fine-tunes a LoRA on the style set's training images (train/diffusion loop: mixed precision and
gradient checkpointing on a GPU, checkpoints and resume), saves the LoRA weights as the artifact (the
base is referenced in the manifest, never copied), makes a reference image for a fixed prompt and seed,
and evaluates on the held-out style images: FID and CLIP score from given extractors, a labelled proxy.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..common import events, schemas
from ..common.jsonl import read_jsonl
from ..common.runner import JobError, main
from ..common.versions import package_versions
from ..train.spec import Objective
from . import evaluate as ev
from .loop import LoraConfig, lora_state, train_lora
from .models import LORA_TARGETS, TINY, base_location, load_pipeline, parameters

MODEL_DIR, LORA_FILE, REFERENCE_FILE, MANIFEST = "model", "pytorch_lora_weights.safetensors", "reference.png", "manifest.json"
SAMPLES_FILE, LOSS_PLOT = "samples.png", "loss-curve.png"
EXTRA_PACKAGES = ("diffusers", "peft", "transformers", "torchmetrics", "torch-fidelity", "accelerate")

# Families: the training code of the catalog's image-generation entries, with their defaults.
FAMILIES: dict[str, dict[str, Any]] = {
    "diffusers-sd-lora": {
        "pretrained": "hub:stable-diffusion-v1-5/stable-diffusion-v1-5", "resolution": 512, "steps": 500, "batchSize": 1,
        "gradientAccumulation": 4, "learningRate": 1e-4, "rank": 8, "checkpointEvery": 100, "mixedPrecision": True,
        "gradientCheckpointing": True, "inferenceSteps": 25, "guidanceScale": 7.5,
    },
}


def settings(raw: dict[str, Any]) -> dict[str, Any]:
    """The family's defaults under the spec's hyperparameters."""
    family = raw["model"]["family"]
    if family not in FAMILIES:
        raise JobError(f"unknown image generation family {family!r}; known: {sorted(FAMILIES)}")
    return {**FAMILIES[family], **raw["model"].get("hyperparameters", {})}


def style_tensors(rows: list[dict[str, Any]], resolution: int) -> Any:
    """Training images as float tensors in [-1, 1], ``[N, 3, R, R]`` (resized and centre-cropped like evaluation)."""
    import torch

    pixels = np.stack(ev.load_images([r["image"] for r in rows], resolution)).astype(np.float32) / 127.5 - 1.0
    return torch.as_tensor(pixels).permute(0, 3, 1, 2).contiguous()


def plots(out: Path, losses: list[float], samples: list[np.ndarray], prompts: list[str]) -> list[str]:
    """The loss curve and a sheet of generated samples with their prompts."""
    import matplotlib.pyplot as plt

    files: list[str] = []
    if losses:
        figure, axis = plt.subplots(figsize=(5, 3))
        window = max(1, len(losses) // 20)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        axis.plot(range(1, len(losses) + 1), losses, alpha=0.3, label="step")
        axis.plot(range(window, len(losses) + 1), smooth, label=f"mean of {window}")
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("denoising loss (MSE)")
        axis.legend()
        figure.tight_layout()
        figure.savefig(out / LOSS_PLOT, dpi=100)
        plt.close(figure)
        files.append(LOSS_PLOT)
    if samples:
        shown = samples[:8]
        figure, axes = plt.subplots(1, len(shown), figsize=(2 * len(shown), 2.4), squeeze=False)
        for axis, image, prompt in zip(axes[0], shown, prompts):
            axis.imshow(image)
            axis.set_title(prompt[:28], fontsize=6)
            axis.axis("off")
        figure.tight_layout()
        figure.savefig(out / SAMPLES_FILE, dpi=100)
        plt.close(figure)
        files.append(SAMPLES_FILE)
    return files


def versions() -> dict[str, str]:
    from importlib import metadata

    found = package_versions()
    for name in EXTRA_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def run(raw: dict[str, Any], out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fine-tune, save, evaluate; returns (result.json, termination summary)."""
    started = time.monotonic()
    from ..train.torch_env import seed_everything, select_device, torch_missing_reason
    from ..train.torch_loop import Progress, TerminationFlag

    reason = torch_missing_reason()
    if reason:
        raise JobError(f"image generation cannot train here: {reason}")
    h = settings(raw)
    seed = int(raw.get("seed", 0))
    data_dir = Path(raw["dataDir"])
    train_rows = read_jsonl(data_dir / "train.jsonl")
    held_rows = read_jsonl(data_dir / "heldout.jsonl")
    if not train_rows:
        raise JobError(f"{data_dir / 'train.jsonl'} has no style images to learn from")
    resolution = int(h["resolution"])
    device = select_device(str(h.get("device", "auto")), bool(h.get("mixedPrecision", True)))
    seed_everything(seed)
    reference_name = str(h["pretrained"])
    location = base_location(reference_name, out, seed, resolution)
    events.log(f"Fine-tuning a LoRA (rank {h['rank']}) on {reference_name} ({location}) with {len(train_rows)} style images "
               f"on {device.name}" + (f", mixed precision {device.amp_dtype}" if device.amp_dtype else ""))
    pipe = load_pipeline(location)
    base_parameters = parameters(pipe.unet, pipe.vae, pipe.text_encoder)
    config = LoraConfig(
        steps=int(h["steps"]), batch_size=int(h["batchSize"]), learning_rate=float(h["learningRate"]), rank=int(h["rank"]),
        alpha=float(h.get("alpha", h["rank"])), gradient_accumulation=int(h.get("gradientAccumulation", 1)),
        checkpoint_every=int(h.get("checkpointEvery", 50)), seed=seed,
        gradient_checkpointing=bool(h.get("gradientCheckpointing", False)) and device.kind == "cuda")
    progress = Progress(config.steps)
    outcome = train_lora(pipe, style_tensors(train_rows, resolution), [r["caption"] for r in train_rows], config,
                         device.torch_device, device.amp_dtype, out / "checkpoints", progress, TerminationFlag())
    events.log(f"Trained {outcome.steps} steps at {outcome.steps_per_second} steps/s; loss {outcome.losses[0]:.4f} → {outcome.losses[-1]:.4f}")

    # The artifact: the LoRA weights and a manifest that references the base.
    from diffusers import StableDiffusionPipeline

    model_dir = out / MODEL_DIR
    model_dir.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(str(model_dir), unet_lora_layers=lora_state(pipe.unet), weight_name=LORA_FILE,
                                              unet_lora_adapter_metadata=pipe.unet.peft_config["default"].to_dict())
    lora_parameters = parameters_of_lora(pipe.unet)
    del pipe
    release_memory()

    # What is evaluated is what serves: the base and the saved LoRA file, loaded by the serving code.
    from .triton_model import StyleGenerator, encode_png

    steps, guidance = int(h["inferenceSteps"]), float(h["guidanceScale"])
    generator = StyleGenerator.load({"base": location, "lora": LORA_FILE, "resolution": resolution, "guidanceScale": guidance,
                                     "steps": steps}, str(model_dir), device.kind)
    prompt_rows = held_rows or train_rows
    reference_prompt, reference_seed = prompt_rows[0]["caption"], seed + 1000
    reference = generator.generate([reference_prompt], [reference_seed], steps)[0]
    png = encode_png(reference)
    (model_dir / REFERENCE_FILE).write_bytes(png)
    reference_doc = {"prompt": reference_prompt, "seed": reference_seed, "steps": steps, "guidanceScale": guidance,
                     "file": REFERENCE_FILE, "sha256": hashlib.sha256(png).hexdigest()}

    evaluation_spec = raw.get("evaluation", {})
    count = min(int(evaluation_spec.get("images", 16)), len(held_rows))
    prompts = [r["caption"] for r in held_rows[:count]]
    seeds = [seed + 2000 + i for i in range(count)]
    events.log(f"Generating {count} images for the held-out captions ({steps} steps) with the fine-tuned model and the base")
    tuned = generator.generate(prompts, seeds, steps) if count else []
    base: list[np.ndarray] = []
    if count:
        generator.pipe.disable_lora()
        base = generator.generate(prompts, seeds, steps)
        generator.pipe.enable_lora()
    real = ev.load_images([r["image"] for r in held_rows[:count]], resolution)
    measured = ev.evaluate(ev.to_uint8_nchw(real) if real else [], ev.to_uint8_nchw(tuned) if tuned else [],
                           ev.to_uint8_nchw(base) if base else None, prompts, evaluation_spec.get("inceptionWeights"),
                           evaluation_spec.get("clipModel"), bool(evaluation_spec.get("proxy", True)))
    objectives = [Objective(o["metric"], o["op"], float(o["value"])) for o in raw.get("objectives", [])]
    outcomes = [{"metric": o.metric, "op": o.op, "value": o.value, "measured": measured.metrics.get(o.metric),
                 "met": o.met_by(measured.metrics.get(o.metric))} for o in objectives]

    package_versions_now = versions()
    manifest = {
        "framework": "torch", "task": "image-generation", "modelId": raw["model"]["id"], "family": raw["model"]["family"],
        "base": {"reference": reference_name, "location": location, "parameters": base_parameters},
        "lora": {"file": LORA_FILE, "rank": config.rank, "alpha": config.alpha, "targetModules": list(LORA_TARGETS)},
        "resolution": resolution, "inference": {"steps": steps, "guidanceScale": guidance, "scheduler": "DDIMScheduler"},
        "reference": reference_doc, "packageVersions": package_versions_now,
    }
    schemas.validate(manifest, "generation-manifest")
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    plot_files = plots(out, outcome.losses, tuned, prompts)
    hyper = {k: v for k, v in h.items() if isinstance(v, (int, float, str, bool)) or v is None}
    digest_file = data_dir / "result.json"
    data_digest = json.loads(digest_file.read_text()).get("digest") if digest_file.is_file() else None
    result = {
        "kind": "generation-train", "modelId": raw["model"]["id"], "family": raw["model"]["family"],
        "metrics": measured.metrics, "proxies": measured.proxies, "unavailable": measured.unavailable,
        "evaluation": {"method": "holdout", "heldOutImages": len(held_rows), "generatedImages": len(tuned),
                       "inferenceSteps": steps, "guidanceScale": guidance},
        "objectives": outcomes, "objectivesMet": all(o["met"] for o in outcomes),
        "parameters": lora_parameters, "baseParameters": base_parameters,
        "modelBytes": (model_dir / LORA_FILE).stat().st_size, "trainImages": len(train_rows),
        "durationSeconds": round(time.monotonic() - started, 3), "seed": seed,
        **({"dataDigest": data_digest} if data_digest else {}),
        "reference": reference_doc,
        "training": {
            "framework": "torch", "hyperparameters": hyper, "device": device.to_json(),
            "gradientCheckpointing": config.gradient_checkpointing, "steps": outcome.steps,
            "stepsPerSecond": outcome.steps_per_second, "samplesPerSecond": outcome.samples_per_second,
            **({"resumedFromStep": outcome.resumed_from_step} if outcome.resumed_from_step else {}),
            "peakMemoryBytes": outcome.peak_memory_bytes,
            "loss": {"first": outcome.losses[0], "last": outcome.losses[-1]},
        },
        "plots": plot_files, "modelDir": str(model_dir), "packageVersions": package_versions_now,
    }
    summary = {k: result[k] for k in ("kind", "modelId", "metrics", "objectivesMet", "parameters", "modelBytes", "durationSeconds", "seed")}
    summary["proxies"] = {p["name"]: p["value"] for p in measured.proxies}
    return result, summary


def release_memory() -> None:
    """Give the training pipeline's memory back before the serving copy loads."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def parameters_of_lora(unet: Any) -> int:
    """Trainable (LoRA) parameters of the UNet."""
    return int(sum(p.numel() for p in unet.parameters() if p.requires_grad))


if __name__ == "__main__":
    sys.exit(main("generation-train", run))

"""Measure LoRA fine-tuning of a full-size Stable Diffusion 1.5 UNet built from its config (random weights:
the arithmetic, memory and time are those of the real model; nothing is downloaded).

    python -m trainer_agent_jobs.generation.measure [--resolution 512] [--steps 5] [--batch 1] [--device auto]

Prints one JSON object: seconds per optimizer step (after one warm-up step), peak memory (GPU memory
on a GPU, resident memory on a CPU), parameters of the UNet and of the LoRA, and seconds per UNet call
at inference (a classifier-free-guidance pair), from which seconds per image at N steps follow. The
catalog's ``sd15-style-lora`` entry and the GPU check of the image generation issue use it.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

SD15_UNET: dict[str, Any] = {
    "sample_size": 64, "in_channels": 4, "out_channels": 4, "layers_per_block": 2,
    "block_out_channels": (320, 640, 1280, 1280), "cross_attention_dim": 768, "attention_head_dim": 8,
    "down_block_types": ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
}
TEXT_TOKENS, TEXT_WIDTH = 77, 768


def measure(resolution: int, steps: int, batch: int, device_preference: str, rank: int = 8) -> dict[str, Any]:
    import torch
    from diffusers import UNet2DConditionModel

    from ..train.torch_env import select_device
    from .loop import add_lora, peak_memory_bytes

    device = select_device(device_preference)
    torch_device = device.torch_device
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(device.amp_dtype or "")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD15_UNET)
    unet_parameters = sum(p.numel() for p in unet.parameters())
    unet.to(torch_device, dtype=dtype or torch.float32)
    trainable = add_lora(unet, rank, rank)
    if device.kind == "cuda":
        unet.enable_gradient_checkpointing()
        torch.cuda.reset_peak_memory_stats()
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    side = resolution // 8
    latents = torch.randn(batch, 4, side, side, device=torch_device)
    text = torch.randn(batch, TEXT_TOKENS, TEXT_WIDTH, device=torch_device)

    def step() -> None:
        timesteps = torch.randint(0, 1000, (batch,), device=torch_device)
        with torch.autocast(device_type=torch_device.type, dtype=dtype, enabled=dtype is not None):
            predicted = unet(latents.to(dtype or torch.float32), timesteps, text.to(dtype or torch.float32)).sample
        loss = torch.nn.functional.mse_loss(predicted.float(), latents.float())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def sync() -> None:
        if device.kind == "cuda":
            torch.cuda.synchronize()

    unet.train()
    step()  # warm-up: allocations, kernel choice
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    seconds_per_step = (time.perf_counter() - started) / steps
    training_peak = peak_memory_bytes(torch_device)
    unet.eval()
    pair_latents = latents[:1].repeat(2, 1, 1, 1).to(dtype or torch.float32)
    pair_text = text[:1].repeat(2, 1, 1).to(dtype or torch.float32)
    with torch.no_grad():
        unet(pair_latents, torch.tensor([500, 500], device=torch_device), pair_text)
        sync()
        started = time.perf_counter()
        calls = max(2, steps)
        for _ in range(calls):
            unet(pair_latents, torch.tensor([500, 500], device=torch_device), pair_text)
        sync()
    seconds_per_call = (time.perf_counter() - started) / calls
    return {
        "model": "stable-diffusion-1.5 UNet from config (random weights)", "device": device.name, "mixedPrecision": device.amp_dtype,
        "gradientCheckpointing": device.kind == "cuda", "resolution": resolution, "batch": batch, "steps": steps, "loraRank": rank,
        "unetParameters": int(unet_parameters), "loraParameters": int(sum(p.numel() for p in trainable)),
        "secondsPerStep": round(seconds_per_step, 4), "peakMemoryBytes": int(training_peak),
        "secondsPerGuidedUnetCall": round(seconds_per_call, 4),
        "secondsPerImageAt25Steps": round(25 * seconds_per_call, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=512)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    print(json.dumps(measure(args.resolution, args.steps, args.batch, args.device)))


if __name__ == "__main__":
    main()


def sd15_parts() -> dict[str, Any]:
    """The SD 1.5 VAE and CLIP text encoder configs (the UNet's is :data:`SD15_UNET`)."""
    return {
        "vae": {"block_out_channels": (128, 256, 512, 512), "down_block_types": ("DownEncoderBlock2D",) * 4,
                "up_block_types": ("UpDecoderBlock2D",) * 4, "layers_per_block": 2, "latent_channels": 4, "sample_size": 512},
        "text": {"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12,
                 "vocab_size": 49408, "max_position_embeddings": 77, "projection_dim": 768},
    }


def generator_size(entry: dict[str, Any]) -> tuple[int, int]:
    """(parameters, bytes) of the generator a catalog entry serves: base + LoRA. The SD 1.5 base is built
    on the meta device (no memory, nothing downloaded) and served in FP16; the tiny one is built and saved
    (FP32). The LoRA is saved in FP32 either way."""
    import tempfile
    from pathlib import Path

    import torch

    from .loop import add_lora
    from .models import build_tiny_pipeline

    h = entry["hyperparameters"]
    rank = int(h.get("rank", 8))
    if h.get("pretrained") == "tiny":
        pipe = build_tiny_pipeline(0, int(h.get("resolution", 32)))
        with tempfile.TemporaryDirectory() as tmp:
            pipe.save_pretrained(tmp)
            base_bytes = sum(p.stat().st_size for p in Path(tmp).rglob("*.safetensors"))
        modules = (pipe.unet, pipe.vae, pipe.text_encoder)
        base = sum(p.numel() for m in modules for p in m.parameters())
        lora = sum(p.numel() for p in add_lora(pipe.unet, rank, rank))
        return base + lora, base_bytes + 4 * lora
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    parts = sd15_parts()
    with torch.device("meta"):
        unet = UNet2DConditionModel(**SD15_UNET)
        modules = (unet, AutoencoderKL(**parts["vae"]), CLIPTextModel(CLIPTextConfig(**parts["text"])))
        base = sum(p.numel() for m in modules for p in m.parameters())
        lora = sum(p.numel() for p in add_lora(unet, rank, rank))
    return base + lora, 2 * base + 4 * lora

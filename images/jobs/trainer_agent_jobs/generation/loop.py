"""LoRA fine-tuning of a diffusion UNet: the denoising objective on the style set, with what the other
torch jobs have (train/torch_loop.py): AdamW with warm-up and decay, mixed precision and gradient
checkpointing on a GPU, gradient accumulation and clipping, progress lines, checkpoints every N steps
and on SIGTERM, and resume from the newest checkpoint.

The frozen parts (VAE, text encoder) run once: every image's latent distribution and every caption's
embedding are cached before the first step. Batches and noise come from generators seeded by the step
number, so a resumed run draws exactly what the uninterrupted one would have.
"""
from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common import events
from ..train.torch_loop import Progress, StopRequested, TerminationFlag, newest_checkpoint, save_checkpoint, warmup_linear_decay
from .models import LORA_TARGETS


@dataclass(frozen=True)
class LoraConfig:
    """Hyperparameters of one LoRA run."""

    steps: int
    batch_size: int
    learning_rate: float
    rank: int
    alpha: float
    gradient_accumulation: int = 1
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    checkpoint_every: int = 50
    progress_every: int = 5
    gradient_checkpointing: bool = False
    seed: int = 0


@dataclass
class LoraOutcome:
    """What the run did."""

    steps: int = 0
    losses: list[float] = field(default_factory=list)
    resumed_from_step: int = 0
    seconds: float = 0.0
    samples: int = 0
    peak_memory_bytes: int = 0

    @property
    def steps_per_second(self) -> float:
        return round(max(0, self.steps - self.resumed_from_step) / self.seconds, 4) if self.seconds > 0 else 0.0

    @property
    def samples_per_second(self) -> float:
        return round(self.samples / self.seconds, 4) if self.seconds > 0 else 0.0


def add_lora(unet: Any, rank: int, alpha: float) -> list[Any]:
    """Freeze the UNet and add a LoRA adapter to its attention projections; returns the trainable parameters."""
    from peft import LoraConfig as PeftLoraConfig

    unet.requires_grad_(False)
    unet.add_adapter(PeftLoraConfig(r=rank, lora_alpha=alpha, init_lora_weights="gaussian", target_modules=list(LORA_TARGETS)))
    trainable = [p for p in unet.parameters() if p.requires_grad]
    for p in trainable:  # the adapter learns in float32 even when the base runs in half precision
        p.data = p.data.float()
    return trainable


def lora_state(unet: Any) -> dict[str, Any]:
    """The adapter's weights in diffusers' naming (what ``load_lora_weights`` reads)."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    return convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))


def peak_memory_bytes(device: Any) -> int:
    """Peak GPU memory allocated on a GPU, peak resident memory of this process on a CPU."""
    import torch

    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def encode_style_set(pipe: Any, images: Any, captions: Sequence[str], device: Any, dtype: Any, batch: int = 8) -> tuple[Any, Any, Any]:
    """(latent means, latent stds, caption embeddings): what the frozen VAE and text encoder make of the set, once."""
    import torch

    means, stds, embeddings = [], [], []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            chunk = images[start:start + batch].to(device, dtype=dtype)
            dist = pipe.vae.encode(chunk).latent_dist
            means.append(dist.mean.float().cpu())
            stds.append(dist.std.float().cpu())
        tokenizer = pipe.tokenizer
        for start in range(0, len(captions), batch):
            ids = tokenizer(list(captions[start:start + batch]), padding="max_length", max_length=tokenizer.model_max_length,
                            truncation=True, return_tensors="pt").input_ids.to(device)
            embeddings.append(pipe.text_encoder(ids)[0].float().cpu())
    return torch.cat(means), torch.cat(stds), torch.cat(embeddings)


def train_lora(pipe: Any, images: Any, captions: Sequence[str], config: LoraConfig, device: Any, amp_dtype: str | None,
               checkpoint_dir: Path, progress: Progress, stop: TerminationFlag) -> LoraOutcome:
    """Fine-tune a LoRA on ``pipe.unet`` for ``config.steps`` optimizer steps (resuming when a checkpoint exists).

    ``images`` are float tensors in [-1, 1], ``[N, 3, R, R]``; ``captions`` one per image.
    """
    import torch
    from diffusers import DDPMScheduler

    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(amp_dtype or "")
    weight_dtype = dtype or torch.float32
    pipe.vae.to(device, dtype=weight_dtype)
    pipe.text_encoder.to(device, dtype=weight_dtype)
    pipe.vae.requires_grad_(False)
    pipe.text_encoder.requires_grad_(False)
    unet = pipe.unet.to(device, dtype=weight_dtype)
    trainable = add_lora(unet, config.rank, config.alpha)
    if config.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    prediction = noise_scheduler.config.get("prediction_type", "epsilon")
    scaling = float(pipe.vae.config.scaling_factor)

    events.log(f"Encoding {len(captions)} style images and captions with the frozen VAE and text encoder")
    means, stds, embeddings = encode_style_set(pipe, images, captions, device, weight_dtype)
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_linear_decay(config.steps, config.warmup_ratio))
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    outcome = LoraOutcome()
    checkpoint = newest_checkpoint(checkpoint_dir)
    if checkpoint is not None:
        saved = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
        from peft.utils import set_peft_model_state_dict

        set_peft_model_state_dict(unet, saved["lora"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        outcome.steps, outcome.losses = int(saved["step"]), list(saved["losses"])
        outcome.resumed_from_step = outcome.steps
        progress.done += outcome.steps
        events.log(f"Resumed from checkpoint {checkpoint.name} (step {outcome.steps} of {config.steps})")

    def state() -> dict[str, Any]:
        from peft.utils import get_peft_model_state_dict

        return {"lora": {k: v.detach().cpu() for k, v in get_peft_model_state_dict(unet).items()},
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                "step": outcome.steps, "losses": outcome.losses}

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    unet.train()
    started = time.monotonic()
    n = len(captions)
    while outcome.steps < config.steps:
        step_loss = 0.0
        for micro in range(config.gradient_accumulation):
            draw = config.seed * 1_000_003 + outcome.steps * 97 + micro
            rows = np.random.default_rng(draw).choice(n, size=min(config.batch_size, n), replace=n < config.batch_size)
            generator = torch.Generator().manual_seed(draw)
            index = torch.as_tensor(rows)
            latents = (means[index] + stds[index] * torch.randn(means[index].shape, generator=generator)) * scaling
            noise = torch.randn(latents.shape, generator=generator)
            timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(rows),), generator=generator)
            noisy = noise_scheduler.add_noise(latents, noise, timesteps)
            target = noise if prediction == "epsilon" else noise_scheduler.get_velocity(latents, noise, timesteps)
            with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
                predicted = unet(noisy.to(device, dtype=weight_dtype), timesteps.to(device),
                                 embeddings[index].to(device, dtype=weight_dtype)).sample
            loss = torch.nn.functional.mse_loss(predicted.float(), target.to(device).float()) / config.gradient_accumulation
            scaler.scale(loss).backward()
            step_loss += float(loss.detach())
            outcome.samples += len(rows)
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        outcome.steps += 1
        outcome.losses.append(round(step_loss, 6))
        progress.step(config.batch_size * config.gradient_accumulation, {"loss": round(step_loss, 4), "learningRate": scheduler.get_last_lr()[0]},
                      emit=outcome.steps % config.progress_every == 0 or outcome.steps == config.steps)
        if stop.requested or outcome.steps % config.checkpoint_every == 0:
            save_checkpoint(checkpoint_dir, state())
        if stop.requested:
            events.log(f"SIGTERM: saved checkpoint at step {outcome.steps}; exiting")
            raise StopRequested()
    outcome.seconds = time.monotonic() - started
    outcome.peak_memory_bytes = peak_memory_bytes(device)
    unet.eval()
    return outcome

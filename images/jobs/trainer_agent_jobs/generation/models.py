"""The diffusion models a LoRA is trained on: a Stable Diffusion-class pipeline the request names (a
path or a hub id; the base is referenced, never copied), or ``tiny``: a from-config pipeline with a
tiny UNet, VAE, CLIP text encoder and a character-level CLIP tokenizer built here (as diffusers' own
tests build theirs), for tests and demos on a CPU. Its random weights make poor pictures; it proves
the machinery, not the quality.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..common.runner import JobError

TINY = "tiny"
TINY_MARKER = "tiny-from-config.json"
# What a LoRA adapts: the attention projections of the UNet (the usual choice of diffusers' LoRA scripts).
LORA_TARGETS = ("to_k", "to_q", "to_v", "to_out.0")


def tiny_tokenizer(max_length: int = 32) -> Any:
    """A CLIP tokenizer whose vocabulary is the 256 byte-level symbols (each alone and word-final):
    every prompt tokenises, character by character, without a downloaded vocabulary."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    symbols = sorted(ByteLevel.alphabet())
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for symbol in symbols:
            vocab.setdefault(symbol + suffix, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def build_tiny_pipeline(seed: int = 0, resolution: int = 32) -> Any:
    """A Stable Diffusion pipeline from configs: 2-block UNet (32/64 channels, cross-attention 32),
    2-block VAE (latents at half the resolution), 2-layer CLIP text encoder; seeded random weights."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=resolution // 2, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32)
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4, sample_size=resolution,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"], up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"])
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, vocab_size=len(tokenizer), max_position_embeddings=tokenizer.model_max_length))
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    return StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def materialise_tiny(directory: Path, seed: int = 0, resolution: int = 32) -> Path:
    """Save the tiny pipeline under ``directory`` once (the base a tiny LoRA refers to); returns it."""
    if (directory / TINY_MARKER).is_file():
        return directory
    partial = directory.with_name(directory.name + ".partial")
    build_tiny_pipeline(seed, resolution).save_pretrained(str(partial))
    (partial / TINY_MARKER).write_text(json.dumps({"seed": seed, "resolution": resolution}) + "\n")
    if directory.exists():
        import shutil

        shutil.rmtree(directory)
    partial.replace(directory)
    return directory


def base_location(reference: str, out: Path, seed: int, resolution: int) -> str:
    """What loads the base: ``tiny`` is built into ``out/base``; paths and ``hub:`` ids resolve as weights do."""
    if reference == TINY:
        return str(materialise_tiny(out / "base", seed, resolution))
    from ..train.weights import resolve_weights

    return resolve_weights(reference)


def load_pipeline(location: str, dtype: Any = None) -> Any:
    """A Stable Diffusion-class pipeline (SD 1.x/2.x layout: unet, vae, text_encoder, tokenizer, scheduler)."""
    from diffusers import StableDiffusionPipeline

    try:
        pipe = StableDiffusionPipeline.from_pretrained(location, safety_checker=None, requires_safety_checker=False,
                                                       **({"torch_dtype": dtype} if dtype is not None else {}))
    except (OSError, ValueError, EnvironmentError) as error:
        raise JobError(f"cannot load a Stable Diffusion-class pipeline from {location}: {error}") from error
    pipe.set_progress_bar_config(disable=True)
    return pipe


def parameters(*modules: Any) -> int:
    """Parameters of the modules together."""
    return int(sum(p.numel() for m in modules for p in m.parameters()))

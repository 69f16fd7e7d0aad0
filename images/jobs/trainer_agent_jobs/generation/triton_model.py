"""Triton Python backend: text-to-image with a LoRA fine-tuned diffusion model (copied into the model
repository as ``1/model.py`` by the conversion job; self-contained: torch, diffusers, peft and Pillow).

Inputs (KServe v2 / DESIGN.md): ``prompt`` BYTES [N]; optional ``seed`` INT64 [N] (absent: a random one
per image) and ``steps`` INT32 [N] (absent: the default in generation.json). Output: ``image`` BYTES
[N], each a base64-encoded PNG. ``generation.json`` beside this file names the base model (a folder or a
hub id: referenced, never copied), the LoRA weights file, the resolution, the guidance scale and the
scheduler. The training job imports :class:`StyleGenerator` from this file, so the images it evaluates
and the reference image it saves come from the code that serves.
"""
import base64
import io
import json
import os
import secrets

import numpy as np

try:
    import triton_python_backend_utils as pb_utils
except ImportError:  # imported by the training and conversion jobs, outside Triton
    pb_utils = None

MAX_STEPS = 200
CONFIG_FILE = "generation.json"


def encode_png(array):
    """uint8 HWC pixels → PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


class StyleGenerator:
    """A Stable Diffusion-class pipeline with the LoRA applied: prompts and seeds in, uint8 HWC images out."""

    def __init__(self, pipe, resolution, guidance_scale, default_steps, device):
        self.pipe = pipe
        self.resolution = int(resolution)
        self.guidance_scale = float(guidance_scale)
        self.default_steps = int(default_steps)
        self.device = device

    @classmethod
    def load(cls, config, here, device=None):
        """Load the base model and apply the LoRA weights in ``here`` (the repository's version folder)."""
        import torch
        from diffusers import DDIMScheduler, StableDiffusionPipeline

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
        pipe = StableDiffusionPipeline.from_pretrained(config["base"], torch_dtype=dtype, safety_checker=None, requires_safety_checker=False)
        pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
        pipe.load_lora_weights(here, weight_name=config["lora"])
        pipe.set_progress_bar_config(disable=True)
        pipe.to(device)
        return cls(pipe, config["resolution"], config["guidanceScale"], config["steps"], device)

    def generate(self, prompts, seeds, steps):
        """One image per prompt, each from its own seeded generator (the same seed gives the same image)."""
        import torch

        generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]
        with torch.no_grad():
            result = self.pipe(list(prompts), num_inference_steps=int(steps), guidance_scale=self.guidance_scale,
                               height=self.resolution, width=self.resolution, generator=generators, output_type="np")
        return [np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8) for image in result.images]


def _optional(request, name):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy().reshape(-1)


class TritonPythonModel:
    """The Triton model: batches of prompts → base64 PNGs."""

    def initialize(self, args):
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, CONFIG_FILE)) as handle:
            config = json.load(handle)
        kind = str(args.get("model_instance_kind", "CPU")).upper()
        device = f"cuda:{args.get('model_instance_device_id', 0)}" if kind == "GPU" else None
        self.generator = StyleGenerator.load(config, here, device)

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                prompts = [p.decode("utf-8") if isinstance(p, bytes) else str(p) for p in _optional(request, "prompt")]
                seeds = _optional(request, "seed")
                steps = _optional(request, "steps")
                if seeds is None:
                    seeds = [secrets.randbelow(2**31) for _ in prompts]
                if len(seeds) != len(prompts) or (steps is not None and len(steps) != len(prompts)):
                    raise ValueError("seed and steps need one value per prompt")
                wanted = sorted({int(s) for s in steps}) if steps is not None else [self.generator.default_steps]
                if len(wanted) != 1:
                    raise ValueError("all rows of one request take the same number of steps")
                if not 1 <= wanted[0] <= MAX_STEPS:
                    raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {wanted[0]}")
                if any(int(s) < 0 for s in seeds):
                    raise ValueError("seeds are not negative")
                images = self.generator.generate(prompts, seeds, wanted[0])
                encoded = np.array([base64.b64encode(encode_png(image)) for image in images], dtype=np.object_)
                responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("image", encoded)]))
            except ValueError as error:
                responses.append(pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(error))))
        return responses

    def finalize(self):
        self.generator = None

"""Image generation: a style set of images, LoRA fine-tuning of a text-to-image diffusion model, its
evaluation (FID and CLIP score from real feature extractors, a labelled proxy otherwise) and a Triton
Python-backend model that serves it (prompt, seed, steps in; base64 PNG out)."""

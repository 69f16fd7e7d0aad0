"""The PyTorch runtime of a training job: whether torch is here, which device, seeds, threads, precision.

The same code trains on a GPU when one is there (CUDA, mixed precision) and on the CPU otherwise.
"""
from __future__ import annotations

import importlib.util
import os
import random
from dataclasses import dataclass
from typing import Any


def torch_missing_reason() -> str | None:
    """Why PyTorch training cannot run here, or None when it can."""
    missing = [m for m in ("torch", "transformers", "timm", "torchvision", "torchmetrics") if importlib.util.find_spec(m) is None]
    if missing:
        return (f"the Python packages {missing} are not installed: the PyTorch environment is built from "
                "images/jobs/requirements-torch.txt (the trainer image has it)")
    return None


@dataclass(frozen=True)
class Device:
    """Where a model trains and how: ``cuda`` with autocast in ``amp_dtype``, or ``cpu`` in float32."""

    kind: str
    name: str
    amp_dtype: str | None  # "bfloat16" | "float16" | None

    @property
    def torch_device(self) -> Any:
        import torch

        return torch.device(self.kind)

    def to_json(self) -> dict[str, Any]:
        """For result.json."""
        return {"kind": self.kind, "name": self.name, "mixedPrecision": self.amp_dtype}


def select_device(preference: str = "auto", mixed_precision: bool = True) -> Device:
    """``auto``: CUDA when available, else CPU. Mixed precision on GPU: bfloat16 where supported, else float16."""
    import torch

    if preference in ("auto", "cuda") and torch.cuda.is_available():
        amp = None
        if mixed_precision:
            amp = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return Device("cuda", torch.cuda.get_device_name(0), amp)
    # Processes torchrun started on this machine share its cores (one process: all of them).
    local_processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    threads = int(os.environ.get("TRAINER_AGENT_TORCH_THREADS", "0")) or max(1, (os.cpu_count() or 1) // local_processes)
    torch.set_num_threads(threads)
    return Device("cpu", f"cpu x{threads}", None)


def seed_everything(seed: int) -> None:
    """Fixed seeds for Python, NumPy and torch (CPU and CUDA)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)

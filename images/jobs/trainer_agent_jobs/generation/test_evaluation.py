"""FID and CLIP score are computed by torchmetrics from weights the request gives (here: an Inception-v3 and
a tiny CLIP built from configs and saved, so nothing is downloaded; the numbers mean nothing, the path is
real), never without them; the proxy is the Fréchet distance in EfficientNet-Lite0's feature space."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

pytestmark = pytest.mark.torch


def images(seed: int, n: int = 3) -> Any:
    import torch

    return torch.as_tensor(np.random.default_rng(seed).integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8))


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """torch-fidelity's Inception-v3 with random weights, saved where a request would point."""
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"), \
         mock.patch("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url", return_value={}):
        network = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    # PyTorch's default initialisation fades to zero through 90 layers; He initialisation keeps images apart.
    for module in network.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("weights") / "pt_inception-random.pth"
    torch.save(network.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CLIP model and processor from configs, saved as a Hugging Face folder."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from trainer_agent_jobs.generation.models import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    config = CLIPConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                     "num_hidden_layers": 2, "max_position_embeddings": tokenizer.model_max_length, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4, "num_hidden_layers": 2},
        projection_dim=16)
    folder = tmp_path_factory.mktemp("clip") / "tiny-clip"
    CLIPModel(config).save_pretrained(folder)
    CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}), tokenizer=tokenizer).save_pretrained(folder)
    return folder


def test_fid_comes_from_the_given_inception_weights(inception_weights: Path) -> None:
    from trainer_agent_jobs.generation.evaluate import INCEPTION_SIZE, evaluate, fid_with, resized

    # Two images a set: the fewest FID takes, and Inception-v3 at 299 px is slow on a CPU. The 2048-d FID
    # (an eigendecomposition of a 2048×2048 matrix, the slow part) is computed once, through evaluate().
    real, other = images(0, 2), images(1, 2)
    different = evaluate(real, other, None, ["a"] * 2, str(inception_weights), None, proxy=False)
    assert different.metrics["fid"] > 0.1  # well above the 0 (±0.01) of identical sets below
    assert [u["metric"] for u in different.unavailable] == ["clip-score"]
    # The same weights file's 64-d features: identical sets are at distance 0, the two sets are not.
    same, apart = fid_with(64, resized(real, INCEPTION_SIZE), [resized(real.clone(), INCEPTION_SIZE), resized(other, INCEPTION_SIZE)],
                           feature_extractor_weights_path=str(inception_weights))
    assert same == pytest.approx(0, abs=1e-2) and apart > same


def test_clip_score_comes_from_the_given_clip_model(clip_folder: Path) -> None:
    from trainer_agent_jobs.generation.evaluate import evaluate

    out = evaluate(images(0), images(1), None, ["a pastel bottle", "a mint jar", "a box"], None, str(clip_folder), proxy=False)
    assert 0 <= out.metrics["clip-score"] <= 100
    assert "fid" not in out.metrics and out.unavailable[0]["metric"] == "fid"


def test_without_weights_nothing_is_computed_and_the_reasons_are_given() -> None:
    from trainer_agent_jobs.generation.evaluate import evaluate

    out = evaluate(images(0), images(1), None, ["a"] * 3, "/missing/inception.pth", None, proxy=False)
    assert out.metrics == {} and out.proxies == []
    assert [u["metric"] for u in out.unavailable] == ["fid", "clip-score"]
    assert "pretrained weights not found at /missing/inception.pth" in out.unavailable[0]["reason"]
    assert "no weights were given" in out.unavailable[1]["reason"]


def test_the_proxy_is_a_distance_in_efficientnet_features_and_compares_base_and_tuned() -> None:
    from trainer_agent_jobs.generation.evaluate import PROXY_NAME, evaluate

    real = images(0)
    out = evaluate(real, real.clone(), images(2), ["a"] * 3, None, None, proxy=True)
    proxy = out.proxies[0]
    assert proxy["name"] == PROXY_NAME and "ImageNet" in proxy["featureExtractor"]
    assert proxy["value"] == pytest.approx(0, abs=1e-2) and proxy["baseValue"] > 1

"""The LoRA fine-tuning and packaging jobs on the tiny from-config model (a few steps on a CPU): the LoRA is
the artifact and the base is referenced, metrics are only what real extractors measure, the reloaded
artifact reproduces the reference image, and the packaging job refuses one that does not."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from conftest import JobRun, run_job
from trainer_agent_jobs.generation.fixtures import data_spec, tiny_train_spec, write_style_set

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def style_data(tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    root = tmp_path_factory.mktemp("style")
    write_style_set(root / "images", count=16)
    run = run_job("generation.data", data_spec(root / "images"), root / "data")
    assert run.code == 0, run.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def trained(style_data: JobRun, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    run = run_job("generation.train", tiny_train_spec(style_data.out), tmp_path_factory.mktemp("train") / "out")
    assert run.code == 0, run.stderr[-3000:]
    return run


def test_the_lora_is_the_artifact_and_the_base_is_referenced(trained: JobRun) -> None:
    model = trained.out / "model"
    manifest = json.loads((model / "manifest.json").read_text())
    assert sorted(p.name for p in model.iterdir()) == ["manifest.json", "pytorch_lora_weights.safetensors", "reference.png"]
    assert manifest["base"]["reference"] == "tiny" and manifest["base"]["location"] == str(trained.out / "base")
    assert trained.result["modelBytes"] == (model / "pytorch_lora_weights.safetensors").stat().st_size < 200_000
    assert trained.result["parameters"] == 23_040 and trained.result["baseParameters"] > 2_000_000
    t = trained.result["training"]
    assert t["steps"] == 6 and t["stepsPerSecond"] > 0 and t["peakMemoryBytes"] > 0 and t["device"]["kind"] == "cpu"
    progress = [e for e in trained.events if e.get("stage") == "train"]
    assert progress and progress[-1]["step"] == 6 and progress[-1]["total"] == 6
    assert not list((trained.out / "checkpoints").glob("*.partial"))


def test_without_extractor_weights_fid_and_clip_are_not_invented_and_the_proxy_is_labelled(trained: JobRun) -> None:
    result = trained.result
    assert result["metrics"] == {}
    assert {u["metric"] for u in result["unavailable"]} == {"fid", "clip-score"}
    assert all("no weights were given" in u["reason"] for u in result["unavailable"])
    proxy = result["proxies"][0]
    assert proxy["name"] == "fid-proxy-efficientnet-lite0" and "not FID" in proxy["note"]
    assert proxy["value"] > 0 and proxy["baseValue"] is not None and proxy["baseValue"] != proxy["value"]


def test_packaging_reproduces_the_reference_and_measures_seconds_per_image(trained: JobRun, tmp_path: Path) -> None:
    spec = {"modelDir": str(trained.out), "modelName": "spring", "benchmark": {"images": 2, "warmup": 0}, "triton": {"maxBatchSize": 2}}
    run = run_job("generation.convert", spec, tmp_path / "out")
    assert run.code == 0, run.stderr[-2000:]
    r = run.result
    assert r["reproduction"]["passed"] and r["reproduction"]["maxAbsDiff"] <= 2
    assert r["repositoryFiles"] == ["spring/1/generation.json", "spring/1/model.py", "spring/1/pytorch_lora_weights.safetensors", "spring/config.pbtxt"]
    config = (Path(r["repositoryDir"]) / "spring" / "config.pbtxt").read_text()
    assert 'backend: "python"' in config and 'name: "seed" data_type: TYPE_INT64' in config and "optional: true" in config
    generation = json.loads((Path(r["repositoryDir"]) / "spring" / "1" / "generation.json").read_text())
    assert generation["base"] == str(trained.out / "base") and generation["steps"] == 4
    assert r["benchmark"]["secondsPerImage"] > 0 and r["profile"]["serviceTimeMs"] == pytest.approx(1000 * r["benchmark"]["secondsPerImage"], rel=1e-3)
    assert r["profile"]["peakRssBytes"] >= r["profile"]["baseRssBytes"] > 0
    with Image.open(run.out / "example.png") as example:
        assert example.size == (32, 32)


def test_packaging_refuses_an_artifact_that_does_not_reproduce_its_reference(trained: JobRun, tmp_path: Path) -> None:
    copy = tmp_path / "train"
    shutil.copytree(trained.out / "model", copy / "model")
    Image.new("RGB", (32, 32), "white").save(copy / "model" / "reference.png")
    run = run_job("generation.convert", {"modelDir": str(copy), "modelName": "spring", "benchmark": {"images": 2, "warmup": 0}}, tmp_path / "out")
    assert run.code == 1
    assert "does not reproduce the training job's reference image" in run.termination["error"]


def test_a_hub_base_is_refused_clearly_when_the_hub_is_off(style_data: JobRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = tiny_train_spec(style_data.out)
    spec["model"]["hyperparameters"]["pretrained"] = "hub:stable-diffusion-v1-5/stable-diffusion-v1-5"
    run = run_job("generation.train", spec, tmp_path / "out")
    assert run.code == 1 and "needs a model hub, but HF_HUB_OFFLINE is set" in run.termination["error"]

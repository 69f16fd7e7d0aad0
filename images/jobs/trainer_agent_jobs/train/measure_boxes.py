"""Catalog measurements of the box entries (measure_catalog.py calls this for grounding and detection).

The entry is built as its family builds it (no weights), saved, exported as the conversion job exports it,
and timed on generated inputs: one row through ONNX Runtime on one thread, and seconds per training
sample (a grounding query, a detection image) of a few optimizer steps with the family's own loss.
"""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..common.boxes import BoxRow

STEPS = 3
QUERIES = ["red ceramic mug", "green tea tin", "yellow rubber duck", "black headphones"]


def _scene(work: Path, n: int) -> list[BoxRow]:
    """``n`` generated images with two boxes each (grounding queries / detection labels)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        image = Image.fromarray(rng.integers(0, 255, size=(120, 160, 3), dtype=np.uint8))
        draw = ImageDraw.Draw(image)
        boxes = [(10.0, 10.0, 60.0, 70.0), (80.0, 30.0, 150.0, 110.0)]
        for b in boxes:
            draw.rectangle(b, fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        path = work / f"scene-{i}.png"
        image.save(path)
        rows.append(BoxRow("measure", i, str(path), 160, 120, tuple(boxes), ("mug", "tin")))
    return rows


def _latency_ms(session: Any, feed: dict[str, np.ndarray], repeats: int = 20) -> float:
    session.run(None, feed)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _manifest(directory: Path, task: str, labels: list[str], model_input: dict[str, Any], files: dict[str, str]) -> Any:
    from ..convert.manifest import load_manifest

    (directory / "manifest.json").write_text(json.dumps({"framework": "torch", "task": task, "modality": "image", "modelId": "measure",
                                                         "family": "measure", "labels": labels, "input": model_input, "files": files}))
    return load_manifest(directory)


def measure_grounding(entry: dict[str, Any], work: Path) -> tuple[int, int, float, float]:
    """Parameters, ONNX bytes (with the tokenizer), latency of one (image, query), seconds per query trained."""
    import torch

    from ..convert.box_export import export_grounding
    from . import grounding as g

    h = dict(entry["hyperparameters"])
    model = g.new_grounding_model(h, QUERIES)
    files = g.save_grounding_model(model, work / "model")
    manifest, model_dir = _manifest(work / "model", "visual-grounding", [], {"kind": "grounding", "image": model.image.preprocessing(),
                                                                                "tokenizer": files["tokenizer"], "maxLength": model.max_length}, files)
    rows = [BoxRow(r.source, r.index, r.image, r.width, r.height, (r.boxes[0],), (), QUERIES[0]) for r in _scene(work, 4)]
    exported, feeds, _, _, tokenizer = export_grounding(manifest, model_dir, work, rows[:1])
    import onnx

    onnx.save(exported, str(work / "model.onnx"))
    latency = _latency_ms(_session(work / "model.onnx"), feeds[0])
    batch = int(h.get("batchSize", 8))
    pixels = torch.as_tensor(g.pixels_of([r.image for r in rows], model.image))[[i % len(rows) for i in range(batch)]]
    ids, mask = g.encode_queries(model.tokenizer, QUERIES[:2] * batch)
    target = [(np.stack([g.normalised_box(rows[0]), g.normalised_box(rows[0])]), np.stack([g.positive_patches(g.normalised_box(rows[0]), model.grid)] * 2))] * batch
    optimizer = torch.optim.AdamW(model.module.parameters(), lr=1e-5)
    model.module.train()
    elapsed = 0.0
    for step in range(STEPS + 1):
        started = time.perf_counter()
        logits, boxes = g.forward_images(model, pixels, torch.as_tensor(ids), torch.as_tensor(mask))
        g.grounding_loss(logits, boxes, target).backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:
            elapsed += time.perf_counter() - started
    parameters = sum(int(p.numel()) for p in model.module.parameters())
    return parameters, (work / "model.onnx").stat().st_size + tokenizer.stat().st_size, latency, elapsed / (STEPS * batch * 2)


def measure_detection(entry: dict[str, Any], work: Path) -> tuple[int, int, float, float]:
    """Parameters, ONNX bytes, latency of one image, seconds per image trained."""
    import torch

    from ..convert.box_export import export_detection
    from . import detection as d
    from .grounding import pixels_of

    h = dict(entry["hyperparameters"])
    labels = ["mug", "tin"]
    config = d.config_from(h, labels)
    model = d.build_detector(config)
    files = d.save_detector(model, config, work / "model")
    manifest, model_dir = _manifest(work / "model", "object-detection", labels, {"kind": "detection", "image": config.preprocessing(),
                                                                                  "maxDetections": config.max_detections}, files)
    rows = _scene(work, 4)
    exported, feeds, _, _ = export_detection(manifest, model_dir, work, rows[:1])
    import onnx

    onnx.save(exported, str(work / "model.onnx"))
    latency = _latency_ms(_session(work / "model.onnx"), feeds[0])
    batch = int(h.get("batchSize", 8))
    chosen = [rows[i % len(rows)] for i in range(batch)]
    pixels = list(torch.as_tensor(pixels_of([r.image for r in chosen], d._ImageSpec(config))))
    targets = d.targets_of(chosen, labels, config.image_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    elapsed = 0.0
    for step in range(STEPS + 1):
        started = time.perf_counter()
        sum(model(pixels, targets).values()).backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:
            elapsed += time.perf_counter() - started
    parameters = sum(int(p.numel()) for p in model.parameters())
    return parameters, (work / "model.onnx").stat().st_size, latency, elapsed / (STEPS * batch)


def measure_box_entry(entry: dict[str, Any], work: Path) -> tuple[int, int, float, float]:
    """(parameters, bytes, latency ms, train seconds per sample) of a grounding or detection entry."""
    if "visual-grounding" in entry["tasks"]:
        return measure_grounding(entry, work)
    return measure_detection(entry, work)

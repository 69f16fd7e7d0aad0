"""The conversion job for box models: export, parity on held-out rows, precision gate, Triton repository,
benchmark, result (the same steps and result shape as the classifiers')."""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx

from . import quantize
from .box_export import BoxExport, box_parity, box_quality, export_boxes, run_graph
from .box_triton import write_box_repository
from .manifest import ModelManifest
from .spec import ConvertSpec
from .triton import detect_tensorrt


def _benchmark_feeds(export: BoxExport, path: Path) -> Path:
    """One request row per entry, every input padded to a common shape (token ids with 0 and a 0 mask)."""
    feeds = export.feeds or []
    if export.kind == "grounding":
        longest = max((f["input_ids"].shape[1] for f in feeds), default=1)
        pad = lambda a: np.pad(a, ((0, 0), (0, longest - a.shape[1])))  # noqa: E731
        arrays = {"pixel_values": np.concatenate([f["pixel_values"] for f in feeds]),
                  "input_ids": np.concatenate([pad(f["input_ids"]) for f in feeds]),
                  "attention_mask": np.concatenate([pad(f["attention_mask"]) for f in feeds]),
                  "image_size": np.concatenate([f["image_size"] for f in feeds])}
    else:
        arrays = {"pixels": np.concatenate([f["pixels"] for f in feeds]), "image_size": np.concatenate([f["image_size"] for f in feeds])}
    np.savez(path, **arrays)
    return path


def benchmark(spec: ConvertSpec, export: BoxExport, onnx_path: Path, work: Path) -> dict[str, Any]:
    """The onnxruntime sweep of convert/bench.py on the held-out rows' feeds (detection: one image per run)."""
    from .job import run_benchmark

    feeds = _benchmark_feeds(export, work / "bench-feeds.npz")
    return run_benchmark(spec, onnx_path, "-", feeds, batch_sizes=[1] if export.kind == "detection" else None, timeout_factor=2)


def reference_rows(export: BoxExport) -> list[dict[str, Any]]:
    """What the trained model answered on each held-out row (the served model must answer the same)."""
    out = []
    if export.kind == "grounding":
        boxes, scores = export.reference
        for i, (row, box, score) in enumerate(zip(export.rows, boxes, scores)):
            out.append({"index": i, "image": row.image, "query": row.query, "boxes": [float(v) for v in box], "scores": float(score),
                        "truth": [float(v) for v in row.box]})
    else:
        for i, (row, found) in enumerate(zip(export.rows, export.reference)):
            out.append({"index": i, "image": row.image, "boxes": np.asarray(found["boxes"]).tolist(), "scores": np.asarray(found["scores"]).tolist(),
                        "labels": [export.labels[int(k)] for k in found["labels"]], "truth": {"boxes": [list(b) for b in row.boxes], "labels": list(row.labels)}})
    return out


EXAMPLE_MAX_BYTES = 150_000


def api_example(export: BoxExport) -> dict[str, Any] | None:
    """The smallest of the first held-out images (at most EXAMPLE_MAX_BYTES) with the converted model's answer,
    for the API document: a real image and query, not a placeholder."""
    import base64

    candidates = [(Path(r.image).stat().st_size, i) for i, r in enumerate(export.rows[:20]) if Path(r.image).is_file()]
    candidates = [c for c in candidates if c[0] <= EXAMPLE_MAX_BYTES]
    if not candidates:
        return None
    i = min(candidates)[1]
    row, answer = export.rows[i], reference_rows(export)[i]
    example: dict[str, Any] = {"image": base64.b64encode(Path(row.image).read_bytes()).decode()}
    if export.kind == "grounding":
        example.update(query=row.query, boxes=[answer["boxes"]], scores=[answer["scores"]])
    else:
        example.update(boxes=answer["boxes"], scores=answer["scores"], labels=answer["labels"])
    return example


def convert_boxes(spec: ConvertSpec, manifest: ModelManifest, model_dir: Path, out: Path, progress: Callable[..., None],
                  notes: list[str], serving_profile: Callable[[dict[str, Any], ConvertSpec], dict[str, Any]]) -> dict[str, Any]:
    """Every step for a box model; returns result.json's body (a failure body when parity fails)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        progress("export", f"Exporting the {manifest.task} model to ONNX", framework=manifest.framework)
        export = export_boxes(manifest, model_dir, work, spec.data_dir, spec.parity.max_rows)
        timings = {"exportSeconds": round(time.monotonic() - started, 3)}
        if not export.rows:
            notes.append("no held-out rows found: parity and the accuracy gate need the prepared data's test split")
        progress("parity", f"Checking parity on {len(export.rows)} held-out rows from {export.rows_source}")
        fp32_predictions = run_graph(export.kind, export.model, export.feeds)
        parity = box_parity(export.kind, export.reference, fp32_predictions)
        passed = parity["maxAbsProbDiff"] <= spec.parity.max_abs_prob_diff and parity["labelAgreement"] >= spec.parity.min_label_agreement
        parity_json = {k: parity[k] for k in ("rows", "maxAbsProbDiff", "labelAgreement")} | {"passed": passed}
        if not passed:
            return {"kind": "error", "job": "convert", "error": (
                f"parity check failed: max |score difference| {parity['maxAbsProbDiff']:.2e}, largest box difference "
                f"{parity['maxBoxDiffPx']:.3f} px, {parity['labelAgreement']:.4f} of rows agree (minimum {spec.parity.min_label_agreement:.4f})")[:2000]}
        notes.append(f"parity: largest box difference {parity['maxBoxDiffPx']:.4f} px between the trained model and the ONNX graph")
        fp32_quality = box_quality(export.kind, fp32_predictions, export.rows, export.labels)
        measure = "Acc@0.5" if export.kind == "grounding" else "mAP@0.5"

        def evaluate(candidate: onnx.ModelProto) -> float | None:
            return box_quality(export.kind, run_graph(export.kind, candidate, export.feeds), export.rows, export.labels)

        variants = []
        for precision in spec.precisions:
            progress("precision", f"Trying {precision.upper()} ({measure} gate)")
            made, why = quantize.int8_dynamic(export.model) if precision == "int8" else quantize.fp16(export.model, spec.triton.accelerator)
            variants.append(quantize.gate(precision, made, why, fp32_quality, spec.max_accuracy_drop, evaluate))
        accepted = sorted((v for v in variants if v.accepted and v.model is not None), key=lambda v: v.size_bytes or 0)
        chosen, precision = (accepted[0].model, accepted[0].precision) if accepted else (export.model, "fp32")
        assert chosen is not None
        if not accepted:
            notes.append("serving FP32: " + ("; ".join(v.reason for v in variants) or "no reduced precision requested"))
        trt = detect_tensorrt(spec.triton.accelerator, spec.tensorrt)
        progress("repository", "Writing Triton model repository", tensorrt=trt.available)
        raw_input = manifest.raw.get("input") or {}
        repo = write_box_repository(out / "model-repository", spec.model_name, export.kind, chosen, export.labels, export.preprocessing, spec.triton,
                                    trt.available, export.tokenizer, raw_input.get("maxLength"), raw_input.get("maxDetections"))
        ref_path = out / "reference-predictions.jsonl"
        ref_path.write_text("".join(json.dumps(r) + "\n" for r in reference_rows(export)))
        progress("benchmark", "Benchmarking with onnxruntime")
        bench_started = time.monotonic()
        bench = benchmark(spec, export, repo.onnx_path, work)
        timings["benchmarkSeconds"] = round(time.monotonic() - bench_started, 3)
        reference_quality = box_quality(export.kind, export.reference, export.rows, export.labels)
        example = api_example(export)
    extra: dict[str, Any] = {"example": example} if example else {}
    if raw_input.get("maxDetections"):
        extra["maxDetections"] = int(raw_input["maxDetections"])
    return {**extra,
        "kind": "convert", "ok": True, "modelName": spec.model_name, "framework": manifest.framework, "task": manifest.task,
        "modality": manifest.modality, "inputName": "pixel_values" if export.kind == "grounding" else "pixels", "labels": export.labels,
        "rows": {"source": export.rows_source, "count": len(export.rows)}, "parity": parity_json, "notes": notes,
        "precision": precision, "runtime": "onnxruntime+tensorrt" if trt.available else "onnxruntime",
        "tensorrt": {"available": trt.available, "note": trt.note},
        "accuracy": {"onnx": fp32_quality, "reference": reference_quality, "measure": measure},
        "variants": [v.to_json() for v in variants], "format": "onnx", "modelBytes": repo.model_bytes,
        "repositoryDir": str(repo.root), "modelDir": str(repo.model_dir), "onnxPath": str(repo.onnx_path), "repositoryFiles": repo.files,
        "referencePredictions": str(ref_path),
        "triton": {"instances": spec.triton.instances, "maxBatchSize": spec.triton.max_batch_size, "queueDelayUs": spec.triton.queue_delay_us,
                   "accelerator": spec.triton.accelerator},
        "benchmark": bench, "profile": serving_profile(bench, spec), "timings": timings,
        "durationSeconds": round(time.monotonic() - started, 3),
    }

"""The conversion job: export, parity, precision gate, Triton repository, benchmark, result."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx

from . import quantize
from ..common.boxes import is_box_task
from .export import export
from .manifest import load_manifest
from .parity import Predictions, accuracy, compare, onnx_predict
from .rows import load_rows, preprocessing_of
from .spec import ConvertSpec, load
from .triton import detect_tensorrt, write_repository

SUMMARY_LIMIT = 4000
Progress = Callable[..., None]


def failure(error: str) -> dict[str, Any]:
    """A failed job's result.json (agents/jobs/train-spec.ts JobFailure)."""
    return {"kind": "error", "job": "convert", "error": error[:2000]}


def stdout_progress(step: str, message: str, **fields: Any) -> None:
    """One JSON line per step on stdout (the operator tails it)."""
    sys.stdout.write(json.dumps({"event": "progress", "step": step, "message": message, **fields}) + "\n")
    sys.stdout.flush()


def _session(model: onnx.ModelProto) -> Any:
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _benchmark(spec: ConvertSpec, onnx_path: Path, exported: Any, inputs: Any, work: Path) -> dict[str, Any]:
    input_name = exported.input_name
    if input_name == "text":
        rows_file = work / "bench-inputs.json"
        rows_file.write_text(json.dumps([str(x) for x in inputs]))
    else:
        rows_file = work / "bench-inputs.npy"
        np.save(rows_file, np.asarray(inputs, dtype=np.float32))
    # Tokenised text: the benchmark tokenises each batch with the model's tokenizer.json, as serving does.
    tokenizer = ["--tokenizer", str(exported.tokenizer), "--max-length", str(exported.max_length)] if exported.tokenizer else []
    return run_benchmark(spec, onnx_path, input_name, rows_file, tokenizer)


def run_benchmark(spec: ConvertSpec, onnx_path: Path, input_name: str, rows_file: Path, extra: list[str] | None = None,
                  batch_sizes: list[int] | None = None, timeout_factor: int = 1) -> dict[str, Any]:
    """The benchmark process (convert/bench.py) over ``rows_file``: JSON strings, .npy rows or .npz feeds.
    ``batch_sizes`` replaces the spec's (capped by Triton's max batch size); ``timeout_factor`` gives slow
    models (boxes) more time before the process is given up."""
    b = spec.benchmark
    sizes = batch_sizes or sorted({s for s in b.batch_sizes if s <= spec.triton.max_batch_size} | {1})
    cmd = [sys.executable, "-m", "trainer_agent_jobs.convert.bench", "--model", str(onnx_path),
           "--input-name", input_name, "--inputs", str(rows_file),
           "--batch-sizes", ",".join(map(str, sizes)), "--concurrencies", ",".join(map(str, b.concurrencies)),
           "--seconds", str(b.seconds_per_point), "--max-requests", str(b.max_requests_per_point),
           "--intra-op-threads", str(b.intra_op_threads), *(extra or [])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]))
    limit = timeout_factor * (60 + 2 * b.seconds_per_point * (len(sizes) + len(b.concurrencies)))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _reference_rows(rows: Any, ref: Predictions) -> list[dict[str, Any]]:
    out = []
    for i, raw in enumerate(rows.raw):
        item: dict[str, Any] = {"index": i, "label": ref.labels[i],
                                "probabilities": [float(x) for x in ref.probabilities[i]], "truth": rows.labels[i]}
        for key in ("text", "image"):
            if key in raw:
                item[key] = raw[key]
        out.append(item)
    return out


def convert(spec: ConvertSpec, out: Path, progress: Progress = stdout_progress, schema: str | None = None) -> dict[str, Any]:
    """Run every step; returns result.json's body (``ok`` false with ``error`` when a gate failed)."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = [f"spec validated against {schema}" if schema else "spec schema not found: validated by the parser only"]
    manifest, model_dir = load_manifest(spec.model_dir)
    if is_box_task(manifest.task):
        from .box_job import convert_boxes

        return convert_boxes(spec, manifest, model_dir, out, progress, notes, serving_profile)
    progress("export", f"Exporting {manifest.framework} model to ONNX", framework=manifest.framework)
    if manifest.modality == "tabular":
        from .tabular import convert_table

        return convert_table(spec, manifest, model_dir, out, progress, notes, started, run_benchmark, serving_profile)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exported = export(manifest, model_dir, work)
        timings = {"exportSeconds": round(time.monotonic() - started, 3)}
        fp32 = exported.model
        notes += exported.warnings
        rows = load_rows(manifest, spec.data_dir, spec.parity.max_rows, spec.seed)
        if rows.source == "synthetic":
            notes.append("no held-out split found: parity checked on synthetic inputs, accuracy gate unavailable")
        progress("parity", f"Checking parity on {len(rows.raw)} rows from {rows.source}")
        ref_labels, ref_probs = exported.reference.predict(rows.inputs)
        reference = Predictions(labels=ref_labels, probabilities=ref_probs)
        onnx_fp32 = onnx_predict(_session(fp32), exported.feed, rows.inputs)
        parity = compare(reference, onnx_fp32, spec.parity.max_abs_prob_diff, spec.parity.min_label_agreement)
        base: dict[str, Any] = {
            "ok": False, "modelName": spec.model_name, "framework": manifest.framework, "task": manifest.task,
            "modality": manifest.modality, "inputName": exported.input_name, "labels": exported.labels,
            "rows": {"source": rows.source, "count": len(rows.raw)}, "parity": parity.to_json(), "notes": notes,
        }
        if not parity.passed:
            return failure(f"parity check failed: max |dp| {parity.max_abs_prob_diff:.2e} (limit "
                             f"{spec.parity.max_abs_prob_diff:.2e}), label agreement {parity.label_agreement:.4f} "
                             f"(minimum {spec.parity.min_label_agreement:.4f})"
                             + "".join(f"; {w}" for w in exported.warnings))
        fp32_acc = accuracy(onnx_fp32.labels, rows.labels)

        def evaluate(candidate: onnx.ModelProto) -> float | None:
            return accuracy(onnx_predict(_session(candidate), exported.feed, rows.inputs).labels, rows.labels)

        variants = []
        for precision in spec.precisions:
            progress("precision", f"Trying {precision.upper()}")
            made, why = (quantize.int8_dynamic(fp32) if precision == "int8"
                         else quantize.fp16(fp32, spec.triton.accelerator))
            variants.append(quantize.gate(precision, made, why, fp32_acc, spec.max_accuracy_drop, evaluate))
        accepted = sorted((v for v in variants if v.accepted and v.model is not None), key=lambda v: v.size_bytes or 0)
        chosen, precision = (accepted[0].model, accepted[0].precision) if accepted else (fp32, "fp32")
        assert chosen is not None
        if not accepted:
            notes.append("serving FP32: " + ("; ".join(v.reason for v in variants) or "no reduced precision requested"))
        trt = detect_tensorrt(spec.triton.accelerator, spec.tensorrt)
        progress("repository", "Writing Triton model repository", tensorrt=trt.available)
        repo = write_repository(out / "model-repository", spec.model_name, chosen, exported.labels,
                                preprocessing_of(manifest), spec.triton, trt.available, exported.tokenizer)
        ref_path = out / "reference-predictions.jsonl"
        ref_path.write_text("".join(json.dumps(r) + "\n" for r in _reference_rows(rows, reference)))
        progress("benchmark", "Benchmarking with onnxruntime")
        bench_started = time.monotonic()
        bench = _benchmark(spec, repo.onnx_path, exported, rows.inputs, work)
        timings["benchmarkSeconds"] = round(time.monotonic() - bench_started, 3)
    base.update({
        "kind": "convert",
        "ok": True,
        "precision": precision,
        "runtime": "onnxruntime+tensorrt" if trt.available else "onnxruntime",
        "tensorrt": {"available": trt.available, "note": trt.note},
        "accuracy": {"onnx": fp32_acc, "reference": accuracy(reference.labels, rows.labels)},
        "variants": [v.to_json() for v in variants],
        "format": "onnx",
        "modelBytes": repo.model_bytes,
        "repositoryDir": str(repo.root),
        "modelDir": str(repo.model_dir),
        "onnxPath": str(repo.onnx_path),
        "repositoryFiles": repo.files,
        "referencePredictions": str(ref_path),
        "triton": {"instances": spec.triton.instances, "maxBatchSize": spec.triton.max_batch_size,
                   "queueDelayUs": spec.triton.queue_delay_us, "accelerator": spec.triton.accelerator},
        "benchmark": bench,
        "profile": serving_profile(bench, spec),
        "timings": timings,
        "durationSeconds": round(time.monotonic() - started, 3),
    })
    return base


def serving_profile(bench: dict[str, Any], spec: ConvertSpec) -> dict[str, Any]:
    """The benchmark as the ServingProfile that agents/server/estimate.ts sizes replicas from.

    Raw onnxruntime calls: it leaves out HTTP and (de)serialisation, so it overstates what a server
    sustains; the local backend can re-measure through its server (operator/local/serve/profile.ts).
    """
    return {
        "source": "python-onnxruntime",
        "accelerator": "cpu",
        "instances": spec.triton.instances,
        "maxBatchSize": spec.triton.max_batch_size,
        "serviceTimeMs": max(float(bench["serviceTimeMs"]), 1e-6),
        "serviceTimeP99Ms": max(float(bench["serviceTimeP99Ms"]), 1e-6),
        "serviceTimeCv": float(bench["serviceTimeCv"]),
        "saturationQps": max(float(bench["saturationQps"]), 1e-6),
        "peakRssBytes": int(bench["peakRssBytes"]),
        "baseRssBytes": int(bench["baseRssBytes"]),
        **({"stability": bench["stability"]} if bench.get("stability") else {}),
    }


def summary(result: dict[str, Any]) -> str:
    """Compact JSON (< 4 KiB) for the termination message."""
    bench = result.get("benchmark") or {}
    if result.get("kind") == "error":
        return json.dumps({k: (str(v)[:2000] if k == "error" else v) for k, v in result.items()})
    small = {k: result.get(k) for k in ("kind", "ok", "modelName", "precision", "runtime", "modelBytes", "repositoryDir", "parity")}
    small["benchmark"] = {k: bench.get(k) for k in ("saturationQps", "serviceTimeMs", "peakRssBytes")} if bench else None
    if result.get("error"):
        small["error"] = str(result["error"])[:1500]
    text = json.dumps(small)
    return text if len(text) <= SUMMARY_LIMIT else json.dumps({"kind": "convert", "ok": True, "note": "summary too long: see result.json"})


def main(spec_path: str, out: str, termination_log: str | None) -> int:
    """Load the spec, convert, write result.json and the termination summary; exit 0 only on success."""
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        spec, schema = load(spec_path)
        result = convert(spec, out_dir, schema=schema)
    except Exception as exc:  # the operator reads the reason from result.json / the termination log
        result = failure(f"{type(exc).__name__}: {exc}")
        sys.stderr.write(traceback.format_exc())
    (out_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    if termination_log:
        Path(termination_log).write_text(summary(result))
    stdout_progress("done", "Conversion finished" if result.get("ok") else f"Conversion failed: {result.get('error')}",
                    ok=bool(result.get("ok")))
    return 0 if result.get("kind") == "convert" else 1

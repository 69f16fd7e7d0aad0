"""Benchmark an ONNX model with onnxruntime: service time per batch size, concurrency sweep, peak RSS.

Runs in its own process (``python -m trainer_agent_jobs.convert.bench``) so its peak RSS is that of a
runtime holding the model, not of the conversion job. Every loop is bounded in time and count.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np


def _rss_bytes() -> int:
    """Current resident set size (Linux /proc), falling back to the peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _peak_rss_bytes()


def _peak_rss_bytes() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def _batch(inputs: Any, start: int, size: int) -> Any:
    idx = [(start + i) % len(inputs) for i in range(size)]
    return inputs[idx]


class TokenizedRows:
    """Texts that become ``input_ids``/``attention_mask`` when a batch is taken (tokenising is part of the
    measured service time, as in serving)."""

    def __init__(self, texts: list[str], tokenizer_file: str, max_length: int) -> None:
        from ..train.text_encoder import load_tokenizer

        self.texts = texts
        self.tokenizer = load_tokenizer(tokenizer_file, max_length)

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: list[int]) -> dict[str, np.ndarray]:
        from ..train.text_encoder import encode

        ids, mask = encode(self.tokenizer, [self.texts[i] for i in index])
        return {"input_ids": ids, "attention_mask": mask}


def _feed(input_name: str, batch: Any) -> dict[str, Any]:
    return batch if isinstance(batch, dict) else {input_name: batch}


def batch_sweep(session: Any, input_name: str, inputs: Any, sizes: list[int], seconds: float, max_runs: int) -> list[dict[str, Any]]:
    """Service time of one call per batch size (single caller, no queueing)."""
    out = []
    for size in sizes:
        session.run(None, _feed(input_name, _batch(inputs, 0, size)))  # warm-up
        times: list[float] = []
        deadline = time.perf_counter() + seconds
        while len(times) < max_runs and (len(times) < 5 or time.perf_counter() < deadline):
            t0 = time.perf_counter()
            session.run(None, _feed(input_name, _batch(inputs, len(times) * size, size)))
            times.append((time.perf_counter() - t0) * 1000.0)
        mean = float(np.mean(times))
        out.append({"batchSize": size, "runs": len(times), "serviceTimeMsMean": mean,
                    "serviceTimeMsP50": _percentile(times, 50), "serviceTimeMsP99": _percentile(times, 99),
                    "serviceTimeCv": float(np.std(times) / mean) if mean > 0 else 0.0,
                    "rowsPerSecond": size * 1000.0 / mean if mean > 0 else 0.0})
    return out


def concurrency_sweep(session: Any, input_name: str, inputs: Any, levels: list[int], seconds: float, max_requests: int) -> list[dict[str, Any]]:
    """Closed loop of single-row calls from ``c`` threads (onnxruntime releases the GIL while it runs)."""
    out = []
    for c in levels:
        latencies: list[list[float]] = [[] for _ in range(c)]
        budget = [max_requests]
        lock = threading.Lock()
        deadline = time.perf_counter() + seconds

        def worker(i: int) -> None:
            n = i
            while time.perf_counter() < deadline:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                t0 = time.perf_counter()
                session.run(None, _feed(input_name, _batch(inputs, n, 1)))
                latencies[i].append((time.perf_counter() - t0) * 1000.0)
                n += c

        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(c)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        flat = [x for xs in latencies for x in xs]
        out.append({"concurrency": c, "requests": len(flat), "qps": len(flat) / elapsed if elapsed > 0 else 0.0,
                    "p50Ms": _percentile(flat, 50), "p99Ms": _percentile(flat, 99)})
    return out


def run_benchmark(model_path: str, input_name: str, inputs: Any, batch_sizes: list[int], concurrencies: list[int],
                  seconds: float, max_requests: int, intra_op_threads: int) -> dict[str, Any]:
    """The whole sweep, summarised as a serving profile (see agents/server/estimate.ts)."""
    import onnxruntime as ort

    base_rss = _rss_bytes()
    opts = ort.SessionOptions()
    if intra_op_threads > 0:
        opts.intra_op_num_threads = intra_op_threads
    session = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    batches = batch_sweep(session, input_name, inputs, batch_sizes, seconds / 2, max_requests)
    levels = concurrency_sweep(session, input_name, inputs, concurrencies, seconds, max_requests)
    single = batches[0] if batches and batches[0]["batchSize"] == 1 else None
    saturation = max((lv["qps"] for lv in levels), default=0.0)
    return {
        "runtime": f"onnxruntime {ort.__version__} (CPUExecutionProvider)",
        "intraOpThreads": intra_op_threads,
        "batches": batches,
        "concurrency": levels,
        "saturationQps": saturation,
        "maxRowsPerSecond": max((b["rowsPerSecond"] for b in batches), default=0.0),
        "serviceTimeMs": single["serviceTimeMsMean"] if single else None,
        "serviceTimeP99Ms": single["serviceTimeMsP99"] if single else None,
        "serviceTimeCv": single["serviceTimeCv"] if single else None,
        "baseRssBytes": base_rss,
        "peakRssBytes": _peak_rss_bytes(),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: ``--model m.onnx --input-name text --inputs rows.json|rows.npy [--batch-sizes 1,2 ...]``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input-name", required=True)
    ap.add_argument("--inputs", required=True, help="JSON list of strings or .npy float rows")
    ap.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    ap.add_argument("--concurrencies", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--intra-op-threads", type=int, default=1)
    ap.add_argument("--tokenizer", default=None, help="tokenizer.json: texts are tokenised into input_ids/attention_mask")
    ap.add_argument("--max-length", type=int, default=128)
    a = ap.parse_args(argv)
    path = Path(a.inputs)
    inputs: Any = np.load(path) if path.suffix == ".npy" else np.array(json.loads(path.read_text()), dtype=object)
    if a.tokenizer:
        inputs = TokenizedRows([str(x) for x in inputs], a.tokenizer, a.max_length)
    result = run_benchmark(a.model, a.input_name, inputs, [int(x) for x in a.batch_sizes.split(",")],
                           [int(x) for x in a.concurrencies.split(",")], a.seconds, a.max_requests, a.intra_op_threads)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark an ONNX model with onnxruntime: service time per batch size, concurrency sweep, peak RSS.

Runs in its own process (``python -m trainer_agent_jobs.convert.bench``) so its peak RSS is that of a
runtime holding the model, not of the conversion job. Every loop is bounded in time and count. The
numbers the estimate plans with (single-row service time, throughput per concurrency level) are
measured in windows until three in a row agree within 10%; ``stability`` says whether they did.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

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


class FeedRows:
    """Rows of a graph with several inputs (table features, box models): one array per graph input, one row
    per request row (strings become object arrays, as onnxruntime takes them)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = {k: (v.astype(object) if v.dtype.kind == "U" else v) for k, v in arrays.items()}

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, index: list[int]) -> dict[str, np.ndarray]:
        return {name: array[index] for name, array in self.arrays.items()}


def _feed(input_name: str, batch: Any) -> dict[str, Any]:
    return batch if isinstance(batch, dict) else {input_name: batch}


#: Windows agree when each of the last three is within this fraction of their mean (perf_analyzer's rule).
TOLERANCE = 0.10
MIN_WINDOWS = 3
MAX_WINDOWS = 6


def spread(values: list[float]) -> float:
    """Largest relative distance of ``values`` from their mean (1.0 when the mean is 0 or there are none)."""
    if not values:
        return 1.0
    mean = sum(values) / len(values)
    return max(abs(v - mean) / mean for v in values) if mean > 0 else 1.0


def stable_windows(measure: Callable[[int], dict[str, Any]], key: str, max_windows: int = MAX_WINDOWS) -> dict[str, Any]:
    """Run ``measure(window_index)`` until the last three windows' ``key`` agree within :data:`TOLERANCE`.

    Returns the windows, whether they agreed, and their spread; ``value`` is the mean of the last three
    when they agreed, else the lower quartile of all windows (a busy machine must not inflate what is
    planned on, nor should one outlier decide it).
    """
    windows: list[dict[str, Any]] = []
    while len(windows) < max(MIN_WINDOWS, max_windows):
        windows.append(measure(len(windows)))
        if len(windows) >= MIN_WINDOWS and spread([w[key] for w in windows[-3:]]) <= TOLERANCE:
            break
    last = [w[key] for w in windows[-3:]]
    stable = len(last) == 3 and spread(last) <= TOLERANCE
    return {"windows": windows, "stable": stable, "spread": spread(last),
            "value": (sum(last) / len(last)) if stable else float(np.percentile([w[key] for w in windows], 25))}


def _service_times(session: Any, input_name: str, inputs: Any, size: int, seconds: float, max_runs: int, start: int) -> list[float]:
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < max_runs and (len(times) < 5 or time.perf_counter() < deadline):
        feed = _feed(input_name, _batch(inputs, start + len(times) * size, size))
        t0 = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def batch_sweep(session: Any, input_name: str, inputs: Any, sizes: list[int], seconds: float, max_runs: int) -> list[dict[str, Any]]:
    """Service time of one call per batch size (single caller, no queueing). Batch size 1, which the
    estimate plans single-row requests with, is measured in windows until three agree; its mean and
    p99 are the medians of the last three windows', so one window slowed by a neighbour does not count."""
    out = []
    for size in sizes:
        session.run(None, _feed(input_name, _batch(inputs, 0, size)))  # warm-up
        if size == 1:
            def window(i: int) -> dict[str, Any]:
                times = _service_times(session, input_name, inputs, 1, seconds / MIN_WINDOWS, max_runs, i * max_runs)
                return {"times": times, "mean": float(np.mean(times)), "p99": _percentile(times, 99)}
            measured = stable_windows(window, "mean")
            last = measured["windows"][-3:]
            times = [t for w in last for t in w["times"]]
            mean = float(np.median([w["mean"] for w in last]))
            p99 = float(np.median([w["p99"] for w in last]))
            extra = {"windows": len(measured["windows"]), "stable": measured["stable"], "spread": measured["spread"]}
        else:
            times = _service_times(session, input_name, inputs, size, seconds, max_runs, 0)
            mean, p99, extra = float(np.mean(times)), _percentile(times, 99), {}
        out.append({"batchSize": size, "runs": len(times), "serviceTimeMsMean": mean,
                    "serviceTimeMsP50": _percentile(times, 50), "serviceTimeMsP99": p99,
                    "serviceTimeCv": float(np.std(times) / np.mean(times)) if np.mean(times) > 0 else 0.0,
                    "rowsPerSecond": size * 1000.0 / mean if mean > 0 else 0.0, **extra})
    return out


def _closed_loop_window(session: Any, input_name: str, inputs: Any, c: int, seconds: float, max_requests: int) -> dict[str, Any]:
    """One window of a closed loop of single-row calls from ``c`` threads (onnxruntime releases the GIL while it runs)."""
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
            feed = _feed(input_name, _batch(inputs, n, 1))
            t0 = time.perf_counter()
            session.run(None, feed)
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
    return {"latencies": flat, "qps": len(flat) / elapsed if elapsed > 0 else 0.0}


def concurrency_sweep(session: Any, input_name: str, inputs: Any, levels: list[int], seconds: float, max_requests: int) -> list[dict[str, Any]]:
    """Closed loop per concurrency level, in windows until three agree; a level's ``qps`` is what it can be counted on for."""
    out = []
    for c in levels:
        measured = stable_windows(lambda _i: _closed_loop_window(session, input_name, inputs, c, seconds / MIN_WINDOWS, max_requests), "qps")
        flat = [x for w in measured["windows"][-3:] for x in w["latencies"]]
        out.append({"concurrency": c, "requests": len(flat), "qps": measured["value"], "p50Ms": _percentile(flat, 50), "p99Ms": _percentile(flat, 99),
                    "windows": len(measured["windows"]), "windowQps": [w["qps"] for w in measured["windows"]],
                    "stable": measured["stable"], "spread": measured["spread"]})
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
    top = max(levels, key=lambda lv: lv["qps"], default=None)
    saturation = top["qps"] if top else 0.0
    measured = [m for m in (single, top) if m is not None and "stable" in m]
    stability = {"stable": bool(measured) and all(m["stable"] for m in measured),
                 "windows": sum(m["windows"] for m in measured), "spread": max((m["spread"] for m in measured), default=1.0)}
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
        "stability": stability,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: ``--model m.onnx --input-name text --inputs rows.json|rows.npy [--batch-sizes 1,2 ...]``."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input-name", required=True)
    ap.add_argument("--inputs", required=True, help="JSON list of strings, .npy float rows or .npz table columns")
    ap.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    ap.add_argument("--concurrencies", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--max-requests", type=int, default=20000)
    ap.add_argument("--intra-op-threads", type=int, default=1)
    ap.add_argument("--tokenizer", default=None, help="tokenizer.json: texts are tokenised into input_ids/attention_mask")
    ap.add_argument("--max-length", type=int, default=128)
    a = ap.parse_args(argv)
    path = Path(a.inputs)
    inputs: Any
    if path.suffix == ".npz":  # ready feeds of several graph inputs, one request's row along the first axis
        with np.load(path) as arrays:
            inputs = FeedRows(dict(arrays))
    else:
        inputs = np.load(path) if path.suffix == ".npy" else np.array(json.loads(path.read_text()), dtype=object)
    if a.tokenizer:
        inputs = TokenizedRows([str(x) for x in inputs], a.tokenizer, a.max_length)
    result = run_benchmark(a.model, a.input_name, inputs, [int(x) for x in a.batch_sizes.split(",")],
                           [int(x) for x in a.concurrencies.split(",")], a.seconds, a.max_requests, a.intra_op_threads)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

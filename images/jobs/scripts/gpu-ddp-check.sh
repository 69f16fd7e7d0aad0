#!/usr/bin/env bash
# Device check of distributed training (issue 11): the train job's launch path the operator uses,
# `torchrun --standalone --nproc_per_node=<GPUs> -m trainer_agent_jobs.train` (one process per GPU, NCCL),
# next to one process, on scikit-learn's digits with the timm test CNN. Prints both runs' samples/s
# (the whole batch's rows per second of training), steps and accuracy, and exits non-zero when either run
# fails or the processes did not train together. Without a GPU it runs 2 gloo processes on the CPU.
#
#   images/jobs/scripts/gpu-ddp-check.sh [PYTHON]   (default: python3; env ROWS=1797 EPOCHS=10 BATCH=64)
#
# PYTHON needs the job packages (images/jobs/requirements-torch.txt) — on a lent GPU machine its python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jobs="$(cd "$here/.." && pwd)"
python="${1:-python3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/ta-ddp-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cd "$jobs"
PYTHONPATH="$jobs" ROWS="${ROWS:-1797}" EPOCHS="${EPOCHS:-10}" BATCH="${BATCH:-64}" "$python" - "$work" <<'PY'
import json, os, subprocess, sys, time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits

work = Path(sys.argv[1])
gpus = torch.cuda.device_count()
processes = gpus if gpus > 0 else 2
print(f"torch {torch.__version__}; {gpus} GPU(s){' (' + torch.cuda.get_device_name(0) + ')' if gpus else ''}; "
      f"{processes} process(es) under torchrun ({'NCCL' if gpus else 'gloo on the CPU'})", flush=True)

digits = load_digits()
order = np.random.default_rng(11).permutation(len(digits.target))[: int(os.environ["ROWS"])]
for i in order:
    folder = work / "digits" / str(int(digits.target[i]))
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(digits.images[i] * 255.0 / 16.0).astype(np.uint8), mode="L").save(folder / f"d{i:04d}.png")


def job(kind: str, spec: dict, out: Path, launcher: list[str]) -> tuple[dict, float]:
    spec_path = work / f"{out.name}-spec.json"
    spec_path.write_text(json.dumps(spec))
    started = time.monotonic()
    done = subprocess.run([*launcher, "-m", f"trainer_agent_jobs.{kind}", "--spec", str(spec_path), "--out", str(out),
                           "--termination-log", str(work / f"{out.name}-termination")], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{out.name}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return json.loads((out / "result.json").read_text()), seconds


job("data", {"task": "image-classification", "modality": "image", "seed": 0, "operations": [], "evaluation": {"minHoldoutRows": 30},
             "sources": [{"name": "digits", "uri": f"file://{work / 'digits'}", "format": "imagefolder"}]}, work / "data", [sys.executable])
spec = {"task": "image-classification", "modality": "image", "dataDir": str(work / "data"), "seed": 0, "learningCurve": False,
        "model": {"id": "image-cnn-small", "family": "torch-image-timm",
                  "hyperparameters": {"architecture": "test_resnet", "epochs": int(os.environ["EPOCHS"]),
                                      "batchSize": int(os.environ["BATCH"]), "learningRate": 0.003}}}
runs = {}
for name, launcher in [("one process", [sys.executable]),
                       (f"torchrun x{processes}", [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"])]:
    result, seconds = job("train", spec, work / name.replace(" ", "-"), launcher)
    training = result["training"]
    runs[name] = training
    print(f"{name}: {training['samplesPerSecond']} samples/s, {training['steps']} steps, "
          f"accuracy {result['metrics']['accuracy']:.4f}, processes {training.get('processes', 1)}, job {seconds:.1f} s", flush=True)
ddp = runs[f"torchrun x{processes}"]
if ddp.get("processes") != processes or ddp["steps"] != runs["one process"]["steps"]:
    sys.exit(f"torchrun run trained with {ddp.get('processes')} process(es) and {ddp['steps']} steps; expected {processes} and {runs['one process']['steps']}")
PY

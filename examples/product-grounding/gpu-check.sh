#!/usr/bin/env bash
# The prepared device check of the grounding model: on a machine with a CUDA GPU (and torch, torchvision,
# transformers, torchmetrics installed), generate a few hundred frames, prepare them with the data job,
# train the small OWL-ViT for a few epochs on the GPU with the train job, and print where it trained and
# how many images per second it took. Run from the repository root:
#   bash examples/product-grounding/gpu-check.sh [python]
set -euo pipefail
python="${1:-python3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" "$root/examples/product-grounding/generate-data.py" --out "$work/frames" --frames 240 --test-frames 60 --only grounding
cat > "$work/data.json" <<JSON
{"task": "visual-grounding", "modality": "multimodal", "sources": [
  {"name": "frames", "uri": "file://$work/frames/grounding/train.jsonl", "format": "jsonl"},
  {"name": "held-out", "uri": "file://$work/frames/grounding/test.jsonl", "format": "jsonl", "role": "test"}]}
JSON
cat > "$work/train.json" <<JSON
{"task": "visual-grounding", "modality": "multimodal", "dataDir": "$work/data", "model": {"id": "grounding-owlvit-small",
 "family": "torch-grounding-owlvit", "hyperparameters": {"imageSize": 128, "patchSize": 16, "width": 96, "layers": 3, "textWidth": 64,
 "textLayers": 2, "learningRate": 0.001, "batchSize": 32, "epochs": 5, "device": "cuda"}}}
JSON
cd "$root/images/jobs"
PYTHONPATH=. "$python" -m trainer_agent_jobs.data --spec "$work/data.json" --out "$work/data" >/dev/null
started=$(date +%s)
PYTHONPATH=. "$python" -m trainer_agent_jobs.train --spec "$work/train.json" --out "$work/train" >/dev/null
"$python" - "$work/train/result.json" "$(( $(date +%s) - started ))" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["training"]
print(json.dumps({"device": t["device"], "imagesPerSecond": t["samplesPerSecond"], "steps": t["steps"], "jobSeconds": int(sys.argv[2]),
                  "metrics": r["metrics"], "baselines": r["boxes"]["baselines"]}, indent=2))
PY

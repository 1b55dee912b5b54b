#!/usr/bin/env bash
# Runs bc's benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchtime 3x ./pkg/strategy/ ./pkg/sha256block/

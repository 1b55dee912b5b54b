#!/usr/bin/env bash
# `make bench`: Go micro-benchmarks, then the report of every figure, written
# to contrib/bench/report.md. BC_BENCH_CACHE keeps generated chains between
# runs; QUICK=1 runs a small smoke version; ONLY=hostile,verify runs some
# sections (into a report of those alone).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p contrib/bench
go test -run '^$' -bench . -benchtime 1s ./pkg/sha256block/ ./pkg/chain/
args=(-report "$PWD/contrib/bench/report.md")
[[ "${QUICK:-}" == 1 ]] && args+=(-quick)
[[ -n "${ONLY:-}" ]] && args+=(-only "$ONLY")
go test -count=1 -timeout 60m -run TestReport ./pkg/benchreport/ -v -args "${args[@]}" | sed -n '/^# bc benchmark report/,/^--- /p' | sed '$d'

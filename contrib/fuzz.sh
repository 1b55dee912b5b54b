#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME (default 3s): a short run in make test,
# a long one with FUZZTIME=10m. Crashers land in the package's testdata/fuzz
# for go test to replay; the committed corpora live there too.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-3s}
targets=(
	./pkg/chain:FuzzParse
	./pkg/chain:FuzzLineReader
	./pkg/validate:FuzzVerifyReader
	./pkg/store:FuzzParsePendingLine
	./pkg/node:FuzzParseAddr
	./pkg/node:FuzzAnnouncement
	./pkg/node:FuzzBook
	./pkg/verify:FuzzVerify
	./pkg/api:FuzzHandlers
	./pkg/client:FuzzPrintHuman
)
for t in "${targets[@]}"; do
	pkg=${t%%:*} name=${t##*:}
	echo "fuzz $pkg $name ($FUZZTIME)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" > /tmp/bc-fuzz.$$ 2>&1 || { cat /tmp/bc-fuzz.$$; rm -f /tmp/bc-fuzz.$$; exit 1; }
done
rm -f /tmp/bc-fuzz.$$

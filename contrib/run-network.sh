#!/usr/bin/env bash
# Starts a local bc network. Until the node daemons exist this verifies the
# demo chains shipped as test vectors.
set -euo pipefail
cd "$(dirname "$0")/.."
for f in pkg/validate/testdata/valid-*.chain; do
	./bin/bc-verify "$f"
done

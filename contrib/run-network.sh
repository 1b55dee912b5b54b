#!/usr/bin/env bash
# Runs a local bc network: N nodes (default 3) on ports 12345, 12346, ... in
# the seed's ring (each node's first peer is the next node), each with
# bc-mine, bc-serve, bc-gossip and bc-backup on its own chain directory.
# Ctrl-C stops every process.
#
#   contrib/run-network.sh            # 3 nodes
#   N=10 contrib/run-network.sh       # or: N=10 make run
#   DIFFICULTY=20 STRATEGY=classic ...  (parameters of new chains)
#
# Chain directories: $BC_NETWORK_DIR, default ~/.local/share/bc/network/node-<i>
# (kept between runs; delete them to start over). Logs are in each directory.
set -euo pipefail

N=${N:-${1:-3}}
BASE_PORT=${BASE_PORT:-12345}
BIN=${BC_BIN:-$(cd "$(dirname "$0")/../bin" && pwd)}
ROOT=${BC_NETWORK_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/bc/network}
HOST=${HOST:-127.0.0.1}

for b in bc-mine bc-serve bc-gossip; do
	[[ -x "$BIN/$b" ]] || { echo "run-network: $BIN/$b is missing: run make build" >&2; exit 2; }
done
[[ "$N" =~ ^[0-9]+$ && "$N" -ge 1 ]] || { echo "run-network: N must be a positive number" >&2; exit 2; }

pids=()
stop() {
	trap - INT TERM EXIT
	echo
	echo "stopping ${#pids[@]} processes..."
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	echo "stopped."
}
trap stop INT TERM EXIT

mine_flags=()
[[ -n "${STRATEGY:-}" ]] && mine_flags+=(--strategy "$STRATEGY")
[[ -n "${DIFFICULTY:-}" ]] && mine_flags+=(--difficulty "$DIFFICULTY")

urls=()
for ((i = 1; i <= N; i++)); do
	dir="$ROOT/node-$i"
	port=$((BASE_PORT + i - 1))
	next=$((BASE_PORT + i % N))
	mkdir -p "$dir"
	common=(--dir "$dir")
	"$BIN/bc-mine" "${common[@]}" "${mine_flags[@]}" --log-file bc-mine.log &
	pids+=($!)
	for _ in $(seq 100); do [[ -s "$dir/node.chain" ]] && break; sleep 0.1; done
	"$BIN/bc-serve" "${common[@]}" --listen "$HOST:$port" --log-file bc-serve.log &
	pids+=($!)
	peers=()
	((N > 1)) && peers=(--peers "$HOST:$next")
	"$BIN/bc-gossip" "${common[@]}" "${peers[@]}" --advertise "$HOST:$port" --log-file bc-gossip.log &
	pids+=($!)
	if [[ -x "$BIN/bc-backup" ]]; then
		"$BIN/bc-backup" "${common[@]}" --log-file bc-backup.log &
		pids+=($!)
	fi
	urls+=("http://$HOST:$port/")
done

echo "bc network of $N nodes (chain directories under $ROOT):"
for ((i = 1; i <= N; i++)); do
	echo "  node-$i  ${urls[i - 1]}   bc-add --node $HOST:$((BASE_PORT + i - 1)) \"hello\""
done
echo "Press Ctrl-C to stop."
wait -n "${pids[@]}" || true
echo "run-network: a process ended; see the logs in $ROOT/node-*/" >&2

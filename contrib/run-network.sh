#!/usr/bin/env bash
# Runs a local bc network: N nodes (default 3) on ports 12345, 12346, ... in
# the seed's ring (each node's first peer is the next node), each with
# bc-mine, bc-serve, bc-gossip and bc-backup on its own chain directory.
# Ctrl-C stops every process (exit 0); a program that fails to start or
# stops by itself stops the network, names the node and the reason, and
# makes the exit code 1.
#
#   contrib/run-network.sh            # 3 nodes
#   N=10 contrib/run-network.sh       # or: N=10 make run
#   DIFFICULTY=20 STRATEGY=classic ...  (parameters of new chains)
#   FRESH=1 ...                       # start over: old chains go to old/
#
# Chain directories: $BC_NETWORK_DIR, default ~/.local/share/bc/network/node-<i>
# (kept between runs). A chain's parameters are fixed at its creation: to
# run with other ones, FRESH=1 moves the old directories into
# $BC_NETWORK_DIR/old/ (the seed's --force_new_chain). Logs are in each
# directory.
set -euo pipefail

N=${N:-${1:-3}}
BASE_PORT=${BASE_PORT:-12345}
BIN=${BC_BIN:-$(cd "$(dirname "$0")/../bin" && pwd)}
ROOT=${BC_NETWORK_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/bc/network}
HOST=${HOST:-127.0.0.1}
export BC_PLUGIN_DIR=${BC_PLUGIN_DIR:-$BIN}

fail() { echo "run-network: $*" >&2; exit 2; }
for b in bc-mine bc-serve bc-gossip bc-backup; do
	[[ -x "$BIN/$b" ]] || fail "$BIN/$b is missing: run make build"
done
[[ "$N" =~ ^[0-9]+$ && "$N" -ge 1 ]] || fail "N must be a positive number"

if [[ "${FRESH:-}" == 1 ]]; then
	stamp=$(date +%Y%m%d_%H%M%S)
	for ((i = 1; i <= N; i++)); do
		if [[ -d "$ROOT/node-$i" ]]; then
			mkdir -p "$ROOT/old"
			mv "$ROOT/node-$i" "$ROOT/old/node-$i-$stamp"
			echo "run-network: moved the old node-$i to $ROOT/old/node-$i-$stamp"
		fi
	done
fi

# Each program runs in a process group of its own (job control), so that
# Ctrl-C reaches this script only, which then stops them in order.
set -m
pids=() names=()
stopping=0
stop() {
	stopping=1
	trap - INT TERM
	echo
	echo "stopping ${#pids[@]} processes..."
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	echo "stopped."
}
trap 'stop; exit 0' INT TERM
trap '((stopping)) || stop' EXIT

# explain names the program that ended and why (the last error of its log).
explain() {
	local i=$1
	local name=${names[i]} node=${names[i]%% *} prog=${names[i]#* }
	local log="$ROOT/$node/$prog.log" why=""
	[[ -f "$log" ]] && why=$(grep -E 'level=(ERROR|WARN)|exiting' "$log" | tail -1 | sed -E 's/.*(msg|error)=//')
	echo "run-network: $name stopped${why:+: $why}" >&2
	if grep -qE 'contradict|format version 1' "$log" 2>/dev/null; then
		echo "run-network: its chain was made with other parameters; start over with: FRESH=1 make run (the old chains go to $ROOT/old/)" >&2
	fi
	echo "run-network: logs in $ROOT/$node/" >&2
}

start() { # start NODE PROGRAM ARGS...
	local node=$1 prog=$2
	shift 2
	"$BIN/$prog" --dir "$ROOT/$node" --log-file "$prog.log" "$@" &
	pids+=($!)
	names+=("$node $prog")
}

mine_flags=()
[[ -n "${STRATEGY:-}" ]] && mine_flags+=(--strategy "$STRATEGY")
[[ -n "${DIFFICULTY:-}" ]] && mine_flags+=(--difficulty "$DIFFICULTY")

for ((i = 1; i <= N; i++)); do
	node=node-$i
	port=$((BASE_PORT + i - 1))
	next=$((BASE_PORT + i % N))
	mkdir -p "$ROOT/$node"
	start "$node" bc-mine "${mine_flags[@]}"
	start "$node" bc-serve --listen "$HOST:$port"
	peers=()
	((N > 1)) && peers=(--peers "$HOST:$next")
	start "$node" bc-gossip "${peers[@]}" --advertise "$HOST:$port"
	start "$node" bc-backup
done

# Every node must come up: its programs alive and its bc-serve answering.
deadline=$((SECONDS + 30))
for ((i = 1; i <= N; i++)); do
	port=$((BASE_PORT + i - 1))
	until (: </dev/tcp/"$HOST"/"$port") 2>/dev/null; do
		for j in "${!pids[@]}"; do
			if ! kill -0 "${pids[j]}" 2>/dev/null; then
				explain "$j"
				exit 1
			fi
		done
		((SECONDS < deadline)) || { echo "run-network: node-$i did not answer on $HOST:$port within 30 s" >&2; exit 1; }
		sleep 0.1
	done
done
sleep 1 # a program that refuses its parameters stops within a second
for j in "${!pids[@]}"; do
	if ! kill -0 "${pids[j]}" 2>/dev/null; then
		explain "$j"
		exit 1
	fi
done

echo "bc network of $N nodes (chain directories under $ROOT):"
for ((i = 1; i <= N; i++)); do
	echo "  node-$i  http://$HOST:$((BASE_PORT + i - 1))/"
done
echo "Try it (the programs are in $BIN; export PATH=\"$BIN:\$PATH\" to type their names alone):"
echo "  $BIN/bc-add --node $HOST:$BASE_PORT \"hello\""
echo "  $BIN/bc-get --dir $ROOT/node-$((N > 1 ? 2 : 1)) chain | $BIN/bc-verify"
echo "Press Ctrl-C to stop."

# Wait until one program ends (or Ctrl-C, which exits through the trap).
while :; do
	wait -n "${pids[@]}" || true
	((stopping)) && exit 0
	for j in "${!pids[@]}"; do
		if ! kill -0 "${pids[j]}" 2>/dev/null; then
			explain "$j"
			exit 1
		fi
	done
done

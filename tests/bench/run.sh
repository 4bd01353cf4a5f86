#!/usr/bin/env bash
# tests/bench/run.sh: the engine's benchmarks (make bench; root). Prints one
# table at the end: benchmark, baseline, with engine, ratio/overhead, target,
# verdict.
#
#   a. MPTCP connection setup rate (connect, 1 byte each way, close) with the
#      engine attached to the client's and the server's cgroups vs not
#   b. bulk throughput over both tbf-shaped paths, attached vs not
#   c. GET_SUB_IDS + GET_SUB_TUPLE through libsubflow (by fd, by token) vs the
#      kernel's MPTCP_FULL_INFO, with 10, 1000 and 10000 connections open
#   d. memory per tracked subflow: the maps' own account (memlock) and the
#      kernel's slab growth with vs without the engine
#
# The machine is small, shared and noisy: a and b alternate rounds without
# and with the engine (ABAB...) in one run and report the median of the
# per-pair ratios; c alternates the query methods batch by batch.
# Everything runs between two namespaces of the lab (tests/lib.sh) and is
# removed on every exit path: namespaces, cgroups, processes, the private pin
# directory. Knobs (environment): BENCH_RATE (tbf rate of each path, default
# 100mbit), BENCH_PAIRS, BENCH_CONN_SECS, BENCH_BULK_SECS, BENCH_QUERY_STEPS,
# BENCH_QUERY_CALLS, BENCH_MEM_CONNS.
set -euo pipefail

# Each path is shaped (the default scheduler leaves an unshaped second path
# idle) at a rate low enough that the CPUs are not the bottleneck of b.
LAB_RATE=${BENCH_RATE:-100mbit}
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PAIRS=${BENCH_PAIRS:-15}		# a: rounds without + with the engine
BULK_PAIRS=${BENCH_BULK_PAIRS:-4}
CONN_SECS=${BENCH_CONN_SECS:-1.5}
BULK_SECS=${BENCH_BULK_SECS:-4}
QUERY_STEPS=${BENCH_QUERY_STEPS:-10,1000,10000}
QUERY_CALLS=${BENCH_QUERY_CALLS:-20000}
MEM_CONNS=${BENCH_MEM_CONNS:-4000}
MEM_PAIRS=${BENCH_MEM_PAIRS:-3}
TOOL_TIMEOUT=120			# seconds, for any one tool run

BENCH_BIN=$LAB_BUILD/tests/bench
CONNRATE=$BENCH_BIN/connrate
BULK=$BENCH_BIN/bulk
QUERYLAT=$BENCH_BIN/querylat

# ---- Helpers -------------------------------------------------------------------

# median NUMBERS...: the median (mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit 1
		      if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# calc EXPR: floating point arithmetic.
calc() {
	awk "BEGIN { printf \"%.6g\", $1 }"
}

# field LINE KEY: the value after KEY in a "key value key value" line.
field() {
	awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"
}

# nstat_get NETNS COUNTER: an absolute MIB counter of that namespace.
nstat_get() {
	in_ns "$1" nstat -asz "$2" | awk -v c="$2" '$1 == c { print $2; found = 1 }
		END { if (!found) print 0 }'
}

# tx_bytes DEV: bytes sent by a client-side interface.
tx_bytes() {
	ip -n "$NS_C" -j -s link show "$1" | jq '.[0].stats64.tx.bytes'
}

# client CMD...: run a benchmark client in the client's cgroup and namespace,
# bounded in time.
client() {
	run_in "$CG_C" "$NS_C" timeout -k 5 "$TOOL_TIMEOUT" "$@"
}

# server NAME CMD...: start a benchmark server in the server's cgroup and
# namespace and wait (bounded) for its listener.
server() {
	local name=$1
	shift
	SPAWN_OUT=$LAB_TMP/$name.log spawn_in "$CG_S" "$NS_S" "$@" --ready-file "$LAB_TMP/$name.ready"
	wait_file 5 "$LAB_TMP/$name.ready" || fail "$name server did not start: $(cat "$LAB_TMP/$name.log")"
}

ENGINE_ON=0
engine_on() {
	ctl cgroup attach "$CG_C" >/dev/null || fail "cgroup attach $CG_C"
	ctl cgroup attach "$CG_S" >/dev/null || fail "cgroup attach $CG_S"
	ENGINE_ON=1
}

engine_off() {
	ctl cgroup detach "$CG_C" >/dev/null || fail "cgroup detach $CG_C"
	ctl cgroup detach "$CG_S" >/dev/null || fail "cgroup detach $CG_S"
	ENGINE_ON=0
}

# set_engine off|on
set_engine() {
	case $1 in
	on)  [ "$ENGINE_ON" = 1 ] || engine_on ;;
	off) [ "$ENGINE_ON" = 0 ] || engine_off ;;
	esac
}

ROWS=()
# row NAME BASELINE ENGINE RATIO TARGET VERDICT
row() {
	local IFS=$'\t'
	ROWS+=("$*")
}

# times A B: "B/A" as a ratio, 2 decimals, e.g. 1.37x.
times() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }'
}

# verdict VALUE LIMIT: ok when VALUE <= LIMIT.
verdict() {
	awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "ok" : "over" }'
}

# ---- a. connection setup rate --------------------------------------------------------

bench_connrate() {
	local pair mode out rate joins j0 conns ratios=() rates_off=() rates_on=()
	local joins_off=0 joins_on=0 conns_off=0 conns_on=0
	# MPJoinAckRx: the server completed a join, so the connection really
	# had 2 subflows (join SYNs that arrive after the close are not counted).
	local join_mib=MPTcpExtMPJoinAckRx

	log "a. connection setup rate: $PAIRS x (${CONN_SECS}s without, ${CONN_SECS}s with the engine)"
	server connrate "$CONNRATE" server -a "$S1_V4" -p 6000
	for (( pair = 0; pair < PAIRS; pair++ )); do
		local r_off=0
		for mode in off on; do
			set_engine "$mode"
			j0=$(nstat_get "$NS_S" "$join_mib")
			out=$(client "$CONNRATE" client -a "$S1_V4" -p 6000 -d "$CONN_SECS") ||
				fail "connrate client failed"
			joins=$(( $(nstat_get "$NS_S" "$join_mib") - j0 ))
			rate=$(field "$out" rate)
			conns=$(field "$out" conns)
			log "  pair $pair engine $mode: $out joins $joins"
			if [ "$mode" = off ]; then
				rates_off+=("$rate"); r_off=$rate
				joins_off=$(( joins_off + joins )); conns_off=$(( conns_off + conns ))
			else
				rates_on+=("$rate")
				joins_on=$(( joins_on + joins )); conns_on=$(( conns_on + conns ))
				ratios+=("$(calc "$rate / $r_off")")
			fi
		done
	done
	# Where the time goes: one more round, not in the medians, with the
	# kernel's BPF run-time statistics on for the tracker (they cost a
	# little per run).
	local prog=$SUBFLOW_PIN_DIR/prog_track runs bpf_ns
	if [ -e "$prog" ]; then
		out=$(client "$CONNRATE" client -a "$S1_V4" -p 6000 -d "$CONN_SECS" --bpf-prog "$prog") ||
			fail "connrate client (BPF statistics) failed"
		log "  engine on, BPF statistics: $out"
		conns=$(field "$out" conns); runs=$(field "$out" bpf_runs); bpf_ns=$(field "$out" bpf_ns)
		NOTES+=("a. tracker program (bpf_stats): $(calc "$runs / $conns") runs/conn x $(calc "$bpf_ns / $runs") ns = $(calc "$bpf_ns / $conns / 1000") us/conn (both ends) = $(calc "100 * $bpf_ns / ($(nproc) * $(field "$out" secs) * 1e9)")% of $(nproc) CPUs at $(field "$out" rate) conns/s")
	fi
	set_engine off
	kill "$SPAWNED_PID" 2>/dev/null || true

	local overhead
	overhead=$(calc "(1 - $(median "${ratios[@]}")) * 100")
	row "a. conn setup rate (conns/s)" "$(median "${rates_off[@]}")" "$(median "${rates_on[@]}")" \
	    "$(printf '%+.1f%%' "$overhead")" "<= 3%" "$(verdict "$overhead" 3)"
	NOTES+=("a. connections that got their join subflow (server $join_mib / conns): $(awk \
		-v a="$joins_off" -v b="$conns_off" -v c="$joins_on" -v d="$conns_on" \
		'BEGIN { printf "%.1f%% without, %.1f%% with the engine", 100 * a / b, 100 * c / d }')")
	NOTES+=("a. per-pair overhead %: $(for r in "${ratios[@]}"; do printf '%.1f ' "$(calc "(1 - $r) * 100")"; done)")
}

# ---- b. bulk throughput ----------------------------------------------------------------

bench_bulk() {
	local pair mode out mbit a1 a2 d1 d2 ratios=() off=() on=() p2=() r_off=0

	log "b. bulk throughput: $BULK_PAIRS x (${BULK_SECS}s without, ${BULK_SECS}s with the engine), paths at $LAB_RATE"
	server bulk "$BULK" recv -a "$S1_V4" -p 6001
	for (( pair = 0; pair < BULK_PAIRS; pair++ )); do
		for mode in off on; do
			set_engine "$mode"
			a1=$(tx_bytes "$C1"); a2=$(tx_bytes "$C2")
			out=$(client "$BULK" send -a "$S1_V4" -p 6001 -d "$BULK_SECS") ||
				fail "bulk sender failed"
			d1=$(( $(tx_bytes "$C1") - a1 )); d2=$(( $(tx_bytes "$C2") - a2 ))
			mbit=$(field "$out" mbit)
			p2+=("$(calc "100 * $d2 / ($d1 + $d2)")")
			log "  pair $pair engine $mode: $out path2 $(calc "100 * $d2 / ($d1 + $d2)")%"
			if [ "$mode" = off ]; then
				off+=("$mbit"); r_off=$mbit
			else
				on+=("$mbit"); ratios+=("$(calc "$mbit / $r_off")")
			fi
		done
	done
	set_engine off
	kill "$SPAWNED_PID" 2>/dev/null || true

	local overhead
	overhead=$(calc "(1 - $(median "${ratios[@]}")) * 100")
	row "b. bulk, 2 paths x $LAB_RATE (Mbit/s)" "$(median "${off[@]}")" "$(median "${on[@]}")" \
	    "$(printf '%+.1f%%' "$overhead")" "<= 1%" "$(verdict "$overhead" 1)"
	NOTES+=("b. share of the bytes sent over path 2 (c2): median $(median "${p2[@]}")%")
}

# ---- c. query latency, and d. memory from the maps ------------------------------------

bench_query() {
	local out n line

	log "c. query latency with $QUERY_STEPS connections open (engine attached), $QUERY_CALLS calls per method"
	set_engine on
	server querylat "$QUERYLAT" server -a "$S1_V4" -p 6002
	out=$(client "$QUERYLAT" client -a "$S1_V4" -p 6002 --steps "$QUERY_STEPS" \
		--calls "$QUERY_CALLS") || fail "querylat client failed"
	printf '%s\n' "$out" | sed 's/^/#   /' >&2
	kill "$SPAWNED_PID" 2>/dev/null || true

	# ns NCONNS METHOD
	ns() { awk -v n="$1" -v m="$2" '$1 == "query" && $3 == n && $5 == m { print $7 }' <<<"$out"; }
	local first last
	first=${QUERY_STEPS%%,*}
	last=${QUERY_STEPS##*,}
	for n in ${QUERY_STEPS//,/ }; do
		local k lf lt
		k=$(ns "$n" fullinfo); lf=$(ns "$n" lib_fd); lt=$(ns "$n" lib_token)
		[ -n "$k" ] && [ -n "$lf" ] && [ -n "$lt" ] || fail "querylat printed no result for $n connections"
		row "c. ids+tuples by fd, $n conns (ns)" "$k" "$lf" "$(times "$k" "$lf")" "<= 2x" \
		    "$(verdict "$(calc "$lf / $k")" 2)"
		row "c. ids+tuples by token, $n conns (ns)" "$k" "$lt" "$(times "$k" "$lt")" "<= 2x" \
		    "$(verdict "$(calc "$lt / $k")" 2)"
	done
	for line in lib_fd lib_token; do
		local a b
		a=$(ns "$first" "$line"); b=$(ns "$last" "$line")
		row "c. $line flat: $last vs $first conns (ns)" "$a" "$b" "$(times "$a" "$b")" "<= 1.5x" \
		    "$(verdict "$(calc "$b / $a")" 1.5)"
	done
	NOTES+=("c. baseline = MPTCP_FULL_INFO with tcp_info+mptcp_info; ids+addrs only (optlen 40): $(for n in ${QUERY_STEPS//,/ }; do printf '%s ' "$(ns "$n" fullinfo_addrs)"; done)ns")
	NOTES+=("c. lib_token_ns0 (netns_cookie 0): $(for n in ${QUERY_STEPS//,/ }; do printf '%s ' "$(ns "$n" lib_token_ns0)"; done)ns; subflow_current_netns alone: $(ns "$last" current_netns) ns; subflow_conn_of_fd alone: $(ns "$last" conn_of_fd) ns")
	NOTES+=("c. joined conns / answers differing from MPTCP_FULL_INFO: $(awk '$1 == "step" { printf "%s/%s ", $5, $3 }' <<<"$out")/ $(awk '$1 == "check" { printf "%s ", $7 }' <<<"$out")")
	QUERY_OUT=$out
}

# d. memlock per element, from the maps' own account at 0 and at the most
# connections of c; and the kernel's slab growth, with vs without the engine.
bench_memory() {
	local m0 m1 dconn dsf per_sf payload
	m0=$(awk '$1 == "mem" { print; exit }' <<<"$QUERY_OUT")
	m1=$(awk '$1 == "mem" { l = $0 } END { print l }' <<<"$QUERY_OUT")
	dconn=$(( $(field "$m1" conn_entries) - $(field "$m0" conn_entries) ))
	dsf=$(( $(field "$m1" subflow_entries) - $(field "$m0" subflow_entries) ))
	[ "$dsf" -gt 0 ] || fail "no subflow entries were tracked in c: $m1"
	per_sf=$(calc "(($(field "$m1" memlock_conns) - $(field "$m0" memlock_conns)) + \
		($(field "$m1" memlock_subflows) - $(field "$m0" memlock_subflows))) / $dsf")
	# Payload: a subflow's key + value, and its share of its connection's.
	payload=$(calc "16 + 96 + (16 + 112) * $dconn / $dsf")
	row "d. map bytes/subflow (memlock)" "${payload} payload" "$per_sf" \
	    "$(times "$payload" "$per_sf")" "(none)" "info"
	NOTES+=("d. fixed map memory at 0 entries (hash buckets): conns $(field "$m0" memlock_conns) B + subflows $(field "$m0" memlock_subflows) B; $dconn conns / $dsf subflows tracked at the peak")
	NOTES+=("d. also per tracked subflow, not in memlock: one sk_storage element (subflow_sk_keys) on its socket")

	log "d. slab growth for $MEM_CONNS connections: $MEM_PAIRS x (without, with the engine)"
	server querymem "$QUERYLAT" server -a "$S1_V4" -p 6003
	local pair mode out s0 s1 grow_off=() grow_on=() tracked=0 left
	for (( pair = 0; pair < MEM_PAIRS; pair++ )); do
		for mode in off on; do
			set_engine "$mode"
			out=$(client "$QUERYLAT" client -a "$S1_V4" -p 6003 --steps "$MEM_CONNS" --no-query) ||
				fail "querylat (memory) failed"
			s0=$(field "$(awk '$1 == "mem" { print; exit }' <<<"$out")" slab_used_kb)
			m1=$(awk '$1 == "mem" { l = $0 } END { print l }' <<<"$out")
			s1=$(field "$m1" slab_used_kb)
			left=$(awk '$1 == "leftover"' <<<"$out")
			log "  pair $pair engine $mode: slab +$(( s1 - s0 )) kB, $m1; $left"
			if [ "$mode" = off ]; then
				grow_off+=("$(( s1 - s0 ))")
			else
				grow_on+=("$(( s1 - s0 ))")
				tracked=$(field "$m1" subflow_entries)
				[ "$(field "$left" subflow_entries)" = 0 ] ||
					NOTES+=("d. LEAK: entries left after every connection closed: $left")
			fi
		done
	done
	set_engine off
	kill "$SPAWNED_PID" 2>/dev/null || true
	local off_kb on_kb
	off_kb=$(median "${grow_off[@]}"); on_kb=$(median "${grow_on[@]}")
	row "d. slab in use, kB, $MEM_CONNS conns" "$off_kb" "$on_kb" \
	    "$(awk -v a="$off_kb" -v b="$on_kb" -v n="$tracked" 'BEGIN { printf "%+.0f B/subflow", (b - a) * 1024 / n }')" "(none)" "info"
}

# ---- Main ------------------------------------------------------------------------------

require_mptcp
require_cmd nstat jq ip tc timeout
for t in "$SUBFLOWCTL" "$CONNRATE" "$BULK" "$QUERYLAT"; do
	[ -x "$t" ] || fail "$t not built (run make)"
done
lab_init
# Our own engine instance, never one already running on this machine; the
# lab's cleanup trap unloads whatever $SUBFLOW_PIN_DIR names at exit.
export SUBFLOW_PIN_DIR=/sys/fs/bpf/subflow-bench-$RANDOM
lab_setup
for ns in "$NS_C" "$NS_S"; do
	# Thousands of short connections a second: reuse TIME_WAIT ports and
	# use the whole port range, or the client runs out of ports.
	in_ns "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535" ||
		fail "sysctl in $ns"
done
CG_C=$(cg_create bench-client)
CG_S=$(cg_create bench-server)
NOTES=()
started=$(date +%s)

bench_connrate
bench_bulk
bench_query
bench_memory

NOTES+=("engine counters at the end: $(ctl status | jq -c .counters)")
ctl unload >/dev/null || fail "subflowctl unload"

printf '\n'
{
	printf 'benchmark\tbaseline\twith engine\tratio/overhead\ttarget\tverdict\n'
	printf '%s\n' "${ROWS[@]}"
} | column -t -s $'\t'
printf '\n'
printf '%s\n' "${NOTES[@]}"
printf 'machine: %s CPUs, kernel %s; total %ss\n' "$(nproc)" "$(uname -r)" "$(( $(date +%s) - started ))"

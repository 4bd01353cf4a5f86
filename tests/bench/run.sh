#!/usr/bin/env bash
# tests/bench/run.sh: the engine's benchmarks (make bench; root). Prints one
# table at the end: benchmark, baseline, with engine, ratio/overhead, target,
# verdict.
#
#   a. MPTCP connection setup rate (connect, 1 byte each way, close) with the
#      engine attached to the client's and the server's cgroups vs not, and
#      the engine's BPF time per connection (kernel BPF statistics, rounds
#      of their own spread over the run); a2 the same with 64 KiB each way,
#      so that every connection's join subflow establishes (joins/conn);
#      in each, the floor: the BPF time of the least sockops program a
#      tracker must run (floor_sockops.bpf.c), the socket-storage
#      design's record without its index (proto_sk_storage.bpf.c) and the
#      least by-token index (proto_index.bpf.c), each alone, in rounds of
#      its own
#   b. bulk throughput over both tbf-shaped paths, attached vs not
#   c. GET_SUB_IDS + GET_SUB_TUPLE through libsubflow vs the kernel's
#      MPTCP_FULL_INFO, with 10, 1000 and 10000 connections open: by fd
#      (subflow_get_tuples, _get_ids, _get_tuple) vs the bare call asking
#      for ids and addresses only; by token vs the full call
#   d. memory per tracked connection and subflow: the kernel's slab growth
#      with vs without the engine (everything), and the maps' own account
#   e. policy evaluation per new subflow: connection rate (as in a) with a
#      policy of 1, 16 and 64 rules, the matching rule last, vs no policy,
#      the engine attached in every round; and the BPF run time per
#      connection of each (kernel BPF statistics, on in every round)
#   f. time from policy load to the new policy being in force: from the call
#      of subflow_policy_load_text() until cgroup_policy shows the new
#      generation (policyload, a watcher thread), and the call's own
#      duration, 64 vs 1 rule, a check
#      that the very next subflow follows the new policy, and the CLI's
#      `subflowctl policy load` as a whole
#   g. the launcher (`subflowctl run`) against native calls and against an
#      LD_PRELOAD shim (tests/shim, mptcpize's approach): the cost of one
#      socket() call (median over BENCH_LAUNCH_CALLS calls per run), the rate
#      of short connections (as in a) of a program that asks for plain TCP
#      under each, vs one asking for MPTCP itself; and which programs each
#      converts (libc socket(), raw syscall, static, static + raw)
#
# The machine is small, shared and noisy: a and b alternate rounds without
# and with the engine in one run, in counterbalanced order (off/on, then
# on/off: a steady drift cannot favour one side) and report the median of
# the per-pair ratios; e rotates its four variants the same way (round r
# starts at variant r mod 4); c alternates the query methods batch by
# batch. The BPF run time per connection (a and e) is the steadier number:
# it is reported as a share of a connection's time without the engine.
# Everything runs between two namespaces of the lab (tests/lib.sh) and is
# removed on every exit path: namespaces, cgroups, processes, the private pin
# directory. Knobs (environment): BENCH_RATE (tbf rate of each path, default
# 100mbit), BENCH_PAIRS, BENCH_PAIRS_64K, BENCH_STATS_ROUNDS,
# BENCH_STATS_SECS, BENCH_CONN_SECS, BENCH_BULK_SECS, BENCH_QUERY_STEPS,
# BENCH_QUERY_CALLS, BENCH_MEM_CONNS, BENCH_POLICY_ROUNDS, BENCH_POLICY_SECS,
# BENCH_POLICY_LOADS, BENCH_POLICY_VERIFY, BENCH_CPU, BENCH_LAUNCH_ROUNDS,
# BENCH_LAUNCH_CALLS, BENCH_LAUNCH_SECS; BENCH_ONLY=LETTERS runs only those
# sections (e.g. BENCH_ONLY=g; f needs e); BENCH_ONLY=cc the coupled
# congestion control rows h-k (tests/bench/cc.sh, its own BENCH_CC_* knobs).
# p: where the sockops time goes, per callback (BENCH_PROFILE_SECS,
# BENCH_PROFILE_ROUNDS, BENCH_PROFILE_BYTES "1 65536").
# r and s: path management (tests/bench/pathmgr.sh: operations' latency,
# failover and failback of the daemon vs the in-kernel PM vs mptcpd; knobs
# BENCH_FAILOVER_RUNS, BENCH_FAULT_SECS, BENCH_PM_OPS_ROUNDS).
# u: the daemon's control socket (tests/bench/control.sh: a call through it
# vs acting as root, and during a flood of it vs an equal CPU load; knobs
# BENCH_CONTROL_ROUNDS, BENCH_CONTROL_CALLS, BENCH_CONTROL_FLOODERS).
set -euo pipefail

# Each path is shaped (the default scheduler leaves an unshaped second path
# idle) at a rate low enough that the CPUs are not the bottleneck of b.
LAB_RATE=${BENCH_RATE:-100mbit}
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../cc_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cc.sh"

PAIRS=${BENCH_PAIRS:-30}		# a: rounds without + with the engine
PAIRS_64K=${BENCH_PAIRS_64K:-16}	# a2: the same, 64 KiB each way
STATS_ROUNDS=${BENCH_STATS_ROUNDS:-6}	# a, a2: BPF statistics rounds, spread over the pairs
STATS_SECS=${BENCH_STATS_SECS:-1}
BULK_PAIRS=${BENCH_BULK_PAIRS:-4}
CONN_SECS=${BENCH_CONN_SECS:-0.5}
BULK_SECS=${BENCH_BULK_SECS:-4}
QUERY_STEPS=${BENCH_QUERY_STEPS:-10,1000,10000}
QUERY_CALLS=${BENCH_QUERY_CALLS:-20000}
MEM_CONNS=${BENCH_MEM_CONNS:-4000}
MEM_PAIRS=${BENCH_MEM_PAIRS:-3}
POLICY_ROUNDS=${BENCH_POLICY_ROUNDS:-24}	# e: rounds of (none, 1, 16, 64 rules)
POLICY_SECS=${BENCH_POLICY_SECS:-0.5}
# a and e: the connrate client and server share this CPU. Unpinned, where
# the scheduler puts them (same CPU or not, cross-CPU wake-ups) moves the
# rate by +-20% from one round to the next; pinned together, consecutive
# rounds agree within a few % and the rate is the CPU cost of a connection.
BENCH_CPU=${BENCH_CPU:-$(( $(nproc) - 1 ))}
PIN=(taskset -c "$BENCH_CPU")
PROFILE_SECS=${BENCH_PROFILE_SECS:-1}	# p: seconds of each profiled round
PROFILE_ROUNDS=${BENCH_PROFILE_ROUNDS:-5}	# p: rounds of (bracket only, engine)
POLICY_LOADS=${BENCH_POLICY_LOADS:-200}	# f: timed loads of each size
POLICY_VERIFY=${BENCH_POLICY_VERIFY:-40}	# f: loads checked on a new subflow
TOOL_TIMEOUT=120			# seconds, for any one tool run
LAUNCH_ROUNDS=${BENCH_LAUNCH_ROUNDS:-8}	# g: rounds of every variant
LAUNCH_CALLS=${BENCH_LAUNCH_CALLS:-20000}
LAUNCH_SECS=${BENCH_LAUNCH_SECS:-0.5}
BENCH_ONLY=${BENCH_ONLY:-abcdefgprsu cc}

BENCH_BIN=$LAB_BUILD/tests/bench
CONNRATE=$BENCH_BIN/connrate
BULK=$BENCH_BIN/bulk
QUERYLAT=$BENCH_BIN/querylat
POLICYLOAD=$BENCH_BIN/policyload
SOCKCOST=$BENCH_BIN/sockcost
TCP_APP=$LAB_BUILD/tests/tcp_app
TCP_APP_STATIC=$LAB_BUILD/tests/tcp_app-static
PRELOAD_SHIM=$LAB_BUILD/tests/libsubflow_preload.so
OPPROF=$BENCH_BIN/opprof

# ---- Helpers -------------------------------------------------------------------

# median NUMBERS...: the median (mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit 1
		      if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# quartiles NUMBERS...: "p25..p75" (nearest rank).
quartiles() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { a = int(NR / 4 + 0.75); b = int(3 * NR / 4 + 0.75)
		      if (a < 1) a = 1; if (b < 1) b = 1
		      printf "%.1f..%.1f", v[a], v[b] }'
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

# Programs measured alone (engine off), each in a BPF statistics round of
# its own next to each of the engine's, in the same run:
# - floor (tests/bench/floor_sockops.bpf.c): the least sockops program a
#   tracker must run;
# - sk_storage (tests/bench/proto_sk_storage.bpf.c): the socket-storage
#   design's record and removal, without the by-token index it would need;
# - index (tests/bench/proto_index.bpf.c): the least a by-token index costs,
#   one 8-byte insert and one delete per connection.
# Pinned outside the engine's pin directory, detached and removed on every
# exit path.
declare -A ALONE_PIN=() ALONE_ON=()
ALONE_PROGS=(floor sk_storage index)
alone_obj() {
	case $1 in
	floor) echo "$LAB_BUILD/tests/bench/floor_sockops.bpf.o" ;;
	sk_storage) echo "$LAB_BUILD/tests/bench/proto_sk_storage.bpf.o" ;;
	index) echo "$LAB_BUILD/tests/bench/proto_index.bpf.o" ;;
	esac
}
alone_load() {
	local name=$1 obj pin
	obj=$(alone_obj "$name")
	[ -r "$obj" ] || fail "$obj not built (run make)"
	pin=/sys/fs/bpf/subflow-bench-$name-$LAB_SUFFIX
	# Never fatal (it runs inside the cleanup): detach from both cgroups,
	# attached or not, then unpin.
	lab_on_cleanup "for cg in \"\$CG_C\" \"\$CG_S\"; do bpftool cgroup detach \"\$cg\" sock_ops pinned $pin 2>/dev/null; done; rm -f $pin"
	bpftool prog load "$obj" "$pin" type sockops || fail "cannot load $obj ($name)"
	ALONE_PIN[$name]=$pin
	ALONE_ON[$name]=0
}
alone_set() {
	local name=$1 cg verb=attach
	[ -n "${ALONE_PIN[$name]:-}" ] || return 0
	case $2 in
	on) [ "${ALONE_ON[$name]}" = 0 ] || return 0 ;;
	off) [ "${ALONE_ON[$name]}" = 1 ] || return 0; verb=detach ;;
	esac
	for cg in "$CG_C" "$CG_S"; do
		bpftool cgroup "$verb" "$cg" sock_ops pinned "${ALONE_PIN[$name]}" $([ $verb = attach ] && echo multi) ||
			fail "bpftool cgroup $verb $cg ($name)"
	done
	[ "$2" = on ] && ALONE_ON[$name]=1 || ALONE_ON[$name]=0
}

# The engine's programs that run for a connection (the iterator does not).
engine_progs() {
	local p
	for p in track connect4 connect6 bind4 bind6 mptcpify; do
		[ -e "$SUBFLOW_PIN_DIR/prog_$p" ] && printf -- '--bpf-prog\n%s\n' "$SUBFLOW_PIN_DIR/prog_$p"
	done
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

# joining JOINS CONNS: 1 when the kernel opened joins in that round (the
# usual ~4% of the connections), 0 when it opened (almost) none.
joining() {
	awk -v j="$1" -v c="$2" 'BEGIN { print (200 * j > c) ? 1 : 0 }'
}

# lab_settled: no TCP socket of either namespace is still open or closing
# (listeners and TIME-WAIT aside). The kernel closes an MPTCP connection's
# subflows from its worker, sometimes well after the application closed it;
# BPF statistics read before then miss those closes.
lab_settled() {
	local ns
	for ns in "$NS_C" "$NS_S"; do
		[ -z "$(in_ns "$ns" ss -Htan state all exclude listening exclude time-wait)" ] || return 1
	done
}

# stats_client CONNRATE_ARGS...: a connrate client with --bpf-prog options,
# whose final BPF statistics are read once the lab has settled. Prints the
# client's line.
stats_client() {
	local dir pid
	dir=$(mktemp -d "$LAB_TMP/stats.XXXXXX")
	client "${PIN[@]}" "$CONNRATE" client "$@" --bpf-wait "$dir" > "$dir/out" &
	pid=$!
	wait_for "$TOOL_TIMEOUT" test -e "$dir/loop-done" -o ! -d "/proc/$pid" || true
	wait_for 60 lab_settled || log "sockets still closing 60 s after the round"
	touch "$dir/read"
	wait "$pid" || fail "connrate client (BPF statistics) failed"
	cat "$dir/out"
}

# ---- a. connection setup rate --------------------------------------------------------

# bench_connrate BYTES PORT PAIRS LABEL BPF_TARGET_US RATE_TARGET_PCT: rounds
# without and with the engine, connections carrying BYTES each way; every
# STATS_EVERY-th pair is followed by a round with the kernel's BPF run-time
# statistics on (not in the rate medians: they cost two clock reads per
# run). RATE_TARGET_PCT "-": the rate overhead is reported, not judged.
bench_connrate() {
	local bytes=$1 port=$2 pairs=$3 label=$4 bpf_target=$5 rate_target=$6
	local pair mode out rate joins j0 conns ratios=() rates_off=() rates_on=()
	local joins_off=0 joins_on=0 conns_off=0 conns_on=0 r_off r_on ratios_ok=() joinless=0
	local -A regime=()
	# MPJoinAckRx: the server completed a join, so the connection really
	# had 2 subflows (join SYNs that arrive after the close are not counted).
	local join_mib=MPTcpExtMPJoinAckRx
	local stats_every=$(( pairs / STATS_ROUNDS )) progs=() per_conns=() s_joins=0 s_conns=0
	local -A alone_per_conns=()
	local s_runs=() p detail= stats_rounds=0
	local -A p_runs=() p_ns=()
	(( stats_every >= 1 )) || stats_every=1

	log "$label connection setup rate, $bytes B each way: $pairs x (${CONN_SECS}s without, ${CONN_SECS}s with the engine), order alternating, a BPF statistics round (${STATS_SECS}s) after every $stats_every pairs, client and server on CPU $BENCH_CPU"
	server "connrate-$bytes" "${PIN[@]}" "$CONNRATE" server -a "$S1_V4" -p "$port" -b "$bytes"
	for (( pair = 0; pair < pairs; pair++ )); do
		r_off=; r_on=
		# off/on, then on/off: a drift over the run (TIME_WAIT sockets
		# piling up, a neighbour's load) does not always hit the same side.
		for mode in $( (( pair % 2 )) && echo on off || echo off on ); do
			set_engine "$mode"
			j0=$(nstat_get "$NS_S" "$join_mib")
			out=$(client "${PIN[@]}" "$CONNRATE" client -a "$S1_V4" -p "$port" -b "$bytes" \
				-d "$CONN_SECS") || fail "connrate client failed"
			joins=$(( $(nstat_get "$NS_S" "$join_mib") - j0 ))
			rate=$(field "$out" rate)
			conns=$(field "$out" conns)
			log "  pair $pair engine $mode: $out joins $joins"
			regime[$mode]=$(joining "$joins" "$conns")
			if [ "$mode" = off ]; then
				rates_off+=("$rate"); r_off=$rate
				joins_off=$(( joins_off + joins )); conns_off=$(( conns_off + conns ))
			else
				rates_on+=("$rate"); r_on=$rate
				joins_on=$(( joins_on + joins )); conns_on=$(( conns_on + conns ))
			fi
		done
		ratios+=("$(calc "$r_on / $r_off")")
		if [ "${regime[off]}" = "${regime[on]}" ]; then
			ratios_ok+=("$(calc "$r_on / $r_off")")
			[ "${regime[on]}" = 0 ] && joinless=$(( joinless + 1 ))
		fi
		(( (pair + 1) % stats_every == 0 )) && (( stats_rounds < STATS_ROUNDS )) || continue
		# Where the time goes: the kernel's BPF run-time statistics
		# for every program of the engine, both ends.
		set_engine on
		[ "${#progs[@]}" -gt 0 ] || mapfile -t progs < <(engine_progs)
		[ "${#progs[@]}" -gt 0 ] || fail "no engine programs pinned in $SUBFLOW_PIN_DIR"
		j0=$(nstat_get "$NS_S" "$join_mib")
		out=$(stats_client -a "$S1_V4" -p "$port" -b "$bytes" -d "$STATS_SECS" "${progs[@]}")
		joins=$(( $(nstat_get "$NS_S" "$join_mib") - j0 ))
		conns=$(field "$out" conns)
		log "  BPF statistics round $stats_rounds: $out joins $joins"
		per_conns+=("$(calc "$(field "$out" bpf_ns) / $conns")")
		s_runs+=("$(calc "$(field "$out" bpf_runs) / $conns")")
		s_joins=$(( s_joins + joins )); s_conns=$(( s_conns + conns ))
		for p in track connect4 bind4 mptcpify; do
			[ -n "$(field "$out" "bpf_${p}_runs")" ] || continue
			p_runs[$p]+="$(calc "$(field "$out" "bpf_${p}_runs") / $conns") "
			p_ns[$p]+="$(calc "$(field "$out" "bpf_${p}_ns") / ($(field "$out" "bpf_${p}_runs") + 0.000001)") "
		done
		# The rounds of the programs measured alone, engine off.
		set_engine off
		for p in "${ALONE_PROGS[@]}"; do
			alone_set "$p" on
			out=$(stats_client -a "$S1_V4" -p "$port" -b "$bytes" -d "$STATS_SECS" \
				--bpf-prog "${ALONE_PIN[$p]}")
			alone_set "$p" off
			log "  $p round $stats_rounds: $out"
			alone_per_conns[$p]+="$(calc "$(field "$out" bpf_ns) / $(field "$out" conns)") "
		done
		stats_rounds=$(( stats_rounds + 1 ))
	done
	kill "$SPAWNED_PID" 2>/dev/null || true
	# Nothing left behind: every connection made with the engine on was
	# forgotten (both ends) within a second of the lab settling.
	local left
	wait_for 60 lab_settled || log "sockets still closing 60 s after the last round"
	sleep 1
	left=$(ctl status | jq '[.maps[] | select(.name == "conns" or .name == "subflow_overflow") | .entries] | add')
	row "$label entries left after $(( conns_on + s_conns )) conns, $bytes B" "-" "$left" "-" "0" \
	    "$( [ "$left" = 0 ] && echo ok || echo over)"
	set_engine off

	# The kernel switches between two regimes, engine or not (1-byte
	# connections): joins opened for ~4% of the connections, or for none
	# (its MPTCP worker falls behind: the client's subflows pile up in
	# CLOSE-WAIT, the path manager opens no join) at a rate up to 50%
	# higher. A pair whose two rounds are in different regimes compares
	# different work: it is left out, unless that would leave fewer than
	# half.
	local overhead ovs=() r used=("${ratios[@]}") rate_off per_conn pct
	[ "$(( 2 * ${#ratios_ok[@]} ))" -ge "${#ratios[@]}" ] && used=("${ratios_ok[@]}")
	overhead=$(calc "(1 - $(median "${used[@]}")) * 100")
	for r in "${used[@]}"; do ovs+=("$(calc "(1 - $r) * 100")"); done
	rate_off=$(median "${rates_off[@]}")
	if [ "$rate_target" = - ]; then
		row "$label conn setup rate, $bytes B (conns/s)" "$rate_off" "$(median "${rates_on[@]}")" \
		    "$(printf '%+.1f%%' "$overhead")" "(none)" "info"
	else
		row "$label conn setup rate, $bytes B (conns/s)" "$rate_off" "$(median "${rates_on[@]}")" \
		    "$(printf '%+.1f%%' "$overhead")" "<= $rate_target%" "$(verdict "$overhead" "$rate_target")"
	fi
	per_conn=$(median "${per_conns[@]}")
	pct=$(calc "100 * $per_conn * $rate_off / 1e9")
	row "$label engine BPF time per conn, $bytes B (us)" "0" "$(calc "$per_conn / 1000")" \
	    "$(printf '%.1f%% of a conn' "$pct")" "<= $bpf_target us" \
	    "$(verdict "$(calc "$per_conn / 1000")" "$bpf_target")"
	# What no tracker can go below here, in the same run: the target
	# left to the engine's own work is the target minus the floor.
	local floor proto
	# shellcheck disable=SC2086
	floor=$(median ${alone_per_conns[floor]})
	row "$label floor: least sockops tracker, BPF time per conn, $bytes B (us)" \
	    "$(calc "$floor / 1000")" "$(calc "$per_conn / 1000")" "$(times "$floor" "$per_conn")" \
	    "(none)" "info"
	# The socket-storage design's least cost, against the same target:
	# whether that design could meet it at all.
	# shellcheck disable=SC2086
	proto=$(median ${alone_per_conns[sk_storage]})
	row "$label sk_storage design (prototype, no index), BPF time per conn, $bytes B (us)" \
	    "$(calc "$floor / 1000")" "$(calc "$proto / 1000")" "$(times "$floor" "$proto")" \
	    "<= $bpf_target us" "$(verdict "$(calc "$proto / 1000")" "$bpf_target")"
	# shellcheck disable=SC2086
	proto=$(median ${alone_per_conns[index]})
	row "$label by-token index alone (least: 1 insert + 1 delete), BPF time per conn, $bytes B (us)" \
	    "$(calc "$floor / 1000")" "$(calc "$proto / 1000")" "$(times "$floor" "$proto")" \
	    "<= $bpf_target us" "$(verdict "$(calc "$proto / 1000")" "$bpf_target")"
	for p in track connect4 bind4 mptcpify; do
		[ -n "${p_runs[$p]:-}" ] || continue
		# shellcheck disable=SC2086
		detail+="$p $(median ${p_runs[$p]}) x $(printf '%.0f' "$(median ${p_ns[$p]})") ns; "
	done
	NOTES+=("$label $bytes B: BPF statistics, $stats_rounds rounds of ${STATS_SECS}s (engine on, no policy; per conn, both ends; median runs/conn x ns/run): ${detail}total $(median "${s_runs[@]}") runs; us/conn per round: $(for r in "${per_conns[@]}"; do printf '%.2f ' "$(calc "$r / 1000")"; done)(quartiles $(quartiles "$(for r in "${per_conns[@]}"; do calc "$r / 1000"; echo; done)")); = $pct% of a connection's time without the engine (1/$rate_off s); server $join_mib per conn in those rounds: $(calc "$s_joins / $s_conns")")
	NOTES+=("$label $bytes B: connections that got their join subflow (server $join_mib / conns): $(awk \
		-v a="$joins_off" -v b="$conns_off" -v c="$joins_on" -v d="$conns_on" \
		'BEGIN { printf "%.3f without, %.3f with the engine", a / b, c / d }')")
	NOTES+=("$label $bytes B: per-pair overhead % (${#used[@]} of $pairs pairs: both rounds in the same regime, $joinless of them joinless): $(for r in "${ovs[@]}"; do printf '%.1f ' "$r"; done)(quartiles $(quartiles "${ovs[@]}"))")
	CONNRATE_JOINS_PER_CONN=$(calc "($joins_off + $joins_on + $s_joins) / ($conns_off + $conns_on + $s_conns)")
}

# ---- b. bulk throughput ----------------------------------------------------------------

bench_bulk() {
	local pair mode out mbit a1 a2 d1 d2 ratios=() off=() on=() p2=() r_off r_on

	log "b. bulk throughput: $BULK_PAIRS x (${BULK_SECS}s without, ${BULK_SECS}s with the engine), order alternating, paths at $LAB_RATE"
	server bulk "$BULK" recv -a "$S1_V4" -p 6001
	for (( pair = 0; pair < BULK_PAIRS; pair++ )); do
		r_off=; r_on=
		for mode in $( (( pair % 2 )) && echo on off || echo off on ); do
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
				on+=("$mbit"); r_on=$mbit
			fi
		done
		ratios+=("$(calc "$r_on / $r_off")")
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
		local k ka lf lt m v
		k=$(ns "$n" fullinfo); ka=$(ns "$n" fullinfo_addrs); lt=$(ns "$n" lib_token)
		[ -n "$k" ] && [ -n "$ka" ] && [ -n "$lt" ] || fail "querylat printed no result for $n connections"
		# By fd: the kernel's answer, against the bare call asking for
		# the same (ids and addresses only).
		for m in lib_fd:get_tuples lib_fd_ids:get_ids lib_fd_tuple:get_tuple; do
			v=$(ns "$n" "${m%%:*}")
			[ -n "$v" ] || fail "querylat printed no ${m%%:*} for $n connections"
			row "c. by fd, subflow_${m#*:}, $n conns (ns)" "$ka" "$v" "$(times "$ka" "$v")" "<= 1.2x" \
			    "$(verdict "$(calc "$v / $ka")" 1.2)"
		done
		row "c. by token, subflow_get_tuples_by_token, $n conns (ns)" "$k" "$lt" "$(times "$k" "$lt")" "<= 2x" \
		    "$(verdict "$(calc "$lt / $k")" 2)"
	done
	for line in lib_fd lib_token; do
		local a b
		a=$(ns "$first" "$line"); b=$(ns "$last" "$line")
		row "c. $line flat: $last vs $first conns (ns)" "$a" "$b" "$(times "$a" "$b")" "<= 1.5x" \
		    "$(verdict "$(calc "$b / $a")" 1.5)"
	done
	NOTES+=("c. by fd: baseline = MPTCP_FULL_INFO asking for ids and addresses only (optlen 40, no tcp_info); by token: baseline = MPTCP_FULL_INFO with tcp_info + mptcp_info: $(for n in ${QUERY_STEPS//,/ }; do printf '%s ' "$(ns "$n" fullinfo)"; done)ns")
	NOTES+=("c. subflow_get_ids + subflow_get_tuple per id, by fd (1 + subflows calls): $(for n in ${QUERY_STEPS//,/ }; do printf '%s ' "$(ns "$n" lib_fd_each)"; done)ns")
	NOTES+=("c. subflow_get_ids_by_token + subflow_get_tuple_by_token per id (1 + subflows reads): $(for n in ${QUERY_STEPS//,/ }; do printf '%s ' "$(ns "$n" lib_token_each)"; done)ns")
	NOTES+=("c. lib_token_ns0 (netns_cookie 0): $(for n in ${QUERY_STEPS//,/ }; do printf '%s ' "$(ns "$n" lib_token_ns0)"; done)ns; subflow_current_netns alone: $(ns "$last" current_netns) ns; subflow_conn_of_fd alone: $(ns "$last" conn_of_fd) ns")
	NOTES+=("c. joined conns / answers differing from MPTCP_FULL_INFO: $(awk '$1 == "step" { printf "%s/%s ", $5, $3 }' <<<"$out")/ $(awk '$1 == "check" { printf "%s ", $7 }' <<<"$out")")
	QUERY_OUT=$out
}

# d. memory per tracked connection and subflow. The maps' own account
# (memlock: for a hash grown on demand, each element as allocated, header
# included) is the engine's memory per connection: its elements are
# kmalloc objects (kmalloc-cg-256 here), nothing else is allocated per
# connection. What else the kernel allocates with the engine on shows in
# the slab growth with vs without it, minus the maps' own: noisy (the
# kernel's own growth is ~15 kB per connection), so reported, and summed
# with the maps' when positive. Fixed memory (hash buckets, arrays) is
# reported apart.
bench_memory() {
	local m0 m1 dconn dsf per_sf_lock per_conn_lock
	m0=$(awk '$1 == "mem" { print; exit }' <<<"$QUERY_OUT")
	m1=$(awk '$1 == "mem" { l = $0 } END { print l }' <<<"$QUERY_OUT")
	dconn=$(( $(field "$m1" conn_entries) - $(field "$m0" conn_entries) ))
	dsf=$(( $(field "$m1" subflow_entries) - $(field "$m0" subflow_entries) ))
	[ "$dsf" -gt 0 ] || fail "no subflow entries were tracked in c: $m1"
	per_conn_lock=$(calc "(($(field "$m1" memlock_conns) - $(field "$m0" memlock_conns)) + \
		($(field "$m1" memlock_subflows) - $(field "$m0" memlock_subflows))) / $dconn")
	per_sf_lock=$(calc "$per_conn_lock * $dconn / $dsf")
	row "d. map memory per subflow (B), $(calc "$dsf / $dconn") subflows/conn" "-" "$per_sf_lock" \
	    "$per_conn_lock B/conn" "<= 256 B" "$(verdict "$per_sf_lock" 256)"
	NOTES+=("d. maps at $dconn connection entries (one per end) / $dsf subflows (c): $per_conn_lock B per entry (16 B key + 184 B value + the hash's element header: one kmalloc-256 object), $per_sf_lock B per subflow; a connection with one subflow: $per_conn_lock B for it; fixed at 0 entries (hash buckets, sized by max_conns): conns $(field "$m0" memlock_conns) B + subflow_overflow $(field "$m0" memlock_subflows) B")

	log "d. slab growth for $MEM_CONNS connections: $MEM_PAIRS x (without, with the engine)"
	server querymem "$QUERYLAT" server -a "$S1_V4" -p 6003
	local pair mode out s0 s1 grow_off=() grow_on=() lock_on=() tracked=0 left mm0
	for (( pair = 0; pair < MEM_PAIRS; pair++ )); do
		for mode in $( (( pair % 2 )) && echo on off || echo off on ); do
			set_engine "$mode"
			out=$(client "$QUERYLAT" client -a "$S1_V4" -p 6003 --steps "$MEM_CONNS" --no-query) ||
				fail "querylat (memory) failed"
			mm0=$(awk '$1 == "mem" { print; exit }' <<<"$out")
			s0=$(field "$mm0" slab_used_kb)
			m1=$(awk '$1 == "mem" { l = $0 } END { print l }' <<<"$out")
			s1=$(field "$m1" slab_used_kb)
			left=$(awk '$1 == "leftover"' <<<"$out")
			log "  pair $pair engine $mode: slab +$(( s1 - s0 )) kB, $m1; $left"
			if [ "$mode" = off ]; then
				grow_off+=("$(( s1 - s0 ))")
			else
				grow_on+=("$(( s1 - s0 ))")
				lock_on+=("$(( $(field "$m1" memlock_conns) - $(field "$mm0" memlock_conns) + \
					$(field "$m1" memlock_subflows) - $(field "$mm0" memlock_subflows) ))")
				tracked=$(field "$m1" subflow_entries)
				[ "$(field "$left" subflow_entries)" = 0 ] && [ "$(field "$left" conn_entries)" = 0 ] ||
					NOTES+=("d. LEAK: entries left after every connection closed: $left")
			fi
		done
	done
	set_engine off
	kill "$SPAWNED_PID" 2>/dev/null || true
	[ "$tracked" -gt 0 ] || fail "no subflow tracked in d"
	local off_kb on_kb lock other all
	off_kb=$(median "${grow_off[@]}"); on_kb=$(median "${grow_on[@]}"); lock=$(median "${lock_on[@]}")
	other=$(calc "(($on_kb - $off_kb) * 1024 - $lock) / $tracked")
	all=$(calc "$per_sf_lock + ($other > 0 ? $other : 0)")
	row "d. other slab per subflow (B), $MEM_CONNS conns" "-" "$(printf '%.0f' "$other")" \
	    "-" "(none)" "info"
	row "d. memory per subflow, all (B)" "-" "$(printf '%.0f' "$all")" "-" "<= 256 B" "$(verdict "$all" 256)"
	NOTES+=("d. slab objects in use, $MEM_CONNS conns, $tracked subflows tracked: growth without the engine ${grow_off[*]} kB, with ${grow_on[*]} kB (medians $off_kb, $on_kb), of which the maps' ${lock_on[*]} B")
}

# ---- e. policy evaluation per new subflow -----------------------------------------------

# policy_file RULES FILE: a policy whose only matching rule is the last one,
# so that every rule is evaluated for every subflow: RULES - 1 rules for
# destinations the bench never uses, then the rule for the LTE path (c2;
# the joins). The initial subflow (Wi-Fi, c1) matches no rule at all.
policy_file() {
	local n=$1 file=$2 i
	{
		echo "path wifi dev $C1"
		echo "path lte  dev $C2"
		for (( i = 1; i < n; i++ )); do
			echo "rule dst 192.0.2.$i/32 mark 1"
		done
		echo "rule path lte mark 0x20"
	} > "$file"
}

# ms_since NS_START: milliseconds since a `date +%s%N` value.
ms_since() {
	calc "($(date +%s%N) - $1) / 1e6"
}

bench_policy_eval() {
	local variants=(0 1 16 64) round k v out rate conns bpf j0 t0 shown i
	local -A rates=() bpfs=() pratios=() deltas=() per_sf=() cli_ms=() joins=() nconns=()
	local -A r_rate=() r_bpf=() r_pns=() pns=()
	local p a_ b_ c_ round_ok dropped=0 joinless=0
	local -A r_reg=()
	local join_mib=MPTcpExtMPJoinAckRx progs=()

	log "e. policy evaluation: $POLICY_ROUNDS x (no policy, 1, 16, 64 rules) x ${POLICY_SECS}s, engine attached, BPF statistics on, CPU $BENCH_CPU"
	for v in 1 16 64; do
		policy_file "$v" "$LAB_TMP/bench-$v.policy"
	done
	set_engine on
	mapfile -t progs < <(engine_progs)
	[ "${#progs[@]}" -gt 0 ] || fail "no engine programs pinned in $SUBFLOW_PIN_DIR"
	server policyrate "${PIN[@]}" "$CONNRATE" server -a "$S1_V4" -p 6004
	for (( round = 0; round < POLICY_ROUNDS; round++ )); do
		r_rate=(); r_bpf=(); r_reg=()
		for (( k = 0; k < 4; k++ )); do
			v=${variants[(round + k) % 4]}
			t0=$(date +%s%N)
			if [ "$v" = 0 ]; then
				"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" -n "$NS_C" policy unload "$CG_C" \
					>/dev/null 2>&1 || true	# none loaded yet: fine
			else
				"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" -n "$NS_C" policy load "$CG_C" \
					"$LAB_TMP/bench-$v.policy" >/dev/null || fail "policy load $v rules"
				cli_ms[$v]+="$(ms_since "$t0") "
			fi
			j0=$(nstat_get "$NS_S" "$join_mib")
			out=$(stats_client -a "$S1_V4" -p 6004 -d "$POLICY_SECS" "${progs[@]}")
			j0=$(( $(nstat_get "$NS_S" "$join_mib") - j0 ))
			r_reg[$v]=$(joining "$j0" "$(field "$out" conns)")
			joins[$v]=$(( ${joins[$v]:-0} + j0 ))
			rate=$(field "$out" rate); conns=$(field "$out" conns)
			nconns[$v]=$(( ${nconns[$v]:-0} + conns ))
			# The programs that evaluate the policy: the sockops
			# program (tracking, whose cost does not depend on the
			# policy, and options) and the cgroup hooks (admission).
			bpf=$(calc "($(field "$out" bpf_track_ns) + $(field "$out" bpf_connect4_ns) + \
				$(field "$out" bpf_connect6_ns) + $(field "$out" bpf_bind4_ns) + \
				$(field "$out" bpf_bind6_ns)) / $conns")
			r_rate[$v]=$rate; r_bpf[$v]=$bpf
			r_pns[$v]=$(for p in track connect4 bind4; do printf '%s ' "$(calc "$(field "$out" "bpf_${p}_ns") / $conns")"; done)
			if [ "$v" != 0 ]; then
				# Subflows the client's sockops program decided with this
				# policy (counters start at 0 with each load).
				shown=$(ctl_in "$NS_C" policy show "$CG_C") || fail "policy show"
				per_sf[$v]+="$(jq --argjson c "$conns" '.[0] | (([.rules[].hits] | add) + .no_match) / $c' <<<"$shown") "
			fi
			log "  round $round: $v rules: rate $rate policy bpf_ns/conn $bpf joins $j0 ($out)"
		done
		# As in a: a round whose runs are not all in the same regime is
		# left out (at most half of them).
		round_ok=1
		[ "${r_reg[0]}${r_reg[1]}${r_reg[16]}${r_reg[64]}" = 0000 ] && joinless=$(( joinless + 1 ))
		case ${r_reg[0]}${r_reg[1]}${r_reg[16]}${r_reg[64]} in 0000|1111) ;; *) round_ok=0 ;; esac
		if [ "$round_ok" = 0 ] && [ "$(( 2 * (dropped + 1) ))" -le "$POLICY_ROUNDS" ]; then
			dropped=$(( dropped + 1 ))
			continue
		fi
		for v in 0 1 16 64; do
			rates[$v]+="${r_rate[$v]} "; bpfs[$v]+="${r_bpf[$v]} "
			read -r a_ b_ c_ <<<"${r_pns[$v]}"
			pns[$v.track]+="$a_ "; pns[$v.connect4]+="$b_ "; pns[$v.bind4]+="$c_ "
		done
		for v in 1 16 64; do
			pratios[$v]+="$(calc "${r_rate[$v]} / ${r_rate[0]}") "
			deltas[$v]+="$(calc "${r_bpf[$v]} - ${r_bpf[0]}") "
		done
	done
	"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" -n "$NS_C" policy unload "$CG_C" >/dev/null 2>&1 || true
	kill "$SPAWNED_PID" 2>/dev/null || true

	local base_rate base_bpf oh d pct sf ovs
	# shellcheck disable=SC2086
	base_rate=$(median ${rates[0]}); base_bpf=$(median ${bpfs[0]})
	for v in 1 16 64; do
		# shellcheck disable=SC2086
		oh=$(calc "(1 - $(median ${pratios[$v]})) * 100")
		ovs=(); for i in ${pratios[$v]}; do ovs+=("$(calc "(1 - $i) * 100")"); done
		row "e. policy $v rules: conn rate (conns/s)" "$base_rate" "$(median ${rates[$v]})" \
		    "$(printf '%+.1f%%' "$oh")" "<= 5%" "$(verdict "$oh" 5)"
		NOTES+=("e. $v rules: per-round rate overhead % ($(( POLICY_ROUNDS - dropped )) of $POLICY_ROUNDS rounds: all four runs in the same regime, $joinless of them joinless): $(printf '%.1f ' "${ovs[@]}")(quartiles $(quartiles "${ovs[@]}"))")
	done
	for v in 1 16 64; do
		# shellcheck disable=SC2086
		d=$(median ${deltas[$v]}); sf=$(median ${per_sf[$v]})
		pct=$(calc "100 * $d * $base_rate / 1e9")
		row "e. policy $v rules: policy BPF us/conn" "$(calc "$base_bpf / 1000")" \
		    "$(calc "($base_bpf + $d) / 1000")" "$(printf '%+.1f%%' "$pct")" "<= 5%" "$(verdict "$pct" 5)"
		NOTES+=("e. $v rules: +$(calc "$d / 1000") us BPF/conn over no policy (ns/conn track $(median ${pns[0.track]}) -> $(median ${pns[$v.track]}), connect4 $(median ${pns[0.connect4]}) -> $(median ${pns[$v.connect4]}), bind4 $(median ${pns[0.bind4]}) -> $(median ${pns[$v.bind4]})); $sf subflows/conn decided by the client's sockops program -> $(calc "$d / $sf / 1000") us per new subflow; joins/conn $(calc "${joins[$v]} / ${nconns[$v]}") (no policy: $(calc "${joins[0]} / ${nconns[0]}")); subflowctl policy load: median $(median ${cli_ms[$v]}) ms")
	done
	E_CLI_MS_1=$(median ${cli_ms[1]}); E_CLI_MS_64=$(median ${cli_ms[64]})
}

# ---- f. time from policy load to the policy in force -------------------------------------

bench_policy_load() {
	local out g0 g1 total l64 l1 p64 p1 ver

	log "f. policy load -> in force: $POLICY_LOADS x (64 rules, 1 rule) timed, $POLICY_VERIFY checked on a new subflow"
	set_engine on
	server policyverify "$CONNRATE" server -a "$S1_V4" -p 6005
	# A known generation to count from: every load takes the next one.
	policy_file 1 "$LAB_TMP/bench-gen.policy"
	g0=$(ctl_in "$NS_C" policy load "$CG_C" "$LAB_TMP/bench-gen.policy" | jq '.generation') ||
		fail "policy load (generation)"
	out=$(client "$POLICYLOAD" --cgroup "$CG_C" --netns "$NS_C" -n "$POLICY_LOADS" \
		--dev1 "$C1" --dev2 "$C2" --verify "$S1_V4" -p 6005 --verify-count "$POLICY_VERIFY") ||
		fail "policyload failed"
	printf '%s\n' "$out" | sed 's/^/#   /' >&2
	g1=$(ctl_in "$NS_C" policy show "$CG_C" | jq '.[0].generation') || fail "policy show"
	"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" -n "$NS_C" policy unload "$CG_C" >/dev/null 2>&1 || true
	kill "$SPAWNED_PID" 2>/dev/null || true
	set_engine off

	# pl_stat WHAT RULES KEY
	pl_stat() { awk -v w="$1" -v r="$2" -v k="$3" '$1 == w && $3 == r {
		for (i = 4; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$out"; }
	l64=$(pl_stat inforce 64 median_ms); l1=$(pl_stat inforce 1 median_ms)
	p64=$(pl_stat inforce 64 p95_ms); p1=$(pl_stat inforce 1 p95_ms)
	[ -n "$l64" ] && [ -n "$l1" ] || fail "policyload printed no timings: $out"
	row "f. load->in force, 64 rules, median (ms)" "$l1" "$l64" "$(times "$l1" "$l64")" "< 10 ms" \
	    "$(verdict "$l64" 10)"
	row "f. load->in force, 64 rules, p95 (ms)" "$p1" "$p64" "$(times "$p1" "$p64")" "< 10 ms" \
	    "$(verdict "$p64" 10)"
	row "f. the call returns, 64 rules, median (ms)" "$(pl_stat load 1 median_ms)" \
	    "$(pl_stat load 64 median_ms)" "-" "(none)" "info"
	row "f. the call returns, 64 rules, p95 (ms)" "$(pl_stat load 1 p95_ms)" \
	    "$(pl_stat load 64 p95_ms)" "-" "(none)" "info"
	row "f. subflowctl policy load, 64 rules (ms)" "$E_CLI_MS_1" "$E_CLI_MS_64" \
	    "$(times "$E_CLI_MS_1" "$E_CLI_MS_64")" "< 10 ms" "$(verdict "$E_CLI_MS_64" 10)"
	ver=$(awk '$1 == "verify"' <<<"$out")
	total=$(awk '$1 == "loads_total" { print $2 }' <<<"$out")
	NOTES+=("f. baseline column: a 1-rule policy; in force max $(pl_stat inforce 1 max_ms) / $(pl_stat inforce 64 max_ms) ms; a call whose spares ran low (one load in three) puts them back in \`policies\` in one batch and drops the retired images due, two RCU grace periods, after the swap; the parser alone, 64 rules: median $(pl_stat parse 64 median_ms) ms; CLI times (e) include starting subflowctl")
	NOTES+=("f. in force: $ver (the very next connection's initial subflow carried the new policy's mark); generations $g0 -> $g1 = $(( g1 - g0 )) for $total loads")
	[ "$(( g1 - g0 ))" = "$total" ] || NOTES+=("f. WRONG: $total loads but the generation moved by $(( g1 - g0 ))")
	[ "$(field "$ver" stale)" = 0 ] || NOTES+=("f. WRONG: some loads were not in force for the next subflow: $ver")
}

# ---- g. the launcher vs native calls and an LD_PRELOAD shim --------------------------------

# launch_prefix VARIANT: sets PRE to the words that run a program that
# way: native (nothing), preload (the LD_PRELOAD shim), launcher
# (subflowctl run, pinned with the program to the same CPU); and ARGS to
# sockcost's extra argument for it (native MPTCP: --mptcp).
launch_prefix() {
	ARGS=()
	case $1 in
	tcp)      PRE=() ;;
	mptcp)    PRE=(); ARGS=(--mptcp) ;;
	preload)  PRE=(env "LD_PRELOAD=$PRELOAD_SHIM") ;;
	launcher) PRE=("$SUBFLOWCTL" run --) ;;
	esac
}

bench_launcher() {
	local round k v out ns proto rate want variants=(tcp mptcp preload launcher)
	local -A sock=() conn=() cratios=()
	local r_m r_l PRE=() ARGS=() j0 all_ratios=
	local -A reg=()

	log "g. launcher: $LAUNCH_ROUNDS x (socket() x $LAUNCH_CALLS, ${LAUNCH_SECS}s of connections) for native TCP, native MPTCP, LD_PRELOAD shim, subflowctl run; order rotating; CPU $BENCH_CPU"
	server launchrate "${PIN[@]}" "$CONNRATE" server -a "$S1_V4" -p 6006
	for (( round = 0; round < LAUNCH_ROUNDS; round++ )); do
		r_m=; r_l=
		for (( k = 0; k < 4; k++ )); do
			v=${variants[(round + k) % 4]}
			launch_prefix "$v"
			want=$IPPROTO_MPTCP_NR; [ "$v" = tcp ] && want=6
			out=$(run_in "$CG_C" "$NS_C" timeout -k 5 "$TOOL_TIMEOUT" "${PIN[@]}" "${PRE[@]}" \
				"$SOCKCOST" socket -n "$LAUNCH_CALLS" "${ARGS[@]}") || fail "sockcost socket ($v) failed"
			proto=$(field "$out" protocol); ns=$(field "$out" socket_ns)
			[ "$proto" = "$want" ] || fail "g. $v: socket() gave protocol $proto, expected $want"
			sock[$v]+="$ns "
			[ "$v" = tcp ] && { log "  round $round $v: $out"; continue; }
			j0=$(nstat_get "$NS_S" MPTcpExtMPJoinAckRx)
			out=$(run_in "$CG_C" "$NS_C" timeout -k 5 "$TOOL_TIMEOUT" "${PIN[@]}" "${PRE[@]}" \
				"$SOCKCOST" conn -a "$S1_V4" -p 6006 -d "$LAUNCH_SECS" "${ARGS[@]}") ||
				fail "sockcost conn ($v) failed"
			rate=$(field "$out" rate)
			reg[$v]=$(joining "$(( $(nstat_get "$NS_S" MPTcpExtMPJoinAckRx) - j0 ))" "$(field "$out" conns)")
			[ "$(field "$out" protocol)" = "$IPPROTO_MPTCP_NR" ] || fail "g. $v: connections were not MPTCP: $out"
			conn[$v]+="$rate "
			[ "$v" = mptcp ] && r_m=$rate
			[ "$v" = launcher ] && r_l=$rate
			log "  round $round $v: socket_ns $ns; $out"
		done
		# As in a: the kernel's two regimes (joins or none) differ in
		# rate by more than what is measured here; compare a round only
		# when both runs are in the same one (unless that leaves fewer
		# than half of the rounds).
		all_ratios+="$(calc "$r_l / $r_m") "
		[ "${reg[mptcp]}" = "${reg[launcher]}" ] && cratios[launcher]+="$(calc "$r_l / $r_m") "
	done
	# shellcheck disable=SC2086
	set -- ${cratios[launcher]:-}
	[ "$(( 2 * $# ))" -ge "$LAUNCH_ROUNDS" ] || cratios[launcher]=$all_ratios
	kill "$SPAWNED_PID" 2>/dev/null || true

	local n_tcp n_m n_p n_l c_m c_l added conn_ns pct oh
	# shellcheck disable=SC2086
	{ n_tcp=$(median ${sock[tcp]}); n_m=$(median ${sock[mptcp]}); n_p=$(median ${sock[preload]})
	  n_l=$(median ${sock[launcher]}); c_m=$(median ${conn[mptcp]}); c_l=$(median ${conn[launcher]}); }
	conn_ns=$(calc "1e9 / $c_m")
	added=$(calc "$n_l - $n_m")
	pct=$(calc "100 * $added / $conn_ns")
	# shellcheck disable=SC2086
	oh=$(calc "(1 - $(median ${cratios[launcher]})) * 100")
	row "g. socket() native: TCP vs MPTCP (ns)" "$n_tcp" "$n_m" "$(times "$n_tcp" "$n_m")" "(none)" "info"
	row "g. socket() LD_PRELOAD shim (ns)" "$n_m" "$n_p" "$(times "$n_m" "$n_p")" "(none)" "info"
	row "g. socket() subflowctl run (ns)" "$n_m" "$n_l" \
	    "$(printf '+%.1f us = %.1f%% of a conn' "$(calc "$added / 1000")" "$pct")" "<= 10% of a conn" \
	    "$(verdict "$pct" 10)"
	row "g. short conns/s, subflowctl run" "$c_m" "$c_l" "$(printf '%+.1f%%' "$oh")" "<= 5%" "$(verdict "$oh" 5)"
	NOTES+=("g. socket() medians per run (ns): native TCP ${sock[tcp]}/ native MPTCP ${sock[mptcp]}/ shim ${sock[preload]}/ launcher ${sock[launcher]}")
	NOTES+=("g. short connections/s per round: native MPTCP ${conn[mptcp]}/ shim ${conn[preload]}/ launcher ${conn[launcher]}; a conn = $(calc "$conn_ns / 1000") us natively; launcher/native ratios used (same join regime): ${cratios[launcher]}")

	# Coverage: which programs get MPTCP under each (tcp_app reports the
	# protocol of its socket; the server is MPTCP).
	local prog raw got=() name
	local -A conv=([preload]=0 [launcher]=0)
	for prog in "$TCP_APP" "$TCP_APP_STATIC"; do
		for raw in "" --raw; do
			name="$(basename "$prog")${raw:+ $raw}"
			for v in preload launcher; do
				rm -f "$LAB_TMP/cov.json"
				SPAWN_OUT=$LAB_TMP/cov-srv.log spawn_in "$CG_S" "$NS_S" "$TCP_APP" server -a "$S1_V4" \
					-p 6007 --mptcp --ready-file "$LAB_TMP/cov.ready"
				wait_file 5 "$LAB_TMP/cov.ready" || fail "coverage server did not start"
				launch_prefix "$v"
				# shellcheck disable=SC2086
				run_in "$CG_C" "$NS_C" timeout -k 5 "$TOOL_TIMEOUT" "${PRE[@]}" \
					"$prog" client -a "$S1_V4" -p 6007 --out "$LAB_TMP/cov.json" $raw ||
					fail "coverage: $name under $v failed"
				rm -f "$LAB_TMP/cov.ready"
				proto=$(jq -r .protocol "$LAB_TMP/cov.json")
				[ "$proto" = "$IPPROTO_MPTCP_NR" ] && conv[$v]=$(( ${conv[$v]} + 1 ))
				got+=("$name/$v:$proto")
			done
		done
	done
	row "g. programs given MPTCP (of 4)" "${conv[preload]}/4 shim" "${conv[launcher]}/4" \
	    "libc, raw, static, static+raw" "4/4" "$([ "${conv[launcher]}" = 4 ] && echo ok || echo over)"
	NOTES+=("g. protocol each program's socket got (262 MPTCP, 6 TCP): ${got[*]}")
}

# ---- p. where the sockops time goes, callback by callback ----------------------------

# profile_round on|off BYTES PORT OUT: one connrate round of PROFILE_SECS
# with opprof's bracket around the engine's sockops programs (on) or around
# nothing (off: the bracket's own cost); opprof's table goes to OUT, the
# client's line to OUT.client.
profile_round() {
	local mode=$1 bytes=$2 port=$3 out=$4 dir pid
	dir=$(mktemp -d "$LAB_TMP/opprof.XXXXXX")
	set_engine off
	"$OPPROF" --cgroup "$CG_C" --cgroup "$CG_S" --stage "$dir" > "$out" 2> "$out.err" &
	pid=$!
	proc_register "$pid"
	wait_file 10 "$dir/pre" || fail "opprof did not attach: $(cat "$out.err")"
	[ "$mode" = on ] && set_engine on
	touch "$dir/go"
	wait_file 10 "$dir/ready" || fail "opprof did not attach its second half: $(cat "$out.err")"
	client "${PIN[@]}" "$CONNRATE" client -a "$S1_V4" -p "$port" -b "$bytes" -d "$PROFILE_SECS" \
		> "$out.client" || fail "connrate client (profile) failed"
	wait_for 60 lab_settled || log "sockets still closing 60 s after the round"
	touch "$dir/stop"
	wait "$pid" || fail "opprof failed: $(cat "$out.err")"
	set_engine off
}

# profile_table PREFIX ROUNDS: per callback, the median over rounds of
# runs per connection and of ns per run (the bracket's mean cost per run in
# that round's off run subtracted), then the median total per connection:
# "CALLBACK[(STATE)] RUNS x NS ns; ...; total ...". Files: PREFIX-R-on,
# PREFIX-R-off, PREFIX-R-on.client for R in 1..ROUNDS.
profile_table() {
	local prefix=$1 rounds=$2 r
	for (( r = 1; r <= rounds; r++ )); do
		awk -v r="$r" -v c="$(field "$(cat "$prefix-$r-on.client")" conns)" '
			FNR == 1 { f++ }
			f == 1 && $1 == "op" { or += $6; on += $8 }
			f == 2 && $1 == "op" {
				o = or ? on / or : 0
				name = $2; if ($4 != "-") name = name "(" $4 ")"
				ns = $8 / $6 - o; if (ns < 0) ns = 0
				printf "%s %s %.4f %.1f\n", r, name, $6 / c, ns
				tn += $8 - o * $6 }
			END { printf "%s TOTAL %.4f %.1f\n", r, 0, tn / c }' \
			"$prefix-$r-off" "$prefix-$r-on"
	done | tee "$prefix.rounds" | sort -k2,2 -k1,1n | awk '
		function med(a, n,   i, j, t) {
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
		function flush() { if (name == "") return
			if (name == "TOTAL") total = med(ns, n)
			else { out = out sprintf("%s %.2f x %.0f ns; ", name, med(runs, n), med(ns, n)); tr += med(runs, n) }
			n = 0 }
		$2 != name { flush(); name = $2 }
		{ n++; runs[n] = $3; ns[n] = $4 }
		END { flush(); printf "%stotal %.1f runs, %.2f us per connection", out, tr, total / 1000 }'
}

bench_profile() {
	local bytes port r
	log "p. per-callback profile: opprof around the engine's sockops programs, $PROFILE_ROUNDS x (${PROFILE_SECS}s off, ${PROFILE_SECS}s on), 1 B and 64 KiB connections"
	for bytes in ${BENCH_PROFILE_BYTES:-1 65536}; do
		port=$(( 6010 + (bytes > 1) ))
		server "profile-$bytes" "${PIN[@]}" "$CONNRATE" server -a "$S1_V4" -p "$port" -b "$bytes"
		for (( r = 1; r <= PROFILE_ROUNDS; r++ )); do
			profile_round off "$bytes" "$port" "$LAB_TMP/prof-$bytes-$r-off"
			profile_round on "$bytes" "$port" "$LAB_TMP/prof-$bytes-$r-on"
		done
		kill "$SPAWNED_PID" 2>/dev/null || true
		NOTES+=("p. sockops per connection, $bytes B each way (both ends; callback runs/conn x ns/run, medians of $PROFILE_ROUNDS rounds, the bracket's own cost subtracted): $(profile_table "$LAB_TMP/prof-$bytes" "$PROFILE_ROUNDS")")
		log "  per round (us/conn, TCP_CONNECT_CB runs/conn): $(awk '$2 == "TOTAL" { t[$1] = $4 / 1000 } $2 == "TCP_CONNECT_CB" { j[$1] = $3 } END { for (r in t) printf "%.2f(%.2f) ", t[r], j[r] }' "$LAB_TMP/prof-$bytes.rounds")"
	done
}

# r and s: path management (operations, failover): tests/bench/pathmgr.sh.
source "$(dirname "${BASH_SOURCE[0]}")/pathmgr.sh"
# u: the daemon's control socket: tests/bench/control.sh.
source "$(dirname "${BASH_SOURCE[0]}")/control.sh"

# ---- Main ------------------------------------------------------------------------------

require_mptcp
require_cmd nstat jq ip tc timeout taskset bpftool
for t in "$SUBFLOWCTL" "$CONNRATE" "$BULK" "$QUERYLAT" "$POLICYLOAD" "$SOCKCOST" "$TCP_APP" \
	 "$TCP_APP_STATIC" "$PRELOAD_SHIM" "$OPPROF"; do
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

only() { local letters=${BENCH_ONLY//cc/}; [[ $letters == *"$1"* ]]; }
IPPROTO_MPTCP_NR=262
if only a; then
	for p in "${ALONE_PROGS[@]}"; do alone_load "$p"; done
	bench_connrate 1 6000 "$PAIRS" "a." 3 3
	bench_connrate 65536 6007 "$PAIRS_64K" "a2." 6 -
	row "a2. joins per conn, 65536 B (server MPJoinAckRx)" "-" "$CONNRATE_JOINS_PER_CONN" "-" ">= 0.95" \
	    "$(awk -v v="$CONNRATE_JOINS_PER_CONN" 'BEGIN { print (v >= 0.95) ? "ok" : "under" }')"
fi
only b && bench_bulk
only c && bench_query
only d && bench_memory
only e && bench_policy_eval
only f && bench_policy_load
only g && bench_launcher
only p && bench_profile
[[ $BENCH_ONLY == *cc* ]] && bench_cc
only r && bench_pm_ops
only s && bench_failover
only u && bench_control

if [ "$(ctl status | jq .loaded)" = true ]; then
	NOTES+=("engine counters at the end: $(ctl status | jq -c .counters)")
	ctl unload >/dev/null || fail "subflowctl unload"
fi

printf '\n'
{
	printf 'benchmark\tbaseline\twith engine\tratio/overhead\ttarget\tverdict\n'
	printf '%s\n' "${ROWS[@]}"
} | column -t -s $'\t'
printf '\n'
printf '%s\n' "${NOTES[@]}"
printf 'machine: %s CPUs, kernel %s; total %ss\n' "$(nproc)" "$(uname -r)" "$(( $(date +%s) - started ))"

# shellcheck shell=bash
# tests/bench/cc.sh: the coupled congestion control benchmarks, sourced by
# tests/bench/run.sh (alone with BENCH_ONLY=cc). Lab: tests/cc_lib.sh
# (client, router, server). Every configuration runs CC_RUNS times for
# CC_SECS seconds; the configurations of one round run one after the other
# in a rotating order (round r starts at configuration r), so that a drift
# of the shared machine does not always hit the same one. Rows give
# min/median/max over the rounds.
#
#   h. shared bottleneck (one tbf of CC_SHARED_RATE on the router's egress):
#      a 2-subflow MPTCP connection against one TCP Reno flow, ratio of
#      their goodputs, with uncoupled reno and cubic on the subflows
#      (about 2 expected) and with mptcp_lia/olia/balia (target 0.8-1.25)
#   i. disjoint bottlenecks (c1 at CC_P1_RATE, c2 at CC_P2_RATE): MPTCP alone
#      with each coupled control against one TCP flow alone on the best
#      path (RFC 6356 goal 1: >= 1x) and its share of what two TCP flows,
#      one per path, get together (target >= 90% for OLIA and BALIA)
#   j. balancing (goal 3): both paths at CC_BAL_RATE, two TCP Reno flows on
#      path 1: the share of the MPTCP bytes sent over path 2 (target >= 75%
#      for the coupled controls; uncoupled reno beside it)
#   k. per-ACK BPF cost of each control (kernel BPF statistics during i):
#      ns of all its programs per cong_avoid run, against sf_bench_reno, a
#      BPF struct_ops whose callbacks are the kernel's Reno functions

CC_RUNS=${BENCH_CC_RUNS:-3}
CC_SECS=${BENCH_CC_SECS:-20}
CC_SHARED_RATE=${BENCH_CC_SHARED_RATE:-40mbit}
CC_P1_RATE=${BENCH_CC_P1_RATE:-30mbit}
CC_P2_RATE=${BENCH_CC_P2_RATE:-10mbit}
CC_BAL_RATE=${BENCH_CC_BAL_RATE:-20mbit}
CC_REF_OBJ=$LAB_BUILD/tests/bench/cc_reno_ref.bpf.o

# cc_send PORT ARGS...: one bulk sender from the client namespace (in the
# background; its output goes to $LAB_TMP/cc_out.PORT).
cc_send() {
	local port=$1
	shift
	in_ns "$NS_C" timeout -k 5 $(( CC_SECS + 40 )) "$BULK" send -a "$CC_S" -p "$port" \
		-d "$CC_SECS" "$@" > "$LAB_TMP/cc_out.$port" 2> "$LAB_TMP/cc_err.$port" &
	CC_PIDS+=("$!")
}
CC_PIDS=()

# cc_wait PORT...: wait for those senders; fail if one failed.
cc_wait() {
	local pid rc=0 p
	for pid in "${CC_PIDS[@]}"; do
		wait "$pid" || rc=$?
	done
	CC_PIDS=()
	for p in "$@"; do
		[ -s "$LAB_TMP/cc_out.$p" ] ||
			fail "bulk sender to port $p failed (rc $rc): $(cat "$LAB_TMP/cc_err.$p")"
	done
}

cc_out() { cat "$LAB_TMP/cc_out.$1"; }

# sf_acked OUTPUT ADDR: bytes ACKed on the subflow with that local address.
sf_acked() {
	awk -v a="$2" '{ for (i = 1; i < NF; i++) if ($i == "sf" && $(i + 1) == a) print $(i + 3) }' <<<"$1"
}

# bpf_sum OUTPUT WHAT: sum of the "bpf NAME runs N ns T" fields (WHAT: ns),
# or the runs of the program whose name ends in _cong_avoid (WHAT: acks).
bpf_sum() {
	awk -v w="$2" '{ for (i = 1; i < NF; i++) if ($i == "bpf") {
		if (w == "ns") s += $(i + 5); else if ($(i + 1) ~ /_cong_avoi/) s += $(i + 3) } }
		END { print s + 0 }' <<<"$1"
}

# mmm VALUES...: "min/median/max" with 2 decimals.
mmm() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f/%.2f/%.2f", v[1], m, v[NR] }'
}

# in_range VALUE LO HI: ok / missed
in_range() {
	awk -v v="$1" -v l="$2" -v h="$3" 'BEGIN { print (v >= l && v <= h) ? "ok" : "MISSED" }'
}

# prog_ids_of STRUCT_OPS_MAP_ID: the ids of the programs it holds, as
# --bpf-prog-id arguments.
prog_ids_of() {
	bpftool struct_ops dump id "$1" | grep -o 'prog_id:[0-9]*' | cut -d: -f2 |
		sed 's/^/--bpf-prog-id\n/'
}

# rotate R ITEMS...: the items starting at index R mod count.
rotate() {
	local r=$1 i n
	shift
	n=$#
	local items=("$@")
	for (( i = 0; i < n; i++ )); do
		printf '%s\n' "${items[(r + i) % n]}"
	done
}

bench_cc() {
	local run cc out t m r
	local -A ratio=() tcp_mbit=() mp_mbit=() share=() best=() sum2=() acks=() ns=()
	local -A progs=() hm=()
	require_cmd bpftool
	[ -r "$CC_REF_OBJ" ] || fail "$CC_REF_OBJ not built (run make)"
	cc_lab_setup
	local cg
	cg=$(cg_create bench-cc)
	cc_engine_load "$cg"
	bpftool struct_ops register "$CC_REF_OBJ" >/dev/null 2>&1 ||
		fail "cannot register the reference sf_bench_reno ($CC_REF_OBJ)"
	lab_on_cleanup 'bpftool struct_ops unregister name sf_bench_reno >/dev/null 2>&1'
	local ref_id
	ref_id=$(bpftool -j struct_ops show | jq -r '.[] | select(.name == "sf_bench_reno") | .id' | head -n1)
	mapfile -t progs_ref < <(prog_ids_of "$ref_id")
	for cc in "${CC_NAMES[@]}"; do
		progs[$cc]=$(prog_ids_of "$(cc_status | jq -r --arg n "$cc" '.[] | select(.name == $n) | .map_id')" | tr '\n' ' ')
	done
	progs[sf_bench_reno]="${progs_ref[*]}"
	local CG_S
	CG_S=$(cg_create bench-cc-srv)	# where server() starts the receivers
	for port in 7001 7002 7003 7004; do
		server "cc$port" "$BULK" recv -a "$CC_S" -p "$port"
	done

	log "h. shared bottleneck $CC_SHARED_RATE: MPTCP (2 subflows) vs TCP reno, $CC_RUNS x $CC_SECS s per control"
	cc_shape shared "$CC_SHARED_RATE"
	local shared=(reno cubic mptcp_lia mptcp_olia mptcp_balia)
	for (( run = 0; run < CC_RUNS; run++ )); do
		for cc in $(rotate "$run" "${shared[@]}"); do
			cc_send 7001 --tcp --cc reno --bind "$CC_C1"
			cc_send 7002 --cc "$cc"
			cc_wait 7001 7002
			t=$(field "$(cc_out 7001)" mbit); m=$(field "$(cc_out 7002)" mbit)
			r=$(calc "$m / $t")
			ratio[$cc]+="$r "; tcp_mbit[$cc]+="$t "; mp_mbit[$cc]+="$m "
			log "  round $run $cc: MPTCP $m Mbit/s, TCP $t Mbit/s, ratio $r ($(cc_out 7002))"
		done
	done
	for cc in "${shared[@]}"; do
		# shellcheck disable=SC2086
		r=$(median ${ratio[$cc]})
		case $cc in
		reno|cubic) row "h. shared: MPTCP/TCP, uncoupled $cc" "$(median ${tcp_mbit[$cc]}) Mb/s TCP" \
			"$(median ${mp_mbit[$cc]}) Mb/s MPTCP" "$(mmm ${ratio[$cc]})" "~2 (reference)" \
			"$(in_range "$r" 1.5 2.5 | sed 's/MISSED/differs/')" ;;
		*) row "h. shared: MPTCP/TCP, $cc" "$(median ${tcp_mbit[$cc]}) Mb/s TCP" \
			"$(median ${mp_mbit[$cc]}) Mb/s MPTCP" "$(mmm ${ratio[$cc]})" "0.8-1.25" \
			"$(in_range "$r" 0.8 1.25)" ;;
		esac
	done

	log "i. disjoint bottlenecks c1 $CC_P1_RATE, c2 $CC_P2_RATE: MPTCP alone vs TCP alone per path, $CC_RUNS x $CC_SECS s"
	cc_shape disjoint "$CC_P1_RATE" "$CC_P2_RATE"
	local disjoint=(tcp sf_bench_reno mptcp_lia mptcp_olia mptcp_balia)
	local b1 b2
	for (( run = 0; run < CC_RUNS; run++ )); do
		for cc in $(rotate "$run" "${disjoint[@]}"); do
			if [ "$cc" = tcp ]; then
				cc_send 7001 --tcp --cc reno --bind "$CC_C1"
				cc_send 7003 --tcp --cc reno --bind "$CC_C2"
				cc_wait 7001 7003
				b1=$(field "$(cc_out 7001)" mbit); b2=$(field "$(cc_out 7003)" mbit)
				best[$run]=$(awk -v a="$b1" -v b="$b2" 'BEGIN { print (a > b) ? a : b }')
				sum2[$run]=$(calc "$b1 + $b2")
				log "  round $run: TCP alone: path 1 $b1, path 2 $b2 Mbit/s"
				continue
			fi
			# shellcheck disable=SC2086
			cc_send 7002 --cc "$cc" ${progs[$cc]}
			cc_wait 7002
			out=$(cc_out 7002)
			mp_mbit[h$cc]+="$(field "$out" mbit) "
			hm[$cc]=$(field "$out" mbit)
			acks[$cc]=$(( ${acks[$cc]:-0} + $(bpf_sum "$out" acks) ))
			ns[$cc]=$(( ${ns[$cc]:-0} + $(bpf_sum "$out" ns) ))
			log "  round $run $cc: $out"
		done
		for cc in sf_bench_reno mptcp_lia mptcp_olia mptcp_balia; do
			m=${hm[$cc]}
			ratio[h$cc]+="$(calc "$m / ${best[$run]}") "
			share[h$cc]+="$(calc "100 * $m / ${sum2[$run]}") "
		done
	done
	for cc in sf_bench_reno mptcp_lia mptcp_olia mptcp_balia; do
		local label=$cc tgt=">= 90%" v
		[ "$cc" = sf_bench_reno ] && label="uncoupled reno (BPF)"
		# shellcheck disable=SC2086
		row "i. disjoint: MPTCP / best TCP path, $label" "$(median ${best[*]}) Mb/s best" \
			"$(median ${mp_mbit[h$cc]}) Mb/s MPTCP" "$(mmm ${ratio[h$cc]})" ">= 1.0 (goal 1)" \
			"$(in_range "$(median ${ratio[h$cc]})" 1.0 1000)"
		v=$(median ${share[h$cc]})
		case $cc in mptcp_olia|mptcp_balia) tgt=">= 90%" ;; *) tgt="(none)" ;; esac
		row "i. disjoint: share of both paths, $label" "$(median ${sum2[*]}) Mb/s sum" \
			"$(median ${mp_mbit[h$cc]}) Mb/s MPTCP" "$(mmm ${share[h$cc]})%" "$tgt" \
			"$( [ "$tgt" = "(none)" ] && echo info || in_range "$v" 90 1000)"
	done

	log "j. balancing: c1 and c2 at $CC_BAL_RATE, 2 TCP reno flows on c1, $CC_RUNS x $CC_SECS s"
	cc_shape disjoint "$CC_BAL_RATE" "$CC_BAL_RATE"
	local balance=(reno mptcp_lia mptcp_olia mptcp_balia) a1 a2
	for (( run = 0; run < CC_RUNS; run++ )); do
		for cc in $(rotate "$run" "${balance[@]}"); do
			cc_send 7001 --tcp --cc reno --bind "$CC_C1"
			cc_send 7003 --tcp --cc reno --bind "$CC_C1"
			cc_send 7002 --cc "$cc"
			cc_wait 7001 7002 7003
			out=$(cc_out 7002)
			a1=$(sf_acked "$out" "$CC_C1"); a2=$(sf_acked "$out" "$CC_C2")
			[ -n "$a1" ] && [ -n "$a2" ] || fail "j: no per-subflow bytes in: $out"
			share[i$cc]+="$(calc "100 * $a2 / ($a1 + $a2)") "
			mp_mbit[i$cc]+="$(field "$out" mbit) "
			log "  round $run $cc: path 2 share $(calc "100 * $a2 / ($a1 + $a2)")% ($out; TCP $(field "$(cc_out 7001)" mbit) + $(field "$(cc_out 7003)" mbit))"
		done
	done
	for cc in "${balance[@]}"; do
		local label=$cc
		[ "$cc" = reno ] && label="uncoupled reno"
		# shellcheck disable=SC2086
		row "j. balancing: MPTCP bytes over idle path 2, $label" "2 TCP on path 1" \
			"$(median ${mp_mbit[i$cc]}) Mb/s MPTCP" "$(mmm ${share[i$cc]})%" \
			"$( [ "$cc" = reno ] && echo "(reference)" || echo ">= 75%")" \
			"$( [ "$cc" = reno ] && echo info || in_range "$(median ${share[i$cc]})" 75 100)"
	done

	local ref_per
	ref_per=$(calc "${ns[sf_bench_reno]} / (${acks[sf_bench_reno]} + 0.000001)")
	for cc in "${CC_NAMES[@]}"; do
		local per
		per=$(calc "${ns[$cc]} / (${acks[$cc]} + 0.000001)")
		row "k. BPF ns per ACK, $cc" "$ref_per (reno via BPF)" "$per" "$(times "$ref_per" "$per")" \
			"(none)" "info"
	done
	NOTES+=("h-k. $CC_RUNS rounds of $CC_SECS s per configuration; ratios min/median/max. k: ACKs = cong_avoid runs during i (${acks[mptcp_lia]:-0} for mptcp_lia), time = every program of the control")
}

# shellcheck shell=bash
# tests/bench/pathmgr.sh: the path-management benchmarks, sourced by run.sh
# (BENCH_ONLY=rs runs only these). Rows r (operations) and s (failover).
#
#   r. latency of subflow open (until established), set backup (MP_PRIO) and
#      close, on an idle connection, through libsubflow (tests/bench/pmops):
#      by fd; by token with the engine tracking the connection; by token
#      without (the one-shot iterator walks every TCP hash bucket).
#   s. failover and failback times, three path managers in the same run, each
#      in a lab of its own (same topology and shaping), rounds interleaved:
#        daemon   subflowctl daemon, `prefer wifi over lte`, on the client only
#        kernel   the in-kernel PM, lte an endpoint `subflow backup`
#        mptcpd   mptcpd 0.12 (Debian) with its addr_adv plugin managing the
#                 in-kernel PM's endpoints (--addr-flags=subflow); its sspi
#                 plugin opens no second subflow here (noted)
#      The server is a stock host (in-kernel PM, no engine) everywhere. Faults
#      on wifi mid-transfer: link down (`ip link set c1 down`) and a silent
#      blackhole (nftables drops at both ends, links up), both directions;
#      then the path comes back. Every byte checked by the receiver.
#      failover: from the fault until the receiver gets half the backup path's
#        rate over 20 ms (recovery_ms in tests/pm_lib.sh); failback: from the
#        path's return until wifi carries half its rate over 20 ms again.
#      min / median / max of BENCH_FAILOVER_RUNS runs (default 10); "none":
#      no recovery while the fault lasted (BENCH_FAULT_SECS, default 2 s).

source "$(dirname "${BASH_SOURCE[0]}")/../pm_lib.sh"

PMOPS=$BENCH_BIN/pmops
IFRATE=$LAB_BUILD/tests/ifrate
MPTCPD=${MPTCPD:-/usr/libexec/mptcpd}
FO_RUNS=${BENCH_FAILOVER_RUNS:-10}
FO_FAULT_SECS=${BENCH_FAULT_SECS:-2}
PM_OPS_ROUNDS=${BENCH_PM_OPS_ROUNDS:-200}

# stats VALUES...: "min / median / max" of the numeric ones, plus "(k none)".
stats() {
	local nums=() none=0 v
	for v in "$@"; do
		[[ $v == none ]] && none=$((none + 1)) || nums+=("$v")
	done
	if [ "${#nums[@]}" -eq 0 ]; then
		printf 'none'
	else
		printf '%s / %s / %s' "$(printf '%s\n' "${nums[@]}" | sort -g | head -1)" \
			"$(median "${nums[@]}")" "$(printf '%s\n' "${nums[@]}" | sort -g | tail -1)"
	fi
	[ "$none" -gt 0 ] && printf ' (%d none)' "$none"
	return 0
}

# med_or_none VALUES...: the median of all runs, "none" counting as infinite.
med_or_none() {
	printf '%s\n' "$@" | sed 's/none/1e9/' | sort -g | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      if (m >= 1e9) print "none"; else print m }'
}

# new_lab NAME: another two-path lab beside run.sh's; its namespaces in
# LABNS_C[NAME], LABNS_S[NAME]. lab.sh's cleanup removes them all.
declare -A LABNS_C LABNS_S
new_lab() {
	local saved_c=$NS_C saved_s=$NS_S saved_suffix=$LAB_SUFFIX
	LAB_SUFFIX=$saved_suffix-$1
	lab_setup
	LABNS_C[$1]=$NS_C
	LABNS_S[$1]=$NS_S
	LAB_SUFFIX=$saved_suffix NS_C=$saved_c NS_S=$saved_s
	ip -n "${LABNS_C[$1]}" mptcp endpoint flush
}

# ---- r. operations -------------------------------------------------------------------

pmops_field() {	# JSON OP STAT
	jq -r ".$2.$3" <<<"$1"
}

bench_pm_ops() {
	local ns_c ns_s out_fd out_engine out_iter cg_p cg_ps
	new_lab ops
	ns_c=${LABNS_C[ops]} ns_s=${LABNS_S[ops]}
	pm_userspace "$ns_c"
	cg_p=$(cg_create pmops)
	cg_ps=$(cg_create pmops-server)
	ctl cgroup attach "$cg_p" >/dev/null || fail "attach $cg_p"
	SPAWN_OUT=$LAB_TMP/pmops-server.log spawn_in "$cg_ps" "$ns_s" "$MPTCP_STREAM" server \
		-a 0.0.0.0 -p 9400 --ready-file "$LAB_TMP/pmops.ready" --json "$LAB_TMP/pmops-server.json"
	wait_for 5 test -e "$LAB_TMP/pmops.ready" || fail "pmops server did not start"
	# By fd, and by token with the engine tracking (the client's cgroup is attached).
	out_fd=$(run_in "$cg_p" "$ns_c" timeout "$TOOL_TIMEOUT" "$PMOPS" -a "$S1_V4" -p 9400 -l "$C2_V4" \
		-r "$S2_V4" -n "$PM_OPS_ROUNDS") || fail "pmops by fd failed"
	SPAWN_OUT=$LAB_TMP/pmops-server2.log spawn_in "$cg_ps" "$ns_s" "$MPTCP_STREAM" server \
		-a 0.0.0.0 -p 9401 --ready-file "$LAB_TMP/pmops2.ready"
	wait_for 5 test -e "$LAB_TMP/pmops2.ready" || fail "pmops server did not start"
	out_engine=$(run_in "$cg_p" "$ns_c" timeout "$TOOL_TIMEOUT" "$PMOPS" -a "$S1_V4" -p 9401 \
		-l "$C2_V4" -r "$S2_V4" -n "$PM_OPS_ROUNDS" -t) || fail "pmops by token failed"
	# By token without the engine: a cgroup nobody attached.
	SPAWN_OUT=$LAB_TMP/pmops-server3.log spawn_in "$cg_ps" "$ns_s" "$MPTCP_STREAM" server \
		-a 0.0.0.0 -p 9402 --ready-file "$LAB_TMP/pmops3.ready"
	wait_for 5 test -e "$LAB_TMP/pmops3.ready" || fail "pmops server did not start"
	out_iter=$(run_in "$cg_ps" "$ns_c" timeout "$TOOL_TIMEOUT" "$PMOPS" -a "$S1_V4" -p 9402 \
		-l "$C2_V4" -r "$S2_V4" -n $((PM_OPS_ROUNDS / 4)) -t) || fail "pmops by token (iterator) failed"
	ctl cgroup detach "$cg_p" >/dev/null || true
	for op in open set close; do
		local what="open (until established)"
		[ "$op" = set ] && what="set backup (MP_PRIO)"
		[ "$op" = close ] && what="close (kernel reset)"
		row "r. subflow $what, idle, median (ms)" \
			"token, no engine: $(pmops_field "$out_iter" "$op" median)" \
			"fd $(pmops_field "$out_fd" "$op" median); token $(pmops_field "$out_engine" "$op" median)" \
			"p95 fd $(pmops_field "$out_fd" "$op" p95)" "< 1 ms" \
			"$(verdict "$(pmops_field "$out_fd" "$op" median)" 1)"
	done
	NOTES+=("r. $PM_OPS_ROUNDS rounds each (by token without the engine: $((PM_OPS_ROUNDS / 4))); by token without the engine the subflows come from the one-shot iterator, which walks every bucket of the kernel's TCP hash tables ($(in_ns "$ns_c" sysctl -n net.ipv4.tcp_ehash_entries | tr -d -) established buckets here); first call of a process: fd $(jq -r .first_ms <<<"$out_fd") ms, no engine $(jq -r .first_ms <<<"$out_iter") ms (loads the iterator)")
}

# ---- s. failover -----------------------------------------------------------------------

fo_setup() {
	local c
	new_lab daemon
	new_lab kernel
	new_lab mptcpd
	FO_CG_S=$(cg_create fo-server)
	FO_CG_D=$(cg_create fo-daemon)
	FO_CG_K=$(cg_create fo-kernel)
	printf 'path wifi dev %s\npath lte dev %s\nprefer wifi over lte\n' "$C1" "$C2" > "$LAB_TMP/fo.policy"
	ctl_in "${LABNS_C[daemon]}" cgroup attach "$FO_CG_D" policy "$LAB_TMP/fo.policy" \
		>/dev/null || fail "attach the daemon's client cgroup"
	daemon_start "${LABNS_C[daemon]}"
	FO_DAEMON=$DAEMON_PID
	c=${LABNS_C[kernel]}
	ip -n "$c" mptcp endpoint add "$C2_V4" dev "$C2" subflow backup || fail "kernel: backup endpoint"
	c=${LABNS_C[mptcpd]}
	SPAWN_OUT=$LAB_TMP/mptcpd.log spawn_in_ns "$c" "$MPTCPD" --log=stderr --path-manager=addr_adv \
		--addr-flags=subflow --notify-flags=existing,skip_link_local,skip_loopback
	FO_MPTCPD=$SPAWNED_PID
	wait_for 5 sh -c "ip -n $c mptcp endpoint show | grep -q '$C2_V4'" ||
		fail "mptcpd added no endpoint for lte: $(cat "$LAB_TMP/mptcpd.log")"
}

# fo_run VARIANT FAULT DIR: one measured run; prints "FAILOVER FAILBACK".
FO_PORT=9500
fo_run() {
	local v=$1 fault=$2 dir=$3 cg d t0 t1 tl col rate out fb secs
	local NS_C=${LABNS_C[$v]} NS_S=${LABNS_S[$v]}
	FO_PORT=$((FO_PORT + 1))
	d=$LAB_TMP/fo-$FO_PORT
	cg=$FO_CG_K
	[ "$v" = daemon ] && cg=$FO_CG_D
	secs=$(awk -v f="$FO_FAULT_SECS" 'BEGIN { print 1 + f + 1.5 }')
	stream_start "$d" "$FO_CG_S" "$cg" "$S1_V4" "$FO_PORT" "$dir" "$secs"
	wait_for 5 count_is 1 established_on "$NS_C" "$FO_PORT" "$C2_V4" ||
		NOTES+=("s. $v $fault $dir run $FO_PORT: no lte subflow before the fault")
	SPAWN_OUT=/dev/null spawn_in_ns "$NS_C" "$IFRATE" -o "$d/ifrate" "$C1" "$C2"
	local ifr=$SPAWNED_PID
	echo "$ifr" > "$LAB_TMP/fo-run.ifrate"	# killed by the caller if this run fails
	sleep 1
	if [ "$fault" = linkdown ]; then
		ip -n "$NS_C" link set "$C1" down
	else
		nft_blackhole "$NS_C" "$C1" "$NS_S" "$S1"
	fi
	t0=$(now_ns)
	sleep "$FO_FAULT_SECS"
	if [ "$fault" = linkdown ]; then
		ip -n "$NS_C" link set "$C1" up
	else
		nft_heal "$NS_C" "$NS_S"
	fi
	t1=$(now_ns)
	stream_finish "$d"
	kill "$ifr" 2>/dev/null
	wait "$ifr" 2>/dev/null || true
	rate=$(rate_bytes_per_ms "$LAB_RATE")
	[ "$dir" = upload ] && tl=$d/server.timeline col=3 || { tl=$d/client.timeline; col=2; }
	out=$(recovery_ms "$tl" "$t0" "$rate")
	# A recovery that came only with the path's return is no failover.
	[ "$out" != none ] && awk -v o="$out" -v f="$FO_FAULT_SECS" 'BEGIN { exit !(o > f * 1000) }' && out=none
	fb=$(failback_ms "$d/ifrate" "$t1" "$col" "$rate")
	echo "$out $fb"
}

bench_failover() {
	local r v fault dir res runs=0 why
	local -a corrupt=()
	declare -A FO
	fo_setup
	for (( r = 0; r < FO_RUNS; r++ )); do
		for fault in linkdown blackhole; do
			for dir in upload download; do
				for v in daemon kernel mptcpd; do
					runs=$((runs + 1))
					if ! res=$(fo_run "$v" "$fault" "$dir" 2> "$LAB_TMP/fo-run.err"); then
						cat "$LAB_TMP/fo-run.err" >&2
						kill "$(cat "$LAB_TMP/fo-run.ifrate")" 2>/dev/null
						why=$(grep -m1 '^FAIL' "$LAB_TMP/fo-run.err" | cut -c7-200)
						# Every byte is checked. A run whose bytes came
						# wrong is reported, not timed, and the bench goes
						# on: Linux 6.18 can misplace an early MP_JOIN's
						# data (README, "Limits").
						[[ $why == *"is wrong"* || $why == *"not intact"* ]] ||
							fail "failover run $v $fault $dir: $why"
						corrupt+=("$v $fault $dir: $why")
						continue
					fi
					cat "$LAB_TMP/fo-run.err" >&2
					FO[$v,$fault,$dir,over]+="${res% *} "
					FO[$v,$fault,$dir,back]+="${res#* } "
				done
			done
		done
	done
	for fault in linkdown blackhole; do
		local target=100 name="link down"
		[ "$fault" = blackhole ] && target=1000 name="blackhole"
		for dir in upload download; do
			# shellcheck disable=SC2086
			row "s. failover, $name, $dir (ms)" \
				"kernel $(med_or_none ${FO[kernel,$fault,$dir,over]}); mptcpd $(med_or_none ${FO[mptcpd,$fault,$dir,over]})" \
				"$(stats ${FO[daemon,$fault,$dir,over]})" "min / median / max" \
				"< $target median" "$(verdict "$(med_or_none ${FO[daemon,$fault,$dir,over]} | sed 's/none/1e9/')" "$target")"
		done
	done
	for fault in linkdown blackhole; do
		local name="link down"
		[ "$fault" = blackhole ] && name="blackhole"
		for dir in upload download; do
			# shellcheck disable=SC2086
			row "s. failback after $name, $dir (ms)" \
				"kernel $(med_or_none ${FO[kernel,$fault,$dir,back]}); mptcpd $(med_or_none ${FO[mptcpd,$fault,$dir,back]})" \
				"$(stats ${FO[daemon,$fault,$dir,back]})" "min / median / max" \
				"< 200 median" "$(verdict "$(med_or_none ${FO[daemon,$fault,$dir,back]} | sed 's/none/1e9/')" 200)"
		done
	done
	for v in kernel mptcpd; do
		local line="s. $v, min / median / max:"
		for fault in linkdown blackhole; do
			for dir in upload download; do
				# shellcheck disable=SC2086
				line+=" $fault $dir failover $(stats ${FO[$v,$fault,$dir,over]}), failback $(stats ${FO[$v,$fault,$dir,back]});"
			done
		done
		NOTES+=("$line")
	done
	row "s. runs whose received bytes were wrong (all PMs)" "-" "${#corrupt[@]} of $runs" "-" "0" \
		"$([ "${#corrupt[@]}" = 0 ] && echo ok || echo "KERNEL BUG")"
	local c
	for c in "${corrupt[@]}"; do
		NOTES+=("s. wrong bytes, not timed ($c): the kernel's MP_JOIN receive race (README, Limits; tests/kernel/mptcp_join_race.sh reproduces it without subflow)")
	done
	NOTES+=("s. $FO_RUNS runs of each, rounds interleaved; paths tbf $LAB_RATE each; faults last ${FO_FAULT_SECS}s; 'none': no recovery while the fault lasted; the 20 ms window is the measure's floor")
	NOTES+=("s. mptcpd's sspi plugin (userspace PM) opens no second subflow in this lab (its connection_established handler is unimplemented in 0.12): it never fails over")
	daemon_stop "$FO_DAEMON"
	kill "$FO_MPTCPD" 2>/dev/null || true
}

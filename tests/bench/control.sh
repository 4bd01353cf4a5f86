# shellcheck shell=bash
# tests/bench/control.sh: row u, the daemon's control socket (sourced by
# run.sh; BENCH_ONLY=u runs only it). In a lab of its own: the daemon in
# the client namespace, an echo server, applications as throwaway users.
#
#   u1. one call that changes a connection, subflow_getsockopt_fd(tos) (the
#       daemon runs the one-shot iterator for it), by an unprivileged user
#       through the daemon vs by root acting itself: the cost of the socket
#       round trip and the daemon's thread. Medians of BENCH_CONTROL_CALLS
#       calls, both in every round, order alternating; median of the
#       per-round ratios.
#   u2. the same unprivileged call while a hostile user floods the control
#       socket (BENCH_CONTROL_FLOODERS connections sending malformed
#       requests as fast as they can, half never reading the answers, plus
#       a connect/close churn) vs while as many processes only burn CPU
#       (what any local load costs the caller, the daemon and the kernel on
#       2 shared CPUs): the daemon's own share of the slowdown. Median of
#       the per-round ratios; the idle latency is noted.

source "$(dirname "${BASH_SOURCE[0]}")/../control_lib.sh"

CONTROL_ROUNDS=${BENCH_CONTROL_ROUNDS:-6}
CONTROL_CALLS=${BENCH_CONTROL_CALLS:-100}
CONTROL_FLOODERS=${BENCH_CONTROL_FLOODERS:-16}
CONTROL_LOAD_SECS=${BENCH_CONTROL_LOAD_SECS:-5}

# control_median NAME: median microseconds of one `latency` run of app NAME.
control_median() {
	local out
	out=$(app_ok "$1" latency "$CONTROL_CALLS" 1 tos)
	[ "$(jq .errors <<<"$out")" = 0 ] || fail "u: $1: calls failed: $out"
	median $(jq '.us[]' <<<"$out")
}

# control_under LOAD: the user's median while LOAD (spin|flood) runs.
control_under() {
	local load=$1 pid m
	if [ "$load" = spin ]; then
		SPAWN_OUT=$LAB_TMP/u-load.log spawn_in "$CG_C" "$NS_C" setpriv --reuid "$U_LOAD" --regid "$U_LOAD" \
			--groups "$CTL_GID" -- "$CONTROL_RAW" - spin "$CONTROL_LOAD_SECS" "$CONTROL_FLOODERS"
	else
		SPAWN_OUT=$LAB_TMP/u-load.log spawn_in "$CG_C" "$NS_C" setpriv --reuid "$U_LOAD" --regid "$U_LOAD" \
			--groups "$CTL_GID" -- "$CONTROL_RAW" "$CTL_SOCK" flood "$CONTROL_LOAD_SECS" "$CONTROL_FLOODERS"
	fi
	pid=$SPAWNED_PID
	sleep 0.5	# its processes running
	m=$(control_median user)
	kill -0 "$pid" 2>/dev/null || fail "u: the $load load ended before the calls did"
	_wait_pid_gone "$pid" $(( CONTROL_LOAD_SECS + 10 )) || fail "u: the $load load did not end"
	wait "$pid" 2>/dev/null || true
	echo "$m"
}

bench_control() {
	local NS_C=$NS_C NS_S=$NS_S CG_C CG_S CTL_GID CTL_SOCK DAEMON_PID DAEMON_LOG ECHO_PORT=9600
	local U_USER U_LOAD r root user idle spin flood r1=() r2=() idles=() roots=() users=() spins=() floods=()
	new_lab ctl
	NS_C=${LABNS_C[ctl]} NS_S=${LABNS_S[ctl]}
	control_setup
	U_USER=$(free_id passwd)
	U_LOAD=$(free_id passwd)
	app_start root 0
	app_start user "$U_USER"
	for a in root user; do
		app_ok "$a" connect "$S1_V4" "$ECHO_PORT" >/dev/null
		app_ok "$a" echo 1000 >/dev/null
		app_ok "$a" latency 10 1 tos >/dev/null	# warm: the iterator loaded
	done
	for (( r = 0; r < CONTROL_ROUNDS; r++ )); do
		if (( r % 2 )); then
			user=$(control_median user); root=$(control_median root)
		else
			root=$(control_median root); user=$(control_median user)
		fi
		idle=$user
		if (( r % 2 )); then
			flood=$(control_under flood); spin=$(control_under spin)
		else
			spin=$(control_under spin); flood=$(control_under flood)
		fi
		log "u round $r: root $root us, user $user us; user under spin $spin us, under flood $flood us"
		roots+=("$root") users+=("$user") idles+=("$idle") spins+=("$spin") floods+=("$flood")
		r1+=("$(awk -v a="$root" -v b="$user" 'BEGIN { print b / a }')")
		r2+=("$(awk -v a="$spin" -v b="$flood" 'BEGIN { print b / a }')")
	done
	local m1 m2
	m1=$(median "${r1[@]}")
	m2=$(median "${r2[@]}")
	row "u1. getsockopt_fd, unprivileged via the daemon vs root itself (us)" \
		"root $(median "${roots[@]}")" "daemon $(median "${users[@]}")" \
		"$(awk -v m="$m1" 'BEGIN { printf "%.2fx", m }')" "<= 1.5x" "$(verdict "$m1" 1.5)"
	row "u2. the same during a flood of the socket vs an equal CPU load (us)" \
		"cpu load $(median "${spins[@]}")" "flood $(median "${floods[@]}")" \
		"$(awk -v m="$m2" 'BEGIN { printf "%.2fx", m }')" "<= 1.5x" "$(verdict "$m2" 1.5)"
	NOTES+=("u. $CONTROL_ROUNDS rounds of $CONTROL_CALLS calls per condition; $CONTROL_FLOODERS flooders or CPU burners; per-round ratios u1 ${r1[*]}, u2 ${r2[*]}; the daemon's counters after: $(ctl_in "$NS_C" status | jq -c '.daemon.control_socket | {requests, refused, turned_away}')")
	app_stop root
	app_stop user
	daemon_stop "$DAEMON_PID"
}

# shellcheck shell=bash
# tests/control_lib.sh: helpers of the control-socket tests (applications
# controlling their own connections through the daemon, as throwaway
# unprivileged users), on top of tests/lib.sh and tests/pm_lib.sh.
#
# Users are numeric uids with no passwd entry (setpriv needs none), chosen
# free on this machine, so there is nothing to create or remove; the
# control socket's group is a free numeric gid the same way.

UNPRIV_APP=${UNPRIV_APP:-$LAB_BUILD/tests/unpriv_app}
CONTROL_RAW=${CONTROL_RAW:-$LAB_BUILD/tests/control_raw}
APP_EXAMPLE=${APP_EXAMPLE:-$LAB_BUILD/tests/app_example}

# free_id passwd|group: a numeric id in 61000..64999 that nothing uses.
free_id() {
	local db=$1 id
	for (( i = 0; i < 100; i++ )); do
		id=$(( 61000 + RANDOM % 4000 ))
		getent "$db" "$id" >/dev/null || { echo "$id"; return 0; }
	done
	return 1
}

# control_lab: the two-path lab, the client's cgroup attached (so that its
# connections' events exist), an echo server on both of the server's
# addresses ($ECHO_PORT), and the daemon in $NS_C serving its control socket
# to group $CTL_GID. Sets $CG_C, $CG_S, $CTL_GID, $CTL_SOCK, $DAEMON_PID,
# $DAEMON_LOG.
control_lab() {
	lab_setup
	control_setup
}

# control_setup: the same in the lab of $NS_C and $NS_S, already set up.
control_setup() {
	ip -n "$NS_C" mptcp endpoint flush
	CG_C=$(cg_create client)
	CG_S=$(cg_create server)
	ctl_in "$NS_C" cgroup attach "$CG_C" >/dev/null || fail "cannot attach $CG_C"
	CTL_GID=$(free_id group) || fail "no free gid"
	ECHO_PORT=${ECHO_PORT:-9100}
	echo_server "$ECHO_PORT"
	control_daemon_start control-group "$CTL_GID"
}

# control_daemon_start [ARGS...]: the daemon in $NS_C; returns once its
# control socket serves. $DAEMON_PID, $DAEMON_LOG, $CTL_SOCK.
control_daemon_start() {
	DAEMON_LOG=$LAB_TMP/daemon-$NS_C.log
	: > "$DAEMON_LOG"
	SPAWN_OUT=$DAEMON_LOG spawn_in_ns "$NS_C" "$SUBFLOWCTL" -j -d --pin-dir "$SUBFLOW_PIN_DIR" daemon "$@"
	DAEMON_PID=$SPAWNED_PID
	wait_for 5 grep -q "managing MPTCP paths" "$DAEMON_LOG" ||
		fail "the daemon did not start in $NS_C: $(cat "$DAEMON_LOG")"
	CTL_SOCK=$(sed -n 's/^control socket \([^ ]*\) .*/\1/p' "$DAEMON_LOG" | tail -1)
	[ -S "$CTL_SOCK" ] || fail "no control socket in the daemon's log: $(cat "$DAEMON_LOG")"
}

# echo_server PORT: mptcp_peer --echo in $NS_S on every address (:: takes
# IPv4 too).
echo_server() {
	local port=$1
	SPAWN_OUT=$LAB_TMP/echo-$port.log spawn_in "$CG_S" "$NS_S" "$MPTCP_PEER" server \
		-a :: -p "$port" -n 0 --echo --ready-file "$LAB_TMP/echo-$port.ready"
	wait_for 5 test -e "$LAB_TMP/echo-$port.ready" ||
		fail "echo server on port $port did not start: $(cat "$LAB_TMP/echo-$port.log")"
}

# as_user UID NETNS [--no-group] CMD...: CMD in $CG_C and NETNS as uid and
# gid UID, member of $CTL_GID (not with --no-group), no capabilities.
as_user() {
	local uid=$1 ns=$2
	shift 2
	_user_cmd "$uid" "$@"
	run_in "$CG_C" "$ns" "${USER_CMD[@]}"
}

_user_cmd() {
	local uid=$1 groups=(--groups "$CTL_GID")
	shift
	if [ "${1:-}" = --no-group ]; then
		groups=(--clear-groups)
		shift
	fi
	USER_CMD=(setpriv --reuid "$uid" --regid "$uid" "${groups[@]}" -- "$@")
}

# app_start NAME UID [NETNS] [--no-group]: an unpriv_app as UID (in $NS_C
# by default), driven with app_cmd. $APP_PID_<NAME>.
app_start() {
	local name=$1 uid=$2 ns=${3:-$NS_C} extra=${4:-} fd pid
	mkfifo "$LAB_TMP/app-$name.in"
	: > "$LAB_TMP/app-$name.out"
	# shellcheck disable=SC2086
	_user_cmd "$uid" $extra "$UNPRIV_APP"
	sh -c 'echo $$ > "$1/cgroup.procs" && ns=$2 && shift 2 &&
	       exec nsenter --net="/run/netns/$ns" "$@"' sh "$CG_C" "$ns" "${USER_CMD[@]}" \
		< "$LAB_TMP/app-$name.in" > "$LAB_TMP/app-$name.out" 2> "$LAB_TMP/app-$name.err" &
	pid=$!
	proc_register "$pid"
	printf -v "APP_PID_$name" %s "$pid"
	exec {fd}> "$LAB_TMP/app-$name.in"
	printf -v "APP_FD_$name" %s "$fd"
	# sh, nsenter and setpriv exec it: the pid is the application's.
	wait_for 5 _runs "$pid" "$UNPRIV_APP" || fail "app $name did not start: $(cat "$LAB_TMP/app-$name.err")"
}

_runs() {
	[ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$(readlink -f "$2")" ]
}

# app_cmd NAME COMMAND...: send one command, wait (10 s at most) for its
# answer and print it (one JSON object).
app_cmd() {
	local name=$1 fdvar=APP_FD_$1 before
	shift
	before=$(wc -l < "$LAB_TMP/app-$name.out")
	printf '%s\n' "$*" >&"${!fdvar}"
	wait_for 20 _lines_more_than "$LAB_TMP/app-$name.out" "$before" ||
		fail "app $name gave no answer to '$*': $(cat "$LAB_TMP/app-$name.err")"
	sed -n "$(( before + 1 ))p" "$LAB_TMP/app-$name.out"
}

_lines_more_than() {
	[ "$(wc -l < "$1")" -gt "$2" ]
}

# app_ok NAME COMMAND...: app_cmd that must succeed; prints the answer.
app_ok() {
	local out
	out=$(app_cmd "$@")
	[ "$(jq -r .ok <<<"$out")" = true ] || fail "app $1: '${*:2}' failed: $out"
	printf '%s\n' "$out"
}

# app_refused NAME ERRNO TEXT COMMAND...: app_cmd that must fail with ERRNO
# and a message containing TEXT; prints the answer.
app_refused() {
	local name=$1 want=$2 text=$3 out
	shift 3
	out=$(app_cmd "$name" "$@")
	[ "$(jq -r .ok <<<"$out")" = false ] || fail "app $name: '$*' was not refused: $out"
	assert_eq "$want" "$(jq -r .errno <<<"$out")" "app $name: errno of '$*'"
	[[ $(jq -r .error <<<"$out") == *"$text"* ]] ||
		fail "app $name: '$*': the message does not say '$text': $out"
	printf '%s\n' "$out"
}

# app_stop NAME: quit and wait for it.
app_stop() {
	local fdvar=APP_FD_$1 pidvar=APP_PID_$1
	printf 'quit\n' >&"${!fdvar}"
	eval "exec ${!fdvar}>&-"
	_wait_pid_gone "${!pidvar}" 5 || fail "app $1 did not quit"
}

# assert_unprivileged PID UID: the process is UID with no capability.
assert_unprivileged() {
	assert_eq "$2 $2 0000000000000000" \
		"$(awk '/^Uid:/ { u = $2 " " $3 } /^CapEff:/ { c = $2 } END { print u, c }' "/proc/$1/status")" \
		"uid, euid and effective capabilities of pid $1"
}

# sub_line NETNS LOCAL_ADDR LPORT: the `ss_subflows` line of that subflow
# (an IPv6 address in brackets, as ss prints it).
sub_line() {
	ss_subflows "$1" "$ECHO_PORT" | awk -v p="$2:$3 " 'index($0, p) == 1'
}

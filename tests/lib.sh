# shellcheck shell=bash
# tests/lib.sh: the two-path MPTCP lab and helpers shared by the tests, the
# benchmarks and the demo. Source it, then call lab_init (installs the cleanup
# trap and a private bpffs pin directory), then lab_setup.
#
#   client netns $NS_C                        server netns $NS_S
#     c1 10.31.1.1 fd31:1::1  <-- veth -->  s1 10.31.1.2 fd31:1::2   (path 1)
#     c2 10.31.2.1 fd31:2::1  <-- veth -->  s2 10.31.2.2 fd31:2::2   (path 2)
#
# Every veth is shaped with tbf at $LAB_RATE: unshaped, one veth absorbs all
# the traffic and the default MPTCP scheduler leaves the second path idle.
# The client has "subflow" endpoints on c2 (both families), so the in-kernel
# path manager opens a second subflow over path 2 for every connection.
#
# Commands that need the engine's pins must enter a namespace with
# `in_ns NS CMD...` (nsenter --net), NOT `ip netns exec`: the latter remounts
# /sys, which hides the bpffs mounted at /sys/fs/bpf and the cgroup2 mount.
#
# Everything created here is registered and removed by lab_cleanup_all, which
# lab_init installs as the EXIT trap (INT and TERM exit, and so run it too).
# Do not set another EXIT trap after lab_init: add to it with lab_on_cleanup.

LAB_REPO=${LAB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
LAB_BUILD=${LAB_BUILD:-$LAB_REPO/build}
SUBFLOWCTL=${SUBFLOWCTL:-$LAB_BUILD/subflowctl}
MPTCP_PEER=${MPTCP_PEER:-$LAB_BUILD/tests/mptcp_peer}
ENGINE_PROBE=${ENGINE_PROBE:-$LAB_BUILD/tests/engine_probe}
LAB_RATE=${LAB_RATE:-20mbit}

# Exit status a test uses to say "skipped" (a kernel feature is really absent);
# the message on stdout/stderr says which.
LAB_SKIP=77

export C1=c1 C2=c2 S1=s1 S2=s2
export C1_V4=10.31.1.1 S1_V4=10.31.1.2 C2_V4=10.31.2.1 S2_V4=10.31.2.2
export C1_V6=fd31:1::1 S1_V6=fd31:1::2 C2_V6=fd31:2::1 S2_V6=fd31:2::2

_LAB_PIDS=()
_LAB_NETNS=()
_LAB_HOOKS=()
_LAB_CLEANED=0
LAB_SUFFIX=
LAB_TMP=

log() { printf '# %s\n' "$*" >&2; }

# fail MSG: print why and exit 1 (the trap cleans up).
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# skip REASON: a kernel feature is absent; exit with the skip status.
skip() {
	printf 'SKIP: %s\n' "$*" >&2
	exit "$LAB_SKIP"
}

_lab_random_suffix() {
	printf '%04x%04x' "$RANDOM" "$RANDOM"
}

# ---- Lifecycle ---------------------------------------------------------------

# lab_init: checks root, picks the run's random suffix, installs the cleanup
# trap, makes a scratch directory ($LAB_TMP) and a private pin directory
# ($SUBFLOW_PIN_DIR) so that tests never touch an engine already running here.
lab_init() {
	[ "$(id -u)" = 0 ] || { echo "tests need root" >&2; exit 1; }
	LAB_SUFFIX=$(_lab_random_suffix)
	trap lab_cleanup_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	lab_sweep_stale
	LAB_TMP=$(mktemp -d "/tmp/subflow-test-$LAB_SUFFIX.XXXXXX")
	pin_setup
	_lab_state_init
}

# ---- What a run left when it was killed ---------------------------------------
#
# A run killed by SIGKILL runs no trap. So that the next run can clean up
# after it, every run keeps a state directory, /run/subflow-tests/SUFFIX/:
#   owner    "PID STARTTIME" of the test shell (STARTTIME from /proc/PID/stat,
#            so that a reused PID is not taken for the run)
#   tmp      its $LAB_TMP (which lists its cgroups, see cg_create)
#   pin_dir  its $SUBFLOW_PIN_DIR
#   netns    the network namespaces it made, one a line
# lab_sweep_stale removes what the runs whose owner is dead registered
# there, and nothing else: processes in their cgroups and namespaces (by
# PID), the cgroups, the namespaces, the pin directory and its lock file,
# the scratch directory, and the state directory itself.
LAB_STATE_ROOT=${LAB_STATE_ROOT:-/run/subflow-tests}
LAB_STATE=

_lab_starttime() {
	# Field 22 of /proc/PID/stat, after the ")" that ends the command name.
	sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'
}

_lab_state_init() {
	local try made=0
	LAB_STATE=$LAB_STATE_ROOT/$LAB_SUFFIX
	# Twice: another run's cleanup may remove the empty root in between.
	for try in 1 2; do
		mkdir -p -m 0700 "$LAB_STATE_ROOT" && mkdir -m 0700 "$LAB_STATE" 2>/dev/null &&
			{ made=1; break; }
	done
	[ "$made" = 1 ] || { LAB_STATE=; return 0; }
	printf '%s %s\n' "$$" "$(_lab_starttime "$$")" > "$LAB_STATE/owner"
	printf '%s\n' "$LAB_TMP" > "$LAB_STATE/tmp"
	printf '%s\n' "$SUBFLOW_PIN_DIR" > "$LAB_STATE/pin_dir"
	: > "$LAB_STATE/netns"
}

# _lab_state_add FILE LINE: register something the run created.
_lab_state_add() {
	[ -n "$LAB_STATE" ] && [ -d "$LAB_STATE" ] && printf '%s\n' "$2" >> "$LAB_STATE/$1"
	return 0
}

# _lab_owner_alive STATE_DIR
_lab_owner_alive() {
	local pid start
	read -r pid start < "$1/owner" 2>/dev/null || return 1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(_lab_starttime "$pid")" = "$start" ]
}

# _lab_kill_pids PID...: SIGKILL each, by PID.
_lab_kill_pids() {
	local pid
	for pid in "$@"; do
		[ "$pid" != "$$" ] && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# lab_sweep_stale: remove what dead runs left (see above); one line each.
lab_sweep_stale() {
	local state suffix tmp pin cg ns i left
	[ -d "$LAB_STATE_ROOT" ] || return 0
	for state in "$LAB_STATE_ROOT"/*/; do
		state=${state%/}
		[ -f "$state/owner" ] || continue
		_lab_owner_alive "$state" && continue
		mkdir "$state/sweeping" 2>/dev/null || continue	# another run sweeps it
		suffix=$(basename "$state")
		tmp=$(cat "$state/tmp" 2>/dev/null)
		pin=$(cat "$state/pin_dir" 2>/dev/null)
		left=
		if [ -n "$tmp" ] && [ -f "$tmp/cgroups" ]; then
			while read -r cg; do
				[ -d "$cg" ] || continue
				for (( i = 0; i < 20; i++ )); do
					# shellcheck disable=SC2046
					_lab_kill_pids $(cat "$cg/cgroup.procs" 2>/dev/null)
					rmdir "$cg" 2>/dev/null && break
					sleep 0.1	# killed processes leave their cgroup asynchronously
				done
				[ -d "$cg" ] && left+=" cgroup $cg"
			done < <(tac "$tmp/cgroups")
		fi
		while read -r ns; do
			[ -n "$ns" ] || continue
			# shellcheck disable=SC2046
			_lab_kill_pids $(ip netns pids "$ns" 2>/dev/null)
			ip netns del "$ns" 2>/dev/null
			[ -e "/run/netns/$ns" ] && left+=" netns $ns"
		done < "$state/netns"
		if [ -n "$pin" ] && [ -e "$pin" ]; then
			[ -x "$SUBFLOWCTL" ] && "$SUBFLOWCTL" --pin-dir "$pin" unload >/dev/null 2>&1
			rm -rf "$pin"
		fi
		[ -n "$pin" ] && { local name=${pin#/}; rm -f "/run/subflow/${name//\//-}.lock"; }
		[ -n "$tmp" ] && [[ $tmp == /tmp/subflow-test-* ]] && rm -rf "$tmp"
		rm -rf "$state"
		printf '# swept what killed test run %s left%s\n' "$suffix" \
			"${left:+, except:$left}" >&2
	done
	return 0
}

lab_cleanup_all() {
	local rc=$?
	[ "$_LAB_CLEANED" = 1 ] && return "$rc"
	_LAB_CLEANED=1
	trap - EXIT
	set +e	# clean up everything, whatever fails
	local hook
	for hook in "${_LAB_HOOKS[@]}"; do
		eval "$hook"
	done
	proc_cleanup
	pin_cleanup
	cg_cleanup
	lab_cleanup
	[ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
	[ -n "$LAB_STATE" ] && rm -rf "$LAB_STATE"
	# The last run out leaves no state root behind (another run's state
	# keeps it: rmdir fails on a directory that is not empty).
	rmdir "$LAB_STATE_ROOT" 2>/dev/null
	return "$rc"
}

# lab_on_cleanup 'SHELL COMMAND': run it first at cleanup. Use this instead of
# another `trap ... EXIT`, which would replace lab_cleanup_all.
lab_on_cleanup() {
	_LAB_HOOKS+=("$1")
}

# ---- bpffs pin directory -----------------------------------------------------

pin_setup() {
	mkdir -p /sys/fs/bpf
	if ! grep -qs ' /sys/fs/bpf bpf ' /proc/self/mounts; then
		mount -t bpf bpf /sys/fs/bpf || fail "cannot mount bpffs at /sys/fs/bpf"
	fi
	export SUBFLOW_PIN_DIR=/sys/fs/bpf/subflow-test-$LAB_SUFFIX
}

pin_cleanup() {
	[ -n "${SUBFLOW_PIN_DIR:-}" ] || return 0
	if [ -e "$SUBFLOW_PIN_DIR" ] && [ -x "$SUBFLOWCTL" ]; then
		"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" unload >/dev/null 2>&1 || true
	fi
	# Whatever unload left (or if it failed): pins are plain files on bpffs.
	[ -e "$SUBFLOW_PIN_DIR" ] && rm -rf "$SUBFLOW_PIN_DIR"
	# The lock file outlives unload by design; this run's are no longer
	# needed (tests may use more pin directories named after the suffix).
	rm -f "$(pin_lock_file)" /run/subflow/sys-fs-bpf-subflow-test-"$LAB_SUFFIX"-*.lock
	rmdir /run/subflow 2>/dev/null
	return 0
}

# pin_lock_file: the lock file of $SUBFLOW_PIN_DIR (lock.c: '/' becomes '-').
pin_lock_file() {
	local name=${SUBFLOW_PIN_DIR#/}
	printf '/run/subflow/%s.lock\n' "${name//\//-}"
}

# ---- Processes ---------------------------------------------------------------

# proc_register PID: kill PID on cleanup.
proc_register() {
	_LAB_PIDS+=("$1")
}

proc_cleanup() {
	local pid
	for pid in "${_LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${_LAB_PIDS[@]}"; do
		_wait_pid_gone "$pid" 2 || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	_LAB_PIDS=()
}

_wait_pid_gone() {
	local pid=$1 tenths=$(( $2 * 10 )) i
	for (( i = 0; i < tenths; i++ )); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# ---- cgroups -----------------------------------------------------------------

# cg_root: the cgroup v2 mount point, from /proc/self/mounts.
cg_root() {
	local root
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	[ -n "$root" ] || { echo "no cgroup2 mount in /proc/self/mounts" >&2; return 1; }
	printf '%s\n' "$root"
}

# cg_create NAME: make a uniquely named cgroup under the cgroup2 root and print
# its path; it is removed on cleanup. The registration goes to a file, so that
# CG=$(cg_create NAME) works from a command substitution's subshell.
cg_create() {
	local root path
	[ -n "$LAB_TMP" ] || { echo "cg_create: call lab_init first" >&2; return 1; }
	root=$(cg_root) || return 1
	path="$root/subflow-test-$LAB_SUFFIX-$1"
	# Registered first: a run killed right after the mkdir still has it swept.
	printf '%s\n' "$path" >> "$LAB_TMP/cgroups"
	mkdir "$path" || return 1
	printf '%s\n' "$path"
}

# cg_id PATH: the cgroup id (its directory's inode number), as BPF sees it.
cg_id() {
	stat -c %i "$1"
}

cg_cleanup() {
	local root cg pid i
	root=$(cg_root 2>/dev/null) || return 0
	[ -n "$LAB_TMP" ] && [ -f "$LAB_TMP/cgroups" ] || return 0
	while read -r cg; do
		[ -d "$cg" ] || continue
		for (( i = 0; i < 20; i++ )); do
			while read -r pid; do
				echo "$pid" > "$root/cgroup.procs" 2>/dev/null || true
			done < "$cg/cgroup.procs"
			rmdir "$cg" 2>/dev/null && break
			sleep 0.1
		done
		[ -d "$cg" ] && echo "cleanup: cannot remove cgroup $cg" >&2
	done < <(tac "$LAB_TMP/cgroups")
	rm -f "$LAB_TMP/cgroups"
}

# ---- Running things inside the lab ---------------------------------------------

# in_ns NETNS CMD...: run CMD in that network namespace (keeps the mount
# namespace: bpffs and cgroup2 stay visible).
in_ns() {
	local ns=$1; shift
	nsenter --net="/run/netns/$ns" "$@"
}

# run_in CGROUP NETNS CMD...: run CMD in the foreground inside that cgroup and
# network namespace.
run_in() {
	sh -c 'echo $$ > "$1/cgroup.procs" && ns=$2 && shift 2 &&
	       exec nsenter --net="/run/netns/$ns" "$@"' sh "$@"
}

# spawn_in CGROUP NETNS CMD...: as run_in, in the background. $SPAWNED_PID is
# the PID of CMD itself (sh and nsenter exec it), killed on cleanup. Output
# goes to the caller's stdout/stderr, or to the file $SPAWN_OUT if set.
spawn_in() {
	local out=${SPAWN_OUT:-/dev/stdout} err=${SPAWN_OUT:-/dev/stderr}
	sh -c 'echo $$ > "$1/cgroup.procs" && ns=$2 && shift 2 &&
	       exec nsenter --net="/run/netns/$ns" "$@"' sh "$@" > "$out" 2> "$err" &
	SPAWNED_PID=$!
	proc_register "$SPAWNED_PID"
}

# ctl [ARGS...]: build/subflowctl -j on this run's pin dir, in the host netns.
ctl() {
	"$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" "$@"
}

# ctl_in NETNS [ARGS...]: the same, run inside NETNS.
ctl_in() {
	local ns=$1; shift
	in_ns "$ns" "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" "$@"
}

# ---- The two-path lab ----------------------------------------------------------

lab_setup() {
	[ -n "$LAB_SUFFIX" ] || LAB_SUFFIX=$(_lab_random_suffix)
	export NS_C="sfc-$LAB_SUFFIX" NS_S="sfs-$LAB_SUFFIX"

	_lab_state_add netns "$NS_C"
	ip netns add "$NS_C" || fail "ip netns add $NS_C"
	_LAB_NETNS+=("$NS_C")
	_lab_state_add netns "$NS_S"
	ip netns add "$NS_S" || fail "ip netns add $NS_S"
	_LAB_NETNS+=("$NS_S")
	local ns
	for ns in "$NS_C" "$NS_S"; do
		# No DAD at all (link-local included): addresses usable at once.
		in_ns "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0 || fail "sysctl accept_dad in $ns"
	done

	_lab_path "$C1" "$S1" "$C1_V4" "$S1_V4" "$C1_V6" "$S1_V6"
	_lab_path "$C2" "$S2" "$C2_V4" "$S2_V4" "$C2_V6" "$S2_V6"

	for ns in "$NS_C" "$NS_S"; do
		ip -n "$ns" link set lo up
		ip -n "$ns" mptcp limits set subflows 4 add_addr_accepted 4 ||
			fail "ip mptcp limits in $ns"
	done
	# The client's path-2 subflows are bound to c2 and go to the server's
	# path-1 address (the only one the in-kernel PM knows): make that
	# subnet reachable through c2 too, at a worse metric so that unbound
	# traffic (the initial subflow) keeps using c1. IPv6 needs this (a
	# c2-bound lookup fails otherwise); IPv4 would fall back to "on link".
	ip -n "$NS_C" route add "${S1_V4%.*}.0/24" via "$S2_V4" dev "$C2" metric 1024 ||
		fail "ip route add via $C2"
	ip -n "$NS_C" -6 route add "${S1_V6%::*}::/64" via "$S2_V6" dev "$C2" metric 1024 ||
		fail "ip -6 route add via $C2"
	ip -n "$NS_C" mptcp endpoint add "$C2_V4" dev "$C2" subflow ||
		fail "ip mptcp endpoint add $C2_V4"
	ip -n "$NS_C" mptcp endpoint add "$C2_V6" dev "$C2" subflow ||
		fail "ip mptcp endpoint add $C2_V6"

	wait_for 5 _lab_addrs_ready || fail "lab addresses not usable after 5 s"
}

# _lab_path CIF SIF C4 S4 C6 S6: one veth path between the namespaces.
_lab_path() {
	local cif=$1 sif=$2 c4=$3 s4=$4 c6=$5 s6=$6
	ip link add "$cif" netns "$NS_C" type veth peer name "$sif" netns "$NS_S" ||
		fail "ip link add $cif/$sif"
	_lab_iface "$NS_C" "$cif" "$c4" "$c6"
	_lab_iface "$NS_S" "$sif" "$s4" "$s6"
}

_lab_iface() {
	local ns=$1 dev=$2 v4=$3 v6=$4
	ip -n "$ns" addr add "$v4/24" dev "$dev"
	ip -n "$ns" -6 addr add "$v6/64" dev "$dev" nodad
	ip -n "$ns" link set "$dev" up
	# burst must cover at least one tick at $LAB_RATE; tbf segments GSO
	# packets larger than the burst.
	tc -n "$ns" qdisc add dev "$dev" root tbf rate "$LAB_RATE" burst 32k latency 50ms ||
		fail "tc tbf on $ns/$dev"
}

_lab_addrs_ready() {
	local ns
	for ns in "$NS_C" "$NS_S"; do
		[ -z "$(ip -n "$ns" -6 addr show tentative)" ] || return 1
		[ -z "$(ip -n "$ns" -6 addr show dadfailed)" ] || return 1
		[ "$(ip -n "$ns" -o link show up | grep -c 'state UP')" -eq 2 ] || return 1
	done
}

# lab_netns_add NAME: create a network namespace that cleanup removes (for
# labs of another shape than lab_setup's, e.g. tests/cc_lib.sh).
lab_netns_add() {
	_lab_state_add netns "$1"
	ip netns add "$1" || fail "ip netns add $1"
	_LAB_NETNS+=("$1")
	in_ns "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 ||
		fail "sysctl accept_dad in $1"
	ip -n "$1" link set lo up
}

lab_cleanup() {
	local ns
	for ns in "${_LAB_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	_LAB_NETNS=()
}

# ---- Helpers -------------------------------------------------------------------

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; fails after
# SECONDS.
wait_for() {
	local secs=$1; shift
	local deadline=$(( $(date +%s%N) + secs * 1000000000 ))
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# wait_file SECONDS FILE: wait until FILE exists and is not empty.
wait_file() {
	wait_for "$1" test -s "$2"
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	[ "$1" == "$2" ] && return 0
	fail "$3: expected '$1', got '$2'"
}

assert_ne() {
	[ "$1" != "$2" ] && return 0
	fail "$3: expected something other than '$1'"
}

# assert_ge MIN ACTUAL WHAT (integers)
assert_ge() {
	[ "$2" -ge "$1" ] 2>/dev/null && return 0
	fail "$3: expected >= $1, got '$2'"
}

# assert_json_eq EXPECTED_JSON ACTUAL_JSON WHAT: equal after normalising
# (jq -S: key order and whitespace do not matter, array order does).
assert_json_eq() {
	local want got
	want=$(jq -cS . <<<"$1" 2>/dev/null) || fail "$3: expected value is not JSON: $1"
	got=$(jq -cS . <<<"$2" 2>/dev/null) || fail "$3: actual value is not JSON: $2"
	[ "$want" == "$got" ] && return 0
	fail "$3:
  expected: $want
  actual:   $got"
}

# assert_json VALID_JSON WHAT: the text parses as JSON.
assert_json() {
	jq -e . >/dev/null 2>&1 <<<"$1" || fail "$2: not valid JSON: $1"
}

# assert_status EXPECTED WHAT CMD...: CMD exits with EXPECTED status; its
# stdout is left in $OUT and stderr in $ERR.
assert_status() {
	local want=$1 what=$2 rc=0
	shift 2
	OUT=$("$@" 2>"$LAB_TMP/stderr") || rc=$?
	ERR=$(cat "$LAB_TMP/stderr")
	[ "$rc" == "$want" ] && return 0
	fail "$what: '$*' exited $rc, expected $want (stdout: $OUT; stderr: $ERR)"
}

# require_cmd CMD...: the tools a test needs are installed.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || fail "missing $c (make deps; make)"
	done
}

# require_built: the CLI and the test tools exist.
require_built() {
	[ -x "$SUBFLOWCTL" ] || fail "$SUBFLOWCTL not built (run make)"
	[ -x "$MPTCP_PEER" ] || fail "$MPTCP_PEER not built (run make)"
	[ -x "$ENGINE_PROBE" ] || fail "$ENGINE_PROBE not built (run make)"
}

# require_mptcp: MPTCP is available in the kernel (else: a real skip).
require_mptcp() {
	[ -e /proc/sys/net/mptcp/enabled ] || skip "kernel has no MPTCP (CONFIG_MPTCP)"
}

# ---- MPTCP traffic between the namespaces ------------------------------------------

# pair_start DIR SERVER_CGROUP CLIENT_CGROUP SERVER_ADDR PORT [CLIENT ARGS...]:
# starts an mptcp_peer server in $NS_S and a client in $NS_C that connects,
# waits for its subflows (--subflows, default 2) and then holds the
# connection open until pair_stop. Both write their own view (MPTCP_INFO,
# MPTCP_FULL_INFO, libsubflow) to DIR/server.json and DIR/client.json; this
# returns once both exist. PIDs: $PAIR_SERVER_PID, $PAIR_CLIENT_PID (also in
# DIR/server.pid, DIR/client.pid).
pair_start() {
	local dir=$1 cg_s=$2 cg_c=$3 addr=$4 port=$5
	shift 5
	local subflows=2 args=("$@") i
	for (( i = 0; i < ${#args[@]} - 1; i++ )); do
		[ "${args[i]}" = --subflows ] && subflows=${args[i + 1]}
	done
	mkdir -p "$dir"
	SPAWN_OUT=$dir/server.log spawn_in "$cg_s" "$NS_S" "$MPTCP_PEER" server -a "$addr" \
		-p "$port" --hold --subflows "$subflows" --info-json "$dir/server.json" \
		--ready-file "$dir/server.ready"
	PAIR_SERVER_PID=$SPAWNED_PID
	echo "$SPAWNED_PID" > "$dir/server.pid"
	wait_for 5 test -e "$dir/server.ready" ||
		fail "mptcp_peer server did not start: $(cat "$dir/server.log")"
	SPAWN_OUT=$dir/client.log spawn_in "$cg_c" "$NS_C" "$MPTCP_PEER" client -a "$addr" \
		-p "$port" --info-json "$dir/client.json" --hold-until "$dir/go" "$@"
	PAIR_CLIENT_PID=$SPAWNED_PID
	echo "$SPAWNED_PID" > "$dir/client.pid"
	wait_file 10 "$dir/client.json" ||
		fail "mptcp_peer client wrote no view: $(cat "$dir/client.log")"
	wait_file 10 "$dir/server.json" ||
		fail "mptcp_peer server wrote no view: $(cat "$dir/server.log")"
	if ! kill -0 "$PAIR_CLIENT_PID" 2>/dev/null; then
		wait "$PAIR_CLIENT_PID" 2>/dev/null ||
			fail "mptcp_peer client failed: $(cat "$dir/client.log")"
	fi
}

# pair_stop DIR: let the client close its connection and wait (bounded) for
# both peers to exit; fails if either reported an error.
pair_stop() {
	local dir=$1 pid rc
	touch "$dir/go"
	for pid in $(cat "$dir/client.pid" "$dir/server.pid"); do
		_wait_pid_gone "$pid" 10 || fail "mptcp_peer $pid did not exit after close"
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		[ "$rc" = 0 ] || [ "$rc" = 127 ] ||
			fail "mptcp_peer exited $rc: $(cat "$dir/client.log" "$dir/server.log")"
	done
}

# view_subflows FILE KEY: the subflows of a view (KEY: kernel, lib_fd,
# lib_token) as [{id, local, remote}] sorted by id.
view_subflows() {
	jq -c --arg k "$2" '[.[$k][] | {id, local, remote}] | sort_by(.id)' "$1"
}

# ctl_conn NETNS TOKEN: the engine's connection object for TOKEN, as
# `subflowctl -j subflow list` prints it inside NETNS ("null" if absent).
ctl_conn() {
	ctl_in "$1" subflow list | jq -c --argjson t "$2" 'map(select(.token == $t)) | .[0]'
}

# ctl_tokens NETNS: the tokens the engine lists in NETNS, one per line, sorted.
ctl_tokens() {
	ctl_in "$1" subflow list | jq -r '.[].token' | sort -n
}

# subflow tuples projected like view_subflows, from a JSON connection object.
conn_subflows() {
	jq -c '[.subflows[] | {id, local, remote}] | sort_by(.id)' <<<"$1"
}

# ifindex NETNS DEV
ifindex() {
	ip -n "$1" -j link show dev "$2" | jq '.[0].ifindex'
}

# ss_subflow_count NETNS PORT: established TCP subflows to or from PORT, as
# `ss -tniM` shows them (the kernel's own count, independent of the engine).
ss_subflow_count() {
	in_ns "$1" ss -Htn state established "( sport = :$2 or dport = :$2 )" | wc -l
}

# bpf_ids KIND (prog|map|link): ids of all such BPF objects on the machine.
bpf_ids() {
	bpftool -j "$1" show | jq -r '.[].id' | sort -n
}

# lab_engine_empty: neither namespace of the lab lists a tracked connection.
lab_engine_empty() {
	[ "$(ctl_in "$NS_C" subflow list | jq length)" = 0 ] &&
	[ "$(ctl_in "$NS_S" subflow list | jq length)" = 0 ]
}

# assert_engine_forgot_all SECONDS WHAT: within SECONDS, neither namespace
# lists a connection, the conns and subflow_overflow maps are empty, every
# subflow the engine added was removed, and none was refused (map_full).
# Leaves the final `status` in $STATUS.
assert_engine_forgot_all() {
	local secs=$1 what=$2 map
	if ! wait_for "$secs" lab_engine_empty; then
		# What is left, against what the kernel still has.
		log "client's entries: $(ctl_in "$NS_C" subflow list | jq -c .)"
		log "server's entries: $(ctl_in "$NS_S" subflow list | jq -c .)"
		log "client's sockets: $(in_ns "$NS_C" ss -HtanM state all | head -20)"
		log "server's sockets: $(in_ns "$NS_S" ss -HtanM state all | head -20)"
		fail "$what: entries left after ${secs}s: client $(ctl_in "$NS_C" subflow list | jq -c '[.[].token]'), server $(ctl_in "$NS_S" subflow list | jq -c '[.[].token]')"
	fi
	STATUS=$(ctl status)
	for map in conns subflow_overflow; do
		assert_eq 0 "$(jq --arg m "$map" '.maps[] | select(.name == $m) | .entries' <<<"$STATUS")" \
			"$what: entries in $map"
	done
	assert_eq "$(jq .counters.subflows_added <<<"$STATUS")" \
		"$(jq .counters.subflows_removed <<<"$STATUS")" "$what: subflows removed vs added"
	assert_eq 0 "$(jq .counters.map_full <<<"$STATUS")" "$what: map_full"
}

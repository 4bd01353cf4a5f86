# shellcheck shell=bash
# tests/pm_lib.sh: helpers of the path-management tests, benchmarks and demo,
# on top of tests/lib.sh (source that first). Streams of checked bytes
# (tests/tools/mptcp_stream.c) between the lab's namespaces, the kernel's
# own views (MPTCP_FULL_INFO from the application, `ss -tiM`, `ip mptcp
# monitor` on the peer), and path faults (link down, nftables blackholes).

MPTCP_STREAM=${MPTCP_STREAM:-$LAB_BUILD/tests/mptcp_stream}

# pm_userspace NETNS: new connections of NETNS get the userspace PM.
pm_userspace() {
	in_ns "$1" sysctl -qw net.mptcp.path_manager=userspace ||
		fail "cannot select the userspace path manager in $1"
}

# stream_start DIR SERVER_CG CLIENT_CG ADDR PORT upload|download SECONDS [idle]:
# a server in $NS_S (listening on every address of ADDR's family, so that it
# accepts joins on both paths) and a client in $NS_C that connects to ADDR;
# one of them sends the pattern for SECONDS. With `idle`, the client connects and waits for DIR/go before the
# transfer. Returns once the client wrote its token ($STREAM_TOKEN).
# PIDs: $STREAM_SERVER_PID, $STREAM_CLIENT_PID.
stream_start() {
	local dir=$1 cg_s=$2 cg_c=$3 addr=$4 port=$5 dir_=$6 secs=$7 idle=${8:-}
	local s_args=() c_args=()
	mkdir -p "$dir"
	rm -f "$dir"/*.json "$dir/token" "$dir/go" "$dir/ready"
	if [ "$dir_" = upload ]; then
		c_args=(--send-for "$secs")
	else
		s_args=(--send-for "$secs")
	fi
	[ -n "$idle" ] && c_args+=(--start-after "$dir/go")
	local any=0.0.0.0
	[[ $addr == *:* ]] && any=::
	SPAWN_OUT=$dir/server.log spawn_in "$cg_s" "$NS_S" "$MPTCP_STREAM" server -a "$any" \
		-p "$port" --ready-file "$dir/ready" --json "$dir/server.json" \
		--timeline "$dir/server.timeline" --info-json "$dir/server.info" "${s_args[@]}"
	STREAM_SERVER_PID=$SPAWNED_PID
	wait_for 5 test -e "$dir/ready" || fail "mptcp_stream server did not start: $(cat "$dir/server.log")"
	SPAWN_OUT=$dir/client.log spawn_in "$cg_c" "$NS_C" "$MPTCP_STREAM" client -a "$addr" \
		-p "$port" --json "$dir/client.json" --timeline "$dir/client.timeline" \
		--token-file "$dir/token" --info-json "$dir/client.info" "${c_args[@]}"
	STREAM_CLIENT_PID=$SPAWNED_PID
	wait_file 10 "$dir/token" || fail "mptcp_stream client did not connect: $(cat "$dir/client.log")"
	STREAM_TOKEN=$(cat "$dir/token")
}

# stream_go DIR: start the transfer of an idle stream.
stream_go() {
	touch "$1/go"
}

# stream_finish DIR: wait (bounded) for both ends to exit and check that
# every byte arrived intact: both ends say ok, and the sender's count is the
# receiver's.
stream_finish() {
	local dir=$1 pid rc sent got
	for pid in "$STREAM_CLIENT_PID" "$STREAM_SERVER_PID"; do
		_wait_pid_gone "$pid" 60 || fail "mptcp_stream $pid did not finish"
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		[ "$rc" = 0 ] || [ "$rc" = 127 ] ||
			fail "mptcp_stream exited $rc: $(cat "$dir/client.log" "$dir/server.log")"
	done
	for f in client server; do
		[ "$(jq -r .ok "$dir/$f.json" 2>/dev/null)" = true ] ||
			fail "$f: transfer not intact: $(cat "$dir/$f.json" 2>/dev/null) $(cat "$dir/$f.log")"
	done
	sent=$(jq -s 'map(select(.role == "sender")) | .[0].bytes' "$dir/client.json" "$dir/server.json")
	got=$(jq -s 'map(select(.role == "receiver")) | .[0].bytes' "$dir/client.json" "$dir/server.json")
	[ "$sent" = "$got" ] && [ "$sent" -gt 0 ] || fail "sent $sent bytes, received $got"
	STREAM_BYTES=$sent
}

# full_info DIR client|server: the application's MPTCP_FULL_INFO, as JSON.
full_info() {
	local dir=$1 side=$2 pid
	[ "$side" = client ] && pid=$STREAM_CLIENT_PID || pid=$STREAM_SERVER_PID
	rm -f "$dir/$side.info"
	kill -USR1 "$pid" || fail "mptcp_stream $side is gone"
	wait_file 5 "$dir/$side.info" || fail "mptcp_stream $side wrote no MPTCP_FULL_INFO"
	cat "$dir/$side.info"
}

# monitor_start NETNS FILE: `ip mptcp monitor` in NETNS into FILE (killed at
# cleanup). Returns once it is listening.
monitor_start() {
	local ns=$1 file=$2
	SPAWN_OUT=$file spawn_in_ns "$ns" ip mptcp monitor
	MONITOR_PID=$SPAWNED_PID
	# It subscribes at once; give it the time of a few syscalls.
	wait_for 2 _netlink_subscribed "$MONITOR_PID" || fail "ip mptcp monitor did not start"
}

# spawn_in_ns NETNS CMD...: as spawn_in, without a cgroup.
spawn_in_ns() {
	local out=${SPAWN_OUT:-/dev/stdout} ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@" > "$out" 2>&1 &
	SPAWNED_PID=$!
	proc_register "$SPAWNED_PID"
}

# _netlink_subscribed PID: PID holds a generic netlink socket subscribed to
# the mptcp_pm events group, which is what the daemon's check for another
# path manager looks for (a process may hold other groups first: mptcpd
# subscribes to nlctrl's notify group before mptcp_pm's).
_netlink_subscribed() {
	local pid=$1 inode id bit sk proto rest groups ino
	id=$(genl ctrl get name mptcp_pm 2>/dev/null |
		sed -n 's/.*ID-\(0x[0-9a-f]*\) *name: mptcp_pm_events.*/\1/p')
	[ -n "$id" ] || return 1
	bit=$(( 1 << (id - 1) ))
	for inode in $(ls -l "/proc/$pid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p'); do
		# /proc/net/netlink: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
		while read -r sk proto _ groups _ _ _ _ _ ino rest; do
			[ "$ino" = "$inode" ] && [ "$proto" = 16 ] &&
				(( 16#$groups & bit )) && return 0
		done < <(nsenter --net="/proc/$pid/ns/net" tail -n +2 /proc/net/netlink)
	done
	return 1
}

# ss_subflows NETNS PORT: the MPTCP subflows (TCP sockets with the mptcp ULP)
# to or from PORT, one line each: "LOCAL REMOTE STATE ULPFLAGS", from `ss -tni`;
# without the flag v (a DSS mapping in progress: it comes and goes with data).
ss_subflows() {
	in_ns "$1" ss -Htni state all "( sport = :$2 or dport = :$2 )" |
		awk '/^[A-Z]/ && NF >= 5 { st = $1; l = $4; r = $5; next }
		     /tcp-ulp-mptcp/ { f = "-"; for (i = 1; i <= NF; i++) if ($i ~ /^flags:/) f = substr($i, 7)
				       gsub("v", "", f); print l, r, st, f }'
}

# nft_blackhole NETNS DEV [NETNS DEV]...: drop everything that arrives on
# each DEV in its NETNS (the links stay up); nft_heal NETNS... undoes it.
# Both ends of a path together: a blackhole of the path, what was queued
# before dropped too. Only on ingress: a drop on the sender's own egress is
# a local error to TCP ("local congestion": it retransmits every 500 ms,
# without backoff), not a silent path. The tables go with the namespaces.
nft_blackhole() {
	while [ $# -ge 2 ]; do
		in_ns "$1" nft -f - <<EOF || fail "nft blackhole on $1/$2"
table netdev subflow_blackhole {
	chain in { type filter hook ingress device "$2" priority -500; policy drop; }
}
EOF
		shift 2
	done
}

nft_heal() {
	local ns
	for ns in "$@"; do
		in_ns "$ns" nft delete table netdev subflow_blackhole 2>/dev/null || true
	done
}

# ---- Failover measurements ---------------------------------------------------------

# now_ns: CLOCK_REALTIME in ns (the clock of mptcp_stream's timeline and ifrate).
now_ns() {
	date +%s%N
}

# rate_bytes_per_ms RATE: a tc rate (20mbit, 100mbit) in bytes per millisecond.
rate_bytes_per_ms() {
	awk -v r="$1" 'BEGIN {
		n = r + 0; u = substr(r, length(n "") + 1)
		f = (u == "kbit") ? 1e3 : (u == "mbit") ? 1e6 : (u == "gbit") ? 1e9 : (u == "bit") ? 1 : 0
		if (!f) exit 1
		printf "%d\n", n * f / 8 / 1000 }'
}

# recovery_ms TIMELINE FAULT_NS RATE_BPMS: the failover time, in ms, seen by
# the receiver of TIMELINE (mptcp_stream --timeline): from FAULT_NS to the end
# of the first 20 ms window, wholly after the fault, in which it received at
# least half of RATE_BPMS (bytes per ms: the backup path's rate) per ms. The
# faults leave nothing queued on the dead path to arrive later (a link down
# flushes its queues; nft_blackhole drops at both of the path's ends).
# "none" when that never happened.
recovery_ms() {
	awk -v fault="$2" -v rate="$3" '
		NR == 1 { start = $1; next }
		{ b[NR - 2] = $1; last = NR - 2 }
		END {
			w = 20; f = int((fault - start) / 1e6) + 1; if (f < 0) f = 0
			acc = 0
			for (k = f; k <= last; k++) {
				acc += b[k]
				if (k - w >= f) acc -= b[k - w]
				if (k - f + 1 >= w && acc >= 0.5 * rate * w) {
					printf "%.1f\n", (start + (k + 1) * 1e6 - fault) / 1e6; exit
				}
			}
			print "none" }' "$1"
}

# failback_ms IFRATE_FILE SINCE_NS COLUMN RATE_BPMS [WINDOW_MS]: milliseconds
# from SINCE_NS until the counter in COLUMN of ifrate's samples (2: rx of the
# first device, 3: its tx, ...) grew by half of RATE_BPMS per ms over a
# WINDOW_MS (default 20) window; "none" if never.
failback_ms() {
	awk -v since="$2" -v col="$3" -v rate="$4" -v w="${5:-20}" '
		{ t[NR] = $1; c[NR] = $col; n = NR }
		END {
			need = 0.5 * rate * w; j = 1
			for (i = 1; i <= n; i++) {
				if (t[i] < since) continue
				while (j < i && t[j + 1] <= t[i] - w * 1e6) j++
				if (t[j] < since || t[i] - t[j] < w * 1e6 * 0.9) continue
				if (c[i] - c[j] >= need * (t[i] - t[j]) / (w * 1e6)) {
					printf "%.1f\n", (t[i] - since) / 1e6; exit
				}
			}
			print "none" }' "$1"
}

# ---- The daemon ---------------------------------------------------------------------

# daemon_start NETNS: `subflowctl -j daemon` in NETNS, its decisions (JSON
# lines) and messages in $LAB_TMP/daemon-NETNS.log; returns once it manages
# the namespace. $DAEMON_PID; stopped at cleanup.
daemon_start() {
	local ns=$1 log=$LAB_TMP/daemon-$1.log
	: > "$log"
	SPAWN_OUT=$log spawn_in_ns "$ns" "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" daemon
	DAEMON_PID=$SPAWNED_PID
	wait_for 5 grep -q "managing MPTCP paths" "$log" ||
		fail "the daemon did not start in $ns: $(cat "$log")"
}

# daemon_stop PID: SIGTERM, and wait (bounded) for it to exit.
daemon_stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	_wait_pid_gone "$1" 5 || fail "daemon $1 did not exit on SIGTERM"
	wait "$1" 2>/dev/null || true
}

# decisions NETNS [JQ_FILTER]: the daemon's decisions in NETNS (one JSON
# object per line), filtered.
# lte_backup PORT: the client's lte subflow (IPv4) of the connection to
# PORT is established and has the backup flag (ss -tiM's "b").
lte_backup() {
	ss_subflows "$NS_C" "$1" | grep -q "^$C2_V4[:%].* ESTAB [^ ]*b"
}

decisions() {
	jq -rcR "fromjson? | select(.event == \"decision\") | ${2:-.}" "$LAB_TMP/daemon-$1.log"
}

# sfmon_start NETNS FILE: `subflowctl -j subflow monitor` in NETNS into FILE
# (killed at cleanup). Returns once its reader holds a slot of event_readers.
sfmon_start() {
	local ns=$1 file=$2
	SPAWN_OUT=$file spawn_in_ns "$ns" "$SUBFLOWCTL" -j --pin-dir "$SUBFLOW_PIN_DIR" subflow monitor
	SFMON_PID=$SPAWNED_PID
	wait_for 3 _event_reader "$SFMON_PID" || fail "subflow monitor did not start: $(cat "$file")"
}

_event_reader() {
	bpftool -j map dump pinned "$SUBFLOW_PIN_DIR/event_readers" |
		jq -e --argjson pid "$1" 'any(.[]; .formatted.value.pid == $pid)' > /dev/null
}

# decision_count NETNS ACTION PATH: how many decisions of that kind.
decision_count() {
	decisions "$1" "select(.action == \"$2\" and (.path // \"\") == \"$3\")" | wc -l
}

# wait_decision SECONDS NETNS ACTION PATH [MIN_COUNT]: until the daemon has
# made at least MIN_COUNT (default 1) decisions ACTION on PATH.
wait_decision() {
	local secs=$1 ns=$2 action=$3 path=$4 min=${5:-1}
	wait_for "$secs" _decisions_at_least "$ns" "$action" "$path" "$min" ||
		fail "no '$action $path' decision (x$min) within ${secs}s: $(decisions "$ns" | tail -5)"
}

_decisions_at_least() {
	[ "$(decision_count "$1" "$2" "$3")" -ge "$4" ]
}

# count_is N CMD...: CMD prints N (for wait_for, which runs CMD again each
# time: a "$(...)" argument would be evaluated once only).
count_is() {
	local want=$1
	shift
	[ "$("$@")" = "$want" ]
}

# prefer_lab POLICY_TEXT: the usual setup of the path-management tests: no
# in-kernel endpoints on the client (the daemon decides), the engine attached
# to the client's cgroup with that policy, the daemon running there.
# $CG_C, $CG_S, $DAEMON_PID.
prefer_lab() {
	ip -n "$NS_C" mptcp endpoint flush
	CG_C=$(cg_create client)
	CG_S=$(cg_create server)
	printf '%s\n' "$1" > "$LAB_TMP/client.policy"
	ctl_in "$NS_C" cgroup attach "$CG_C" policy "$LAB_TMP/client.policy" >/dev/null ||
		fail "cannot attach the client cgroup with its policy"
	daemon_start "$NS_C"
}

# established_on NETNS PORT LOCAL_ADDR: established subflows from LOCAL_ADDR.
established_on() {
	ss_subflows "$1" "$2" | grep -c "^$3[:%].* ESTAB " || true
}

# lab_third_path: a third veth path c3/s3 (10.31.3.0/24, fd31:3::/64), the
# server's path-1 prefix reachable through it like through c2.
lab_third_path() {
	export C3=c3 S3=s3 C3_V4=10.31.3.1 S3_V4=10.31.3.2 C3_V6=fd31:3::1 S3_V6=fd31:3::2
	_lab_path "$C3" "$S3" "$C3_V4" "$S3_V4" "$C3_V6" "$S3_V6"
	ip -n "$NS_C" route add "${S1_V4%.*}.0/24" via "$S3_V4" dev "$C3" metric 2048 ||
		fail "ip route add via $C3"
	wait_for 5 _lab_addrs_ready3 || fail "third path not usable after 5 s"
}

_lab_addrs_ready3() {
	[ "$(ip -n "$NS_C" -o link show up | grep -c 'state UP')" -eq 3 ]
}

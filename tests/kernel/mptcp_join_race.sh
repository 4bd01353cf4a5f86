#!/bin/bash
# tests/kernel/mptcp_join_race.sh [CONNS] [--settle]: reproduce a Linux MPTCP
# receive-side data corruption with nothing of subflow's but the libc-only
# tool tests/tools/mptcp_join_race.c (build it with `make`). Needs root, ip,
# tc, nsenter. Not part of tests/run.sh: on an affected kernel it fails.
#
# Lab (made here, removed on exit): client and server network namespaces
# joined by two veth paths, each end shaped with tbf (20mbit), the client's
# in-kernel path manager told to open a second subflow over path 2 ("subflow"
# endpoint). The server echoes CONNS connections (default 1000) of 200000
# bytes each and checks every byte; the client sends 16 KiB
# send(MSG_DONTWAIT) chunks from a poll() loop, as the launcher's tests do.
#
# Exit 1 and "corrupted: N of CONNS" with N > 0: the kernel put bytes of a
# later data-sequence offset, carried by the MP_JOIN subflow, at an earlier
# offset of the stream it delivered to the server (README, "Limits"). Exit 0:
# no corruption seen. --settle: the client first lets its second subflow be
# set up with no data in flight (tests/tools/mptcp_settle.h), then sends the
# rest; that is the workaround tcp_app --settle gives the launcher's tests.
set -euo pipefail

conns=1000 settle=()
for a in "$@"; do
	case $a in
	--settle) settle=(--settle 2) ;;
	*[!0-9]* | '') echo "usage: $0 [CONNS] [--settle]" >&2; exit 64 ;;
	*) conns=$a ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "$0: needs root" >&2; exit 1; }
here=$(cd "$(dirname "$0")/../.." && pwd)
tool=${MPTCP_JOIN_RACE:-$here/build/tests/mptcp_join_race}
[ -x "$tool" ] || { echo "$0: $tool not built (make)" >&2; exit 1; }

# The race is between CPUs (the server holding its MPTCP socket on one while
# the MP_JOIN subflow's packets are processed on another): pin the two ends
# apart. On one CPU it does not show.
server_cpu=(env) client_cpu=(env)
if [ "$(nproc)" -ge 2 ]; then
	server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi

sfx=$(printf '%04x%04x' "$RANDOM" "$RANDOM")
nc=jrc-$sfx ns=jrs-$sfx tmp=$(mktemp -d "/tmp/mptcp-join-race.XXXXXX") srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	ip netns del "$nc" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$nc"
ip netns add "$ns"
for p in 1 2; do
	ip link add "c$p" netns "$nc" type veth peer name "s$p" netns "$ns"
	ip -n "$nc" addr add "10.47.$p.1/24" dev "c$p"
	ip -n "$ns" addr add "10.47.$p.2/24" dev "s$p"
	ip -n "$nc" link set "c$p" up
	ip -n "$ns" link set "s$p" up
	tc -n "$nc" qdisc add dev "c$p" root tbf rate 20mbit burst 32k latency 50ms
	tc -n "$ns" qdisc add dev "s$p" root tbf rate 20mbit burst 32k latency 50ms
done
for n in "$nc" "$ns"; do
	ip -n "$n" link set lo up
	ip -n "$n" mptcp limits set subflows 4 add_addr_accepted 4
done
# Path-2 subflows go from c2 to the server's path-1 address.
ip -n "$nc" route add 10.47.1.0/24 via 10.47.2.2 dev c2 metric 1024
ip -n "$nc" mptcp endpoint add 10.47.2.1 dev c2 subflow

"${server_cpu[@]}" nsenter --net="/run/netns/$ns" "$tool" server -a 10.47.1.2 -p 7000 -n "$conns" \
	--ready-file "$tmp/ready" > "$tmp/server.out" 2> "$tmp/server.err" &
srv=$!
for _ in $(seq 50); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
[ -e "$tmp/ready" ] || { cat "$tmp/server.err" >&2; exit 1; }

"${client_cpu[@]}" nsenter --net="/run/netns/$nc" "$tool" client -a 10.47.1.2 -p 7000 -n "$conns" "${settle[@]}"
rc=0
wait "$srv" || rc=$?
srv=
grep -m5 '^conn ' "$tmp/server.out" || true
tail -1 "$tmp/server.out"
cat "$tmp/server.err" >&2
# The kernel's side of it, in the server's namespace (counted from zero).
nsenter --net="/run/netns/$ns" awk '
	/^MPTcpExt:/ { if (!n++) { split($0, k); next } for (i = 2; i <= NF; i++)
		if ($i != 0 && k[i] ~ /DSSNotMatching|DuplicateData|MPRstTx|DSSCorruption|DSSFallback/)
			printf "%s=%s ", k[i], $i; print "" }' /proc/net/netstat
exit "$rc"

# shellcheck shell=bash
# tests/cc_lib.sh: helpers for the coupled congestion control tests, bench
# and demo (on top of tests/lib.sh: source that first).
#
# Congestion control names are global to the machine, not per namespace:
# another engine instance (another pin directory: another test running
# now) may hold mptcp_lia & co. cc_engine_load waits until this run's
# engine is the one that registered all three.

CC_NAMES=(mptcp_lia mptcp_olia mptcp_balia)

# cc_available NAME: the kernel lists NAME in tcp_available_congestion_control.
cc_available() {
	tr ' ' '\n' < /proc/sys/net/ipv4/tcp_available_congestion_control | grep -qx "$1"
}

# cc_status: `subflowctl status -j`'s congestion_controls array.
cc_status() {
	ctl status | jq -c '.congestion_controls'
}

# cc_ours_count: how many of the three this run's engine registered.
cc_ours_count() {
	cc_status | jq '[.[] | select(.by_this_engine)] | length'
}

# cc_names_free: none of the three is registered (by anyone).
cc_names_free() {
	local n
	for n in "${CC_NAMES[@]}"; do
		cc_available "$n" && return 1
	done
	return 0
}

# cc_names_free_or_ours: none of the three is registered, or this run's
# engine registered all three.
cc_names_free_or_ours() {
	cc_names_free && return 0
	[ "$(ctl status 2>/dev/null | jq '[.congestion_controls // [] | .[] | select(.by_this_engine)] | length')" = 3 ]
}

# cc_engine_load CGROUP [ATTACH ARGS...]: attach the engine (run in the
# client namespace: policies resolve devices there) and make sure this
# run's engine registered all three controls; if another instance held a
# name, detach, wait for the names to be free and try again (bounded).
cc_engine_load() {
	local cg=$1 tries
	shift
	for (( tries = 0; tries < 10; tries++ )); do
		# This run's engine holds them already (make bench loads it
		# for the sections before): attaching adds the cgroup.
		wait_for 180 cc_names_free_or_ours ||
			fail "the coupled controls stay registered by someone else: $(bpftool struct_ops show 2>&1 | tr '\n' ';')"
		if [ -n "${NS_C:-}" ]; then
			ctl_in "$NS_C" cgroup attach "$cg" "$@"
		else
			ctl cgroup attach "$cg" "$@"
		fi > "$LAB_TMP/cc_attach.out" 2>&1 ||
			fail "cgroup attach $cg $*: $(cat "$LAB_TMP/cc_attach.out")"
		[ "$(cc_ours_count)" = 3 ] && return 0
		log "another engine took a name meanwhile: $(cc_status); retrying"
		ctl unload > /dev/null 2>&1 || true
	done
	fail "could not register the three coupled controls in 10 tries"
}

# cc_holders NAME: ids of the live struct_ops maps of that name (bpftool).
cc_holders() {
	bpftool -j struct_ops show 2>/dev/null | jq -r --arg n "$1" '.[] | select(.name == $n) | .id'
}

# cc_not_ours NAME IDS...: NAME is unregistered, or held only by maps whose
# ids are not among IDS (another engine instance running now).
cc_not_ours() {
	local n=$1 id
	shift
	cc_available "$n" || return 0
	for id in $(cc_holders "$n"); do
		printf '%s\n' "$@" | grep -qx "$id" && return 1
	done
	return 0
}

# cc_our_map_ids: struct_ops map ids of this run's registrations.
cc_our_map_ids() {
	cc_status | jq -r '.[] | select(.by_this_engine) | .map_id'
}

# cc_conns_dump: the cc_conns map of this run's engine, bpftool JSON (field
# names under .formatted).
cc_conns_dump() {
	bpftool -j map dump pinned "$SUBFLOW_PIN_DIR/cc_conns"
}

# cc_conn_ids NETNS_COOKIE TOKEN: sorted subflow ids of the connection's
# occupied slots in cc_conns (empty when it has no entry).
cc_conn_ids() {
	cc_conns_dump | jq -r --argjson c "$1" --argjson t "$2" '.[].formatted |
		select(.key.netns_cookie == $c and .key.token == $t) |
		.value.paths[] | select(.id != 0) | .id' | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# ---- The congestion lab: client, router, server --------------------------------
#
#   client $NS_C                 router $NS_R                 server $NS_S
#     c1 10.41.1.1  <-> r1 10.41.1.254     rs1 10.41.9.254 <-> s1 10.41.9.1
#     c2 10.41.2.1  <-> r2 10.41.2.254     rs2 10.41.8.254 <-> s2 10.41.8.1
#
# The MPTCP client's initial subflow leaves by c1, its join (endpoint
# 10.41.2.1 dev c2) by c2; both go to the server's one address 10.41.9.1
# through the router. cc_shape puts the bottleneck(s) in the router's
# egress toward the server: shared, everything leaves by rs1 through one tbf;
# disjoint, what came in by r2 leaves by rs2 (policy routing), each link
# with its own tbf. The client's own links are never shaped (a local qdisc
# would push back on the sender instead of dropping, as a router does).
# Plain TCP competitors bind to c1's address (path 1) or c2's (path 2).
CC_C1=10.41.1.1 CC_C2=10.41.2.1 CC_S=10.41.9.1

cc_lab_setup() {
	[ -n "$LAB_SUFFIX" ] || LAB_SUFFIX=$(_lab_random_suffix)
	export NS_C="sfcc-c-$LAB_SUFFIX" NS_R="sfcc-r-$LAB_SUFFIX" NS_S="sfcc-s-$LAB_SUFFIX"
	local ns
	for ns in "$NS_C" "$NS_R" "$NS_S"; do
		lab_netns_add "$ns"
		# Path 2 reaches the server's address over s2: no reverse-path
		# filter may drop it (set before the links exist: they inherit).
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 ||
			fail "rp_filter in $ns"
	done
	ip link add c1 netns "$NS_C" type veth peer name r1 netns "$NS_R" || fail "veth c1"
	ip link add c2 netns "$NS_C" type veth peer name r2 netns "$NS_R" || fail "veth c2"
	ip link add rs1 netns "$NS_R" type veth peer name s1 netns "$NS_S" || fail "veth rs1"
	ip link add rs2 netns "$NS_R" type veth peer name s2 netns "$NS_S" || fail "veth rs2"
	ip -n "$NS_C" addr add "$CC_C1/24" dev c1
	ip -n "$NS_C" addr add "$CC_C2/24" dev c2
	ip -n "$NS_R" addr add 10.41.1.254/24 dev r1
	ip -n "$NS_R" addr add 10.41.2.254/24 dev r2
	ip -n "$NS_R" addr add 10.41.9.254/24 dev rs1
	ip -n "$NS_R" addr add 10.41.8.254/24 dev rs2
	ip -n "$NS_S" addr add "$CC_S/24" dev s1
	ip -n "$NS_S" addr add 10.41.8.1/24 dev s2
	for ns in "$NS_C:c1 c2" "$NS_R:r1 r2 rs1 rs2" "$NS_S:s1 s2"; do
		local dev
		for dev in ${ns#*:}; do
			ip -n "${ns%%:*}" link set "$dev" up
		done
	done
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward in $NS_R"
	ip -n "$NS_R" route add 10.41.9.0/24 dev rs2 table 102
	# Unbound traffic (the initial subflow, TCP competitors) by c1; the
	# join is bound to c2 and takes the c2 route; a socket bound to c2's
	# address too (a TCP flow on path 2).
	ip -n "$NS_C" route add 10.41.9.0/24 via 10.41.1.254 dev c1 metric 100
	ip -n "$NS_C" route add 10.41.9.0/24 via 10.41.2.254 dev c2 metric 1024
	ip -n "$NS_C" rule add from "$CC_C2" lookup 102
	ip -n "$NS_C" route add 10.41.9.0/24 via 10.41.2.254 dev c2 table 102
	ip -n "$NS_S" route add default via 10.41.9.254
	ip -n "$NS_C" mptcp limits set subflows 2 add_addr_accepted 0
	ip -n "$NS_S" mptcp limits set subflows 2 add_addr_accepted 0
	ip -n "$NS_C" mptcp endpoint add "$CC_C2" dev c2 subflow || fail "mptcp endpoint $CC_C2"
}

# cc_tbf NS DEV RATE: one tbf (queue of 20 ms at RATE) on DEV's egress.
cc_tbf() {
	tc -n "$1" qdisc replace dev "$2" root tbf rate "$3" burst 32k latency 20ms ||
		fail "tbf $3 on $1/$2"
}

cc_untbf() {
	tc -n "$1" qdisc del dev "$2" root 2>/dev/null || true
}

# cc_shape shared RATE | disjoint RATE1 RATE2
cc_shape() {
	ip -n "$NS_R" rule del iif r2 lookup 102 2>/dev/null || true
	case $1 in
	shared)
		cc_untbf "$NS_R" rs2
		cc_tbf "$NS_R" rs1 "$2" ;;
	disjoint)
		ip -n "$NS_R" rule add iif r2 lookup 102 || fail "ip rule iif r2 in $NS_R"
		cc_tbf "$NS_R" rs1 "$2"; cc_tbf "$NS_R" rs2 "$3" ;;
	esac
	ip -n "$NS_R" route flush cache 2>/dev/null || true
}

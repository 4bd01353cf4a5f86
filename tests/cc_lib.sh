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

# cc_engine_load CGROUP [ATTACH ARGS...]: attach the engine (run in the
# client namespace: policies resolve devices there) and make sure this
# run's engine registered all three controls; if another instance held a
# name, detach, wait for the names to be free and try again (bounded).
cc_engine_load() {
	local cg=$1 tries
	shift
	for (( tries = 0; tries < 10; tries++ )); do
		wait_for 60 cc_names_free ||
			fail "the coupled controls stay registered by someone else: $(bpftool struct_ops show 2>&1 | tr '\n' ';')"
		ctl_in "$NS_C" cgroup attach "$cg" "$@" > "$LAB_TMP/cc_attach.out" 2>&1 ||
			fail "cgroup attach $cg $*: $(cat "$LAB_TMP/cc_attach.out")"
		[ "$(cc_ours_count)" = 3 ] && return 0
		log "another engine took a name meanwhile: $(cc_status); retrying"
		ctl unload > /dev/null 2>&1 || true
	done
	fail "could not register the three coupled controls in 10 tries"
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

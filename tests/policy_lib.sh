# shellcheck shell=bash
# tests/policy_lib.sh: helpers for the policy tests (tests/integration/
# test_policy_*.sh), on top of tests/lib.sh (source that first).
#
# In the lab the client's c1 plays "wifi" and c2 "lte"; the example policies
# in policies/ name those devices. Everything here lives inside the lab's
# namespaces and cgroups, which lib.sh's trap removes.

POLICY_DIR=${POLICY_DIR:-$LAB_REPO/policies}

# ---- Engine and policies -----------------------------------------------------

# pol_attach NETNS CGROUP FILE: attach the engine to CGROUP with the policy in
# FILE, from inside NETNS (dev selectors resolve there), in one command.
pol_attach() {
	local ns=$1 cg=$2 file=$3
	ctl_in "$ns" cgroup attach "$cg" policy "$file" > "$LAB_TMP/attach.out" 2>&1 ||
		fail "cgroup attach $cg policy $file (in $ns): $(cat "$LAB_TMP/attach.out")"
}

# pol_load NETNS CGROUP FILE: load (swap in) FILE for an attached CGROUP.
pol_load() {
	local ns=$1 cg=$2 file=$3
	ctl_in "$ns" policy load "$cg" "$file" > "$LAB_TMP/load.out" 2>&1 ||
		fail "policy load $cg $file (in $ns): $(cat "$LAB_TMP/load.out")"
}

# pol_show NETNS CGROUP: the cgroup's policy object from `policy show -j`.
pol_show() {
	local out
	out=$(ctl_in "$1" policy show "$2") || fail "policy show $2: $out"
	jq -c '.[0]' <<<"$out"
}

# pol_hits NETNS CGROUP: the hit counts of the rules, as a JSON array in rule
# order, followed by no_match: e.g. [3,0,5] means rule 0: 3, rule 1: 0,
# no rule matched: 5.
pol_hits() {
	pol_show "$1" "$2" | jq -c '[.rules[].hits] + [.no_match]'
}

# pol_denials NETNS CGROUP PATH_NAME: the denial counter of that path.
pol_denials() {
	pol_show "$1" "$2" | jq --arg p "$3" '.paths[] | select(.name == $p) | .denials'
}

# pol_check_file NETNS FILE: `policy check FILE` passes inside NETNS.
pol_check_file() {
	"$SUBFLOWCTL" -n "$1" --pin-dir "$SUBFLOW_PIN_DIR" policy check "$2" \
		> "$LAB_TMP/check.out" 2>&1 ||
		fail "policy check $2 (in $1): $(cat "$LAB_TMP/check.out")"
}

# prog_ids: the engine's program ids (`status -j` .programs[].id), sorted.
prog_ids() {
	ctl status | jq -c '[.programs[].id] | sort'
}

# ---- Kernel counters -----------------------------------------------------------

# mib NETNS COUNTER: the namespace's absolute value of an nstat counter (0
# when the kernel has not counted it yet). -s: never touch nstat's history.
mib() {
	local v
	v=$(in_ns "$1" nstat -saz "$2" | awk -v c="$2" '$1 == c { print $2 }')
	printf '%s\n' "${v:-0}"
}

# mib_at_least NETNS COUNTER MIN: for wait_for.
mib_at_least() {
	[ "$(mib "$1" "$2")" -ge "$3" ]
}

# join_errors NETNS: MP_JOIN SYNs the kernel did not send because a bind or
# connect hook refused them.
join_errors() {
	echo $(( $(mib "$1" MPTcpExtMPJoinSynTxBindErr) + $(mib "$1" MPTcpExtMPJoinSynTxConnectErr) ))
}

join_errors_at_least() {
	[ "$(join_errors "$1")" -ge "$2" ]
}

# ---- Per-subflow socket state as ss shows it ---------------------------------------

# ss_sock NETNS LOCAL_ADDR LOCAL_PORT: the established TCP socket (subflow)
# with that local endpoint, as one line of `ss -tie --tos` (socket line and
# info line joined). Empty when there is none.
ss_sock() {
	local ns=$1 addr=$2 port=$3 src
	case $addr in *:*) src="[$addr]:$port" ;; *) src="$addr:$port" ;; esac
	in_ns "$ns" ss -Htieo --tos state established src "$src" 2>/dev/null | tr '\n\t' '  '
}

# ss_field LINE REGEX: the first match of the extended REGEX in LINE (empty if
# none), e.g. ss_field "$line" 'fwmark:0x[0-9a-f]+'.
ss_field() {
	grep -oE -m1 "$2" <<<"$1" | head -n1
}

# ss_cc LINE: the congestion control name ss prints for the subflow.
ss_cc() {
	ss_field "$1" ' (reno|cubic|bbr|mptcp_lia|mptcp_olia|mptcp_balia)( |$)' | tr -d ' '
}

# sockopt NETNS TOKEN ID OPTION: the value `subflow getsockopt` reads from the
# live subflow, as compact JSON.
sockopt() {
	local out
	out=$(ctl_in "$1" subflow getsockopt token "$2" id "$3" "$4") ||
		fail "subflow getsockopt token $2 id $3 $4: $out"
	jq -c .value <<<"$out"
}

# view_sub FILE ID FIELD: from a mptcp_peer view, subflow ID's local address
# (FIELD=addr) or port (FIELD=port).
view_sub() {
	jq -r --argjson id "$2" --arg f "$3" '.kernel[] | select(.id == $id) | .local[$f]' "$1"
}

# view_id_on FILE LOCAL_ADDR: the id of the subflow whose local address is
# LOCAL_ADDR in a mptcp_peer view.
view_id_on() {
	jq -r --arg a "$2" '.kernel[] | select(.local.addr == $a) | .id' "$1"
}

# ---- Routing -----------------------------------------------------------------------

# pol_route_by_source: in the client namespace, route by source address, the
# way a multi-homed host with two uplinks does: packets from c2's addresses
# leave by c2 (table 102), from c1's by c1 (table 101), whatever the
# destination. Without it a subflow bound to 10.31.2.1 but sent to
# 10.31.1.2 would still leave by c1 (the connected route wins).
pol_route_by_source() {
	local fam from dev via table
	for fam in 4 6; do
		for table in 101 102; do
			if [ "$table" = 101 ]; then dev=$C1; else dev=$C2; fi
			if [ "$fam" = 4 ]; then
				if [ "$table" = 101 ]; then from=$C1_V4 via=$S1_V4; else from=$C2_V4 via=$S2_V4; fi
				ip -n "$NS_C" rule add from "$from" table "$table" pref 100 ||
					fail "ip rule from $from"
				ip -n "$NS_C" route add "${S1_V4%.*}.0/24" via "$via" dev "$dev" table "$table" ||
					fail "route table $table"
				ip -n "$NS_C" route add "${S2_V4%.*}.0/24" via "$via" dev "$dev" table "$table" ||
					fail "route table $table"
			else
				if [ "$table" = 101 ]; then from=$C1_V6 via=$S1_V6; else from=$C2_V6 via=$S2_V6; fi
				ip -n "$NS_C" -6 rule add from "$from" table "$table" pref 100 ||
					fail "ip -6 rule from $from"
				ip -n "$NS_C" -6 route add "${S1_V6%::*}::/64" via "$via" dev "$dev" table "$table" ||
					fail "route -6 table $table"
				ip -n "$NS_C" -6 route add "${S2_V6%::*}::/64" via "$via" dev "$dev" table "$table" ||
					fail "route -6 table $table"
			fi
		done
	done
}

# dev_tx_bytes NETNS DEV: bytes the device has sent (ip -s link).
dev_tx_bytes() {
	ip -n "$1" -s -j link show dev "$2" | jq '.[0].stats64.tx.bytes'
}

# ---- Traffic -------------------------------------------------------------------------

# client_once CGROUP ADDR PORT [ARGS...]: one mptcp_peer client connection
# from CGROUP in the client namespace, in the foreground; its exit status is
# returned, its stderr left in $LAB_TMP/client_once.err.
client_once() {
	local cg=$1 addr=$2 port=$3
	shift 3
	run_in "$cg" "$NS_C" "$MPTCP_PEER" client -a "$addr" -p "$port" "$@" \
		> "$LAB_TMP/client_once.out" 2> "$LAB_TMP/client_once.err"
}

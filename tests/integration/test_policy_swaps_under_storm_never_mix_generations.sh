#!/usr/bin/env bash
# Policy swaps under a connection storm, with scarce room for policies:
# every subflow carries the options of the one generation it was admitted
# under, never a mix of two.
#
# `policies` holds SUBFLOW_MAX_POLICIES images; cgroups below the attached
# one fill all but FREE of them, so that the swaps must evict retired
# images while connections are being admitted under them. Policy A refuses
# the lte path (c2) and gives every other subflow mark 0xa1 and reno;
# policy B gives every subflow mark 0xb2 and bbr. `policy load` swaps A and
# B as fast as it can while a client opens CONNS connections, GAP_MS apart
# (two subflows each when B is in force at the join). Then, for every subflow the client
# holds:
#   - its record names a generation that was A or B (or 0, only as often
#     as the policy_gone counter says an admission's image was evicted);
#   - under A: it is not on c2 (A refused that path), mark 0xa1, reno;
#   - under B: mark 0xb2, bbr;
#   - under none: no mark, the namespace's default (cubic).
# A subflow admitted under one generation and shaped under another would
# show as a c2 subflow of A (admitted by B, shaped by A: no options), or a
# mark and a congestion control of two different policies. That window is
# microseconds wide, so the storm proves the absence of a mix over many
# subflows rather than provoking one; the case that can be provoked is
# checked too: a connection whose handshake spans a swap (its SYNs dropped
# until the swap is done) keeps the generation and options it was admitted
# under.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../policy_lib.sh"

require_mptcp
require_built
require_cmd jq
lab_init
lab_setup

CONNS=${CONNS:-300}
GAP_MS=${GAP_MS:-10}	# between connections: the storm lasts some swaps
MAX_POLICIES=$(awk '$2 == "SUBFLOW_MAX_POLICIES" { print $3 }' "$LAB_REPO/include/subflow_abi.h")
FREE=2
PORT=7650
PORT2=7651

CG_C=$(cg_create app)
CG_S=$(cg_create srv)
A=$LAB_TMP/a.policy
B=$LAB_TMP/b.policy
printf 'path lte dev c2\nrule path lte deny\nrule mark 0xa1 cc reno\n' > "$A"
printf 'path lte dev c2\nrule mark 0xb2 cc bbr\n' > "$B"
pol_attach "$NS_C" "$CG_C" "$A"
gen_a=$(pol_show "$NS_C" "$CG_C" | jq .generation)
echo "$gen_a A" > "$LAB_TMP/gens"

# Fill `policies` but for FREE images (A is one of them).
printf 'rule mark 0x1\n' > "$LAB_TMP/filler.policy"
for (( i = 0; i < MAX_POLICIES - 1 - FREE; i++ )); do
	mkdir "$CG_C/filler$i"
	printf '%s\n' "$CG_C/filler$i" >> "$LAB_TMP/cgroups"
	ctl policy load "$CG_C/filler$i" "$LAB_TMP/filler.policy" > "$LAB_TMP/out" ||
		fail "filler policy $i: $(cat "$LAB_TMP/out")"
done
assert_eq $(( MAX_POLICIES - FREE )) "$(ctl policy show | jq length)" "policies in force before the storm"
gone_before=$(ctl status | jq '.counters.policy_gone')

SPAWN_OUT=$LAB_TMP/server.log spawn_in "$CG_S" "$NS_S" "$MPTCP_PEER" server -a "$S1_V4" \
	-p "$PORT" -n 0 --hold --ready-file "$LAB_TMP/server.ready"
wait_for 5 test -e "$LAB_TMP/server.ready" || fail "server did not start: $(cat "$LAB_TMP/server.log")"
SPAWN_OUT=$LAB_TMP/client.log spawn_in "$CG_C" "$NS_C" "$MPTCP_PEER" client -a "$S1_V4" \
	-p "$PORT" --repeat "$CONNS" --gap-ms "$GAP_MS" --ready-file "$LAB_TMP/client.ready" --hold-until "$LAB_TMP/go"
client=$SPAWNED_PID

# Swap B, A, B, ... until the client has opened all its connections, and
# some more, so that the last joins are admitted during swaps too.
swaps=0 after=0
while [ "$after" -lt 3 ]; do
	if (( swaps % 2 == 0 )); then name=B file=$B; else name=A file=$A; fi
	out=$(ctl_in "$NS_C" policy load "$CG_C" "$file") || fail "swap $swaps: $out"
	echo "$(jq .generation <<<"$out") $name" >> "$LAB_TMP/gens"
	swaps=$(( swaps + 1 ))
	if [ -e "$LAB_TMP/client.ready" ]; then
		after=$(( after + 1 ))
	elif ! kill -0 "$client" 2>/dev/null; then
		fail "the client exited: $(cat "$LAB_TMP/client.log")"
	fi
done
log "$swaps swaps while $CONNS connections were opened"
[ "$swaps" -ge 6 ] || fail "only $swaps swaps during the storm: not a storm"
sleep 1	# the last joins (the kernel path manager adds them after the handshake)

# verify_subflows MIN: check every client subflow of CG_C as said above;
# at least MIN of them.
verify_subflows() {
local min=$1
# What the kernel applied to each client subflow: "ADDR:PORT MARK CC".
# ss prints a socket's TCP details on a continuation line (a leading tab).
in_ns "$NS_C" ss -Htie state established "( dport = :$PORT or dport = :$PORT2 )" > "$LAB_TMP/ss.raw"
awk '
	function flush() {
		if (line == "") return;
		n = split(line, f, /[ \t]+/); mark = "none"; cc = "";
		for (i = 1; i <= n; i++) {
			if (f[i] ~ /^fwmark:0x/) mark = substr(f[i], 8);
			if (f[i] ~ /^(reno|cubic|bbr)$/) cc = f[i];
		}
		split(line, w, /[ \t]+/);
		sub(/%[^:]*:/, ":", w[3]);	# ADDR%DEV:PORT when bound to a device
		print w[3], mark, cc;
		line = "";
	}
	/^[ \t]/ { line = line " " $0; next }
	{ flush(); line = $0 }
	END { flush() }' "$LAB_TMP/ss.raw" > "$LAB_TMP/ss.txt"
[ -s "$LAB_TMP/ss.txt" ] || fail "ss shows no client subflow: $(head -c 400 "$LAB_TMP/ss.raw")"

# What the engine recorded for each: "ADDR:PORT GENERATION".
ctl_in "$NS_C" subflow list | jq -r --arg cg "$(cg_id "$CG_C")" \
	'.[] | select(.cgroup_id == ($cg | tonumber)) | .subflows[] |
	 "\(.local.addr):\(.local.port) \(.policy_generation)"' > "$LAB_TMP/list.txt"

awk -v c2="$C2_V4" -v conns="$min" '
	FILENAME == ARGV[1] { kind[$1] = $2; next }
	FILENAME == ARGV[2] { mark[$1] = $2; cc[$1] = $3; next }
	{
		sf = $1; gen = $2; n++;
		if (!(sf in mark)) { printf "%s: recorded, not in ss\n", sf; bad++; next }
		split(sf, a, ":");
		if (gen == 0) {
			none++;
			if (mark[sf] != "none" || cc[sf] != "cubic") {
				printf "%s: no generation, yet mark %s cc %s\n", sf, mark[sf], cc[sf]; bad++
			}
			next;
		}
		k = kind[gen];
		if (k == "A") {
			na++;
			if (a[1] == c2) { printf "%s: on c2 under A (gen %s), which refuses c2\n", sf, gen; bad++ }
			if (mark[sf] != "0xa1" || cc[sf] != "reno") {
				printf "%s: gen %s (A) but mark %s cc %s\n", sf, gen, mark[sf], cc[sf]; bad++
			}
		} else if (k == "B") {
			nb++;
			if (a[1] == c2) c2b++;
			if (mark[sf] != "0xb2" || cc[sf] != "bbr") {
				printf "%s: gen %s (B) but mark %s cc %s\n", sf, gen, mark[sf], cc[sf]; bad++
			}
		} else {
			printf "%s: gen %s is neither A nor B\n", sf, gen; bad++
		}
	}
	END {
		printf "subflows %d: A %d, B %d (c2 %d), none %d, wrong %d\n", n, na, nb, c2b, none, bad;
		print none + 0 > "/dev/stderr";
		if (n < conns) { printf "only %d subflows recorded for %d connections\n", n, conns; bad++ }
		if (!na || !nb) { print "not both policies shaped subflows: no swap was seen"; bad++ }
		exit bad ? 1 : 0;
	}' "$LAB_TMP/gens" "$LAB_TMP/ss.txt" "$LAB_TMP/list.txt" > "$LAB_TMP/verdict" 2> "$LAB_TMP/none" ||
	fail "$(cat "$LAB_TMP/verdict")"
log "$(tail -n1 "$LAB_TMP/verdict")"
gone=$(( $(ctl status | jq '.counters.policy_gone') - gone_before ))
[ "$(cat "$LAB_TMP/none")" -le "$gone" ] ||
	fail "$(cat "$LAB_TMP/none") subflows have no generation, policy_gone counted $gone"
}

verify_subflows "$CONNS"

# A handshake that spans a swap: the server drops SYNs on PORT2 until the
# policy was swapped; the connection must keep the generation it was
# admitted under, with that policy's options, in the record and in the kernel.
gen_then=$(pol_show "$NS_C" "$CG_C" | jq .generation)
in_ns "$NS_S" nft -f - <<EOF || fail "nft: cannot hold SYNs"
table inet subflow_synhold {
	chain in { type filter hook input priority 0; tcp dport $PORT2 tcp flags & (syn | ack) == syn drop; }
}
EOF
SPAWN_OUT=$LAB_TMP/server2.log spawn_in "$CG_S" "$NS_S" "$MPTCP_PEER" server -a "$S1_V4" \
	-p "$PORT2" -n 0 --hold --ready-file "$LAB_TMP/server2.ready"
wait_for 5 test -e "$LAB_TMP/server2.ready" || fail "server did not start: $(cat "$LAB_TMP/server2.log")"
SPAWN_OUT=$LAB_TMP/client2.log spawn_in "$CG_C" "$NS_C" "$MPTCP_PEER" client -a "$S1_V4" \
	-p "$PORT2" --repeat 1 --ready-file "$LAB_TMP/client2.ready" --hold-until "$LAB_TMP/go"
client2=$SPAWNED_PID
syn_sent() { [ -n "$(in_ns "$NS_C" ss -Htn state syn-sent "( dport = :$PORT2 )")" ]; }
wait_for 5 syn_sent || fail "no SYN-SENT socket to port $PORT2"
if grep -q "^$gen_then A$" "$LAB_TMP/gens"; then name=B file=$B; else name=A file=$A; fi
out=$(ctl_in "$NS_C" policy load "$CG_C" "$file") || fail "swap during the handshake: $out"
echo "$(jq .generation <<<"$out") $name" >> "$LAB_TMP/gens"
in_ns "$NS_S" nft delete table inet subflow_synhold
wait_for 10 test -e "$LAB_TMP/client2.ready" ||
	fail "the held connection never connected: $(cat "$LAB_TMP/client2.log")"
sleep 0.5	# its join
initial_gen=$(ctl_in "$NS_C" subflow list | jq --argjson p "$PORT2" \
	'[.[].subflows[] | select(.remote.port == $p and .initial)] | .[0].policy_generation')
assert_eq "$gen_then" "$initial_gen" "generation of the subflow whose handshake spanned a swap"
verify_subflows $(( CONNS + 1 ))
assert_eq $(( MAX_POLICIES - FREE )) "$(ctl policy show | jq length)" "policies in force after the storm"

touch "$LAB_TMP/go"
_wait_pid_gone "$client" 20 || fail "the client did not close its connections"
_wait_pid_gone "$client2" 20 || fail "the second client did not close its connection"
wait_for 10 lab_engine_empty || fail "connections left in the engine after close"
echo "PASS: $swaps policy swaps under $CONNS connections with $FREE free images: every subflow has one generation's options"

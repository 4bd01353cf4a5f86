#!/usr/bin/env bash
# `sudo make demo`: the built-in two-path lab. Two network namespaces joined by
# two shaped veth paths; the engine attached to the client's and the server's
# cgroups; MPTCP traffic over IPv4 and IPv6; the subflow table as the engine
# reports it, checked against the kernel's own view; a live handover by the
# path manager daemon (Wi-Fi pulled and back, failover and failback timed);
# coupled congestion control at a shared bottleneck (reno vs mptcp_lia);
# then a clean teardown.
set -u
cd "$(dirname "$0")/.."
SUBFLOWCTL=${SUBFLOWCTL:-$PWD/build/subflowctl}
PEER=${PEER:-$PWD/build/tests/mptcp_peer}
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=tests/cc_lib.sh
. tests/cc_lib.sh
# shellcheck source=tests/pm_lib.sh
. tests/pm_lib.sh
IFRATE=${IFRATE:-$PWD/build/tests/ifrate}
BULK=${BULK:-$PWD/build/tests/bench/bulk}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
sfctl() { "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" "$@"; }

lab_init
lab_setup
step "Lab: client $NS_C <-> server $NS_S over two paths"
printf '  path 1: %s %s/%s  <->  %s %s/%s\n' "$C1" "$C1_V4" "$C1_V6" "$S1" "$S1_V4" "$S1_V6"
printf '  path 2: %s %s/%s  <->  %s %s/%s\n' "$C2" "$C2_V4" "$C2_V6" "$S2" "$S2_V4" "$S2_V6"
printf '  each path shaped to %s; the client announces path 2 as a subflow endpoint\n' "$LAB_RATE"

step "Attach the engine to the application cgroups"
CG_APP=$(cg_create demo-app) || exit 1
CG_SRV=$(cg_create demo-server) || exit 1
show sfctl cgroup attach "$CG_APP" || exit 1
show sfctl cgroup attach "$CG_SRV" || exit 1
show sfctl cgroup list

MONITOR_OUT=$LAB_TMP/monitor.txt
in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" subflow monitor count 8 \
	> "$MONITOR_OUT" 2>&1 &
proc_register $!

step "MPTCP traffic: one IPv4 and one IPv6 connection, 2 MB each"
SPAWN_OUT=$LAB_TMP/server4.log spawn_in "$CG_SRV" "$NS_S" "$PEER" server -a "$S1_V4" -p 8080 -n 0 --hold
SPAWN_OUT=$LAB_TMP/server6.log spawn_in "$CG_SRV" "$NS_S" "$PEER" server -a "$S1_V6" -p 8080 -n 0 --hold
sleep 0.3
RELEASE=$LAB_TMP/release
SPAWN_OUT=$LAB_TMP/client4.log spawn_in "$CG_APP" "$NS_C" "$PEER" client -a "$S1_V4" -p 8080 \
	-b 2000000 --subflows 2 --info-json "$LAB_TMP/view4.json" --hold-until "$RELEASE"
SPAWN_OUT=$LAB_TMP/client6.log spawn_in "$CG_APP" "$NS_C" "$PEER" client -a "$S1_V6" -p 8080 \
	-b 2000000 --subflows 2 --info-json "$LAB_TMP/view6.json" --hold-until "$RELEASE"
wait_for 15 test -s "$LAB_TMP/view4.json" -a -s "$LAB_TMP/view6.json" ||
	{ cat "$LAB_TMP"/client*.log; fail "the clients did not get two subflows each"; }

step "The engine's subflow table, client side (GET_SUB_IDS + GET_SUB_TUPLE from outside)"
show sfctl -n "$NS_C" subflow list
step "Server side"
show sfctl -n "$NS_S" subflow list

step "Cross-check with the kernel's own answers"
for fam in 4 6; do
	view=$LAB_TMP/view$fam.json
	token=$(jq .token "$view")
	kernel=$(jq -c '[.kernel[] | {id, local, remote}]' "$view")
	engine=$(sfctl -j -n "$NS_C" subflow list token "$token" |
		jq -c '[.[0].subflows[] | {id, local, remote}]')
	if [ "$kernel" = "$engine" ]; then
		printf '  IPv%s token %s: MPTCP_FULL_INFO and the engine agree on %s subflows\n' \
			"$fam" "$token" "$(jq length <<<"$kernel")"
	else
		printf '  IPv%s MISMATCH\n    kernel: %s\n    engine: %s\n' "$fam" "$kernel" "$engine"
	fi
done
printf '  ss -tnM in %s counts %s TCP subflows; the engine tracks %s\n' "$NS_C" \
	"$(in_ns "$NS_C" ss -tnH state established | grep -c ':8080')" \
	"$(sfctl -j -n "$NS_C" subflow list | jq '[.[].subflows[]] | length')"

step "Events seen by 'subflowctl subflow monitor'"
sleep 0.2
cat "$MONITOR_OUT"

step "Engine status"
show sfctl status

step "Policies: the video app may use both paths, the updater only Wi-Fi"
VIDEO_POLICY=$LAB_TMP/video.policy
cat > "$VIDEO_POLICY" <<'POLICY'
# video: both paths; Wi-Fi subflows marked 0x10 with cubic,
# LTE subflows marked 0x20, reno, paced to 2 Mbit/s
path wifi dev c1
path lte  dev c2
rule path wifi mark 0x10 cc cubic
rule path lte  mark 0x20 cc reno pacing 2mbit
POLICY
CG_VIDEO=$(cg_create demo-video) || exit 1
CG_UPDATER=$(cg_create demo-updater) || exit 1
# Devices resolve in the namespace the command runs in: the client's.
show sfctl -n "$NS_C" cgroup attach "$CG_VIDEO" policy "$VIDEO_POLICY" || exit 1
show sfctl -n "$NS_C" cgroup attach "$CG_UPDATER" policy policies/app-path-restriction.policy || exit 1
joins_refused() {
	in_ns "$NS_C" nstat -az MPTcpExtMPJoinSynTxConnectErr MPTcpExtMPJoinSynTxBindErr |
		awk '/MPTcpExt/ { n += $2 } END { print n + 0 }'
}
refused_before=$(joins_refused)
SPAWN_OUT=$LAB_TMP/video.log spawn_in "$CG_VIDEO" "$NS_C" "$PEER" client -a "$S1_V4" -p 8080 \
	-b 1000000 --subflows 2 --info-json "$LAB_TMP/video.json" --hold-until "$RELEASE"
SPAWN_OUT=$LAB_TMP/updater.log spawn_in "$CG_UPDATER" "$NS_C" "$PEER" client -a "$S1_V4" -p 8080 \
	-b 1000000 --subflows 1 --info-json "$LAB_TMP/updater.json" --hold-until "$RELEASE"
wait_for 15 test -s "$LAB_TMP/video.json" -a -s "$LAB_TMP/updater.json" ||
	{ cat "$LAB_TMP"/video.log "$LAB_TMP"/updater.log; fail "the policy clients did not start"; }
# The updater's join is refused in the kernel before its SYN: wait for the counter.
more_joins_refused() { [ "$(joins_refused)" -gt "$refused_before" ]; }
wait_for 5 more_joins_refused || true
for app in video updater; do
	token=$(jq .token "$LAB_TMP/$app.json")
	printf '\n  %s (token %s): %s subflow(s)\n' "$app" "$token" \
		"$(sfctl -j -n "$NS_C" subflow list token "$token" | jq '.[0].subflows | length')"
	sfctl -j -n "$NS_C" subflow list token "$token" | jq -r '.[0].subflows[] | "\(.local.port) \(.ifname) \(.id)"' |
	while read -r port dev id; do
		info=$(in_ns "$NS_C" ss -tieH state established "( sport = :$port )")
		printf '    subflow %s on %-3s fwmark %-5s cc %-6s %s\n' "$id" "$dev" \
			"$(grep -o 'fwmark:0x[0-9a-f]*' <<<"$info" | cut -d: -f2 || true)" \
			"$(grep -ow 'cubic\|reno\|bbr' <<<"$info" | head -1)" \
			"$(grep -o 'pacing_rate [^ ]*' <<<"$info" | grep / || true)"
	done
done
printf '\n  joins refused by the updater policy (kernel MIB MPJoinSynTx*Err): %s\n' \
	$(( $(joins_refused) - refused_before ))
show sfctl policy show "$CG_UPDATER"

step "Close the connections: their entries go with them"
touch "$RELEASE"
wait_for 10 sh -c "[ \"\$($SUBFLOWCTL --pin-dir $SUBFLOW_PIN_DIR -j -n $NS_C subflow list)\" = '[]' ]" &&
	printf '  no connection left in the table\n' || printf '  entries still present!\n'

step "Path management: a live handover (subflowctl daemon, prefer wifi over lte)"
# The client's cgroup gets policies/wifi-preferred-lte-standby.policy; the
# daemon becomes the client namespace's path manager. The server is left as
# it is: the in-kernel path manager.
CG_HO=$(cg_create demo-handover) || exit 1
show sfctl -n "$NS_C" cgroup attach "$CG_HO" policy policies/wifi-preferred-lte-standby.policy || exit 1
grep -v '^#' policies/wifi-preferred-lte-standby.policy | sed '/^$/d; s/^/    /'
# spawn_in_ns: $SPAWNED_PID is the program's own pid (nsenter execs it).
SPAWN_OUT=$LAB_TMP/daemon.txt spawn_in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" daemon
DAEMON=$SPAWNED_PID
wait_for 5 grep -q "managing MPTCP paths" "$LAB_TMP/daemon.txt" ||
	{ cat "$LAB_TMP/daemon.txt"; fail "the daemon did not start"; }
SPAWN_OUT=$LAB_TMP/ho-monitor.txt spawn_in_ns "$NS_C" "$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" subflow monitor
HO_MONITOR=$SPAWNED_PID
printf '  daemon pid %s: %s\n' "$DAEMON" "$(tail -1 "$LAB_TMP/daemon.txt")"
printf '  download, 8 s of checked bytes, server -> client\n'
HO=$LAB_TMP/handover
stream_start "$HO" "$CG_SRV" "$CG_HO" "$S1_V4" 8090 download 8
lte_standing_by() { ss_subflows "$NS_C" 8090 | grep -q "^$C2_V4[:%].* ESTAB [^ ]*b"; }
wait_for 5 lte_standing_by || true
show sfctl -n "$NS_C" subflow list token "$STREAM_TOKEN"
printf '  ss: %s\n' "$(ss_subflows "$NS_C" 8090 | tr '\n' ';')"
SPAWN_OUT=/dev/null spawn_in_ns "$NS_C" "$IFRATE" -o "$HO/ifrate" "$C1" "$C2"
IFR=$SPAWNED_PID
sleep 1.5
printf '\n  pulling Wi-Fi: ip link set %s down\n' "$C1"
ip -n "$NS_C" link set "$C1" down
t0=$(now_ns)
sleep 2.5
printf '  ss: %s\n' "$(ss_subflows "$NS_C" 8090 | tr '\n' ';')"
printf '  (the closed wifi subflow still retries its FIN on the dead link until it is back)\n' 
printf '\n  Wi-Fi back: ip link set %s up\n' "$C1"
ip -n "$NS_C" link set "$C1" up
t1=$(now_ns)
wifi_back() { ss_subflows "$NS_C" 8090 | grep -q "^$C1_V4[:%].* ESTAB " && lte_standing_by; }
wait_for 5 wifi_back || true
sleep 1
show sfctl -n "$NS_C" subflow list token "$STREAM_TOKEN"
printf '  ss (live states; the table keeps each subflow'"'"'s state when recorded): %s\n' \
	"$(ss_subflows "$NS_C" 8090 | tr '\n' ';')"
stream_finish "$HO"
kill "$IFR" 2>/dev/null
printf '  %s bytes received intact across the handover\n' "$STREAM_BYTES"
# The receiver's timeline (bytes per ms) is written when it exits.
printf '  failover: data flowing again at half of lte'"'"'s rate %s ms after wifi went down\n' \
	"$(recovery_ms "$HO/client.timeline" "$t0" "$(rate_bytes_per_ms "$LAB_RATE")")"
printf '  failback: wifi carrying half its rate again %s ms after it came back\n' \
	"$(failback_ms "$HO/ifrate" "$t1" 2 "$(rate_bytes_per_ms "$LAB_RATE")")"
printf '\n  subflowctl subflow monitor (client namespace), the daemon'"'"'s decisions among the subflow events:\n'
sed 's/^/    /' "$LAB_TMP/ho-monitor.txt"
kill "$HO_MONITOR" 2>/dev/null
kill -TERM "$DAEMON"
wait "$DAEMON" 2>/dev/null
printf '\n  the daemon'"'"'s own log, after SIGTERM:\n'
sed 's/^/    /' "$LAB_TMP/daemon.txt"
show sfctl -n "$NS_C" cgroup detach "$CG_HO"

step "Coupled congestion control: one shared bottleneck, MPTCP (2 subflows) vs one TCP Reno flow"
# A second lab: client, router, server; both MPTCP paths cross the router's
# one shaped egress (tests/cc_lib.sh).
cc_lab_setup
cc_shape shared 40mbit
printf '  client %s -> router %s (tbf 40 Mbit/s on its egress) -> server %s\n' "$NS_C" "$NS_R" "$NS_S"
sfctl status | sed -n '/^congestion controls:/,/counters:/p'
for port in 7001 7002; do
	SPAWN_OUT=$LAB_TMP/cc$port.log spawn_in "$CG_SRV" "$NS_S" "$BULK" recv -a "$CC_S" -p "$port" \
		--ready-file "$LAB_TMP/cc$port.ready"
	wait_for 5 test -e "$LAB_TMP/cc$port.ready" || fail "bulk receiver $port did not start"
done
for cc in reno mptcp_lia; do
	in_ns "$NS_C" "$BULK" send -a "$CC_S" -p 7001 -d 8 --tcp --cc reno --bind "$CC_C1" \
		> "$LAB_TMP/cc_tcp.out" &
	tcp_pid=$!
	in_ns "$NS_C" "$BULK" send -a "$CC_S" -p 7002 -d 8 --cc "$cc" > "$LAB_TMP/cc_mptcp.out" &
	wait "$tcp_pid" $!
	t=$(grep -o 'mbit [0-9.]*' "$LAB_TMP/cc_tcp.out" | cut -d' ' -f2)
	m=$(grep -o 'mbit [0-9.]*' "$LAB_TMP/cc_mptcp.out" | cut -d' ' -f2)
	printf '  subflows on %-9s MPTCP %5s Mbit/s, TCP %5s Mbit/s: MPTCP/TCP %s (%s)\n' "$cc:" "$m" "$t" \
		"$(awk -v a="$m" -v b="$t" 'BEGIN { printf "%.2f", a / b }')" \
		"$([ "$cc" = reno ] && echo "uncoupled: more than its share" || echo "coupled: about one TCP flow's share")"
done

step "Detach and unload: nothing left behind"
show sfctl cgroup detach "$CG_APP"
show sfctl cgroup detach "$CG_SRV"
show sfctl cgroup detach "$CG_VIDEO"
show sfctl cgroup detach "$CG_UPDATER"
show sfctl unload
[ -e "$SUBFLOW_PIN_DIR" ] && echo "  pin dir still present!" || echo "  pin directory removed"
echo
echo "demo done"

#!/usr/bin/env bash
# The coupled controls are registered through links pinned in the engine's
# pin directory (link_cc_<name>), and live exactly as long as those pins:
#  - `subflowctl unload` unregisters all three (tcp_available_congestion_control
#    and bpftool struct_ops no longer show this engine's maps);
#  - removing one pin by hand unregisters that one only;
#  - a second engine instance (another pin directory) finds the names taken:
#    it warns, loads, and says so in status (by_this_engine false, the first
#    engine's map ids); unloading it leaves the first one's registrations;
#  - a loader killed with SIGKILL at any moment leaves a name registered only
#    if its link pin exists (then unload removes it), never an orphan.
# Names are machine-wide: another engine running now (another test) may hold
# them; checks accept that, never this engine's own maps outliving its pins.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../cc_lib.sh"

require_built
lab_init
CG=$(cg_create cc)
CG2=$(cg_create cc2)
PIN2=$SUBFLOW_PIN_DIR-second
lab_on_cleanup "'$SUBFLOWCTL' --pin-dir '$PIN2' unload >/dev/null 2>&1; rm -rf '$PIN2'"

# ---- unload ----------------------------------------------------------------------
cc_engine_load "$CG"
mapfile -t ours < <(cc_our_map_ids)
assert_eq 3 "${#ours[@]}" "map ids of this engine's three controls"
for n in "${CC_NAMES[@]}"; do
	[ -e "$SUBFLOW_PIN_DIR/link_cc_$n" ] || fail "no pinned link for $n"
	cc_available "$n" || fail "$n is not registered after load"
done
ctl unload > /dev/null || fail "subflowctl unload"
for n in "${CC_NAMES[@]}"; do
	wait_for 5 cc_not_ours "$n" "${ours[@]}" ||
		fail "$n still registered by this engine's map after unload: $(bpftool struct_ops show)"
done
for id in "${ours[@]}"; do
	wait_for 5 sh -c "! bpftool struct_ops show id $id >/dev/null 2>&1" ||
		fail "struct_ops map $id outlived unload"
done

# ---- one pin removed by hand ------------------------------------------------------
cc_engine_load "$CG"
mapfile -t ours < <(cc_our_map_ids)
rm "$SUBFLOW_PIN_DIR/link_cc_mptcp_olia"
wait_for 5 cc_not_ours mptcp_olia "${ours[@]}" || fail "mptcp_olia registered after its pin was removed"
cc_available mptcp_lia && cc_available mptcp_balia || fail "removing olia's pin unregistered others"
assert_eq '[true,false,true]' "$(cc_status | jq -c '[.[].by_this_engine]')" "status after rm link_cc_mptcp_olia"

# ---- a second engine instance -------------------------------------------------------
ctl unload > /dev/null
cc_engine_load "$CG"
mapfile -t ours < <(cc_our_map_ids)
assert_status 0 "second engine loads although the names are taken" \
	"$SUBFLOWCTL" --pin-dir "$PIN2" cgroup attach "$CG2"
for n in "${CC_NAMES[@]}"; do
	grep -q "$n is already registered" <<<"$ERR" || fail "second engine did not warn about $n: $ERR"
done
st2=$("$SUBFLOWCTL" -j --pin-dir "$PIN2" status)
assert_eq '[false,false,false]' "$(jq -c '[.congestion_controls[].by_this_engine]' <<<"$st2")" \
	"second engine: by_this_engine"
assert_eq '[true,true,true]' "$(jq -c '[.congestion_controls[].registered]' <<<"$st2")" \
	"second engine: registered"
assert_eq "$(printf '%s\n' "${ours[@]}" | jq -sc .)" \
	"$(jq -c '[.congestion_controls[].other_map_id]' <<<"$st2")" "second engine names the first one's maps"
"$SUBFLOWCTL" --pin-dir "$PIN2" status | grep -q "mptcp_lia .*registered by ANOTHER engine instance" ||
	fail "text status of the second engine does not say who holds mptcp_lia"
"$SUBFLOWCTL" --pin-dir "$PIN2" unload > /dev/null || fail "unload second engine"
assert_eq 3 "$(cc_ours_count)" "first engine's registrations after the second one's unload"

# ---- SIGKILL of the loader at any moment ---------------------------------------------
ctl unload > /dev/null
pinned=0 clean=0
for (( i = 0; i < 12; i++ )); do
	wait_for 60 cc_names_free || fail "names stay taken by another engine"
	"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" cgroup attach "$CG" > "$LAB_TMP/kill.out" 2>&1 &
	pid=$!
	# A load takes about 1.3 s here: kill from its start to past its end.
	sleep "$(awk -v i="$i" 'BEGIN { printf "%.3f", i * 0.15 }')"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for n in "${CC_NAMES[@]}"; do
		if [ -e "$SUBFLOW_PIN_DIR/link_cc_$n" ]; then
			cc_available "$n" || fail "kill at $(( i * 150 )) ms: $n pinned but not registered"
			pinned=$(( pinned + 1 ))
		else
			# No pin: registered only by someone else (no struct_ops
			# map of that name left without a holder's pin is ours).
			if cc_available "$n"; then
				st=$(ctl status | jq -c --arg n "$n" '.congestion_controls[] | select(.name == $n)')
				[ "$(jq .by_this_engine <<<"$st")" = false ] ||
					fail "kill at $(( i * 150 )) ms: $n registered without its pin: $st"
				log "kill at $(( i * 150 )) ms: $n held by another engine ($st)"
			fi
			clean=$(( clean + 1 ))
		fi
	done
	"$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" unload > /dev/null 2>&1 || true
	[ -e "$SUBFLOW_PIN_DIR" ] && rm -rf "$SUBFLOW_PIN_DIR"
done
# And a load that completes: all three pinned, then unloaded.
cc_engine_load "$CG"
for n in "${CC_NAMES[@]}"; do
	[ -e "$SUBFLOW_PIN_DIR/link_cc_$n" ] && pinned=$(( pinned + 1 ))
done
ctl unload > /dev/null
log "after SIGKILL: $pinned registrations with their pin, $clean names without"
[ "$clean" -gt 0 ] || fail "no kill came before the pins (last load said: $(cat "$LAB_TMP/kill.out"))"
for n in "${CC_NAMES[@]}"; do
	wait_for 5 sh -c "! ls '$SUBFLOW_PIN_DIR/link_cc_$n' >/dev/null 2>&1" || fail "pin of $n left"
done
echo "PASS: registrations follow their pinned links (unload, rm of one pin, second engine warns and names the holder, SIGKILL at 12 moments of a load: $pinned pinned+registered, $clean clean)"

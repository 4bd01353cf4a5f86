#!/usr/bin/env bash
# The README's "Using subflow from an application" example is
# tests/tools/app_example.c, byte for byte; the README's build command
# builds it against an installed libsubflow (make install DESTDIR=...); and
# it does what it says as a throwaway unprivileged user, with no capability: over a real MPTCP
# connection to an echo server it lists its subflows, opens one from c2 to
# s2, flips it to backup and back, sets its TOS, closes the first subflow
# and gets every byte back, watching its events. The kernel agrees: the
# peer's `ip mptcp monitor` sees the new subflow from exactly the address and
# port the example printed, its MP_PRIO backup=1 then backup=0, the first
# subflow's close; the client's `ip mptcp monitor` the same from its side.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pm_lib.sh"
source "$(dirname "$0")/../control_lib.sh"

require_mptcp
require_built
require_cmd jq setpriv nsenter diff
lab_init

# ---- the README shows the file ----
awk '/^### The example$/ { f = 1 } f && /^```c$/ { c = 1; next } c && /^```$/ { exit } c' \
	"$LAB_REPO/README.md" > "$LAB_TMP/readme_example.c"
[ -s "$LAB_TMP/readme_example.c" ] || fail "no C block under '### The example' in README.md"
diff -u "$LAB_REPO/tests/tools/app_example.c" "$LAB_TMP/readme_example.c" ||
	fail "README.md's example differs from tests/tools/app_example.c (above)"

# ---- built as the README says, against an installed libsubflow ----
INST=$(mktemp -d "/tmp/subflow-example-$LAB_SUFFIX.XXXXXX")
lab_on_cleanup "rm -rf '$INST'"
chmod 0755 "$INST"
make -s -C "$LAB_REPO" OUTPUT="$LAB_BUILD" install DESTDIR="$INST/root" PREFIX=/usr/local \
	SYSTEMDDIR=/lib/systemd/system > "$LAB_TMP/install.log" 2>&1 || fail "make install: $(tail -5 "$LAB_TMP/install.log")"
cp "$LAB_TMP/readme_example.c" "$INST/app_example.c"
build=$(sed -n 's/^\(cc -o app_example app_example.c .*\)$/\1/p' "$LAB_REPO/README.md" | head -1)
[ -n "$build" ] || fail "no build command for the example in README.md"
( cd "$INST" && PKG_CONFIG_PATH=$INST/root/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$INST/root \
	eval "$build" ) > "$LAB_TMP/build.log" 2>&1 || fail "'$build' failed: $(cat "$LAB_TMP/build.log")"
APP_EXAMPLE=$INST/app_example
export LD_LIBRARY_PATH=$INST/root/usr/local/lib

# ---- it runs, unprivileged ----
control_lab
MON_S=$LAB_TMP/peer.mon
MON_C=$LAB_TMP/client.mon
monitor_start "$NS_S" "$MON_S"
monitor_start "$NS_C" "$MON_C"
U=$(free_id passwd)
rc=0
as_user "$U" "$NS_C" "$APP_EXAMPLE" "$S1_V4" "$ECHO_PORT" "$C2_V4" "$S2_V4" \
	> "$LAB_TMP/example.out" 2> "$LAB_TMP/example.err" || rc=$?
log "app_example as uid $U: $(tr '\n' '|' < "$LAB_TMP/example.out")"
[ "$rc" = 0 ] || fail "app_example exited $rc: $(cat "$LAB_TMP/example.err")"
[ -s "$LAB_TMP/example.err" ] && fail "app_example wrote errors: $(cat "$LAB_TMP/example.err")"
out=$LAB_TMP/example.out
grep -qx "done" "$out" || fail "app_example did not finish: $(cat "$out")"
first=$(sed -n 's/^subflow \([0-9]*\) \([0-9.]*\):\([0-9]*\) -> .*/\1 \2 \3/p' "$out" | head -1)
read -r ID1 L1 P1 <<<"$first"
assert_eq "$C1_V4" "$L1" "the first subflow's local address"
ID2=$(sed -n 's/^opened subflow \([0-9]*\)$/\1/p' "$out")
[ -n "$ID2" ] || fail "no 'opened subflow' line"
P2=$(sed -n "s/^event established subflow $ID2 $C2_V4:\([0-9]*\) -> $S2_V4:$ECHO_PORT\$/\1/p" "$out")
[ -n "$P2" ] || fail "no established event of subflow $ID2 from $C2_V4 to $S2_V4:$ECHO_PORT: $(cat "$out")"
grep -qx "event down subflow $ID1 $C1_V4:$P1 -> $S1_V4:$ECHO_PORT" "$out" ||
	fail "no down event of subflow $ID1: $(cat "$out")"
grep -qx "subflow $ID2: tos 0x10" "$out" || fail "tos not read back as 0x10"
grep -qx "echo: 525288 bytes sent and received intact" "$out" || fail "not every byte came back"
assert_eq "subflow $ID2 $C2_V4:$P2 -> $S2_V4:$ECHO_PORT" "$(grep '^subflow [0-9]* ' "$out" | tail -1)" \
	"the subflows at the end (MPTCP_FULL_INFO)"

# ---- what the kernel saw (the server listens on ::, so v4-mapped there) ----
for dir in peer client; do
	if [ "$dir" = peer ]; then m=$MON_S a="daddr(4=|6=::ffff:)$C2_V4 .*dport=$P2"; b="daddr(4=|6=::ffff:)$C1_V4 .*dport=$P1"
	else m=$MON_C a="saddr4=$C2_V4 .*sport=$P2"; b="saddr4=$C1_V4 .*sport=$P1"; fi
	wait_for 3 grep -Eq "SF_ESTABLISHED.*$a .*backup=0" "$m" || fail "$dir monitor: no SF_ESTABLISHED of $C2_V4:$P2: $(cat "$m")"
	if [ "$dir" = peer ]; then
		# MP_PRIO is the peer's news; the local side sends it.
		grep -E "SF_PRIO.*$a " "$m" | sed 's/.*backup=\([01]\).*/\1/' | tr -d '\n' | grep -q "^10$" ||
			fail "peer monitor: MP_PRIO not backup=1 then backup=0: $(grep SF_PRIO "$m")"
	fi
	wait_for 3 grep -Eq "SF_CLOSED.*$b " "$m" || fail "$dir monitor: no SF_CLOSED of $C1_V4:$P1: $(cat "$m")"
done
echo "PASS: the README's example (the same file) ran as uid $U and the kernel saw every step"

#!/usr/bin/env bash
# `subflowctl run` needs no privilege: run by an unprivileged user (nobody),
# the program gets MPTCP sockets and an MPTCP connection like under root.
# Without CAP_SYS_ADMIN the kernel installs a seccomp filter only under
# no_new_privs, which the launcher then sets: the program runs with
# NoNewPrivs 1 and a setuid-root program gains nothing (a setuid copy of
# id(1) reports no euid 0), while under root neither happens.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../run_lib.sh"

require_mptcp
require_run_tools
require_cmd setpriv id
lab_init
lab_setup

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
chmod 0711 "$LAB_TMP"
mkdir "$LAB_TMP/nobody"
chown nobody:nogroup "$LAB_TMP/nobody"
OUTD=$LAB_TMP/nobody

app_server srv 7500 --mptcp
in_ns "$NS_C" setpriv --reuid=nobody --regid=nogroup --clear-groups "$SUBFLOWCTL" -j run -- \
	"$TCP_APP_STATIC" client -a "$S1_V4" -p 7500 -b 100000 --out "$OUTD/c.json" "${JOINS[@]}" \
	> "$LAB_TMP/run.out" 2> "$LAB_TMP/run.err" || fail "run as nobody: $(cat "$LAB_TMP/run.err")"
app_server_done srv
assert_mptcp_conn "as nobody" "$OUTD/c.json" "$LAB_TMP/srv.json" 100000
assert_eq true "$(jq .no_new_privs "$LAB_TMP/run.out")" "as nobody: summary no_new_privs"
assert_eq "$(id -u nobody)" "$(stat -c %u "$OUTD/c.json")" "as nobody: the program ran as nobody"

nnp() { "$@" sh -c 'grep "^NoNewPrivs:" /proc/self/status' | awk '{ print $2 }'; }
assert_eq 1 "$(nnp as_nobody "$SUBFLOWCTL" run --)" "as nobody: the program's NoNewPrivs"
assert_eq 0 "$(nnp "$SUBFLOWCTL" run --)" "as root: the program's NoNewPrivs"
assert_eq false "$("$SUBFLOWCTL" -j run -- true | jq .no_new_privs)" "as root: summary no_new_privs"

# A setuid-root program: its euid is 0 without the launcher, not under it.
# Kept where setuid bits count (a nosuid /tmp would hide the effect).
suid_dir=$LAB_TMP
if findmnt -no OPTIONS -T "$LAB_TMP" | grep -qw nosuid; then
	suid_dir=$(mktemp -d "$LAB_BUILD/tests/suid.XXXXXX")
	lab_on_cleanup "rm -rf '$suid_dir'"
	chmod 0711 "$suid_dir"
fi
install -m 4755 -o root "$(command -v id)" "$suid_dir/suid-id"
assert_eq 0 "$(as_nobody "$suid_dir/suid-id" -u)" "setuid id as nobody, without the launcher: euid"
assert_eq "$(id -u nobody)" "$(as_nobody "$SUBFLOWCTL" run -- "$suid_dir/suid-id" -u)" \
	"setuid id as nobody, under the launcher (no_new_privs): euid"
echo "PASS: an unprivileged user gets MPTCP through subflowctl run, under no_new_privs"

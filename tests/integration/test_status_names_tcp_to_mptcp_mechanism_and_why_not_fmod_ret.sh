#!/usr/bin/env bash
# `subflowctl status` says which mechanism turns unmodified programs' TCP
# sockets into MPTCP: fmod_ret (mptcpify) when the kernel lets it load, else
# the launcher (`subflowctl run`), with the kernel's reason: the step and
# errno that failed and the kernel lockdown mode. Checked against the
# kernel's own answers, obtained independently: bpftool loading the engine's
# mptcpify object (in a private bpffs), and securityfs's lockdown file (in a
# private mount namespace). The same holds with the engine loaded, and its
# load warning gives the same reason.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_built
require_cmd bpftool unshare jq
lab_init

# The kernel's answer to loading mptcpify.bpf.o: "ok" or the libbpf line.
kernel_verdict() {
	unshare -m sh -c 'mount --make-rprivate / && mount -t bpf bpf /sys/fs/bpf &&
		bpftool -d prog load "$1" /sys/fs/bpf/probe' sh "$LAB_BUILD/bpf/mptcpify.bpf.o" \
		> "$LAB_TMP/bpftool.out" 2>&1 && { echo ok; return; }
	grep -m1 "subflow_mptcpify': BPF program load failed" "$LAB_TMP/bpftool.out" ||
		fail "bpftool failed without a program load error: $(tail -5 "$LAB_TMP/bpftool.out")"
}
lockdown=$(unshare -m sh -c 'mount --make-rprivate / &&
	{ [ -r /sys/kernel/security/lockdown ] ||
	  mount -t securityfs securityfs /sys/kernel/security; } &&
	cat /sys/kernel/security/lockdown' | sed -n 's/.*\[\(.*\)\].*/\1/p')
[ -n "$lockdown" ] || fail "cannot read the lockdown mode from securityfs"
verdict=$(kernel_verdict)
log "bpftool: $verdict; lockdown: $lockdown"

check_status() {
	local what=$1 st text
	st=$(ctl status | jq -c .kernel.tcp_to_mptcp) || fail "$what: status -j"
	text=$("$SUBFLOWCTL" --pin-dir "$SUBFLOW_PIN_DIR" status) || fail "$what: status"
	assert_eq "$lockdown" "$(jq -r .lockdown <<<"$st")" "$what: lockdown mode"
	if [ "$verdict" = ok ]; then
		assert_eq fmod_ret "$(jq -r .mechanism <<<"$st")" "$what: mechanism (fmod_ret loads here)"
		grep -q "TCP -> MPTCP for unmodified programs *fmod_ret" <<<"$text" ||
			fail "$what: text status does not name fmod_ret: $text"
		return
	fi
	assert_eq launcher "$(jq -r .mechanism <<<"$st")" "$what: mechanism"
	assert_eq false "$(jq -r .fmod_ret_available <<<"$st")" "$what: fmod_ret_available"
	assert_eq load "$(jq -r .fmod_ret_step <<<"$st")" "$what: step that failed (bpftool: $verdict)"
	case $verdict in
	*"Operation not permitted"*) want=EPERM ;;
	*"Invalid argument"*) want=EINVAL ;;
	*"not supported"*) want=EOPNOTSUPP ;;
	*) want=unknown ;;
	esac
	assert_eq "$want" "$(jq -r .fmod_ret_errno <<<"$st")" "$what: errno (bpftool: $verdict)"
	jq -e --arg l "$lockdown" '.reason | test("update_socket_protocol") and test("lockdown: " + $l)' \
		>/dev/null <<<"$st" || fail "$what: reason does not name the hook and the lockdown mode: $st"
	grep -q "TCP -> MPTCP for unmodified programs *launcher: subflowctl run -- PROGRAM" <<<"$text" ||
		fail "$what: text status does not name the launcher: $text"
	grep -q "fmod_ret unavailable *the kernel refuses fmod_ret on update_socket_protocol at load: $want" \
		<<<"$text" || fail "$what: text status gives no reason: $text"
}

check_status "engine not loaded"
CG=$(cg_create status)
ctl cgroup attach "$CG" > "$LAB_TMP/attach.out" 2> "$LAB_TMP/attach.err" || fail "cgroup attach: $(cat "$LAB_TMP/attach.err")"
check_status "engine loaded"
if [ "$verdict" != ok ]; then
	assert_eq false "$(ctl status | jq .kernel.mptcpify_active)" "mptcpify_active with the engine loaded"
	grep -q "mptcpify unavailable: the kernel refuses fmod_ret on update_socket_protocol at load: .*; kernel lockdown: $lockdown; .subflowctl run -- PROGRAM" \
		"$LAB_TMP/attach.err" || fail "load warning without the reason: $(cat "$LAB_TMP/attach.err")"
fi
echo "PASS: status names the TCP->MPTCP mechanism and why fmod_ret is unavailable"

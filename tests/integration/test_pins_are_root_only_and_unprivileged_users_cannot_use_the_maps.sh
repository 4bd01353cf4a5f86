#!/usr/bin/env bash
# The engine's state is root's alone: every pin is mode 0600 and owned by
# root, in a root-owned pin directory of mode 0700; a throwaway unprivileged
# user can neither list the directory, nor open a pin (open(2) or the bpf
# syscall, through bpftool), nor get any of the engine's maps or programs by
# id (BPF_MAP_GET_FD_BY_ID needs CAP_SYS_ADMIN), so it can neither read nor
# write them: the connection table and the policy maps are as they were.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../control_lib.sh"

require_built
require_cmd bpftool setpriv jq
lab_init
CG=$(cg_create app)
printf 'rule cc reno\n' > "$LAB_TMP/p.policy"
ctl cgroup attach "$CG" policy "$LAB_TMP/p.policy" >/dev/null || fail "cgroup attach $CG"
U=$(free_id passwd)
USER=(setpriv --reuid "$U" --regid "$U" --clear-groups --)

assert_eq "700 root root" "$(stat -c '%a %U %G' "$SUBFLOW_PIN_DIR")" "pin directory mode and owner"
n=0
while read -r mode owner type path; do
	case $type in
	directory) assert_eq "700 root" "$mode $owner" "mode and owner of $path" ;;
	*) assert_eq "600 root" "$mode $owner" "mode and owner of pin $path" ;;
	esac
	n=$(( n + 1 ))
done < <(find "$SUBFLOW_PIN_DIR" -mindepth 1 -printf '%m %u %y %p\n' |
	 sed 's/ d / directory /; s/ f / file /')
assert_ge 10 "$n" "pins checked"
log "$n pins, each 0600 root, in a 0700 root directory"

# This engine's maps, by the ids of its own pins (bpftool's names are cut at
# 15 characters, and other engines may run here).
ENGINE_MAPS=(conns cgroup_policy policies attached_cgroups event_readers event_rings)
maps=$(for m in "${ENGINE_MAPS[@]}"; do
	bpftool -j map show pinned "$SUBFLOW_PIN_DIR/$m" | jq .id
done | jq -sc .)
assert_eq "${#ENGINE_MAPS[@]}" "$(jq 'map(select(. > 0)) | length' <<<"$maps")" "engine maps found by id"
conns_before=$(bpftool -j map dump pinned "$SUBFLOW_PIN_DIR/conns" | jq length)
policy_before=$(bpftool -j map dump pinned "$SUBFLOW_PIN_DIR/cgroup_policy" | jq -c .)
# refused CMD...: CMD, as the user, fails because the kernel refuses it.
refused() {
	local out
	if out=$("${USER[@]}" "$@" 2>&1); then
		fail "uid $U could: $*"
	fi
	[[ $out == *"Operation not permitted"* || $out == *"Permission denied"* ]] ||
		fail "uid $U: '$*' failed, but not on a permission: $out"
}
refused ls "$SUBFLOW_PIN_DIR"
refused cat "$SUBFLOW_PIN_DIR/conns"
for m in "${ENGINE_MAPS[@]}"; do
	refused bpftool map dump pinned "$SUBFLOW_PIN_DIR/$m"
done
for id in $(jq '.[]' <<<"$maps"); do
	refused bpftool map dump id "$id"
	refused bpftool map update id "$id" key hex 00 00 00 00 value hex 00 00 00 00
done
for id in $(bpftool -j prog show | jq '.[] | select(.name | startswith("subflow_")) | .id'); do
	refused bpftool prog dump xlated id "$id"
done
assert_eq "$conns_before" "$(bpftool -j map dump pinned "$SUBFLOW_PIN_DIR/conns" | jq length)" "conns entries"
assert_json_eq "$policy_before" "$(bpftool -j map dump pinned "$SUBFLOW_PIN_DIR/cgroup_policy" | jq -c .)" \
	"cgroup_policy"
log "kernel.unprivileged_bpf_disabled = $(cat /proc/sys/kernel/unprivileged_bpf_disabled)"
echo "PASS: pins 0600 in a 0700 directory; uid $U could open no pin, map or program"

#!/usr/bin/env bash
# libsubflow.so is a library that behaves as one:
#  - it exports exactly the functions include/ declares SUBFLOW_API (every
#    one of them, nothing else: no internal helper, no libbpf symbol), each
#    under a LIBSUBFLOW_* version node (libsubflow.map);
#  - it never calls libbpf_set_print (no undefined reference to it), so a
#    host's libbpf print callback is the host's; subflow_set_print() is the
#    library's own (unit/test_print checks its libbpf-style return value).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

require_cmd nm
SO=$LAB_BUILD/libsubflow.so
[ -f "$SO" ] || fail "$SO not built (run make)"

declared=$(grep -hv "define SUBFLOW_API" "$LAB_REPO"/include/*.h | tr '\n' ' ' |
	grep -oE 'SUBFLOW_API[^;{]*\(' | grep -oE '[a-z_0-9]+ *\($' | tr -d ' (' | sort -u)
[ "$(wc -l <<<"$declared")" -ge 40 ] || fail "found only $(wc -l <<<"$declared") SUBFLOW_API declarations"
exported=$(nm -D --defined-only "$SO" | awk '$2 ~ /^[TtDdBbRrVvWwi]$/ { print $3 }')
unversioned=$(grep -v '@@\?LIBSUBFLOW_' <<<"$exported" || true)
[ -z "$unversioned" ] || fail "exported without a version node: $unversioned"
names=$(sed 's/@.*//' <<<"$exported" | sort -u)
extra=$(comm -13 <(echo "$declared") <(echo "$names"))
missing=$(comm -23 <(echo "$declared") <(echo "$names"))
[ -z "$extra" ] || fail "exported but not declared SUBFLOW_API in include/: $(echo $extra)"
[ -z "$missing" ] || fail "declared SUBFLOW_API but not exported: $(echo $missing)"
if nm -D --undefined-only "$SO" | grep -qw libbpf_set_print; then
	fail "libsubflow.so calls libbpf_set_print"
fi

echo "PASS: libsubflow.so exports exactly the $(wc -l <<<"$names") SUBFLOW_API functions, versioned, and never sets libbpf's print callback"

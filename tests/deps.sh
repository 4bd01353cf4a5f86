#!/usr/bin/env bash
# Install the Debian packages subflow needs to build and test (make deps).
# Idempotent: installs only what dpkg says is missing, runs apt-get update only
# then, and prints nothing when there is nothing to do.
set -euo pipefail

# nftables: fault injection (blackholes, loss) in the failover tests; mptcpd:
# the peer path manager the failover benchmark compares against;
# libclang-rt-14-dev: clang's libFuzzer and sanitizer runtimes (make fuzz);
# libc6-dev: libc.a for the launcher's statically linked test program;
# binutils: nm (the exported-symbols test); util-linux: nsenter, setpriv, flock.
PACKAGES=(clang llvm libbpf-dev bpftool libmnl-dev libelf-dev zlib1g-dev pkg-config
	  make gcc libc6-dev binutils util-linux iproute2 jq iperf3 ethtool nftables mptcpd
	  mptcpd-plugins libclang-rt-14-dev)

missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Install every Debian package kiln's build, tests, fuzzers and benchmarks need.
# Idempotent: apt-get only installs what is missing.
set -euo pipefail
PKGS=(
	gcc make clang clang-format llvm libclang-rt-14-dev afl++
	libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev libbpf-dev libjansson-dev
	libcmocka-dev liburing-dev python3-pytest
	busybox-static linux-source-6.1 e2fsprogs cpio bc flex bison libelf-dev libssl-dev
	xz-utils qemu-system-x86 time hyperfine strace curl socat
)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/bin/bash
# Build kiln's Linux 6.1 guest kernels from Debian's linux-source-6.1 package.
#
#   kernel/linux/build-kernel.sh            build (or reuse) and print paths
#   kernel/linux/build-kernel.sh --no-build print paths if cached, else exit 2
#
# Two flavours, same config (tinyconfig + kiln.config):
#   stock  the fragment only: what users run
#   test   stock + test-patches/*.patch (test-only workarounds for the
#          software KVM back end on our CI machines, inert without the
#          "kiln_pvm_test" cmdline switch)
#
# Output (nothing is written inside the repository):
#   ${KILN_CACHE:-$HOME/.cache/kiln}/linux-<debian version>-<inputs hash>/
#       {stock,test}/{vmlinux,bzImage,config,System.map}
#       kernel.env          shell-style KEY=VALUE lines, also printed on stdout
# <inputs hash> covers kiln.config, test-patches/*.patch and this script.
#
# Environment: KILN_CACHE, KILN_LINUX_TARBALL (default
# /usr/src/linux-source-6.1.tar.xz), KILN_JOBS (default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tarball=${KILN_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
cache=${KILN_CACHE:-$HOME/.cache/kiln}
jobs=${KILN_JOBS:-2}
fragment=$here/kiln.config
no_build=0

case "${1:-}" in
"") ;;
--no-build) no_build=1 ;;
-h | --help)
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "build-kernel.sh: unknown argument: $1" >&2
	exit 1
	;;
esac

die() {
	echo "build-kernel.sh: $*" >&2
	exit 1
}

[ -r "$tarball" ] || die "no kernel source tarball at $tarball (apt-get install linux-source-6.1)"

# Debian source version names the cache entry; fall back to the tarball hash.
version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
if [ -z "$version" ] || [ "$tarball" != /usr/src/linux-source-6.1.tar.xz ]; then
	version=tar$(sha256sum "$tarball" | cut -c1-12)
fi

shopt -s nullglob
patches=("$here"/test-patches/*.patch)
shopt -u nullglob

inputs_hash=$(
	for f in "$fragment" "${patches[@]}" "$here/build-kernel.sh"; do
		printf '%s\n' "${f#"$here"/}"
		sha256sum <"$f"
	done | sha256sum | cut -c1-12
)
key=linux-$version-$inputs_hash
out=$cache/$key

print_paths() {
	cat "$out/kernel.env"
}

complete() {
	local f
	for f in stock/vmlinux stock/bzImage test/vmlinux test/bzImage kernel.env; do
		[ -s "$out/$f" ] || return 1
	done
}

if complete; then
	print_paths
	exit 0
fi
if [ "$no_build" = 1 ]; then
	echo "build-kernel.sh: $out not built yet" >&2
	exit 2
fi

mkdir -p "$cache"
# One builder per key at a time; a second caller waits, then finds the result.
exec 9>"$cache/.$key.lock"
flock 9
if complete; then
	print_paths
	exit 0
fi

work=$(mktemp -d "$cache/.build-$key.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
log=$work/build.log
failed_log=$cache/$key.failed.log

fail() {
	cp "$log" "$failed_log" 2>/dev/null || true
	echo "build-kernel.sh: $* (log: $failed_log)" >&2
	tail -n 30 "$log" >&2 || true
	exit 1
}

export ARCH=x86_64
export KBUILD_BUILD_USER=kiln KBUILD_BUILD_HOST=kiln
export KBUILD_BUILD_TIMESTAMP="2000-01-01 00:00:00 UTC"

echo "build-kernel.sh: building $key in $work (log: $log)" >&2
start=$(date +%s)

tar -xJf "$tarball" -C "$work" || fail "cannot extract $tarball"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'linux-*' | head -n1)
[ -n "$src" ] || fail "no linux-* directory in $tarball"

# tinyconfig is allnoconfig with tiny-base.config, tiny.config and the
# arch's tiny.config; adding kiln.config to the same allnoconfig run keeps
# everything we do not ask for off (merging after the fact would turn on the
# defaults of options our fragment makes visible).
mkdir -p "$work/obj"
(
	cd "$src"
	scripts/kconfig/merge_config.sh -n -O "$work/obj" \
		kernel/configs/tiny-base.config kernel/configs/tiny.config \
		arch/x86/configs/tiny.config "$fragment"
) >>"$log" 2>&1 || fail "configuration failed"

# Every line of the fragment must have survived Kconfig's dependency checks.
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$work/obj/.config" || {
			echo "build-kernel.sh: config: wanted $line, got: $(grep "^${line%%=*}=" "$work/obj/.config" || echo unset)" >&2
			bad=1
		}
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		if grep -q "^$sym=" "$work/obj/.config"; then
			echo "build-kernel.sh: config: wanted $sym off, got: $(grep "^$sym=" "$work/obj/.config")" >&2
			bad=1
		fi
		;;
	esac
done <"$fragment"
[ "$bad" = 0 ] || fail "kiln.config does not apply cleanly to this source"

make -C "$src" O="$work/obj" -j"$jobs" vmlinux bzImage >>"$log" 2>&1 ||
	fail "stock kernel build failed"

collect() { # flavour
	mkdir -p "$work/out/$1"
	cp "$work/obj/vmlinux" "$work/obj/arch/x86/boot/bzImage" \
		"$work/obj/System.map" "$work/out/$1/"
	cp "$work/obj/.config" "$work/out/$1/config"
}
collect stock

# The test kernel is an incremental rebuild of the same object tree: only
# the patched files recompile. (Copying the tree instead rebuilds it all.)
for p in "${patches[@]}"; do
	patch -d "$src" -p1 --no-backup-if-mismatch <"$p" >>"$log" 2>&1 ||
		fail "patch $(basename "$p") does not apply"
done
make -C "$src" O="$work/obj" -j"$jobs" vmlinux bzImage >>"$log" 2>&1 ||
	fail "test kernel build failed"
collect test

end=$(date +%s)
cp "$log" "$work/out/build.log"
{
	echo "KILN_LINUX_KEY=$key"
	echo "KILN_LINUX_VERSION=$version"
	echo "KERNEL_DIR=$out"
	for fl in stock test; do
		up=$(echo "$fl" | tr a-z A-Z)
		echo "KILN_LINUX_${up}_VMLINUX=$out/$fl/vmlinux"
		echo "KILN_LINUX_${up}_BZIMAGE=$out/$fl/bzImage"
	done
	echo "KILN_LINUX_BUILD_SECONDS=$((end - start))"
} >"$work/out/kernel.env"

# Publish atomically; a finished entry from someone else wins.
if ! mv -T "$work/out" "$out" 2>/dev/null; then
	complete || fail "cannot publish $out"
fi
rm -f "$failed_log"
echo "build-kernel.sh: built $key in $((end - start)) s" >&2
print_paths

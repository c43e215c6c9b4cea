#!/bin/bash
# Build kiln's busybox guest root file systems from Debian's busybox-static.
#
#   kernel/linux/build-rootfs.sh            build (or reuse) and print paths
#   kernel/linux/build-rootfs.sh --no-build print paths if cached, else exit 2
#
# Output (no root privileges, loop devices or fakeroot needed):
#   ${KILN_CACHE:-$HOME/.cache/kiln}/rootfs-<inputs hash>/
#       initramfs.cpio   uncompressed newc cpio, all files owned by 0:0
#       rootfs.ext4      the same tree as an ext4 image (mkfs.ext4 -d)
#       rootfs.env       KEY=VALUE lines, also printed on stdout
# <inputs hash> covers the busybox binary, rootfs/init, rootfs/fstab,
# rootfs/kiln-vsock.c, the C compiler's version and this script.
#
# /bin/kiln-vsock is an AF_VSOCK echo helper (rootfs/kiln-vsock.c, built
# here with $CC -static -nostdlib: about 9 KB, no C library in the guest).
#
# Environment: KILN_CACHE, KILN_BUSYBOX (default /bin/busybox), CC (gcc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KILN_CACHE:-$HOME/.cache/kiln}
busybox=${KILN_BUSYBOX:-/bin/busybox}
cc=${CC:-gcc}
no_build=0

# Applets linked into /bin: what /init uses plus a few for kiln.cmd scripts
# (ip, ifconfig and ping for the virtio-net test).
applets="sh mount umount devmem cat echo ls mkdir reboot poweroff uname sleep
	dmesg ps true false test grep ip ifconfig ping"

case "${1:-}" in
"") ;;
--no-build) no_build=1 ;;
-h | --help)
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "build-rootfs.sh: unknown argument: $1" >&2
	exit 1
	;;
esac

die() {
	echo "build-rootfs.sh: $*" >&2
	exit 1
}

[ -x "$busybox" ] || die "no busybox at $busybox (apt-get install busybox-static)"
if file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked'; then
	die "$busybox is dynamically linked; install busybox-static"
fi

inputs_hash=$(
	{
		sha256sum <"$busybox"
		sha256sum <"$here/rootfs/init"
		sha256sum <"$here/rootfs/fstab"
		sha256sum <"$here/rootfs/kiln-vsock.c"
		"$cc" --version | head -n1
		sha256sum <"$here/build-rootfs.sh"
		echo "$applets"
	} | sha256sum | cut -c1-12
)
key=rootfs-$inputs_hash
out=$cache/$key

complete() {
	[ -s "$out/initramfs.cpio" ] && [ -s "$out/rootfs.ext4" ] && [ -s "$out/rootfs.env" ]
}

if complete; then
	cat "$out/rootfs.env"
	exit 0
fi
if [ "$no_build" = 1 ]; then
	echo "build-rootfs.sh: $out not built yet" >&2
	exit 2
fi

mkdir -p "$cache"
exec 9>"$cache/.$key.lock"
flock 9
if complete; then
	cat "$out/rootfs.env"
	exit 0
fi

work=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$work/out" "$root"/{bin,sbin,dev,proc,sys,etc,root,tmp,mnt}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

install -m 0755 "$busybox" "$root/bin/busybox"
for a in $applets; do
	ln -s busybox "$root/bin/$a"
done
install -m 0755 "$here/rootfs/init" "$root/init"
ln -s ../init "$root/sbin/init" # an ext4 root boots /sbin/init by default
install -m 0644 "$here/rootfs/fstab" "$root/etc/fstab"
"$cc" -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
	-fno-asynchronous-unwind-tables -O2 -s -Wall -Wextra -Werror \
	-o "$root/bin/kiln-vsock" "$here/rootfs/kiln-vsock.c" >&2 ||
	die "cannot build rootfs/kiln-vsock.c with $cc"

# Reproducible images: fixed times, sorted entries, owner 0:0.
find "$root" -exec touch -h -d @0 {} +

# /dev/console comes from the kernel's built-in initramfs, which the
# external one is unpacked over, so the cpio needs no device nodes.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$work/out/initramfs.cpio" ||
	die "cpio failed"

# Enough room for busybox plus a little scratch space for tests.
size_kib=$(($(du -sk "$root" | cut -f1) + 8192))
E2FSPROGS_FAKE_TIME=0 mkfs.ext4 -q -F -L kilnroot \
	-U 6b696c6e-0000-4000-8000-000000000001 \
	-E root_owner=0:0,hash_seed=6b696c6e-0000-4000-8000-000000000002 \
	-N 256 -d "$root" "$work/out/rootfs.ext4" "${size_kib}k" >&2 ||
	die "mkfs.ext4 failed"

{
	echo "KILN_ROOTFS_KEY=$key"
	echo "ROOTFS_DIR=$out"
	echo "KILN_ROOTFS_INITRAMFS=$out/initramfs.cpio"
	echo "KILN_ROOTFS_EXT4=$out/rootfs.ext4"
} >"$work/out/rootfs.env"

if ! mv -T "$work/out" "$out" 2>/dev/null; then
	complete || die "cannot publish $out"
fi
cat "$out/rootfs.env"

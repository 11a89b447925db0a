#!/usr/bin/env bash
# Builds the rig's debug kernel from Debian's linux-source-6.1 with the
# options in ./config, once: the tree is cached by the hash of that config,
# the source version and the compiler, and rebuilt when one of them
# changes. Prints the kernel tree (a KDIR for out-of-tree modules) and
# installs the image where popcorn-vm finds kernels:
#   $CACHE/<release>/boot/vmlinuz-<release>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${POPCORN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/popcorn-vm}
tarball=/usr/src/linux-source-6.1.tar.xz

[ -f "$tarball" ] || { echo "no $tarball: run .ci/setup" >&2; exit 1; }
hash=$({ cat "$here/config"; dpkg-query -W -f='${Version}\n' linux-source-6.1; gcc --version | head -n1; } |
	sha256sum | cut -c1-12)
dir=$cache/debug-6.1-$hash
tree=$dir/linux-source-6.1

if [ ! -f "$dir/.built" ]; then
	mkdir -p "$cache"
	# Older debug trees are several GiB each: keep only the current one.
	rm -rf "$cache"/debug-6.1-*
	mkdir -p "$dir"
	echo "debug kernel: building $tree (config hash $hash)" >&2
	tar -C "$dir" -xf "$tarball"
	make -C "$tree" -s defconfig >&2
	(cd "$tree" && scripts/kconfig/merge_config.sh -m .config "$here/config" >/dev/null)
	make -C "$tree" -s olddefconfig >&2
	# Every option asked for must have stuck (a typo or a dependency would not).
	missing=$(
		grep -E '^CONFIG_' "$here/config" | while read -r line; do
			grep -qxF "$line" "$tree/.config" || echo "$line"
		done
		sed -n 's/^# \(CONFIG_[A-Z0-9_]*\) is not set$/\1/p' "$here/config" | while read -r opt; do
			! grep -q "^$opt=" "$tree/.config" || echo "$opt is on"
		done)
	if [ -n "$missing" ]; then
		echo "debug kernel: options not in the final config:" >&2
		echo "$missing" >&2
		exit 1
	fi
	make -C "$tree" -s -j"$(nproc)" bzImage modules >&2
	touch "$dir/.built"
fi

rel=$(cat "$tree/include/config/kernel.release")
root=$cache/$rel
if ! cmp -s "$tree/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$rel"; then
	mkdir -p "$root/boot" "$root/lib/modules/$rel/kernel"
	cp "$tree/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$rel"
fi
echo "$tree"

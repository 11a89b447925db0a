#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Generates api/uapi/linux/popcorn.h from Documentation/netlink/specs/popcorn.yaml
# with the kernel's own generator, tools/net/ynl/ynl-gen-c.py from Debian's
# linux-source-6.12, which also validates the spec against the kernel's
# genetlink schema. With --check, fails if the committed header differs from
# what the spec generates.
#
# The generator finds the schema and the spec's path relative to a kernel
# tree, so the spec is copied into the extracted tree under $BUILD first.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD:-build}
tarball=/usr/src/linux-source-6.12.tar.xz
src=$build/linux-source-6.12
spec=Documentation/netlink/specs/popcorn.yaml
header=api/uapi/linux/popcorn.h

if [ ! -f "$src/.ynl-extracted" ]; then
	[ -f "$tarball" ] || { echo "$0: no $tarball: run .ci/setup" >&2; exit 1; }
	mkdir -p "$build"
	tar -C "$build" -xf "$tarball" linux-source-6.12/MAINTAINERS \
		linux-source-6.12/tools/net/ynl/ynl-gen-c.py \
		linux-source-6.12/tools/net/ynl/cli.py \
		linux-source-6.12/tools/net/ynl/lib \
		linux-source-6.12/Documentation/netlink/genetlink.yaml
	touch "$src/.ynl-extracted"
fi
mkdir -p "$src/$(dirname "$spec")"
cp "$spec" "$src/$spec"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
python3 "$src/tools/net/ynl/ynl-gen-c.py" --mode uapi --header \
	--spec "$src/$spec" -o "$out"

if [ "${1:-}" = --check ]; then
	diff -u "$header" "$out" || {
		echo "$header is stale: run api/gen.sh (make uapi)" >&2
		exit 1
	}
else
	cat "$out" >"$header"
fi

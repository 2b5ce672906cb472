#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build.sh deb|rpm OUTDIR: builds the Debian or RPM packages from this source
# tree and leaves them in OUTDIR. The build runs on a copy in a temp dir, so the
# source tree gets no debian/, no build directory and no stray files.
set -euo pipefail

usage() {
        echo "usage: $0 deb|rpm OUTDIR" >&2
        exit 2
}
[ $# -eq 2 ] || usage
kind=$1
mkdir -p -- "$2"
out=$(cd -- "$2" && pwd -P)
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
version=$(sed -n 's/^project(keylime-agent-c VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || { echo "cannot read the version from CMakeLists.txt" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kl-pkg.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
name=keylime-agent-c-$version

# The source as a release tarball would have it: no VCS data, no build trees.
copy_source() {
        mkdir -p "$tmp/$name"
        tar -C "$src" --exclude=./.git --exclude='./build*' --exclude='./obj-*' -cf - . |
                tar -C "$tmp/$name" -xf -
}

case $kind in
deb)
        command -v dpkg-buildpackage >/dev/null || { echo "needs dpkg-buildpackage (dpkg-dev, debhelper)" >&2; exit 1; }
        copy_source
        cp -a "$tmp/$name/packaging/debian" "$tmp/$name/debian"
        (cd "$tmp/$name" && dpkg-buildpackage -b -us -uc -j2 >"$tmp/build.log" 2>&1) || {
                tail -40 "$tmp/build.log" >&2
                exit 1
        }
        cp "$tmp"/*.deb "$out"/
        ;;
rpm)
        command -v rpmbuild >/dev/null || { echo "needs rpmbuild (rpm)" >&2; exit 1; }
        copy_source
        mkdir -p "$tmp/rpm/SOURCES"
        tar -C "$tmp" -czf "$tmp/rpm/SOURCES/$name.tar.gz" "$name"
        # --nodeps: on a Debian build host the BuildRequires are dpkg packages
        rpmbuild -bb --nodeps --define "_topdir $tmp/rpm" --define "version_override $version" \
                "$tmp/$name/packaging/rpm/keylime-agent-c.spec" >"$tmp/build.log" 2>&1 || {
                tail -40 "$tmp/build.log" >&2
                exit 1
        }
        find "$tmp/rpm/RPMS" -name '*.rpm' -exec cp {} "$out"/ \;
        ;;
*)
        usage
        ;;
esac
ls -1 "$out"

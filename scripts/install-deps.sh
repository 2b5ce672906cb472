#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install-deps.sh: installs the Debian 12 packages needed to build, run the
# demo and run the tests. As root it runs apt-get; otherwise it prints the
# exact command and fails if something is missing.
set -euo pipefail

packages=(
        build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
        libtss2-dev libssl-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev
        libjson-c-dev libsqlite3-dev libzip-dev libzmq3-dev libcmocka-dev libsystemd-dev
        swtpm swtpm-tools tpm2-tools openssl curl jq xxd zip python3 valgrind iproute2
        debhelper lintian rpm rpmlint systemd adduser scdoc mmdebstrap cpio
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
                missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y "${missing[@]}"
else
        echo "Missing packages. Run as root:" >&2
        echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
fi

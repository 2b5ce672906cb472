#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# build.sh [BUILD_DIR] [CMAKE ARGS...]: configures and builds (default: build/).
set -euo pipefail
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=${1:-$src/build}
shift || true
cmake -S "$src" -B "$build" -DKL_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"

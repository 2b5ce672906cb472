#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test.sh [BUILD_DIR] [CMAKE ARGS...]: installs what is missing, builds and
# runs the whole test suite (unit, fuzz-corpus replay, integration on swtpm).
set -euo pipefail
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=${1:-$src/build}
shift || true
"$src/scripts/install-deps.sh"
"$src/scripts/build.sh" "$build" "$@"
# Tests that share one provisioned TPM template start in 0.1 s instead of 2 s.
export KL_TPM_TEMPLATE=${KL_TPM_TEMPLATE:-$build/tpm-template}
cd "$build"
# the valgrind flow is slow and runs on its own in CI (ctest -L valgrind)
ctest --output-on-failure -j "$(nproc)" -LE valgrind

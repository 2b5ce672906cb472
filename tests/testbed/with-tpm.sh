#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# with-tpm.sh PARENT_DIR -- CMD [ARG...]: run CMD with its own software TPM.
# Makes a state directory under PARENT_DIR (mktemp), starts swtpm there with
# tpm-up.sh (honouring KL_TPM_TEMPLATE), exports its env (TCTI, KL_TPM_*),
# runs CMD, then stops that swtpm and removes the directory. Exits with
# CMD's status.
set -uo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -ge 3 ] && [ "$2" = -- ] || kl_tb_die "usage: with-tpm.sh PARENT_DIR -- CMD [ARG...]"
parent=$1
shift 2
mkdir -p -- "$parent" || kl_tb_die "cannot create $parent"
sd=$(mktemp -d "$parent/tpm.XXXXXX") || kl_tb_die "mktemp failed in $parent"

cleanup() {
        "$here/tpm-down.sh" "$sd" || kl_tb_log "could not stop the swtpm of $sd"
        rm -rf -- "$sd"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$here/tpm-up.sh" "$sd" >/dev/null || exit 1
# shellcheck source=/dev/null
. "$sd/env"
"$@"
status=$?
exit "$status"

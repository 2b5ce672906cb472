#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tpm-reset.sh STATE_DIR: power-cycle the running TPM of STATE_DIR without
# restarting the process: TPM2_Shutdown(CLEAR), swtpm_ioctl -i (power on),
# TPM2_Startup(CLEAR). PCRs and transient objects are gone afterwards,
# resetCount goes up by one.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || kl_tb_die "usage: tpm-reset.sh STATE_DIR"
kl_tb_need swtpm_ioctl timeout od
[ -d "$1" ] || kl_tb_die "no state directory $1"
SD=$(kl_tb_absdir "$1") || kl_tb_die "cannot read $1"
kl_tb_lock "$SD"
kl_tb_running_pid "$SD" >/dev/null || kl_tb_die "no swtpm runs for $SD"
port=$(cat "$SD/port")
# An orderly shutdown first, so the reset counts as orderly (clock safe = yes).
kl_tb_shutdown "$port" || kl_tb_log "TPM2_Shutdown failed; resetting anyway"
timeout 10 swtpm_ioctl --tcp "127.0.0.1:$((port + 1))" -i >/dev/null ||
        kl_tb_die "swtpm_ioctl -i failed on 127.0.0.1:$((port + 1))"
kl_tb_startup "$port" || kl_tb_die "TPM2_Startup failed after the reset"

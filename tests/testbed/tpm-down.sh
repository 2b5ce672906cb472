#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tpm-down.sh STATE_DIR: stop exactly the swtpm serving STATE_DIR (pid file
# checked against /proc/PID/cmdline), SIGTERM then SIGKILL. The TPM state
# stays; succeeds when nothing runs.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || kl_tb_die "usage: tpm-down.sh STATE_DIR"
[ -d "$1" ] || exit 0
SD=$(kl_tb_absdir "$1") || kl_tb_die "cannot read $1"
kl_tb_lock "$SD"
if pid=$(kl_tb_running_pid "$SD"); then
        kl_tb_stop "$SD" || kl_tb_die "swtpm $pid of $SD does not stop"
fi
rm -f -- "$SD/env"

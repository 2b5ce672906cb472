# SPDX-License-Identifier: Apache-2.0
# Helpers sourced by the test-bed scripts (tpm-up.sh, tpm-down.sh,
# tpm-reset.sh, with-tpm.sh). They give each test its own software TPM
# (swtpm) on loopback, with EK certificates from a CA that lives in the
# instance's state directory. Nothing here touches anything outside
# STATE_DIR and mktemp files, and nothing listens beyond 127.0.0.1.
#
# Layout of a STATE_DIR:
#   conf/        swtpm_setup.conf, swtpm-localca.conf, swtpm-localca.options
#   ca/          swtpm_localca's root CA and intermediate (keys made at run time)
#   tpm/         the TPM state swtpm works on
#   ek-ca/       root.pem and intermediate.pem: the EK CA directory for verifiers
#   certs/       ek-rsa2048.pem, ek-p256.pem (and the DER files swtpm_setup wrote)
#   port pid     the running instance's data port; swtpm's pid file
#   env          sourceable exports for the running instance
#   platform-ca/ the test platform CA certificate, for a registrar's --platform-ca-dir
#   ek-root-ca/  root.pem only: the intermediate must come from NV 0x01c00100
#   .provisioned marker: provisioning completed, holding the layout version
#                (KL_TB_LAYOUT); an older layout is provisioned anew
#   .lock        flock serialising the scripts on this STATE_DIR

# TCG EK Credential Profile NV indices and the handle we persist the P-256 EK at.
KL_TB_NV_EK_RSA2048=0x01c00002
KL_TB_NV_EK_P256=0x01c0000a
KL_TB_EK_P256_HANDLE=0x81010002
# TCG platform certificate index and the first EK CA chain index (EK Credential
# Profile 2.5, 2.2.1.5: 0x01c08000 platform certificate; 0x01c00100-0x01c001ff chain).
KL_TB_NV_PLATFORM_CERT=0x01c08000
KL_TB_NV_EK_CHAIN_FIRST=0x01c00100
# Version of what a provisioned STATE_DIR holds; bump when provisioning changes.
KL_TB_LAYOUT=2

# kl_tb_provisioned DIR: DIR holds a complete provisioning of this layout.
kl_tb_provisioned() {
        [ "$(cat -- "$1/.provisioned" 2>/dev/null)" = "$KL_TB_LAYOUT" ]
}

# kl_tb_nv_store INDEX FILE: a platform-written, owner-readable, write-locked NV index
# holding FILE, with the attributes swtpm_setup gives its EK certificates (0x62072801
# once written and locked). TPM2TOOLS_TCTI must be set.
kl_tb_nv_store() {
        tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" \
                -a "ppwrite|writedefine|ppread|ownerread|authread|no_da|platformcreate" \
                >/dev/null
        tpm2_nvwrite "$1" -C p -i "$2"
        tpm2_nvwritelock "$1" -C p
}

kl_tb_log() { printf 'testbed: %s\n' "$*" >&2; }
kl_tb_die() {
        printf 'testbed: error: %s\n' "$*" >&2
        exit 1
}

kl_tb_need() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || kl_tb_die "missing program '$c'"
        done
}

# kl_tb_absdir DIR: create DIR if needed and print its physical absolute path.
# swtpm's command line must name the same string we later check for.
kl_tb_absdir() {
        mkdir -p -- "$1" || return 1
        (cd -- "$1" && pwd -P)
}

# kl_tb_lock DIR: take the per-instance lock on fd 9 (held until the script
# exits). swtpm must not inherit it: see kl_tb_start_swtpm.
kl_tb_lock() {
        exec 9>"$1/.lock" || kl_tb_die "cannot create $1/.lock"
        flock -w 120 9 || kl_tb_die "timed out waiting for the lock on $1"
}

# kl_tb_running_pid DIR: print the pid of the swtpm serving DIR and succeed.
# A pid file alone can name a recycled pid, and a zombie answers kill -0, so
# require a live process whose command line names DIR's tpm state.
kl_tb_running_pid() {
        local sd=$1 pid cmd
        [ -r "$sd/swtpm.pid" ] || return 1
        # swtpm writes the pid without a newline, so no `read`.
        pid=$(cat -- "$sd/swtpm.pid" 2>/dev/null) || return 1
        case $pid in '' | *[!0-9]*) return 1 ;; esac
        [ -r "/proc/$pid/cmdline" ] || return 1
        cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        case $cmd in
        *swtpm*"dir=$sd/tpm,"*) printf '%s\n' "$pid" ;;
        *) return 1 ;;
        esac
}

# kl_tb_port_busy PORT: something already accepts connections there.
kl_tb_port_busy() {
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# kl_tb_tpm_cmd PORT HEX: send one raw TPM command on the data port and print
# the response code as 8 hex digits. Used for Startup/Shutdown, so no
# tpm2-tools process (and no TCTI probing) is needed.
kl_tb_tpm_cmd() {
        local port=$1 hex=$2 bytes='' i rsp
        for ((i = 0; i < ${#hex}; i += 2)); do
                bytes+="\\x${hex:i:2}"
        done
        exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
        # shellcheck disable=SC2059  # bytes is a string of \x escapes on purpose
        printf "$bytes" >&3
        rsp=$(timeout 10 head -c 10 <&3 | od -An -v -tx1 | tr -d ' \n')
        exec 3<&- 3>&-
        [ ${#rsp} -eq 20 ] || return 1
        printf '%s\n' "${rsp:12:8}"
}

# TPM2_Startup(CLEAR) / TPM2_Shutdown(CLEAR): tag 8001, size 12, CC 0x144 / 0x145.
kl_tb_startup() {
        local rc
        rc=$(kl_tb_tpm_cmd "$1" 80010000000c000001440000) || return 1
        # 0x100 TPM_RC_INITIALIZE: already started, which is what we want.
        [ "$rc" = 00000000 ] || [ "$rc" = 00000100 ] ||
                { kl_tb_log "TPM2_Startup answered 0x$rc"; return 1; }
}
kl_tb_shutdown() {
        local rc
        rc=$(kl_tb_tpm_cmd "$1" 80010000000c000001450000) || return 1
        [ "$rc" = 00000000 ] || { kl_tb_log "TPM2_Shutdown answered 0x$rc"; return 1; }
}

# kl_tb_start_swtpm DIR: start swtpm for DIR on a free even port pair of
# 127.0.0.1 (data P, control P+1), send TPM2_Startup(CLEAR), write DIR/port.
# A restart tries DIR's previous port first, so a client's TCTI stays right.
# Ports stay below Linux's ephemeral range (32768+): a port picked there can be
# taken as the source port of some outgoing connection before swtpm binds it.
kl_tb_start_swtpm() {
        local sd=$1 port i
        for ((i = 0; i < 30; i++)); do
                port=$((20000 + (RANDOM % 6000) * 2))
                [ "$i" = 0 ] && [ -s "$sd/port" ] && port=$(cat "$sd/port")
                if kl_tb_port_busy "$port" || kl_tb_port_busy $((port + 1)); then
                        continue
                fi
                rm -f -- "$sd/swtpm.pid"
                # not-need-init: no CMD_INIT on the control channel is needed;
                # Startup is sent below like tpm-reset.sh does. 9>&- keeps the
                # daemon from holding our lock forever.
                if swtpm socket --tpm2 \
                        --tpmstate "dir=$sd/tpm,mode=0600" \
                        --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
                        --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
                        --flags not-need-init \
                        --pid "file=$sd/swtpm.pid" \
                        --log "file=$sd/swtpm.log,level=${KL_TPM_LOG_LEVEL:-1},truncate" \
                        --daemon 9>&- </dev/null >/dev/null 2>&1; then
                        break
                fi
                # Lost a race for the port: try another; anything else is fatal.
                grep -q 'Address already in use' "$sd/swtpm.log" 2>/dev/null ||
                        kl_tb_die "swtpm failed to start: $(tail -n 3 "$sd/swtpm.log" 2>/dev/null)"
        done
        [ "$i" -lt 30 ] || kl_tb_die "no free loopback port pair for swtpm"
        for ((i = 0; i < 100; i++)); do
                kl_tb_running_pid "$sd" >/dev/null && break
                sleep 0.02
        done
        kl_tb_running_pid "$sd" >/dev/null || kl_tb_die "swtpm started but wrote no pid file"
        kl_tb_startup "$port" || kl_tb_die "TPM2_Startup failed on port $port"
        printf '%s\n' "$port" >"$sd/port"
}

# kl_tb_stop DIR: SIGTERM the instance of DIR, SIGKILL after ~5 s.
kl_tb_stop() {
        local sd=$1 pid i
        pid=$(kl_tb_running_pid "$sd") || { rm -f -- "$sd/swtpm.pid"; return 0; }
        # Shut down orderly first, as an OS does before power-off: otherwise the
        # next start counts a disorderly shutdown and quotes report clock
        # safe = no, which verifiers (Keylime's too) refuse.
        [ -s "$sd/port" ] && kl_tb_shutdown "$(cat "$sd/port")" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
                kl_tb_running_pid "$sd" >/dev/null || break
                sleep 0.05
        done
        if kl_tb_running_pid "$sd" >/dev/null; then
                kill -KILL "$pid" 2>/dev/null || true
                sleep 0.1
        fi
        kl_tb_running_pid "$sd" >/dev/null && return 1
        rm -f -- "$sd/swtpm.pid"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tpm-up.sh STATE_DIR: provision (first run) and start a software TPM 2.0 for
# tests, on a free 127.0.0.1 port pair. Prints KEY=VALUE lines and writes the
# same as exports to STATE_DIR/env. With KL_TPM_TEMPLATE=DIR a new STATE_DIR
# is a copy of DIR, provisioned once (fast; copies share their EK and CA).
# Without it every STATE_DIR gets its own CA. See README.md.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || kl_tb_die "usage: tpm-up.sh STATE_DIR"
kl_tb_need swtpm swtpm_setup swtpm_localca swtpm_ioctl openssl flock timeout od \
        tpm2_createek tpm2_readpublic tpm2_nvdefine tpm2_nvwrite tpm2_nvwritelock tpm2_getcap
SD=$(kl_tb_absdir "$1") || kl_tb_die "cannot create $1"
umask 077

# Config files of one instance. --config on swtpm_setup means no
# ~/.config or /etc file is read; swtpm_localca then keeps its CA in ca/.
write_conf() {
        local sd=$1
        mkdir -p -- "$sd/conf" "$sd/ca"
        printf '%s\n' "# swtpm_setup configuration of this test TPM" \
                "create_certs_tool = $(command -v swtpm_localca)" \
                "create_certs_tool_config = $sd/conf/swtpm-localca.conf" \
                "create_certs_tool_options = $sd/conf/swtpm-localca.options" \
                >"$sd/conf/swtpm_setup.conf"
        printf '%s\n' "statedir = $sd/ca" \
                "signingkey = $sd/ca/signkey.pem" \
                "issuercert = $sd/ca/issuercert.pem" \
                "certserial = $sd/ca/certserial" >"$sd/conf/swtpm-localca.conf"
        printf '%s\n' "--platform-manufacturer kl-testbed" "--platform-version 1.0" \
                "--platform-model kl-testbed-platform" >"$sd/conf/swtpm-localca.options"
}

# swtpm_setup makes RSA-2048 and P-384 EKs only. Add the TCG low-range P-256
# EK (template L-2): persist it, certify it with the same CA and store the
# certificate in NV 0x01c0000a the way swtpm_setup stores its own.
add_p256_ek() {
        local sd=$1 tmp x y
        tmp=$(mktemp -d "$sd/.p256.XXXXXX")
        export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$(cat "$sd/port")"
        tpm2_createek -c "$KL_TB_EK_P256_HANDLE" -G ecc -u "$tmp/ek.pub" >/dev/null
        tpm2_readpublic -c "$KL_TB_EK_P256_HANDLE" >"$tmp/ek.yaml"
        x=$(sed -n 's/^x: //p' "$tmp/ek.yaml")
        y=$(sed -n 's/^y: //p' "$tmp/ek.yaml")
        [ ${#x} -eq 64 ] && [ ${#y} -eq 64 ] || kl_tb_die "cannot read the P-256 EK point"
        swtpm_localca --type ek --ek "x=$x,y=$y,id=secp256r1" --dir "$tmp" --tpm2 \
                --tpm-spec-family 2.0 --tpm-spec-level 0 --tpm-spec-revision 164 \
                --tpm-manufacturer id:00001014 --tpm-model swtpm --tpm-version id:20191023 \
                --configfile "$sd/conf/swtpm-localca.conf" \
                --optsfile "$sd/conf/swtpm-localca.options" \
                --logfile "$sd/swtpm_setup.log" || kl_tb_die "swtpm_localca failed for P-256"
        kl_tb_nv_store "$KL_TB_NV_EK_P256" "$tmp/ek.cert"
        cp -- "$tmp/ek.cert" "$sd/certs/ek-p256.der"
        rm -rf -- "$tmp"
        unset TPM2TOOLS_TCTI
}

# The EK CA's intermediate goes into the first EK chain index, as TPM makers
# ship it, so a verifier that trusts only the root must take it from NV.
add_ek_chain() {
        local sd=$1
        export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$(cat "$sd/port")"
        openssl x509 -in "$sd/ca/issuercert.pem" -outform der -out "$sd/certs/ek-intermediate.der"
        kl_tb_nv_store "$KL_TB_NV_EK_CHAIN_FIRST" "$sd/certs/ek-intermediate.der"
        unset TPM2TOOLS_TCTI
}

# A TCG platform attribute certificate for the RSA EK certificate (holder = its
# issuer and serial), signed by a test platform CA made here, in NV 0x01c08000
# and as certs/platform.der. Made by libkl's kl_platform_cert_tool, found at
# $KL_PLATFORM_CERT_TOOL or $KL_BUILD_DIR/tests/; without it the TPM gets none.
add_platform_cert() {
        local sd=$1 tool serial
        tool=${KL_PLATFORM_CERT_TOOL:-${KL_BUILD_DIR:+$KL_BUILD_DIR/tests/kl_platform_cert_tool}}
        if [ -z "$tool" ] || [ ! -x "$tool" ]; then
                kl_tb_log "no platform certificate: kl_platform_cert_tool not found (set KL_BUILD_DIR)"
                return 0
        fi
        mkdir -p -- "$sd/platform-ca"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -keyout "$sd/ca/platform-ca.key" -out "$sd/platform-ca/platform-ca.pem" \
                -subj "/O=kl-testbed/CN=kl-testbed platform CA" -days 3650 \
                -addext basicConstraints=critical,CA:TRUE \
                -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
                kl_tb_die "cannot make the platform CA"
        serial=$(openssl x509 -in "$sd/certs/ek-rsa2048.pem" -noout -serial | sed 's/^serial=//')
        "$tool" make --holder "$sd/certs/ek-rsa2048.pem" \
                --ca-cert "$sd/platform-ca/platform-ca.pem" --ca-key "$sd/ca/platform-ca.key" \
                --manufacturer kl-testbed --model kl-testbed-platform --version 1.0 \
                --serial "KLTB-$serial" --out "$sd/certs/platform.der" ||
                kl_tb_die "kl_platform_cert_tool failed"
        export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$(cat "$sd/port")"
        kl_tb_nv_store "$KL_TB_NV_PLATFORM_CERT" "$sd/certs/platform.der"
        unset TPM2TOOLS_TCTI
}

# Provision DIR from scratch; leaves its swtpm running.
provision() {
        local sd=$1 f
        kl_tb_log "provisioning a new TPM in $sd"
        # a swtpm left from an interrupted provisioning would hold tpm/
        kl_tb_stop "$sd" || kl_tb_die "cannot stop the swtpm of $sd"
        rm -rf -- "$sd/tpm" "$sd/ca" "$sd/conf" "$sd/certs" "$sd/ek-ca" "$sd/ek-root-ca" \
                "$sd/platform-ca" "$sd/.provisioned"
        mkdir -p -- "$sd/tpm" "$sd/certs" "$sd/ek-ca" "$sd/ek-root-ca"
        write_conf "$sd"
        swtpm_setup --tpm2 --tpmstate "$sd/tpm" --config "$sd/conf/swtpm_setup.conf" \
                --create-ek-cert --lock-nvram \
                --pcr-banks sha1,sha256 --write-ek-cert-files "$sd/certs" \
                --logfile "$sd/swtpm_setup.log" --overwrite 9>&- >/dev/null 2>&1 ||
                kl_tb_die "swtpm_setup failed: $(tail -n 3 "$sd/swtpm_setup.log" 2>/dev/null)"
        kl_tb_start_swtpm "$sd"
        add_p256_ek "$sd"
        for f in "$sd"/certs/ek-rsa2048.crt; do
                [ -f "$f" ] || kl_tb_die "swtpm_setup wrote no RSA EK certificate"
        done
        openssl x509 -inform der -in "$sd/certs/ek-rsa2048.crt" -out "$sd/certs/ek-rsa2048.pem"
        openssl x509 -inform der -in "$sd/certs/ek-p256.der" -out "$sd/certs/ek-p256.pem"
        cp -- "$sd/ca/swtpm-localca-rootca-cert.pem" "$sd/ek-ca/root.pem"
        cp -- "$sd/ca/issuercert.pem" "$sd/ek-ca/intermediate.pem"
        cp -- "$sd/ek-ca/root.pem" "$sd/ek-root-ca/root.pem"
        openssl verify -CAfile "$sd/ek-ca/root.pem" -untrusted "$sd/ek-ca/intermediate.pem" \
                "$sd/certs/ek-rsa2048.pem" "$sd/certs/ek-p256.pem" >/dev/null ||
                kl_tb_die "the new EK certificates do not verify"
        add_ek_chain "$sd"
        add_platform_cert "$sd"
        printf '%s\n' "$KL_TB_LAYOUT" >"$sd/.provisioned"
}

# Copy the stopped, provisioned template TPL into DIR (conf/ keeps naming TPL,
# which is fine: it is only read while provisioning).
from_template() {
        local sd=$1 tpl
        tpl=$(kl_tb_absdir "$KL_TPM_TEMPLATE") || kl_tb_die "cannot create $KL_TPM_TEMPLATE"
        [ "$tpl" != "$sd" ] || kl_tb_die "KL_TPM_TEMPLATE must differ from STATE_DIR"
        (
                kl_tb_lock "$tpl"
                if ! kl_tb_provisioned "$tpl"; then
                        provision "$tpl"
                        kl_tb_stop "$tpl" || kl_tb_die "cannot stop the template's swtpm"
                fi
                kl_tb_running_pid "$tpl" >/dev/null && kl_tb_die "template $tpl is running"
                rm -rf -- "$sd/tpm" "$sd/ca" "$sd/certs" "$sd/ek-ca" "$sd/ek-root-ca" \
                        "$sd/platform-ca"
                cp -a -- "$tpl/tpm" "$tpl/ca" "$tpl/certs" "$tpl/ek-ca" "$tpl/ek-root-ca" "$sd/"
                [ ! -d "$tpl/platform-ca" ] || cp -a -- "$tpl/platform-ca" "$sd/"
                rm -f -- "$sd/tpm/.lock"
        ) || exit 1
        printf '%s\n' "$KL_TB_LAYOUT" >"$sd/.provisioned"
}

kl_tb_lock "$SD"
if ! kl_tb_provisioned "$SD" || ! pid=$(kl_tb_running_pid "$SD"); then
        if ! kl_tb_provisioned "$SD"; then
                kl_tb_stop "$SD" || kl_tb_die "cannot stop the swtpm of $SD"
                if [ -n "${KL_TPM_TEMPLATE:-}" ]; then
                        from_template "$SD"
                else
                        provision "$SD"
                fi
        fi
        kl_tb_running_pid "$SD" >/dev/null || kl_tb_start_swtpm "$SD"
        pid=$(kl_tb_running_pid "$SD") || kl_tb_die "swtpm is not running"
fi
port=$(cat "$SD/port")

# export KEY=VALUE, shell-quoted only when the value needs it, so the lines
# stay readable for non-shell consumers and safe to source.
kv() {
        case $2 in
        *[!A-Za-z0-9_./:=,@+-]*) printf 'export %s=%q\n' "$1" "$2" ;;
        *) printf 'export %s=%s\n' "$1" "$2" ;;
        esac
}
tcti="swtpm:host=127.0.0.1,port=$port"

{
        kv TCTI "$tcti"
        kv TPM2TOOLS_TCTI "$tcti"
        kv KL_TPM_STATE_DIR "$SD"
        kv KL_TPM_PORT "$port"
        kv KL_TPM_CTRL_PORT "$((port + 1))"
        kv KL_TPM_PID "$pid"
        kv KL_TPM_EK_CA_DIR "$SD/ek-ca"
        kv KL_TPM_EK_CERT_RSA "$SD/certs/ek-rsa2048.pem"
        kv KL_TPM_EK_CERT_ECC "$SD/certs/ek-p256.pem"
        kv KL_TPM_EK_ROOT_CA_DIR "$SD/ek-root-ca"
        if [ -s "$SD/certs/platform.der" ]; then
                kv KL_TPM_PLATFORM_CERT "$SD/certs/platform.der"
                kv KL_TPM_PLATFORM_CA_DIR "$SD/platform-ca"
        fi
} >"$SD/env.tmp"
mv -f -- "$SD/env.tmp" "$SD/env"
sed 's/^export //' "$SD/env"

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh: the whole registration flow on a software TPM, step by step.
# Installs what is missing (as root), builds, provisions a swtpm with EK
# certificates from a throwaway CA, starts the registrar stub (checking EK
# certificates against that CA) and runs keylime_agent against it, then
# shows the registrar's view of the agent. Leaves nothing running.
set -euo pipefail
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=${BUILD_DIR:-$src/build}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing build dependencies (Debian packages)"
"$src/scripts/install-deps.sh"
step "Building"
"$src/scripts/build.sh" "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/keylime-demo.XXXXXX")
reg_pid=
cleanup() {
        [ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
        "$src/tests/testbed/tpm-down.sh" "$work/tpm" >/dev/null 2>&1 || true
        rm -rf -- "$work"
}
trap cleanup EXIT

step "Provisioning a software TPM (swtpm) with RSA and ECC EK certificates"
"$src/tests/testbed/tpm-up.sh" "$work/tpm" >/dev/null
# shellcheck source=/dev/null
. "$work/tpm/env"
echo "TCTI=$TCTI"
openssl x509 -in "$KL_TPM_EK_CERT_RSA" -noout -subject -issuer | sed 's/^/EK certificate (RSA 2048): /'

step "Making a throwaway PKI (CA, client and server certificates)"
"$src/certs/make-pki.sh" "$work/pki" 2>&1

step "Starting the registrar stub (EK certificates must chain to the TPM's CA)"
"$build/registrar-stub/keylime_registrar_stub" --listen 127.0.0.1:0 \
        --port-file "$work/registrar.port" --db "$work/registrar.sqlite" \
        --ek-ca-dir "$KL_TPM_EK_CA_DIR" --require-ek-cert &
reg_pid=$!
for _ in $(seq 100); do [ -s "$work/registrar.port" ] && break; sleep 0.1; done
port=$(cat "$work/registrar.port")
echo "registrar stub listening on 127.0.0.1:$port"

step "Running keylime_agent: EK, EK certificate, AK, registration, activation"
mkdir -p "$work/keylime/cv_ca"
cp "$work/pki/cacert.crt" "$work/keylime/cv_ca/cacert.crt"
cat >"$work/agent.conf" <<CONF
[agent]
uuid = "d432fbb3-d2f1-4a97-9ef7-75bd81c00000"
keylime_dir = "$work/keylime"
registrar_ip = "127.0.0.1"
registrar_port = $port
run_as = ""
CONF
KEYLIME_AGENT_CONFIG=$work/agent.conf "$build/agent/keylime_agent" --register-only

step "The registrar's view of the agent"
curl -s "http://127.0.0.1:$port/v2.6/agents/d432fbb3-d2f1-4a97-9ef7-75bd81c00000" |
        jq '.results | {agent_id, ip, port, regcount,
                ek_tpm: (.ek_tpm[0:40] + "..."), aik_tpm: (.aik_tpm[0:40] + "..."),
                ekcert: (if .ekcert then (.ekcert[0:40] + "...") else null end),
                mtls_cert: (.mtls_cert | split("\n")[0])}'
step "Demo finished: the agent registered and activated its AK"

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh: a whole attestation on a software TPM, step by step.
# Installs what is missing (as root), builds, provisions a swtpm with EK
# certificates from a throwaway CA, then: the registrar stub checks the EK
# certificate and activates keylime_agent's AK; the verifier stub attests the
# agent every second and, playing the tenant, delivers an encrypted payload
# that the agent unpacks and runs once its first quote is good; a PCR change
# makes the verifier flag the agent and publish a signed revocation notice,
# on which the agent runs its revocation action. Leaves nothing running.
set -euo pipefail
src=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
build=${BUILD_DIR:-$src/build}
UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c00000

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

step "Installing build dependencies (Debian packages)"
"$src/scripts/install-deps.sh"
step "Building"
"$src/scripts/build.sh" "$build"

work=$(mktemp -d "${TMPDIR:-/tmp}/keylime-demo.XXXXXX")
pids=()
cleanup() {
        local pid m
        for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
        for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
        "$src/tests/testbed/tpm-down.sh" "$work/tpm" >/dev/null 2>&1 || true
        # the agent mounts a tmpfs for its secrets when run as root
        for m in $(awk -v d="$work" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo); do
                umount "$m" 2>/dev/null || true
        done
        rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port below the ephemeral range.
free_port() {
        local p
        for _ in $(seq 50); do
                p=$((10000 + RANDOM % 10000))
                (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
        done
        die "no free port"
}
wait_for() { # wait_for SECONDS COMMAND...
        local secs=$1 i
        shift
        for ((i = 0; i < secs * 10; i++)); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        return 1
}
bin=$build
# every verifier command shows the verifier/tenant client certificate (its API is mTLS only)
ver() {
        "$bin/verifier-stub/keylime_verifier_stub" "$@" --ca "$work/pki/cacert.crt" \
                --client-cert "$work/pki/client-cert.crt" --client-key "$work/pki/client-private.pem"
}
tls=(--cacert "$work/pki/cacert.crt" --cert "$work/pki/client-cert.crt"
        --key "$work/pki/client-private.pem")

step "Provisioning a software TPM (swtpm) with RSA and ECC EK certificates"
"$src/tests/testbed/tpm-up.sh" "$work/tpm" >/dev/null
# shellcheck source=/dev/null
. "$work/tpm/env"
echo "TCTI=$TCTI"
openssl x509 -in "$KL_TPM_EK_CERT_RSA" -noout -subject -issuer | sed 's/^/EK certificate (RSA 2048): /'

step "Making a throwaway PKI (CA, verifier client certificate, revocation key)"
"$src/certs/make-pki.sh" "$work/pki" 2>&1

step "Starting the registrar stub (EK certificates must chain to the TPM's CA)"
"$bin/registrar-stub/keylime_registrar_stub" --listen 127.0.0.1:0 \
        --port-file "$work/registrar.port" --db "$work/registrar.sqlite" \
        --tls-listen 127.0.0.1:0 --tls-port-file "$work/registrar.tlsport" \
        --tls-cert "$work/pki/server-cert.crt" --tls-key "$work/pki/server-private.pem" \
        --client-ca "$work/pki/cacert.crt" \
        --ek-ca-dir "$KL_TPM_EK_CA_DIR" --require-ek-cert 2>"$work/registrar.log" &
pids+=($!)
wait_for 10 test -s "$work/registrar.port" || die "registrar stub did not start"
reg=http://127.0.0.1:$(cat "$work/registrar.port")
regtls=https://127.0.0.1:$(cat "$work/registrar.tlsport")
echo "registrar stub at $reg for agents, $regtls (mTLS) for the verifier and tenant"

step "Starting keylime_agent: EK, EK certificate, AK, registration, activation, HTTPS API"
aport=$(free_port)
zport=$(free_port)
mkdir -p "$work/keylime/cv_ca" "$work/actions"
cp "$work/pki/cacert.crt" "$work/keylime/cv_ca/cacert.crt"
cat >"$work/actions/demo_action" <<'ACTION'
#!/bin/sh
# A revocation action: gets the path of the notice (JSON) as its argument.
echo "revocation action ran for: $(tr -d '\n' < "$1" | head -c 300)" > "$(dirname "$0")/ran"
ACTION
chmod +x "$work/actions/demo_action"
cat >"$work/agent.conf" <<CONF
[agent]
uuid = "$UUID"
keylime_dir = "$work/keylime"
port = $aport
contact_port = $aport
registrar_ip = "127.0.0.1"
registrar_port = ${reg##*:}
run_as = ""
enable_revocation_notifications = true
revocation_notification_port = $zport
revocation_cert = "$work/pki/RevocationNotifier-cert.crt"
revocation_actions = "demo_action"
revocation_actions_dir = "$work/actions"
CONF
KEYLIME_AGENT_CONFIG=$work/agent.conf "$bin/agent/keylime_agent" >"$work/agent.log" 2>&1 &
pids+=($!)
wait_for 30 grep -q "serving the agent API" "$work/agent.log" ||
        die "agent did not start: $(tail -5 "$work/agent.log")"
sed 's/^/    /' "$work/agent.log"

step "The registrar's view of the agent"
curl -s "${tls[@]}" "$regtls/v2.6/agents/$UUID" |
        jq '.results | {agent_id, ip, port, regcount,
                ek_tpm: (.ek_tpm[0:40] + "..."), aik_tpm: (.aik_tpm[0:40] + "..."),
                ekcert: (if .ekcert then (.ekcert[0:40] + "...") else null end),
                mtls_cert: (.mtls_cert | split("\n")[0])}'

step "Starting the verifier stub (quotes every second, signed revocation notices on ZeroMQ)"
# (not through ver(): a function would run in a subshell and $! would not be the stub)
"$bin/verifier-stub/keylime_verifier_stub" serve --listen 127.0.0.1:0 \
        --port-file "$work/verifier.port" --db "$work/verifier.sqlite" --registrar "$regtls" \
        --tls-cert "$work/pki/server-cert.crt" --tls-key "$work/pki/server-private.pem" \
        --ca "$work/pki/cacert.crt" --client-cert "$work/pki/client-cert.crt" \
        --client-key "$work/pki/client-private.pem" --interval 1 \
        --revocation-pub "tcp://127.0.0.1:$zport" \
        --revocation-key "$work/pki/RevocationNotifier-private.pem" \
        --revocation-cert "$work/pki/RevocationNotifier-cert.crt" 2>"$work/verifier.log" &
pids+=($!)
wait_for 10 test -s "$work/verifier.port" || die "verifier stub did not start"
vurl=https://127.0.0.1:$(cat "$work/verifier.port")

step "Tenant: deliver a payload; the verifier releases V after the first good quote"
mkdir -p "$work/payload"
cat >"$work/payload/autorun.sh" <<'SCRIPT'
#!/bin/sh
echo "payload ran in $(pwd) with: $(cat app.conf)" > "$(dirname "$0")/../../../payload-ran"
SCRIPT
chmod +x "$work/payload/autorun.sh"
echo "a secret only an attested machine gets" >"$work/payload/app.conf"
ver add --verifier "$vurl" --uuid "$UUID" --agent "127.0.0.1:$aport" --registrar "$regtls" \
        --pcr "sha256:23:$(printf '%064d' 0)" --payload "$work/payload"
wait_for 20 test -s "$work/payload-ran" || die "the payload did not run"
cat "$work/payload-ran"

step "Continuous attestation"
for _ in 1 2 3; do
        sleep 1.5
        ver status --verifier "$vurl" --uuid "$UUID" |
                jq -c '{operational_state, attestation_count, last_failure}'
done

step "Changing PCR 23 on the agent's TPM: the verifier flags it and revokes"
tpm2_pcrextend "23:sha256=$(printf '%064d' 1)"
wait_for 20 test -s "$work/actions/ran" || die "no revocation action ran"
ver status --verifier "$vurl" --uuid "$UUID" | jq -c '{operational_state, last_failure}'
cat "$work/actions/ran"

echo "agent:"
grep -E "revocation|payload|K derived|V " "$work/agent.log" | sed 's/^/    /' | tail -8

step "Demo finished: registered, attested, secret delivered, revoked on tampering"

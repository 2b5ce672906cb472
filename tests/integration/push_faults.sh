#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The push agent under faults, and the verifier stub under replays, each
# ending with nothing lost and a log line that says what happened:
# - the verifier is unreachable: each request is retried with the configured
#   exponential back-off (delays doubling to the cap, config file and
#   environment both honoured), then the agent waits and attests once the
#   verifier is up;
# - an eavesdropper (a recording TLS relay between agent and verifier)
#   replays what it saw: the evidence PATCH (403), the session proof (404)
#   and, after the agent authenticated again, the old bearer token (401),
#   each a JSON:API error object; the agent goes on passing;
# - swtpm restarted under the running push agent: it says the TPM
#   connection is lost and exits non-zero for systemd to restart it, and the
#   restarted agent passes with the same AK.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/push_lib.sh"

command -v python3 >/dev/null || fail "python3 missing: run scripts/install-deps.sh"
A=d432fbb3-d2f1-4a97-9ef7-75bd81c0f005
ZERO=$(printf '%064d' 0)
tpm_up tpm1
registrar_start reg
pki_up

log "verifier unreachable: each request retried with the exponential back-off"
RPORT=$(free_port) || fail "no free port"
RELAY=https://127.0.0.1:$RPORT # the relay's port; nothing listens there yet
# initial delay 200 ms and 3 retries from the file (agent_conf), the cap from the environment
VER_PUSH_URL=$RELAY KEYLIME_AGENT_EXPONENTIAL_BACKOFF_MAX_DELAY=500 push_agent_start a \
        "$tpm1_TCTI" "$A" "attestation_interval_seconds = 2" \
        "measuredboot_ml_path = \"$T/no-uefi-log\""
wait_log "$T/a.log" "cannot reach the verifier" 30
delays=$(grep -o 'verifier at [^ ]* not reachable .*retrying in [0-9]* ms' "$T/a.log" |
        grep -o '[0-9]* ms$' | head -3 | tr -d ' ms' | tr '\n' ' ')
[ "$delays" = "200 400 500 " ] ||
        fail "back-off delays '$delays', expected 200 400 500: $(grep retrying "$T/a.log" | head -4)"
pass "retried after 200, 400, 500 ms (doubling, capped), then gave up on the request"

log "the verifier comes up behind a recording relay: the agent attests"
verifier_start --mode push --interval 0.5
mkdir -p "$T/seen"
python3 "$KL_SOURCE_DIR/tests/tools/push_capture.py" "$RPORT" "$T/relay.port" "$T/seen" \
        "$T/pki/server-cert.crt" "$T/pki/server-private.pem" "$T/pki/cacert.crt" \
        "$VER_PUSH_URL" 2>"$T/relay.log" &
KL_PIDS+=("$!")
wait_for_file "$T/relay.port" 10 || fail "relay did not start: $(cat "$T/relay.log")"
vstub add --uuid "$A" --agent 127.0.0.1:1 --pcr "sha256:23:$ZERO" >/dev/null || fail "add failed"
wait_state "$A" "Get Quote" 60 2
pass "attesting through the relay after the outage"

# seen METHOD PATH-REGEX: the newest request the relay recorded that matches
seen() {
        local f
        for f in $(ls "$T/seen" | sort -rn); do
                jq -e --arg m "$1" --arg p "$2" '.method == $m and (.path | test($p))' \
                        "$T/seen/$f" >/dev/null && { echo "$T/seen/$f"; return 0; }
        done
        fail "the relay saw no $1 $2"
}
# replay FILE: sends the recorded request to the verifier itself; prints the status
replay() {
        local auth
        auth=$(jq -r '.authorization // ""' "$1")
        jq -j .body "$1" >"$T/replay.body"
        curl -s --cacert "$T/pki/cacert.crt" -o "$T/out" -w '%{http_code}' \
                -X "$(jq -r .method "$1")" -H "Content-Type: application/vnd.api+json" \
                ${auth:+-H "Authorization: $auth"} --data-binary "@$T/replay.body" \
                "$VER_PUSH_URL$(jq -r .path "$1")"
}
# refused CODE DETAIL-PATTERN FILE: the replay of FILE gets CODE with a JSON:API error object
refused() {
        local got
        got=$(replay "$3")
        [ "$got" = "$1" ] || fail "replayed $(jq -r '.method + " " + .path' "$3"): HTTP $got, expected $1: $(cat "$T/out")"
        [ "$(jq -r '.errors[0].status' "$T/out")" = "$1" ] ||
                fail "replay answered without a JSON:API error object: $(cat "$T/out")"
        jq -r '.errors[0].detail' "$T/out" | grep -Eq -- "$2" ||
                fail "replay: detail does not say '$2': $(cat "$T/out")"
}

log "replays of what the relay saw are refused"
evidence=$(seen PATCH '^/v3.0/agents/[^/]+/attestations/')
jq -e '.body | fromjson | .data.attributes.evidence_collected | length > 0' "$evidence" >/dev/null ||
        fail "the recorded PATCH carries no evidence: $(head -c 300 "$evidence")"
refused 403 "already received|not the latest" "$evidence"
refused 404 "Session not found" "$(seen PATCH '^/v3.0/sessions/')"
before=$(count "$A")
wait_state "$A" "Get Quote" 30 $((before + 1))
pass "replayed evidence: 403; replayed proof: 404; the agent still passes"

log "after the agent authenticated again, its old token is refused"
caps=$(seen POST '^/v3.0/agents/[^/]+/attestations$')
kill "$a_PID"
wait "$a_PID" 2>/dev/null || true
sessions=$(grep -c "authenticated to the verifier" "$T/a.log")
VER_PUSH_URL=$RELAY push_agent_start a "$tpm1_TCTI" "$A" "attestation_interval_seconds = 2" \
        "measuredboot_ml_path = \"$T/no-uefi-log\""
wait_log "$T/a.log" "authenticated to the verifier" 30 $((sessions + 1))
refused 401 "token is unknown" "$caps"
before=$(count "$A")
wait_state "$A" "Get Quote" 30 $((before + 1))
pass "stale bearer token: 401; the new session attests"

log "swtpm restarted under the push agent: it exits non-zero, and its restart attests"
ak_before=$(jq -c .ak_public "$T/a/agent_data.json")
"$TESTBED/tpm-down.sh" "$tpm1_DIR" >/dev/null
"$TESTBED/tpm-up.sh" "$tpm1_DIR" >/dev/null || fail "swtpm did not come back"
tpm_lost_exit "$a_PID" "$T/a.log"
before=$(count "$A")
VER_PUSH_URL=$RELAY push_agent_start a "$tpm1_TCTI" "$A" "attestation_interval_seconds = 2" \
        "measuredboot_ml_path = \"$T/no-uefi-log\""
wait_state "$A" "Get Quote" 30 $((before + 1))
[ "$(jq -c .ak_public "$T/a/agent_data.json")" = "$ak_before" ] || fail "AK changed"
kill -0 "$VER_PID" || fail "the verifier stub died"
pass "TPM restart: exit $LOST_RC with 'connection to the TPM is lost'; restarted agent passes, AK kept"
